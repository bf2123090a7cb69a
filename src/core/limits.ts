// Limits of the core layer, each with its reason (STYLE §1). Ranges are the Solidity types of the
// adjudicator's structs (DESIGN §3); anything outside them could not be enforced on chain.

/** uint256: amounts, holdings. */
export const MAX_UINT256 = 2n ** 256n - 1n
/** uint64: FixedPart.channelNonce. */
export const MAX_UINT64 = 2n ** 64n - 1n
/** uint48: VariablePart.turnNum, FixedPart.challengeDuration. */
export const MAX_UINT48 = 2n ** 48n - 1n
/** uint8: assetType, allocationType. */
export const MAX_UINT8 = 255

/** A channel with more participants than this cannot be concluded within a block's gas on chain. */
export const MAX_PARTICIPANTS = 255
/** Assets per outcome and allocations per asset: bounds decode work and on-chain transfer loops. */
export const MAX_ASSETS = 64
export const MAX_ALLOCATIONS = 1024
/** appData and metadata byte caps: an app's state commitment, not a payload store. */
export const MAX_APP_DATA_BYTES = 64 * 1024
export const MAX_METADATA_BYTES = 4 * 1024

/** secp256k1 group order and half of it: signatures with s above the half are malleable (EIP-2). */
export const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
export const SECP256K1_HALF_N = SECP256K1_N / 2n

/** Wire messages larger than this are refused before decoding (a state with max allocations fits). */
export const MAX_MESSAGE_BYTES = 1024 * 1024
/** Nesting depth accepted by the wire decoder: our messages are shallow; deep nesting is an attack. */
export const MAX_MESSAGE_DEPTH = 16
