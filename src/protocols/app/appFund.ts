// AppFund (issue 7): puts an app channel's deposits where the adjudicator can pay them out, once every
// participant signed turn 0 (the genesis commits to the deposits and the funding mode, so everyone agreed to
// the same plan before anyone moves money). Nobody proposes an event before it completes (the engine refuses
// submit_event with not_funded).
// - 'direct': participant i deposits deposits[i] on chain once the holdings reach the sum of the deposits
//   before it (DirectFund's safety rule, for N participants): nobody's money lands in a channel whose
//   earlier shares are missing. Completed when the holdings reach the total.
// - 'ledger': the two participants share a ledger channel; each derives the same LedgerUpdate, a guarantee
//   for the app channel locking deposits[0] from participant 0's balance and deposits[1] from participant 1's.
//   Completed when the ledger supports the guarantee; failed when the ledger update failed.
// Pure (STYLE §2): the engine passes what it sees of the chain and the ledger in; effects come out.
import type { Address, Bytes32 } from '../../core/types.js'
import { addressToDestination } from '../../core/outcome.js'
import { assert } from '../../core/errors.js'
import type { Cranked, Effect, Failure, ObjectiveBase } from '../objective.js'
import { fail } from '../objective.js'
import type { Proposal } from '../ledger/proposal.js'
import type { AppDefinition } from './appData.js'
import { fundingOf } from './appData.js'

export type AppFundWaitingFor = 'myTurnToDeposit' | 'funding' | 'guarantee' | 'nothing'

/** Deposits the chain refused before the objective gives up (each retry starts from the holdings seen). */
export const MAX_APP_DEPOSIT_ATTEMPTS = 3

export interface AppFund extends ObjectiveBase {
  readonly kind: 'appfund'
  readonly channelId: Bytes32
  readonly funding: 'direct' | 'ledger'
  readonly participants: readonly Address[]
  readonly myIndex: number
  readonly asset: Address
  readonly deposits: readonly bigint[]
  /** Latest holdings the chain reported (absolute). */
  readonly holdings: bigint
  /** Facts committed with the step that emitted the effect: keep crank idempotent. */
  readonly depositSubmitted: boolean
  readonly depositFailures: number
  readonly guaranteeRequested: boolean
}

export type AppFundInput =
  | { readonly kind: 'holdings'; readonly amount: bigint }
  | { readonly kind: 'depositFailed'; readonly code: string; readonly summary: string }

/** What the engine sees of my ledger with the other participant (ledger funding only). */
export interface GuaranteeView {
  /** The ledger's supported state holds the guarantee for this channel. */
  readonly guaranteed: boolean
  /** Why the guarantee cannot be made (no ledger, another asset, the ledger update failed). */
  readonly failure: Failure | null
}

export function appFundId(channelId: Bytes32): string {
  return `appfund:${channelId}`
}

/** The funding of a channel whose turn 0 every participant signed. Approved: signing turn 0 was the approval. */
export function newAppFund(channelId: Bytes32, definition: AppDefinition, me: Address, holdings: bigint): AppFund {
  const funding = fundingOf(definition)
  assert(funding !== 'none', 'a channel funded by nobody has no AppFund')
  const participants = definition.fixed.participants
  const myIndex = participants.findIndex((p) => p === me)
  assert(myIndex >= 0, 'I fund only channels I am a participant of')
  assert(funding === 'direct' || participants.length === 2, 'ledger funding has two participants (checkDefinition)')
  return {
    id: appFundId(channelId),
    kind: 'appfund',
    status: 'approved',
    failure: null,
    channelId: channelId,
    funding,
    participants,
    myIndex,
    asset: definition.asset,
    deposits: definition.deposits,
    holdings,
    depositSubmitted: false,
    depositFailures: 0,
    guaranteeRequested: false,
  }
}

export function update(o: AppFund, input: AppFundInput): AppFund {
  switch (input.kind) {
    case 'holdings':
      return { ...o, holdings: input.amount }
    case 'depositFailed': {
      if (o.status !== 'approved') return o // a late report changes nothing settled
      const depositFailures = o.depositFailures + 1
      const next = { ...o, depositSubmitted: false, depositFailures }
      return depositFailures >= MAX_APP_DEPOSIT_ATTEMPTS ? fail(next, { code: input.code, summary: `deposit failed: ${input.summary}` }) : next
    }
  }
}

/** The guarantee both participants of the ledger derive: participant 0 on the left, participant 1 on the right. */
export function guaranteeProposal(o: Pick<AppFund, 'channelId' | 'participants' | 'deposits'>): Extract<Proposal, { kind: 'add' }> {
  return {
    kind: 'add',
    target: o.channelId,
    left: addressToDestination(o.participants[0]!),
    right: addressToDestination(o.participants[1]!),
    leftAmount: o.deposits[0]!,
    rightAmount: o.deposits[1]!,
  }
}

export function counterpartyOf(o: Pick<AppFund, 'participants' | 'myIndex'>): Address {
  assert(o.participants.length === 2, 'a ledger-funded channel has one counterparty')
  return o.participants[1 - o.myIndex]!
}

export function crank(o: AppFund, ledger: GuaranteeView | null): Cranked<AppFund, AppFundWaitingFor> {
  const effects: Effect[] = []
  const pause = (objective: AppFund, waitingFor: AppFundWaitingFor) => ({ objective, effects, waitingFor })
  if (o.status !== 'approved') return pause(o, 'nothing')
  if (o.funding === 'ledger') {
    assert(ledger !== null, 'the engine shows a ledger-funded objective its ledger')
    if (ledger.guaranteed) return pause({ ...o, status: 'completed' }, 'nothing')
    if (ledger.failure) return pause(fail(o, ledger.failure), 'nothing')
    if (!o.guaranteeRequested) {
      effects.push({ kind: 'updateLedger', counterparty: counterpartyOf(o), proposal: guaranteeProposal(o) })
      return pause({ ...o, guaranteeRequested: true }, 'guarantee')
    }
    return pause(o, 'guarantee')
  }
  const total = o.deposits.reduce((sum, d) => sum + d, 0n)
  if (o.holdings >= total) return pause({ ...o, status: 'completed' }, 'nothing')
  const before = o.deposits.slice(0, o.myIndex).reduce((sum, d) => sum + d, 0n)
  if (o.holdings < before) return pause(o, 'myTurnToDeposit')
  const target = before + o.deposits[o.myIndex]!
  if (o.holdings < target && !o.depositSubmitted) {
    effects.push({ kind: 'submit', tx: { kind: 'deposit', channelId: o.channelId, asset: o.asset, expectedHeld: o.holdings, amount: target - o.holdings } })
    return pause({ ...o, depositSubmitted: true }, 'funding')
  }
  return pause(o, 'funding')
}
