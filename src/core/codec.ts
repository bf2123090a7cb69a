// The wire codec (DESIGN §3, ADR 0003): MessagePack via msgpackr, bigints kept as bigints (64-bit ints
// and an extension above 64 bits), byte strings as MessagePack bin, inside a versioned envelope
// `[version, kind, body]`. Decoding arbitrary bytes returns a value or throws CodecError, nothing else.
import { Packr } from 'msgpackr'
import { CodecError } from './errors.js'
import { MAX_MESSAGE_BYTES, MAX_MESSAGE_DEPTH } from './limits.js'

export const WIRE_VERSION = 1

const packr = new Packr({
  useRecords: false, // records are msgpackr-only; plain maps keep the format readable by any decoder
  mapsAsObjects: true,
  int64AsType: 'bigint',
  useBigIntExtension: true,
  bundleStrings: false,
  moreTypes: false,
})

/** Refuses values the decoder would refuse (undefined, functions, dates...), so we never send them. */
export function encodeValue(value: unknown): Uint8Array {
  checkShape(value, 0)
  try {
    return packr.pack(value)
  } catch (cause) {
    throw new CodecError('value cannot be encoded', {}, { cause })
  }
}

/** Decodes exactly one value filling all of `bytes`; then checks depth and refuses unsafe keys. */
export function decodeValue(bytes: Uint8Array, maxBytes = MAX_MESSAGE_BYTES): unknown {
  if (!(bytes instanceof Uint8Array)) throw new CodecError('message must be bytes')
  if (bytes.length === 0) throw new CodecError('message is empty')
  if (bytes.length > maxBytes) throw new CodecError(`message exceeds ${maxBytes} bytes`, { size: bytes.length, max: maxBytes })
  let value: unknown
  try {
    value = packr.unpack(bytes)
  } catch (cause) {
    throw new CodecError('message is not valid MessagePack', {}, { cause })
  }
  checkShape(value, 0)
  return value
}

// msgpackr renames a '__proto__' key to '__proto_' while decoding; refuse both spellings.
const FORBIDDEN_KEYS = new Set(['__proto__', '__proto_', 'constructor', 'prototype'])

function checkShape(value: unknown, depth: number): void {
  if (depth > MAX_MESSAGE_DEPTH) throw new CodecError(`message nests deeper than ${MAX_MESSAGE_DEPTH}`)
  if (value === undefined) throw new CodecError('message contains undefined')
  if (typeof value === 'function' || typeof value === 'symbol') throw new CodecError(`message contains a ${typeof value}`)
  if (typeof value !== 'object' || value === null || value instanceof Uint8Array) return
  if (Array.isArray(value)) {
    for (const item of value) checkShape(item, depth + 1)
    return
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) throw new CodecError('message contains an unsupported type')
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key)) throw new CodecError(`message has a forbidden key ${key}`)
    checkShape((value as Record<string, unknown>)[key], depth + 1)
  }
}

export interface Envelope {
  readonly version: number
  readonly kind: string
  readonly body: unknown
}

export function encodeEnvelope(kind: string, body: unknown): Uint8Array {
  return encodeValue([WIRE_VERSION, kind, body])
}

/** Unwraps the envelope; the body is still untrusted and goes to the decoder for its kind. */
export function decodeEnvelope(bytes: Uint8Array): Envelope {
  const value = decodeValue(bytes)
  if (!Array.isArray(value) || value.length !== 3) throw new CodecError('envelope must be [version, kind, body]')
  const [version, kind, body] = value as [unknown, unknown, unknown]
  if (version !== WIRE_VERSION) throw new CodecError(`unsupported wire version ${String(version)}`, { version: String(version) })
  if (typeof kind !== 'string' || kind.length === 0 || kind.length > 64) throw new CodecError('envelope kind must be a short string')
  return { version, kind, body }
}
