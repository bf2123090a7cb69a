// The exported-log file of an app channel (issue 7): what `channels export` writes and `channels verify`
// reads. An ExportedLog (replay.ts: every event and every fully signed state) in a versioned envelope
//   { format: 'channels-app-log', version: 1, appId, log: { events, signedStates } }
// encoded either as MessagePack (src/core/codec.ts; the envelope and the log are maps, an event is the tuple
// [seq, kind, payload, author, prevHash, hash], a signed state is its wire tuple from src/core/wire.ts, ADR
// 0003) or as JSON (the same fields by name; bigints as decimal strings, bytes as 0x hex). The decoder tells
// them apart by the first byte: '{' (after optional whitespace) is JSON, which MessagePack never starts with
// here (0x7b is the integer 123, not an envelope). `appId` repeats the genesis event's, so a reader can find
// the module before decoding the genesis.
//
// The decoder is an edge (STYLE §4) with one job: bytes to well-TYPED values — sizes capped first, every
// field of its kind, byte strings of their length — or a CodecError naming the field. Whether the log is
// VALID (ranges, checksums, signatures, the chain, the replay) is verifyLog's to say, event by event, so
// that it can name the first divergence by seq: a signature with a flipped byte decodes here and fails
// there, at its turn. (The wire's signedStateFromWire checks signatures and ranges too, and would refuse
// the whole file instead.) Hex comes out lowercase and addresses checksummed, as the wire decoders give them.
import type { Address, Bytes32, Hex, Signature } from '../../core/types.js'
import type { Allocation, SingleAssetExit } from '../../core/outcome.js'
import type { State } from '../../core/state.js'
import type { SignedState } from '../../core/signedState.js'
import type { ChannelEvent } from '../../log/event.js'
import { decodeValue, encodeValue } from '../../core/codec.js'
import { signedStateToWire } from '../../core/wire.js'
import { CodecError } from '../../core/errors.js'
import { bytesToHex, hexToBytes, isHex } from '../../core/hex.js'
import { MAX_ALLOCATIONS, MAX_APP_DATA_BYTES, MAX_ASSETS, MAX_METADATA_BYTES, MAX_PARTICIPANTS, MAX_UINT256 } from '../../core/limits.js'
import { MAX_EVENT_KIND_BYTES, MAX_EVENT_PAYLOAD_BYTES } from '../../log/limits.js'
import type { ExportedLog } from './replay.js'
import { decodeGenesis } from './appData.js'
import { InvalidDefinitionError } from './errors.js'
import { MAX_EXPORTED_LOG_BYTES } from './limits.js'
import { toAddress, toBytes32 } from '../../core/canonical.js'

export const EXPORT_FORMAT = 'channels-app-log'
export const EXPORT_FORMAT_VERSION = 1

export type ExportEncoding = 'msgpack' | 'json'

/** A decoded file: the appId its envelope names, the log, and how the file was encoded. */
export interface ExportedLogFile {
  readonly appId: Bytes32
  readonly log: ExportedLog
  readonly encoding: ExportEncoding
}

// ---- encoding ----

/**
 * Encodes a log for a file. The envelope's appId is the one the genesis event commits to, unless given.
 *
 * @example writeFileSync('game.channels-log', encodeExportedLog(exportLog(channel), 'msgpack'))
 * @param log what exportLog returned: the genesis first
 * @param encoding 'msgpack' (compact) or 'json' (readable, one line)
 * @param options.appId the module to name (for a log whose first event is not a readable genesis)
 * @throws InvalidDefinitionError (`invalid_definition`) without options.appId, when the log does not begin
 *   with a genesis event
 */
export function encodeExportedLog(log: ExportedLog, encoding: ExportEncoding, options: { readonly appId?: Bytes32 } = {}): Uint8Array {
  const appId = options.appId ?? appIdOfGenesis(log)
  if (encoding === 'msgpack') {
    const body = { events: log.events.map(eventToWire), signedStates: log.signedStates.map(signedStateToWire) }
    return encodeValue({ format: EXPORT_FORMAT, version: EXPORT_FORMAT_VERSION, appId: hexToBytes(appId, 'appId', 32), log: body })
  }
  const document = {
    format: EXPORT_FORMAT,
    version: EXPORT_FORMAT_VERSION,
    appId: appId.toLowerCase(),
    log: { events: log.events.map(eventToJson), signedStates: log.signedStates.map(signedStateToJson) },
  }
  return Buffer.from(`${JSON.stringify(document)}\n`, 'utf8')
}

function appIdOfGenesis(log: ExportedLog): Bytes32 {
  const genesis = log.events[0]
  if (!genesis) throw new InvalidDefinitionError('an exported log begins with its genesis event')
  return decodeGenesis(genesis.payload).appId
}

function eventToWire(e: ChannelEvent): unknown {
  return [e.seq, e.kind, e.payload, hexToBytes(e.author, 'author', 20), hexToBytes(e.prevHash, 'prevHash', 32), hexToBytes(e.hash, 'hash', 32)]
}

function eventToJson(e: ChannelEvent): unknown {
  return { seq: e.seq.toString(), kind: e.kind, payload: bytesToHex(e.payload), author: e.author, prevHash: e.prevHash, hash: e.hash }
}

function signedStateToJson({ state: s, signatures }: SignedState): unknown {
  const outcome = s.outcome.map((exit) => ({
    asset: exit.asset,
    assetMetadata: { assetType: exit.assetMetadata.assetType, metadata: exit.assetMetadata.metadata },
    allocations: exit.allocations.map((a) => ({ destination: a.destination, amount: a.amount.toString(), allocationType: a.allocationType, metadata: a.metadata })),
  }))
  const state = {
    participants: s.participants,
    channelNonce: s.channelNonce.toString(),
    appDefinition: s.appDefinition,
    challengeDuration: s.challengeDuration,
    outcome,
    appData: s.appData,
    turnNum: s.turnNum.toString(),
    isFinal: s.isFinal,
  }
  return { state, signatures }
}

// ---- decoding ----

/** 'json' when the first byte after whitespace (and a UTF-8 byte order mark) is '{', else 'msgpack'. */
export function detectEncoding(bytes: Uint8Array): ExportEncoding {
  let at = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0
  while (at < bytes.length && (bytes[at] === 0x20 || bytes[at] === 0x09 || bytes[at] === 0x0a || bytes[at] === 0x0d)) at++
  return bytes[at] === 0x7b ? 'json' : 'msgpack'
}

/**
 * Decodes an exported-log file, MessagePack or JSON (detected).
 *
 * @example const { appId, log } = decodeExportedLog(readFileSync(path)); verifyLog(log, runtime)
 * @returns the envelope's appId, the log (typed, not yet verified: see verifyLog) and the encoding found
 * @throws CodecError (`codec`) naming the field, for anything but a well-typed version-1 file
 */
export function decodeExportedLog(bytes: Uint8Array): ExportedLogFile {
  if (!(bytes instanceof Uint8Array)) throw new CodecError('an exported log must be bytes')
  if (bytes.length === 0) throw new CodecError('the file is empty')
  if (bytes.length > MAX_EXPORTED_LOG_BYTES) {
    throw new CodecError(`an exported log is at most ${MAX_EXPORTED_LOG_BYTES} bytes`, { size: bytes.length, max: MAX_EXPORTED_LOG_BYTES })
  }
  const encoding = detectEncoding(bytes)
  const form = encoding === 'json' ? jsonForm : msgpackForm
  const root = encoding === 'json' ? parseJson(bytes) : decodeValue(bytes, MAX_EXPORTED_LOG_BYTES)
  if (!isRecord(root) || root.format !== EXPORT_FORMAT) throw new CodecError(`not a ${EXPORT_FORMAT} file`, { encoding })
  if (root.version !== EXPORT_FORMAT_VERSION) {
    throw new CodecError(`unsupported ${EXPORT_FORMAT} version ${preview(root.version)} (this build reads version ${EXPORT_FORMAT_VERSION})`, { version: preview(root.version) })
  }
  const envelope = record(root, 'file', ['format', 'version', 'appId', 'log'])
  const appId = toBytes32(hex(form, envelope.appId, 'appId', { length: 32 }))
  const body = record(envelope.log, 'log', ['events', 'signedStates'])
  // Array.from visits every index: a sparse array's holes become undefined and are refused.
  const events = Array.from(list(body.events, 'log.events'), (raw, i) => readEvent(form, raw, `log.events[${i}]`))
  const signedStates = Array.from(list(body.signedStates, 'log.signedStates'), (raw, i) => readSignedState(form, raw, `log.signedStates[${i}]`))
  return { appId, log: { events, signedStates }, encoding }
}

function parseJson(bytes: Uint8Array): unknown {
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch (cause) {
    throw new CodecError('the file is not UTF-8 text', {}, { cause })
  }
  try {
    return JSON.parse(text) as unknown
  } catch (cause) {
    // SyntaxError, or a RangeError from input nested past the engine's limit.
    throw new CodecError('the file is not valid JSON', {}, { cause })
  }
}

/** Byte strings: their exact length, or at most `max` bytes. */
type Size = { readonly length: number } | { readonly max: number }

/**
 * How one encoding spells values. `fields` reads a container into its named fields: MessagePack keeps the
 * wire's tuples (in the order of SHAPES), JSON has objects with exactly those keys.
 */
interface Form {
  fields(raw: unknown, field: string, shape: Shape): Record<string, unknown>
  uint(raw: unknown, field: string): bigint
  small(raw: unknown, field: string): number
  /** A byte string (a view into the input for MessagePack: copy what is kept as bytes). */
  bin(raw: unknown, field: string, size: Size): Uint8Array
}

type Shape = keyof typeof SHAPES
/** Field names of each container, in the wire's tuple order (src/core/wire.ts; the event tuple is this file's). */
const SHAPES = {
  event: ['seq', 'kind', 'payload', 'author', 'prevHash', 'hash'],
  signedState: ['state', 'signatures'],
  state: ['participants', 'channelNonce', 'appDefinition', 'challengeDuration', 'outcome', 'appData', 'turnNum', 'isFinal'],
  exit: ['asset', 'assetType', 'assetMetadata', 'allocations'],
  allocation: ['destination', 'amount', 'allocationType', 'metadata'],
} as const

const msgpackForm: Form = {
  fields(raw, field, shape) {
    const names = SHAPES[shape]
    if (!Array.isArray(raw) || raw.length !== names.length) throw new CodecError(`${field} must be a ${names.length}-tuple`, { field })
    return Object.fromEntries(names.map((name, i) => [name, raw[i]]))
  },
  uint(raw, field) {
    // msgpackr writes every bigint as a 64-bit or extension integer; other encoders write small ones compactly.
    if (typeof raw === 'number' && Number.isSafeInteger(raw) && raw >= 0) return BigInt(raw)
    if (typeof raw === 'bigint' && raw >= 0n && raw <= MAX_UINT256) return raw
    throw new CodecError(`${field} must be an unsigned integer below 2^256`, { field })
  },
  small(raw, field) {
    if (typeof raw === 'bigint' && raw >= 0n && raw <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(raw)
    return smallNumber(raw, field)
  },
  bin(raw, field, size) {
    if (!(raw instanceof Uint8Array)) throw new CodecError(`${field} must be bytes`, { field })
    checkSize(raw.length, field, size)
    return raw
  },
}

const DECIMAL_RE = /^(?:0|[1-9][0-9]*)$/
/** Digits of 2^256 − 1. */
const MAX_UINT256_DIGITS = 78

const jsonForm: Form = {
  fields(raw, field, shape) {
    if (shape !== 'exit') return record(raw, field, SHAPES[shape])
    const { asset, assetMetadata, allocations } = record(raw, field, ['asset', 'assetMetadata', 'allocations'])
    const metadata = record(assetMetadata, `${field}.assetMetadata`, ['assetType', 'metadata'])
    return { asset, assetType: metadata.assetType, assetMetadata: metadata.metadata, allocations }
  },
  uint(raw, field) {
    if (typeof raw === 'number' && Number.isSafeInteger(raw) && raw >= 0) return BigInt(raw)
    if (typeof raw !== 'string' || raw.length > MAX_UINT256_DIGITS || !DECIMAL_RE.test(raw)) {
      throw new CodecError(`${field} must be an unsigned decimal string`, { field, value: preview(raw) })
    }
    const value = BigInt(raw)
    if (value > MAX_UINT256) throw new CodecError(`${field} must be below 2^256`, { field })
    return value
  },
  small: smallNumber,
  bin(raw, field, size) {
    const max = 'length' in size ? size.length : size.max
    if (typeof raw !== 'string' || raw.length > 2 + 2 * max || !isHex(raw)) throw new CodecError(`${field} must be 0x-prefixed even-length hex`, { field, value: preview(raw) })
    checkSize((raw.length - 2) / 2, field, size)
    return Buffer.from(raw.slice(2), 'hex')
  },
}

function readEvent(form: Form, raw: unknown, field: string): ChannelEvent {
  const f = form.fields(raw, field, 'event')
  return {
    seq: form.uint(f.seq, `${field}.seq`),
    kind: eventKind(f.kind, `${field}.kind`),
    payload: Uint8Array.from(form.bin(f.payload, `${field}.payload`, { max: MAX_EVENT_PAYLOAD_BYTES })),
    author: address(form, f.author, `${field}.author`),
    prevHash: toBytes32(hex(form, f.prevHash, `${field}.prevHash`, { length: 32 })),
    hash: toBytes32(hex(form, f.hash, `${field}.hash`, { length: 32 })),
  }
}

function readSignedState(form: Form, raw: unknown, field: string): SignedState {
  const f = form.fields(raw, field, 'signedState')
  const signatures = Array.from(list(f.signatures, `${field}.signatures`, MAX_PARTICIPANTS), (sig, i): Signature | null =>
    sig === null ? null : hex(form, sig, `${field}.signatures[${i}]`, { length: 65 }),
  )
  return { state: readState(form, f.state, `${field}.state`), signatures }
}

function readState(form: Form, raw: unknown, field: string): State {
  const f = form.fields(raw, field, 'state')
  if (typeof f.isFinal !== 'boolean') throw new CodecError(`${field}.isFinal must be a boolean`, { field: `${field}.isFinal` })
  return {
    participants: Array.from(list(f.participants, `${field}.participants`, MAX_PARTICIPANTS), (p, i) => address(form, p, `${field}.participants[${i}]`)),
    channelNonce: form.uint(f.channelNonce, `${field}.channelNonce`),
    appDefinition: address(form, f.appDefinition, `${field}.appDefinition`),
    challengeDuration: form.small(f.challengeDuration, `${field}.challengeDuration`),
    outcome: Array.from(list(f.outcome, `${field}.outcome`, MAX_ASSETS), (exit, i) => readExit(form, exit, `${field}.outcome[${i}]`)),
    appData: hex(form, f.appData, `${field}.appData`, { max: MAX_APP_DATA_BYTES }),
    turnNum: form.uint(f.turnNum, `${field}.turnNum`),
    isFinal: f.isFinal,
  }
}

function readExit(form: Form, raw: unknown, field: string): SingleAssetExit {
  const f = form.fields(raw, field, 'exit')
  return {
    asset: address(form, f.asset, `${field}.asset`),
    assetMetadata: { assetType: form.small(f.assetType, `${field}.assetMetadata.assetType`), metadata: hex(form, f.assetMetadata, `${field}.assetMetadata.metadata`, { max: MAX_METADATA_BYTES }) },
    allocations: Array.from(list(f.allocations, `${field}.allocations`, MAX_ALLOCATIONS), (a, j) => readAllocation(form, a, `${field}.allocations[${j}]`)),
  }
}

function readAllocation(form: Form, raw: unknown, field: string): Allocation {
  const f = form.fields(raw, field, 'allocation')
  return {
    destination: toBytes32(hex(form, f.destination, `${field}.destination`, { length: 32 })),
    amount: form.uint(f.amount, `${field}.amount`),
    allocationType: form.small(f.allocationType, `${field}.allocationType`),
    metadata: hex(form, f.metadata, `${field}.metadata`, { max: MAX_METADATA_BYTES }),
  }
}

// ---- leaves ----

function hex(form: Form, raw: unknown, field: string, size: Size): Hex {
  return bytesToHex(form.bin(raw, field, size))
}

function address(form: Form, raw: unknown, field: string): Address {
  return toAddress(hex(form, raw, field, { length: 20 }))
}

function eventKind(raw: unknown, field: string): string {
  // A UTF-8 byte is at least a quarter of a character: the cheap length test first.
  if (typeof raw !== 'string' || raw.length > MAX_EVENT_KIND_BYTES || Buffer.byteLength(raw, 'utf8') > MAX_EVENT_KIND_BYTES) {
    throw new CodecError(`${field} must be a string of at most ${MAX_EVENT_KIND_BYTES} bytes`, { field })
  }
  return raw
}

function smallNumber(raw: unknown, field: string): number {
  if (typeof raw !== 'number' || !Number.isSafeInteger(raw) || raw < 0) throw new CodecError(`${field} must be an unsigned integer`, { field, value: preview(raw) })
  return raw
}

function checkSize(length: number, field: string, size: Size): void {
  if ('length' in size ? length !== size.length : length > size.max) {
    throw new CodecError('length' in size ? `${field} must be ${size.length} bytes` : `${field} exceeds ${size.max} bytes`, { field, actual: length })
  }
}

// ---- containers ----

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
}

/** A plain object with exactly `keys` (an unknown key is refused: a misspelt field must not pass as absent). */
function record(value: unknown, field: string, keys: readonly string[]): Record<string, unknown> {
  if (!isRecord(value)) throw new CodecError(`${field} must be an object`, { field })
  const actual = Object.keys(value)
  const unknown = actual.find((key) => !keys.includes(key))
  if (unknown !== undefined) throw new CodecError(`${field} has an unknown field ${preview(unknown)}`, { field })
  const missing = keys.find((key) => !Object.prototype.hasOwnProperty.call(value, key))
  if (missing !== undefined) throw new CodecError(`${field}.${missing} is missing`, { field: `${field}.${missing}` })
  return value
}

/** A list; one of at most `max` entries when the format caps it (the log's own lists are capped by the file size). */
function list(value: unknown, field: string, max = Number.MAX_SAFE_INTEGER): unknown[] {
  if (!Array.isArray(value)) throw new CodecError(`${field} must be a list`, { field })
  if (value.length > max) throw new CodecError(`${field} has more than ${max} entries`, { field, actual: value.length })
  return value
}

function preview(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : typeof value === 'bigint' ? `${value}n` : typeof value === 'number' || typeof value === 'boolean' ? String(value) : typeof value
  return text.length > 40 ? `${text.slice(0, 37)}...` : text
}
