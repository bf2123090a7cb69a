// Fuel metering and the stack budget (metering.ts), checked on small functions whose charges can be
// counted by hand from binaryen's expression tree.
import binaryen from 'binaryen'
import { describe, expect, test } from 'vitest'
import { BULK_MEMORY_BYTES_PER_FUEL, MAX_STACK_UNITS, STACK_UNITS_PER_FRAME } from './limits.js'
import { BEGIN_EXPORT, FUEL_EXPORT, MEMORY_EXCEEDED_EXPORT, STACK_EXPORT, meterModule } from './metering.js'
import { APP_FEATURES, webAssembly } from './validate.js'

const BUDGET = 1_000_000_000

const wat = `(module
  (import "env" "memory" (memory 1))
  ;; add, const, const: 3
  (func $straight (export "straight") (result i32) (i32.add (i32.const 1) (i32.const 2)))
  ;; call (1) charges here, then straight's 3
  (func (export "callsStraight") (result i32) (call $straight))
  ;; outside the loop: the loop itself (1). Each iteration: block, local.set, add, local.get, const, br_if,
  ;; lt_u, local.get, local.get (9)
  (func (export "count") (param $n i32) (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))
  (func (export "spin") (loop $l (br $l)))
  ;; frame: ${STACK_UNITS_PER_FRAME} + 1 local + nesting 4 (if > call > sub > local.get)
  (func $down (export "down") (param $d i32)
    (if (local.get $d) (then (call $down (i32.sub (local.get $d) (i32.const 1))))))
  (func (export "early") (param i32) (result i32)
    (if (local.get 0) (then (return (i32.const 7))))
    (i32.const 8))
  (func (export "earlyNone") (param i32)
    (if (local.get 0) (then (return)))
    (nop))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "copy") (param i32) (memory.copy (i32.const 0) (i32.const 100) (local.get 0)))
  (func (export "fill") (param i32) (memory.fill (i32.const 0) (i32.const 1) (local.get 0)))
)`

const MEMORY_PAGES_MAX = 4

function metered(): Uint8Array {
  // The runtime meters a module read from bytes, so these tests do too.
  const parsed = binaryen.parseText(wat)
  const module = binaryen.readBinaryWithFeatures(parsed.emitBinary(), APP_FEATURES)
  parsed.dispose()
  try {
    meterModule(module, { initialFuel: 0, memoryPagesMax: MEMORY_PAGES_MAX })
    expect(module.validate()).toBe(1)
    return module.emitBinary()
  } finally {
    module.dispose()
  }
}

type Exports = Record<string, (...args: number[]) => number> & Record<string, { value: number }>
function instantiate(): Exports {
  const memory = new webAssembly.Memory({ initial: 1, maximum: MEMORY_PAGES_MAX })
  return new webAssembly.Instance(new webAssembly.Module(metered()), { env: { memory } }).exports as Exports
}

describe('fuel', () => {
  const exports = instantiate()
  const fuel = exports[FUEL_EXPORT] as { value: number }
  const used = (name: string, ...args: number[]) => {
    fuel.value = BUDGET
    ;(exports[name] as (...a: number[]) => number)(...args)
    return BUDGET - fuel.value
  }

  test('a function charges its instruction count on entry', () => {
    expect(used('straight')).toBe(3)
    expect(used('callsStraight')).toBe(1 + 3)
  })

  test('a loop charges its body count on every iteration', () => {
    expect(used('count', 1)).toBe(1 + 9)
    expect(used('count', 10)).toBe(1 + 9 * 10)
    expect(used('count', 1000)).toBe(1 + 9 * 1000)
  })

  test('an infinite loop traps with the counter below zero, after the budget and no more than one charge', () => {
    fuel.value = 1000
    expect(() => (exports.spin as () => void)()).toThrow(webAssembly.RuntimeError)
    expect(fuel.value).toBeLessThan(0)
    expect(fuel.value).toBeGreaterThanOrEqual(-2)
  })

  test(`bulk memory charges one unit per ${BULK_MEMORY_BYTES_PER_FUEL} bytes on top of its instructions`, () => {
    expect(used('copy', 1600) - used('copy', 0)).toBe(1600 / BULK_MEMORY_BYTES_PER_FUEL)
    expect(used('fill', 3200) - used('fill', 0)).toBe(3200 / BULK_MEMORY_BYTES_PER_FUEL)
  })

  test('a copy too large to pay for traps before it runs', () => {
    fuel.value = 10
    expect(() => (exports.copy as (n: number) => void)(1600)).toThrow(webAssembly.RuntimeError)
    expect(fuel.value).toBeLessThan(0)
  })
})

describe('stack budget', () => {
  const exports = instantiate()
  const fuel = exports[FUEL_EXPORT] as { value: number }
  const stack = exports[STACK_EXPORT] as { value: number }
  const frameUnits = STACK_UNITS_PER_FRAME + 1 + 4
  const deepest = Math.floor(MAX_STACK_UNITS / frameUnits) // frames that fit

  test(`recursion stops at exactly ${MAX_STACK_UNITS} units, whatever V8's own stack would allow`, () => {
    fuel.value = BUDGET
    ;(exports.down as (d: number) => void)(deepest - 1)
    expect(stack.value).toBe(0)
    fuel.value = BUDGET
    expect(() => (exports.down as (d: number) => void)(deepest)).toThrow(webAssembly.RuntimeError)
    expect(stack.value).toBe((deepest + 1) * frameUnits)
  })

  test('every way out of a function gives its frame back', () => {
    stack.value = 0
    fuel.value = BUDGET
    expect((exports.early as (x: number) => number)(1)).toBe(7)
    expect((exports.early as (x: number) => number)(0)).toBe(8)
    ;(exports.earlyNone as (x: number) => void)(1)
    ;(exports.earlyNone as (x: number) => void)(0)
    expect(stack.value).toBe(0)
  })
})

describe('memory cap', () => {
  test('memory.grow within the cap answers as usual; past it, it traps and sets the flag', () => {
    const exports = instantiate()
    ;(exports[FUEL_EXPORT] as { value: number }).value = BUDGET
    const grow = exports.grow as (pages: number) => number
    expect(grow(MEMORY_PAGES_MAX - 1)).toBe(1)
    expect(grow(0)).toBe(MEMORY_PAGES_MAX)
    expect((exports[MEMORY_EXCEEDED_EXPORT] as { value: number }).value).toBe(0)
    expect(() => grow(1)).toThrow(webAssembly.RuntimeError)
    expect((exports[MEMORY_EXCEEDED_EXPORT] as { value: number }).value).toBe(1)
  })

  test('a negative delta (a huge unsigned one) traps too', () => {
    const exports = instantiate()
    ;(exports[FUEL_EXPORT] as { value: number }).value = BUDGET
    expect(() => (exports.grow as (pages: number) => number)(-1)).toThrow(webAssembly.RuntimeError)
  })
})

test('an app global named like the fuel global keeps its own value', () => {
  // Read from text, not bytes, so the global keeps its name and the names collide.
  const module = binaryen.parseText(`(module (import "env" "memory" (memory 1))
    (global $${FUEL_EXPORT} (mut i32) (i32.const 5))
    (func (export "appGlobal") (result i32) (global.get $${FUEL_EXPORT})))`)
  meterModule(module, { initialFuel: 100, memoryPagesMax: 1 })
  const bytes = module.emitBinary()
  module.dispose()
  const memory = new webAssembly.Memory({ initial: 1, maximum: 1 })
  const exports = new webAssembly.Instance(new webAssembly.Module(bytes), { env: { memory } }).exports as Exports
  expect((exports.appGlobal as () => number)()).toBe(5)
  expect((exports[FUEL_EXPORT] as { value: number }).value).toBe(100 - 1)
})

test('begin sets the fuel and calls reset, which is metered like any function', () => {
  const module = binaryen.parseText(`(module (import "env" "memory" (memory 1))
    (global $heap (export "heap") (mut i32) (i32.const 7))
    (func (export "reset") (global.set $heap (i32.const 1024))))`)
  meterModule(module, { initialFuel: 0, memoryPagesMax: 1, resetExport: 'reset' })
  const bytes = module.emitBinary()
  module.dispose()
  const memory = new webAssembly.Memory({ initial: 1, maximum: 1 })
  const exports = new webAssembly.Instance(new webAssembly.Module(bytes), { env: { memory } }).exports as Exports
  ;(exports[BEGIN_EXPORT] as (fuel: number) => void)(100)
  expect((exports.heap as { value: number }).value).toBe(1024)
  expect((exports[FUEL_EXPORT] as { value: number }).value).toBe(100 - 2) // global.set, i32.const
})

test('metering is deterministic: the same module gives the same bytes', () => {
  expect(metered()).toEqual(metered())
})
