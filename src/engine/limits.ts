// Limits of the engine, each with its reason (STYLE §1).

/** Inputs folded into one group commit: bounds the latency of the first input in a batch. */
export const MAX_INPUTS_PER_COMMIT = 256
/** Unacknowledged outbox entries sent to one peer at once; the rest wait (bounds the receiver's dedupe window). */
export const OUTBOX_WINDOW = 512
/** First retransmission delay (Linux TCP's minimum RTO is 200 ms); doubles per attempt up to the cap. */
export const RETRANSMIT_BASE_MS = 250
export const RETRANSMIT_CAP_MS = 5_000
/** How long an acknowledgement waits for a frame to ride on before it is sent alone; far below RETRANSMIT_BASE_MS. */
export const ACK_DELAY_MS = 5
/** Out-of-order sequence numbers a receiver remembers above its contiguous mark (≥ the sender's window). */
export const MAX_DELIVERED_ABOVE = 4 * OUTBOX_WINDOW
/** Rejections kept in memory for inspection (all are counted; the journal keeps every input). */
export const RECENT_REJECTIONS = 100

// Admission of peer messages (admission.ts): what one peer, and all of them, can make the node queue.
/**
 * Payloads per second a peer may send, sustained, and in a burst (a frame without payloads counts as one): each
 * is handled, and possibly refused, on its own, ~20 µs when refused. A busy payer streams a few thousand
 * payments a second; the burst holds a frame of MAX_PAYLOADS_PER_FRAME several times over.
 */
export const PEER_PAYLOADS_PER_SECOND = 20_000
export const PEER_PAYLOADS_BURST = 40_000
/** Bytes per second a peer may send; the burst holds at least one largest message (MAX_MESSAGE_BYTES, 1 MiB). */
export const PEER_BYTES_PER_SECOND = 16 * 1024 * 1024
export const PEER_BYTES_BURST = 32 * 1024 * 1024
/** A peer's messages waiting to be handled: beyond this its frames are refused until the engine catches up. */
export const MAX_QUEUED_INPUTS_PER_PEER = 2_048
/** All peers' messages waiting to be handled, and their bytes: the queue's memory is bounded (64 MiB). */
export const MAX_QUEUED_PEER_INPUTS = 8_192
export const MAX_QUEUED_PEER_BYTES = 64 * 1024 * 1024
/** Peers whose budgets are remembered; the least recently heard idle ones are forgotten first. */
export const MAX_TRACKED_PEERS = 10_000
/**
 * Objectives one peer may have opening with this node at once (ledgers funding, payment channels funding, app
 * channels not yet signed by all): each is state kept for the peer while it waits on the peer.
 */
export const MAX_OPENING_PER_PEER = 256
/**
 * Work items (a ledger that moved, an objective woken by it) one input may queue before the step is judged not to
 * settle (router.ts drain): far above any honest step (a ledger with MAX_OPENING_PER_PEER updates wakes each of
 * them a few times), and a loud failure instead of a spin.
 */
export const MAX_WORK_ITEMS_PER_INPUT = 1_000_000
/**
 * Answers (refusals of what a peer started, apps' refusal notices) to one peer that may wait in my outbox for its
 * acknowledgement; more go as notices, sent once. An honest peer acknowledges within a round trip, so a burst of
 * refusals fits; a peer that floods me with what I refuse and never acknowledges cannot grow my outbox by it.
 */
export const MAX_ANSWERS_IN_FLIGHT_PER_PEER = 16
