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
/** The node has no module for the app a channel names (EngineOptions.apps). */
export class UnknownAppError extends RejectedInputError {
  readonly code = 'unknown_app'
}
/** The node's app policy (EngineOptions.appPolicy) declined a channel a peer opened. */
export class AppDeclinedError extends RejectedInputError {
  readonly code = 'app_declined'
}
export class NoSuchAppChannelError extends RejectedInputError {
  readonly code = 'no_such_app_channel'
}
/** An app channel with this id exists with another definition (the id covers only the fixed part). */
export class ConflictingDefinitionError extends RejectedInputError {
  readonly code = 'conflicting_definition'
}
/** A timeout event before the channel's moveTimeout passed since its latest turn was signed by all (by this node's clock). */
export class TimeoutTooEarlyError extends RejectedInputError {
  readonly code = 'timeout_too_early'
}
/** A peer asked for a ledger change that no objective of this node expects (ADR 0015): its numbers are not taken on trust. */
export class UnsolicitedLedgerUpdateError extends RejectedInputError {
  readonly code = 'unsolicited_ledger_update'
}
/** A peer rejected an objective both already signed into effect (a ledger's prefund, its final state). */
export class RejectionTooLateError extends RejectedInputError {
  readonly code = 'rejection_too_late'
}
/** A sync request while my reply to the last one is unacknowledged (one reply in flight per ledger and peer). */
export class SyncInFlightError extends RejectedInputError {
  readonly code = 'sync_in_flight'
}
/** The deployed payment app cannot settle payment channels in this asset (the official one takes only ETH). */
export class PaymentAssetUnsupportedError extends RejectedInputError {
  readonly code = 'payment_asset_unsupported'
}
/** No payment channel (or channel of any kind) of this node has that id. */
export class UnknownChannelError extends RejectedInputError {
  readonly code = 'unknown_channel'
}
