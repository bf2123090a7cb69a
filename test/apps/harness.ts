// Helpers for playing the sample apps (apps/build/*.wasm) in tests, through the production runtime
// (src/wasm/wasmRuntime.ts): sessions, byte helpers, and the rejection code or trap of a call.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { appsBuildDir } from '../../scripts/buildApps.js'
import type { AppResult, AppRuntime } from '../../src/wasm/appRuntime.js'
import { WasmAppRuntime } from '../../src/wasm/wasmRuntime.js'

/** Node's WebAssembly API as the harness uses it (the project's TypeScript libs do not declare it). */
interface WasmMemory {
  readonly buffer: ArrayBuffer
}
interface WasmEngine {
  Memory: new (descriptor: { initial: number; maximum: number }) => WasmMemory
  instantiate(bytes: Uint8Array, imports: Record<string, Record<string, unknown>>): Promise<{ instance: { exports: Record<string, unknown> } }>
  RuntimeError: new (...args: never[]) => Error
}
export const webAssembly = (globalThis as unknown as { WebAssembly: WasmEngine }).WebAssembly

/** 64 KiB pages: one to start, at most 16 (1 MiB); what the keccak probe uses. */
export const memoryPages = { initial: 1, maximum: 16 } as const

/** The sample apps run through the production runtime (fuel metering, validation, memory cap). */
export type HarnessApp = AppRuntime

export function readAppModule(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(appsBuildDir, `${name}.wasm`)))
}

/** Loads a built app (apps/build/<name>.wasm) into the production runtime, a fresh instance of its own. */
export async function loadApp(name: string): Promise<HarnessApp> {
  return WasmAppRuntime.load(readAppModule(name))
}

// ---- sessions ----

/** One event in a session: who submits it and its bytes. */
export interface Move {
  readonly author: number
  readonly event: Uint8Array
}

/** The state after init; fails the test with the code if the app refuses. */
export function start(app: AppRuntime, params: Uint8Array): Uint8Array {
  return accepted(app.init(params), 'init')
}

export function accepted(result: AppResult, what = 'event'): Uint8Array {
  if (!result.ok) throw new Error(`${what} rejected with code ${result.code}${result.reason === undefined ? '' : ` (${result.reason})`}`)
  return result.state
}

/** Applies every move in order, each of which must be accepted; returns the final state. */
export function play(app: AppRuntime, state: Uint8Array, moves: readonly Move[]): Uint8Array {
  return moves.reduce((current, move, i) => accepted(app.apply(current, move.event, move.author), `move ${i}`), state)
}

/** The rejection code of an event, or 'accepted'. */
export function codeOf(result: AppResult): number | 'accepted' {
  return result.ok ? 'accepted' : result.code
}

/**
 * Calls `call`, which must fail, and returns the error or the first error in its cause chain that is a
 * WebAssembly trap (the harness throws the trap itself; the production runtime wraps it in AppCallError).
 */
export function trapOf(call: () => unknown): unknown {
  try {
    call()
  } catch (error) {
    const isWasmTrap = (e: Error): boolean => e instanceof webAssembly.RuntimeError
    for (let e: unknown = error; e instanceof Error; e = e.cause) if (isWasmTrap(e)) return e
    return error
  }
  throw new Error('expected the call to trap')
}

export const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values)

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0))
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

export function u16le(value: number): Uint8Array {
  return bytes(value & 0xff, value >>> 8)
}
