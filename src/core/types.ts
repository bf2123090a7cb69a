// Primitive domain types (DESIGN §3). Hex strings follow viem's `Hex` so values pass straight to viem.
import type { Address as ViemAddress, Hex } from 'viem'

export type { Hex }
declare const canonical: unique symbol
/**
 * An address in the node's one form, EIP-55 checksummed, made by `toAddress` (core/address.ts) where it enters:
 * a decoder, the chain watcher, the signer, config. Inside, addresses compare with `===` and key maps as they are;
 * the brand makes the compiler refuse one that came in another way. It passes to viem as a plain address.
 */
export type Address = ViemAddress & { readonly [canonical]: 'address' }
/** 32 bytes as 0x-prefixed hex: channel ids, state hashes, log hashes. */
export type Bytes32 = Hex & { readonly [canonical]: 'bytes32' }
/** An allocation's destination: a channel id, or an external address left-padded with 12 zero bytes. */
export type Destination = Bytes32
/** A 65-byte signature `r ‖ s ‖ v`, v ∈ {27, 28}. */
export type Signature = Hex
/** Amounts in base units (wei, token units): always bigint, 0 ≤ a < 2^256. */
export type Amount = bigint
