// Decoder fuzzing at scale (issue 2: ≥ 100k cases outside the unit suite): arbitrary bytes and mutated
// valid messages through decodeEnvelope and the signed-state decoder. Every case must return a value or
// throw one of our typed errors; anything else is counted as an escape and fails the run.
import fc from 'fast-check'
import { performance } from 'node:perf_hooks'
import type { Benchmark } from './harness.js'
import { round } from './harness.js'
import { ChannelsError } from '../src/core/errors.js'
import { decodeEnvelope, encodeEnvelope } from '../src/core/codec.js'
import { signedStateFromWire, signedStateToWire } from '../src/core/wire.js'
import { createSigner } from '../src/core/signer.js'
import { signBy, unsigned } from '../src/core/signedState.js'
import { sampleState } from './core.bench.js'

const CASES = 100_000
const alice = createSigner('0xcaab404f975b4620747174a75f08d98b4e5a7053b691b41bcfc0d839d48b7634')
const valid = encodeEnvelope('signedState', signedStateToWire(signBy(unsigned(sampleState), alice)))

const mutated = fc
  .tuple(fc.array(fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.nat({ max: valid.length }))
  .map(([edits, cut]) => {
    const bytes = Uint8Array.from(valid)
    for (const [at, byte] of edits) bytes[at] = byte
    return bytes.subarray(0, Math.max(1, cut))
  })
const inputs = fc.oneof(fc.uint8Array({ minLength: 0, maxLength: 512 }), mutated)

const benchmark: Benchmark = {
  estimate: '~20k-50k cases/s (decode plus validation); 0 escapes',
  async run() {
    let values = 0
    let rejected = 0
    const escapes: string[] = []
    const start = performance.now()
    fc.assert(
      fc.property(inputs, (bytes) => {
        try {
          signedStateFromWire(decodeEnvelope(bytes).body)
          values++
        } catch (error) {
          if (error instanceof ChannelsError) rejected++
          else escapes.push(`${Buffer.from(bytes).toString('hex')}: ${String(error)}`)
        }
      }),
      { numRuns: CASES, seed: 42 },
    )
    const seconds = (performance.now() - start) / 1000
    if (escapes.length > 0) throw new Error(`untyped errors escaped the decoder:\n${escapes.slice(0, 5).join('\n')}`)
    return [
      { name: 'cases', value: CASES, unit: 'cases' },
      { name: 'decoded to a value', value: values, unit: 'cases' },
      { name: 'rejected with a typed error', value: rejected, unit: 'cases' },
      { name: 'untyped errors', value: escapes.length, unit: 'cases' },
      { name: 'throughput', value: round(CASES / seconds), unit: 'cases/s' },
    ]
  },
}
export default benchmark
