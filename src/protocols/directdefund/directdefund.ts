// DirectDefund (DESIGN §5, NITRO-NOTES §2.2): closes an empty ledger. Both sign a final state (the
// supported state, turn + 1, isFinal); participant 0 submits concludeAndWithdraw; everyone waits until
// the chain reports the ledger's holdings paid out. Flowchart: directdefund.md.
import type { Bytes32 } from '../../core/types.js'
import type { SignedState } from '../../core/signedState.js'
import type { Signer } from '../../core/signer.js'
import { isFullySigned, isSignedBy, participantIndex, signBy, unsigned } from '../../core/signedState.js'
import { hashState } from '../../core/hashState.js'
import { assert } from '../../core/errors.js'
import type { Cranked, Effect, ObjectiveBase, ObjectiveStatus } from '../objective.js'
import { fail, send } from '../objective.js'
import { mergePeerSignatures } from '../signedStates.js'
import { LedgerNotEmptyError, UnexpectedStateError } from '../errors.js'
import type { ConsensusChannel } from '../ledger/consensusChannel.js'
import { supportedSignedState } from '../ledger/consensusChannel.js'

export type DirectDefundWaitingFor = 'approval' | 'finalState' | 'withdraw' | 'nothing'

export const MAX_WITHDRAW_ATTEMPTS = 3

export interface DirectDefund extends ObjectiveBase {
  readonly kind: 'directdefund'
  readonly channelId: Bytes32
  readonly myIndex: number
  readonly final: SignedState
  readonly holdings: bigint
  readonly withdrawSubmitted: boolean
  readonly withdrawFailures: number
}

export type DirectDefundInput =
  | { readonly kind: 'signedState'; readonly signed: SignedState }
  | { readonly kind: 'holdings'; readonly amount: bigint }
  | { readonly kind: 'withdrawFailed'; readonly code: string; readonly summary: string }

export function directDefundId(id: Bytes32): string {
  return `directdefund:${id}`
}

/** The final state both must sign: the supported ledger state, one turn on, final. Refused while guarantees or my proposals are outstanding. */
export function finalStateOf(ledger: ConsensusChannel): SignedState {
  if (ledger.supported.vars.outcome.guarantees.length > 0) throw new LedgerNotEmptyError('the ledger still funds guarantees', { ledgerId: ledger.id })
  // The leader signed its queued proposals (each a state one turn on): a final state at that turn would be a
  // second state at one turn. The follower signed none of what it buffered, so a leader flooding it with
  // proposals it never agreed to cannot keep it from closing.
  if (ledger.role === 'leader' && ledger.queue.length > 0) throw new LedgerNotEmptyError('the ledger has proposals in flight', { ledgerId: ledger.id, pending: ledger.queue.length })
  const supported = supportedSignedState(ledger).state
  return unsigned({ ...supported, turnNum: supported.turnNum + 1n, isFinal: true })
}

export function newDirectDefund(ledger: ConsensusChannel, holdings: bigint, me: Signer['address'], status: ObjectiveStatus): DirectDefund {
  const final = finalStateOf(ledger)
  const myIndex = participantIndex(final.state, me)
  assert(myIndex >= 0, 'I am a participant of my own ledger')
  return { id: directDefundId(ledger.id), kind: 'directdefund', status, failure: null, channelId: ledger.id, myIndex, final, holdings, withdrawSubmitted: false, withdrawFailures: 0 }
}

export function update(o: DirectDefund, input: DirectDefundInput): DirectDefund {
  switch (input.kind) {
    case 'holdings':
      return { ...o, holdings: input.amount }
    case 'withdrawFailed': {
      const withdrawFailures = o.withdrawFailures + 1
      const next = { ...o, withdrawSubmitted: false, withdrawFailures }
      return withdrawFailures >= MAX_WITHDRAW_ATTEMPTS ? fail(next, { code: input.code, summary: `withdraw failed: ${input.summary}` }) : next
    }
    case 'signedState':
      if (hashState(input.signed.state) !== hashState(o.final.state)) throw new UnexpectedStateError('the peer signed a different final state')
      return { ...o, final: mergePeerSignatures(o.final, input.signed) }
  }
}

export function crank(o: DirectDefund, signer: Signer): Cranked<DirectDefund, DirectDefundWaitingFor> {
  const effects: Effect[] = []
  const pause = (objective: DirectDefund, waitingFor: DirectDefundWaitingFor) => ({ objective, effects, waitingFor })
  if (o.status === 'unapproved') return pause(o, 'approval')
  if (o.status !== 'approved') return pause(o, 'nothing')
  // A key of the other participant would sign its slot, never mine, and resend on every crank.
  assert(signer.address === o.final.state.participants[o.myIndex]!, 'signer is my participant')
  const counterparty = o.final.state.participants[1 - o.myIndex]!
  let next = o
  if (!isSignedBy(next.final, o.myIndex)) {
    next = { ...next, final: signBy(next.final, signer) }
    effects.push(send(counterparty, { kind: 'signedState', objectiveId: o.id, signedState: next.final }))
  }
  if (!isFullySigned(next.final)) return pause(next, 'finalState')
  if (next.holdings > 0n) {
    // One participant withdraws for both (it pays everyone); participant 0, as in Nitro.
    if (o.myIndex === 0 && !next.withdrawSubmitted) {
      effects.push({ kind: 'submit', tx: { kind: 'concludeAndWithdraw', signedState: next.final } })
      next = { ...next, withdrawSubmitted: true }
    }
    return pause(next, 'withdraw')
  }
  return pause({ ...next, status: 'completed' }, 'nothing')
}
