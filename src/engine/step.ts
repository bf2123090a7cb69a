// The helpers every handler shares within one step: storing an objective (which keeps the indexes), applying
// the effects a crank asks for, admitting what a peer starts, running a payload in isolation, and the common
// lookups. This module sits below every handler module and imports none of them, so the handlers form no
// circle; what one handler's change means for another's objectives goes through the step's worklist
// (context.ts), which the router drains.
import type { Address, Bytes32 } from '../core/types.js'
import type { Signer } from '../core/signer.js'
import { ChannelsError, RejectedInputError } from '../core/errors.js'
import type { Objective } from '../protocols/objectives.js'
import type { Effect } from '../protocols/objective.js'
import { isActive } from '../protocols/objective.js'
import type { ConsensusChannel } from '../protocols/ledger/consensusChannel.js'
import type { Proposal } from '../protocols/ledger/proposal.js'
import type { AppDefinition } from '../protocols/app/appData.js'
import * as ledgerUpdate from '../protocols/ledgerupdate/ledgerUpdate.js'
import { NotAParticipantInputError } from '../protocols/errors.js'
import type { AppRuntime } from '../wasm/appRuntime.js'
import type { Rejection, StepContext } from './context.js'
import type { PeerPolicy } from './policy.js'
import { checkCommitment } from './policy.js'
import { ledgerCommitment, peerLoad, policyOf, virtualCommitment } from './commitments.js'
import { reindex } from './indexes.js'
import { peerKey } from './outbox.js'
import { NoSuchLedgerError, UnknownAppError } from './errors.js'

export interface HandlerDeps {
  readonly signer: Signer
  readonly consensusApp: Address
  /** The appDefinition of payment channels (so they can be disputed on chain). */
  readonly virtualPaymentApp: Address
  /** Whether that app settles payment channels in tokens (ours does; the official one takes ETH only). */
  readonly paymentTokens: boolean
  /** What objectives others start may commit of mine (src/engine/policy.ts). */
  readonly policy: PeerPolicy
  /** Approves app channels a peer opens with this node. */
  readonly appPolicy: (definition: AppDefinition, from: Address) => boolean
  /** The app modules this node runs, by appId; app channels of other apps are refused. */
  readonly apps: (appId: Bytes32) => AppRuntime | undefined
  /** Snapshots of app state every this many events (src/protocols/app/replay.ts isSnapshotDue). */
  readonly appSnapshotIntervalEvents: number
}


/** Stores an objective: its status change is noted for subscribers, and its indexes follow it. */
export function setObjective(ctx: StepContext, objective: Objective): void {
  const before = ctx.objectives.get(objective.id)
  if (!before || before.status !== objective.status) ctx.changedStatus.add(objective.id)
  ctx.objectives.set(objective.id, objective)
  reindex(ctx.indexes, objective)
  // An objective that ended needs no transaction any more: a restart does not send its last one again.
  if (!isActive(objective) && ctx.chainOutbox.get(objective.id)) ctx.chainOutbox.delete(objective.id)
}

/** What a crank asks for: messages, transactions, and changes on my ledgers (run by the worklist). */
export function applyEffects(ctx: StepContext, objectiveId: string, effects: readonly Effect[], deps: HandlerDeps): void {
  for (const effect of effects) {
    if (effect.kind === 'send') ctx.send(effect.to, effect.payload)
    else if (effect.kind === 'submit') {
      ctx.transactions.push({ objectiveId, tx: effect.tx })
      ctx.chainOutbox.set(objectiveId, { objectiveId, tx: effect.tx }) // sent again after a restart until mined or refused
    }
    else startLedgerUpdate(ctx, effect.counterparty, effect.proposal, deps)
  }
}

/**
 * A change another objective needs on my ledger with `counterparty`: both sides derive it independently,
 * so neither asks the other; the leader proposes, the follower countersigns what it expects.
 */
function startLedgerUpdate(ctx: StepContext, counterparty: Address, proposal: Proposal, deps: HandlerDeps): void {
  const ledger = ledgerWith(ctx, deps.signer.address, counterparty)
  // A guarantee to remove from a ledger being settled on chain (closing): its dispute reclaims it there instead.
  if (!ledger && proposal.kind === 'remove' && closingLedgerWith(ctx, deps.signer.address, counterparty)) return
  if (!ledger) throw new NoSuchLedgerError(`no open ledger with ${counterparty}`)
  const objective = ledgerUpdate.newLedgerUpdate({ ledgerId: ledger.id, counterparty, proposal, initiator: false, status: 'approved' })
  if (ctx.objectives.get(objective.id)) return
  setObjective(ctx, objective)
  ctx.touchLedger(ledger.id)
}

/**
 * An objective a peer started: what it would commit of mine passes the policy first. A refusal keeps nothing
 * of the objective (a stranger cannot make me store or queue anything): it is counted as a rejection and told
 * to the peer in a notice (ADR 0015). Returns whether the caller may crank it (approved).
 */
export function admitFromPeer(ctx: StepContext, objective: Objective, from: Address, deps: HandlerDeps): boolean {
  const refusal = policyRefusal(ctx, objective, from, deps)
  if (!refusal) return true
  ctx.rejections.push({ code: refusal.code, summary: refusal.summary, from })
  ctx.tell(from, { kind: 'objectiveRejected', objectiveId: objective.id, code: refusal.code, summary: refusal.summary })
  return false
}

/** Why the policy refuses what `objective` would commit of mine, if it does; closing what exists commits nothing new. */
function policyRefusal(ctx: StepContext, objective: Objective, from: Address, deps: HandlerDeps): RejectedInputError | undefined {
  const commitment = objective.kind === 'directfund' ? ledgerCommitment(objective, from) : objective.kind === 'virtualfund' ? virtualCommitment(objective) : undefined
  if (!commitment) return undefined
  try {
    checkCommitment(policyOf(ctx, deps), commitment, () => peerLoad(ctx, deps.signer.address, commitment))
    return undefined
  } catch (error) {
    if (error instanceof RejectedInputError) return error
    throw error
  }
}

/**
 * A participant still signing for an objective that ended here without completing: it missed why (the rejection
 * came before it had the objective, or was lost with a crash), so it is told again. It cannot loop: a rejection
 * is never answered.
 */
export function tellFailure(ctx: StepContext, to: Address, objective: Objective): void {
  const failure = objective.failure ?? { code: 'rejected', summary: 'the objective was rejected' }
  ctx.tell(to, { kind: 'objectiveRejected', objectiveId: objective.id, code: failure.code, summary: failure.summary.slice(0, 1000) })
}

/**
 * Runs one payload's handling in a child context: a refusal drops only its own changes. Returns the
 * refusal, or undefined when the payload was taken.
 */
export function isolate(ctx: StepContext, run: (c: StepContext) => void, from?: Address): Rejection | undefined {
  const child = ctx.child()
  try {
    run(child)
    ctx.absorb(child)
    return undefined
  } catch (error) {
    // Refused input, but also a broken invariant or a bug while handling it: either way only this
    // payload's changes are dropped and the rest of the frame is handled and acknowledged (a frame
    // refused as a whole would be retransmitted and refused forever). The journal keeps the input.
    const code = error instanceof ChannelsError ? error.code : 'internal'
    const summary = error instanceof ChannelsError ? error.summary : String(error)
    const rejection = { code, summary, ...(from ? { from } : {}) }
    ctx.rejections.push(rejection)
    return rejection
  }
}

/** My ledger with `counterparty` (the first by id that is not being closed), if any. */
export function ledgerWith(ctx: StepContext, me: Address, counterparty: Address): ConsensusChannel | undefined {
  const pair = [me, counterparty].sort().join()
  let found: ConsensusChannel | undefined
  for (const ledger of ctx.ledgers.values()) {
    if (ledger.closing || [...ledger.fixed.participants].sort().join() !== pair) continue
    if (!found || ledger.id < found.id) found = ledger
  }
  return found
}

/** Whether I share a ledger with `counterparty` that is being closed (cooperatively or on chain). */
function closingLedgerWith(ctx: StepContext, me: Address, counterparty: Address): boolean {
  const pair = [me, counterparty].sort().join()
  for (const ledger of ctx.ledgers.values()) if (ledger.closing && [...ledger.fixed.participants].sort().join() === pair) return true
  return false
}

export function requireLedger(ctx: StepContext, id: Bytes32): ConsensusChannel {
  const ledger = ctx.ledger(id)
  if (!ledger) throw new NoSuchLedgerError('no such ledger channel', { ledgerId: id })
  return ledger
}

export function counterpartyOf(ledger: ConsensusChannel, me: Address): Address {
  return ledger.fixed.participants.find((p) => p !== me)!
}

export function requireParticipant(ledgerOrState: { participants: readonly Address[] }, from: Address): void {
  if (!ledgerOrState.participants.some((p) => p === from)) {
    throw new NotAParticipantInputError('the sender is not a participant of this channel', { from })
  }
}

export function runtimeFor(deps: HandlerDeps, appId: Bytes32): AppRuntime {
  const runtime = deps.apps(appId)
  if (!runtime) throw new UnknownAppError('this node does not run the app the channel names', { appId })
  return runtime
}

export function outboxKey(peer: Address, seq: bigint): string {
  return `${peerKey(peer)}:${seq.toString(16).padStart(16, '0')}`
}
