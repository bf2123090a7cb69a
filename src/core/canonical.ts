// The one door addresses and 32-byte values (channel ids, hashes) come in by (ADR 0018). Every one from outside (a
// peer's frame, an RPC param, a chain log, config, a key, a hash we compute) becomes a branded `Address` (EIP-55)
// or `Bytes32` (lowercase) here, so the code inside compares with `===` and keys maps by the value itself: a
// forgotten `toLowerCase()` can no longer be a missed lookup, and the compiler refuses a value that skipped the door.
import { checksumAddress } from 'viem'
import type { Address as ViemAddress } from 'viem'
import type { Address, Bytes32 } from './types.js'
import { checkAddress, checkBytes32 } from './validate.js'

/** The canonical form of an address already known to be 20 bytes of hex (viem's output, a checked field). */
export function toAddress(value: ViemAddress | string): Address {
  return checksumAddress(value as ViemAddress) as Address
}

/** Checks an address from outside (mixed case must be a valid checksum) and returns its canonical form. */
export function parseAddress(value: unknown, field: string): Address {
  checkAddress(value, field)
  return toAddress(value)
}

/** The zero address: the native asset (ETH) in an outcome, and "no contract" elsewhere. */
export const ZERO_ADDRESS = toAddress('0x0000000000000000000000000000000000000000')

/** The canonical form (lowercase) of 32 bytes of hex already known to be well formed: a hash, a decoded field. */
export function toBytes32(value: string): Bytes32 {
  return value.toLowerCase() as Bytes32
}

/** Checks 32 bytes of hex from outside and returns their canonical form. */
export function parseBytes32(value: unknown, field: string): Bytes32 {
  checkBytes32(value, field)
  return toBytes32(value)
}
