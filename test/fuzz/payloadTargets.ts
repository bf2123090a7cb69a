// Fuzz targets of the peer payload decoder (src/protocols/messages.ts `payloadFromWire`, an edge that validates
// everything a peer sent), for every payload kind: valid payloads with random fields round-trip; valid payloads
// whose wire tuples were edited (wrong types, huge and negative bigints, byte strings one byte off, entries
// missing or extra, nesting), arbitrary values and app definitions with mutated ABI bytes are each decoded or
// refused with a typed rejection, directly and inside a frame's envelope. A payload the decoder accepts must
// encode again and decode to itself: what a node does next with it (store it, forward it).
import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { Payload } from '../../src/protocols/messages.js'
import { payloadFromWire, payloadToWire } from '../../src/protocols/messages.js'
import { decodeEnvelope, encodeEnvelope } from '../../src/core/codec.js'
import { FRAME_KIND } from '../../src/engine/frames.js'
import { encodeGenesis } from '../../src/protocols/app/appData.js'
import { hashState } from '../../src/core/hashState.js'
import { holeEdit, mutatedBytes, mutatedTree, wireValue } from './mutate.js'
import { checkFrameBytes, envelopeOf } from './frameTargets.js'
import type { AnyTarget } from './target.js'
import { assertSameData, defineTarget, valueOrRejection } from './target.js'
import { DEFAULT_POOLS, PAYLOAD_KINDS, appDefinition, canonicalBytes32, payloadArbitrary } from './wireArbitraries.js'
import * as arb from '../arbitraries.js'

/**
 * What a node does with a payload it accepted: encode it again (to store or forward it) and hash the states it
 * carries; when it came from bytes, reading the encoding back gives the same payload. (A value handed to
 * payloadFromWire directly may hold what no wire carries, e.g. a lone UTF-16 surrogate, which MessagePack's
 * UTF-8 turns into U+FFFD: then only the encoding is required to work.)
 */
function reuse(decoded: Payload, fromBytes: boolean): void {
  const hole = holeIn(decoded)
  if (hole !== undefined) assert.fail(`payloadFromWire returned a ${decoded.kind} with a hole (a missing entry of a sparse array) at ${hole}`)
  const bytes = encodeEnvelope('payload', payloadToWire(decoded))
  if (fromBytes) assertSameData(payloadFromWire(decodeEnvelope(bytes).body), decoded, 'an accepted payload decodes to itself after encoding again')
  if (decoded.kind === 'signedState') hashState(decoded.signedState.state)
  if (decoded.kind === 'sync') hashState(decoded.supported.state)
  if (decoded.kind === 'appUpdate') hashState(decoded.update.signedState.state)
}

/** The path of the first hole in a decoded value's arrays, if any: a decoder must refuse sparse input, not pass it on. */
function holeIn(value: unknown, path = ''): string | undefined {
  if (value instanceof Uint8Array || value === null || typeof value !== 'object') return undefined
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) return `${path}[${i}]`
      const inner = holeIn(value[i], `${path}[${i}]`)
      if (inner !== undefined) return inner
    }
    return undefined
  }
  for (const [k, v] of Object.entries(value)) {
    const inner = holeIn(v, `${path}.${k}`)
    if (inner !== undefined) return inner
  }
  return undefined
}

/**
 * A wire value as a peer sends it: decoded directly, and as it arrives in bytes (the envelope of a frame holding
 * it as its one payload, when the codec can carry it); each a payload or a typed rejection.
 */
export function checkPayloadWire(value: unknown): void {
  const direct = valueOrRejection(() => payloadFromWire(value))
  if (direct.kind === 'value') reuse(direct.value, false)
  const bytes = envelopeOf('payload', value)
  if (bytes === undefined) return
  const received = valueOrRejection(() => payloadFromWire(decodeEnvelope(bytes).body))
  if (received.kind === 'value') reuse(received.value, true)
  checkFrameBytes(encodeEnvelope(FRAME_KIND, [1n, [value], []]))
}

const KIND_NAMES = [...PAYLOAD_KINDS, 'SyncRequest', 'gossip', '', '__proto__']

/** Tuples that start with a kind (every known one, and some that are not) and go on with anything. */
const kindTuples: fc.Arbitrary<unknown> = fc
  .tuple(fc.constantFrom(...KIND_NAMES), fc.array(wireValue, { maxLength: 6 }))
  .map(([kind, rest]) => [kind, ...rest])

/** An appOpen whose definition bytes (canonical ABI, decodeGenesis) were mutated. */
const mutatedGenesis: fc.Arbitrary<unknown> = fc
  .tuple(mutatedBytes(appDefinition(DEFAULT_POOLS).map(encodeGenesis)), canonicalBytes32, arb.signature)
  .map(([genesis, stateHash, signature]) => ['appOpen', genesis, Buffer.from(stateHash.slice(2), 'hex'), Buffer.from(signature.slice(2), 'hex')])

export const payloadTargets: readonly AnyTarget[] = [
  defineTarget({
    name: 'payload.roundtrip',
    property: 'a valid payload of every kind, random fields, decodes to exactly itself, directly and through the envelope',
    weight: 50,
    ciRuns: 1000,
    arbitrary: payloadArbitrary(),
    check: (payload) => {
      assertSameData(payloadFromWire(payloadToWire(payload)), payload, 'payloadFromWire(payloadToWire(p)) = p')
      const viaEnvelope = payloadFromWire(decodeEnvelope(encodeEnvelope('payload', payloadToWire(payload))).body)
      assertSameData(viaEnvelope, payload, 'the same through the envelope')
    },
  }),
  defineTarget({
    name: 'payload.edited',
    property: 'payloadFromWire on valid payloads of every kind whose tuples were edited returns a payload that re-encodes to itself, or throws a typed rejection',
    weight: 140,
    ciRuns: 3000,
    arbitrary: mutatedTree(payloadArbitrary().map(payloadToWire)),
    check: checkPayloadWire,
  }),
  defineTarget({
    name: 'payload.sparse',
    property: 'the same with sparse arrays (holes) placed in the tuples: refused, or decoded to a payload without holes (a signatures list with a hole was accepted once)',
    weight: 10,
    ciRuns: 500,
    arbitrary: mutatedTree(payloadArbitrary({ ...DEFAULT_POOLS, kindWeights: { signedState: 4, sync: 4, appUpdate: 4 } }).map(payloadToWire), holeEdit),
    check: checkPayloadWire,
  }),
  defineTarget({
    name: 'payload.anything',
    property: 'payloadFromWire on arbitrary values and on tuples of any kind with arbitrary fields: the same',
    weight: 80,
    ciRuns: 1500,
    arbitrary: fc.oneof({ weight: 1, arbitrary: fc.anything() }, { weight: 3, arbitrary: kindTuples }),
    check: checkPayloadWire,
  }),
  defineTarget({
    name: 'payload.genesis',
    property: 'an appOpen whose ABI-encoded definition has bit flips, truncation or extension is decoded or refused with a typed rejection',
    weight: 40,
    ciRuns: 1000,
    arbitrary: mutatedGenesis,
    check: checkPayloadWire,
  }),
]
