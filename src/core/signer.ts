// A participant's signing key, parsed once. Signing is deterministic (RFC 6979), so passing a Signer into
// pure protocol code keeps it pure (STYLE §2).
import type { Address, Bytes32, Hex, Signature } from './types.js'
import { addressOfPublicKey, parsePrivateKey, signHashWithKey } from './signatures.js'
import { secp256k1Native } from './native.js'

export interface Signer {
  readonly address: Address
  signHash(hash: Bytes32): Signature
}

export function createSigner(privateKey: Hex): Signer {
  const key = parsePrivateKey(privateKey)
  const address = addressOfPublicKey(secp256k1Native.publicKeyCreate(key, false))
  return { address, signHash: (hash) => signHashWithKey(hash, key) }
}
