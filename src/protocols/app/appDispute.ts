// AppDispute (issue 7): what a participant of an app channel funded on chain does when the others stop
// answering — a vanished node, a refused close. It registers the latest state every participant signed as a
// challenge (the consensus app accepts a state signed by all, with no proof), waits until the challenge
// finalizes, and pays out that state's outcome with transferAllAssets. A later state signed by all that a
// peer checkpoints clears the challenge on chain; this objective then fails with the chain's revert, and the
// channel goes on off chain. A node also starts one when someone else challenges (DEFENCE below).
// A registered state at the candidate's turn that is not the candidate fails it (conflicting_challenge): the
// consensus app registers only states every participant signed, this node included, so its key signed two
// states at one turn, which this node never does (DESIGN §5; appChannel.ts). The adjudicator replaces a
// registered challenge only by a later turn, and the node holds none signed by all: it can only report it.
// Pure (STYLE §2): time comes in as the caller's clock (ms).
import type { Bytes32, Signature } from '../../core/types.js'
import type { SignedState } from '../../core/signedState.js'
import type { VariablePart } from '../../core/state.js'
import { fixedPart } from '../../core/state.js'
import { isFullySigned } from '../../core/signedState.js'
import type { Signer } from '../../core/signer.js'
import { hashState } from '../../core/hashState.js'
import { hashChallenge } from '../../core/signState.js'
import { assert } from '../../core/errors.js'
import type { Cranked, Effect, Failure, ObjectiveBase } from '../objective.js'
import { fail } from '../objective.js'

export type AppDisputeWaitingFor = 'challenge' | 'finalization' | 'payout' | 'nothing'

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

export interface AppDispute extends ObjectiveBase {
  readonly kind: 'appdispute'
  readonly channelId: Bytes32
  /** The latest state signed by all when the dispute began. */
  readonly candidate: SignedState
  readonly challengerSignature: Signature
  readonly challengeSubmitted: boolean
  /** Chain time (seconds) the registered challenge finalizes at; null until the chain reports it. */
  readonly finalizesAt: bigint | null
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

export type AppDisputeInput =
  /** A challenge was registered; `registered` is its state's variable part, when the chain reported it. */
  | { readonly kind: 'challenged'; readonly turnNumRecord: bigint; readonly finalizesAt: bigint; readonly registered?: VariablePart }
  | { readonly kind: 'holdings'; readonly amount: bigint }
  | { readonly kind: 'txFailed'; readonly code: string; readonly summary: string; readonly now: number }

export function appDisputeId(channelId: Bytes32): string {
  return `appdispute:${channelId}`
}

/**
 * A dispute from `candidate`, my latest state signed by all. `registered`: the chain already holds a challenge
 * with a state of the candidate's turn (someone else's challenge), so there is only the payout to wait for —
 * unless that state (its variable part, when the chain reported it) is another one: then the dispute starts
 * failed with conflicting_challenge (see the file comment).
 */
export function newAppDispute(
  channelId: Bytes32,
  candidate: SignedState,
  holdings: bigint,
  signer: Signer,
  registered?: { readonly finalizesAt: bigint; readonly state?: VariablePart },
  deadline?: bigint,
): AppDispute {
  assert(isFullySigned(candidate), 'a challenge through the consensus app needs a state signed by all')
  const dispute: AppDispute = {
    id: appDisputeId(channelId),
    kind: 'appdispute',
    status: 'approved',
    failure: null,
    channelId: channelId,
    candidate,
    challengerSignature: signer.signHash(hashChallenge(hashState(candidate.state))),
    challengeSubmitted: registered !== undefined,
    finalizesAt: registered?.finalizesAt ?? null,
    transferSubmitted: false,
    holdings,
    paidOut: false,
    failures: 0,
    retryAt: 0,
    ...(deadline === undefined ? {} : { deadline }),
  }
  const conflict = registered?.state && conflictingChallenge(candidate, registered.state)
  return conflict ? fail(dispute, conflict) : dispute
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
    case 'challenged':
      if (o.status !== 'approved') return o
      if (input.turnNumRecord === o.candidate.state.turnNum) {
        const conflict = input.registered && conflictingChallenge(o.candidate, input.registered)
        return conflict ? fail(o, conflict) : { ...o, finalizesAt: input.finalizesAt }
      }
      // A later state than mine was registered: the chain will pay that one, not mine.
      if (input.turnNumRecord > o.candidate.state.turnNum) {
        return fail(o, { code: 'superseded', summary: `a later state (turn ${input.turnNumRecord}) was registered on chain` })
      }
      return o
    case 'holdings':
      return { ...o, holdings: input.amount, paidOut: o.paidOut || (o.finalizesAt !== null && input.amount === 0n) }
    case 'txFailed': {
      if (o.status !== 'approved') return o // a late report changes nothing settled
      const failures = o.failures + 1
      const retryAt = input.now + retryDelayMs(failures)
      const next = { ...o, failures, retryAt, ...(o.finalizesAt === null ? { challengeSubmitted: false } : { transferSubmitted: false }) }
      if (o.finalizesAt === null && o.deadline !== undefined) {
        // Answering a challenge: worth trying while the answer can still land before it finalizes.
        if (BigInt(retryAt) < o.deadline * 1000n) return next
        return fail(next, { code: 'answer_too_late', summary: `the answer to the challenge finalizing at ${o.deadline} (chain time, s) can no longer land before it: ${input.summary}` })
      }
      return failures >= MAX_DISPUTE_FAILURES ? fail(next, { code: input.code, summary: `dispute failed after ${failures} refusals: ${input.summary}` }) : next
    }
  }
}

/** Whether cranking at `now` could submit something (the engine journals a tick for it). */
export function isDue(o: AppDispute, now: number): boolean {
  if (o.status !== 'approved' || now < o.retryAt) return false
  if (!o.challengeSubmitted) return true
  return o.finalizesAt !== null && !o.transferSubmitted && BigInt(now) >= o.finalizesAt * 1000n
}

export function crank(o: AppDispute, now: number): Cranked<AppDispute, AppDisputeWaitingFor> {
  const effects: Effect[] = []
  const pause = (objective: AppDispute, waitingFor: AppDisputeWaitingFor) => ({ objective, effects, waitingFor })
  if (o.status !== 'approved') return pause(o, 'nothing')
  if (o.paidOut) return pause({ ...o, status: 'completed' }, 'nothing')
  if (!o.challengeSubmitted) {
    if (now < o.retryAt) return pause(o, 'challenge')
    effects.push({ kind: 'submit', tx: { kind: 'challenge', candidate: o.candidate, challengerSignature: o.challengerSignature } })
    return pause({ ...o, challengeSubmitted: true }, 'challenge')
  }
  if (o.finalizesAt === null) return pause(o, 'challenge')
  if (o.transferSubmitted) return pause(o, 'payout')
  if (!isDue(o, now)) return pause(o, 'finalization')
  const { state } = o.candidate
  effects.push({ kind: 'submit', tx: { kind: 'transferAllAssets', channelId: o.channelId, outcome: state.outcome, stateHash: hashState(state) } })
  return pause({ ...o, transferSubmitted: true }, 'payout')
}
