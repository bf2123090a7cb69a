// VirtualDefund (DESIGN §5, NITRO-NOTES §2.5): closes payment channel V. Alice (the payer) writes the
// final state — V's funded outcome with what the vouchers paid moved from Alice to Bob, turn 2, final;
// anyone else asks her for it. Everyone signs it (Bob only if it pays him at least his largest voucher);
// then each ledger along the path removes V's guarantee, paying its left side Alice's final amount and
// its right side Bob's: intermediaries end net-zero. Flowchart: virtualdefund.md.
import type { Address, Bytes32 } from '../../core/types.js'
import type { State } from '../../core/state.js'
import type { Exit } from '../../core/outcome.js'
import type { SignedState } from '../../core/signedState.js'
import type { Signer } from '../../core/signer.js'
import { hashState } from '../../core/hashState.js'
import { channelId } from '../../core/channelId.js'
import { fixedPart } from '../../core/state.js'
import { isFullySigned, isSignedBy, participantIndex, signBy, unsigned } from '../../core/signedState.js'
import { RejectedInputError, assert } from '../../core/errors.js'
import type { Cranked, Effect, ObjectiveBase, ObjectiveStatus } from '../objective.js'
import { send } from '../objective.js'
import { mergePeerSignatures } from '../signedStates.js'
import { UnexpectedStateError } from '../errors.js'

export type VirtualDefundWaitingFor = 'approval' | 'finalStateFromAlice' | 'finalState' | 'defunding' | 'nothing'

export const FINAL_TURN = 2n

export class UnderpaidError extends RejectedInputError {
  readonly code = 'underpaid'
}

export interface VirtualDefund extends ObjectiveBase {
  readonly kind: 'virtualdefund'
  readonly channelId: Bytes32
  readonly myIndex: number
  /** V's funded state (the postfund), the starting point of the final outcome. */
  readonly funded: State
  /** Alice: what she paid; Bob: his largest voucher; intermediaries: 0. */
  readonly minimumPayment: bigint
  readonly final: SignedState | null
  readonly finalRequested: boolean
  /** A fact: the guarantee removals were handed to the engine once. */
  readonly removalsRequested: boolean
  /**
   * V's outcome as it finalized on chain (a dispute settled it, issue 15): the guarantees are removed by it, with no
   * final state to sign — reclaim would pay the ledgers the same, and the ledgers stay open.
   */
  readonly onChain?: Exit
}

export interface DefundingView {
  /** Whether my ledger on that side no longer holds V's guarantee (in its supported state). */
  readonly leftReleased: boolean
  readonly rightReleased: boolean
}

export type VirtualDefundInput =
  | { readonly kind: 'signedState'; readonly signed: SignedState }
  /** The payee received a larger voucher while closing: the final state must pay at least this. */
  | { readonly kind: 'voucher'; readonly amount: bigint }
  /** V finalized on chain with this outcome (its dispute saw it): the removals follow it. */
  | { readonly kind: 'finalizedOnChain'; readonly outcome: Exit }

export function virtualDefundId(id: Bytes32): string {
  return `virtualdefund:${id}`
}

/** The final state Alice writes when the vouchers paid `paid`. */
export function finalState(funded: State, paid: bigint): State {
  const exit = funded.outcome[0]!
  const [a, b] = exit.allocations as [(typeof exit.allocations)[number], (typeof exit.allocations)[number]]
  return {
    ...funded,
    appData: '0x',
    turnNum: FINAL_TURN,
    isFinal: true,
    outcome: [{ ...exit, allocations: [{ ...a, amount: a.amount - paid }, { ...b, amount: b.amount + paid }] }],
  }
}

export function newVirtualDefund(p: { funded: State; me: Address; paid: bigint; status: ObjectiveStatus }): VirtualDefund {
  const myIndex = participantIndex(p.funded, p.me)
  assert(myIndex >= 0, 'I am a participant of V')
  const final = myIndex === 0 ? unsigned(finalState(p.funded, p.paid)) : null
  const id = channelId(fixedPart(p.funded))
  return { id: virtualDefundId(id), kind: 'virtualdefund', status: p.status, failure: null, channelId: id, myIndex, funded: p.funded, minimumPayment: p.paid, final, finalRequested: false, removalsRequested: false }
}

/** A final state from a peer must be the one Alice would write for some payment, and pay Bob at least what I know he was paid. */
function checkFinal(o: VirtualDefund, state: State): void {
  const exit = state.outcome[0]
  const start = o.funded.outcome[0]!
  if (state.turnNum !== FINAL_TURN || !state.isFinal || state.outcome.length !== 1 || !exit || exit.allocations.length !== 2) {
    throw new UnexpectedStateError('not a final state of this payment channel')
  }
  const paid = start.allocations[0]!.amount - exit.allocations[0]!.amount
  if (paid < 0n || hashState(finalState(o.funded, paid)) !== hashState(state)) throw new UnexpectedStateError('the final state moves funds other than from Alice to Bob')
  if (paid < o.minimumPayment) throw new UnderpaidError('the final state pays Bob less than the vouchers he holds', { paid, vouchers: o.minimumPayment })
}

export function update(o: VirtualDefund, input: VirtualDefundInput): VirtualDefund {
  if (input.kind === 'voucher') return input.amount > o.minimumPayment ? { ...o, minimumPayment: input.amount } : o
  if (input.kind === 'finalizedOnChain') {
    if (o.status === 'completed' || o.status === 'failed' || o.onChain) return o
    const exit = input.outcome[0]
    const funded = o.funded.outcome[0]!
    const total = (e: typeof funded) => e.allocations.reduce((sum, a) => sum + a.amount, 0n)
    // The chain finalized it, so it is V's outcome: still, the removals are derived from it, so its shape is checked.
    if (input.outcome.length !== 1 || !exit || exit.asset !== funded.asset || exit.allocations.length !== 2 || total(exit) !== total(funded)) {
      return { ...o, status: 'failed', failure: { code: 'unexpected_outcome', summary: 'the outcome V finalized with on chain is not a split of its funded amount between payer and payee' } }
    }
    return { ...o, status: 'approved', onChain: input.outcome }
  }
  const state = input.signed.state
  if (o.final === null) {
    // Only Alice writes the final state: the first one taken must carry her signature.
    if (input.signed.signatures[0] == null) throw new UnexpectedStateError('a final state without the payer\'s signature')
    checkFinal(o, state)
    return { ...o, final: mergePeerSignatures(unsigned(state), input.signed) }
  }
  if (hashState(state) !== hashState(o.final.state)) throw new UnexpectedStateError('the peer signed a different final state')
  return { ...o, final: mergePeerSignatures(o.final, input.signed) }
}

export function crank(o: VirtualDefund, signer: Signer, view: DefundingView): Cranked<VirtualDefund, VirtualDefundWaitingFor> {
  const effects: Effect[] = []
  const pause = (objective: VirtualDefund, waitingFor: VirtualDefundWaitingFor) => ({ objective, effects, waitingFor })
  if (o.status === 'unapproved') return pause(o, 'approval')
  if (o.status !== 'approved') return pause(o, 'nothing')
  const participants = o.funded.participants
  let next = o
  if (next.onChain) return removeGuarantees(next, next.onChain[0]!.allocations[0]!.amount, view, effects, pause)
  if (next.final === null) {
    if (!next.finalRequested) {
      effects.push(send(participants[0]!, { kind: 'finalStateRequest', channelId: o.channelId }))
      next = { ...next, finalRequested: true }
    }
    return pause(next, 'finalStateFromAlice')
  }
  assert(signer.address === participants[o.myIndex]!, 'signer is my participant')
  if (!isSignedBy(next.final, o.myIndex)) {
    // A voucher may have raised what I must be paid since the final state arrived.
    const paid = o.funded.outcome[0]!.allocations[0]!.amount - next.final.state.outcome[0]!.allocations[0]!.amount
    if (paid < next.minimumPayment) {
      return pause({ ...next, status: 'failed', failure: { code: 'underpaid', summary: `the final state pays ${paid}, the vouchers ${next.minimumPayment}` } }, 'nothing')
    }
    next = { ...next, final: signBy(next.final, signer) }
    for (const to of participants.filter((_, i) => i !== o.myIndex)) effects.push(send(to, { kind: 'signedState', objectiveId: o.id, signedState: next.final! }))
  }
  if (!isFullySigned(next.final!)) return pause(next, 'finalState')
  return removeGuarantees(next, next.final!.state.outcome[0]!.allocations[0]!.amount, view, effects, pause)
}

/** Asks my ledgers on V's path to remove its guarantee, paying the left side `leftAmount` (once); done when both are gone. */
function removeGuarantees(
  o: VirtualDefund,
  leftAmount: bigint,
  view: DefundingView,
  effects: Effect[],
  pause: (objective: VirtualDefund, waitingFor: VirtualDefundWaitingFor) => Cranked<VirtualDefund, VirtualDefundWaitingFor>,
): Cranked<VirtualDefund, VirtualDefundWaitingFor> {
  const participants = o.funded.participants
  const last = participants.length - 1
  let next = o
  if (!next.removalsRequested) {
    const removal = { kind: 'remove' as const, target: o.channelId, leftAmount }
    if (o.myIndex > 0) effects.push({ kind: 'updateLedger', counterparty: participants[o.myIndex - 1]!, proposal: removal })
    if (o.myIndex < last) effects.push({ kind: 'updateLedger', counterparty: participants[o.myIndex + 1]!, proposal: removal })
    next = { ...next, removalsRequested: true }
  }
  const released = (o.myIndex === 0 || view.leftReleased) && (o.myIndex === last || view.rightReleased)
  if (!released) return pause(next, 'defunding')
  return pause({ ...next, status: 'completed' }, 'nothing')
}
