// The WebAssembly AppRuntime (DESIGN §4 and §9, issue 7): runs an app module through the ABI of
// docs/architecture/app-abi.md on Node's own WebAssembly. Loading checks the module (validate.ts), meters
// it (metering.ts) and instantiates it once with a host-created memory capped at `memoryPages`. Every
// top-level call gets the same fuel budget, starts from `reset()`, writes its inputs into room from
// `alloc` and reads the result through views cached on the memory's buffer (renewed when memory grows).
//
// A trap can leave the module's memory and globals half-written, so after one the runtime starts a fresh
// instance: what a call returns never depends on a failed call before it. State an app keeps in globals or
// memory across successful calls is outside the ABI (the SDK keeps none); the runtime does not reset it.
import { OutOfRangeError } from '../core/errors.js'
import { keccak256 } from '../core/keccak.js'
import { MAX_PARTICIPANTS } from '../core/limits.js'
import type { Bytes32 } from '../core/types.js'
import type { AppRejection, AppResult, AppRuntime, Turn } from './appRuntime.js'
import { AppCallError, AppModuleError, RUNTIME_REJECTION_CODE } from './errors.js'
import {
  DEFAULT_FUEL_PER_CALL,
  DEFAULT_MEMORY_PAGES,
  MAX_EVENT_BYTES,
  MAX_FUEL_PER_CALL,
  MAX_MEMORY_PAGES,
  MAX_PARAMS_BYTES,
  MAX_STACK_UNITS,
  MAX_STATE_BYTES,
} from './limits.js'
import { BEGIN_EXPORT, FUEL_EXPORT, MEMORY_EXCEEDED_EXPORT, STACK_EXPORT, meterModule } from './metering.js'
import { checkWeights } from './weights.js'
import { checkAppModule, readAppModule, webAssembly } from './validate.js'

export interface WasmAppRuntimeOptions {
  /** Fuel for each top-level call, 1..MAX_FUEL_PER_CALL (default DEFAULT_FUEL_PER_CALL). */
  readonly fuel?: bigint | number
  /** Memory cap in 64 KiB pages, 1..MAX_MEMORY_PAGES (default DEFAULT_MEMORY_PAGES). */
  readonly memoryPages?: number
}

type Call = 'init' | 'apply' | 'outcome' | 'isFinal' | 'whoseTurn'

interface AppExports {
  alloc(len: number): number
  reset(): void
  init(params: number, paramsLen: number): number
  apply(state: number, stateLen: number, event: number, eventLen: number, author: number): number
  outcome(state: number, stateLen: number): number
  isFinal(state: number, stateLen: number): number
  whoseTurn(state: number, stateLen: number): number
}
interface GlobalValue {
  value: number
}
interface Instance {
  readonly exports: AppExports
  /** Sets the fuel counter and calls `reset` (metering.ts, BEGIN_EXPORT). */
  readonly begin: (fuel: number) => void
  readonly fuel: GlobalValue
  readonly stack: GlobalValue
  readonly memoryExceeded: GlobalValue
  readonly memory: { readonly buffer: ArrayBuffer }
}

export class WasmAppRuntime implements AppRuntime {
  private instance: Instance
  // Views on the current memory buffer. Growing memory detaches the buffer (its length becomes 0), which
  // is how a stale view is noticed without asking the memory object on every call.
  private bytes: Uint8Array
  private view: DataView

  private constructor(
    readonly appId: Bytes32,
    private readonly compiled: object,
    /** Fuel each top-level call starts with. */
    readonly fuelPerCall: number,
    private readonly memoryInitialPages: number,
    /** The memory cap in pages: the smaller of the option and the module's own maximum. */
    readonly memoryPages: number,
  ) {
    this.instance = this.instantiate()
    this.bytes = new Uint8Array(this.instance.memory.buffer)
    this.view = new DataView(this.instance.memory.buffer)
  }

  /**
   * Checks, meters and instantiates an app module.
   *
   * @example const runtime = WasmAppRuntime.load(readFileSync('tictactoe.wasm'), { fuel: 1_000_000 })
   * @param moduleBytes the module as built; `appId` is its keccak256
   * @throws AppModuleError (`app_module`) for a module the ABI does not allow, or that fails to instantiate
   *   (its start function traps or runs out of fuel)
   * @throws OutOfRangeError (`out_of_range`) for an option outside its range
   */
  static load(moduleBytes: Uint8Array, options: WasmAppRuntimeOptions = {}): WasmAppRuntime {
    const fuel = checkFuel(options.fuel ?? DEFAULT_FUEL_PER_CALL)
    const pages = options.memoryPages ?? DEFAULT_MEMORY_PAGES
    if (!Number.isSafeInteger(pages) || pages < 1 || pages > MAX_MEMORY_PAGES) {
      throw new OutOfRangeError(`memoryPages out of range [1, ${MAX_MEMORY_PAGES}]`, { field: 'memoryPages', value: pages })
    }
    const { metered, initialPages, maximumPages } = meter(moduleBytes, fuel, pages)
    const compiled = compile(metered)
    try {
      return new WasmAppRuntime(keccak256(moduleBytes), compiled, fuel, initialPages, maximumPages)
    } catch (error) {
      // A start function that traps or runs out of fuel, or a data segment outside the initial memory.
      if (!isTrap(error) && !(error instanceof webAssembly.LinkError)) throw error
      throw new AppModuleError('app module refused: instantiation failed', { reason: 'instantiation failed' }, { cause: error })
    }
  }

  /** Fuel the last call into the module used (all of it if it ran out); calls refused before it keep the value. */
  get lastFuelUsed(): number {
    const left = this.instance.fuel.value
    return left < 0 ? this.fuelPerCall : this.fuelPerCall - left
  }

  init(params: Uint8Array): AppResult {
    if (params.length > MAX_PARAMS_BYTES) return rejection('params too large')
    try {
      const exports = this.begin()
      const paramsPtr = this.write(exports, params, 'init')
      return this.readState(exports.init(paramsPtr, params.length), 'init')
    } catch (error) {
      return rejection(this.callError(error, 'init').details.reason as string)
    }
  }

  apply(state: Uint8Array, event: Uint8Array, author: number): AppResult {
    checkAuthor(author)
    if (state.length > MAX_STATE_BYTES) return rejection('state too large')
    if (event.length > MAX_EVENT_BYTES) return rejection('event too large')
    try {
      const exports = this.begin()
      const statePtr = this.write(exports, state, 'apply')
      const eventPtr = this.write(exports, event, 'apply')
      return this.readState(exports.apply(statePtr, state.length, eventPtr, event.length, author), 'apply')
    } catch (error) {
      return rejection(this.callError(error, 'apply').details.reason as string)
    }
  }

  outcome(state: Uint8Array): readonly bigint[] {
    try {
      const out = this.callOnState(state, 'outcome') >>> 0
      const view = this.currentView()
      if (out + 4 > view.byteLength) throw failure('outcome', 'result out of bounds')
      const count = view.getUint32(out, true)
      if (out + 4 + count * 8 > view.byteLength) throw failure('outcome', 'result out of bounds')
      const weights = new Array<bigint>(count)
      for (let i = 0; i < count; i++) weights[i] = view.getBigUint64(out + 4 + i * 8, true)
      checkWeights(weights)
      return weights
    } catch (error) {
      throw this.callError(error, 'outcome')
    }
  }

  isFinal(state: Uint8Array): boolean {
    let result: number
    try {
      result = this.callOnState(state, 'isFinal')
    } catch (error) {
      throw this.callError(error, 'isFinal')
    }
    if (result !== 0 && result !== 1) throw failure('isFinal', 'result not 0 or 1', { result })
    return result === 1
  }

  whoseTurn(state: Uint8Array): Turn {
    let result: number
    try {
      result = this.callOnState(state, 'whoseTurn')
    } catch (error) {
      throw this.callError(error, 'whoseTurn')
    }
    if (result >= 0 && result < MAX_PARTICIPANTS) return result
    if (result === -1) return 'anyone'
    if (result === -2) return 'nobody'
    throw failure('whoseTurn', 'result out of range', { result })
  }

  // ---- calls ------------------------------------------------------------------------------------------

  private callOnState(state: Uint8Array, call: 'outcome' | 'isFinal' | 'whoseTurn'): number {
    if (state.length > MAX_STATE_BYTES) throw failure(call, 'state too large')
    const exports = this.begin()
    const statePtr = this.write(exports, state, call)
    return exports[call](statePtr, state.length)
  }

  /** Sets the fuel budget and forgets the previous call's allocations. */
  private begin(): AppExports {
    const instance = this.instance
    instance.begin(this.fuelPerCall)
    return instance.exports
  }

  private write(exports: AppExports, input: Uint8Array, call: Call): number {
    const ptr = exports.alloc(input.length) >>> 0
    const bytes = this.bytes.length === 0 ? this.refreshViews() : this.bytes
    if (ptr + input.length > bytes.length) throw failure(call, 'allocation out of bounds')
    bytes.set(input, ptr)
    return ptr
  }

  private readState(outPtr: number, call: 'init' | 'apply'): AppResult {
    const out = outPtr >>> 0
    const view = this.currentView()
    if (out + 8 > view.byteLength) throw failure(call, 'result out of bounds')
    const status = view.getUint32(out, true)
    if (status !== 0) return { ok: false, code: status }
    const length = view.getUint32(out + 4, true)
    if (length > MAX_STATE_BYTES) throw failure(call, 'state too large')
    if (out + 8 + length > view.byteLength) throw failure(call, 'result out of bounds')
    return { ok: true, state: this.bytes.slice(out + 8, out + 8 + length) }
  }

  private currentView(): DataView {
    if (this.bytes.length === 0) this.refreshViews()
    return this.view
  }

  private refreshViews(): Uint8Array {
    const buffer = this.instance.memory.buffer
    this.bytes = new Uint8Array(buffer)
    this.view = new DataView(buffer)
    return this.bytes
  }

  /**
   * Turns what a call threw into an AppCallError, naming the limit it hit. After a trap the instance is
   * replaced (keeping the fuel reading for `lastFuelUsed`). Anything else is our own bug and is rethrown.
   */
  private callError(error: unknown, call: Call): AppCallError {
    if (error instanceof AppCallError) return error
    if (!isTrap(error)) throw error
    const { fuel, stack, memoryExceeded } = this.instance
    const fuelLeft = fuel.value
    const reason =
      fuelLeft < 0
        ? 'out of fuel'
        : stack.value > MAX_STACK_UNITS
          ? 'call stack exhausted'
          : memoryExceeded.value !== 0
            ? 'memory limit'
            : error instanceof RangeError
              ? 'stack overflow'
              : `trap: ${error.message}`
    this.instance = this.instantiate()
    this.instance.fuel.value = fuelLeft
    this.refreshViews()
    return new AppCallError(`app ${call} failed: ${reason}`, { call, reason }, { cause: error })
  }

  private instantiate(): Instance {
    const memory = new webAssembly.Memory({ initial: this.memoryInitialPages, maximum: this.memoryPages })
    const { exports } = new webAssembly.Instance(this.compiled, { env: { memory } })
    return {
      exports: exports as unknown as AppExports,
      begin: exports[BEGIN_EXPORT] as (fuel: number) => void,
      fuel: exports[FUEL_EXPORT] as GlobalValue,
      stack: exports[STACK_EXPORT] as GlobalValue,
      memoryExceeded: exports[MEMORY_EXCEEDED_EXPORT] as GlobalValue,
      memory,
    }
  }
}

/** Reads, checks and meters a module with binaryen (validate.ts, metering.ts). */
function meter(moduleBytes: Uint8Array, fuel: number, pages: number): { metered: Uint8Array; initialPages: number; maximumPages: number } {
  const module = readAppModule(moduleBytes)
  try {
    const shape = checkAppModule(module)
    const initialPages = shape.memoryInitialPages
    const maximumPages = Math.min(pages, shape.memoryMaximumPages ?? pages)
    if (initialPages > maximumPages) {
      throw new AppModuleError('app module refused: memory minimum above the cap', { reason: 'memory minimum above the cap', initialPages, maximumPages })
    }
    meterModule(module, { initialFuel: fuel, memoryPagesMax: maximumPages, resetExport: 'reset' })
    return { metered: module.emitBinary(), initialPages, maximumPages }
  } catch (error) {
    // binaryen recurses on the expression tree; MAX_EXPRESSION_DEPTH keeps it well within the JS stack.
    if (error instanceof RangeError) throw new AppModuleError('app module refused: binaryen ran out of stack', { reason: 'too complex' }, { cause: error })
    throw error
  } finally {
    module.dispose()
  }
}

/** Compiles the metered module and checks the engine's own view of its imports: env.memory and nothing else. */
function compile(metered: Uint8Array): object {
  let compiled: object
  try {
    compiled = new webAssembly.Module(metered)
  } catch (error) {
    throw new AppModuleError('app module refused: the metered module does not compile', { reason: 'metering failed' }, { cause: error })
  }
  const imports = webAssembly.Module.imports(compiled)
  const onlyMemory = imports.length === 1 && imports[0]!.module === 'env' && imports[0]!.name === 'memory' && imports[0]!.kind === 'memory'
  if (!onlyMemory) {
    const names = imports.map((i) => `${i.module}.${i.name}`)
    throw new AppModuleError('app module refused: imports other than env.memory', { reason: 'imports other than env.memory', imports: names })
  }
  return compiled
}

function checkFuel(fuel: bigint | number): number {
  const value = typeof fuel === 'bigint' ? Number(fuel) : fuel
  if (!Number.isSafeInteger(value) || value < 1 || value > MAX_FUEL_PER_CALL) {
    throw new OutOfRangeError(`fuel out of range [1, ${MAX_FUEL_PER_CALL}]`, { field: 'fuel', value: fuel })
  }
  return value
}

/** A WebAssembly trap, or V8's own stack overflow (which the stack budget should make unreachable). */
function isTrap(error: unknown): error is Error {
  return error instanceof webAssembly.RuntimeError || (error instanceof RangeError && /call stack/i.test(error.message))
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
