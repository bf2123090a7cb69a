// Events of a hash-chained log (DESIGN §4): `(seq, kind, payload, author, prevHash)` with
// `hash = keccak256(prevHash ‖ encodeEvent(event))`. The encoding is a fixed binary layout, not
// MessagePack, so that anyone can recompute a hash from the spec in any language:
//   seq u64 BE ‖ kind length u8 ‖ kind (UTF-8) ‖ author (20 bytes) ‖ payload length u32 BE ‖ payload
import type { Address, Bytes32 } from '../core/types.js'
import { keccak256 } from '../core/keccak.js'
import { hexToBytes } from '../core/hex.js'
import { checkAddress } from '../core/validate.js'
import { InvalidLengthError, OutOfRangeError } from '../core/errors.js'
import { MAX_EVENT_KIND_BYTES, MAX_EVENT_PAYLOAD_BYTES } from './limits.js'
import { MAX_UINT64 } from '../core/limits.js'

export interface EventInput {
  readonly kind: string
  readonly payload: Uint8Array
  /** Who caused the event: a participant for channel events, the source of an input in the journal. */
  readonly author: Address
}

export interface ChannelEvent extends EventInput {
  /** 1 for the first event; the head of an empty log has seq 0. */
  readonly seq: bigint
  readonly prevHash: Bytes32
  readonly hash: Bytes32
}

export function encodeEvent(seq: bigint, input: EventInput): Buffer {
  if (seq < 0n || seq > MAX_UINT64) throw new OutOfRangeError('event seq out of uint64 range', { seq })
  const kind = Buffer.from(input.kind, 'utf8')
  if (kind.length === 0 || kind.length > MAX_EVENT_KIND_BYTES) {
    throw new InvalidLengthError(`event kind must be 1..${MAX_EVENT_KIND_BYTES} bytes`, { actual: kind.length })
  }
  if (input.payload.length > MAX_EVENT_PAYLOAD_BYTES) {
    throw new InvalidLengthError(`event payload exceeds ${MAX_EVENT_PAYLOAD_BYTES} bytes`, { actual: input.payload.length })
  }
  checkAddress(input.author, 'author')
  const out = Buffer.allocUnsafe(8 + 1 + kind.length + 20 + 4 + input.payload.length)
  let at = out.writeBigUInt64BE(seq, 0)
  at = out.writeUInt8(kind.length, at)
  at += kind.copy(out, at)
  at += hexToBytes(input.author, 'author', 20).copy(out, at)
  at = out.writeUInt32BE(input.payload.length, at)
  out.set(input.payload, at)
  return out
}

export function hashEvent(prevHash: Bytes32, seq: bigint, input: EventInput): Bytes32 {
  return keccak256(hexToBytes(prevHash, 'prevHash', 32), encodeEvent(seq, input))
}
