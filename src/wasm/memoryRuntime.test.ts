// MemoryAppRuntime keeps the WASM runtime's rules where a protocol test could notice them: copies in and
// out, the size limits, the result checks, and throws turned into rejections or AppCallError.
import { describe, expect, test } from 'vitest'
import type { AppResult, Turn } from './appRuntime.js'
import { AppCallError, RUNTIME_REJECTION_CODE } from './errors.js'
import { MAX_EVENT_BYTES, MAX_PARAMS_BYTES, MAX_STATE_BYTES } from './limits.js'
import type { MemoryApp } from './memoryRuntime.js'
import { MemoryAppRuntime } from './memoryRuntime.js'
import { toBytes32 } from '../core/canonical.js'

/** The counter of wasmRuntime.test.ts in TypeScript: state [participants, count]; final at 10. */
const counter: MemoryApp = {
  appId: toBytes32(`0x${'c0'.repeat(32)}`),
  init: (params) => ((params[0] ?? 0) < 2 ? { ok: false, code: 1 } : { ok: true, state: new Uint8Array([params[0]!, 0]) }),
  apply: (state, event, author) => {
    const [participants, count] = [state[0]!, state[1]!]
    if (count >= 10) return { ok: false, code: 4 }
    if (author !== count % participants) return { ok: false, code: 3 }
    return { ok: true, state: new Uint8Array([participants, count + event[0]!]) }
  },
  outcome: (state) => Array.from({ length: state[0]! }, (_, i) => (i === 0 ? BigInt(state[1]!) : 1n)),
  isFinal: (state) => state[1]! >= 10,
  whoseTurn: (state) => (state[1]! >= 10 ? 'nobody' : state[1]! % state[0]!),
}

function stateOf(result: AppResult): Uint8Array {
  if (!result.ok) throw new Error(`rejected ${result.code}`)
  return result.state
}

describe('a counter app from plain functions', () => {
  const runtime = new MemoryAppRuntime(counter)

  test('answers as the functions do, under the given appId', () => {
    expect(runtime.appId).toBe(counter.appId)
    let state = stateOf(runtime.init(new Uint8Array([2])))
    state = stateOf(runtime.apply(state, new Uint8Array([3]), 0))
    expect(state).toEqual(new Uint8Array([2, 3]))
    expect(runtime.apply(state, new Uint8Array([1]), 0)).toEqual({ ok: false, code: 3 })
    expect(runtime.whoseTurn(state)).toBe(1)
    expect(runtime.outcome(state)).toEqual([3n, 1n])
    expect(runtime.isFinal(new Uint8Array([2, 10]))).toBe(true)
    expect(runtime.whoseTurn(new Uint8Array([2, 10]))).toBe('nobody')
  })

  test('inputs and results are copies: an app that keeps and changes them changes nothing of the caller’s', () => {
    let kept: Uint8Array[] = []
    const hoarder = new MemoryAppRuntime({
      ...counter,
      apply: (state, event) => {
        state[0] = 99
        event[0] = 99
        const next = new Uint8Array([2, 1])
        kept = [next]
        return { ok: true, state: next }
      },
    })
    const state = new Uint8Array([2, 0])
    const event = new Uint8Array([1])
    const next = stateOf(hoarder.apply(state, event, 0))
    kept[0]![1] = 77
    expect([state, event, next]).toEqual([new Uint8Array([2, 0]), new Uint8Array([1]), new Uint8Array([2, 1])])
  })

  test('the size limits of the WASM runtime apply', () => {
    const tooLarge = { ok: false, code: RUNTIME_REJECTION_CODE }
    expect(runtime.init(new Uint8Array(MAX_PARAMS_BYTES + 1))).toEqual({ ...tooLarge, reason: 'params too large' })
    expect(runtime.apply(new Uint8Array(MAX_STATE_BYTES + 1), new Uint8Array([1]), 0)).toEqual({ ...tooLarge, reason: 'state too large' })
    expect(runtime.apply(new Uint8Array([2, 0]), new Uint8Array(MAX_EVENT_BYTES + 1), 0)).toEqual({ ...tooLarge, reason: 'event too large' })
    const bloated = new MemoryAppRuntime({ ...counter, apply: () => ({ ok: true, state: new Uint8Array(MAX_STATE_BYTES + 1) }) })
    expect(bloated.apply(new Uint8Array([2, 0]), new Uint8Array([1]), 0)).toEqual({ ...tooLarge, reason: 'state too large' })
    expect(() => runtime.isFinal(new Uint8Array(MAX_STATE_BYTES + 1))).toThrow(AppCallError)
  })

  test.each([-1, 255, 0.5])('an author of %s is out_of_range', (author) => {
    expect(() => runtime.apply(new Uint8Array([2, 0]), new Uint8Array([1]), author)).toThrow(expect.objectContaining({ code: 'out_of_range' }))
  })
})

describe('failures look like the WASM runtime’s', () => {
  const boom = () => {
    throw new Error('boom')
  }

  test('a throw in init or apply is a rejection with code 0 and the message as reason', () => {
    const runtime = new MemoryAppRuntime({ ...counter, init: boom, apply: boom })
    expect(runtime.init(new Uint8Array([2]))).toEqual({ ok: false, code: RUNTIME_REJECTION_CODE, reason: 'trap: boom' })
    expect(runtime.apply(new Uint8Array([2, 0]), new Uint8Array([1]), 0)).toEqual({ ok: false, code: RUNTIME_REJECTION_CODE, reason: 'trap: boom' })
  })

  test('a throw in outcome, isFinal or whoseTurn is an AppCallError with the throw as cause', () => {
    const runtime = new MemoryAppRuntime({ ...counter, outcome: boom, isFinal: boom, whoseTurn: boom })
    for (const call of [() => runtime.outcome(new Uint8Array([2, 0])), () => runtime.isFinal(new Uint8Array([2, 0])), () => runtime.whoseTurn(new Uint8Array([2, 0]))]) {
      expect(call).toThrow(expect.objectContaining({ code: 'app_call', cause: expect.objectContaining({ message: 'boom' }) }))
    }
  })

  test.each([0, -1, 1.5, 2 ** 32])('an app rejection code of %s is not an app code: "status out of range"', (code) => {
    const runtime = new MemoryAppRuntime({ ...counter, apply: () => ({ ok: false, code }) })
    expect(runtime.apply(new Uint8Array([2, 0]), new Uint8Array([1]), 0)).toEqual({ ok: false, code: RUNTIME_REJECTION_CODE, reason: 'status out of range' })
  })

  test.each([
    { name: 'one weight', app: { outcome: () => [1n] }, call: 'outcome', reason: 'weight count out of range' },
    { name: 'a weight of 2^64', app: { outcome: () => [1n, 2n ** 64n] }, call: 'outcome', reason: 'weight out of range' },
    { name: 'a turn of -1', app: { whoseTurn: () => -1 as Turn }, call: 'whoseTurn', reason: 'result out of range' },
    { name: 'a turn of 255', app: { whoseTurn: () => 255 as Turn }, call: 'whoseTurn', reason: 'result out of range' },
    { name: 'isFinal answering 1', app: { isFinal: () => 1 as unknown as boolean }, call: 'isFinal', reason: 'result not 0 or 1' },
  ] as const)('$name: app_call "$reason"', ({ app, call, reason }) => {
    const runtime = new MemoryAppRuntime({ ...counter, ...app })
    expect(() => runtime[call](new Uint8Array([2, 0]))).toThrow(expect.objectContaining({ code: 'app_call', details: expect.objectContaining({ reason }) }))
  })
})
