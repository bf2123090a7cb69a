// The names and engine API the app runtime shares between its two paths (docs/architecture/app-abi.md): the
// binaryen path that checks and meters a module (validate.ts, metering.ts, wasmRuntime.ts) and the prepared
// path that runs a module metered ahead of time (preparedRuntime.ts). Nothing here imports binaryen, so the
// prepared path stays free of it (binaryen's 13 MB index.js costs ~6 s to load under tsx).

/** The engine's WebAssembly API as this layer uses it (the project's TypeScript libs do not declare it). */
export interface WasmEngine {
  validate(bytes: Uint8Array): boolean
  Module: {
    new (bytes: Uint8Array): object
    imports(module: object): { module: string; name: string; kind: string }[]
    exports(module: object): { name: string; kind: string }[]
  }
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> }
  Memory: new (descriptor: { initial: number; maximum: number }) => { readonly buffer: ArrayBuffer }
  RuntimeError: new (...args: never[]) => Error
  LinkError: new (...args: never[]) => Error
}
export const webAssembly = (globalThis as unknown as { WebAssembly: WasmEngine }).WebAssembly

/** Export names the runtime adds to a module when it meters it (metering.ts); an app may not use them. */
export const RESERVED_EXPORT_PREFIX = '__channels_'

/** The ABI's exports: parameter count (all i32) and whether the function returns an i32. */
export const ABI_EXPORTS: Readonly<Record<string, { readonly params: number; readonly result: boolean }>> = {
  alloc: { params: 1, result: true },
  reset: { params: 0, result: false },
  init: { params: 2, result: true },
  apply: { params: 5, result: true },
  outcome: { params: 2, result: true },
  isFinal: { params: 2, result: true },
  whoseTurn: { params: 2, result: true },
}

/** Exported globals the host reads and writes: fuel left, stack units in use, memory cap hit (0 or 1). */
export const FUEL_EXPORT = `${RESERVED_EXPORT_PREFIX}fuel`
export const STACK_EXPORT = `${RESERVED_EXPORT_PREFIX}stack`
export const MEMORY_EXCEEDED_EXPORT = `${RESERVED_EXPORT_PREFIX}memory_exceeded`
/**
 * `begin(fuel)`: sets the fuel counter and calls the app's reset export, the host's two steps before every
 * top-level call in one crossing into WebAssembly (a Global's setter costs about twice a call).
 */
export const BEGIN_EXPORT = `${RESERVED_EXPORT_PREFIX}begin`
