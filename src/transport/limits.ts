// Limits of the libp2p transport, each with its reason (STYLE §1).
import { MAX_MESSAGE_BYTES } from '../core/limits.js'

/**
 * Largest frame payload accepted on /channels/msg: the wire decoder refuses anything larger anyway
 * (core/limits.ts), so a bigger length prefix is an attack or a bug and closes the stream before we buffer it.
 */
export const MAX_FRAME_BYTES = MAX_MESSAGE_BYTES
/** Bytes of the length prefix in front of every frame (u32 big-endian): covers MAX_FRAME_BYTES with room. */
export const FRAME_HEADER_BYTES = 4
/**
 * Frames sent in one tick are written as one chunk up to this many bytes (then the next chunk starts): one
 * yamux frame and one noise seal for many small messages, without holding a burst back for long.
 */
export const CORK_BYTES = 64 * 1024
/** Largest peer record (/channels/hello): version, time, address, signature and an Ed25519 peer id fit in 200. */
export const MAX_RECORD_BYTES = 512

/**
 * Messages kept per peer while we dial it or its stream is backpressured; beyond this the oldest is dropped.
 * The engine's persisted outbox retransmits whatever is lost (its window is 512 unacknowledged entries), so
 * this only needs to cover one window plus fresh traffic, not every message ever sent.
 */
export const MAX_QUEUED_MESSAGES_PER_PEER = 1024
/** Bytes kept per peer in that queue: 1024 messages of up to 1 MiB would be a gigabyte per unreachable peer. */
export const MAX_QUEUED_BYTES_PER_PEER = 16 * 1024 * 1024

/** First re-dial delay after a failure; short so a restarted peer is reached again within a retransmit. */
export const DIAL_BACKOFF_BASE_MS = 50
/**
 * Cap of the doubling re-dial delay: a peer that is down costs at most one dial per cap, and once it is
 * back it waits no longer than the engine's retransmit cap (RETRANSMIT_CAP_MS, 5 s) to be reached.
 */
export const DIAL_BACKOFF_CAP_MS = 5_000
/** A message stream that stayed open this long was a success: its failure starts the backoff over. */
export const STABLE_STREAM_MS = 2_000

/**
 * Time a new connection has to prove its peer's channel address (/channels/hello) before we close it.
 * Until then its messages wait unread (libp2p buffers them), so this bounds what an unbound peer can hold.
 */
export const HELLO_TIMEOUT_MS = 5_000
/** Concurrent inbound streams per connection and protocol: one hello and one message stream are the norm. */
export const MAX_INBOUND_HELLO_STREAMS = 2
export const MAX_INBOUND_MSG_STREAMS = 4

/**
 * Inbound connections accepted per remote host per second (libp2p's default is 5). Every node of a local
 * cluster shares 127.0.0.1, and they all dial each other at start; 5 would refuse most of them.
 */
export const INBOUND_CONNECTIONS_PER_HOST_PER_SECOND = 64
