// Limits of the log layer, each with its reason (STYLE §1).

/** Event kinds are short names ('move', 'deposit', 'api.pay'); one length byte in the encoding. */
export const MAX_EVENT_KIND_BYTES = 64
/** One event is one update; larger payloads belong elsewhere and would slow replay and messages. */
export const MAX_EVENT_PAYLOAD_BYTES = 256 * 1024
