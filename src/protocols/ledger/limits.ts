// Limits of the consensus-channel protocol, each with its reason (STYLE §1).

/** Proposals a leader may have outstanding: bounds the follower's buffer and the leader's replay work. */
export const MAX_QUEUED_PROPOSALS = 1024
/** Future-turn proposals a follower buffers while an earlier one is missing (at most the leader's queue). */
export const MAX_BUFFERED_PROPOSALS = MAX_QUEUED_PROPOSALS
/** Guarantees one ledger holds at once: each is an allocation the adjudicator loops over on chain. */
export const MAX_GUARANTEES = 1000
