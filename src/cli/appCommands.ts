// The `channels app …` commands and `channels export` (issue 7): open an app channel, move, show it, its
// events with their authors, the state at any seq, the difference between two seqs, and the exported log
// that `channels verify` reads. They talk to the node through the typed client like the other commands
// (commands.ts wires them into its table; help.ts prints them). App names come from apps/build/manifest.json.
// Free text from the node or a peer (objective ids, refusal codes, failure summaries, event kinds, the
// exported log) is escaped where it is rendered (sanitize.ts).
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import type { Bytes32 } from '../core/types.js'
import type { ChannelsClient } from '../client/client.js'
import type { AppChannelInfo, AppEvent, AppStateAt } from '../rpc/schemas.js'
import { EXPORT_FORMATS } from '../rpc/schemas.js'
import { MAX_EVENTS_PER_CALL } from '../rpc/limits.js'
import type { Writer } from './format.js'
import { CliFailure, UsageError, parseAddress, parseAmount, parseChannelId, renderFields, renderTable, required, timeoutSeconds, toJson } from './format.js'
import type { Values } from './format.js'
import type { CommandHelp } from './help.js'
import { APPS_BUILD_DIR, readManifest } from './verify.js'
import { escapeJson, escapeText } from './sanitize.js'

/** How long `app open` waits for every participant to sign turn 0 unless `--timeout` says otherwise. */
const DEFAULT_OPEN_WAIT_SECONDS = 60
const HEX_BYTES_RE = /^0x(?:[0-9a-fA-F]{2})*$/
const BYTES32_RE = /^0x[0-9a-fA-F]{64}$/
const SEQ_RE = /^(?:0|[1-9][0-9]{0,18})$/


/** What the app commands need of a run (commands.ts's context has it). */
export interface AppCommandContext {
  readonly out: Writer
  readonly json: boolean
  client(): Promise<ChannelsClient>
}

export interface AppCommand extends CommandHelp {
  readonly run: (ctx: AppCommandContext, values: Values, args: readonly string[]) => Promise<number>
}

export const APP_COMMANDS: readonly AppCommand[] = [
  {
    name: 'app open',
    options: {
      with: { type: 'string', value: '<address>[,<address>…]', help: 'the other participants, in order (I am the first)' },
      app: { type: 'string', value: '<name|appId>', help: 'the app: a name in apps/build/manifest.json (tictactoe, document, …) or its 0x appId' },
      params: { type: 'string', value: '<hex>', help: 'the app\'s parameters as 0x hex (default 0x: none)' },
      deposit: { type: 'string', value: '<wei>[,<wei>…]', help: 'what each participant puts in: one amount for all, or one per participant' },
      funding: { type: 'string', value: 'direct|ledger|none', help: 'how the deposits are held: on chain (direct), in our ledger channel (ledger, two participants), or not at all (default direct, none when all deposits are 0)' },
      'move-timeout': { type: 'string', value: '<seconds>', help: 'how long a participant has to move before a timeout may be claimed against it (default 300; 0: never)' },
      'no-wait': { type: 'boolean', help: 'return once my turn 0 is sent, without waiting for every participant to sign it' },
      timeout: { type: 'string', value: '<seconds>', help: `how long to wait for turn 0 (default ${DEFAULT_OPEN_WAIT_SECONDS})` },
    },
    summary: 'Opens an app channel with the given participants running an app; waits until every participant signed turn 0.',
    example: 'channels --data-dir data/alice app open --with 0x2546BcD3c84621e976D8185a91A922aE77ECEc30 --app tictactoe --params 0x02 --deposit 1000',
    run: async (ctx, v) => {
      const others = required(v, 'with').split(',').map((s) => s.trim()).filter(Boolean).map((s) => parseAddress(s, '--with'))
      const appId = parseApp(required(v, 'app'))
      const params = typeof v.params === 'string' ? parseHex(v.params, '--params') : new Uint8Array()
      const amounts = required(v, 'deposit').split(',').map((s) => parseAmount(s, '--deposit'))
      const count = others.length + 1
      if (amounts.length !== 1 && amounts.length !== count) throw new UsageError(`--deposit gives ${amounts.length} amounts for ${count} participants: give one for all, or one each`)
      const deposits = amounts.length === 1 ? Array.from({ length: count }, () => amounts[0]!) : amounts
      const timeoutMs = timeoutSeconds(v.timeout, DEFAULT_OPEN_WAIT_SECONDS) * 1000
      const funding = parseFunding(v.funding)
      const moveTimeout = typeof v['move-timeout'] === 'string' ? parseSeconds(v['move-timeout'], '--move-timeout') : undefined
      const client = await ctx.client()
      const participants = [await client.getAddress(), ...others]
      const { channelId } = await client.createAppChannel({ participants, appId, params, deposits, ...(funding ? { funding } : {}), ...(moveTimeout !== undefined ? { moveTimeout } : {}) })
      if (v['no-wait'] === true) return print(ctx, { channelId }, `app channel ${channelId} proposed\n`)
      const opened = await client.waitForAppTurn(channelId, 0n, { timeoutMs })
      if (opened.funding !== 'none') await settle(client, `appfund:${channelId}`, timeoutMs, 'funding')
      const info = opened.funding === 'none' ? opened : await client.getAppState(channelId)
      return print(ctx, info, `app channel ${channelId} is open\n${renderApp(info)}`)
    },
  },
  {
    name: 'app close',
    args: ['<channelId>'],
    options: {
      'no-wait': { type: 'boolean', help: 'return once the close has started' },
      timeout: { type: 'string', value: '<seconds>', help: `how long to wait for the payout (default ${DEFAULT_OPEN_WAIT_SECONDS})` },
    },
    summary: 'Closes an app channel whose app is final (it also closes by itself): all sign the concluding state, then the deposits are paid out.',
    example: 'channels --data-dir data/alice app close 0x6c2f…(64 digits)',
    run: async (ctx, v, [id]) => {
      const channelId = fullId(id!)
      const timeoutMs = timeoutSeconds(v.timeout, DEFAULT_OPEN_WAIT_SECONDS) * 1000
      const client = await ctx.client()
      const { objectiveId } = await client.closeAppChannel(channelId)
      if (v['no-wait'] !== true) await settle(client, objectiveId, timeoutMs, 'closing')
      const info = await client.getAppState(channelId)
      return print(ctx, info, `app channel ${channelId} is ${info.status}\n${renderApp(info)}`)
    },
  },
  {
    name: 'app challenge',
    args: ['<channelId>'],
    options: {
      wait: { type: 'boolean', help: 'wait until the challenge finalizes and the outcome is paid out (the challenge duration, a day by default)' },
      timeout: { type: 'string', value: '<seconds>', help: 'how long --wait waits (default: no limit)' },
    },
    summary: 'Settles an app channel without the others: challenges with the latest state all signed (and the ledger funding it, if any), then pays it out once the challenge finalizes.',
    example: 'channels --data-dir data/alice app challenge 0x6c2f…(64 digits)',
    run: async (ctx, v, [id]) => {
      const channelId = fullId(id!)
      const client = await ctx.client()
      const { objectiveId } = await client.challengeAppChannel(channelId)
      if (v.wait === true) await settle(client, objectiveId, typeof v.timeout === 'string' ? timeoutSeconds(v.timeout, 0) * 1000 : MAX_TIMER_MS, 'dispute')
      const info = await client.getAppState(channelId)
      return print(ctx, { objectiveId, ...info }, `${escapeText(objectiveId)}: ${info.status}; the node pays the outcome out once the challenge finalizes\n${renderApp(info)}`)
    },
  },
  {
    name: 'app move',
    args: ['<channelId>', '<event hex>'],
    summary: 'Proposes an event of mine (0x hex, as the app reads it); prints the seq and turn it makes once all sign.',
    example: 'channels --data-dir data/alice app move 0x6c2f…(64 digits) 0x0104',
    run: async (ctx, _v, [id, event]) => {
      const channelId = fullId(id!)
      const payload = parseHex(event!, 'event')
      const result = await (await ctx.client()).submitEvent(channelId, payload)
      return print(ctx, result, `proposed turn ${result.turnNum} (seq ${result.seq}) in ${channelId}\n`)
    },
  },
  {
    name: 'app show',
    args: ['<channelId>'],
    summary: 'An app channel: participants, deposits, the latest turn signed by all, whose turn, the outcome.',
    example: 'channels --data-dir data/bob app show 0x6c2f…(64 digits)',
    run: async (ctx, _v, [id]) => {
      const channelId = fullId(id!)
      const info = await (await ctx.client()).getAppState(channelId)
      return print(ctx, info, renderApp(info))
    },
  },
  {
    name: 'app events',
    args: ['<channelId>'],
    options: {
      from: { type: 'string', value: '<seq>', help: 'the first event (default 1, the genesis)' },
      to: { type: 'string', value: '<seq>', help: `the last event (default: ${MAX_EVENTS_PER_CALL} events from --from)` },
    },
    summary: 'The channel\'s fully signed events: seq, kind, author, payload, hash.',
    example: 'channels --data-dir data/bob app events 0x6c2f…(64 digits) --from 2 --to 5',
    run: async (ctx, v, [id]) => {
      const fromSeq = typeof v.from === 'string' ? parseSeq(v.from, '--from') : undefined
      const toSeq = typeof v.to === 'string' ? parseSeq(v.to, '--to') : undefined
      if (fromSeq !== undefined && toSeq !== undefined && fromSeq > toSeq) throw new UsageError('--from must be at most --to')
      const channelId = fullId(id!)
      const events = await (await ctx.client()).getEvents(channelId, { ...(fromSeq !== undefined ? { fromSeq } : {}), ...(toSeq !== undefined ? { toSeq } : {}) })
      return print(ctx, events, events.length === 0 ? 'no events\n' : renderEvents(events))
    },
  },
  {
    name: 'app state-at',
    args: ['<channelId>', '<seq>'],
    summary: 'The app state after event <seq> (1 = the genesis: the initial state), replayed through the app.',
    example: 'channels --data-dir data/bob app state-at 0x6c2f…(64 digits) 3',
    run: async (ctx, _v, [id, seq]) => {
      const channelId = fullId(id!)
      const at = parseSeq(seq!, 'seq')
      const state = await (await ctx.client()).getStateAt(channelId, at)
      return print(ctx, state, renderState(state))
    },
  },
  {
    name: 'app diff',
    args: ['<channelId>', '<fromSeq>', '<toSeq>'],
    summary: 'The app states after two seqs and the events between them, with their authors.',
    example: 'channels --data-dir data/bob app diff 0x6c2f…(64 digits) 2 6',
    run: async (ctx, _v, [id, from, to]) => {
      const fromSeq = parseSeq(from!, 'fromSeq')
      const toSeq = parseSeq(to!, 'toSeq')
      if (fromSeq > toSeq) throw new UsageError('fromSeq must be at most toSeq')
      const channelId = fullId(id!)
      const diff = await (await ctx.client()).getStateDiff(channelId, fromSeq, toSeq)
      const text = `from\n${indent(renderState(diff.from))}to\n${indent(renderState(diff.to))}${diff.events.length === 0 ? 'no events between\n' : `events\n${indent(renderEvents(diff.events))}`}`
      return print(ctx, diff, text)
    },
  },
  {
    name: 'export',
    args: ['<channelId>'],
    options: {
      format: { type: 'string', value: 'json|msgpack', help: 'the file\'s encoding (default json; msgpack needs --out)' },
      out: { type: 'string', value: '<file>', help: 'where to write the log (default: JSON to stdout)' },
    },
    summary: 'Exports an app channel\'s log (every fully signed event and state): the file `channels verify` checks.',
    example: 'channels --data-dir data/alice export 0x6c2f…(64 digits) --format msgpack --out game.channels-log',
    run: async (ctx, v, [id]) => {
      const { format, out } = exportPlan(v)
      const channelId = fullId(id!)
      const bytes = await (await ctx.client()).exportLog(channelId, format)
      if (out === undefined) {
        ctx.out.write(`${escapeJson(Buffer.from(bytes).toString('utf8'))}\n`)
        return 0
      }
      try {
        writeFileSync(out, bytes)
      } catch (error) {
        throw new CliFailure(`cannot write ${out}: ${error instanceof Error ? error.message : String(error)}`)
      }
      return print(ctx, { file: path.resolve(out), format, bytes: bytes.length }, `wrote ${bytes.length} bytes (${format}) to ${out}\n`)
    },
  },
]

// ---- parsing (exported for the unit tests) ----

/** An app by manifest name or 0x appId. */
export function parseApp(text: string, manifestFile = path.join(APPS_BUILD_DIR, 'manifest.json')): Bytes32 {
  if (BYTES32_RE.test(text)) return text.toLowerCase() as Bytes32
  const apps = readManifest(manifestFile)
  const app = Object.hasOwn(apps, text) ? apps[text] : undefined
  if (!app || !BYTES32_RE.test(app.appId)) throw new UsageError(`--app: no app '${text.slice(0, 80)}' in ${manifestFile} (${Object.keys(apps).join(', ') || 'none built'}); or give a 0x appId`)
  return app.appId.toLowerCase() as Bytes32
}

export function parseHex(text: string, what: string): Uint8Array {
  if (!HEX_BYTES_RE.test(text)) throw new UsageError(`${what} must be 0x-prefixed hex with an even number of digits, got '${text.slice(0, 80)}'`)
  return new Uint8Array(Buffer.from(text.slice(2), 'hex'))
}

export function parseSeq(text: string, what: string): bigint {
  if (!SEQ_RE.test(text) || BigInt(text) < 1n) throw new UsageError(`${what} must be a seq: a whole number from 1, got '${text.slice(0, 80)}'`)
  return BigInt(text)
}

export function exportPlan(v: Values): { format: 'json' | 'msgpack'; out: string | undefined } {
  const format = typeof v.format === 'string' ? v.format : 'json'
  if (!(EXPORT_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format must be ${EXPORT_FORMATS.join(' or ')}, got '${format.slice(0, 40)}'`)
  const out = typeof v.out === 'string' ? v.out : undefined
  if (out === '') throw new UsageError('--out needs a file name')
  if (format === 'msgpack' && out === undefined) throw new UsageError('--format msgpack writes binary: give --out <file>')
  return { format: format as 'json' | 'msgpack', out }
}

/** App channels are not listed by the API: a prefix cannot be resolved, so the full id is needed. */
/** The longest a timer can wait (Node fires longer ones at once): 24.8 days, longer than any challenge we set. */
const MAX_TIMER_MS = 2 ** 31 - 1

/** Waits for a funding or closing objective; its failure is the command's (exit 1, the reason). */
async function settle(client: ChannelsClient, objectiveId: string, timeoutMs: number, what: string): Promise<void> {
  const objective = await client.waitForObjective(objectiveId, { timeoutMs })
  // The failure may be a peer's refusal, in its words: escaped (describeError escapes the whole line again, idempotently).
  if (objective.status !== 'completed') throw new CliFailure(`${what} ${objective.status}: ${objective.failure ? `${escapeText(objective.failure.summary)} (${escapeText(objective.failure.code)})` : 'no reason given'}`, { objectiveId })
}

function parseFunding(text: string | boolean | undefined): 'none' | 'direct' | 'ledger' | undefined {
  if (text === undefined) return undefined
  if (text === 'none' || text === 'direct' || text === 'ledger') return text
  throw new UsageError(`--funding is direct, ledger or none, got '${String(text)}'`)
}

function parseSeconds(text: string, what: string): number {
  if (!/^\d{1,12}$/.test(text)) throw new UsageError(`${what} must be a whole number of seconds, got '${text}'`)
  return Number(text)
}

function fullId(text: string): Bytes32 {
  const given = parseChannelId(text, 'app channel id')
  if (given.prefix) throw new UsageError('an app channel id must be given in full (0x and 64 hex digits)')
  return given.id as Bytes32
}




// ---- output ----

function print(ctx: AppCommandContext, value: unknown, text: string): number {
  ctx.out.write(ctx.json ? `${toJson(value)}\n` : text)
  return 0
}

const hex = (bytes: Uint8Array) => `0x${Buffer.from(bytes).toString('hex')}`
const indent = (text: string) => text.replace(/^(?=.)/gm, '  ')

export function renderApp(a: AppChannelInfo): string {
  return renderFields([
    ['channel', a.channelId],
    ['app', a.appId],
    ['participants', a.participants.map((p, i) => `${i}  ${p}  deposit ${a.deposits[i] ?? '?'}  outcome ${a.outcome[i] ?? '-'}`).join('\n')],
    ['status', a.status],
    ['funding', `${a.funding}${a.moveTimeout > 0 ? `  move timeout ${a.moveTimeout} s` : '  no move timeout'}`],
    ['turn', a.turnNum === null ? '(turn 0 not signed by all yet)' : String(a.turnNum)],
    ['head', a.head ? `seq ${a.head.seq}  ${a.head.hash}` : '-'],
    ['next', a.isFinal ? 'nobody (final)' : a.whoseTurn === null ? '?' : String(a.whoseTurn)],
    ['signing', a.pending ? `turn ${a.pending.turnNum} by ${a.pending.author}, missing ${a.pending.missing.join(', ')}` : '-'],
    ...(a.pending?.refusedBy.length ? [['refused by', a.pending.refusedBy.map((r) => `${r.participant} (${escapeText(r.code)})`).join(', ')] as [string, string]] : []),
    ['app state', a.appState ? hex(a.appState) : '-'],
  ])
}

export function renderEvents(events: readonly AppEvent[]): string {
  return renderTable(
    [{ header: 'SEQ', align: 'right' }, { header: 'KIND' }, { header: 'AUTHOR' }, { header: 'PAYLOAD' }, { header: 'HASH' }],
    events.map((e) => [String(e.seq), escapeText(e.kind), e.author, clip(hex(e.payload)), e.hash]),
  )
}

function renderState(s: AppStateAt): string {
  return renderFields([['seq', String(s.seq)], ['app state', hex(s.appState)], ['state hash', s.appStateHash]])
}

function clip(text: string): string {
  return text.length > 42 ? `${text.slice(0, 40)}…` : text
}
