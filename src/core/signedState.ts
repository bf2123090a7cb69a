// A state with the signatures collected for it, indexed by participant (Nitro's SignedState). Every
// signature in a SignedState has been checked to recover to the participant at its index.
import type { Address, Bytes32, Signature } from './types.js'
import type { State } from './state.js'
import type { Signer } from './signer.js'
import { fixedPart } from './state.js'
import { channelId } from './channelId.js'
import { hashStateOfChannel } from './hashState.js'
import { checkState } from './state.js'
import { recoverHashSigner } from './signatures.js'
import { RejectedInputError, assert } from './errors.js'

export interface SignedState {
  readonly state: State
  /** signatures[i] is participant i's signature, or null if not yet held. */
  readonly signatures: readonly (Signature | null)[]
}

export class NotAParticipantError extends RejectedInputError {
  readonly code = 'not_a_participant'
}

export function participantIndex(state: State, address: Address): number {
  return state.participants.indexOf(address)
}

export function unsigned(state: State): SignedState {
  checkState(state)
  return { state, signatures: state.participants.map(() => null) }
}

function hashOf(state: State): Bytes32 {
  return hashStateOfChannel(channelId(fixedPart(state)), state)
}

/** Adds a signature after checking it recovers to a participant; a signature already held is a no-op. */
export function addSignature(signed: SignedState, signature: Signature): SignedState {
  const signer = recoverHashSigner(hashOf(signed.state), signature)
  const index = participantIndex(signed.state, signer)
  if (index < 0) throw new NotAParticipantError('signature is not from a participant', { signer })
  if (signed.signatures[index] !== null) return signed
  const signatures = [...signed.signatures]
  signatures[index] = signature
  return { state: signed.state, signatures }
}

export function signBy(signed: SignedState, signer: Signer): SignedState {
  const index = participantIndex(signed.state, signer.address)
  assert(index >= 0, 'signer is not a participant', { signer: signer.address })
  if (signed.signatures[index] !== null) return signed
  const signatures = [...signed.signatures]
  signatures[index] = signer.signHash(hashOf(signed.state))
  return { state: signed.state, signatures }
}

/** Union of the signatures of two SignedStates of the same state; the ones in `a` win on overlap. */
export function mergeSignatures(a: SignedState, b: SignedState): SignedState {
  assert(hashOf(a.state) === hashOf(b.state), 'merging signatures of different states')
  return { state: a.state, signatures: a.signatures.map((sig, i) => sig ?? b.signatures[i] ?? null) }
}

export function isSignedBy(signed: SignedState, index: number): boolean {
  return signed.signatures[index] != null
}

export function isFullySigned(signed: SignedState): boolean {
  return signed.signatures.every((sig) => sig !== null)
}
