// stateHash = keccak256(abi.encode(bytes32 channelId, bytes appData, Exit outcome, uint256 turnNum,
// bool isFinal)) (DESIGN §3, = Nitro's NitroUtils.hashState). Note the field order differs from the
// on-chain VariablePart struct.
import type { Bytes32 } from './types.js'
import type { State } from './state.js'
import { checkState, fixedPart } from './state.js'
import { channelId } from './channelId.js'
import { keccak256 } from './keccak.js'
import { encodeStateHashPreimage } from './stateEncoding.js'

export function hashState(state: State): Bytes32 {
  checkState(state)
  return hashStateOfChannel(channelId(fixedPart(state)), state)
}

/** hashState when the channel id is already known (the engine caches it per channel). */
export function hashStateOfChannel(id: Bytes32, state: State): Bytes32 {
  return keccak256(encodeStateHashPreimage(id, state.appData, state.outcome, state.turnNum, state.isFinal))
}
