// Primitive domain types (DESIGN §3). Hex strings follow viem's `Hex` so values pass straight to viem.
import type { Address, Hex } from 'viem'

export type { Address, Hex }
/** 32 bytes as 0x-prefixed hex: channel ids, state hashes, log hashes. */
export type Bytes32 = Hex
/** An allocation's destination: a channel id, or an external address left-padded with 12 zero bytes. */
export type Destination = Bytes32
/** A 65-byte signature `r ‖ s ‖ v`, v ∈ {27, 28}. */
export type Signature = Hex
/** Amounts in base units (wei, token units): always bigint, 0 ≤ a < 2^256. */
export type Amount = bigint
