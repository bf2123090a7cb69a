// Runs a metered app module (DESIGN §4 and §9, issue 7; docs/architecture/app-abi.md) on Node's own
// WebAssembly: `MeteredAppRuntime` is the execution half of the app runtime, shared by both ways to get a
// metered module:
// - wasmRuntime.ts (`WasmAppRuntime.load`) checks and meters a module with binaryen at load;
// - `MeteredAppRuntime.fromPrepared` here runs a module metered ahead of time by `npm run build:apps`
//   (apps/build/<name>.metered.wasm, made by the same code with the default limits). It never imports
//   binaryen (nor validate.ts or metering.ts, which do): binaryen's 13 MB index.js costs ~6 s to load under
//   tsx, which a node start should not pay. Without binaryen it cannot re-check the instructions, so the
//   metered bytes are trusted by their hash (the manifest's `meteredHash`, checked by src/node/appRegistry.ts
//   and the build's drift test); V8 checks their imports and exports.
//
// The runtime instantiates the module once with a host-created memory capped at `memoryPages`. Every
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
import { ABI_EXPORTS, BEGIN_EXPORT, FUEL_EXPORT, MEMORY_EXCEEDED_EXPORT, STACK_EXPORT, webAssembly } from './abi.js'
import type { AppRejection, AppResult, AppRuntime, Turn } from './appRuntime.js'
import { AppCallError, AppModuleError, RUNTIME_REJECTION_CODE } from './errors.js'
import {
  DEFAULT_FUEL_PER_CALL,
  DEFAULT_MEMORY_PAGES,
  MAX_EVENT_BYTES,
  MAX_FUEL_PER_CALL,
  MAX_MEMORY_PAGES,
  MAX_MODULE_BYTES,
  MAX_PARAMS_BYTES,
  MAX_STACK_UNITS,
  MAX_STATE_BYTES,
  STACK_UNITS_PER_FRAME,
  BULK_MEMORY_BYTES_PER_FUEL,
} from './limits.js'
import { checkWeights } from './weights.js'

export interface WasmAppRuntimeOptions {
  /** Fuel for each top-level call, 1..MAX_FUEL_PER_CALL (default DEFAULT_FUEL_PER_CALL). */
  readonly fuel?: bigint | number
  /** Memory cap in 64 KiB pages, 1..MAX_MEMORY_PAGES (default DEFAULT_MEMORY_PAGES). */
  readonly memoryPages?: number
}

/**
 * What a metered module depends on besides the module's bytes and the binaryen version: the fuel and memory
 * cap it was metered for (baked into it: the start function's fuel, the `memory.grow` cap) and the limits
 * metering.ts compiles into every function. apps/build/manifest.json records them; a node refuses a
 * manifest made with other values (src/node/appRegistry.ts).
 */
export interface MeteringParameters {
  readonly fuel: number
  readonly memoryPages: number
  readonly maxStackUnits: number
  readonly stackUnitsPerFrame: number
  readonly bulkMemoryBytesPerFuel: number
}

/** The parameters `npm run build:apps` prepares modules with: the runtime's defaults and this build's limits. */
export const PREPARED_METERING: MeteringParameters = {
  fuel: DEFAULT_FUEL_PER_CALL,
  memoryPages: DEFAULT_MEMORY_PAGES,
  maxStackUnits: MAX_STACK_UNITS,
  stackUnitsPerFrame: STACK_UNITS_PER_FRAME,
  bulkMemoryBytesPerFuel: BULK_MEMORY_BYTES_PER_FUEL,
}

export interface PreparedAppOptions extends WasmAppRuntimeOptions {
  /** The app's identity as the manifest names it: keccak256 of the module bytes must equal it. */
  readonly appId?: Bytes32
  /** keccak256 of the metered bytes as the manifest records it. */
  readonly meteredHash?: Bytes32
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

/**
 * An app runtime over a metered module: `fromPrepared` here, or `WasmAppRuntime.load` (wasmRuntime.ts, a
 * subclass that adds binaryen's check and metering at load).
 */
export class MeteredAppRuntime implements AppRuntime {
  private instance: Instance
  // Views on the current memory buffer. Growing memory detaches the buffer (its length becomes 0), which
  // is how a stale view is noticed without asking the memory object on every call.
  private bytes: Uint8Array
  private view: DataView

  protected constructor(
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
   * Runs a module metered ahead of time (scripts/buildApps.ts, `prepareAppModule` in wasmRuntime.ts) without
   * binaryen: the same runtime `WasmAppRuntime.load(moduleBytes, options)` makes, provided `meteredBytes` is
   * what `prepareAppModule(moduleBytes, options)` returned — which only its hash can tell, so pass the
   * manifest's `meteredHash` (and `appId`). V8 checks the rest: the metered module compiles, imports exactly
   * `env.memory` (unshared, 32-bit) and exports the ABI and the globals and `begin` metering adds.
   *
   * @param options the fuel and memory cap the module was metered with (they are baked into it), and the
   *   hashes the manifest records
   * @throws AppModuleError (`app_module`) for bytes that do not match their hashes, a metered module V8
   *   refuses or whose imports or exports are wrong, or one that fails to instantiate
   * @throws OutOfRangeError (`out_of_range`) for an option outside its range
   */
  static fromPrepared(moduleBytes: Uint8Array, meteredBytes: Uint8Array, options: PreparedAppOptions = {}): MeteredAppRuntime {
    const { fuel, pages } = checkRuntimeOptions(options)
    const appId = keccak256(moduleBytes)
    if (options.appId !== undefined && options.appId.toLowerCase() !== appId) refuse('module does not match its appId', { expected: options.appId, actual: appId })
    if (meteredBytes.length > 2 * MAX_MODULE_BYTES) refuse('metered module too large', { bytes: meteredBytes.length })
    const meteredHash = keccak256(meteredBytes)
    if (options.meteredHash !== undefined && options.meteredHash.toLowerCase() !== meteredHash) {
      refuse('metered module does not match its hash', { expected: options.meteredHash, actual: meteredHash })
    }
    const compiled = compileMetered(meteredBytes)
    checkMeteredExports(compiled)
    const memory = readMemoryImport(meteredBytes)
    const maximumPages = Math.min(pages, memory.maximum ?? pages)
    if (memory.initial > maximumPages) {
      refuse('memory minimum above the cap', { initialPages: memory.initial, maximumPages })
    }
    return MeteredAppRuntime.instantiated(() => new MeteredAppRuntime(appId, compiled, fuel, memory.initial, maximumPages))
  }

  /**
   * Runs `make` (which instantiates a compiled module) and turns a start function that traps or runs out
   * of fuel, or a data segment outside the initial memory, into AppModuleError.
   */
  protected static instantiated<T>(make: () => T): T {
    try {
      return make()
    } catch (error) {
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

/** Compiles the metered module and checks the engine's own view of its imports: env.memory and nothing else. */
export function compileMetered(metered: Uint8Array): object {
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


/** Exports a metered module must have: the ABI's functions, `begin`, and the three globals metering adds. */
const METERED_EXPORTS: readonly (readonly [name: string, kind: string])[] = [
  ...Object.keys(ABI_EXPORTS).map((name) => [name, 'function'] as const),
  [BEGIN_EXPORT, 'function'],
  [FUEL_EXPORT, 'global'],
  [STACK_EXPORT, 'global'],
  [MEMORY_EXCEEDED_EXPORT, 'global'],
]

function checkMeteredExports(compiled: object): void {
  const kinds = new Map(webAssembly.Module.exports(compiled).map((e) => [e.name, e.kind]))
  for (const [name, kind] of METERED_EXPORTS) {
    if (kinds.get(name) !== kind) refuse('metered module lacks an export', { export: name, kind })
  }
}

/**
 * The limits of the metered module's one import, `env.memory` (compileMetered has checked it is the only
 * one): V8's import list does not say them. Reads the import section of a module V8 has compiled.
 */
function readMemoryImport(bytes: Uint8Array): { initial: number; maximum: number | undefined } {
  let at = 8 // magic and version
  const byte = (): number => {
    if (at >= bytes.length) refuse('metered module: truncated import section')
    return bytes[at++]!
  }
  const u32 = (): number => {
    let result = 0
    for (let shift = 0; ; shift += 7) {
      const b = byte()
      result += (b & 0x7f) * 2 ** shift
      if ((b & 0x80) === 0) return result
      if (shift > 28) refuse('metered module: bad LEB128')
    }
  }
  while (at < bytes.length) {
    const id = byte()
    const size = u32()
    if (id !== 2) {
      at += size
      continue
    }
    if (u32() !== 1) break
    for (let n = 0; n < 2; n++) {
      const length = u32() // module and field names: env.memory, checked by V8's list
      at += length
    }
    if (byte() !== 2) break
    const flags = u32()
    if (flags > 1) refuse('memory must be unshared and 32-bit', { flags })
    const initial = u32()
    return { initial, maximum: flags === 1 ? u32() : undefined }
  }
  return refuse('metered module: no env.memory import')
}

/** Checks the fuel and memory options of either path. */
export function checkRuntimeOptions(options: WasmAppRuntimeOptions): { fuel: number; pages: number } {
  const fuel = checkFuel(options.fuel ?? DEFAULT_FUEL_PER_CALL)
  const pages = options.memoryPages ?? DEFAULT_MEMORY_PAGES
  if (!Number.isSafeInteger(pages) || pages < 1 || pages > MAX_MEMORY_PAGES) {
    throw new OutOfRangeError(`memoryPages out of range [1, ${MAX_MEMORY_PAGES}]`, { field: 'memoryPages', value: pages })
  }
  return { fuel, pages }
}

function refuse(reason: string, details: Record<string, unknown> = {}): never {
  throw new AppModuleError(`app module refused: ${reason}`, { reason, ...details })
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
