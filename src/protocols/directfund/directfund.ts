// DirectFund (DESIGN §5, NITRO-NOTES §2.1): funds a two-party ledger channel on chain. Both sign the
// prefund state (turn 0); each deposits in outcome order once holdings reach its safety threshold; both
// sign the postfund state (turn 1). Flowchart: directfund.md.
import type { Address, Bytes32 } from '../../core/types.js'
import type { State } from '../../core/state.js'
import type { SignedState } from '../../core/signedState.js'
import type { Signer } from '../../core/signer.js'
import { channelId } from '../../core/channelId.js'
import { addressToDestination } from '../../core/outcome.js'
import { fixedPart } from '../../core/state.js'
import { isFullySigned, isSignedBy, participantIndex, signBy, unsigned } from '../../core/signedState.js'
import { assert } from '../../core/errors.js'
import type { Cranked, Effect, ObjectiveBase, ObjectiveStatus } from '../objective.js'
import { fail, send } from '../objective.js'
import { mergePeerSignatures } from '../signedStates.js'
import { UnexpectedStateError, UnsupportedChannelError } from '../errors.js'
import { depositSafetyThreshold, depositTarget, fullyFundedThreshold } from '../outcome/funding.js'

export type DirectFundWaitingFor = 'approval' | 'prefund' | 'myTurnToDeposit' | 'funding' | 'postfund' | 'nothing'

/** Deposits the chain refused before the objective gives up (each retry re-reads holdings first). */
export const MAX_DEPOSIT_ATTEMPTS = 3

export interface DirectFund extends ObjectiveBase {
  readonly kind: 'directfund'
  readonly channelId: Bytes32
  readonly myIndex: number
  readonly prefund: SignedState
  readonly postfund: SignedState
  /** Latest holdings the chain reported (absolute). */
  readonly holdings: bigint
  /** A fact committed with the step that emitted the deposit: keeps crank idempotent. */
  readonly depositSubmitted: boolean
  readonly depositFailures: number
}

export type DirectFundInput =
  | { readonly kind: 'signedState'; readonly signed: SignedState }
  | { readonly kind: 'holdings'; readonly amount: bigint }
  | { readonly kind: 'depositFailed'; readonly code: string; readonly summary: string }

export function directFundId(id: Bytes32): string {
  return `directfund:${id}`
}

/**
 * A DirectFund for a ledger channel: two participants, one asset, allocations [participant 0,
 * participant 1] paying their own addresses, turn 0, not final. `status` is 'approved' for the initiator
 * and 'unapproved' when built from a peer's prefund.
 */
export function newDirectFund(prefund: State, me: Address, status: ObjectiveStatus): DirectFund {
  if (prefund.turnNum !== 0n || prefund.isFinal) throw new UnexpectedStateError('a prefund state is turn 0 and not final')
  if (prefund.participants.length !== 2) throw new UnsupportedChannelError('a ledger channel has two participants')
  // The same address twice could never collect a second signature (both slots map to index 0): refuse
  // it here rather than leave an objective waiting for its prefund forever.
  if (prefund.participants[0]! === prefund.participants[1]!) {
    throw new UnsupportedChannelError('a ledger channel has two distinct participants')
  }
  const myIndex = participantIndex(prefund, me)
  if (myIndex < 0) throw new UnsupportedChannelError('I am not a participant of this channel')
  const [exit] = prefund.outcome
  if (prefund.outcome.length !== 1 || !exit) throw new UnsupportedChannelError('a ledger channel holds exactly one asset')
  const destinations = exit.allocations.map((a) => a.destination)
  const expected = prefund.participants.map((p) => addressToDestination(p))
  if (destinations.length !== 2 || destinations[0] !== expected[0] || destinations[1] !== expected[1] || exit.allocations.some((a) => a.allocationType !== 0)) {
    throw new UnsupportedChannelError('a ledger outcome pays participant 0 then participant 1, simply')
  }
  const id = channelId(fixedPart(prefund))
  return {
    id: directFundId(id),
    kind: 'directfund',
    status,
    failure: null,
    channelId: id,
    myIndex,
    prefund: unsigned(prefund),
    postfund: unsigned({ ...prefund, turnNum: 1n }),
    holdings: 0n,
    depositSubmitted: false,
    depositFailures: 0,
  }
}

export function update(o: DirectFund, input: DirectFundInput): DirectFund {
  switch (input.kind) {
    case 'holdings':
      return { ...o, holdings: input.amount }
    case 'depositFailed': {
      const depositFailures = o.depositFailures + 1
      const next = { ...o, depositSubmitted: false, depositFailures }
      return depositFailures >= MAX_DEPOSIT_ATTEMPTS ? fail(next, { code: input.code, summary: `deposit failed: ${input.summary}` }) : next
    }
    case 'signedState': {
      const turn = input.signed.state.turnNum
      if (turn === 0n) return { ...o, prefund: mergePeerSignatures(o.prefund, input.signed) }
      if (turn === 1n) return { ...o, postfund: mergePeerSignatures(o.postfund, input.signed) }
      throw new UnexpectedStateError(`directfund takes turns 0 and 1, not ${turn}`, { turnNum: turn })
    }
  }
}

function myDestination(o: DirectFund) {
  return addressToDestination(o.prefund.state.participants[o.myIndex]!)
}

export function crank(o: DirectFund, signer: Signer): Cranked<DirectFund, DirectFundWaitingFor> {
  const effects: Effect[] = []
  const pause = (objective: DirectFund, waitingFor: DirectFundWaitingFor) => ({ objective, effects, waitingFor })
  if (o.status === 'unapproved') return pause(o, 'approval')
  if (o.status !== 'approved') return pause(o, 'nothing')
  assert(signer.address === o.prefund.state.participants[o.myIndex]!, 'signer is my participant')
  const counterparty = o.prefund.state.participants[1 - o.myIndex]!
  let next = o
  if (!isSignedBy(next.prefund, o.myIndex)) {
    next = { ...next, prefund: signBy(next.prefund, signer) }
    effects.push(send(counterparty, { kind: 'signedState', objectiveId: o.id, signedState: next.prefund }))
  }
  if (!isFullySigned(next.prefund)) return pause(next, 'prefund')

  const exit = o.prefund.state.outcome[0]!
  if (next.holdings < fullyFundedThreshold(exit)) {
    if (next.holdings < depositSafetyThreshold(exit, myDestination(o))) return pause(next, 'myTurnToDeposit')
    const target = depositTarget(exit, myDestination(o))
    if (next.holdings < target && !next.depositSubmitted) {
      effects.push({ kind: 'submit', tx: { kind: 'deposit', channelId: o.channelId, asset: exit.asset, expectedHeld: next.holdings, amount: target - next.holdings } })
      next = { ...next, depositSubmitted: true }
    }
    return pause(next, 'funding')
  }

  if (!isSignedBy(next.postfund, o.myIndex)) {
    next = { ...next, postfund: signBy(next.postfund, signer) }
    effects.push(send(counterparty, { kind: 'signedState', objectiveId: o.id, signedState: next.postfund }))
  }
  if (!isFullySigned(next.postfund)) return pause(next, 'postfund')
  return pause({ ...next, status: 'completed' }, 'nothing')
}
