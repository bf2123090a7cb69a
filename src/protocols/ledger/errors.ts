// Typed errors of the consensus-channel protocol. Each is a refusal of input (a peer's proposal, a local
// request that the ledger cannot afford), never a crash.
import { RejectedInputError } from '../../core/errors.js'

export class InsufficientFundsError extends RejectedInputError {
  readonly code = 'insufficient_funds'
}
export class DuplicateGuaranteeError extends RejectedInputError {
  readonly code = 'duplicate_guarantee'
}
export class UnknownGuaranteeError extends RejectedInputError {
  readonly code = 'unknown_guarantee'
}
export class InvalidProposalError extends RejectedInputError {
  readonly code = 'invalid_proposal'
}
export class ConflictingProposalError extends RejectedInputError {
  readonly code = 'conflicting_proposal'
}
export class ProposalBufferFullError extends RejectedInputError {
  readonly code = 'proposal_buffer_full'
}
export class WrongRoleError extends RejectedInputError {
  readonly code = 'wrong_role'
}
export class UnknownTurnError extends RejectedInputError {
  readonly code = 'unknown_turn'
}
export class BadCountersignatureError extends RejectedInputError {
  readonly code = 'bad_countersignature'
}
export class BadProposalSignatureError extends RejectedInputError {
  readonly code = 'bad_proposal_signature'
}
export class LedgerClosingError extends RejectedInputError {
  readonly code = 'ledger_closing'
}
