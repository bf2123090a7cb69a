// AppDefund (issue 7): closes an app channel whose app reached a final state. Every participant signs the
// concluding state — the latest state signed by all, one turn on, isFinal — and sends its signature to every
// other participant; once all signed it, the money moves by the channel's funding mode:
// - 'direct': participant 0 submits concludeAndWithdraw (it pays everyone, as DirectDefund does); everyone
//   completes when the chain reports the channel concluded (the payout is in the same transaction) — not on
//   holdings of 0, which a node that has not seen the deposits would also read;
// - 'ledger': both participants derive the same LedgerUpdate removing the guarantee, with participant 0's
//   final amount returned to its balance and the rest to participant 1's; completed when the ledger no
//   longer holds the guarantee;
// - 'none': completed once the concluding state is signed by all.
// A participant who never signs leaves the others with the latest fully signed state, which the consensus
// app enforces on chain after a challenge (docs/architecture/app-channels.md, "Disputes").
// Pure (STYLE §2).
import type { Address, Bytes32 } from '../../core/types.js'
import type { SignedState } from '../../core/signedState.js'
import type { State } from '../../core/state.js'
import type { Signer } from '../../core/signer.js'
import { isFullySigned, isSignedBy, signBy, unsigned } from '../../core/signedState.js'
import { hashState } from '../../core/hashState.js'
import { assert } from '../../core/errors.js'
import type { Cranked, Effect, ObjectiveBase, ObjectiveStatus } from '../objective.js'
import { fail, send } from '../objective.js'
import { mergePeerSignatures } from '../signedStates.js'
import { UnexpectedStateError } from '../errors.js'
import type { Proposal } from '../ledger/proposal.js'
import type { FundingMode } from './appData.js'
import type { GuaranteeView } from './appFund.js'

export type AppDefundWaitingFor = 'approval' | 'finalState' | 'withdraw' | 'release' | 'nothing'

export const MAX_APP_WITHDRAW_ATTEMPTS = 3

export interface AppDefund extends ObjectiveBase {
  readonly kind: 'appdefund'
  readonly channelId: Bytes32
  readonly funding: FundingMode
  readonly myIndex: number
  /** The concluding state: the latest fully signed one, turn + 1, final. */
  readonly final: SignedState
  readonly holdings: bigint
  /** The chain reported the channel concluded (direct funding): paid out. */
  readonly concluded: boolean
  readonly withdrawSubmitted: boolean
  readonly withdrawFailures: number
  readonly releaseRequested: boolean
}

export type AppDefundInput =
  | { readonly kind: 'signedState'; readonly signed: SignedState }
  | { readonly kind: 'holdings'; readonly amount: bigint }
  | { readonly kind: 'concluded' }
  | { readonly kind: 'withdrawFailed'; readonly code: string; readonly summary: string }

export function appDefundId(channelId: Bytes32): string {
  return `appdefund:${channelId}`
}

/** The state every participant signs to close: `base` (a turn at which the app is final) one turn on, with isFinal set. */
export function concludingState(base: State): SignedState {
  assert(!base.isFinal, 'app turns are not final states')
  return unsigned({ ...base, turnNum: base.turnNum + 1n, isFinal: true })
}

export function newAppDefund(p: { channelId: Bytes32; funding: FundingMode; base: State; me: Address; holdings: bigint; status: ObjectiveStatus }): AppDefund {
  const final = concludingState(p.base)
  const myIndex = final.state.participants.findIndex((a) => a === p.me)
  assert(myIndex >= 0, 'I close only channels I am a participant of')
  return {
    id: appDefundId(p.channelId),
    kind: 'appdefund',
    status: p.status,
    failure: null,
    channelId: p.channelId,
    funding: p.funding,
    myIndex,
    final,
    holdings: p.holdings,
    concluded: false,
    withdrawSubmitted: false,
    withdrawFailures: 0,
    releaseRequested: false,
  }
}

export function update(o: AppDefund, input: AppDefundInput): AppDefund {
  switch (input.kind) {
    case 'holdings':
      return { ...o, holdings: input.amount }
    case 'concluded':
      return { ...o, concluded: true }
    case 'withdrawFailed': {
      if (o.status !== 'approved') return o // a late report changes nothing settled
      const withdrawFailures = o.withdrawFailures + 1
      const next = { ...o, withdrawSubmitted: false, withdrawFailures }
      return withdrawFailures >= MAX_APP_WITHDRAW_ATTEMPTS ? fail(next, { code: input.code, summary: `withdraw failed: ${input.summary}` }) : next
    }
    case 'signedState':
      if (hashState(input.signed.state) !== hashState(o.final.state)) throw new UnexpectedStateError('the peer signed a different concluding state')
      return { ...o, final: mergePeerSignatures(o.final, input.signed) }
  }
}

/** Releases the guarantee: participant 0's final amount back to its (left) balance, the rest to participant 1's. */
export function releaseProposal(o: Pick<AppDefund, 'channelId' | 'final'>): Extract<Proposal, { kind: 'remove' }> {
  const allocations = o.final.state.outcome[0]!.allocations
  return { kind: 'remove', target: o.channelId, leftAmount: allocations[0]!.amount }
}

/** What the engine sees around the objective. */
export interface AppDefundView {
  /**
   * The turn the concluding state builds on is signed by all here. A peer who holds it signed by all may
   * conclude before its last countersignature reached me: I keep that peer's signature, but sign only once
   * I hold the turn signed by all too (until then I cannot tell it from a contested turn, which never is).
   */
  readonly baseSigned: boolean
  /** My ledger with the other participant (ledger funding only). */
  readonly ledger: GuaranteeView | null
}

export function crank(o: AppDefund, signer: Signer, view: AppDefundView): Cranked<AppDefund, AppDefundWaitingFor> {
  const effects: Effect[] = []
  const pause = (objective: AppDefund, waitingFor: AppDefundWaitingFor) => ({ objective, effects, waitingFor })
  if (o.status === 'unapproved') return pause(o, 'approval')
  if (o.status !== 'approved') return pause(o, 'nothing')
  const participants = o.final.state.participants
  assert(signer.address === participants[o.myIndex]!, 'signer is my participant')
  let next = o
  if (!view.baseSigned) return pause(next, 'finalState')
  if (!isSignedBy(next.final, o.myIndex)) {
    next = { ...next, final: signBy(next.final, signer) }
    for (const [i, p] of participants.entries()) if (i !== o.myIndex) effects.push(send(p, { kind: 'signedState', objectiveId: o.id, signedState: next.final }))
  }
  if (!isFullySigned(next.final)) return pause(next, 'finalState')
  if (o.funding === 'direct') {
    const total = next.final.state.outcome[0]!.allocations.reduce((sum, a) => sum + a.amount, 0n)
    if (next.concluded || total === 0n) return pause({ ...next, status: 'completed' }, 'nothing')
    if (o.myIndex === 0 && !next.withdrawSubmitted) {
      effects.push({ kind: 'submit', tx: { kind: 'concludeAndWithdraw', signedState: next.final } })
      next = { ...next, withdrawSubmitted: true }
    }
    return pause(next, 'withdraw')
  }
  if (o.funding === 'ledger') {
    const { ledger } = view
    assert(ledger !== null, 'the engine shows a ledger-funded objective its ledger')
    if (next.releaseRequested && !ledger.guaranteed) return pause({ ...next, status: 'completed' }, 'nothing')
    if (ledger.failure) return pause(fail(next, ledger.failure), 'nothing')
    if (!next.releaseRequested) {
      effects.push({ kind: 'updateLedger', counterparty: participants[1 - o.myIndex]!, proposal: releaseProposal(next) })
      next = { ...next, releaseRequested: true }
    }
    return pause(next, 'release')
  }
  return pause({ ...next, status: 'completed' }, 'nothing')
}
