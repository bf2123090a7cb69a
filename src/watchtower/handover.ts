// The hand-over format (issue 15, ADR 0021): how a node gives a watchtower the latest supported states of its
// channels. One JSON document, versioned by its `format`:
//   { "format": "channels-watchtower/1", "chainId": 31337, "adjudicator": "0x…", "virtualPaymentApp": "0x…",
//     "channels": [{ "channelId": "0x…", "candidate": <signed state>, "proof": [<signed state>…] }] }
// Signed states are in the JSON form of signedStateJson.ts (amounts, nonces and turns as decimal strings).
// `candidate` and `proof` are the arguments of the adjudicator's checkpoint(fixedPart, proof, candidate): the
// watchtower submits them as they are, so it needs no key of any participant.
//
// Decoding is an edge (STYLE §4): the size first, then the shape, then every state canonical and in range,
// then what makes a state worth holding — the id matches the states' fixed part, every signature is its
// participant's, and the pair is supported (support.ts: signed by all with no proof; for the payment app also
// its redemption, proved by the postfund). Anything else is refused whole with a typed error naming the field.
import type { Address, Bytes32 } from '../core/types.js'
import type { SignedState } from '../core/signedState.js'
import { checkState } from '../core/state.js'
import { parseAddress, parseBytes32 } from '../core/canonical.js'
import { CodecError, OutOfRangeError } from '../core/errors.js'
import { preview } from '../core/hex.js'
import { MAX_HANDOVER_BYTES, MAX_HANDOVER_CHANNELS, MAX_PROOF_STATES } from './limits.js'
import { ChannelIdMismatchError } from './errors.js'
import { checkAppSupport, checkSupport } from './support.js'
import { list, record, signedStateFromJson, signedStateToJson } from './signedStateJson.js'

export const HANDOVER_FORMAT = 'channels-watchtower/1'

/** One channel handed over: what checkpoint(fixedPart, proof, candidate) takes. */
export interface HandoverEntry {
  readonly channelId: Bytes32
  readonly candidate: SignedState
  readonly proof: readonly SignedState[]
}

/** Where the states count, and the channels. */
export interface HandoverTarget {
  readonly chainId: number
  readonly adjudicator: Address
  /** The payment app on that chain: the one app whose states may come with a proof (support.ts). */
  readonly virtualPaymentApp: Address
}

export interface Handover extends HandoverTarget {
  readonly channels: readonly HandoverEntry[]
}

/**
 * One channel's entry for a hand-over, from a node's latest supported state: a ledger's
 * `supportedSignedState(ledger)` with no proof, or a payment channel's redemption with its postfund.
 *
 * @example const entry = watchtowerEntry(supportedSignedState(engine.getLedger(id)!), [])
 * @param candidate the latest supported state, with the signatures that support it
 * @param proof what the candidate's app needs beside it: nothing, or the payment app's postfund
 * @returns the entry, its channel id computed from the candidate's fixed part
 * @throws InvalidSignatureError (`invalid_signature`), UnsupportedStateError (`unsupported_state`), or the
 *   core's range errors (`invalid_state`, `out_of_range`, …): the node's own states, so a bug of ours
 */
export function watchtowerEntry(candidate: SignedState, proof: readonly SignedState[] = []): HandoverEntry {
  checkState(candidate.state, 'candidate.state')
  proof.forEach((signed, i) => checkState(signed.state, `proof[${i}].state`))
  const { channelId } = checkSupport(candidate, proof, 'entry')
  return { channelId, candidate, proof: [...proof] }
}

/** The turn an entry holds: what a later hand-over must exceed to replace it. */
export function turnOf(entry: HandoverEntry): bigint {
  return entry.candidate.state.turnNum
}

/**
 * The hand-over document, as one line of JSON. Checked first, as it would be decoded: a node never writes a
 * file a watchtower refuses.
 *
 * @example writeFileSync('alice.watchtower.json', encodeHandover({ chainId, adjudicator, virtualPaymentApp, channels: [entry] }))
 * @throws what decodeHandover throws for the same content
 */
export function encodeHandover(handover: Handover): string {
  checkHandover(handover)
  const document = {
    format: HANDOVER_FORMAT,
    chainId: handover.chainId,
    adjudicator: handover.adjudicator,
    virtualPaymentApp: handover.virtualPaymentApp,
    channels: handover.channels.map((e) => ({ channelId: e.channelId, candidate: signedStateToJson(e.candidate), proof: e.proof.map(signedStateToJson) })),
  }
  return `${JSON.stringify(document)}\n`
}

/**
 * Decodes and checks a hand-over document.
 *
 * @example const handover = decodeHandover(readFileSync(file))
 * @throws CodecError (`codec`) for a file that is not a version-1 hand-over, naming the field;
 *   ChannelIdMismatchError (`channel_id_mismatch`); InvalidSignatureError (`invalid_signature`) for a
 *   signature that is not its participant's; UnsupportedStateError (`unsupported_state`); the core's range
 *   errors (`invalid_address`, `out_of_range`, `invalid_state`, …)
 */
export function decodeHandover(input: Uint8Array | string): Handover {
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input instanceof Uint8Array ? input.length : -1
  if (size < 0) throw new CodecError('a hand-over is text or bytes')
  if (size > MAX_HANDOVER_BYTES) throw new CodecError(`a hand-over is at most ${MAX_HANDOVER_BYTES} bytes`, { size, max: MAX_HANDOVER_BYTES })
  const root = parseJson(input)
  if (typeof root !== 'object' || root === null || (root as Record<string, unknown>).format !== HANDOVER_FORMAT) {
    const format = typeof root === 'object' && root !== null ? (root as Record<string, unknown>).format : undefined
    throw new CodecError(`not a ${HANDOVER_FORMAT} document${typeof format === 'string' ? ` (its format is ${preview(format)})` : ''}`, { format: preview(format) })
  }
  const f = record(root, 'handover', ['format', 'chainId', 'adjudicator', 'virtualPaymentApp', 'channels'])
  if (typeof f.chainId !== 'number' || !Number.isSafeInteger(f.chainId) || f.chainId <= 0) throw new CodecError('handover.chainId must be a positive integer', { field: 'handover.chainId', value: preview(f.chainId) })
  const handover: Handover = {
    chainId: f.chainId,
    adjudicator: parseAddress(f.adjudicator, 'handover.adjudicator'),
    virtualPaymentApp: parseAddress(f.virtualPaymentApp, 'handover.virtualPaymentApp'),
    channels: Array.from(list(f.channels, 'handover.channels', MAX_HANDOVER_CHANNELS), (raw, i) => entryFromJson(raw, `channels[${i}]`)),
  }
  checkHandover(handover)
  return handover
}

function entryFromJson(raw: unknown, field: string): HandoverEntry {
  const f = record(raw, field, ['channelId', 'candidate', 'proof'])
  const channelId = parseBytes32(f.channelId, `${field}.channelId`)
  return {
    channelId,
    candidate: signedStateFromJson(f.candidate, `${field}.candidate`),
    proof: Array.from(list(f.proof, `${field}.proof`, MAX_PROOF_STATES), (p, i) => signedStateFromJson(p, `${field}.proof[${i}]`)),
  }
}

/** What makes a hand-over holdable: each entry's id, signatures and support, and no channel twice. */
function checkHandover(h: Handover): void {
  if (!Number.isSafeInteger(h.chainId) || h.chainId <= 0) throw new OutOfRangeError('chainId must be a positive integer', { field: 'chainId', value: h.chainId })
  if (h.channels.length > MAX_HANDOVER_CHANNELS) throw new CodecError(`a hand-over has at most ${MAX_HANDOVER_CHANNELS} channels`, { actual: h.channels.length })
  const seen = new Map<Bytes32, number>()
  h.channels.forEach((entry, i) => {
    const field = `channels[${i}]`
    const { kind, channelId } = checkSupport(entry.candidate, entry.proof, field)
    if (channelId !== entry.channelId) {
      throw new ChannelIdMismatchError(`${field}.channelId is not the id of its states' channel (${channelId})`, { field: `${field}.channelId`, given: entry.channelId, computed: channelId })
    }
    checkAppSupport(kind, entry.candidate.state, h.virtualPaymentApp, `${field}.candidate`)
    const earlier = seen.get(channelId)
    if (earlier !== undefined) throw new CodecError(`${field} hands over channel ${channelId} again (channels[${earlier}])`, { field, channelId })
    seen.set(channelId, i)
  })
}

function parseJson(input: Uint8Array | string): unknown {
  let text: string
  try {
    text = typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true }).decode(input)
  } catch (cause) {
    throw new CodecError('a hand-over is UTF-8 text', {}, { cause })
  }
  try {
    return JSON.parse(text) as unknown
  } catch (cause) {
    // SyntaxError, or a RangeError from nesting past the engine's limit.
    throw new CodecError('a hand-over is JSON', {}, { cause })
  }
}
