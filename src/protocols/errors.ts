// Typed errors shared by the objectives.
import { RejectedInputError } from '../core/errors.js'

export class UnexpectedStateError extends RejectedInputError {
  readonly code = 'unexpected_state'
}
export class NotAParticipantInputError extends RejectedInputError {
  readonly code = 'not_a_participant'
}
export class UnsupportedChannelError extends RejectedInputError {
  readonly code = 'unsupported_channel'
}
export class LedgerNotEmptyError extends RejectedInputError {
  readonly code = 'ledger_not_empty'
}
