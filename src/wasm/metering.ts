// Fuel metering and a deterministic stack limit, injected with binaryen (DESIGN §9, WASM row;
// docs/architecture/app-abi.md, "Limits and failures"). The result depends only on the module bytes, the
// binaryen version and the memory cap, so every node charges the same fuel for the same call and refuses
// the same calls.
//
// - Fuel: an exported mutable i32 global. Each function charges, on entry, the static count of its
//   instructions outside loops; each loop charges, at its header (every iteration), the static count of
//   its body outside nested loops. Both arms of an `if` are charged: an overestimate, but a static one, so
//   the check costs one subtraction and one branch per function call or loop iteration. Every backward
//   jump in WebAssembly goes through a loop header and every call through a function entry, so a call's
//   work is bounded by its budget. `memory.copy`, `memory.fill` and `memory.init` also charge their size
//   (limits.ts, BULK_MEMORY_BYTES_PER_FUEL). The charge is subtracted first and checked after: a negative
//   counter after a trap means "out of fuel", as opposed to the app's own `unreachable`.
// - Stack: V8's native stack limit differs between machines and compiler tiers (limits.ts,
//   MAX_STACK_UNITS), so each function adds its frame cost to a second global on entry, traps past the
//   budget, and subtracts it on every way out (end of body, `return`).
// - Memory: `memory.grow` past the host's cap would return -1 and let the app carry on; the ABI says the
//   call fails, so a grow that cannot succeed sets a flag global and traps.
//
// binaryen facts used here: new locals come from the C API `_BinaryenFunctionAddVar` (binaryen.js exports
// it but its typings do not); children are replaced in place through `forEachChild` (validate.ts); a block
// built with type `auto` takes the type of its last child, so wrapping never changes a parent's type.
import binaryen from 'binaryen'
import { InvariantError } from '../core/errors.js'
import { BULK_MEMORY_BYTES_PER_FUEL, MAX_STACK_UNITS, STACK_UNITS_PER_FRAME } from './limits.js'
import { BEGIN_EXPORT, FUEL_EXPORT, MEMORY_EXCEEDED_EXPORT, STACK_EXPORT } from './abi.js'
import { accessors, forEachChild } from './validate.js'

type Ref = number

export { BEGIN_EXPORT, FUEL_EXPORT, MEMORY_EXCEEDED_EXPORT, STACK_EXPORT } from './abi.js'

export interface MeteringOptions {
  /** Fuel the counter starts with: what the module's start function (if any) may spend. */
  readonly initialFuel: number
  /** The host memory's maximum in pages: a `memory.grow` beyond it traps. */
  readonly memoryPagesMax: number
  /** An exported function of no arguments for BEGIN_EXPORT to call (the ABI's `reset`); none: no begin. */
  readonly resetExport?: string
}

interface Globals {
  readonly fuel: string
  readonly stack: string
  readonly memoryExceeded: string
}

interface AddVar {
  _BinaryenFunctionAddVar(func: binaryen.FunctionRef, type: binaryen.Type): number
}
const addVar = (binaryen as unknown as AddVar)._BinaryenFunctionAddVar
if (typeof addVar !== 'function') throw new InvariantError('binaryen.js lacks _BinaryenFunctionAddVar')

/**
 * Instruments every function of a checked module (checkAppModule) in place and adds the exported globals
 * FUEL_EXPORT, STACK_EXPORT and MEMORY_EXCEEDED_EXPORT.
 */
export function meterModule(module: binaryen.Module, options: MeteringOptions): void {
  const taken = new Set<string>()
  for (let i = 0; i < module.getNumGlobals(); i++) taken.add(binaryen.getGlobalInfo(module.getGlobalByIndex(i)).name)
  for (let i = 0; i < module.getNumFunctions(); i++) taken.add(binaryen.getFunctionInfo(module.getFunctionByIndex(i)).name)
  const unique = (name: string): string => {
    let candidate = name
    for (let n = 1; taken.has(candidate); n++) candidate = `${name}_${n}`
    taken.add(candidate)
    return candidate
  }
  const globals: Globals = { fuel: unique(FUEL_EXPORT), stack: unique(STACK_EXPORT), memoryExceeded: unique(MEMORY_EXCEEDED_EXPORT) }
  // Instrument before adding the globals' exports, so the walk sees only the app's own functions.
  for (let i = 0; i < module.getNumFunctions(); i++) meterFunction(module, module.getFunctionByIndex(i), globals, options)
  module.addGlobal(globals.fuel, binaryen.i32, true, module.i32.const(options.initialFuel))
  module.addGlobal(globals.stack, binaryen.i32, true, module.i32.const(0))
  module.addGlobal(globals.memoryExceeded, binaryen.i32, true, module.i32.const(0))
  // Exporting a mutable global is the mutable-globals feature (in every engine the runtime supports).
  module.setFeatures(module.getFeatures() | binaryen.Features.MutableGlobals)
  module.addGlobalExport(globals.fuel, FUEL_EXPORT)
  module.addGlobalExport(globals.stack, STACK_EXPORT)
  module.addGlobalExport(globals.memoryExceeded, MEMORY_EXCEEDED_EXPORT)
  if (options.resetExport !== undefined) {
    // Added after instrumenting: host glue, not app code; the reset it calls is metered as usual.
    const reset = binaryen.getExportInfo(module.getExport(options.resetExport)).value
    const begin = unique(BEGIN_EXPORT)
    const body = module.block(null, [module.global.set(globals.fuel, module.local.get(0, binaryen.i32)), module.call(reset, [], binaryen.none)], binaryen.none)
    module.addFunction(begin, binaryen.i32, binaryen.none, [], body)
    module.addFunctionExport(begin, BEGIN_EXPORT)
  }
}

interface Walked {
  /** Instruction counts per region: [0] the function outside loops, then one per loop. */
  readonly counts: number[]
  readonly loops: { readonly expr: Ref; readonly region: number }[]
  readonly returns: { readonly expr: Ref; readonly replace: (next: Ref) => void }[]
  readonly bulk: Ref[]
  readonly grows: Ref[]
  readonly nesting: number
}

function walk(body: Ref, replaceBody: (next: Ref) => void): Walked {
  const counts = [0]
  const walked: Omit<Walked, 'nesting'> = { counts, loops: [], returns: [], bulk: [], grows: [] }
  let nesting = 0
  const pending = [{ expr: body, depth: 1, region: 0, replace: replaceBody }]
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    const { expr, depth, replace } = item
    counts[item.region]! += 1
    nesting = Math.max(nesting, depth)
    const id = binaryen.getExpressionId(expr)
    let region = item.region
    if (id === binaryen.LoopId) {
      region = counts.push(0) - 1
      walked.loops.push({ expr, region })
    } else if (id === binaryen.ReturnId) walked.returns.push({ expr, replace })
    else if (id === binaryen.MemoryCopyId || id === binaryen.MemoryFillId || id === binaryen.MemoryInitId) walked.bulk.push(expr)
    else if (id === binaryen.MemoryGrowId) walked.grows.push(expr)
    forEachChild(expr, (child, replaceChild) => pending.push({ expr: child, depth: depth + 1, region, replace: replaceChild }))
  }
  return { ...walked, nesting }
}

function meterFunction(module: binaryen.Module, func: binaryen.FunctionRef, globals: Globals, options: MeteringOptions): void {
  const fn = accessors.Function
  const walked = walk(fn.getBody(func), (next) => fn.setBody(func, next))
  const result = fn.getResults(func)
  // One temporary per type is enough: each is set and read back with nothing in between that could
  // reach another use of it (the wrapped value is fully evaluated before the set).
  const resultTemp = result === binaryen.none ? -1 : addVar(func, result)
  const i32Temp = walked.bulk.length + walked.grows.length === 0 ? -1 : result === binaryen.i32 ? resultTemp : addVar(func, binaryen.i32)
  const frameUnits = STACK_UNITS_PER_FRAME + fn.getNumLocals(func) + walked.nesting

  const i32 = (value: number) => module.i32.const(value)
  const get = (name: string) => module.global.get(name, binaryen.i32)
  const fuelLow = () => module.i32.lt_s(get(globals.fuel), i32(0))
  const charge = (amount: Ref) => module.global.set(globals.fuel, module.i32.sub(get(globals.fuel), amount))
  const leave = () => module.global.set(globals.stack, module.i32.sub(get(globals.stack), i32(frameUnits)))
  const block = (children: Ref[]) => module.block(null, children, binaryen.auto)

  for (const { expr, replace } of walked.returns) {
    const value = accessors.Return.getValue(expr)
    if (value === 0) replace(block([leave(), expr]))
    else accessors.Return.setValue(expr, block([module.local.set(resultTemp, value), leave(), module.local.get(resultTemp, result)]))
  }
  for (const expr of walked.bulk) {
    const kind = accessors[kindOf(expr)]
    const size = kind.getSize(expr)
    kind.setSize(
      expr,
      block([
        module.local.set(i32Temp, size),
        charge(module.i32.div_u(module.local.get(i32Temp, binaryen.i32), i32(BULK_MEMORY_BYTES_PER_FUEL))),
        module.if(fuelLow(), module.unreachable()),
        module.local.get(i32Temp, binaryen.i32),
      ]),
    )
  }
  for (const expr of walked.grows) {
    const delta = accessors.MemoryGrow.getDelta(expr)
    const pagesLeft = module.i32.sub(i32(options.memoryPagesMax), module.memory.size())
    accessors.MemoryGrow.setDelta(
      expr,
      block([
        module.local.set(i32Temp, delta),
        module.if(module.i32.gt_u(module.local.get(i32Temp, binaryen.i32), pagesLeft), block([module.global.set(globals.memoryExceeded, i32(1)), module.unreachable()])),
        module.local.get(i32Temp, binaryen.i32),
      ]),
    )
  }
  for (const { expr, region } of walked.loops) {
    const cost = Math.max(1, walked.counts[region]!)
    accessors.Loop.setBody(expr, block([charge(i32(cost)), module.if(fuelLow(), module.unreachable()), accessors.Loop.getBody(expr)]))
  }
  const body = fn.getBody(func)
  const enter = [
    charge(i32(Math.max(1, walked.counts[0]!))),
    module.global.set(globals.stack, module.i32.add(get(globals.stack), i32(frameUnits))),
    module.if(module.i32.or(fuelLow(), module.i32.gt_u(get(globals.stack), i32(MAX_STACK_UNITS))), module.unreachable()),
  ]
  fn.setBody(
    func,
    result === binaryen.none
      ? block([...enter, body, leave()])
      : block([...enter, module.local.set(resultTemp, body), leave(), module.local.get(resultTemp, result)]),
  )
}

function kindOf(expr: Ref): 'MemoryCopy' | 'MemoryFill' | 'MemoryInit' {
  const id = binaryen.getExpressionId(expr)
  return id === binaryen.MemoryCopyId ? 'MemoryCopy' : id === binaryen.MemoryFillId ? 'MemoryFill' : 'MemoryInit'
}
