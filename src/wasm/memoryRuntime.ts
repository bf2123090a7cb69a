// An in-memory AppRuntime built from plain TypeScript functions (STYLE §1: a memory implementation beside
// the real one), so protocol tests can run app channels without compiling a module. It keeps the WASM
// runtime's rules where a test could notice them: inputs and outputs are copied (no aliasing), the same
// size limits and result checks apply, a function that throws in `init` or `apply` is a rejection with
// code RUNTIME_REJECTION_CODE (0), and one that throws in `outcome`, `isFinal` or `whoseTurn` is an
// AppCallError.
import { OutOfRangeError } from '../core/errors.js'
import { MAX_PARTICIPANTS } from '../core/limits.js'
import type { Bytes32 } from '../core/types.js'
import type { AppRejection, AppResult, AppRuntime, Turn } from './appRuntime.js'
import { AppCallError, RUNTIME_REJECTION_CODE } from './errors.js'
import { MAX_EVENT_BYTES, MAX_PARAMS_BYTES, MAX_STATE_BYTES } from './limits.js'
import { checkWeights } from './weights.js'

/** The app's rules as functions; the same meaning as the ABI exports (docs/architecture/app-abi.md). */
export interface MemoryApp {
  /** Stands for keccak256 of a module: any 32 bytes that name this app in tests. */
  readonly appId: Bytes32
  readonly init: (params: Uint8Array) => AppResult
  readonly apply: (state: Uint8Array, event: Uint8Array, author: number) => AppResult
  readonly outcome: (state: Uint8Array) => readonly bigint[]
  readonly isFinal: (state: Uint8Array) => boolean
  readonly whoseTurn: (state: Uint8Array) => Turn
}

type Call = 'init' | 'apply' | 'outcome' | 'isFinal' | 'whoseTurn'

export class MemoryAppRuntime implements AppRuntime {
  readonly appId: Bytes32

  constructor(private readonly app: MemoryApp) {
    this.appId = app.appId
  }

  init(params: Uint8Array): AppResult {
    if (params.length > MAX_PARAMS_BYTES) return rejection('params too large')
    return this.result('init', () => this.app.init(params.slice()))
  }

  apply(state: Uint8Array, event: Uint8Array, author: number): AppResult {
    checkAuthor(author)
    if (state.length > MAX_STATE_BYTES) return rejection('state too large')
    if (event.length > MAX_EVENT_BYTES) return rejection('event too large')
    return this.result('apply', () => this.app.apply(state.slice(), event.slice(), author))
  }

  outcome(state: Uint8Array): readonly bigint[] {
    const weights = [...this.call('outcome', state, () => this.app.outcome(state.slice()))]
    checkWeights(weights)
    return weights
  }

  isFinal(state: Uint8Array): boolean {
    const final = this.call('isFinal', state, () => this.app.isFinal(state.slice()))
    if (typeof final !== 'boolean') throw failure('isFinal', 'result not 0 or 1')
    return final
  }

  whoseTurn(state: Uint8Array): Turn {
    const turn = this.call('whoseTurn', state, () => this.app.whoseTurn(state.slice()))
    const valid = turn === 'anyone' || turn === 'nobody' || (Number.isInteger(turn) && turn >= 0 && turn < MAX_PARTICIPANTS)
    if (!valid) throw failure('whoseTurn', 'result out of range', { result: turn })
    return turn
  }

  private result(call: 'init' | 'apply', run: () => AppResult): AppResult {
    let result: AppResult
    try {
      result = run()
    } catch (error) {
      return rejection(`trap: ${error instanceof Error ? error.message : String(error)}`)
    }
    if (!result.ok) {
      if (!Number.isInteger(result.code) || result.code < 1 || result.code > 0xffff_ffff) return rejection('status out of range')
      return { ok: false, code: result.code }
    }
    if (result.state.length > MAX_STATE_BYTES) return rejection('state too large')
    return { ok: true, state: result.state.slice() }
  }

  private call<T>(call: Call, state: Uint8Array, run: () => T): T {
    if (state.length > MAX_STATE_BYTES) throw failure(call, 'state too large')
    try {
      return run()
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      throw new AppCallError(`app ${call} failed: trap: ${message}`, { call, reason: `trap: ${message}` }, { cause: error })
    }
  }
}

/** The author is the caller's participant index: outside the range it is the caller's mistake, not the app's. */
function checkAuthor(author: number): void {
  if (!Number.isInteger(author) || author < 0 || author >= MAX_PARTICIPANTS) {
    throw new OutOfRangeError(`author out of range [0, ${MAX_PARTICIPANTS})`, { field: 'author', value: author })
  }
}

function failure(call: Call, reason: string, details: Record<string, unknown> = {}): AppCallError {
  return new AppCallError(`app ${call} failed: ${reason}`, { call, reason, ...details })
}

function rejection(reason: string): AppRejection {
  return { ok: false, code: RUNTIME_REJECTION_CODE, reason }
}
