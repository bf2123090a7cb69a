// Limits of the log layer, each with its reason (STYLE §1).
import { MAX_MESSAGE_BYTES } from '../core/limits.js'

/** Event kinds are short names ('move', 'deposit', 'api.pay'); one length byte in the encoding. */
export const MAX_EVENT_KIND_BYTES = 64
/**
 * The log format's bound on one payload. The largest is a journal entry, which holds one input: a whole peer
 * message (MAX_MESSAGE_BYTES, what the wire admits) in its input envelope — a frame the wire takes must fit the
 * journal, or it could be neither handled nor refused. Channel events are bounded tighter by their own layer
 * (an app event: MAX_APP_EVENT_BYTES).
 */
export const MAX_EVENT_PAYLOAD_BYTES = MAX_MESSAGE_BYTES + 64 * 1024
