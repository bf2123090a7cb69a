// Typed errors of the app runtime (STYLE §3, docs/architecture/app-abi.md). Both are refusals of outside
// input: a module nobody may run, or a state the module cannot answer for. Neither stops the node.
import { RejectedInputError } from '../core/errors.js'

/**
 * A module the runtime refuses before running a single instruction (app-abi.md, "What a module may
 * contain"): not WebAssembly, too large, an import other than `env.memory`, floating point, an instruction
 * outside the allowed set, a missing or mistyped export. `details.reason` names the rule it broke.
 */
export class AppModuleError extends RejectedInputError {
  readonly code = 'app_module'
}

/**
 * A call into the app failed: a trap, out of fuel, the call stack or memory cap, or a result that breaks
 * the ABI (out of bounds, wrong count, a value outside its range). `outcome`, `isFinal` and `whoseTurn`
 * throw it; `init` and `apply` report the same failures as an AppRejection with `reason` =
 * `details.reason`.
 */
export class AppCallError extends RejectedInputError {
  readonly code = 'app_call'
}

/**
 * The `code` of an AppRejection a runtime makes itself (a trap, out of fuel, the memory cap, a malformed
 * result, an input over its size limit); its `reason` says which. Apps reject with codes ≥ 1.
 */
export const RUNTIME_REJECTION_CODE = 0
