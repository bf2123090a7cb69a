// Typed errors shared by every layer (STYLE §3). Each error has a stable `code` that is logged, journaled
// and sent to RPC clients; `details` carries structured facts (bigints stay bigints until the JSON edge).

export abstract class ChannelsError extends Error {
  abstract readonly code: string
  constructor(
    readonly summary: string,
    readonly details: Readonly<Record<string, unknown>> = {},
    options?: { cause?: unknown },
  ) {
    super(summary, options)
    this.name = new.target.name
  }
}

/** Input from outside (peer, RPC caller, chain, file) that we refuse. Never stops the node. */
export abstract class RejectedInputError extends ChannelsError {}

/** The world failed in an expected way (disk, peer, chain node): retry or report. */
export abstract class OperatingError extends ChannelsError {}

/** Our own bug: an invariant broke. Thrown only by `assert`. */
export class InvariantError extends ChannelsError {
  readonly code = 'invariant'
}

export class InvalidHexError extends RejectedInputError {
  readonly code = 'invalid_hex'
}
export class InvalidAddressError extends RejectedInputError {
  readonly code = 'invalid_address'
}
export class InvalidLengthError extends RejectedInputError {
  readonly code = 'invalid_length'
}
export class OutOfRangeError extends RejectedInputError {
  readonly code = 'out_of_range'
}
export class InvalidSignatureError extends RejectedInputError {
  readonly code = 'invalid_signature'
}
export class InvalidChannelIdError extends RejectedInputError {
  readonly code = 'invalid_channel_id'
}
export class InvalidOutcomeError extends RejectedInputError {
  readonly code = 'invalid_outcome'
}
export class InvalidStateError extends RejectedInputError {
  readonly code = 'invalid_state'
}
export class CodecError extends RejectedInputError {
  readonly code = 'codec'
}
export class BrokenLogError extends RejectedInputError {
  readonly code = 'broken_log'
}

/** A required native binary (secp256k1, keccak, RocksDB) could not be loaded. Never fall back silently. */
export class NativeBackendError extends OperatingError {
  readonly code = 'native_backend'
}
export class StoreError extends OperatingError {
  readonly code = 'store'
}

export function assert(condition: unknown, message: string, details?: Record<string, unknown>): asserts condition {
  if (!condition) throw new InvariantError(message, details)
}
