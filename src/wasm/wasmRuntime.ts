// The WebAssembly AppRuntime with binaryen (DESIGN §4 and §9, issue 7): `WasmAppRuntime.load` checks an app
// module (validate.ts), meters it (metering.ts) and runs it through the ABI of docs/architecture/app-abi.md
// (MeteredAppRuntime, preparedRuntime.ts). `prepareAppModule` is the same check and metering on its own, for
// scripts/buildApps.ts to write apps/build/<name>.metered.wasm, which preparedRuntime.ts then runs without
// binaryen. Importing this file loads binaryen (~6 s under tsx): the node's start path does not.
import binaryen from 'binaryen'
import { keccak256 } from '../core/keccak.js'
import { AppModuleError } from './errors.js'
import { meterModule } from './metering.js'
import { MeteredAppRuntime, checkRuntimeOptions, compileMetered } from './preparedRuntime.js'
import type { WasmAppRuntimeOptions } from './preparedRuntime.js'
import { checkAppModule, readAppModule } from './validate.js'

export type { PreparedAppOptions, WasmAppRuntimeOptions } from './preparedRuntime.js'
export { MeteredAppRuntime } from './preparedRuntime.js'

export class WasmAppRuntime extends MeteredAppRuntime {
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
    return WasmAppRuntime.loadMetered(moduleBytes, options).runtime
  }

  /** `load`, also returning the metered module it runs. */
  static loadMetered(moduleBytes: Uint8Array, options: WasmAppRuntimeOptions = {}): { runtime: WasmAppRuntime; metered: Uint8Array } {
    const { fuel, pages } = checkRuntimeOptions(options)
    const { metered, initialPages, maximumPages } = meter(moduleBytes, fuel, pages)
    const compiled = compileMetered(metered)
    const runtime = MeteredAppRuntime.instantiated(() => new WasmAppRuntime(keccak256(moduleBytes), compiled, fuel, initialPages, maximumPages))
    return { runtime, metered }
  }
}

/**
 * The metered module `WasmAppRuntime.load(moduleBytes, options)` would run, after every check it makes
 * (instantiation included): what `MeteredAppRuntime.fromPrepared(moduleBytes, metered, options)` runs
 * without binaryen.
 *
 * @throws AppModuleError (`app_module`), OutOfRangeError (`out_of_range`): as `WasmAppRuntime.load`
 */
export function prepareAppModule(moduleBytes: Uint8Array, options: WasmAppRuntimeOptions = {}): Uint8Array {
  return WasmAppRuntime.loadMetered(moduleBytes, options).metered
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
    return { metered: emitBinary(module), initialPages, maximumPages }
  } catch (error) {
    // binaryen recurses on the expression tree; MAX_EXPRESSION_DEPTH keeps it well within the JS stack.
    if (error instanceof RangeError) throw new AppModuleError('app module refused: binaryen ran out of stack', { reason: 'too complex' }, { cause: error })
    throw error
  } finally {
    module.dispose()
  }
}

/**
 * binaryen's writer reads process-wide settings: debug info adds a names section, and StackIR optimization
 * (which asc switches on when it emits text, as scripts/buildApps.ts has it do) rewrites function bodies.
 * The metered bytes must not depend on what else ran in the process (apps/build/<name>.metered.wasm is
 * compared byte for byte), so they are written with all three off and the settings are restored after.
 */
function emitBinary(module: binaryen.Module): Uint8Array {
  const saved = { debugInfo: binaryen.getDebugInfo(), generate: binaryen.getGenerateStackIR(), optimize: binaryen.getOptimizeStackIR() }
  binaryen.setDebugInfo(false)
  binaryen.setGenerateStackIR(false)
  binaryen.setOptimizeStackIR(false)
  try {
    return module.emitBinary()
  } finally {
    binaryen.setDebugInfo(saved.debugInfo)
    binaryen.setGenerateStackIR(saved.generate)
    binaryen.setOptimizeStackIR(saved.optimize)
  }
}
