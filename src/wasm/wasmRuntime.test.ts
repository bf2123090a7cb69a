// The WebAssembly AppRuntime against docs/architecture/app-abi.md: a counter app written by hand in WAT,
// the same app with hostile behaviours behind magic inputs, and determinism across processes.
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { keccak_256 } from '@noble/hashes/sha3.js'
import binaryen from 'binaryen'
import { describe, expect, test } from 'vitest'
import { bytesToHex } from '../core/hex.js'
import { keccak256 } from '../core/keccak.js'
import type { AppResult } from './appRuntime.js'
import { AppCallError, RUNTIME_REJECTION_CODE } from './errors.js'
import { DEFAULT_FUEL_PER_CALL, DEFAULT_MEMORY_PAGES, MAX_EVENT_BYTES, MAX_STATE_BYTES } from './limits.js'
import { WasmAppRuntime } from './wasmRuntime.js'

/**
 * A counter: params [u8 participants]; state [u8 participants, u32 count]; event [u8 amount 1..3] from the
 * participant whose turn it is (count mod participants); final at count ≥ 10. Outcome: participant 0
 * weighs `count`, the others 1. Rejection codes: 1 bad params, 2 bad event, 3 not your turn, 4 final,
 * 5 bad state. With `hostile`, an event or state starting with a magic byte misbehaves (see HOSTILE).
 */
function counterWat({ hostile = false, memory = '(memory 1)', extra = '' } = {}): string {
  return `(module
  (import "env" "memory" ${memory})
  (global $heap (mut i32) (i32.const 1024))
  ${extra}
  (func $alloc (export "alloc") (param $len i32) (result i32)
    (local $p i32) (local $end i32)
    (local.set $p (global.get $heap))
    (local.set $end (i32.and (i32.add (i32.add (local.get $p) (local.get $len)) (i32.const 7)) (i32.const -8)))
    (if (i32.gt_u (local.get $end) (i32.shl (memory.size) (i32.const 16)))
      (then (if (i32.eq (memory.grow (i32.shr_u (i32.add (i32.sub (local.get $end) (i32.shl (memory.size) (i32.const 16))) (i32.const 65535)) (i32.const 16))) (i32.const -1))
        (then unreachable))))
    (global.set $heap (local.get $end))
    (local.get $p))
  (func (export "reset") (global.set $heap (i32.const 1024)))
  (func $result (param $status i32) (param $len i32) (result i32)
    (local $out i32)
    (local.set $out (call $alloc (i32.add (i32.const 8) (local.get $len))))
    (i32.store (local.get $out) (local.get $status))
    (i32.store offset=4 (local.get $out) (local.get $len))
    (local.get $out))
  (func $reject (param $code i32) (result i32) (call $result (local.get $code) (i32.const 0)))
  (func $state (param $n i32) (param $count i32) (result i32)
    (local $out i32)
    (local.set $out (call $result (i32.const 0) (i32.const 5)))
    (i32.store8 offset=8 (local.get $out) (local.get $n))
    (i32.store offset=9 (local.get $out) (local.get $count))
    (local.get $out))
  (func (export "init") (param $p i32) (param $len i32) (result i32)
    (if (i32.lt_u (local.get $len) (i32.const 1)) (then (return (call $reject (i32.const 1)))))
    (if (i32.lt_u (i32.load8_u (local.get $p)) (i32.const 2)) (then (return (call $reject (i32.const 1)))))
    (call $state (i32.load8_u (local.get $p)) (i32.const 0)))
  (func $turn (param $s i32) (result i32)
    (if (result i32) (i32.ge_u (i32.load offset=1 (local.get $s)) (i32.const 10))
      (then (i32.const -2))
      (else (i32.rem_u (i32.load offset=1 (local.get $s)) (i32.load8_u (local.get $s))))))
  (func (export "apply") (param $s i32) (param $sl i32) (param $e i32) (param $el i32) (param $author i32) (result i32)
    (local $amount i32)
    ${hostile ? '(local.set $amount (call $misbehave (local.get $e) (local.get $el))) (if (local.get $amount) (then (return (local.get $amount))))' : ''}
    (if (i32.ne (local.get $sl) (i32.const 5)) (then (return (call $reject (i32.const 5)))))
    (if (i32.eq (call $turn (local.get $s)) (i32.const -2)) (then (return (call $reject (i32.const 4)))))
    (if (i32.ne (local.get $el) (i32.const 1)) (then (return (call $reject (i32.const 2)))))
    (local.set $amount (i32.load8_u (local.get $e)))
    (if (i32.or (i32.eqz (local.get $amount)) (i32.gt_u (local.get $amount) (i32.const 3))) (then (return (call $reject (i32.const 2)))))
    (if (i32.ne (local.get $author) (call $turn (local.get $s))) (then (return (call $reject (i32.const 3)))))
    (call $state (i32.load8_u (local.get $s)) (i32.add (i32.load offset=1 (local.get $s)) (local.get $amount))))
  (func (export "outcome") (param $s i32) (param $sl i32) (result i32)
    (local $n i32) (local $out i32) (local $i i32)
    (local.set $n (i32.load8_u (local.get $s)))
    ${hostile ? HOSTILE_OUTCOME : ''}
    (local.set $out (call $alloc (i32.add (i32.const 4) (i32.shl (local.get $n) (i32.const 3)))))
    (i32.store (local.get $out) (local.get $n))
    (loop $each
      (i64.store offset=4 (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 3)))
        (select (i64.extend_i32_u (i32.load offset=1 (local.get $s))) (i64.const 1) (i32.eqz (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $each (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $out))
  (func (export "isFinal") (param $s i32) (param $sl i32) (result i32)
    ${hostile ? '(if (i32.eq (i32.load8_u (local.get $s)) (i32.const 0xee)) (then (return (i32.const 2))))' : ''}
    (i32.ge_u (i32.load offset=1 (local.get $s)) (i32.const 10)))
  (func (export "whoseTurn") (param $s i32) (param $sl i32) (result i32)
    ${hostile ? '(if (i32.eq (i32.load8_u (local.get $s)) (i32.const 0xee)) (then (return (i32.const -3))))' : ''}
    (call $turn (local.get $s)))
  ${hostile ? HOSTILE_APPLY : ''}
)`
}

/** Magic first bytes of an event (apply) or a state (outcome, isFinal, whoseTurn). */
const HOSTILE = {
  loopForever: 0xff,
  recurseForever: 0xfe,
  growPastCap: 0xfd,
  resultPointerOutOfBounds: 0xfc,
  resultTooLong: 0xfb,
  resultPastMemoryEnd: 0xfa,
  unreachable: 0xf9,
  divideByZero: 0xf8,
  status: 0xf7, // the status is the next four bytes
  weightCountOne: 0xee, // also: isFinal answers 2, whoseTurn answers -3
  weightCountHuge: 0xed,
  outcomeLoopsForever: 0xec,
} as const

const HOSTILE_APPLY = `
  (func $recurse (param i32) (result i32) (call $recurse (i32.add (local.get 0) (i32.const 1))))
  (func $header (param $at i32) (param $status i32) (param $len i32) (result i32)
    (i32.store (local.get $at) (local.get $status))
    (i32.store offset=4 (local.get $at) (local.get $len))
    (local.get $at))
  (func $misbehave (param $e i32) (param $el i32) (result i32)
    (local $kind i32)
    (if (i32.eqz (local.get $el)) (then (return (i32.const 0))))
    (local.set $kind (i32.load8_u (local.get $e)))
    (if (i32.eq (local.get $kind) (i32.const ${HOSTILE.loopForever})) (then (loop $forever (br $forever))))
    (if (i32.eq (local.get $kind) (i32.const ${HOSTILE.recurseForever})) (then (return (call $recurse (i32.const 0)))))
    (if (i32.eq (local.get $kind) (i32.const ${HOSTILE.growPastCap})) (then (drop (memory.grow (i32.const 1000)))))
    (if (i32.eq (local.get $kind) (i32.const ${HOSTILE.resultPointerOutOfBounds})) (then (return (i32.const -8))))
    (if (i32.eq (local.get $kind) (i32.const ${HOSTILE.resultTooLong}))
      (then (return (call $header (call $alloc (i32.const 8)) (i32.const 0) (i32.const ${MAX_STATE_BYTES + 1})))))
    (if (i32.eq (local.get $kind) (i32.const ${HOSTILE.resultPastMemoryEnd}))
      (then (return (call $header (i32.sub (i32.shl (memory.size) (i32.const 16)) (i32.const 8)) (i32.const 0) (i32.const 100)))))
    (if (i32.eq (local.get $kind) (i32.const ${HOSTILE.unreachable})) (then unreachable))
    (if (i32.eq (local.get $kind) (i32.const ${HOSTILE.divideByZero})) (then (return (i32.div_u (i32.const 1) (i32.sub (local.get $kind) (local.get $kind))))))
    (if (i32.eq (local.get $kind) (i32.const ${HOSTILE.status}))
      (then (return (call $reject (i32.load offset=1 (local.get $e))))))
    (i32.const 0))`

const HOSTILE_OUTCOME = `
    (if (i32.eq (local.get $n) (i32.const ${HOSTILE.weightCountOne})) (then (local.set $n (i32.const 1))))
    (if (i32.eq (local.get $n) (i32.const ${HOSTILE.weightCountHuge}))
      (then (local.set $out (call $alloc (i32.const 4))) (i32.store (local.get $out) (i32.const 0x10000000)) (return (local.get $out))))
    (if (i32.eq (local.get $n) (i32.const ${HOSTILE.outcomeLoopsForever})) (then (loop $forever (br $forever))))`

/** Compiles WAT with binaryen, the only tool the tests need. */
function wasm(wat: string): Uint8Array {
  const module = binaryen.parseText(wat)
  try {
    return module.emitBinary()
  } finally {
    module.dispose()
  }
}

const counter = wasm(counterWat())
const hostileCounter = wasm(counterWat({ hostile: true }))

function stateOf(result: AppResult): Uint8Array {
  if (!result.ok) throw new Error(`expected a state, got rejection ${result.code} ${result.reason ?? ''}`)
  return result.state
}
const counterState = (participants: number, count: number) => new Uint8Array([participants, count & 0xff, (count >> 8) & 0xff, 0, 0])

describe('a counter app through the ABI', () => {
  const runtime = WasmAppRuntime.load(counter)

  test('appId is keccak256 of the module as built (noble computes the expected value)', () => {
    expect(runtime.appId).toBe(bytesToHex(keccak_256(counter)))
  })

  test('init, apply in turn, outcome, isFinal and whoseTurn follow the rules', () => {
    let state = stateOf(runtime.init(new Uint8Array([3])))
    expect(state).toEqual(counterState(3, 0))
    expect(runtime.whoseTurn(state)).toBe(0)
    for (const [author, amount] of [[0, 1], [1, 3], [1, 1], [2, 3], [2, 2]] as const) state = stateOf(runtime.apply(state, new Uint8Array([amount]), author))
    expect(state).toEqual(counterState(3, 10))
    expect(runtime.isFinal(state)).toBe(true)
    expect(runtime.whoseTurn(state)).toBe('nobody')
    expect(runtime.outcome(state)).toEqual([10n, 1n, 1n])
  })

  test.each([
    { name: 'params without participants', call: () => runtime.init(new Uint8Array()), code: 1 },
    { name: 'one participant', call: () => runtime.init(new Uint8Array([1])), code: 1 },
    { name: 'an amount of 4', call: () => runtime.apply(counterState(2, 0), new Uint8Array([4]), 0), code: 2 },
    { name: 'an event of two bytes', call: () => runtime.apply(counterState(2, 0), new Uint8Array([1, 1]), 0), code: 2 },
    { name: 'the wrong author', call: () => runtime.apply(counterState(2, 0), new Uint8Array([1]), 1), code: 3 },
    { name: 'a final state', call: () => runtime.apply(counterState(2, 10), new Uint8Array([1]), 0), code: 4 },
    { name: 'a state of the wrong size', call: () => runtime.apply(new Uint8Array(6), new Uint8Array([1]), 0), code: 5 },
  ])('the app rejects $name with its own code $code and no reason', ({ call, code }) => {
    expect(call()).toEqual({ ok: false, code })
  })

  test('the input arrays are only read', () => {
    const state = counterState(2, 4)
    const event = new Uint8Array([2])
    stateOf(runtime.apply(state, event, 0))
    expect(state).toEqual(counterState(2, 4))
    expect(event).toEqual(new Uint8Array([2]))
  })

  test('inputs that make memory grow during alloc are written to and read from the grown memory', () => {
    const small = WasmAppRuntime.load(counter) // memory starts at one page (64 KiB)
    const big = new Uint8Array(MAX_STATE_BYTES).fill(7)
    big[0] = 2
    expect(small.apply(big, new Uint8Array(MAX_EVENT_BYTES), 0)).toEqual({ ok: false, code: 5 })
    expect(stateOf(small.apply(counterState(2, 1), new Uint8Array([3]), 1))).toEqual(counterState(2, 4))
  })

  test('inputs over the size limits are refused without calling the app', () => {
    expect(runtime.apply(new Uint8Array(MAX_STATE_BYTES + 1), new Uint8Array([1]), 0)).toEqual({ ok: false, code: RUNTIME_REJECTION_CODE, reason: 'state too large' })
    expect(runtime.apply(counterState(2, 0), new Uint8Array(MAX_EVENT_BYTES + 1), 0)).toEqual({ ok: false, code: RUNTIME_REJECTION_CODE, reason: 'event too large' })
    expect(() => runtime.outcome(new Uint8Array(MAX_STATE_BYTES + 1))).toThrow(AppCallError)
  })

  test.each([-1, 255, 1.5, Number.NaN])('an author of %s is the caller’s mistake: out_of_range', (author) => {
    expect(() => runtime.apply(counterState(2, 0), new Uint8Array([1]), author)).toThrow(expect.objectContaining({ code: 'out_of_range' }))
  })

  test('fuel: the same call uses the same fuel every time, and more work uses more', () => {
    runtime.apply(counterState(2, 0), new Uint8Array([1]), 0)
    const used = runtime.lastFuelUsed
    runtime.apply(counterState(2, 0), new Uint8Array([1]), 0)
    expect(runtime.lastFuelUsed).toBe(used)
    expect(used).toBeGreaterThan(0)
    runtime.outcome(counterState(2, 0))
    const twoWeights = runtime.lastFuelUsed
    runtime.outcome(counterState(9, 0))
    expect(runtime.lastFuelUsed).toBeGreaterThan(twoWeights)
  })
})

describe('hostile behaviour is a rejection (init, apply) or an AppCallError (outcome, isFinal, whoseTurn)', () => {
  const runtime = WasmAppRuntime.load(hostileCounter, { fuel: 100_000 })
  const start = counterState(2, 4)
  const event = (...bytes: number[]) => new Uint8Array(bytes)

  test.each([
    { name: 'an infinite loop', event: event(HOSTILE.loopForever), reason: 'out of fuel' },
    { name: 'infinite recursion', event: event(HOSTILE.recurseForever), reason: 'call stack exhausted' },
    { name: 'growing memory past the cap', event: event(HOSTILE.growPastCap), reason: 'memory limit' },
    { name: 'a result pointer out of bounds', event: event(HOSTILE.resultPointerOutOfBounds), reason: 'result out of bounds' },
    { name: 'a result longer than a state may be', event: event(HOSTILE.resultTooLong), reason: 'state too large' },
    { name: 'a result running past the end of memory', event: event(HOSTILE.resultPastMemoryEnd), reason: 'result out of bounds' },
    { name: 'unreachable', event: event(HOSTILE.unreachable), reason: 'trap: unreachable' },
    { name: 'a division by zero', event: event(HOSTILE.divideByZero), reason: 'trap: divide by zero' },
  ])('$name: rejected with reason "$reason", and the runtime carries on', ({ event, reason }) => {
    const state = start.slice()
    expect(runtime.apply(state, event, 0)).toEqual({ ok: false, code: RUNTIME_REJECTION_CODE, reason })
    expect(state).toEqual(start)
    // The next call answers as a fresh runtime would: nothing of the failed call is left behind.
    expect(stateOf(runtime.apply(state, new Uint8Array([1]), 0))).toEqual(counterState(2, 5))
    expect(runtime.outcome(state)).toEqual([4n, 1n])
  })

  test('running out of fuel uses exactly the budget', () => {
    runtime.apply(start, event(HOSTILE.loopForever), 0)
    expect(runtime.lastFuelUsed).toBe(100_000)
  })

  test.each([1, 32, 0xffff_ffff])('an app status %i ≥ 1 is passed through as the rejection code', (status) => {
    const bytes = new Uint8Array(5)
    new DataView(bytes.buffer).setUint32(1, status, true)
    bytes[0] = HOSTILE.status
    expect(runtime.apply(start, bytes, 0)).toEqual({ ok: false, code: status })
  })

  test.each([
    { name: 'one weight', state: counterState(HOSTILE.weightCountOne, 0), reason: 'weight count out of range' },
    { name: '2^28 weights', state: counterState(HOSTILE.weightCountHuge, 0), reason: 'result out of bounds' },
    { name: 'an infinite loop', state: counterState(HOSTILE.outcomeLoopsForever, 0), reason: 'out of fuel' },
  ])('outcome with $name throws app_call ($reason)', ({ state, reason }) => {
    expect(() => runtime.outcome(state)).toThrow(expect.objectContaining({ code: 'app_call', details: expect.objectContaining({ call: 'outcome', reason }) }))
  })

  test('isFinal must answer 0 or 1 and whoseTurn an index, -1 or -2', () => {
    const state = counterState(HOSTILE.weightCountOne, 0)
    expect(() => runtime.isFinal(state)).toThrow(expect.objectContaining({ code: 'app_call', details: expect.objectContaining({ reason: 'result not 0 or 1' }) }))
    expect(() => runtime.whoseTurn(state)).toThrow(expect.objectContaining({ code: 'app_call', details: expect.objectContaining({ reason: 'result out of range' }) }))
  })

  test('a memory cap the inputs do not fit in fails the call with "memory limit"', () => {
    const tiny = WasmAppRuntime.load(counter, { memoryPages: 1 })
    expect(tiny.apply(new Uint8Array(MAX_STATE_BYTES), new Uint8Array([1]), 0)).toEqual({ ok: false, code: RUNTIME_REJECTION_CODE, reason: 'memory limit' })
  })

  test('an alloc that answers outside memory is a rejection', () => {
    const bytes = wasm(counterWat().replace('(local.get $p))', '(drop (local.get $p)) (i32.const -16))'))
    expect(WasmAppRuntime.load(bytes).init(new Uint8Array([2]))).toEqual({ ok: false, code: RUNTIME_REJECTION_CODE, reason: 'allocation out of bounds' })
  })
})

describe('load', () => {
  test('defaults: fuel and memory pages from limits.ts', () => {
    const runtime = WasmAppRuntime.load(counter)
    expect(runtime.fuelPerCall).toBe(DEFAULT_FUEL_PER_CALL)
    expect(runtime.memoryPages).toBe(DEFAULT_MEMORY_PAGES)
    expect(WasmAppRuntime.load(counter, { fuel: 5n, memoryPages: 3 })).toMatchObject({ fuelPerCall: 5, memoryPages: 3 })
  })

  test('the module’s own memory maximum lowers the cap', () => {
    expect(WasmAppRuntime.load(wasm(counterWat({ memory: '(memory 1 2)' }))).memoryPages).toBe(2)
  })

  test.each([
    { name: 'fuel 0', options: { fuel: 0 } },
    { name: 'fuel 2^31', options: { fuel: 2n ** 31n } },
    { name: 'fractional fuel', options: { fuel: 1.5 } },
    { name: '0 memory pages', options: { memoryPages: 0 } },
    { name: '257 memory pages', options: { memoryPages: 257 } },
  ])('$name is out_of_range', ({ options }) => {
    expect(() => WasmAppRuntime.load(counter, options)).toThrow(expect.objectContaining({ code: 'out_of_range' }))
  })

  test('a data segment outside the initial memory fails instantiation', () => {
    const bytes = wasm(counterWat({ extra: '(data (i32.const 70000) "x")' }))
    expect(() => WasmAppRuntime.load(bytes)).toThrow(expect.objectContaining({ code: 'app_module', details: { reason: 'instantiation failed' } }))
  })

  test('a memory minimum above the cap is refused', () => {
    expect(() => WasmAppRuntime.load(wasm(counterWat({ memory: '(memory 20)' })))).toThrow(
      expect.objectContaining({ code: 'app_module', details: expect.objectContaining({ reason: 'memory minimum above the cap' }) }),
    )
  })

  test('a start function runs metered: one that loops forever refuses the module, one that ends is fine', () => {
    const looping = wasm(counterWat({ extra: '(func $start (loop $l (br $l))) (start $start)' }))
    expect(() => WasmAppRuntime.load(looping)).toThrow(expect.objectContaining({ code: 'app_module', details: { reason: 'instantiation failed' } }))
    const ending = wasm(counterWat({ extra: '(func $start (global.set $heap (i32.const 1024))) (start $start)' }))
    expect(stateOf(WasmAppRuntime.load(ending).init(new Uint8Array([2])))).toEqual(counterState(2, 0))
  })
})

describe('determinism', () => {
  const script = String.raw`
    const [runtimePath, keccakPath, moduleBase64, scenarioJson] = process.argv.slice(1)
    const { WasmAppRuntime } = await import(runtimePath)
    const { keccak256 } = await import(keccakPath)
    const runtime = WasmAppRuntime.load(new Uint8Array(Buffer.from(moduleBase64, 'base64')), { fuel: 50000 })
    const lines = []
    const init = runtime.init(new Uint8Array([2]))
    let state = init.state
    for (const [event, author] of JSON.parse(scenarioJson)) {
      const result = runtime.apply(state, new Uint8Array(event), author)
      if (result.ok) state = result.state
      lines.push({ ok: result.ok, code: result.ok ? null : result.code, state: Buffer.from(state).toString('hex'), hash: keccak256(state), fuel: runtime.lastFuelUsed })
    }
    console.log(JSON.stringify(lines))`

  /** Moves, hostile events and the app's own rejections, so fuel and hashes are compared on every path. */
  const scenario: [number[], number][] = [
    [[1], 0], [[2], 1], [[HOSTILE.loopForever], 0], [[3], 1], [[1], 0], [[HOSTILE.recurseForever], 1],
    [[3], 1], [[HOSTILE.divideByZero], 0], [[1], 0], [[2], 1], [[1], 0],
  ]

  function runHere(): unknown[] {
    const runtime = WasmAppRuntime.load(hostileCounter, { fuel: 50000 })
    let state = stateOf(runtime.init(new Uint8Array([2])))
    return scenario.map(([event, author]) => {
      const result = runtime.apply(state, new Uint8Array(event), author)
      if (result.ok) state = result.state
      return { ok: result.ok, code: result.ok ? null : result.code, state: Buffer.from(state).toString('hex'), hash: keccak256(state), fuel: runtime.lastFuelUsed }
    })
  }

  function runInChild(): unknown[] {
    const url = (file: string) => new URL(`file://${path.join(import.meta.dirname, file)}`).href
    const args = [url('wasmRuntime.ts'), url('../core/keccak.ts'), Buffer.from(hostileCounter).toString('base64'), JSON.stringify(scenario)]
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, ...args], { encoding: 'utf8' })
    expect(child.stderr).toBe('')
    expect(child.status).toBe(0)
    return JSON.parse(child.stdout) as unknown[]
  }

  test('a fresh process gives byte-identical states, state hashes and fuel for the same module and inputs', () => {
    const here = runHere()
    expect(here).toHaveLength(scenario.length)
    expect(here.map((line) => (line as { code: number | null }).code)).toEqual([null, null, 0, null, null, 0, null, 0, 4, 4, 4])
    expect(runInChild()).toEqual(here)
  })

  test('a second load of the same module charges the same fuel', () => {
    const fuel = () => {
      const runtime = WasmAppRuntime.load(hostileCounter)
      runtime.apply(counterState(2, 0), new Uint8Array([1]), 0)
      return runtime.lastFuelUsed
    }
    expect(fuel()).toBe(fuel())
  })
})
