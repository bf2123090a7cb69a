// Hex <-> bytes at the speed of Node's Buffer, with strict validation for input from outside.
import type { Hex } from 'viem'
import { InvalidHexError, InvalidLengthError } from './errors.js'

const HEX_RE = /^0x(?:[0-9a-fA-F]{2})*$/

export function isHex(value: unknown): value is Hex {
  return typeof value === 'string' && HEX_RE.test(value)
}

/** Bytes to 0x-prefixed lowercase hex. */
export function bytesToHex(bytes: Uint8Array): Hex {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`
}

/** Strict: even length, only hex digits, 0x prefix; `length` in bytes if given. `field` names the input. */
export function hexToBytes(value: unknown, field: string, length?: number): Buffer {
  if (!isHex(value)) throw new InvalidHexError(`${field} is not 0x-prefixed even-length hex`, { field, value: preview(value) })
  const bytes = Buffer.from(value.slice(2), 'hex')
  if (length !== undefined && bytes.length !== length) {
    throw new InvalidLengthError(`${field} must be ${length} bytes, got ${bytes.length}`, { field, expected: length, actual: bytes.length })
  }
  return bytes
}

/** Hex from a trusted producer (viem's encoder, our own code) to bytes, skipping validation: hot path. */
export function trustedHexToBytes(value: Hex): Buffer {
  return Buffer.from(value.slice(2), 'hex')
}

/** Views a Uint8Array as a Buffer without copying (native bindings want Buffers). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** A short, safe rendering of a hostile value for error details. */
export function preview(value: unknown): string {
  const text = typeof value === 'bigint' ? `${value}n` : typeof value === 'string' ? value : String(typeof value)
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}
