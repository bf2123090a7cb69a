// Frames: what the engine puts on the wire to one peer. A frame carries at most one outbox entry
// (seq + payloads), any number of acknowledgements, the session's epochs and the sender's lowest
// unacknowledged seq, in the versioned envelope of ADR 0003. A frame
// without a seq carries only acknowledgements and notices: payloads that may be lost (ADR 0014).
import type { Payload } from '../protocols/messages.js'
import { payloadFromWire, payloadToWire } from '../protocols/messages.js'
import { decodeEnvelope, encodeEnvelope } from '../core/codec.js'
import { CodecError } from '../core/errors.js'
import { MAX_UINT64 } from '../core/limits.js'
import { checkUint } from '../core/validate.js'

export const FRAME_KIND = 'frame'
/** Payloads per frame and acks per frame: one step's messages to one peer, and one window of acks. */
export const MAX_PAYLOADS_PER_FRAME = 4096
export const MAX_ACKS_PER_FRAME = 4096

/**
 * Payload kinds that may travel best-effort in unsequenced frames: never stored, retransmitted or acknowledged.
 * `objectiveRejected` goes so when a policy refuses what a peer started (ADR 0015): a stranger cannot make the
 * node store anything; it still goes reliably when an objective both sides run fails.
 */
const NOTICE_KINDS: ReadonlySet<Payload['kind']> = new Set(['appRefusal', 'objectiveRejected'])

function isNotice(payload: Payload): boolean {
  return NOTICE_KINDS.has(payload.kind)
}

export interface Frame {
  readonly seq: bigint | null
  readonly payloads: readonly Payload[]
  readonly acks: readonly bigint[]
  /**
   * The sessions this frame belongs to (outbox.ts): the sender's epoch (fixed when its store was created) and
   * the receiver's as the sender knows it (0: not known yet). A frame without them (both 0) takes part in no
   * session check; engines always send them.
   */
  readonly epochs?: { readonly sender: bigint; readonly receiver: bigint }
  /**
   * The sender's lowest unacknowledged sequence number to this receiver (its next one when none is): everything
   * below was acknowledged, so the receiver may count it delivered — a frame it refused without remembering
   * (engine.ts) leaves no gap. Sent with the epochs; 0 says nothing.
   */
  readonly base?: bigint
}

export function encodeFrame(frame: Frame): Uint8Array {
  const body: unknown[] = [frame.seq, frame.payloads.map(payloadToWire), frame.acks]
  if (frame.epochs || frame.base !== undefined) body.push(frame.epochs?.sender ?? 0n, frame.epochs?.receiver ?? 0n, frame.base ?? 0n)
  return encodeEnvelope(FRAME_KIND, body)
}

/** An edge: any malformed frame is a typed RejectedInputError. */
export function decodeFrame(bytes: Uint8Array): Frame {
  const { kind, body } = decodeEnvelope(bytes)
  if (kind !== FRAME_KIND) throw new CodecError(`unexpected message kind ${kind}`)
  if (!Array.isArray(body) || (body.length !== 3 && body.length !== 6)) throw new CodecError('frame must be [seq, payloads, acks] or [seq, payloads, acks, senderEpoch, receiverEpoch, base]')
  const [seq, payloads, acks, sender, receiver, base] = body as unknown[]
  if (seq !== null) checkUint(seq, 'frame.seq', MAX_UINT64)
  if (!Array.isArray(payloads) || payloads.length > MAX_PAYLOADS_PER_FRAME) throw new CodecError('frame payloads must be a bounded list')
  if (!Array.isArray(acks) || acks.length > MAX_ACKS_PER_FRAME) throw new CodecError('frame acks must be a bounded list')
  acks.forEach((ack, i) => checkUint(ack, `frame.acks[${i}]`, MAX_UINT64))
  const decoded = payloads.map(payloadFromWire)
  if (seq === null && !decoded.every(isNotice)) throw new CodecError('payloads need a sequence number (only notices go without)')
  if (body.length === 3) return { seq: seq as bigint | null, payloads: decoded, acks: acks as bigint[] }
  checkUint(sender, 'frame.senderEpoch', MAX_UINT64)
  checkUint(receiver, 'frame.receiverEpoch', MAX_UINT64)
  checkUint(base, 'frame.base', MAX_UINT64)
  return { seq: seq as bigint | null, payloads: decoded, acks: acks as bigint[], epochs: { sender: sender as bigint, receiver: receiver as bigint }, base: base as bigint }
}
