// Typed errors of the engine's API and inputs.
import { OperatingError, RejectedInputError } from '../core/errors.js'

export class NoSuchLedgerError extends RejectedInputError {
  readonly code = 'no_such_ledger'
}
export class NoSuchObjectiveError extends RejectedInputError {
  readonly code = 'no_such_objective'
}
export class ObjectiveExistsError extends RejectedInputError {
  readonly code = 'objective_exists'
}
/** The engine stopped (closed, or a commit failed): it accepts no more inputs. */
export class EngineStoppedError extends OperatingError {
  readonly code = 'engine_stopped'
}
