// Limits of the app-channel protocol, each with its reason (STYLE §1). The app ABI's own bounds
// (docs/architecture/app-abi.md) are wider; these are what one node agrees to hold and replay.

/** An app channel is a game or a shared ledger between people: at least two of them. */
export const MIN_APP_PARTICIPANTS = 2
/**
 * Every update costs N(N−1) messages (the proposal to N−1 peers, then each countersignature to the N−1
 * others) and a checkpoint on chain verifies N signatures; past this the channel is better a ledger.
 */
export const MAX_APP_PARTICIPANTS = 16
/** One event is one move; a move of more than this belongs in the app's state, not in every replay. */
export const MAX_APP_EVENT_BYTES = 64 * 1024
/** The app's params: rules and settings, read once by `init`. */
export const MAX_APP_PARAMS_BYTES = 64 * 1024
/** App state bytes are hashed on every update and kept in every snapshot: a state, not a store. */
export const MAX_APP_STATE_BYTES = 256 * 1024
/**
 * Snapshots of the app state every this many events by default: a state-at-seq query replays at most
 * this many − 1 events after the nearest snapshot. Measured: about 10 µs per event for a small app, most
 * of it rehashing the chain, so ≈ 3 ms per query against the 10 ms target (1024 took 8–12 ms); a
 * 100k-event log keeps about 390 snapshots.
 */
export const DEFAULT_SNAPSHOT_INTERVAL_EVENTS = 256
/** A snapshot interval outside [1, this] is refused: a larger one would make stateAt slow again. */
export const MAX_SNAPSHOT_INTERVAL_EVENTS = 1 << 20
/**
 * An exported log file (exportFormat.ts) is read and decoded whole, in memory: a JSON file becomes one JS
 * string (V8 caps strings near 512 Mi characters) and decoding holds a few times the file size. Measured: a
 * turn of a two-party tic-tac-toe game takes 0.56 KB in MessagePack and 1.4 KB in JSON, of a four-party
 * document 0.84 and 2.1 KB, so this holds 130k (document, JSON) to 480k (game, MessagePack) turns; a longer
 * history needs a streaming format.
 */
export const MAX_EXPORTED_LOG_BYTES = 256 * 1024 * 1024
