// What the `channels` CLI (commands.ts) reads from people and shows them: amounts (wei, or decimals with a
// unit, parsed exactly with viem), channel ids and their short forms, tables and field lists, a progress
// line (a spinner on a terminal, plain lines in a pipe), one line per notification, JSON with bigints as
// decimal strings (as the API sends them), and errors as one readable line plus the node's facts — never
// a stack trace. Everything here is a pure function of its input except Progress, which writes. Text that
// came from outside (a peer's refusal code or failure summary, the node's free-text fields, error
// messages) goes through escapeText (sanitize.ts) before it is printed, JSON through escapeJson.
import { formatEther, isAddress, parseUnits } from 'viem'
import { ChannelsError, RejectedInputError } from '../core/errors.js'
import { MAX_UINT256 } from '../core/limits.js'
import { ObjectiveFailedError, RpcError } from '../client/client.js'
import type { Notification } from '../client/client.js'
import type { Address } from '../core/types.js'
import type { DisputeInfo, LedgerChannelInfo, PaymentChannelInfo } from '../rpc/schemas.js'
import { escapeJson, escapeText } from './sanitize.js'
import { ZERO_ADDRESS, toAddress } from '../core/canonical.js'

/** The command line is wrong (unknown command or option, a bad amount or id): exit code 2 with a usage hint. */
export class UsageError extends RejectedInputError {
  readonly code = 'usage'
}

/** The CLI cannot do what was asked (no node at the data dir, no channel with that prefix): exit code 1. */
export class CliFailure extends ChannelsError {
  readonly code = 'cli_failure'
}

/** Where output goes: process.stdout/stderr, or a collector in tests. */
export interface Writer {
  write(chunk: string): unknown
  readonly isTTY?: boolean
}

// ---- amounts ----

/** Decimals of each unit an amount may carry; a plain integer is wei (or a token's base unit). */
const UNITS: Readonly<Record<string, number>> = { wei: 0, gwei: 9, eth: 18, ether: 18 }
const AMOUNT_RE = /^(\d+(?:\.\d*)?|\.\d+)([a-z]*)$/i
/** Digits accepted before parsing: uint256 has 78; a longer string is a mistake, not an amount. */
const MAX_AMOUNT_CHARS = 100
/** From this many wei up, tables add an ETH rendering (0.001 ETH: below it the decimal reads worse than wei). */
const ETH_RENDERING_FROM_WEI = 10n ** 15n
/** Decimals of the ETH rendering: enough to tell amounts apart at a glance; the wei figure is exact. */
const ETH_DECIMALS_SHOWN = 6

/**
 * An amount as exact base units: `1000` (wei), `1.5eth`, `200gwei`, `7wei`. Refuses signs, exponents,
 * fractions of a wei (viem's parseUnits would round them) and anything above 2^256 - 1.
 * @example parseAmount('1.5eth') === 1_500_000_000_000_000_000n
 * @throws UsageError naming `what`.
 */
export function parseAmount(text: string, what = 'amount', options: { positive?: boolean } = {}): bigint {
  const trimmed = text.trim().replace(/_/g, '')
  const match = trimmed.length <= MAX_AMOUNT_CHARS ? AMOUNT_RE.exec(trimmed) : null
  if (!match) throw new UsageError(`${what} must be wei (e.g. 1000) or a decimal with a unit (1.5eth, 200gwei), got '${clip(text)}'`)
  const [, number, unitText] = match as unknown as [string, string, string]
  const unit = unitText.toLowerCase() || 'wei'
  const decimals = UNITS[unit]
  if (decimals === undefined) throw new UsageError(`${what}: unknown unit '${unitText}' (use wei, gwei or eth)`)
  const fraction = (number.split('.')[1] ?? '').replace(/0+$/, '')
  if (fraction.length > decimals) throw new UsageError(`${what} ${clip(text)} is not a whole number of wei`)
  const value = parseUnits(number.endsWith('.') ? `${number}0` : number, decimals)
  if (value > MAX_UINT256) throw new UsageError(`${what} ${clip(text)} is above 2^256 - 1`)
  if (options.positive && value === 0n) throw new UsageError(`${what} must be positive`)
  return value
}

/**
 * Wei as digits, and for large ETH amounts also in ETH: `1500000000000000000 (1.5 ETH)`; an ETH figure with
 * more than ETH_DECIMALS_SHOWN decimals is rounded and marked: `9999999999999343 (≈0.01 ETH)`. Tokens: units only.
 */
export function formatAmount(amount: bigint, asset: string = ZERO_ADDRESS): string {
  if (toAddress(asset) !== ZERO_ADDRESS || amount < ETH_RENDERING_FROM_WEI) return amount.toString()
  const exact = formatEther(amount)
  if ((exact.split('.')[1] ?? '').length <= ETH_DECIMALS_SHOWN) return `${amount} (${exact} ETH)`
  const unit = 10n ** BigInt(18 - ETH_DECIMALS_SHOWN)
  return `${amount} (≈${formatEther(((amount + unit / 2n) / unit) * unit)} ETH)`
}

// ---- ids and addresses ----

export const CHANNEL_ID_RE = /^0x[0-9a-f]{64}$/i
/** A prefix of a channel id someone copied from a table: 0x and at least this many hex digits. */
export const MIN_ID_PREFIX_DIGITS = 4
const ID_PREFIX_RE = new RegExp(`^0x[0-9a-f]{${MIN_ID_PREFIX_DIGITS},63}$`, 'i')

/** A channel id as given: a full id, or a prefix to look up. @throws UsageError if it is neither. */
export function parseChannelId(text: string, what = 'channel id'): { readonly id: `0x${string}`; readonly prefix: boolean } {
  const id = text.trim().replace(/…$/, '').toLowerCase() as `0x${string}`
  if (CHANNEL_ID_RE.test(id)) return { id, prefix: false }
  if (ID_PREFIX_RE.test(id)) return { id, prefix: true }
  throw new UsageError(`${what} must be 0x and 64 hex digits (or a unique prefix of at least ${MIN_ID_PREFIX_DIGITS}), got '${clip(text)}'`)
}

/** The start of a channel id, as tables show it; any unique prefix is accepted back. */
export function shortId(id: string): string {
  return `${id.slice(0, 10)}…`
}

export function shortAddress(address: string): string {
  return `${address.slice(0, 6)}…${address.slice(-4)}`
}

/** An objective id (the node's text, escaped) with its channel ids shortened: `ledgerUpdate:0x94dd5841…:add:0x2281b1b6…`. */
export function shortObjectiveId(id: string): string {
  return escapeText(id.replace(/0x[0-9a-f]{64}/gi, (channelId) => shortId(channelId)))
}

/** A ledger destination: an address (left-padded to 32 bytes) shown short, anything else as a short id. */
function formatDestination(destination: string): string {
  return /^0x0{24}[0-9a-f]{40}$/i.test(destination) ? shortAddress(toAddress(`0x${destination.slice(26)}`)) : shortId(destination)
}

function clip(text: string, max = 80): string {
  return text.length > max ? `${text.slice(0, max)}…` : text
}

// ---- tables and fields ----

export interface Column {
  readonly header: string
  readonly align?: 'left' | 'right'
}

/** A text table: a header row, then one row per entry, columns padded to their widest cell. */
export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]) =>
    columns
      .map((c, i) => (c.align === 'right' ? (cells[i] ?? '').padStart(widths[i]!) : (cells[i] ?? '').padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  return [line(columns.map((c) => c.header)), ...rows.map(line)].join('\n') + '\n'
}

/** Label/value lines with the values aligned; a multi-line value continues under its first line. */
export function renderFields(fields: readonly (readonly [string, string])[]): string {
  const width = Math.max(...fields.map(([label]) => label.length))
  return fields.map(([label, value]) => `${label.padEnd(width)}  ${value.split('\n').join(`\n${' '.repeat(width + 2)}`)}`).join('\n') + '\n'
}

/** The disputes the node runs or ran: what is disputed, the turn it registers or defends, the deadline, where it stands. */
export function renderDisputeTable(disputes: readonly DisputeInfo[]): string {
  const columns: Column[] = [{ header: 'CHANNEL' }, { header: 'KIND' }, { header: 'TURN', align: 'right' }, { header: 'ON CHAIN', align: 'right' }, { header: 'FINALIZES AT' }, { header: 'STATUS' }, { header: 'WAITING FOR' }]
  const rows = disputes.map((d) => [
    shortId(d.channelId),
    d.channel,
    d.turnNum.toString(),
    d.registeredTurnNum === null ? '-' : d.registeredTurnNum.toString(),
    d.finalizesAt === null ? '-' : new Date(Number(d.finalizesAt) * 1000).toISOString(),
    d.failure ? `${d.status} (${escapeText(d.failure.code)})` : d.status,
    d.waitingFor ?? '-',
  ])
  return renderTable(columns, rows)
}

export function renderLedgerTable(ledgers: readonly LedgerChannelInfo[]): string {
  const columns: Column[] = [
    { header: 'ID' },
    { header: 'COUNTERPARTY' },
    { header: 'MY BALANCE', align: 'right' },
    { header: 'THEIR BALANCE', align: 'right' },
    { header: 'GUARANTEES', align: 'right' },
    { header: 'STATUS' },
  ]
  const rows = ledgers.map((l) => [
    shortId(l.channelId),
    l.counterparty,
    formatAmount(l.myBalance, l.asset),
    formatAmount(l.theirBalance, l.asset),
    String(l.guarantees.length),
    l.status,
  ])
  return renderTable(columns, rows)
}

export function renderPaymentTable(channels: readonly PaymentChannelInfo[]): string {
  const columns: Column[] = [
    { header: 'ID' },
    { header: 'ROLE' },
    { header: 'COUNTERPARTY' },
    { header: 'PAID', align: 'right' },
    { header: 'REMAINING', align: 'right' },
    { header: 'STATUS' },
  ]
  const rows = channels.map((pc) => [shortId(pc.channelId), pc.role, counterpartyOf(pc), formatAmount(pc.paid, pc.asset), formatAmount(pc.remaining, pc.asset), pc.status])
  return renderTable(columns, rows)
}

function counterpartyOf(pc: PaymentChannelInfo): string {
  if (pc.role === 'payer') return pc.payee
  if (pc.role === 'payee') return pc.payer
  return `${shortAddress(pc.payer)} → ${shortAddress(pc.payee)}`
}

export function renderLedger(l: LedgerChannelInfo): string {
  const fields: [string, string][] = [
    ['channel', l.channelId],
    ['status', l.status],
    ['my role', l.myRole],
    ['counterparty', l.counterparty],
    ['asset', l.asset === ZERO_ADDRESS ? `${l.asset} (ETH)` : l.asset],
    ['my balance', formatAmount(l.myBalance, l.asset)],
    ['their balance', formatAmount(l.theirBalance, l.asset)],
    ['holdings', formatAmount(l.holdings, l.asset)],
    ['turn', l.turnNum.toString()],
    ['nonce', l.nonce.toString()],
    ['challenge', `${l.challengeDuration} s`],
    ['guarantees', String(l.guarantees.length)],
  ]
  if (l.guarantees.length === 0) return renderFields(fields)
  const table = renderTable(
    [{ header: 'PAYMENT CHANNEL' }, { header: 'AMOUNT', align: 'right' }, { header: 'LEFT' }, { header: 'RIGHT' }],
    l.guarantees.map((g) => [g.target, formatAmount(g.amount, l.asset), formatDestination(g.left), formatDestination(g.right)]),
  )
  return `${renderFields(fields)}\n${table}`
}

export function renderPayment(pc: PaymentChannelInfo): string {
  return renderFields([
    ['channel', pc.channelId],
    ['status', pc.status],
    ['my role', pc.role],
    ['payer', pc.payer],
    ['payee', pc.payee],
    ['via', pc.intermediaries.length > 0 ? pc.intermediaries.join('\n') : '(direct)'],
    ['asset', pc.asset === ZERO_ADDRESS ? `${pc.asset} (ETH)` : pc.asset],
    ['deposit', formatAmount(pc.startingBalance, pc.asset)],
    ['paid', formatAmount(pc.paid, pc.asset)],
    ['remaining', formatAmount(pc.remaining, pc.asset)],
    ['voucher', pc.voucher ? `${pc.voucher.amount} signed ${pc.voucher.signature.slice(0, 18)}…` : '(none)'],
  ])
}

// ---- notifications ----

/** Local wall-clock time with milliseconds: 14:03:07.125. */
export function formatTime(date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0')
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, '0')}`
}

/** One readable line per notification: time, topic, then the facts that changed. */
export function formatNotification(n: Notification, at: Date): string {
  const head = `${formatTime(at)}  ${n.topic.padEnd(23)}`
  switch (n.topic) {
    case 'objective_completed':
    case 'objective_failed': {
      const o = n.result
      // The failure's code and summary may be a peer's words (a refusal it sent): escaped.
      const failure = o.failure ? `  ${escapeText(o.failure.code)}: ${escapeText(o.failure.summary)}` : ''
      return `${head}  ${shortObjectiveId(o.id)}  ${escapeText(o.status)}${failure}`
    }
    case 'ledger_channel_updated': {
      const l = n.result
      return `${head}  ${shortId(l.channelId)}  ${l.status}  with ${shortAddress(l.counterparty)}  mine ${l.myBalance}  theirs ${l.theirBalance}  guarantees ${l.guarantees.length}`
    }
    case 'payment_channel_updated': {
      const pc = n.result
      return `${head}  ${shortId(pc.channelId)}  ${pc.status}  ${pc.role}  paid ${pc.paid}  remaining ${pc.remaining}`
    }
    case 'app_channel_updated': {
      const a = n.result
      const pending = a.pending ? `  signing turn ${a.pending.turnNum}` : ''
      return `${head}  ${shortId(a.channelId)}  turn ${a.turnNum ?? '-'}  ${a.isFinal ? 'final' : `next ${a.whoseTurn ?? '?'}`}${pending}`
    }
  }
}

// ---- JSON ----

/** JSON as the API sends it: bigints as decimal strings, bytes as 0x hex; every control and bidi character inside strings as \uXXXX. */
export function toJson(value: unknown, indent?: number): string {
  return escapeJson(JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? `0x${Buffer.from(v).toString('hex')}` : v), indent))
}

// ---- progress ----

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']
const CLEAR_LINE = '\r\x1b[K'

/**
 * Progress of a wait. On a terminal, one line redrawn in place (`tick` turns the spinner, `update` changes
 * the text); elsewhere (a pipe, a log) a plain line each time the status changes, and no control codes.
 */
export class Progress {
  #frame = 0
  #status: string | undefined
  #drawn = false

  constructor(
    private readonly out: Writer,
    private readonly label: string,
  ) {
    if (!out.isTTY) out.write(`${label}\n`)
  }

  /** The objective's status changed (e.g. its waitingFor: the node's text, escaped). */
  update(text: string): void {
    const status = escapeText(text)
    if (status === this.#status) return
    this.#status = status
    if (this.out.isTTY) this.#draw()
    else this.out.write(`  ${status}\n`)
  }

  tick(): void {
    if (!this.out.isTTY) return
    this.#frame = (this.#frame + 1) % SPINNER.length
    this.#draw()
  }

  /** Ends the progress: the terminal line is cleared, then `line` (if any) is written. */
  finish(line?: string): void {
    if (this.out.isTTY && this.#drawn) this.out.write(CLEAR_LINE)
    this.#drawn = false
    if (line !== undefined) this.out.write(`${line}\n`)
  }

  #draw(): void {
    this.#drawn = true
    this.out.write(`${CLEAR_LINE}${SPINNER[this.#frame]} ${this.label}${this.#status ? `: ${this.#status}` : ''}`)
  }
}

// ---- errors ----

/**
 * Lines that explain an error: `error: <message> (<code>)`, then what the node said about it. Never a stack.
 * Messages, codes and summaries may carry a peer's or the chain's words: each is escaped (escapeText).
 */
export function describeError(error: unknown): string[] {
  const t = escapeText
  if (error instanceof RpcError) return [`error: ${t(error.message)} (${error.code})`, ...describeRpcData(error.data)]
  if (error instanceof ObjectiveFailedError) return [`error: ${t(error.summary)}`]
  if (error instanceof UsageError) return [`error: ${t(error.summary)}`]
  if (error instanceof CliFailure) return [`error: ${t(error.summary)}`, ...(error.cause instanceof Error ? [`  ${t(error.cause.message)}`] : [])]
  if (error instanceof ChannelsError) {
    const cause = error.cause instanceof Error ? [`  ${t(error.cause.message)}`] : []
    return [`error: ${t(error.summary)} (${t(error.code)})`, ...cause]
  }
  return [`error: ${t(error instanceof Error ? error.message : String(error))}`]
}

function describeRpcData(data: unknown): string[] {
  if (typeof data !== 'object' || data === null) return []
  const record = data as Record<string, unknown>
  const lines: string[] = []
  if (typeof record.code === 'string') lines.push(`  ${escapeText(record.code)}: ${typeof record.summary === 'string' ? escapeText(record.summary) : ''}`.trimEnd())
  if (record.details !== undefined) lines.push(`  details: ${clip(toJson(record.details), 300)}`)
  if (Array.isArray(record.issues)) {
    for (const issue of record.issues.slice(0, 5) as { path?: unknown; message?: unknown }[]) lines.push(`  ${issue.path ? `${escapeText(String(issue.path))}: ` : ''}${escapeText(String(issue.message))}`)
  }
  return lines
}

// ---- arguments shared by the commands ----

/** Parsed options of one command (node:util parseArgs values). */
export type Values = Readonly<Record<string, string | boolean | undefined>>

export function required(values: Values, name: string): string {
  const value = values[name]
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required`)
  return value
}

export function parseAddress(text: string, what: string): Address {
  if (!isAddress(text, { strict: false })) throw new UsageError(`${what} must be a 0x-prefixed 20-byte address, got '${text.slice(0, 80)}'`)
  if (!isAddress(text)) throw new UsageError(`${what} ${text} has an invalid EIP-55 checksum (use all lowercase or the checksummed form)`)
  return toAddress(text)
}

/** `--timeout` in seconds, or `fallback` when absent. */
export function timeoutSeconds(text: string | boolean | undefined, fallback: number): number {
  if (typeof text === 'string' && !/^\d{1,6}$/.test(text)) throw new UsageError(`--timeout must be a whole number of seconds, got '${text}'`)
  return typeof text === 'string' ? Number(text) : fallback
}
