// The watchtower's limits (STYLE §1), each with its reason. A watchtower holds other people's states and is
// fed files by its operator: every list it reads and every loop it runs has a bound here.

/**
 * The most channels one custody holds (default; `--max-channels` may lower or raise it). A held ledger
 * state is a few KB (at most ~0.5 MB with 1,024 guarantees), kept in memory and checked at every start.
 */
export const DEFAULT_MAX_CHANNELS = 10_000
/** A hand-over file: a custody's worth of typical channels fits; a bigger file is refused before parsing. */
export const MAX_HANDOVER_BYTES = 32 * 1024 * 1024
/** Channels in one hand-over file (no more than a custody can hold). */
export const MAX_HANDOVER_CHANNELS = DEFAULT_MAX_CHANNELS
/**
 * States in one entry's proof: the adjudicator's apps take none (consensus) or one (the payment app's
 * postfund); a longer proof is nothing the watchtower can check, so it is refused before its signatures are.
 */
export const MAX_PROOF_STATES = 1
/** One held channel's file: the largest entry the limits above allow, with room for JSON's verbosity. */
export const MAX_CHANNEL_FILE_BYTES = 4 * 1024 * 1024

/**
 * A refused checkpoint is tried again after this delay, doubling up to RETRY_MAX_DELAY_MS, while the
 * challenge it answers is still open (as the node's disputes retry, ADR 0020): a chain node that is down or
 * a fee spike passes; a challenge that finalized ends the retries.
 */
export const RETRY_FIRST_DELAY_MS = 2_000
export const RETRY_MAX_DELAY_MS = 60_000
/** How often `run` looks in its data dir for hand-overs `add` wrote meanwhile (only changed files are read). */
export const CUSTODY_REFRESH_MS = 5_000
/** The chain cursor is written at most this often (the start-up status check covers what a crash loses). */
export const CURSOR_FLUSH_MS = 1_000
/** Status reads in flight at once in the start-up check of every held channel. */
export const STATUS_CHECK_CONCURRENCY = 8
