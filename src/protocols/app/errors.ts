// Typed errors of the app-channel protocol (STYLE §3). Each refuses input (a local event, a peer's update
// or countersignature, an exported log) with a stable code; none of them is a crash, and a function that
// throws one returns nothing, so nothing is signed and the channel value the caller holds is unchanged.
import { RejectedInputError } from '../../core/errors.js'

/** The runtime passed in does not run the module the channel's genesis committed to. */
export class AppMismatchError extends RejectedInputError {
  readonly code = 'app_mismatch'
}
/** A channel definition (or a genesis event's payload) out of shape: participants, deposits, params. */
export class InvalidDefinitionError extends RejectedInputError {
  readonly code = 'invalid_definition'
}
/** appData that is not the canonical abi.encode(bytes32, uint64, bytes32). */
export class InvalidAppDataError extends RejectedInputError {
  readonly code = 'invalid_app_data'
}
/** An event of the wrong kind or too large. */
export class InvalidEventError extends RejectedInputError {
  readonly code = 'invalid_event'
}
/** An update message out of shape (signature slots, base signatures). */
export class MalformedUpdateError extends RejectedInputError {
  readonly code = 'malformed_update'
}
/** An update is partly signed: nobody proposes the next one until it is signed by all. */
export class UpdateInFlightError extends RejectedInputError {
  readonly code = 'update_in_flight'
}
/** The app state is final: no event can follow. */
export class ChannelFinalError extends RejectedInputError {
  readonly code = 'channel_final'
}
/** The app's whoseTurn names another participant. */
export class WrongTurnError extends RejectedInputError {
  readonly code = 'wrong_turn'
}
/** The event's author is not the participant who sent it. */
export class WrongAuthorError extends RejectedInputError {
  readonly code = 'wrong_author'
}
/** The event does not extend my log head: prevHash, or its hash does not match its contents. */
export class BadLogLinkError extends RejectedInputError {
  readonly code = 'bad_log_link'
}
/**
 * The event's seq is beyond the next one. An honest peer cannot cause it (a later turn needs my signature
 * on the one before); the engine keeps the update and retries it after my log advances, or resyncs.
 */
export class UnexpectedSeqError extends RejectedInputError {
  readonly code = 'unexpected_seq'
}
/**
 * An update for a turn already signed by all here with another state (the update lost a race for it), or
 * for an older turn.
 */
export class StaleUpdateError extends RejectedInputError {
  readonly code = 'stale_update'
}
/**
 * A different update for the turn I hold pending, which I signed already (my proposal or my countersignature):
 * a node never signs two different states at one turn (DESIGN §5), so the turn is contested. If the
 * refused update's author signed it, neither state can be signed by all (appChannel.md, "Contention").
 */
export class ConflictingUpdateError extends RejectedInputError {
  readonly code = 'conflicting_update'
}
/** The event replays to a state other than the one the proposer signed. */
export class ReplayMismatchError extends RejectedInputError {
  readonly code = 'replay_mismatch'
}
/** The app refused the event or params, trapped, or failed on the state it produced. */
export class AppRejectedError extends RejectedInputError {
  readonly code = 'app_rejected'
}
/** The app's outcome is not one u64 weight per participant. */
export class InvalidAppOutcomeError extends RejectedInputError {
  readonly code = 'invalid_app_outcome'
}
/** A signature that does not recover to the participant it claims to be from. */
export class BadSignatureError extends RejectedInputError {
  readonly code = 'bad_signature'
}
/** An update whose base signatures do not make the turn it builds on fully signed. */
export class UnsupportedBaseError extends RejectedInputError {
  readonly code = 'unsupported_base'
}
/** A countersignature for a turn beyond the next one. */
export class UnexpectedTurnError extends RejectedInputError {
  readonly code = 'unexpected_turn'
}
