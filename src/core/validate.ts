// Range and shape checks shared by the core's entry points and by every edge decoder (STYLE §4).
// Each throws a RejectedInputError naming the offending field.
import { isAddress } from 'viem'
import type { Address as ViemAddress } from 'viem'
import type { Hex } from './types.js'
import { InvalidAddressError, InvalidHexError, InvalidLengthError, OutOfRangeError } from './errors.js'
import { isHex, preview } from './hex.js'

const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/
const BYTES32_RE = /^0x[0-9a-fA-F]{64}$/

/** Shape only; `parseAddress` (core/address.ts) also gives the canonical form the node uses. */
export function checkAddress(value: unknown, field: string): asserts value is ViemAddress {
  if (typeof value !== 'string' || !ADDRESS_RE.test(value)) {
    throw new InvalidAddressError(`${field} must be a 20-byte hex address`, { field, value: preview(value) })
  }
  // Mixed case must be a valid EIP-55 checksum (viem's encoder refuses anything else; it caches results).
  if (!isAddress(value)) throw new InvalidAddressError(`${field} has an invalid EIP-55 checksum`, { field, value })
}

export function checkBytes32(value: unknown, field: string): asserts value is Hex {
  if (typeof value !== 'string' || !BYTES32_RE.test(value)) {
    if (isHex(value)) {
      throw new InvalidLengthError(`${field} must be 32 bytes`, { field, expected: 32, actual: (value.length - 2) / 2 })
    }
    throw new InvalidHexError(`${field} must be 32 bytes of hex`, { field, value: preview(value) })
  }
}

export function checkBytes(value: unknown, field: string, maxBytes: number): asserts value is Hex {
  if (!isHex(value)) throw new InvalidHexError(`${field} must be 0x-prefixed even-length hex`, { field, value: preview(value) })
  const length = (value.length - 2) / 2
  if (length > maxBytes) throw new InvalidLengthError(`${field} exceeds ${maxBytes} bytes`, { field, max: maxBytes, actual: length })
}

/** An unsigned integer as bigint, 0 ≤ value ≤ max. */
export function checkUint(value: unknown, field: string, max: bigint): asserts value is bigint {
  if (typeof value !== 'bigint') throw new OutOfRangeError(`${field} must be a bigint`, { field, value: preview(value) })
  if (value < 0n || value > max) throw new OutOfRangeError(`${field} out of range [0, ${max}]`, { field, value, max })
}

/** A small unsigned integer as a JS number (uint8, uint48 durations): integral, 0 ≤ value ≤ max. */
export function checkSmallUint(value: unknown, field: string, max: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > max) {
    throw new OutOfRangeError(`${field} must be an integer in [0, ${max}]`, { field, value: preview(value), max })
  }
}

export function checkArray(value: unknown, field: string, maxLength: number): asserts value is readonly unknown[] {
  if (!Array.isArray(value)) throw new InvalidLengthError(`${field} must be an array`, { field })
  if (value.length > maxLength) throw new InvalidLengthError(`${field} has more than ${maxLength} entries`, { field, max: maxLength, actual: value.length })
}
