// Merging a peer's signatures into a state we already hold: the peer's state must be exactly ours (same
// hash), and every signature it carries must recover to the participant at its index.
import type { SignedState } from '../core/signedState.js'
import { addSignature } from '../core/signedState.js'
import { hashState } from '../core/hashState.js'
import { UnexpectedStateError } from './errors.js'

export function mergePeerSignatures(mine: SignedState, theirs: SignedState): SignedState {
  if (hashState(mine.state) !== hashState(theirs.state)) {
    throw new UnexpectedStateError('the peer signed a different state', { turnNum: theirs.state.turnNum })
  }
  let merged = mine
  theirs.signatures.forEach((signature, index) => {
    if (signature === null || merged.signatures[index] !== null) return
    const next = addSignature(merged, signature)
    if (next.signatures[index] === null) throw new UnexpectedStateError('a signature sits at another participant\'s index', { index })
    merged = next
  })
  return merged
}
