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
