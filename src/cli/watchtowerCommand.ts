// `channels watchtower …` (issue 15; docs/watchtower.md, ADR 0021): a process that holds the latest supported
// states of channels it does not own and answers stale challenges on them with checkpoint.
//   run   follows the adjudicator and answers (until SIGINT/SIGTERM), paying gas from its own key
//   add   hands a hand-over file (or stdin) to the data dir; `run` picks it up while running
//   list  what the data dir holds
// Options follow the node's (src/node/config.ts): the chain URL and adjudicator from flags or CHANNELS_*;
// a private key never from the command line unless --insecure-key-on-command-line (every local user can
// read it with ps): CHANNELS_TX_KEY, a keystore, or <data>/tx.key (generated at first run, to be funded).
// Exit codes as every command's (docs/cli.md): 0 done, 1 refused or failed, 2 the command line is wrong.
import { readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { createPublicClient, http } from 'viem'
import { pino } from 'pino'
import { ChannelsError, RejectedInputError, StoreError } from '../core/errors.js'
import { ZERO_ADDRESS } from '../core/canonical.js'
import { ViemChainService } from '../chain/viemChainService.js'
import { DEFAULTS } from '../node/config.js'
import { ChainConfigError, ChainNotReadyError, DEFAULT_CONFIRMATIONS, LOCAL_CHAIN_ID, isLoopbackUrl } from '../node/chainConfig.js'
import type { KeySource } from '../node/keys.js'
import { loadOrCreateKey, readPasswordFile } from '../node/keys.js'
import { Custody } from '../watchtower/custody.js'
import { decodeHandover } from '../watchtower/handover.js'
import { Watchtower } from '../watchtower/watchtower.js'
import { viemWatchtowerChain } from '../watchtower/watchtowerChain.js'
import { checkTarget } from '../watchtower/chainCheck.js'
import { DEFAULT_MAX_CHANNELS, MAX_HANDOVER_BYTES } from '../watchtower/limits.js'
import type { Values, Writer } from './format.js'
import { CliFailure, UsageError, describeError, parseAddress, renderFields, renderTable, shortAddress, shortId, toJson } from './format.js'
import { escapeText, terminalSafe } from './sanitize.js'

/** Streams, environment and stop signal of one run; tests inject them. */
export interface WatchtowerIo {
  readonly stdout?: Writer
  readonly stderr?: Writer
  readonly stdin?: AsyncIterable<string | Uint8Array>
  readonly env?: Readonly<Record<string, string | undefined>>
  /** Ends `run` as SIGINT or SIGTERM does. */
  readonly signal?: AbortSignal
  /** Where `run` writes its log, one JSON object a line (default stdout). */
  readonly logStream?: { write(chunk: string): unknown }
  /** Called once `run` watches the chain (tests wait on it). */
  readonly onRunning?: (tower: Watchtower) => void
}

const TX_KEY_FILE = 'tx.key'
const DEFAULT_DATA_DIR = 'watchtower'

type Option = { readonly type: 'string' | 'boolean'; readonly value?: string; readonly help: string }
interface Subcommand {
  readonly args: string
  readonly summary: string
  readonly options: Readonly<Record<string, Option>>
  readonly run: (ctx: Context) => Promise<number>
}
interface Context {
  readonly out: Writer
  readonly err: Writer
  readonly io: WatchtowerIo
  readonly env: Readonly<Record<string, string | undefined>>
  readonly values: Values
  readonly positionals: readonly string[]
}

const COMMON: Readonly<Record<string, Option>> = {
  data: { type: 'string', value: '<dir>', help: `the watchtower's data dir (default ./${DEFAULT_DATA_DIR}, or CHANNELS_WATCHTOWER_DATA)` },
  'max-channels': { type: 'string', value: '<n>', help: `the most channels it holds (default ${DEFAULT_MAX_CHANNELS})` },
  json: { type: 'boolean', help: 'print JSON (amounts and turns as decimal strings)' },
  help: { type: 'boolean', help: 'show this help' },
}

const SUBCOMMANDS: Readonly<Record<string, Subcommand>> = {
  run: {
    args: '',
    summary: 'Follows the adjudicator and answers every stale challenge on a held channel with checkpoint, until Ctrl-C.',
    options: {
      'chain-url': { type: 'string', value: '<url>', help: `the chain's JSON-RPC URL (default CHANNELS_CHAIN_URL, or ${DEFAULTS.chainUrl})` },
      adjudicator: { type: 'string', value: '<address>', help: 'the adjudicator (or CHANNELS_ADJUDICATOR); must be the one the held states are for' },
      'chain-id': { type: 'string', value: '<n>', help: 'refuse to start unless the chain answers this id' },
      'chain-local': { type: 'boolean', help: 'the embedded local chain (loopback, id 31337): confirmations default to 0' },
      confirmations: { type: 'string', value: '<n>', help: `blocks on top of an event before it counts (default ${DEFAULT_CONFIRMATIONS}; 0 with --chain-local)` },
      'tx-key': { type: 'string', value: '<hex>', help: 'the key that pays gas; refused unless --insecure-key-on-command-line (use CHANNELS_TX_KEY)' },
      'tx-keystore': { type: 'string', value: '<file>', help: 'the key that pays gas, in a keystore v3 file (password: --keystore-password-file or CHANNELS_KEYSTORE_PASSWORD)' },
      'keystore-password-file': { type: 'string', value: '<file>', help: 'the keystore\'s password, in a file private to its owner' },
      'insecure-key-on-command-line': { type: 'boolean', help: 'accept --tx-key although every local user can read it' },
      'log-level': { type: 'string', value: '<level>', help: 'fatal, error, warn, info (default), debug, trace, silent' },
    },
    run: runWatchtower,
  },
  add: {
    args: '<file | ->',
    summary: 'Hands over the channels in a hand-over file (or stdin): each replaces what is held only with a higher turn.',
    options: {},
    run: add,
  },
  list: {
    args: '',
    summary: 'What the data dir holds: its chain and adjudicator, and each channel with its held turn.',
    options: {},
    run: list,
  },
}

/** `channels watchtower <subcommand> [options]`; resolves to the exit code. */
export async function runWatchtowerCommand(argv: readonly string[], io: WatchtowerIo = {}): Promise<number> {
  const out = terminalSafe(io.stdout ?? process.stdout)
  const err = terminalSafe(io.stderr ?? process.stderr)
  const [name, ...rest] = argv
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    out.write(helpText())
    return 0
  }
  const command = SUBCOMMANDS[name]
  if (command === undefined) return usageFailure(err, `unknown watchtower command '${escapeText(name)}' (run, add, list)`)
  let parsed
  try {
    parsed = parseArgs({ args: [...rest], options: { ...COMMON, ...command.options }, strict: true, allowPositionals: true })
  } catch (error) {
    return usageFailure(err, error instanceof Error ? escapeText(error.message) : String(error), name)
  }
  if (parsed.values.help === true) {
    out.write(helpText(name))
    return 0
  }
  try {
    return await command.run({ out, err, io, env: io.env ?? process.env, values: parsed.values, positionals: parsed.positionals })
  } catch (error) {
    if (error instanceof UsageError) return usageFailure(err, escapeText(error.summary), name)
    for (const line of describeError(error)) err.write(`${line}\n`)
    return 1
  }
}

// ---- add, list ----

async function add(ctx: Context): Promise<number> {
  if (ctx.positionals.length !== 1) throw new UsageError('add takes one hand-over file, or - for stdin')
  const source = ctx.positionals[0]!
  const bytes = source === '-' ? await readStdin(ctx.io) : readHandoverFile(source)
  const handover = decodeHandover(bytes)
  const custody = Custody.open(dataDirOf(ctx), { maxChannels: maxChannelsOf(ctx) })
  const results = custody.hold(handover)
  if (ctx.values.json === true) {
    ctx.out.write(`${toJson({ dataDir: custody.dir, results })}\n`)
    return 0
  }
  for (const r of results) {
    const turns = r.result === 'kept' ? `holds turn ${r.previousTurnNum}, offered ${r.turnNum}` : r.previousTurnNum === null ? `turn ${r.turnNum}` : `turn ${r.previousTurnNum} → ${r.turnNum}`
    ctx.out.write(`${r.result.padEnd(8)} ${r.channelId}  ${turns}\n`)
  }
  ctx.out.write(`${results.filter((r) => r.result !== 'kept').length} of ${results.length} channels taken into ${escapeText(custody.dir)}\n`)
  return 0
}

async function list(ctx: Context): Promise<number> {
  if (ctx.positionals.length !== 0) throw new UsageError('list takes no arguments')
  const dir = dataDirOf(ctx)
  if (!isDirectory(dir)) throw new CliFailure(`no watchtower data at ${escapeText(dir)} (hand a file over with \`channels watchtower add <file> --data ${escapeText(dir)}\`)`)
  const custody = Custody.open(dir, { maxChannels: maxChannelsOf(ctx) })
  const target = custody.target()
  const { held, refused } = custody.entries()
  let cursor: { block: bigint; logIndex: number } | undefined
  try {
    cursor = custody.readCursor()
  } catch (error) {
    if (!(error instanceof RejectedInputError || error instanceof StoreError)) throw error
    refused.push({ file: path.join(dir, 'cursor.json'), error })
  }
  const channels = held
    .map((e) => ({ channelId: e.channelId, turnNum: e.candidate.state.turnNum, appDefinition: e.candidate.state.appDefinition, participants: e.candidate.state.participants, challengeDuration: e.candidate.state.challengeDuration, proofStates: e.proof.length }))
    .sort((a, b) => (a.channelId < b.channelId ? -1 : 1))
  if (ctx.values.json === true) {
    const refusedJson = refused.map((r) => ({ file: r.file, code: r.error.code, summary: r.error.summary }))
    ctx.out.write(`${toJson({ dataDir: dir, target: target ?? null, cursor: cursor ?? null, channels, refused: refusedJson })}\n`)
    return 0
  }
  const app = (a: string) => (target !== undefined && a === target.virtualPaymentApp ? 'payment' : shortAddress(a))
  ctx.out.write(
    renderFields([
      ['data dir', escapeText(dir)],
      ['chain id', target ? String(target.chainId) : '(none yet)'],
      ['adjudicator', target?.adjudicator ?? '(none yet)'],
      ['payment app', target?.virtualPaymentApp ?? '(none yet)'],
      ['cursor', cursor ? `block ${cursor.block}, log ${cursor.logIndex}` : '(none)'],
      ['channels', String(channels.length)],
    ]),
  )
  if (channels.length > 0) {
    ctx.out.write('\n')
    ctx.out.write(renderTable([{ header: 'CHANNEL' }, { header: 'TURN', align: 'right' }, { header: 'APP' }, { header: 'PARTICIPANTS', align: 'right' }, { header: 'CHALLENGE', align: 'right' }], channels.map((c) => [shortId(c.channelId), String(c.turnNum), app(c.appDefinition), String(c.participants.length), `${c.challengeDuration} s`])))
  }
  if (refused.length > 0) ctx.out.write(`\nrefused:\n${refused.map((r) => `  ${escapeText(r.file)}: ${escapeText(r.error.summary)} (${r.error.code})`).join('\n')}\n`)
  return 0
}

// ---- run ----

async function runWatchtower(ctx: Context): Promise<number> {
  const { values, env } = ctx
  if (ctx.positionals.length !== 0) throw new UsageError('run takes no arguments')
  const dataDir = dataDirOf(ctx)
  const url = stringOption(values['chain-url']) ?? env.CHANNELS_CHAIN_URL ?? DEFAULTS.chainUrl
  const adjudicatorText = stringOption(values.adjudicator) ?? env.CHANNELS_ADJUDICATOR
  if (adjudicatorText === undefined) throw new UsageError('--adjudicator <address> is required (or CHANNELS_ADJUDICATOR)')
  const adjudicator = parseAddress(adjudicatorText, '--adjudicator')
  const local = values['chain-local'] === true
  if (local && !isLoopbackUrl(url)) throw new UsageError(`--chain-local, but ${url} is not on this machine: the embedded local chain is reached over loopback`)
  const confirmations = wholeNumber(values.confirmations, '--confirmations') ?? (local ? 0 : DEFAULT_CONFIRMATIONS)
  const expectedChainId = wholeNumber(values['chain-id'], '--chain-id')
  const level = stringOption(values['log-level']) ?? env.CHANNELS_LOG_LEVEL ?? DEFAULTS.logLevel
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(level)) throw new UsageError(`--log-level ${escapeText(level)} is not a level`)
  const keySource = txKeySource(values, env)
  const custody = Custody.open(dataDir, { maxChannels: maxChannelsOf(ctx) })
  const logger = pino({ name: 'watchtower', level }, ctx.io.logStream ?? process.stdout)
  const txKey = loadOrCreateKey(path.join(dataDir, TX_KEY_FILE), keySource)

  const client = createPublicClient({ transport: http(url) })
  let chainId: number
  try {
    chainId = await client.getChainId()
  } catch (cause) {
    throw new ChainNotReadyError(`cannot reach the chain at ${url}`, { url }, { cause })
  }
  if (expectedChainId !== undefined && expectedChainId !== chainId) throw new ChainConfigError(`the chain at ${url} answers chain id ${chainId}, not ${expectedChainId}; refusing to start`, { url, chainId, expected: expectedChainId })
  if (local && chainId !== LOCAL_CHAIN_ID) throw new ChainConfigError(`--chain-local, but the chain at ${url} answers chain id ${chainId}, not the local chain's ${LOCAL_CHAIN_ID}`, { url, chainId })

  const service = new ViemChainService({
    rpcUrl: url,
    chainId,
    adjudicator,
    // Unused: the watchtower sends only checkpoints, which name the channel's own app.
    consensusApp: ZERO_ADDRESS,
    txKey,
    confirmations,
    pollingIntervalMs: DEFAULTS.pollingIntervalMs,
    // Events of channels it does not hold (an AllocationUpdated whose asset it cannot know) are not its business.
    onError: (error) => (error.code === 'chain_event_undecodable' ? logger.debug : logger.warn).call(logger, { event: 'chain_watcher', code: error.code, details: safeDetails(error) }, error.summary),
  })
  let tower: Watchtower
  try {
    tower = await Watchtower.start({ custody, chain: viemWatchtowerChain(service), log: logger, serves: { chainId, adjudicator }, checkTarget: (target) => checkTarget(client, target, { chainId, adjudicator, url }) })
  } catch (error) {
    service.close()
    logger.fatal({ event: 'watchtower_refused', code: error instanceof ChannelsError ? error.code : undefined }, error instanceof Error ? error.message : String(error))
    throw error
  }
  const balance = await client.getBalance({ address: service.account }).catch(() => undefined)
  const account = { event: 'watchtower_account', account: service.account, balance: balance?.toString() ?? null, confirmations, url, chainId, adjudicator, dataDir }
  if (balance === 0n) logger.warn(account, `the watchtower's account ${service.account} has no ETH: fund it, or its checkpoints cannot be sent`)
  else logger.info(account, 'watchtower running')
  ctx.io.onRunning?.(tower)
  const signal = await stopped(ctx.io.signal)
  logger.info({ event: 'watchtower_stopping', signal }, 'stopping')
  await tower.stop()
  service.close()
  return 0
}

/** Resolves with what stopped the run: the injected signal, or SIGINT / SIGTERM. */
function stopped(signal: AbortSignal | undefined): Promise<string> {
  if (signal !== undefined) return new Promise((resolve) => (signal.aborted ? resolve('abort') : signal.addEventListener('abort', () => resolve('abort'), { once: true })))
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'))
    process.once('SIGTERM', () => resolve('SIGTERM'))
  })
}

/** Where the gas key comes from: a keystore, CHANNELS_TX_KEY, --tx-key (only if the risk is accepted), else <data>/tx.key. */
function txKeySource(values: Values, env: Readonly<Record<string, string | undefined>>): KeySource {
  const onCommandLine = stringOption(values['tx-key'])
  if (onCommandLine !== undefined && values['insecure-key-on-command-line'] !== true) {
    throw new UsageError('--tx-key puts a private key on the command line, where every user of this machine can read it (ps): give it in CHANNELS_TX_KEY, as --tx-keystore, or accept the risk with --insecure-key-on-command-line')
  }
  const hex = onCommandLine ?? env.CHANNELS_TX_KEY
  const keystore = stringOption(values['tx-keystore']) ?? env.CHANNELS_TX_KEYSTORE
  if (hex !== undefined && keystore !== undefined) throw new UsageError('give the gas key as hex or as a keystore, not both')
  if (hex !== undefined) return { kind: 'hex', key: hex }
  if (keystore === undefined) return { kind: 'generate' }
  const passwordFile = stringOption(values['keystore-password-file']) ?? env.CHANNELS_KEYSTORE_PASSWORD_FILE
  const password = passwordFile !== undefined ? readPasswordFile(path.resolve(passwordFile)) : env.CHANNELS_KEYSTORE_PASSWORD
  if (password === undefined) throw new UsageError('a keystore needs its password: --keystore-password-file <file>, CHANNELS_KEYSTORE_PASSWORD_FILE or CHANNELS_KEYSTORE_PASSWORD')
  return { kind: 'keystore', file: path.resolve(keystore), password }
}

// ---- arguments and files ----

function dataDirOf(ctx: Context): string {
  return path.resolve(stringOption(ctx.values.data) ?? ctx.env.CHANNELS_WATCHTOWER_DATA ?? DEFAULT_DATA_DIR)
}

function maxChannelsOf(ctx: Context): number {
  const n = wholeNumber(ctx.values['max-channels'], '--max-channels') ?? DEFAULT_MAX_CHANNELS
  if (n < 1) throw new UsageError('--max-channels must be at least 1')
  return n
}

function stringOption(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined
}

function wholeNumber(value: string | boolean | undefined, what: string): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || !/^\d{1,9}$/.test(value)) throw new UsageError(`${what} must be a whole number`)
  return Number(value)
}

function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory()
  } catch {
    return false // absent or unreadable: the caller says there is no watchtower data there
  }
}

function readHandoverFile(file: string): Buffer {
  try {
    // The size first: a file too large is refused before it is read.
    const size = statSync(file).size
    if (size > MAX_HANDOVER_BYTES) throw new CliFailure(`${escapeText(file)} is ${size} bytes; a hand-over is at most ${MAX_HANDOVER_BYTES}`)
    return readFileSync(file)
  } catch (error) {
    if (error instanceof CliFailure) throw error
    throw new CliFailure(`cannot read ${escapeText(file)}`, { file }, { cause: error })
  }
}

async function readStdin(io: WatchtowerIo): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of io.stdin ?? process.stdin) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk)
    size += bytes.length
    if (size > MAX_HANDOVER_BYTES) throw new CliFailure(`stdin holds more than ${MAX_HANDOVER_BYTES} bytes; a hand-over is at most that`)
    chunks.push(bytes)
  }
  return Buffer.concat(chunks)
}

function safeDetails(error: ChannelsError): Record<string, unknown> {
  return Object.fromEntries(Object.entries(error.details).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v]))
}

// ---- help ----

function usageOf(name: string): string {
  const c = SUBCOMMANDS[name]!
  const options = Object.entries({ ...c.options, ...COMMON })
    .filter(([option]) => option !== 'help')
    .map(([option, o]) => `[--${option}${o.value ? ` ${o.value}` : ''}]`)
  return ['channels watchtower', name, c.args, ...options].filter(Boolean).join(' ')
}

function helpText(name?: string): string {
  if (name !== undefined) {
    const c = SUBCOMMANDS[name]!
    const lines = Object.entries({ ...c.options, ...COMMON }).map(([option, o]) => `  ${`--${option}${o.value ? ` ${o.value}` : ''}`.padEnd(34)} ${o.help}`)
    return [`usage: ${usageOf(name)}`, '', c.summary, '', 'options:', ...lines, ''].join('\n')
  }
  return [
    'channels watchtower: answers stale challenges on channels it does not own, with states their nodes handed over (docs/watchtower.md)',
    '',
    ...Object.entries(SUBCOMMANDS).map(([n, c]) => `  ${`watchtower ${n}${c.args ? ` ${c.args}` : ''}`.padEnd(28)} ${c.summary}`),
    '',
    '`channels watchtower <command> --help` shows a command\'s options.',
    '',
  ].join('\n')
}

function usageFailure(err: Writer, message: string, name?: string): number {
  err.write(`channels: ${message}\n`)
  err.write(name !== undefined && SUBCOMMANDS[name] ? `usage: ${usageOf(name)}  (channels watchtower ${name} --help)\n` : 'usage: channels watchtower run|add|list …  (channels watchtower --help)\n')
  return 2
}
