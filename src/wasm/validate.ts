// Module checks (docs/architecture/app-abi.md, "What a module may contain"; DESIGN §9, WASM row): before a
// single instruction runs, an app module must import only `env.memory`, use no floating point anywhere
// (signatures, locals, globals, instructions), use only the instructions the runtime knows how to meter,
// and export the ABI's functions with their exact signatures. Anything else is refused with AppModuleError.
//
// The engine validates the bytes first (WebAssembly.validate), so binaryen only ever reads well-formed
// modules. binaryen.js facts this file relies on (binaryen 131):
// - Expression ids must be read from the runtime constants (`binaryen.BlockId`, ...): the `ExpressionIds`
//   const enum in its index.d.ts is out of date (it says Block = 2, the library says 1).
// - `getExpressionInfo` describes one node; reading and replacing children goes through the untyped
//   per-kind classes (`binaryen.If.getCondition(expr)`, `binaryen.Block.setChildAt(expr, i, child)`),
//   typed below as `Accessors`.
// - It throws plain objects with a `message`, not Error instances; they are kept as `cause`.
// - Reading a binary drops dead code after an `unreachable`, and its reader accepts instructions outside
//   the features it was given, so the instruction allowlist below is the real feature check.
import binaryen from 'binaryen'
import { InvariantError } from '../core/errors.js'
import { AppModuleError } from './errors.js'
import { MAX_EXPRESSION_DEPTH, MAX_MODULE_BYTES } from './limits.js'
import { ABI_EXPORTS, RESERVED_EXPORT_PREFIX, webAssembly } from './abi.js'

type Ref = number

export type { WasmEngine } from './abi.js'
export { webAssembly, RESERVED_EXPORT_PREFIX, ABI_EXPORTS } from './abi.js'

/**
 * Features binaryen reads and writes app modules with: what AssemblyScript emits for integer code
 * (sign extension, mutable globals, bulk memory). Bulk memory also makes binaryen write the DataCount
 * section that `memory.init` needs. Floats, SIMD, threads, references, exceptions and tail calls are out.
 */
export const APP_FEATURES =
  binaryen.Features.MutableGlobals | binaryen.Features.SignExt | binaryen.Features.BulkMemory | binaryen.Features.BulkMemoryOpt

/** What the runtime needs to know about a checked module to host it. */
export interface AppModuleShape {
  /** Pages the module's `env.memory` import asks for at least, and at most if it says. */
  readonly memoryInitialPages: number
  readonly memoryMaximumPages: number | undefined
}

function refuse(reason: string, details: Record<string, unknown> = {}, cause?: unknown): never {
  throw new AppModuleError(`app module refused: ${reason}`, { reason, ...details }, cause === undefined ? undefined : { cause })
}

/**
 * Reads module bytes into binaryen after the size cap and the engine's own validation.
 *
 * @returns a binaryen module the caller must `dispose()`
 * @throws AppModuleError (`app_module`): too large, not WebAssembly, or unreadable by binaryen
 */
export function readAppModule(bytes: Uint8Array): binaryen.Module {
  if (bytes.length > MAX_MODULE_BYTES) refuse('module too large', { bytes: bytes.length, max: MAX_MODULE_BYTES })
  if (!webAssembly.validate(bytes)) {
    let cause: unknown
    try {
      new webAssembly.Module(bytes)
    } catch (error) {
      cause = error
    }
    refuse('not a valid WebAssembly module', {}, cause)
  }
  try {
    return binaryen.readBinaryWithFeatures(bytes, APP_FEATURES)
  } catch (error) {
    return refuse('binaryen cannot read the module', {}, error)
  }
}

/**
 * Checks a module against the ABI: imports, exports, types and every instruction of every function.
 *
 * @throws AppModuleError (`app_module`) with `details.reason` naming the first rule broken
 */
export function checkAppModule(module: binaryen.Module): AppModuleShape {
  const shape = checkMemory(module)
  checkExports(module)
  for (let i = 0; i < module.getNumGlobals(); i++) {
    const global = binaryen.getGlobalInfo(module.getGlobalByIndex(i))
    if (isImport(global)) refuse('imports other than env.memory', { import: `${global.module}.${global.base}` })
    if (!isIntegerType(global.type)) refuse(isFloatType(global.type) ? 'floating point global' : 'non-integer global', { global: global.name, type: typeName(global.type) })
  }
  for (let i = 0; i < module.getNumTables(); i++) {
    const table = binaryen.getTableInfo(module.getTableByIndex(i))
    if (isImport(table)) refuse('imports other than env.memory', { import: `${table.module}.${table.base}` })
  }
  for (let i = 0; i < module.getNumFunctions(); i++) checkFunction(module.getFunctionByIndex(i))
  return shape
}

function checkMemory(module: binaryen.Module): AppModuleShape {
  if (!module.hasMemory()) refuse('no env.memory import')
  const memory = module.getMemoryInfo()
  if (memory.module !== 'env' || memory.base !== 'memory') refuse('memory must be imported as env.memory', { module: memory.module, base: memory.base })
  if (memory.shared || memory.is64) refuse('memory must be unshared and 32-bit')
  return { memoryInitialPages: memory.initial, memoryMaximumPages: memory.max }
}

function checkExports(module: binaryen.Module): void {
  const found = new Map<string, binaryen.ExportInfo>()
  for (let i = 0; i < module.getNumExports(); i++) {
    const info = binaryen.getExportInfo(module.getExportByIndex(i))
    if (info.name.startsWith(RESERVED_EXPORT_PREFIX)) refuse('reserved export name', { export: info.name })
    found.set(info.name, info)
  }
  for (const [name, expected] of Object.entries(ABI_EXPORTS)) {
    const info = found.get(name)
    if (info === undefined || info.kind !== binaryen.ExternalFunction) refuse('missing ABI export', { export: name })
    const fn = binaryen.getFunctionInfo(module.getFunction(info.value))
    const params = binaryen.expandType(fn.params)
    const results = binaryen.expandType(fn.results)
    const matches =
      params.length === expected.params &&
      params.every((t) => t === binaryen.i32) &&
      (expected.result ? results.length === 1 && results[0] === binaryen.i32 : results.length === 0)
    if (!matches) refuse('ABI export has the wrong signature', { export: name, params: params.map(typeName), results: results.map(typeName) })
  }
}

function checkFunction(func: binaryen.FunctionRef): void {
  const fn = binaryen.getFunctionInfo(func)
  if (isImport(fn)) refuse('imports other than env.memory', { import: `${fn.module}.${fn.base}` })
  const params = binaryen.expandType(fn.params)
  const results = binaryen.expandType(fn.results)
  if (results.length > 1) refuse('multiple results', { function: fn.name })
  for (const type of [...params, ...results, ...fn.vars]) {
    if (!isIntegerType(type)) {
      refuse(isFloatType(type) ? 'floating point in a signature or local' : 'non-integer signature or local', { function: fn.name, type: typeName(type) })
    }
  }
  const pending: { expr: Ref; depth: number }[] = [{ expr: fn.body, depth: 1 }]
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    const { expr, depth } = item
    if (depth > MAX_EXPRESSION_DEPTH) refuse('expressions nested too deeply', { function: fn.name, max: MAX_EXPRESSION_DEPTH })
    checkExpression(expr, fn.name)
    forEachChild(expr, (child) => pending.push({ expr: child, depth: depth + 1 }))
  }
}

function checkExpression(expr: Ref, functionName: string): void {
  const id = binaryen.getExpressionId(expr)
  if (!LEAF_IDS.has(id) && !VARIADIC_IDS.has(id) && !FIXED_SLOTS.has(id)) {
    refuse('instruction outside the allowed set (floats, SIMD, atomics, references, tables, exceptions)', { function: functionName, expressionId: id })
  }
  const type = binaryen.getExpressionType(expr)
  const floatOp =
    (id === binaryen.UnaryId && FLOAT_UNARY_OPS.has(accessors.Unary.getOp(expr))) ||
    (id === binaryen.BinaryId && FLOAT_BINARY_OPS.has(accessors.Binary.getOp(expr))) ||
    (id === binaryen.StoreId && isFloatType(accessors.Store.getValueType(expr)))
  if (floatOp || isFloatType(type)) refuse('floating point instruction', { function: functionName })
  if (!isIntegerType(type) && type !== binaryen.none && type !== binaryen.unreachable) {
    refuse('non-integer value (SIMD or reference)', { function: functionName, type: typeName(type) })
  }
  if ((id === binaryen.CallId && accessors.Call.isReturn(expr)) || (id === binaryen.CallIndirectId && accessors.CallIndirect.isReturn(expr))) {
    refuse('tail calls', { function: functionName })
  }
  if ((id === binaryen.LoadId && accessors.Load.isAtomic(expr)) || (id === binaryen.StoreId && accessors.Store.isAtomic(expr))) {
    refuse('atomic memory access', { function: functionName })
  }
}

/**
 * binaryen reports a definition's module as '' (its typings say null), so an import from a module named ''
 * would pass here; the runtime checks the engine's own import list of the final module as well.
 */
function isImport(info: { readonly module: string | null }): boolean {
  return info.module !== null && info.module !== ''
}

function isFloatType(type: binaryen.Type): boolean {
  return type === binaryen.f32 || type === binaryen.f64
}

function isIntegerType(type: binaryen.Type): boolean {
  return type === binaryen.i32 || type === binaryen.i64
}

function typeName(type: binaryen.Type): string {
  const names: [binaryen.Type, string][] = [
    [binaryen.none, 'none'],
    [binaryen.i32, 'i32'],
    [binaryen.i64, 'i64'],
    [binaryen.f32, 'f32'],
    [binaryen.f64, 'f64'],
    [binaryen.v128, 'v128'],
  ]
  return names.find(([t]) => t === type)?.[1] ?? `type ${type}`
}

// ---- Walking binaryen expressions ---------------------------------------------------------------------

type Getter = (expr: Ref) => Ref
type Setter = (expr: Ref, child: Ref) => void
interface Accessors {
  readonly Block: { getNumChildren(e: Ref): number; getChildAt(e: Ref, i: number): Ref; setChildAt(e: Ref, i: number, c: Ref): void }
  readonly Call: { getNumOperands(e: Ref): number; getOperandAt(e: Ref, i: number): Ref; setOperandAt(e: Ref, i: number, c: Ref): void; isReturn(e: Ref): boolean }
  readonly CallIndirect: Accessors['Call'] & { getTarget: Getter; setTarget: Setter }
  readonly Unary: { getOp(e: Ref): number }
  readonly Binary: { getOp(e: Ref): number }
  readonly Load: { isAtomic(e: Ref): boolean }
  readonly Store: { getValueType(e: Ref): binaryen.Type; isAtomic(e: Ref): boolean }
  readonly Function: { getBody(f: binaryen.FunctionRef): Ref; setBody(f: binaryen.FunctionRef, body: Ref): void; getResults(f: binaryen.FunctionRef): binaryen.Type; getNumLocals(f: binaryen.FunctionRef): number }
  readonly Return: { getValue: Getter; setValue: Setter }
  readonly Loop: { getBody: Getter; setBody: Setter }
  readonly MemoryGrow: { getDelta: Getter; setDelta: Setter }
  readonly MemoryCopy: { getSize: Getter; setSize: Setter }
  readonly MemoryFill: { getSize: Getter; setSize: Setter }
  readonly MemoryInit: { getSize: Getter; setSize: Setter }
  readonly [kind: string]: unknown
}
/** binaryen.js's per-kind expression classes; see the file comment. */
export const accessors = binaryen as unknown as Accessors

/** Instructions without children. */
const LEAF_IDS = new Set([
  binaryen.ConstId,
  binaryen.LocalGetId,
  binaryen.GlobalGetId,
  binaryen.NopId,
  binaryen.UnreachableId,
  binaryen.MemorySizeId,
  binaryen.DataDropId,
])
/** Instructions with a list of children. */
const VARIADIC_IDS = new Set([binaryen.BlockId, binaryen.CallId, binaryen.CallIndirectId])
/** Instructions with named children, in evaluation order: binaryen class and field names. */
const FIXED_SLOTS = new Map<number, readonly [kind: string, fields: readonly string[]]>([
  [binaryen.IfId, ['If', ['Condition', 'IfTrue', 'IfFalse']]],
  [binaryen.LoopId, ['Loop', ['Body']]],
  [binaryen.BreakId, ['Break', ['Value', 'Condition']]],
  [binaryen.SwitchId, ['Switch', ['Value', 'Condition']]],
  [binaryen.LocalSetId, ['LocalSet', ['Value']]],
  [binaryen.GlobalSetId, ['GlobalSet', ['Value']]],
  [binaryen.LoadId, ['Load', ['Ptr']]],
  [binaryen.StoreId, ['Store', ['Ptr', 'Value']]],
  [binaryen.UnaryId, ['Unary', ['Value']]],
  [binaryen.BinaryId, ['Binary', ['Left', 'Right']]],
  [binaryen.SelectId, ['Select', ['IfTrue', 'IfFalse', 'Condition']]],
  [binaryen.DropId, ['Drop', ['Value']]],
  [binaryen.ReturnId, ['Return', ['Value']]],
  [binaryen.MemoryGrowId, ['MemoryGrow', ['Delta']]],
  [binaryen.MemoryCopyId, ['MemoryCopy', ['Dest', 'Source', 'Size']]],
  [binaryen.MemoryFillId, ['MemoryFill', ['Dest', 'Value', 'Size']]],
  [binaryen.MemoryInitId, ['MemoryInit', ['Dest', 'Offset', 'Size']]],
])
/** The same table resolved to functions once, checking that binaryen.js still has every accessor. */
const SLOT_ACCESSORS = new Map<number, readonly (readonly [Getter, Setter])[]>(
  [...FIXED_SLOTS].map(([id, [kind, fields]]) => {
    const methods = accessors[kind] as Record<string, unknown> | undefined
    const slots = fields.map((field) => {
      const get = methods?.[`get${field}`]
      const set = methods?.[`set${field}`]
      if (typeof get !== 'function' || typeof set !== 'function') throw new InvariantError(`binaryen.js lacks ${kind}.get/set${field}`)
      return [get as Getter, set as Setter] as const
    })
    return [id, slots] as const
  }),
)

/**
 * Calls `visit` for each child of an allowed expression, with a function that replaces that child in
 * place. Children of kinds outside the allowed set are not visited (checkAppModule refuses them first).
 */
export function forEachChild(expr: Ref, visit: (child: Ref, replace: (next: Ref) => void) => void): void {
  const id = binaryen.getExpressionId(expr)
  const slots = SLOT_ACCESSORS.get(id)
  if (slots !== undefined) {
    for (const [get, set] of slots) {
      const child = get(expr)
      if (child !== 0) visit(child, (next) => set(expr, next))
    }
    return
  }
  if (id === binaryen.BlockId) {
    const block = accessors.Block
    const count = block.getNumChildren(expr)
    for (let i = 0; i < count; i++) visit(block.getChildAt(expr, i), (next) => block.setChildAt(expr, i, next))
  } else if (id === binaryen.CallId || id === binaryen.CallIndirectId) {
    const call = id === binaryen.CallId ? accessors.Call : accessors.CallIndirect
    const count = call.getNumOperands(expr)
    for (let i = 0; i < count; i++) visit(call.getOperandAt(expr, i), (next) => call.setOperandAt(expr, i, next))
    if (id === binaryen.CallIndirectId) {
      const target = accessors.CallIndirect
      visit(target.getTarget(expr), (next) => target.setTarget(expr, next))
    }
  }
}

// Operations on f32 or f64 (conversions and reinterpretations included). Unary and binary operations are
// two enums in binaryen whose values overlap, so they are two sets. A float operation that runs always has
// a float operand or result, which the type check already refuses; these sets also refuse one whose
// operands never return.
const NUMERIC_CONSTANTS = Object.entries(binaryen as unknown as Record<string, unknown>).filter(
  (entry): entry is [string, number] => typeof entry[1] === 'number',
)
const BINARY_FLOAT = /^(Add|Sub|Mul|Div|CopySign|Min|Max|Eq|Ne|Lt|Le|Gt|Ge)Float(32|64)$/
const FLOAT_BINARY_OPS = new Set(NUMERIC_CONSTANTS.filter(([name]) => BINARY_FLOAT.test(name)).map(([, op]) => op))
const FLOAT_UNARY_OPS = new Set(
  NUMERIC_CONSTANTS.filter(([name]) => !BINARY_FLOAT.test(name) && /Float(32|64)|^ReinterpretInt(32|64)$/.test(name)).map(([, op]) => op),
)
if (FLOAT_BINARY_OPS.size !== 26 || FLOAT_UNARY_OPS.size !== 44) throw new InvariantError('binaryen.js float operation names changed')
