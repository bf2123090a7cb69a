// stateHash = keccak256(abi.encode(bytes32 channelId, bytes appData, Exit outcome, uint256 turnNum,
// bool isFinal)) (DESIGN §3, = Nitro's NitroUtils.hashState). Note the field order differs from the
// on-chain VariablePart struct.
import { encodeAbiParameters } from 'viem'
import type { Bytes32 } from './types.js'
import type { State } from './state.js'
import { checkState, fixedPart } from './state.js'
import { exitAbiParameter } from './outcome.js'
import { channelId } from './channelId.js'
import { keccak256 } from './keccak.js'
import { trustedHexToBytes } from './hex.js'

const stateAbi = [{ type: 'bytes32' }, { type: 'bytes' }, exitAbiParameter, { type: 'uint256' }, { type: 'bool' }] as const

export function hashState(state: State): Bytes32 {
  checkState(state)
  return hashStateOfChannel(channelId(fixedPart(state)), state)
}

/** hashState when the channel id is already known (the engine caches it per channel). */
export function hashStateOfChannel(id: Bytes32, state: State): Bytes32 {
  const encoded = encodeAbiParameters(stateAbi, [id, state.appData, state.outcome, state.turnNum, state.isFinal])
  return keccak256(trustedHexToBytes(encoded))
}
