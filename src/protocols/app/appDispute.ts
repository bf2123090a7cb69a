// AppDispute (issues 7 and 15): settling a channel on chain when its peers stop answering or cheat. It registers
// the best state this node holds (the claim): a state every participant signed, as a challenge (the consensus
// app accepts it with no proof); a final state signed by all, concluded at once; or, for a payment channel's
// payee, the redemption state carrying the payer's largest voucher with the postfund as proof. It waits until
// the channel finalizes and pays out what the chain registered with transferAllAssets. A node also starts one
// when someone else challenges (src/engine/appDisputes.ts): an older state is answered by registering the claim;
// a later one (which carries this node's signature or is the payment app's redemption) is followed.
//
// A channel that funds others through guarantees (a ledger) cannot be paid out while a guarantee is left in its
// outcome: each guarantee is reclaimed first, once the channel it funds (the target: a payment channel, or an
// app channel funded from the ledger) has finalized too — the engine runs the target's dispute and tells this one
// what the target registered (TargetView). Each reclaim the chain reports replaces the outcome to pay out. A
// channel that holds nothing (a target: its money is in the ledger's guarantee) is done when it finalizes.
//
// A registered state at the claim's turn that is not the claim fails it (conflicting_challenge): both carry
// this node's signature, which it never gives to two states of one turn (DESIGN §5), and the adjudicator
// replaces a challenge only by a later turn: it can only report it. A later state that a peer checkpoints
// clears a challenge; the payout then fails with the chain's revert, and the channel goes on off chain.
// Pure (STYLE §2): time comes in as the caller's clock (ms).
import type { Bytes32, Signature } from '../../core/types.js'
import type { SignedState } from '../../core/signedState.js'
import type { State, VariablePart } from '../../core/state.js'
import type { Exit } from '../../core/outcome.js'
import { AllocationType } from '../../core/outcome.js'
import { fixedPart } from '../../core/state.js'
import { isFullySigned } from '../../core/signedState.js'
import type { Signer } from '../../core/signer.js'
import { hashState } from '../../core/hashState.js'
import { hashChallenge } from '../../core/signState.js'
import { assert } from '../../core/errors.js'
import { toBytes32 } from '../../core/canonical.js'
import type { Cranked, Effect, Failure, ObjectiveBase } from '../objective.js'
import { fail } from '../objective.js'

export type AppDisputeWaitingFor = 'challenge' | 'finalization' | 'target' | 'reclaim' | 'payout' | 'nothing'

/**
 * Refused transactions are tried again after a delay that doubles from DISPUTE_RETRY_MS up to DISPUTE_RETRY_CAP_MS
 * (an RPC outage, a node whose clock runs ahead of the chain's). An answer to someone's challenge is tried for as
 * long as it can still land before that challenge finalizes, and then fails loudly (answer_too_late); otherwise
 * the dispute gives up after MAX_DISPUTE_FAILURES refusals (about an hour of tries).
 */
export const MAX_DISPUTE_FAILURES = 64
export const DISPUTE_RETRY_MS = 2_000
export const DISPUTE_RETRY_CAP_MS = 60_000

/** The wait after the `failures`-th refusal: 2 s, 4 s, 8 s … at most a minute. */
export function retryDelayMs(failures: number): number {
  return Math.min(DISPUTE_RETRY_MS * 2 ** Math.min(Math.max(0, failures - 1), 16), DISPUTE_RETRY_CAP_MS)
}

/** What this node registers on chain for a channel: the best state it holds, and how. */
export interface Claim {
  readonly candidate: SignedState
  /** What the channel's app needs beside the candidate: the payment app's redemption takes the postfund. */
  readonly proof: readonly SignedState[]
  /** 'conclude': the candidate is final and signed by all, and finalizes the channel at once. */
  readonly register: 'challenge' | 'conclude'
}

/** A claim through the consensus app (or any app taking a state signed by all): no proof. */
export function claimOf(candidate: SignedState): Claim {
  return { candidate, proof: [], register: 'challenge' }
}

export interface AppDispute extends ObjectiveBase {
  readonly kind: 'appdispute'
  readonly channelId: Bytes32
  /** The state this node registers: its best when the dispute began. */
  readonly candidate: SignedState
  /** Beside the candidate (absent: none). */
  readonly proof?: readonly SignedState[]
  /** Absent: 'challenge'. */
  readonly register?: 'conclude'
  readonly challengerSignature: Signature
  /** Submitted by me, or a registration at or past the candidate's turn is on chain already. */
  readonly challengeSubmitted: boolean
  /** Chain time (seconds) the registered state finalizes at; null until the chain reports it. */
  readonly finalizesAt: bigint | null
  /** The state the chain registered when it is not the candidate: a later one someone else registered. */
  readonly registered?: State
  /**
   * The channel was concluded (a final state), not challenged: the adjudicator then records the zero state hash,
   * which transferAllAssets and reclaim must name.
   */
  readonly concluded?: boolean
  /** The outcome to pay out after the reclaims the chain reported (absent: the registered state's). */
  readonly outcome?: Exit
  readonly reclaimSubmitted?: boolean
  readonly transferSubmitted: boolean
  readonly holdings: bigint
  /** The chain reported the holdings at 0 after the challenge was registered: paid out (by me or anyone). */
  readonly paidOut: boolean
  readonly failures: number
  /** Not before this time (ms, the engine's clock) after a refused transaction. */
  readonly retryAt: number
  /** Chain time (seconds) the older challenge this dispute answers finalizes at: my challenge must land before it. */
  readonly deadline?: bigint
}

/** What the chain registered for a channel a guarantee funds (its dispute's registered state), for reclaim. */
export interface TargetView {
  readonly state: State
  /** The state hash the adjudicator recorded for it (zero for a concluded channel). */
  readonly stateHash: Bytes32
  readonly finalizesAt: bigint
}
export type TargetsView = (target: Bytes32) => TargetView | undefined

export type AppDisputeInput =
  /** A challenge was registered; `registered` is its state's variable part, when the chain reported it. */
  | { readonly kind: 'challenged'; readonly turnNumRecord: bigint; readonly finalizesAt: bigint; readonly registered?: VariablePart }
  /** The channel was concluded with a final state; `state` is the one this node signed (absent: it knows none). */
  | { readonly kind: 'concluded'; readonly finalizesAt: bigint; readonly state?: State }
  /** A guarantee of the channel was reclaimed: the whole outcome the chain holds now. */
  | { readonly kind: 'reclaimed'; readonly outcome: Exit }
  | { readonly kind: 'holdings'; readonly amount: bigint }
  | { readonly kind: 'txFailed'; readonly code: string; readonly summary: string; readonly now: number }

export function appDisputeId(channelId: Bytes32): string {
  return `appdispute:${channelId}`
}

/**
 * A dispute from `claim`. `deadline`: the chain time the older challenge it answers finalizes at. A registration
 * already on chain reaches it afterwards as a `challenged` input (the engine gives it at once).
 */
export function newAppDispute(p: { channelId: Bytes32; claim: Claim; holdings: bigint; signer: Signer; deadline?: bigint }): AppDispute {
  const { candidate, proof, register } = p.claim
  if (register === 'conclude') assert(candidate.state.isFinal && isFullySigned(candidate), 'a conclusion needs a final state signed by all')
  else if (proof.length === 0) assert(isFullySigned(candidate), 'a challenge through the consensus app needs a state signed by all')
  return {
    id: appDisputeId(p.channelId),
    kind: 'appdispute',
    status: 'approved',
    failure: null,
    channelId: p.channelId,
    candidate,
    ...(proof.length > 0 ? { proof } : {}),
    ...(register === 'conclude' ? { register } : {}),
    challengerSignature: p.signer.signHash(hashChallenge(hashState(candidate.state))),
    challengeSubmitted: false,
    finalizesAt: null,
    transferSubmitted: false,
    holdings: p.holdings,
    paidOut: false,
    failures: 0,
    retryAt: 0,
    ...(p.deadline === undefined ? {} : { deadline: p.deadline }),
  }
}

/** The state the chain finalizes the channel with, as far as this dispute knows. */
export function registeredState(o: AppDispute): State {
  return o.registered ?? o.candidate.state
}

/** The state hash the adjudicator records with the registered state: zero for a conclusion (NitroAdjudicator `_conclude`). */
export function registeredStateHash(o: AppDispute): Bytes32 {
  return o.concluded ? ZERO_STATE_HASH : hashState(registeredState(o))
}

const ZERO_STATE_HASH = toBytes32(`0x${'00'.repeat(32)}`)

/** The turn the chain holds, or that mine will hold. */
function registeredTurn(o: AppDispute): bigint {
  return registeredState(o).turnNum
}

/**
 * The failure when the chain registered `registered` at the candidate's turn and it is another state than
 * the candidate (compared by hash, with the channel's fixed part); null when it is the candidate.
 */
function conflictingChallenge(candidate: SignedState, registered: VariablePart): Failure | null {
  const { state } = candidate
  assert(registered.turnNum === state.turnNum, 'a registered state is compared with the candidate of its turn')
  const registeredHash = hashState({ ...fixedPart(state), ...registered })
  const candidateHash = hashState(state)
  if (registeredHash === candidateHash) return null
  return {
    code: 'conflicting_challenge',
    summary: `the chain registered another state of turn ${state.turnNum} (${registeredHash}) than the one this node holds signed by all (${candidateHash}): both carry this node's signature, which it never gives to two states of one turn, and the chain replaces a challenge only with a later turn, so it will pay the registered outcome`,
  }
}

export function update(o: AppDispute, input: AppDisputeInput): AppDispute {
  switch (input.kind) {
    case 'challenged': {
      if (o.status !== 'approved' || o.register === 'conclude') return o // a conclusion overrides any challenge
      const mine = o.candidate.state.turnNum
      if (input.turnNumRecord === mine && o.registered === undefined) {
        const conflict = input.registered && conflictingChallenge(o.candidate, input.registered)
        return conflict ? fail(o, conflict) : { ...o, challengeSubmitted: true, finalizesAt: input.finalizesAt }
      }
      if (input.turnNumRecord <= registeredTurn(o)) return o // older than what I register: my challenge answers it
      // A later state than mine was registered: the chain will pay that one. It is followed if the chain told
      // which (to reclaim and pay it out); otherwise there is nothing left for this dispute to do.
      if (!input.registered) return fail(o, { code: 'superseded', summary: `a later state (turn ${input.turnNumRecord}) was registered on chain` })
      const registered = { ...fixedPart(o.candidate.state), ...input.registered }
      return { ...o, challengeSubmitted: true, finalizesAt: input.finalizesAt, registered, retryAt: 0 }
    }
    case 'concluded': {
      if (o.status !== 'approved') return o
      if (o.register === 'conclude') return { ...o, challengeSubmitted: true, finalizesAt: input.finalizesAt, concluded: true }
      if (!input.state) return fail(o, { code: 'concluded', summary: 'the channel was concluded with a final state this node does not hold: it cannot name its outcome to pay out' })
      return { ...o, challengeSubmitted: true, finalizesAt: input.finalizesAt, registered: input.state, concluded: true, retryAt: 0 }
    }
    case 'reclaimed':
      return { ...o, outcome: input.outcome, reclaimSubmitted: false }
    case 'holdings':
      return { ...o, holdings: input.amount, paidOut: o.paidOut || (o.finalizesAt !== null && input.amount === 0n) }
    case 'txFailed': {
      if (o.status !== 'approved') return o // a late report changes nothing settled
      const failures = o.failures + 1
      const retryAt = input.now + retryDelayMs(failures)
      const resubmit = o.finalizesAt === null ? { challengeSubmitted: false } : o.reclaimSubmitted ? { reclaimSubmitted: false } : { transferSubmitted: false }
      const next = { ...o, failures, retryAt, ...resubmit }
      if (o.finalizesAt === null && o.deadline !== undefined) {
        // Answering a challenge: worth trying while the answer can still land before it finalizes.
        if (BigInt(retryAt) < o.deadline * 1000n) return next
        return fail(next, { code: 'answer_too_late', summary: `the answer to the challenge finalizing at ${o.deadline} (chain time, s) can no longer land before it: ${input.summary}` })
      }
      return failures >= MAX_DISPUTE_FAILURES ? fail(next, { code: input.code, summary: `dispute failed after ${failures} refusals: ${input.summary}` }) : next
    }
  }
}

/** The outcome the chain pays out now: the registered one, after the reclaims it reported. */
export function payoutOutcome(o: AppDispute): Exit {
  return o.outcome ?? registeredState(o).outcome
}

/** The first guarantee left in an outcome: where it is, and the channel it funds. */
export function firstGuarantee(outcome: Exit): { readonly assetIndex: number; readonly index: number; readonly target: Bytes32 } | undefined {
  for (let assetIndex = 0; assetIndex < outcome.length; assetIndex++) {
    const index = outcome[assetIndex]!.allocations.findIndex((a) => a.allocationType === AllocationType.guarantee)
    if (index >= 0) return { assetIndex, index, target: outcome[assetIndex]!.allocations[index]!.destination }
  }
  return undefined
}

const finalizedAt = (finalizesAt: bigint, now: number) => BigInt(now) >= finalizesAt * 1000n

/** Whether cranking at `now` could submit something or finish (the engine journals a tick for it). */
export function isDue(o: AppDispute, now: number, targets: TargetsView = () => undefined): boolean {
  if (o.status !== 'approved' || now < o.retryAt) return false
  if (!o.challengeSubmitted) return true
  if (o.finalizesAt === null || o.transferSubmitted || o.reclaimSubmitted || !finalizedAt(o.finalizesAt, now)) return false
  const guarantee = firstGuarantee(payoutOutcome(o))
  if (!guarantee) return true
  const target = targets(guarantee.target)
  return target !== undefined && finalizedAt(target.finalizesAt, now)
}

export function crank(o: AppDispute, now: number, targets: TargetsView = () => undefined): Cranked<AppDispute, AppDisputeWaitingFor> {
  const effects: Effect[] = []
  const pause = (objective: AppDispute, waitingFor: AppDisputeWaitingFor) => ({ objective, effects, waitingFor })
  if (o.status !== 'approved') return pause(o, 'nothing')
  if (o.paidOut) return pause({ ...o, status: 'completed' }, 'nothing')
  if (!o.challengeSubmitted) {
    if (now < o.retryAt) return pause(o, 'challenge')
    const { candidate, challengerSignature } = o
    if (o.register === 'conclude') effects.push({ kind: 'submit', tx: { kind: 'conclude', signedState: candidate } })
    else effects.push({ kind: 'submit', tx: { kind: 'challenge', candidate, challengerSignature, ...(o.proof ? { proof: o.proof } : {}) } })
    return pause({ ...o, challengeSubmitted: true }, 'challenge')
  }
  if (o.finalizesAt === null) return pause(o, 'challenge')
  if (o.transferSubmitted) return pause(o, 'payout')
  if (o.reclaimSubmitted) return pause(o, 'reclaim')
  if (!finalizedAt(o.finalizesAt, now)) return pause(o, 'finalization')
  const outcome = payoutOutcome(o)
  const guarantee = firstGuarantee(outcome)
  if (guarantee) {
    const target = targets(guarantee.target)
    if (!target || !finalizedAt(target.finalizesAt, now)) return pause(o, 'target')
    if (now < o.retryAt) return pause(o, 'reclaim')
    const asset = outcome[guarantee.assetIndex]!.asset
    const targetAssetIndex = target.state.outcome.findIndex((exit) => exit.asset === asset)
    if (targetAssetIndex < 0) return pause(fail(o, { code: 'reclaim_asset_mismatch', summary: `the channel ${guarantee.target} that a guarantee funds holds no ${asset}` }), 'nothing')
    effects.push({
      kind: 'submit',
      tx: {
        kind: 'reclaim',
        sourceChannelId: o.channelId,
        sourceStateHash: registeredStateHash(o),
        sourceOutcome: outcome,
        sourceAssetIndex: BigInt(guarantee.assetIndex),
        indexOfTargetInSource: BigInt(guarantee.index),
        targetStateHash: target.stateHash,
        targetOutcome: target.state.outcome,
        targetAssetIndex: BigInt(targetAssetIndex),
      },
    })
    return pause({ ...o, reclaimSubmitted: true }, 'reclaim')
  }
  // A channel that holds nothing (one a guarantee funds) is settled once it finalized: its funds move by reclaim.
  if (o.holdings === 0n) return pause({ ...o, status: 'completed' }, 'nothing')
  if (now < o.retryAt) return pause(o, 'payout')
  effects.push({ kind: 'submit', tx: { kind: 'transferAllAssets', channelId: o.channelId, outcome, stateHash: registeredStateHash(o) } })
  return pause({ ...o, transferSubmitted: true }, 'payout')
}
