// channelId = keccak256(abi.encode(address[] participants, uint256 channelNonce, address appDefinition,
// uint256 challengeDuration)) (DESIGN §3). No chain id: keys are per protocol (Nitro ADR-0002).
import { encodeAbiParameters } from 'viem'
import type { Bytes32 } from './types.js'
import type { FixedPart } from './state.js'
import { checkFixedPart } from './state.js'
import { keccak256 } from './keccak.js'
import { trustedHexToBytes } from './hex.js'
import { InvalidChannelIdError } from './errors.js'
import { checkBytes32 } from './validate.js'

const fixedPartAbi = [
  { type: 'address[]' },
  { type: 'uint256' },
  { type: 'address' },
  { type: 'uint256' },
] as const

export function channelId(fixed: FixedPart): Bytes32 {
  checkFixedPart(fixed)
  const encoded = encodeAbiParameters(fixedPartAbi, [
    fixed.participants,
    fixed.channelNonce,
    fixed.appDefinition,
    BigInt(fixed.challengeDuration),
  ])
  const id = keccak256(trustedHexToBytes(encoded))
  // Astronomically unlikely from a hash, but the adjudicator would treat such an id as an address.
  checkChannelId(id)
  return id
}

/** A channel id is 32 bytes whose first 12 are not all zero (else it looks like an external destination). */
export function checkChannelId(id: unknown, field = 'channelId'): asserts id is Bytes32 {
  checkBytes32(id, field)
  if (id.startsWith('0x000000000000000000000000')) {
    throw new InvalidChannelIdError(`${field} looks like an external destination`, { field, value: id })
  }
}
