// A tiny host for the app ABI (docs/architecture/app-abi.md), for testing the sample apps independently of the
// production runtime (src/wasm/wasmRuntime.ts): plain WebAssembly.instantiate with a host-created memory that
// has a maximum, no fuel metering. It implements the AppRuntime interface so the tests can switch to the real
// runtime by changing loadApp alone. Every top-level call is reset(), alloc() and copy the inputs, call, read the result with bounds
// checks. A trap or a malformed result is a rejection with code 0 and a reason (the app's own codes are ≥ 1).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { appsBuildDir } from '../../scripts/buildApps.js'
import { keccak256 } from '../../src/core/keccak.js'
import type { Bytes32 } from '../../src/core/types.js'
import type { AppResult, AppRuntime, Turn } from '../../src/wasm/appRuntime.js'

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

/** The exports every app module has (all i32). */
interface AppExports {
  alloc(len: number): number
  reset(): void
  init(params: number, paramsLen: number): number
  apply(state: number, stateLen: number, event: number, eventLen: number, author: number): number
  outcome(state: number, stateLen: number): number
  isFinal(state: number, stateLen: number): number
  whoseTurn(state: number, stateLen: number): number
}

/** 64 KiB pages: one to start, at most 16 (1 MiB), far above any sample app's need. */
export const memoryPages = { initial: 1, maximum: 16 } as const

const maxParticipants = 255

class MalformedResultError extends Error {}

/** A failure of the call itself (a trap, the engine's stack limit, a result that breaks the ABI). */
function isCallFailure(error: unknown): error is Error {
  return error instanceof webAssembly.RuntimeError || error instanceof RangeError || error instanceof MalformedResultError
}

export class HarnessApp implements AppRuntime {
  constructor(
    readonly appId: Bytes32,
    private readonly exports: AppExports,
    private readonly memory: WasmMemory,
  ) {}

  /** Copies each input into module memory after a reset; returns their pointers. */
  private write(...inputs: Uint8Array[]): number[] {
    this.exports.reset()
    return inputs.map((input) => {
      const ptr = this.exports.alloc(input.length)
      new Uint8Array(this.memory.buffer).set(input, ptr)
      return ptr
    })
  }

  private view(out: number, length: number): DataView {
    const buffer = this.memory.buffer
    if (out <= 0 || out + length > buffer.byteLength) throw new MalformedResultError(`result at ${out} (+${length}) is outside memory`)
    return new DataView(buffer, out, length)
  }

  /** Reads an init/apply result: status, then the state on status 0. */
  private readState(out: number): AppResult {
    const status = this.view(out, 4).getUint32(0, true)
    if (status !== 0) return { ok: false, code: status }
    const length = this.view(out, 8).getUint32(4, true)
    const bytes = this.view(out + 8, length)
    return { ok: true, state: new Uint8Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + length)) }
  }

  private rejecting(call: () => AppResult): AppResult {
    try {
      return call()
    } catch (error) {
      if (isCallFailure(error)) return { ok: false, code: 0, reason: `${error.name}: ${error.message}` }
      throw error
    }
  }

  init(params: Uint8Array): AppResult {
    return this.rejecting(() => {
      const [p] = this.write(params)
      return this.readState(this.exports.init(p!, params.length))
    })
  }

  apply(state: Uint8Array, event: Uint8Array, author: number): AppResult {
    return this.rejecting(() => {
      const [s, e] = this.write(state, event)
      return this.readState(this.exports.apply(s!, state.length, e!, event.length, author))
    })
  }

  outcome(state: Uint8Array): readonly bigint[] {
    const [s] = this.write(state)
    const out = this.exports.outcome(s!, state.length)
    const n = this.view(out, 4).getUint32(0, true)
    if (n > maxParticipants) throw new MalformedResultError(`outcome has ${n} weights`)
    const weights = this.view(out + 4, 8 * n)
    return Array.from({ length: n }, (_, i) => weights.getBigUint64(8 * i, true))
  }

  isFinal(state: Uint8Array): boolean {
    const [s] = this.write(state)
    const final = this.exports.isFinal(s!, state.length)
    if (final !== 0 && final !== 1) throw new MalformedResultError(`isFinal returned ${final}`)
    return final === 1
  }

  whoseTurn(state: Uint8Array): Turn {
    const [s] = this.write(state)
    const turn = this.exports.whoseTurn(s!, state.length)
    if (turn === -1) return 'anyone'
    if (turn === -2) return 'nobody'
    if (turn < 0 || turn >= maxParticipants) throw new MalformedResultError(`whoseTurn returned ${turn}`)
    return turn
  }
}

export function readAppModule(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(appsBuildDir, `${name}.wasm`)))
}

/** Instantiates a built app (apps/build/<name>.wasm) in a fresh memory of its own. */
export async function loadApp(name: string): Promise<HarnessApp> {
  const bytes = readAppModule(name)
  const memory = new webAssembly.Memory(memoryPages)
  const { instance } = await webAssembly.instantiate(bytes, { env: { memory } })
  return new HarnessApp(keccak256(bytes), instance.exports as unknown as AppExports, memory)
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
