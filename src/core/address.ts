// The one door addresses come in by (issue 14: one key type). Every address from outside (a peer's frame, an RPC
// param, a chain log, config, a key) becomes a branded `Address` here, in EIP-55 form, so the code inside compares
// with `===` and keys maps by the address itself: a forgotten `toLowerCase()` can no longer be a missed lookup.
import { checksumAddress } from 'viem'
import type { Address as ViemAddress } from 'viem'
import type { Address } from './types.js'
import { checkAddress } from './validate.js'

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
