// Module checks (validate.ts) against "What a module may contain" in docs/architecture/app-abi.md: one
// named case per rule, each expecting the app_module code and the reason it names.
import binaryen from 'binaryen'
import { describe, expect, test } from 'vitest'
import { AppModuleError } from './errors.js'
import { MAX_EXPRESSION_DEPTH, MAX_MODULE_BYTES } from './limits.js'
import { checkAppModule, readAppModule } from './validate.js'

const MEMORY = '(import "env" "memory" (memory 1))'
const STUBS: Record<string, string> = {
  alloc: '(func (export "alloc") (param i32) (result i32) (i32.const 1024))',
  reset: '(func (export "reset"))',
  init: '(func (export "init") (param i32 i32) (result i32) (i32.const 0))',
  apply: '(func (export "apply") (param i32 i32 i32 i32 i32) (result i32) (i32.const 0))',
  outcome: '(func (export "outcome") (param i32 i32) (result i32) (i32.const 0))',
  isFinal: '(func (export "isFinal") (param i32 i32) (result i32) (i32.const 0))',
  whoseTurn: '(func (export "whoseTurn") (param i32 i32) (result i32) (i32.const 0))',
}

/** A module with the ABI's exports as stubs; `replace` swaps one export's function, `extra` adds fields. */
function appWat({ memory = MEMORY, extra = '', replace = {} as Record<string, string> } = {}): string {
  const exports = Object.entries(STUBS).map(([name, stub]) => replace[name] ?? stub)
  return `(module ${memory} ${extra} ${exports.join('\n')})`
}

function wasm(wat: string): Uint8Array {
  const module = binaryen.parseText(wat)
  try {
    return module.emitBinary()
  } finally {
    module.dispose()
  }
}

function check(bytes: Uint8Array) {
  const module = readAppModule(bytes)
  try {
    return checkAppModule(module)
  } finally {
    module.dispose()
  }
}

function refusal(bytes: Uint8Array): { code: string; reason: unknown } {
  try {
    check(bytes)
  } catch (error) {
    if (!(error instanceof AppModuleError)) throw error
    return { code: error.code, reason: error.details.reason }
  }
  throw new Error('the module was accepted')
}

describe('accepted', () => {
  test('the ABI stubs with env.memory', () => {
    expect(check(wasm(appWat()))).toEqual({ memoryInitialPages: 1, memoryMaximumPages: undefined })
  })

  test('what AssemblyScript emits for integer code: i64, sign extension, bulk memory, call_indirect, start, an exported memory, extra exports', () => {
    const extra = `
      (type $unary (func (param i32) (result i32)))
      (table 1 funcref) (elem (i32.const 0) $double)
      (global $g (mut i64) (i64.const 0))
      (func $double (param i32) (result i32) (i32.shl (local.get 0) (i32.const 1)))
      (func $start (global.set $g (i64.extend_i32_s (i32.extend8_s (i32.const 200)))))
      (start $start)
      (func (export "helper") (param i32) (result i32)
        (memory.copy (i32.const 0) (i32.const 8) (i32.const 8))
        (memory.fill (i32.const 0) (i32.const 0) (i32.const 8))
        (call_indirect (type $unary) (local.get 0) (i32.const 0)))
      (export "memory" (memory 0))`
    expect(check(wasm(appWat({ memory: '(import "env" "memory" (memory 2 8))', extra })))).toEqual({ memoryInitialPages: 2, memoryMaximumPages: 8 })
  })
})

describe('refused with app_module', () => {
  test('more bytes than MAX_MODULE_BYTES, before anything reads them', () => {
    expect(refusal(new Uint8Array(MAX_MODULE_BYTES + 1))).toEqual({ code: 'app_module', reason: 'module too large' })
  })

  test('bytes that are not WebAssembly, with the engine’s error as cause', () => {
    const error = (() => {
      try {
        check(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0xff]))
      } catch (caught) {
        return caught as AppModuleError
      }
    })()
    expect(error).toMatchObject({ code: 'app_module', details: { reason: 'not a valid WebAssembly module' } })
    expect(error?.cause).toBeInstanceOf(Error)
  })

  const imports = 'imports other than env.memory'
  const floats = 'floating point instruction'
  const signature = 'floating point in a signature or local'
  const outside = 'instruction outside the allowed set (floats, SIMD, atomics, references, tables, exceptions)'
  const wrongExport = 'ABI export has the wrong signature'
  test.each([
    { name: 'a function import (env.abort)', wat: appWat({ extra: '(import "env" "abort" (func (param i32 i32 i32 i32)))' }), reason: imports },
    { name: 'a WASI import', wat: appWat({ extra: '(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))' }), reason: imports },
    { name: 'a global import', wat: appWat({ extra: '(import "env" "seed" (global i32))' }), reason: imports },
    { name: 'a table import', wat: appWat({ extra: '(import "env" "table" (table 1 funcref))' }), reason: imports },
    { name: 'a memory of its own', wat: appWat({ memory: '(memory 1)' }), reason: 'memory must be imported as env.memory' },
    { name: 'a memory imported under another name', wat: appWat({ memory: '(import "js" "mem" (memory 1))' }), reason: 'memory must be imported as env.memory' },
    { name: 'no memory', wat: appWat({ memory: '' }), reason: 'no env.memory import' },
    { name: 'a shared memory', wat: appWat({ memory: '(import "env" "memory" (memory 1 1 shared))' }), reason: 'memory must be unshared and 32-bit' },
    { name: 'an f64 parameter', wat: appWat({ extra: '(func (param f64))' }), reason: signature },
    { name: 'an f32 result', wat: appWat({ extra: '(func (result f32) (f32.const 0))' }), reason: signature },
    { name: 'an f32 local', wat: appWat({ extra: '(func (local f32))' }), reason: signature },
    { name: 'an f64 global', wat: appWat({ extra: '(global f64 (f64.const 0))' }), reason: 'floating point global' },
    { name: 'f64.add', wat: appWat({ extra: '(func (drop (f64.add (f64.const 1) (f64.const 2))))' }), reason: floats },
    { name: 'a float conversion (i32.trunc_f32_s)', wat: appWat({ extra: '(func (result i32) (i32.trunc_f32_s (f32.const 1)))' }), reason: floats },
    { name: 'a float reinterpretation (i64.reinterpret_f64 of a load)', wat: appWat({ extra: '(func (result i64) (i64.reinterpret_f64 (f64.load (i32.const 0))))' }), reason: floats },
    { name: 'an f32 store', wat: appWat({ extra: '(func (f32.store (i32.const 0) (f32.const 1)))' }), reason: floats },
    { name: 'a v128 constant (SIMD)', wat: appWat({ extra: '(func (drop (v128.const i32x4 0 0 0 0)))' }), reason: 'non-integer value (SIMD or reference)' },
    { name: 'a v128 local (SIMD)', wat: appWat({ extra: '(func (local v128))' }), reason: 'non-integer signature or local' },
    { name: 'an atomic load', wat: appWat({ extra: '(func (result i32) (i32.atomic.load (i32.const 0)))' }), reason: 'atomic memory access' },
    { name: 'an atomic read-modify-write', wat: appWat({ extra: '(func (result i32) (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))' }), reason: outside },
    { name: 'a tail call', wat: appWat({ extra: '(func $t (result i32) (return_call $t))' }), reason: 'tail calls' },
    { name: 'a reference instruction', wat: appWat({ extra: '(func (result i32) (ref.is_null (ref.null func)))' }), reason: outside },
    { name: 'a table instruction', wat: appWat({ extra: '(table 1 funcref) (func (result i32) (table.size 0))' }), reason: outside },
    { name: 'an exception', wat: appWat({ extra: '(tag $oops) (func (throw $oops))' }), reason: outside },
    { name: 'two results', wat: appWat({ extra: '(func (result i32 i32) (i32.const 1) (i32.const 2))' }), reason: 'multiple results' },
    { name: 'a missing export (whoseTurn)', wat: appWat({ replace: { whoseTurn: '' } }), reason: 'missing ABI export' },
    { name: 'an ABI name exported as a global', wat: appWat({ replace: { alloc: '(global (export "alloc") i32 (i32.const 0))' } }), reason: 'missing ABI export' },
    { name: 'apply with four parameters', wat: appWat({ replace: { apply: '(func (export "apply") (param i32 i32 i32 i32) (result i32) (i32.const 0))' } }), reason: wrongExport },
    { name: 'reset with a result', wat: appWat({ replace: { reset: '(func (export "reset") (result i32) (i32.const 0))' } }), reason: wrongExport },
    { name: 'init with an i64 parameter', wat: appWat({ replace: { init: '(func (export "init") (param i64 i32) (result i32) (i32.const 0))' } }), reason: wrongExport },
    { name: `expressions nested deeper than ${MAX_EXPRESSION_DEPTH}`, wat: appWat({ extra: `(func (param i32) (result i32) ${'(i32.add (local.get 0) '.repeat(MAX_EXPRESSION_DEPTH)}(local.get 0)${')'.repeat(MAX_EXPRESSION_DEPTH)})` }), reason: 'expressions nested too deeply' },
    { name: 'a reserved export name', wat: appWat({ extra: '(global (export "__channels_fuel") i32 (i32.const 0))' }), reason: 'reserved export name' },
  ])('$name: "$reason"', ({ wat, reason }) => {
    expect(refusal(wasm(wat))).toEqual({ code: 'app_module', reason })
  })
})
