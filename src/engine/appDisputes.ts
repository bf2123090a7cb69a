// Disputes in the engine (issues 7 and 15): `challenge_app_channel` starts an AppDispute
// (src/protocols/app/appDispute.ts) that registers the latest state signed by all on chain, waits for the
// challenge to finalize and pays its outcome out. A challenge someone else registers is answered the same way,
// for an app channel funded on chain and for a ledger: the ledger's supported state (signed by both, through the
// consensus app) supersedes a stale one, such as the postfund from before updates that paid this node. The engine
// feeds disputes the chain's events and its clock: ticks are journaled while a dispute has something due
// (hasDueDispute), so replay sees the same times.
import type { Bytes32 } from '../core/types.js'
import { RejectedInputError } from '../core/errors.js'
import type { VariablePart } from '../core/state.js'
import type { SignedState } from '../core/signedState.js'
import type { AppChannel } from '../protocols/app/appChannel.js'
import { markClosing, supportedSignedState } from '../protocols/ledger/consensusChannel.js'
import { fundingOf } from '../protocols/app/appData.js'
import * as appDispute from '../protocols/app/appDispute.js'
import type { AppDispute } from '../protocols/app/appDispute.js'
import { isActive } from '../protocols/objective.js'
import type { Objective } from '../protocols/objectives.js'
import type { StepContext } from './context.js'
import type { Readable } from './table.js'
import type { ChainEvent } from '../protocols/onchain.js'
import type { HandlerDeps } from './step.js'
import { applyEffects, requireLedger, setObjective } from './step.js'
import { NoSuchAppChannelError } from './errors.js'
import { holdingsOf } from './holdings.js'
import { Index } from './indexes.js'

export class DisputeUnsupportedError extends RejectedInputError {
  readonly code = 'dispute_unsupported'
}
export class ChannelDisputedError extends RejectedInputError {
  readonly code = 'channel_disputed'
}

/** Starts the dispute of a channel funded on chain, from the latest state every participant signed; or returns the running one. */
export function challengeAppChannel(ctx: StepContext, channelId: Bytes32, deps: HandlerDeps): string {
  const channel = ctx.apps.get(channelId)
  if (!channel) throw new NoSuchAppChannelError('no such app channel', { channelId })
  const existing = ctx.objectives.get(appDispute.appDisputeId(channelId))
  if (existing && isActive(existing)) return existing.id
  const funding = fundingOf(channel.context.definition)
  if (funding !== 'direct') {
    throw new DisputeUnsupportedError(`a channel funded ${funding === 'none' ? 'by nobody has nothing to enforce' : 'from a ledger is enforced by challenging the ledger too, which the node does not do yet'}`, { channelId, funding })
  }
  if (!channel.latest) throw new DisputeUnsupportedError('turn 0 is not signed by all: there is nothing to enforce', { channelId })
  if (holdingsOf(ctx, channel.context.id, channel.context.definition.asset) === 0n) throw new DisputeUnsupportedError('the chain holds nothing for this channel (as this node last saw it)', { channelId })
  const dispute = appDispute.newAppDispute(channel.context.id, channel.latest.signed, holdingsOf(ctx, channel.context.id, channel.context.definition.asset), deps.signer)
  crankDispute(ctx, dispute, deps)
  return dispute.id
}

/** Starts the dispute of a ledger from its supported state (signed by both), or returns the running one; the ledger takes no more updates. */
export function challengeLedger(ctx: StepContext, ledgerId: Bytes32, deps: HandlerDeps): string {
  const ledger = requireLedger(ctx, ledgerId)
  const existing = ctx.objectives.get(appDispute.appDisputeId(ledger.id))
  if (existing && isActive(existing)) return existing.id
  const latest = supportedSignedState(ledger)
  const holdings = holdingsOf(ctx, ledger.id, latest.state.outcome[0]!.asset)
  if (holdings === 0n) throw new DisputeUnsupportedError('the chain holds nothing for this ledger (as this node last saw it)', { ledgerId })
  freeze(ctx, ledger.id)
  const dispute = appDispute.newAppDispute(ledger.id, latest, holdings, deps.signer)
  crankDispute(ctx, dispute, deps)
  return dispute.id
}

/** A ledger under dispute takes no more updates: what the chain pays out is its registered state. */
function freeze(ctx: StepContext, ledgerId: Bytes32): void {
  const ledger = ctx.ledger(ledgerId)
  if (!ledger) return
  if (!ledger.closing) ctx.ledgers.set(ledger.id, markClosing(ledger))
  ctx.touchLedger(ledger.id) // its updates not yet signed fail: ledger_closing
}

/** My events stop once I dispute: the chain decides from the challenged state (a later state signed by all would clear it). */
export function requireUndisputed(ctx: StepContext, channel: AppChannel): void {
  const dispute = ctx.objectives.get(appDispute.appDisputeId(channel.context.id))
  if (dispute && dispute.status !== 'failed') throw new ChannelDisputedError('the channel is being settled on chain', { channelId: channel.context.id, objectiveId: dispute.id })
}

/**
 * A challenge registered on chain for a channel. Mine: it reached the chain. Someone else's: the node defends
 * the latest state all signed — a challenge with an older one (a cheat, or a peer that lags) is answered by
 * challenging with mine, which supersedes it; one with mine is followed to its payout, so I am paid even if
 * the challenger never asks for it. A later state than mine needs nothing from me (it is signed by all).
 * Another state of my latest turn (compared by hash when the chain reports the registered state,
 * `registered`) cannot be superseded, and carries my signature: the dispute fails as conflicting_challenge
 * and says so (appDispute.ts). A ledger under dispute takes no more updates (it is marked closing): what the
 * chain pays out is its registered state, and a guarantee added off chain now would not be in it.
 */
function onChallenged(ctx: StepContext, channelId: Bytes32, turnNumRecord: bigint, finalizesAt: bigint, deps: HandlerDeps, registered?: VariablePart): void {
  const o = ctx.objectives.get(appDispute.appDisputeId(channelId))
  if (o?.kind === 'appdispute' && isActive(o)) {
    return crankDispute(ctx, appDispute.update(o, { kind: 'challenged', turnNumRecord, finalizesAt, ...(registered ? { registered } : {}) }), deps)
  }
  const latest = defended(ctx, channelId)
  if (!latest || o?.status === 'completed') return
  const mine = latest.state.turnNum
  if (turnNumRecord > mine) return
  freeze(ctx, channelId)
  const atMine = turnNumRecord === mine ? { finalizesAt, ...(registered ? { state: registered } : {}) } : undefined
  // An older state registered: my answer must land before it finalizes (the dispute's deadline).
  const deadline = atMine ? undefined : finalizesAt
  crankDispute(ctx, appDispute.newAppDispute(channelId, latest, holdingsOf(ctx, channelId, latest.state.outcome[0]!.asset), deps.signer, atMine, deadline), deps)
}

/** The latest state signed by all of a channel the node defends on chain: an app channel funded on chain, or a ledger. */
function defended(ctx: StepContext, channelId: Bytes32): SignedState | undefined {
  const channel = ctx.apps.get(channelId)
  if (channel) return fundingOf(channel.context.definition) === 'direct' ? channel.latest?.signed : undefined
  const ledger = ctx.ledger(channelId)
  return ledger ? supportedSignedState(ledger) : undefined
}

/**
 * A chain event of a channel (an app channel or a ledger), with its dispute if one runs: a challenge
 * (onChallenged), or the holdings in the channel's own asset.
 */
export function onDisputeChainEvent(ctx: StepContext, channelId: Bytes32, event: ChainEvent, deps: HandlerDeps): void {
  if (event.kind === 'challenged') return onChallenged(ctx, channelId, event.turnNumRecord, event.finalizesAt, deps, event.candidate)
  if (event.kind !== 'deposited' && event.kind !== 'allocationUpdated') return
  const o = ctx.objectives.get(appDispute.appDisputeId(channelId))
  if (o?.kind !== 'appdispute' || !isActive(o) || o.candidate.state.outcome[0]!.asset !== event.asset) return
  const amount = event.kind === 'deposited' ? event.nowHeld : event.finalHoldings
  crankDispute(ctx, appDispute.update(o, { kind: 'holdings', amount }), deps)
}

export function onDisputeChainFailure(ctx: StepContext, o: AppDispute, code: string, summary: string, deps: HandlerDeps): void {
  crankDispute(ctx, appDispute.update(o, { kind: 'txFailed', code, summary, now: ctx.now }), deps)
}

/** On a tick: the disputes whose challenge or payout is due now. */
export function crankDueDisputes(ctx: StepContext, deps: HandlerDeps): void {
  for (const id of ctx.indexes.get(Index.disputes) ?? []) {
    const o = ctx.objectives.get(id)
    if (o?.kind === 'appdispute' && appDispute.isDue(o, ctx.now)) crankDispute(ctx, o, deps)
  }
}

/** Whether a tick now would let a dispute submit something. */
export function hasDueDispute(objectives: Readable<Objective>, indexes: Readable<readonly string[]>, now: number): boolean {
  return (indexes.get(Index.disputes) ?? []).some((id) => {
    const o = objectives.get(id)
    return o?.kind === 'appdispute' && appDispute.isDue(o, now)
  })
}

export function crankDispute(ctx: StepContext, o: AppDispute, deps: HandlerDeps): void {
  const result = appDispute.crank(o, ctx.now)
  setObjective(ctx, result.objective)
  ctx.waitingFor.set(o.id, result.waitingFor)
  applyEffects(ctx, o.id, result.effects, deps)
}
