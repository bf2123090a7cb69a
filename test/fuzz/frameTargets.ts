// Fuzz targets of the frame decoder (src/engine/frames.ts `decodeFrame`, the first thing a peer's bytes meet
// after admission): arbitrary bytes, MessagePack that is not a frame, mutated valid frames (bit flips,
// truncation, extension...) and frames whose tuples were edited. Property: decodeFrame returns a frame or throws
// a typed rejection (a code in REJECTION_CODES), never a TypeError or RangeError; a frame it returns encodes
// again and decodes to the same frame; a valid frame round-trips exactly, to the byte.
import fc from 'fast-check'
import { encodeEnvelope, encodeValue } from '../../src/core/codec.js'
import type { Frame } from '../../src/engine/frames.js'
import { FRAME_KIND, decodeFrame, encodeFrame } from '../../src/engine/frames.js'
import { payloadToWire } from '../../src/protocols/messages.js'
import { hostileMessages } from '../hostile.js'
import { mutatedBytes, mutatedTree, wireValue } from './mutate.js'
import type { AnyTarget } from './target.js'
import { assertSameBytes, assertSameData, defineTarget, valueOrRejection } from './target.js'
import { frameArbitrary } from './wireArbitraries.js'

/** The property every frame input must keep: a frame (that re-encodes to itself) or a typed rejection. */
export function checkFrameBytes(bytes: Uint8Array): void {
  const outcome = valueOrRejection(() => decodeFrame(bytes))
  if (outcome.kind === 'rejected') return
  const again = encodeFrame(outcome.value)
  assertSameData(decodeFrame(again), outcome.value, 'an accepted frame decodes to itself after encoding again')
}

/** The frame's body as encodeFrame writes it, before MessagePack: the tuples the tree mutator edits. */
export function frameBody(frame: Frame): unknown[] {
  const body: unknown[] = [frame.seq, frame.payloads.map(payloadToWire), frame.acks]
  if (frame.epochs || frame.base !== undefined) body.push(frame.epochs?.sender ?? 0n, frame.epochs?.receiver ?? 0n, frame.base ?? 0n)
  return body
}

/** Envelope bytes of `body` as kind `kind`, or undefined when the codec cannot carry it (no peer can send it). */
export function envelopeOf(kind: string, body: unknown): Uint8Array | undefined {
  try {
    encodeValue(body)
  } catch {
    return undefined
  }
  return encodeEnvelope(kind, body)
}

/** MessagePack of `value` if the codec can carry it, else the bytes of nil. */
function encodable(value: unknown): Uint8Array {
  try {
    return encodeValue(value)
  } catch {
    return Uint8Array.of(0xc0)
  }
}

const validFrameBytes = frameArbitrary().map(encodeFrame)

/** MessagePack a peer could send: frames with any body, other envelope kinds, bare values, the hostile messages. */
const messagePackBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 4, arbitrary: wireValue.map((body) => envelopeOf(FRAME_KIND, body)).filter((b): b is Uint8Array => b !== undefined) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(1, 1n, 0, 2, -1, null), fc.constantFrom('frame', 'Frame', 'payload', 'x', ''), wireValue).map(encodable) },
  { weight: 1, arbitrary: fc.constantFrom(...hostileMessages.map((h) => h.value as Uint8Array)) },
)

export const frameTargets: readonly AnyTarget[] = [
  defineTarget({
    name: 'frame.bytes',
    property: 'decodeFrame on arbitrary bytes and arbitrary MessagePack returns a frame that re-encodes to itself, or throws a typed rejection',
    weight: 170,
    ciRuns: 3000,
    arbitrary: fc.oneof({ weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }) }, { weight: 3, arbitrary: messagePackBytes }),
    check: checkFrameBytes,
  }),
  defineTarget({
    name: 'frame.mutated',
    property: 'decodeFrame on valid frames with bit flips, overwrites, truncation, extension, insertion, deletion and duplication: the same',
    weight: 150,
    ciRuns: 2000,
    arbitrary: mutatedBytes(validFrameBytes),
    check: checkFrameBytes,
  }),
  defineTarget({
    name: 'frame.edited',
    property: 'decodeFrame on valid frames whose tuples were edited (a field replaced by a hostile or arbitrary value, removed, added, resized, nested): the same',
    weight: 120,
    ciRuns: 2000,
    arbitrary: mutatedTree(frameArbitrary().map(frameBody))
      .map((body) => envelopeOf(FRAME_KIND, body))
      .filter((b): b is Uint8Array => b !== undefined),
    check: checkFrameBytes,
  }),
  defineTarget({
    name: 'frame.roundtrip',
    property: 'a valid frame (every payload kind, seq or none, acks, session) decodes to exactly itself, and re-encodes to the same bytes',
    weight: 50,
    ciRuns: 1000,
    arbitrary: frameArbitrary(),
    check: (frame) => {
      const bytes = encodeFrame(frame)
      const decoded = decodeFrame(bytes)
      assertSameData(decoded, frame, 'decodeFrame(encodeFrame(frame)) = frame')
      assertSameBytes(encodeFrame(decoded), bytes, 'encodeFrame(decodeFrame(bytes)) = bytes')
    },
  }),
]
