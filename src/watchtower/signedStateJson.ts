// A signed state as JSON, in the form of the exported app log's JSON (src/protocols/app/exportFormat.ts):
//   { state: { participants, channelNonce, appDefinition, challengeDuration, outcome: [{ asset,
//     assetMetadata: { assetType, metadata }, allocations: [{ destination, amount, allocationType, metadata }] }],
//     appData, turnNum, isFinal }, signatures: [0x… | null] }
// with nonce, turn and amounts as decimal strings (DESIGN §3: a JS number corrupts 64-bit nonces), small
// numbers (challenge duration, types) as JSON numbers, bytes as 0x hex.
//
// The decoder is an edge (STYLE §4): exact keys (a misspelt field is refused, not read as absent), sizes capped
// before parsing, every value typed, then canonical (addresses checksummed and 32-byte values lowercase
// through core/canonical.ts, other hex lowercase), ranges checked by checkState and signature encodings by
// parseSignature. Whether each signature is its participant's is support.ts's check.
import type { Hex, Signature } from '../core/types.js'
import type { Allocation, SingleAssetExit } from '../core/outcome.js'
import type { State } from '../core/state.js'
import type { SignedState } from '../core/signedState.js'
import { checkState } from '../core/state.js'
import { parseSignature } from '../core/signatures.js'
import { parseAddress, parseBytes32 } from '../core/canonical.js'
import { CodecError, InvalidLengthError } from '../core/errors.js'
import { isHex, preview } from '../core/hex.js'
import { MAX_ALLOCATIONS, MAX_APP_DATA_BYTES, MAX_ASSETS, MAX_METADATA_BYTES, MAX_PARTICIPANTS } from '../core/limits.js'

/** What `JSON.stringify` writes for a signed state. */
export type SignedStateJson = ReturnType<typeof signedStateToJson>

export function signedStateToJson({ state: s, signatures }: SignedState) {
  return {
    state: {
      participants: [...s.participants],
      channelNonce: s.channelNonce.toString(),
      appDefinition: s.appDefinition,
      challengeDuration: s.challengeDuration,
      outcome: s.outcome.map((exit) => ({
        asset: exit.asset,
        assetMetadata: { assetType: exit.assetMetadata.assetType, metadata: exit.assetMetadata.metadata.toLowerCase() },
        allocations: exit.allocations.map((a) => ({ destination: a.destination, amount: a.amount.toString(), allocationType: a.allocationType, metadata: a.metadata.toLowerCase() })),
      })),
      appData: s.appData.toLowerCase(),
      turnNum: s.turnNum.toString(),
      isFinal: s.isFinal,
    },
    signatures: signatures.map((sig) => (sig === null ? null : (sig.toLowerCase() as Signature))),
  }
}

/**
 * A signed state from its JSON form (already parsed), typed, canonical and in range.
 * @throws CodecError (`codec`) naming the field for anything out of shape; the core's typed errors
 *   (`invalid_address`, `out_of_range`, `invalid_signature`, …) for values out of range.
 */
export function signedStateFromJson(raw: unknown, field: string): SignedState {
  const f = record(raw, field, ['state', 'signatures'])
  const state = stateFromJson(f.state, `${field}.state`)
  const signatures = Array.from(list(f.signatures, `${field}.signatures`, MAX_PARTICIPANTS), (sig, i): Signature | null => {
    if (sig === null) return null
    const signature = hex(sig, `${field}.signatures[${i}]`, 65).toLowerCase() as Signature
    parseSignature(signature, `${field}.signatures[${i}]`)
    return signature
  })
  if (signatures.length !== state.participants.length) {
    throw new InvalidLengthError(`${field}.signatures must have one slot per participant`, { field: `${field}.signatures`, expected: state.participants.length, actual: signatures.length })
  }
  return { state, signatures }
}

function stateFromJson(raw: unknown, field: string): State {
  const f = record(raw, field, ['participants', 'channelNonce', 'appDefinition', 'challengeDuration', 'outcome', 'appData', 'turnNum', 'isFinal'])
  if (typeof f.isFinal !== 'boolean') throw new CodecError(`${field}.isFinal must be a boolean`, { field: `${field}.isFinal` })
  const state: State = {
    participants: Array.from(list(f.participants, `${field}.participants`, MAX_PARTICIPANTS), (p, i) => parseAddress(p, `${field}.participants[${i}]`)),
    channelNonce: decimal(f.channelNonce, `${field}.channelNonce`),
    appDefinition: parseAddress(f.appDefinition, `${field}.appDefinition`),
    challengeDuration: small(f.challengeDuration, `${field}.challengeDuration`),
    outcome: Array.from(list(f.outcome, `${field}.outcome`, MAX_ASSETS), (exit, i) => exitFromJson(exit, `${field}.outcome[${i}]`)),
    appData: hex(f.appData, `${field}.appData`, { max: MAX_APP_DATA_BYTES }).toLowerCase() as Hex,
    turnNum: decimal(f.turnNum, `${field}.turnNum`),
    isFinal: f.isFinal,
  }
  checkState(state, field)
  return state
}

function exitFromJson(raw: unknown, field: string): SingleAssetExit {
  const f = record(raw, field, ['asset', 'assetMetadata', 'allocations'])
  const meta = record(f.assetMetadata, `${field}.assetMetadata`, ['assetType', 'metadata'])
  return {
    asset: parseAddress(f.asset, `${field}.asset`),
    assetMetadata: { assetType: small(meta.assetType, `${field}.assetMetadata.assetType`), metadata: hex(meta.metadata, `${field}.assetMetadata.metadata`, { max: MAX_METADATA_BYTES }).toLowerCase() as Hex },
    allocations: Array.from(list(f.allocations, `${field}.allocations`, MAX_ALLOCATIONS), (a, j) => allocationFromJson(a, `${field}.allocations[${j}]`)),
  }
}

function allocationFromJson(raw: unknown, field: string): Allocation {
  const f = record(raw, field, ['destination', 'amount', 'allocationType', 'metadata'])
  return {
    destination: parseBytes32(f.destination, `${field}.destination`),
    amount: decimal(f.amount, `${field}.amount`),
    allocationType: small(f.allocationType, `${field}.allocationType`),
    metadata: hex(f.metadata, `${field}.metadata`, { max: MAX_METADATA_BYTES }).toLowerCase() as Hex,
  }
}

// ---- leaves ----

const DECIMAL_RE = /^(?:0|[1-9][0-9]*)$/
/** Digits of 2^256 − 1: a longer string is refused before BigInt sees it. */
const MAX_UINT256_DIGITS = 78

/** An unsigned integer as a decimal string (ranges are checkState's). */
function decimal(raw: unknown, field: string): bigint {
  if (typeof raw !== 'string' || raw.length > MAX_UINT256_DIGITS || !DECIMAL_RE.test(raw)) {
    throw new CodecError(`${field} must be an unsigned integer as a decimal string`, { field, value: preview(raw) })
  }
  return BigInt(raw)
}

/** A small unsigned integer as a JSON number (ranges are checkState's). */
function small(raw: unknown, field: string): number {
  if (typeof raw !== 'number' || !Number.isSafeInteger(raw) || raw < 0) throw new CodecError(`${field} must be an unsigned integer`, { field, value: preview(raw) })
  return raw
}

/** 0x hex of exactly `length` bytes, or of at most `max`. */
function hex(raw: unknown, field: string, size: number | { readonly max: number }): Hex {
  const max = typeof size === 'number' ? size : size.max
  // The length test first: isHex on a megabyte of text is a regex over all of it.
  if (typeof raw !== 'string' || raw.length > 2 + 2 * max || !isHex(raw)) throw new CodecError(`${field} must be 0x-prefixed even-length hex of at most ${max} bytes`, { field, value: preview(raw) })
  if (typeof size === 'number' && raw.length !== 2 + 2 * size) throw new CodecError(`${field} must be ${size} bytes`, { field, actual: (raw.length - 2) / 2 })
  return raw
}

// ---- containers ----

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A plain object with exactly `keys`. */
export function record(value: unknown, field: string, keys: readonly string[]): Record<string, unknown> {
  if (!isRecord(value)) throw new CodecError(`${field} must be an object`, { field })
  const unknown = Object.keys(value).find((key) => !keys.includes(key))
  if (unknown !== undefined) throw new CodecError(`${field} has an unknown field ${preview(unknown)}`, { field })
  const missing = keys.find((key) => !Object.prototype.hasOwnProperty.call(value, key))
  if (missing !== undefined) throw new CodecError(`${field}.${missing} is missing`, { field: `${field}.${missing}` })
  return value
}

/** An array of at most `max` entries (checked before any entry is read). */
export function list(value: unknown, field: string, max: number): unknown[] {
  if (!Array.isArray(value)) throw new CodecError(`${field} must be a list`, { field })
  if (value.length > max) throw new CodecError(`${field} has more than ${max} entries`, { field, actual: value.length })
  return value
}
