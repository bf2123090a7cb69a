// Signing and recovering states and challenges (DESIGN §3).
import { encodeAbiParameters } from 'viem'
import type { Address, Bytes32, Hex, Signature } from './types.js'
import type { State } from './state.js'
import { hashState } from './hashState.js'
import { recoverHashSigner, signHash } from './signatures.js'
import { keccak256 } from './keccak.js'
import { trustedHexToBytes } from './hex.js'
import { checkBytes32 } from './validate.js'

export function signState(state: State, privateKey: Hex): Signature {
  return signHash(hashState(state), privateKey)
}

export function recoverStateSigner(state: State, signature: Signature): Address {
  return recoverHashSigner(hashState(state), signature)
}

/** keccak256(abi.encode(bytes32 stateHash, string "forceMove")): what a challenger signs. */
export function hashChallenge(stateHash: Bytes32): Bytes32 {
  checkBytes32(stateHash, 'stateHash')
  const encoded = encodeAbiParameters([{ type: 'bytes32' }, { type: 'string' }], [stateHash, 'forceMove'])
  return keccak256(trustedHexToBytes(encoded))
}

/** The challenger's signature that `challenge` requires alongside the candidate state. */
export function signChallenge(state: State, privateKey: Hex): Signature {
  return signHash(hashChallenge(hashState(state)), privateKey)
}

export function recoverChallengeSigner(state: State, signature: Signature): Address {
  return recoverHashSigner(hashChallenge(hashState(state)), signature)
}
