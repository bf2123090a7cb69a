// The watchtower's typed errors (STYLE §3). Each is a refusal of input from outside — a hand-over file, a
// custody file, a chain that is not the custody's — that leaves the process running, or a refusal to start.
import { RejectedInputError } from '../core/errors.js'

/** An entry's channel id is not the id of its states' fixed part. */
export class ChannelIdMismatchError extends RejectedInputError {
  readonly code = 'channel_id_mismatch'
}

/**
 * The states of an entry are not a pair the adjudicator would accept as supported: a candidate not signed by
 * every participant without proof, a payment channel's redemption without its postfund, a proof for an app
 * that takes none, states of two channels.
 */
export class UnsupportedStateError extends RejectedInputError {
  readonly code = 'unsupported_state'
}

/** A hand-over names another chain, adjudicator or payment app than the custody it is handed to. */
export class CustodyMismatchError extends RejectedInputError {
  readonly code = 'custody_mismatch'
}

/** The custody holds its maximum number of channels: a hand-over of more is refused whole. */
export class CustodyFullError extends RejectedInputError {
  readonly code = 'custody_full'
}
