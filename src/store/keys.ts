// Key layout (ADR 0002). Keys are byte strings compared byte-wise, so big-endian integers sort in
// numeric order and one log's events are a contiguous range scan in seq order:
//   'e' ‖ logId (32 bytes) ‖ seq (u64 BE)   an event of a channel log, or of the node journal
// The journal's logId is 32 zero bytes: no channel id starts with 12 zero bytes (DESIGN §3), so the
// journal can never collide with a channel.
import type { Bytes32 } from '../core/types.js'
import { hexToBytes } from '../core/hex.js'
import { toBytes32 } from '../core/canonical.js'

const EVENT_PREFIX = 0x65 // 'e'

export const JOURNAL_LOG_ID: Bytes32 = toBytes32(`0x${'00'.repeat(32)}`)

export function eventKey(logId: Bytes32, seq: bigint): Buffer {
  const key = Buffer.allocUnsafe(1 + 32 + 8)
  key[0] = EVENT_PREFIX
  hexToBytes(logId, 'logId', 32).copy(key, 1)
  key.writeBigUInt64BE(seq, 33)
  return key
}

/** [first, end) bounds of every event key of one log. */
export function eventRange(logId: Bytes32): { gte: Buffer; lt: Buffer } {
  const gte = eventKey(logId, 0n)
  const lt = Buffer.from(gte.subarray(0, 33))
  // Increment the 33-byte prefix as a big-endian number: the first key after every event of this log.
  for (let i = lt.length - 1; i >= 0; i--) {
    if (lt[i]! < 0xff) {
      lt[i]! += 1
      break
    }
    lt[i] = 0
  }
  return { gte, lt }
}

export function seqOfEventKey(key: Uint8Array): bigint {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).readBigUInt64BE(33)
}
