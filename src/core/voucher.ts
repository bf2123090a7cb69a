// Vouchers (DESIGN §3): a payer's signature on the cumulative amount paid in a virtual channel.
import type { Address, Bytes32, Hex, Signature } from './types.js'
import { checkChannelId } from './channelId.js'
import { checkUint } from './validate.js'
import { MAX_UINT256 } from './limits.js'
import { keccak256 } from './keccak.js'
import { hexToBytes } from './hex.js'
import { recoverHashSigner, signHash } from './signatures.js'

export interface Voucher {
  readonly channelId: Bytes32
  /** Cumulative: the total paid so far in this channel, not an increment. */
  readonly amount: bigint
  readonly signature: Signature
}

/** keccak256(abi.encode(bytes32 channelId, uint256 amount)); two static words encode as their concatenation. */
export function hashVoucher(channelId: Bytes32, amount: bigint): Bytes32 {
  checkChannelId(channelId)
  checkUint(amount, 'amount', MAX_UINT256)
  const word = Buffer.alloc(64)
  hexToBytes(channelId, 'channelId', 32).copy(word, 0)
  word.write(amount.toString(16).padStart(64, '0'), 32, 'hex')
  return keccak256(word)
}

export function signVoucher(channelId: Bytes32, amount: bigint, privateKey: Hex): Signature {
  return signHash(hashVoucher(channelId, amount), privateKey)
}

export function recoverVoucherSigner(channelId: Bytes32, amount: bigint, signature: Signature): Address {
  return recoverHashSigner(hashVoucher(channelId, amount), signature)
}
