// Ethereum signatures on a 32-byte hash (DESIGN §3): secp256k1 over keccak256("\x19Ethereum Signed
// Message:\n32" ‖ hash), RFC 6979 nonces, low s, 65 bytes r ‖ s ‖ v with v ∈ {27, 28}. Everything that is
// signed (states, vouchers, challenges) goes through here, on the native binding.
import type { Address, Bytes32, Hex, Signature } from './types.js'
import { secp256k1Native } from './native.js'
import { keccak256Bytes } from './keccak.js'
import { bytesToHex, hexToBytes } from './hex.js'
import { InvalidSignatureError, RejectedInputError } from './errors.js'
import { SECP256K1_HALF_N, SECP256K1_N } from './limits.js'
import { checkBytes32 } from './validate.js'
import { toAddress } from './canonical.js'

const PREFIX = '\x19Ethereum Signed Message:\n32'
// One preallocated message buffer (prefix ‖ hash): this is the hot path of every update, and the core
// is synchronous, so no two digests interleave.
const message = Buffer.alloc(PREFIX.length + 32)
message.write(PREFIX, 0, 'latin1')

/** keccak256("\x19Ethereum Signed Message:\n32" ‖ hash): what is actually signed (EIP-191). */
export function ethSignedMessageDigest(hash: Bytes32): Uint8Array {
  checkBytes32(hash, 'hash')
  message.write(hash.slice(2), PREFIX.length, 'hex')
  return keccak256Bytes(message)
}

export class InvalidPrivateKeyError extends RejectedInputError {
  readonly code = 'invalid_private_key'
}

export function parsePrivateKey(privateKey: Hex): Buffer {
  let key: Buffer
  try {
    key = hexToBytes(privateKey, 'privateKey', 32)
  } catch (cause) {
    throw new InvalidPrivateKeyError('private key must be 32 bytes of hex', {}, { cause })
  }
  if (!secp256k1Native.privateKeyVerify(key)) throw new InvalidPrivateKeyError('private key is not a valid secp256k1 scalar')
  return key
}

/** Signs hash (EIP-191 prefixed) with a parsed key. */
export function signHashWithKey(hash: Bytes32, key: Uint8Array): Signature {
  const { signature, recid } = secp256k1Native.ecdsaSign(ethSignedMessageDigest(hash), key)
  const out = new Uint8Array(65)
  out.set(signature, 0)
  out[64] = 27 + recid
  return bytesToHex(out)
}

export function signHash(hash: Bytes32, privateKey: Hex): Signature {
  return signHashWithKey(hash, parsePrivateKey(privateKey))
}

export interface ParsedSignature {
  readonly compact: Uint8Array // r ‖ s
  readonly recid: number
}

/** Refuses anything but 65 bytes with 0 < r < n, 0 < s ≤ n/2 and v ∈ {27, 28}. */
export function parseSignature(signature: unknown, field = 'signature'): ParsedSignature {
  let bytes: Buffer
  try {
    bytes = hexToBytes(signature, field, 65)
  } catch (cause) {
    throw new InvalidSignatureError(`${field} must be 65 bytes of hex`, { field }, { cause })
  }
  const v = bytes[64]!
  if (v !== 27 && v !== 28) throw new InvalidSignatureError(`${field} has v = ${v}, expected 27 or 28`, { field, v })
  const r = BigInt(`0x${bytes.subarray(0, 32).toString('hex')}`)
  const s = BigInt(`0x${bytes.subarray(32, 64).toString('hex')}`)
  if (r === 0n || r >= SECP256K1_N) throw new InvalidSignatureError(`${field} has r out of range`, { field })
  if (s === 0n) throw new InvalidSignatureError(`${field} has s = 0`, { field })
  if (s > SECP256K1_HALF_N) throw new InvalidSignatureError(`${field} has high s (malleable)`, { field })
  return { compact: bytes.subarray(0, 64), recid: v - 27 }
}

export function addressOfPublicKey(uncompressed: Uint8Array): Address {
  return toAddress(bytesToHex(keccak256Bytes(uncompressed.subarray(1)).subarray(12)))
}

/** The address that signed hash (EIP-191 prefixed). Throws InvalidSignatureError if none can. */
export function recoverHashSigner(hash: Bytes32, signature: Signature): Address {
  const { compact, recid } = parseSignature(signature)
  let publicKey: Uint8Array
  try {
    publicKey = secp256k1Native.ecdsaRecover(compact, recid, ethSignedMessageDigest(hash), false)
  } catch (cause) {
    throw new InvalidSignatureError('no public key recovers from signature', {}, { cause })
  }
  return addressOfPublicKey(publicKey)
}

export function privateKeyToAddress(privateKey: Hex): Address {
  return addressOfPublicKey(secp256k1Native.publicKeyCreate(parsePrivateKey(privateKey), false))
}
