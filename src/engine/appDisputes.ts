// Disputes in the engine (issues 7 and 15): an AppDispute (src/protocols/app/appDispute.ts) registers the best
// state the node holds for a channel on chain, waits for it to finalize, reclaims the guarantees in it and pays
// it out. The node runs one for every channel it takes part in:
// - on the operator's request (`challengeLedger`, `challengeAppChannel`, `challengePaymentChannel`);
// - when someone else registers a challenge: an older state than the node's is answered by registering its own
//   (a ledger's supported state, an app channel's latest signed by all, a payment channel's final state or the
//   payee's redemption of its largest voucher); a later one is followed to the payout;
// - for each channel a disputed ledger guarantees (a payment channel, an app channel funded from the ledger):
//   the ledger pays out only once every guarantee is reclaimed, which needs that channel finalized too.
// A ledger under dispute takes no more updates (it is marked closing): what the chain pays out is its registered
// state, and a guarantee added off chain now would not be in it. The engine feeds disputes the chain's events
// and its clock: ticks are journaled while a dispute has something due (hasDueDispute), so replay sees the same times.
import type { Bytes32 } from '../core/types.js'
import { RejectedInputError } from '../core/errors.js'
import type { State, VariablePart } from '../core/state.js'
import { isFullySigned } from '../core/signedState.js'
import { AllocationType } from '../core/outcome.js'
import type { AppChannel } from '../protocols/app/appChannel.js'
import { markClosing, supportedSignedState } from '../protocols/ledger/consensusChannel.js'
import { findGuarantee } from '../protocols/ledger/ledgerOutcome.js'
import { fundingOf } from '../protocols/app/appData.js'
import * as appDispute from '../protocols/app/appDispute.js'
import type { AppDispute, Claim, TargetsView } from '../protocols/app/appDispute.js'
import { virtualFundId } from '../protocols/virtualfund/virtualfund.js'
import { virtualDefundId } from '../protocols/virtualdefund/virtualdefund.js'
import * as virtualDefund from '../protocols/virtualdefund/virtualdefund.js'
import { directDefundId } from '../protocols/directdefund/directdefund.js'
import { appDefundId } from '../protocols/app/appDefund.js'
import { redemptionState } from '../protocols/payments/redemption.js'
import { signBy, unsigned } from '../core/signedState.js'
import { isActive } from '../protocols/objective.js'
import type { Objective } from '../protocols/objectives.js'
import type { StepContext } from './context.js'
import type { Readable } from './table.js'
import type { ChainEvent } from '../protocols/onchain.js'
import type { HandlerDeps } from './step.js'
import { applyEffects, requireLedger, setObjective } from './step.js'
import { NoSuchAppChannelError, UnknownChannelError } from './errors.js'
import { holdingsOf } from './holdings.js'
import { Index } from './indexes.js'

export class DisputeUnsupportedError extends RejectedInputError {
  readonly code = 'dispute_unsupported'
}
export class ChannelDisputedError extends RejectedInputError {
  readonly code = 'channel_disputed'
}

/** Starts the dispute of an app channel from the latest state every participant signed (and of the ledger funding it), or returns the running one. */
export function challengeAppChannel(ctx: StepContext, channelId: Bytes32, deps: HandlerDeps): string {
  const channel = ctx.apps.get(channelId)
  if (!channel) throw new NoSuchAppChannelError('no such app channel', { channelId })
  const existing = ctx.objectives.get(appDispute.appDisputeId(channelId))
  if (existing && isActive(existing)) {
    for (const ledgerId of guaranteeing(ctx, channelId)) challengeLedger(ctx, ledgerId, deps)
    return existing.id
  }
  const funding = fundingOf(channel.context.definition)
  if (funding === 'none') throw new DisputeUnsupportedError('a channel funded by nobody has nothing to enforce', { channelId, funding })
  if (!channel.latest) throw new DisputeUnsupportedError('turn 0 is not signed by all: there is nothing to enforce', { channelId })
  if (funding === 'direct' && holdingsOf(ctx, channelId, channel.context.definition.asset) === 0n) throw new DisputeUnsupportedError('the chain holds nothing for this channel (as this node last saw it)', { channelId })
  const ledgers = funding === 'ledger' ? guaranteeing(ctx, channelId) : []
  if (funding === 'ledger' && ledgers.length === 0) throw new DisputeUnsupportedError('no ledger of this node holds the channel\'s guarantee: it is not funded (or no longer)', { channelId })
  const id = startDispute(ctx, channelId, claimFor(ctx, channelId, deps)!, deps)
  for (const ledgerId of ledgers) challengeLedger(ctx, ledgerId, deps)
  return id
}

/**
 * Starts the dispute of a payment channel (and of the ledgers of mine holding its guarantee: the money is there),
 * or returns the running one. The node registers the best state it holds: the final state if signed by all,
 * the payee's redemption of its largest voucher, or the funded state.
 */
export function challengePaymentChannel(ctx: StepContext, channelId: Bytes32, deps: HandlerDeps): string {
  const claim = paymentClaim(ctx, channelId, deps)
  if (!claim) throw new UnknownChannelError('no such payment channel (funded, with this node taking part)', { channelId })
  const existing = ctx.objectives.get(appDispute.appDisputeId(channelId))
  // Running already (it answered someone's challenge): the ledgers are what pays me, so they are disputed now.
  const id = existing && isActive(existing) ? existing.id : startDispute(ctx, channelId, claim, deps)
  for (const ledgerId of guaranteeing(ctx, channelId)) challengeLedger(ctx, ledgerId, deps)
  return id
}

/**
 * An objective whose peers stopped answering for longer than the operator allows (the shell decided: stalls.ts):
 * the channel it is about is settled on chain from the latest supported state, and the objective ends failed
 * (`counterparty_stalled`), naming the dispute; if no dispute can start, it ends failed with the reason. Nothing
 * happens to an objective that ended meanwhile (`waitingFor` is what the shell saw, for the summary).
 */
export function challengeStalled(ctx: StepContext, p: { objectiveId: string; waitingFor: string; waitedMs: number }, deps: HandlerDeps): string | undefined {
  const o = ctx.objectives.get(p.objectiveId)
  if (!o || !isActive(o)) return undefined
  const dispute = (): string | undefined => {
    switch (o.kind) {
      case 'ledgerUpdate':
        return challengeLedger(ctx, o.ledgerId, deps)
      case 'directdefund':
        return challengeLedger(ctx, o.channelId, deps)
      case 'virtualfund':
      case 'virtualdefund':
        return challengePaymentChannel(ctx, o.channelId, deps)
      case 'appfund':
      case 'appdefund':
        return challengeAppChannel(ctx, o.channelId, deps)
      default:
        return undefined
    }
  }
  const waited = `no answer from its peers for ${Math.round(p.waitedMs / 1000)} s (waiting for ${p.waitingFor})`
  let id: string | undefined
  try {
    id = dispute()
  } catch (error) {
    if (!(error instanceof RejectedInputError)) throw error
    setObjective(ctx, { ...ctx.objectives.get(o.id)!, status: 'failed', failure: { code: 'counterparty_stalled', summary: `${waited}; it cannot be settled on chain: ${error.summary}` } })
    return undefined
  }
  if (id === undefined) return undefined
  const now = ctx.objectives.get(o.id)!
  if (isActive(now)) setObjective(ctx, { ...now, status: 'failed', failure: { code: 'counterparty_stalled', summary: `${waited}: settled on chain by ${id}` } })
  return id
}

/** Starts the dispute of a ledger from its supported state (signed by both), or returns the running one; the ledger takes no more updates. */
export function challengeLedger(ctx: StepContext, ledgerId: Bytes32, deps: HandlerDeps): string {
  const ledger = requireLedger(ctx, ledgerId)
  const existing = ctx.objectives.get(appDispute.appDisputeId(ledger.id))
  if (existing && isActive(existing)) return existing.id
  const latest = supportedSignedState(ledger)
  if (holdingsOf(ctx, ledger.id, latest.state.outcome[0]!.asset) === 0n) throw new DisputeUnsupportedError('the chain holds nothing for this ledger (as this node last saw it)', { ledgerId })
  return startDispute(ctx, ledger.id, appDispute.claimOf(latest), deps)
}

function startDispute(ctx: StepContext, channelId: Bytes32, claim: Claim, deps: HandlerDeps, deadline?: bigint): string {
  freeze(ctx, channelId)
  const asset = claim.candidate.state.outcome[0]!.asset
  const dispute = appDispute.newAppDispute({ channelId, claim, holdings: holdingsOf(ctx, channelId, asset), signer: deps.signer, ...(deadline === undefined ? {} : { deadline }) })
  crankDispute(ctx, dispute, deps)
  return dispute.id
}

/** A channel under dispute takes no more updates (a ledger) or payments (a payment channel): the chain decides from what is registered. */
function freeze(ctx: StepContext, channelId: Bytes32): void {
  const ledger = ctx.ledger(channelId)
  if (ledger) {
    if (!ledger.closing) ctx.ledgers.set(ledger.id, markClosing(ledger))
    ctx.touchLedger(ledger.id) // its updates not yet signed fail: ledger_closing
  }
  const payments = ctx.payments.get(channelId)
  if (payments && !payments.closing) ctx.payments.set(channelId, { ...payments, closing: true })
}

/** My events stop once I dispute: the chain decides from the challenged state (a later state signed by all would clear it). */
export function requireUndisputed(ctx: StepContext, channel: AppChannel): void {
  const dispute = ctx.objectives.get(appDispute.appDisputeId(channel.context.id))
  if (dispute && dispute.status !== 'failed') throw new ChannelDisputedError('the channel is being settled on chain', { channelId: channel.context.id, objectiveId: dispute.id })
}

/** The best state this node can register for a channel it takes part in: a ledger, an app channel, a payment channel. */
function claimFor(ctx: StepContext, channelId: Bytes32, deps: HandlerDeps): Claim | undefined {
  const ledger = ctx.ledger(channelId)
  if (ledger) return appDispute.claimOf(supportedSignedState(ledger))
  const channel = ctx.apps.get(channelId)
  if (channel) return fundingOf(channel.context.definition) !== 'none' && channel.latest ? appDispute.claimOf(channel.latest.signed) : undefined
  return paymentClaim(ctx, channelId, deps)
}

/**
 * A payment channel's best state here: its final state signed by all (concluded at once); the payee's redemption
 * of the largest voucher it holds (which beats the funded state the payer would register); else the funded state,
 * or, where the postfund is not signed by all (an intermediary's, or a channel still funding), the prefund (the app
 * supports both when signed by all).
 */
function paymentClaim(ctx: StepContext, channelId: Bytes32, deps: HandlerDeps): Claim | undefined {
  const fund = ctx.objectives.get(virtualFundId(channelId))
  if (fund?.kind !== 'virtualfund' || !isFullySigned(fund.prefund)) return undefined
  const defund = ctx.objectives.get(virtualDefundId(channelId))
  if (defund?.kind === 'virtualdefund' && defund.final && isFullySigned(defund.final)) return { candidate: defund.final, proof: [], register: 'conclude' }
  // Not funded yet (a stalled VirtualFund whose guarantee my ledger may lock), or an intermediary's: the prefund.
  if (!isFullySigned(fund.postfund)) return appDispute.claimOf(fund.prefund)
  const voucher = ctx.payments.get(channelId)?.voucher
  if (voucher && voucher.amount > 0n && ctx.payments.get(channelId)!.payee === deps.signer.address) {
    const redemption = signBy(unsigned(redemptionState(fund.postfund.state, voucher)), deps.signer)
    return { candidate: redemption, proof: [fund.postfund], register: 'challenge' }
  }
  return appDispute.claimOf(fund.postfund)
}

/**
 * What a watchtower needs to defend this node's channels by checkpoint (docs/watchtower.md): each open ledger's
 * supported state, each app channel's latest signed by all, and, where this node is the payee, the redemption of
 * its largest voucher with the postfund. A payer's or an intermediary's best payment-channel state is the funded
 * one, which nobody gains by replacing; a final state is concluded, not checkpointed.
 */
export function watchedClaims(ctx: StepContext, deps: HandlerDeps): Claim[] {
  const claims: Claim[] = []
  for (const ledger of ctx.ledgers.values()) claims.push(appDispute.claimOf(supportedSignedState(ledger)))
  for (const id of ctx.apps.keys()) {
    const claim = claimFor(ctx, id as Bytes32, deps)
    if (claim) claims.push(claim)
  }
  for (const [id, payments] of [...ctx.payments.keys()].map((k) => [k as Bytes32, ctx.payments.get(k)!] as const)) {
    if (payments.payee !== deps.signer.address || !payments.voucher) continue
    const claim = paymentClaim(ctx, id, deps)
    if (claim?.register === 'challenge' && claim.proof.length > 0) claims.push(claim)
  }
  return claims
}

/** A final state this node signed for a channel (its defund's), which a `concluded` event finalized it with. */
function knownFinal(ctx: StepContext, channelId: Bytes32): State | undefined {
  for (const id of [virtualDefundId(channelId), directDefundId(channelId), appDefundId(channelId)]) {
    const o = ctx.objectives.get(id)
    if (o?.kind === 'virtualdefund' && o.final) return o.final.state
    if ((o?.kind === 'directdefund' || o?.kind === 'appdefund') && o.final) return o.final.state
  }
  return undefined
}

/** My ledgers whose supported state holds a guarantee for `target`. */
function guaranteeing(ctx: StepContext, target: Bytes32): Bytes32[] {
  const ids: Bytes32[] = []
  for (const ledger of ctx.ledgers.values()) if (findGuarantee(ledger.supported.vars.outcome, target)) ids.push(ledger.id)
  return ids
}

/**
 * A challenge registered on chain for a channel. Mine: it reached the chain. Someone else's: the node defends
 * its claim — a challenge with an older state (a cheat, or a peer that lags) is answered by registering mine,
 * which supersedes it and must land before it finalizes (the dispute's deadline); one at my turn or later is
 * followed to its payout, so I am paid even if the challenger never asks for it.
 */
function onChallenged(ctx: StepContext, channelId: Bytes32, event: { turnNumRecord: bigint; finalizesAt: bigint; registered?: VariablePart }, deps: HandlerDeps): void {
  const input = { kind: 'challenged' as const, turnNumRecord: event.turnNumRecord, finalizesAt: event.finalizesAt, ...(event.registered ? { registered: event.registered } : {}) }
  const o = ctx.objectives.get(appDispute.appDisputeId(channelId))
  if (o?.kind === 'appdispute' && isActive(o)) return crankDispute(ctx, appDispute.update(o, input), deps)
  if (o?.status === 'completed') return
  const claim = claimFor(ctx, channelId, deps)
  if (!claim) return
  const mine = claim.candidate.state.turnNum
  const deadline = event.turnNumRecord < mine && claim.register === 'challenge' ? event.finalizesAt : undefined
  startDispute(ctx, channelId, claim, deps, deadline)
  const started = ctx.objectives.get(appDispute.appDisputeId(channelId))
  if (started?.kind === 'appdispute' && isActive(started)) crankDispute(ctx, appDispute.update(started, input), deps)
}

/**
 * A channel concluded with a final state. A dispute learns the state it finalized with (the one this node signed);
 * a channel that a guarantee funds (a payment channel, an app channel funded from a ledger) gets a dispute that
 * follows it, so a ledger dispute can reclaim it. A ledger's or a directly funded channel's conclusion is its
 * cooperative close, which its defund pays out.
 */
function onConcluded(ctx: StepContext, channelId: Bytes32, finalizesAt: bigint, deps: HandlerDeps): void {
  const final = knownFinal(ctx, channelId)
  const input = { kind: 'concluded' as const, finalizesAt, ...(final ? { state: final } : {}) }
  const o = ctx.objectives.get(appDispute.appDisputeId(channelId))
  if (o?.kind === 'appdispute' && isActive(o)) return crankDispute(ctx, appDispute.update(o, input), deps)
  if (o?.status === 'completed' || ctx.ledger(channelId) || !final) return
  const channel = ctx.apps.get(channelId)
  if (channel && fundingOf(channel.context.definition) !== 'ledger') return
  const claim = claimFor(ctx, channelId, deps)
  if (!claim) return
  startDispute(ctx, channelId, claim, deps)
  const started = ctx.objectives.get(appDispute.appDisputeId(channelId))
  if (started?.kind === 'appdispute' && isActive(started)) crankDispute(ctx, appDispute.update(started, input), deps)
}

/** A chain event of a channel, with its dispute if one runs: a challenge, a conclusion, a reclaim, or the holdings in the channel's own asset. */
export function onDisputeChainEvent(ctx: StepContext, channelId: Bytes32, event: ChainEvent, deps: HandlerDeps): void {
  if (event.kind === 'challenged') return onChallenged(ctx, channelId, { turnNumRecord: event.turnNumRecord, finalizesAt: event.finalizesAt, ...(event.candidate ? { registered: event.candidate } : {}) }, deps)
  if (event.kind === 'concluded') return onConcluded(ctx, channelId, event.finalizesAt, deps)
  const o = ctx.objectives.get(appDispute.appDisputeId(channelId))
  if (o?.kind !== 'appdispute' || !isActive(o)) return
  if (event.kind === 'reclaimed') return crankDispute(ctx, appDispute.update(o, { kind: 'reclaimed', outcome: event.outcome }), deps)
  if (event.kind !== 'deposited' && event.kind !== 'allocationUpdated') return
  if (o.candidate.state.outcome[0]!.asset !== event.asset) return
  const amount = event.kind === 'deposited' ? event.nowHeld : event.finalHoldings
  crankDispute(ctx, appDispute.update(o, { kind: 'holdings', amount }), deps)
}

export function onDisputeChainFailure(ctx: StepContext, o: AppDispute, code: string, summary: string, deps: HandlerDeps): void {
  crankDispute(ctx, appDispute.update(o, { kind: 'txFailed', code, summary, now: ctx.now }), deps)
}

/** What the chain registered for the channels guarantees fund, from their disputes (once the chain reported it). */
export function targetsView(objectives: Readable<Objective>): TargetsView {
  return (target) => {
    const o = objectives.get(appDispute.appDisputeId(target))
    if (o?.kind !== 'appdispute' || o.status === 'failed' || o.finalizesAt === null) return undefined
    return { state: appDispute.registeredState(o), stateHash: appDispute.registeredStateHash(o), finalizesAt: o.finalizesAt }
  }
}

/** On a tick: the disputes whose challenge, reclaim or payout is due now. */
export function crankDueDisputes(ctx: StepContext, deps: HandlerDeps): void {
  const targets = targetsView(ctx.objectives)
  for (const id of ctx.indexes.get(Index.disputes) ?? []) {
    const o = ctx.objectives.get(id)
    if (o?.kind === 'appdispute' && appDispute.isDue(o, ctx.now, targets)) crankDispute(ctx, o, deps)
  }
}

/** Whether a tick now would let a dispute submit something. */
export function hasDueDispute(objectives: Readable<Objective>, indexes: Readable<readonly string[]>, now: number): boolean {
  const targets = targetsView(objectives)
  return (indexes.get(Index.disputes) ?? []).some((id) => {
    const o = objectives.get(id)
    return o?.kind === 'appdispute' && appDispute.isDue(o, now, targets)
  })
}

export function crankDispute(ctx: StepContext, o: AppDispute, deps: HandlerDeps): void {
  const result = appDispute.crank(o, ctx.now, targetsView(ctx.objectives))
  setObjective(ctx, result.objective)
  ctx.waitingFor.set(o.id, result.waitingFor)
  applyEffects(ctx, o.id, result.effects, deps)
  if (result.waitingFor === 'target') disputeTargets(ctx, result.objective, deps)
  if (result.objective.status === 'completed' && o.status !== 'completed') settledOnChain(ctx, result.objective, deps)
}

/**
 * A payment channel finalized on chain: its guarantees are removed from my ledgers by the outcome it finalized with,
 * through its VirtualDefund (started here if none runs), as reclaim would pay them — so a ledger whose peer still
 * answers stays open. A ledger under dispute refuses the removal (it is closing): its own dispute reclaims instead.
 */
function settledOnChain(ctx: StepContext, o: AppDispute, deps: HandlerDeps): void {
  const fund = ctx.objectives.get(virtualFundId(o.channelId))
  if (fund?.kind !== 'virtualfund' || !isFullySigned(fund.postfund)) return
  const existing = ctx.objectives.get(virtualDefundId(o.channelId))
  if (existing && !isActive(existing) && existing.status !== 'unapproved') return
  const defund = existing?.kind === 'virtualdefund' ? existing : virtualDefund.newVirtualDefund({ funded: fund.postfund.state, me: deps.signer.address, paid: 0n, status: 'approved' })
  setObjective(ctx, virtualDefund.update(defund, { kind: 'finalizedOnChain', outcome: appDispute.registeredState(o).outcome }))
  for (const ledgerId of guaranteeing(ctx, o.channelId)) ctx.touchLedger(ledgerId) // cranks the defund with its ledgers
}

/** A ledger's payout waits for the channels its guarantees fund to finalize: each gets a dispute of its own. */
function disputeTargets(ctx: StepContext, o: AppDispute, deps: HandlerDeps): void {
  for (const exit of appDispute.payoutOutcome(o)) {
    for (const allocation of exit.allocations) {
      if (allocation.allocationType !== AllocationType.guarantee) continue
      const target = allocation.destination
      if (ctx.objectives.get(appDispute.appDisputeId(target))) continue // running, or ended (a failed one is reported there)
      const claim = claimFor(ctx, target, deps)
      if (claim) startDispute(ctx, target, claim, deps)
    }
  }
}
