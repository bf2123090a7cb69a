// Limits of the RPC layer, each with its reason (STYLE §1). Everything a caller can make the server hold
// (bytes, requests, subscriptions, sockets, queued notifications) is bounded here.
import { MAX_PARTICIPANTS } from '../core/limits.js'

/** An HTTP body or WebSocket message: the largest legitimate request (a batch of vouchers) is a few KB. */
export const MAX_BODY_BYTES = 1024 * 1024
/**
 * A body above MAX_BODY_BYTES is read and discarded up to this many bytes, so a client that sent slightly
 * too much reads our 413 instead of a connection reset; beyond it the connection is cut.
 */
export const MAX_DRAINED_BODY_BYTES = 4 * MAX_BODY_BYTES
/** Calls in one JSON-RPC batch: they are handled concurrently, so this bounds one request's work. */
export const MAX_BATCH_SIZE = 100
/** Calls one WebSocket may have in flight: a client that pipelines without reading waits or is refused. */
export const MAX_IN_FLIGHT_PER_SOCKET = 256
/** Subscriptions per WebSocket: each one is checked on every engine change. */
export const MAX_SUBSCRIPTIONS_PER_SOCKET = 16
/** Open WebSockets: each holds subscriptions and a send buffer. */
export const MAX_SOCKETS = 64
/**
 * Bytes queued for one WebSocket that does not read: above this the socket is closed (a slow consumer
 * must not make the node buffer notifications without bound). The client resubscribes after reconnecting.
 */
export const MAX_SOCKET_BUFFERED_BYTES = 8 * 1024 * 1024
/** HTTP connections at once (keep-alive included): the node's own tools need a handful. */
export const MAX_HTTP_CONNECTIONS = 256
/** On close, answers in flight get this long before their connections are cut. */
export const CLOSE_GRACE_MS = 1_000
/** Time to receive a whole HTTP request (slow-loris bound); engine calls answer within milliseconds. */
export const REQUEST_TIMEOUT_MS = 30_000
/** Time to receive the request headers. */
export const HEADERS_TIMEOUT_MS = 10_000
/** Intermediaries of a payment channel: the channel's participants are bounded by the core's limit. */
export const MAX_INTERMEDIARIES = MAX_PARTICIPANTS - 2
/** Characters of an objective id (`ledgerUpdate:<ledger>:<kind>:<target>` is the longest, ~150). */
export const MAX_OBJECTIVE_ID_LENGTH = 256
/** Characters of a subscription id the server accepts back in `unsubscribe`. */
export const MAX_SUBSCRIPTION_ID_LENGTH = 64
/** Nesting depth of error details rendered to JSON: details are flat records; deeper values are elided. */
export const MAX_DETAILS_DEPTH = 4
/** Shortest accepted secret: the daemon generates 32 random bytes; a short one is a configuration mistake. */
export const MIN_SECRET_LENGTH = 16
/**
 * Events one `get_events` or `get_state_diff` answers with: an event's payload may be 256 KiB, so a wider
 * range could make one answer (and the node's memory while it is built) arbitrarily large; page instead.
 */
export const MAX_EVENTS_PER_CALL = 256
/** Bytes of an app event or app params a caller sends: the log's bound on an event payload (256 KiB) fits the body. */
export const MAX_APP_BYTES_PARAM = 256 * 1024
