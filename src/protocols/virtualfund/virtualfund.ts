// VirtualFund (DESIGN §5, NITRO-NOTES §2.4): opens a payment channel V between Alice (participant 0) and
// Bob (the last participant) through intermediaries P1..Pn, funded by guarantees in the ledgers along the
// path instead of on chain. Everyone signs V's prefund; then each ledger L(P_k, P_k+1) adds the guarantee
// {target V, left P_k, right P_k+1, left funds Alice's share, right funds Bob's share} — both sides derive
// it from the prefund, so the ledger's follower countersigns only what it computed itself; then everyone
// signs the postfund. Intermediaries complete once they signed the postfund (it only protects them).
// Flowchart: virtualfund.md.
import type { Address, Bytes32 } from '../../core/types.js'
import type { State } from '../../core/state.js'
import type { SignedState } from '../../core/signedState.js'
import type { Signer } from '../../core/signer.js'
import { channelId } from '../../core/channelId.js'
import { addressToDestination } from '../../core/outcome.js'
import { fixedPart } from '../../core/state.js'
import { isFullySigned, isSignedBy, participantIndex, signBy, unsigned } from '../../core/signedState.js'
import type { Cranked, Effect, ObjectiveBase, ObjectiveStatus } from '../objective.js'
import { send } from '../objective.js'
import { mergePeerSignatures } from '../signedStates.js'
import { UnexpectedStateError, UnsupportedChannelError } from '../errors.js'
import { assert } from '../../core/errors.js'
import type { Proposal } from '../ledger/proposal.js'

export type VirtualFundWaitingFor = 'approval' | 'prefund' | 'funding' | 'postfund' | 'nothing'

export interface VirtualFund extends ObjectiveBase {
  readonly kind: 'virtualfund'
  readonly channelId: Bytes32
  readonly myIndex: number
  readonly prefund: SignedState
  readonly postfund: SignedState
  /** A fact: the guarantee changes were handed to the engine once. */
  readonly guaranteesRequested: boolean
}

/** Whether the guarantee for V is in the supported state of my ledger with each neighbour (from the engine). */
export interface FundingView {
  readonly left: boolean
  readonly right: boolean
}

export type VirtualFundInput = { readonly kind: 'signedState'; readonly signed: SignedState }

export function virtualFundId(id: Bytes32): string {
  return `virtualfund:${id}`
}

/**
 * A VirtualFund from V's prefund: ≥ 2 participants, one asset, allocations [Alice, Bob] paying their own
 * addresses; turn 0, not final. 'approved' for Alice (who asked), 'unapproved' when built from her prefund.
 */
export function newVirtualFund(prefund: State, me: Address, status: ObjectiveStatus): VirtualFund {
  if (prefund.turnNum !== 0n || prefund.isFinal) throw new UnexpectedStateError('a prefund state is turn 0 and not final')
  const n = prefund.participants.length
  if (n < 2) throw new UnsupportedChannelError('a virtual channel has at least two participants')
  if (new Set(prefund.participants.map((p) => p)).size !== n) throw new UnsupportedChannelError('participants must be distinct')
  const myIndex = participantIndex(prefund, me)
  if (myIndex < 0) throw new UnsupportedChannelError('I am not a participant of this channel')
  const [exit] = prefund.outcome
  if (prefund.outcome.length !== 1 || !exit || exit.allocations.length !== 2) throw new UnsupportedChannelError('a payment channel holds one asset in two allocations')
  const [a, b] = exit.allocations as [(typeof exit.allocations)[number], (typeof exit.allocations)[number]]
  if (a.destination !== addressToDestination(prefund.participants[0]!) || b.destination !== addressToDestination(prefund.participants[n - 1]!)) {
    throw new UnsupportedChannelError('a payment channel pays Alice (first) and Bob (last)')
  }
  if (a.allocationType !== 0 || b.allocationType !== 0) throw new UnsupportedChannelError('payment channel allocations are simple')
  // The VirtualPaymentApp settles a voucher as Bob's whole final amount: he must start at 0.
  if (b.amount !== 0n) throw new UnsupportedChannelError('the payee starts a payment channel with nothing')
  const id = channelId(fixedPart(prefund))
  return {
    id: virtualFundId(id),
    kind: 'virtualfund',
    status,
    failure: null,
    channelId: id,
    myIndex,
    prefund: unsigned(prefund),
    postfund: unsigned({ ...prefund, turnNum: 1n }),
    guaranteesRequested: false,
  }
}

/** The guarantee for V in the ledger between participants k and k+1 of V. */
export function guaranteeProposal(v: State, k: number): Proposal {
  const [a, b] = v.outcome[0]!.allocations
  return {
    kind: 'add',
    target: channelId(fixedPart(v)),
    left: addressToDestination(v.participants[k]!),
    right: addressToDestination(v.participants[k + 1]!),
    leftAmount: a!.amount,
    rightAmount: b!.amount,
  }
}

export function update(o: VirtualFund, input: VirtualFundInput): VirtualFund {
  const turn = input.signed.state.turnNum
  if (turn === 0n) return { ...o, prefund: mergePeerSignatures(o.prefund, input.signed) }
  if (turn === 1n) return { ...o, postfund: mergePeerSignatures(o.postfund, input.signed) }
  throw new UnexpectedStateError(`virtualfund takes turns 0 and 1, not ${turn}`, { turnNum: turn })
}

function others(o: VirtualFund): Address[] {
  return o.prefund.state.participants.filter((_, i) => i !== o.myIndex)
}

export function crank(o: VirtualFund, signer: Signer, funding: FundingView): Cranked<VirtualFund, VirtualFundWaitingFor> {
  const effects: Effect[] = []
  const pause = (objective: VirtualFund, waitingFor: VirtualFundWaitingFor) => ({ objective, effects, waitingFor })
  if (o.status === 'unapproved') return pause(o, 'approval')
  if (o.status !== 'approved') return pause(o, 'nothing')
  assert(signer.address === o.prefund.state.participants[o.myIndex]!, 'signer is my participant')
  const last = o.prefund.state.participants.length - 1
  let next = o
  if (!isSignedBy(next.prefund, o.myIndex)) {
    next = { ...next, prefund: signBy(next.prefund, signer) }
    for (const to of others(o)) effects.push(send(to, { kind: 'signedState', objectiveId: o.id, signedState: next.prefund }))
  }
  if (!isFullySigned(next.prefund)) return pause(next, 'prefund')

  if (!next.guaranteesRequested) {
    const v = o.prefund.state
    if (o.myIndex > 0) effects.push({ kind: 'updateLedger', counterparty: v.participants[o.myIndex - 1]!, proposal: guaranteeProposal(v, o.myIndex - 1) })
    if (o.myIndex < last) effects.push({ kind: 'updateLedger', counterparty: v.participants[o.myIndex + 1]!, proposal: guaranteeProposal(v, o.myIndex) })
    next = { ...next, guaranteesRequested: true }
  }
  const funded = (o.myIndex === 0 || funding.left) && (o.myIndex === last || funding.right)
  if (!funded) return pause(next, 'funding')

  if (!isSignedBy(next.postfund, o.myIndex)) {
    next = { ...next, postfund: signBy(next.postfund, signer) }
    for (const to of others(o)) effects.push(send(to, { kind: 'signedState', objectiveId: o.id, signedState: next.postfund }))
  }
  // Intermediaries are done: the postfund protects them, and they can always reclaim with the prefund (ADR-0009 of Nitro).
  const intermediary = o.myIndex > 0 && o.myIndex < last
  if (!intermediary && !isFullySigned(next.postfund)) return pause(next, 'postfund')
  return pause({ ...next, status: 'completed' }, 'nothing')
}
