// Ledger channels in the engine: DirectFund opens one on chain, LedgerUpdate changes it (a proposal the
// leader signs and the follower countersigns), DirectDefund closes it. Deterministic, like every handler.
import type { Address, Bytes32, Signature } from '../core/types.js'
import type { SignedState } from '../core/signedState.js'
import type { ChainEvent } from '../protocols/onchain.js'
import * as directFund from '../protocols/directfund/directfund.js'
import type { DirectFund } from '../protocols/directfund/directfund.js'
import * as directDefund from '../protocols/directdefund/directdefund.js'
import type { DirectDefund } from '../protocols/directdefund/directdefund.js'
import * as ledgerUpdate from '../protocols/ledgerupdate/ledgerUpdate.js'
import type { LedgerUpdate } from '../protocols/ledgerupdate/ledgerUpdate.js'
import type { ConsensusChannel } from '../protocols/ledger/consensusChannel.js'
import {
  adoptSupported,
  createConsensusChannel,
  markClosing,
  receiveCountersignature,
  receiveProposal,
  supportedSignedState,
} from '../protocols/ledger/consensusChannel.js'
import type { Proposal, SignedProposal } from '../protocols/ledger/proposal.js'
import { ledgerOutcomeFromExit } from '../protocols/ledger/ledgerOutcome.js'
import { isActive } from '../protocols/objective.js'
import { openingState } from '../protocols/openingState.js'
import { NotAParticipantInputError } from '../protocols/errors.js'
import type { StepContext } from './context.js'
import { Index } from './indexes.js'
import { holdingsKey, holdingsOf } from './holdings.js'
import { totalOf } from '../protocols/ledger/ledgerOutcome.js'
import { hasQueuedSync } from './session.js'
import type { HandlerDeps } from './step.js'
import { admitFromPeer, applyEffects, counterpartyOf, isolate, requireLedger, requireParticipant, setObjective, tellFailure } from './step.js'
import { NoSuchObjectiveError, ObjectiveExistsError, SyncInFlightError, UnsolicitedLedgerUpdateError } from './errors.js'
import { parseBytes32 } from '../core/canonical.js'

// ---- API ----

export function startDirectFund(
  ctx: StepContext,
  request: { counterparty: Address; asset: Address; myDeposit: bigint; theirDeposit: bigint; nonce: bigint; challengeDuration: number },
  deps: HandlerDeps,
): string {
  const me = deps.signer.address
  const prefund = openingState({
    participants: [me, request.counterparty],
    channelNonce: request.nonce,
    appDefinition: deps.consensusApp,
    challengeDuration: request.challengeDuration,
    asset: request.asset,
    amounts: [request.myDeposit, request.theirDeposit],
  })
  const objective = directFund.newDirectFund(prefund, me, 'approved')
  if (ctx.objectives.get(objective.id)) throw new ObjectiveExistsError('a ledger with this nonce exists', { objectiveId: objective.id })
  crankDirect(ctx, objective, deps)
  return objective.id
}

export function startDirectDefund(ctx: StepContext, ledgerId: Bytes32, deps: HandlerDeps): string {
  const ledger = requireLedger(ctx, ledgerId)
  const objective = directDefund.newDirectDefund(ledger, holdingsOf(ctx, ledger.id, ledger.supported.vars.outcome.asset), deps.signer.address, 'approved')
  // A failed defund (the counterparty refused, or the chain did) may be tried again: the final state is
  // rebuilt from the same ledger state, so it is the one signed before, never a second one at that turn.
  const before = ctx.objectives.get(objective.id)
  if (before && isActive(before)) throw new ObjectiveExistsError('this ledger is already being defunded', { objectiveId: objective.id })
  if (before?.status === 'completed') throw new ObjectiveExistsError('this ledger was defunded', { objectiveId: objective.id })
  ctx.ledgers.set(ledger.id, markClosing(ledger))
  crankDirect(ctx, objective, deps)
  ctx.touchLedger(ledger.id) // its updates not yet signed fail: ledger_closing
  return objective.id
}

/** `ask`: the counterparty is asked to start it too, which it does only if its owner agreed already (ADR 0015). */
export function startLedgerUpdate(ctx: StepContext, ledgerId: Bytes32, proposal: Proposal, ask: boolean, deps: HandlerDeps): string {
  const ledger = requireLedger(ctx, ledgerId)
  const objective = ledgerUpdate.newLedgerUpdate({ ledgerId: ledger.id, counterparty: counterpartyOf(ledger, deps.signer.address), proposal, initiator: ask, status: 'approved' })
  if (ctx.objectives.get(objective.id)) throw new ObjectiveExistsError('this ledger update is already running', { objectiveId: objective.id })
  setObjective(ctx, objective)
  ctx.touchLedger(ledger.id)
  return objective.id
}

export function requestSync(ctx: StepContext, ledgerId: Bytes32, deps: HandlerDeps): Bytes32 {
  const ledger = requireLedger(ctx, ledgerId)
  ctx.send(counterpartyOf(ledger, deps.signer.address), { kind: 'syncRequest', ledgerId: ledger.id })
  return ledger.id
}

// ---- peer payloads ----

/** A signed state for a DirectFund or DirectDefund: progress for mine, or the counterparty starting one. */
export function receiveDirectSignedState(ctx: StepContext, from: Address, objectiveId: string, signed: SignedState, deps: HandlerDeps): void {
  const me = deps.signer.address
  const found = ctx.objectives.get(objectiveId)
  // A defund that failed here starts again when the counterparty tries again (see startDirectDefund).
  const existing = found?.kind === 'directdefund' && !isActive(found) && found.status !== 'completed' ? undefined : found
  if (existing?.kind === 'directfund' && existing.failure) return tellFailure(ctx, from, existing)
  if (existing) {
    if (existing.kind === 'directfund') crankDirect(ctx, directFund.update(existing, { kind: 'signedState', signed }), deps)
    else if (existing.kind === 'directdefund') crankDirect(ctx, directDefund.update(existing, { kind: 'signedState', signed }), deps)
    else throw new NoSuchObjectiveError('this objective does not take signed states', { objectiveId })
    return
  }
  if (objectiveId.startsWith('directfund:')) {
    const objective = directFund.newDirectFund(signed.state, me, 'unapproved')
    if (objective.id !== objectiveId) throw new NoSuchObjectiveError('objective id does not match the channel', { objectiveId })
    if (signed.state.appDefinition !== deps.consensusApp) throw new NoSuchObjectiveError('a ledger runs the consensus app')
    const started = directFund.update(objective, { kind: 'signedState', signed })
    if (admitFromPeer(ctx, started, from, deps)) crankDirect(ctx, { ...started, status: 'approved' }, deps)
    return
  }
  const ledgerId = parseBytes32(objectiveId.slice('directdefund:'.length), 'objectiveId')
  const ledger = requireLedger(ctx, ledgerId)
  const objective = directDefund.newDirectDefund(ledger, holdingsOf(ctx, ledger.id, ledger.supported.vars.outcome.asset), me, 'unapproved')
  ctx.ledgers.set(ledger.id, markClosing(ledger))
  const started = directDefund.update(objective, { kind: 'signedState', signed })
  if (admitFromPeer(ctx, started, from, deps)) crankDirect(ctx, { ...started, status: 'approved' }, deps)
  ctx.touchLedger(ledger.id) // its updates not yet signed fail: ledger_closing
}

/**
 * Consent (ADR 0015): a ledger changes only by a LedgerUpdate my own side started — my owner's call, or one of
 * my virtual or app objectives, each computing the proposal from its own view. A request names one; if I run
 * none, the counterparty's numbers would be the only reason to sign, so it is refused.
 */
export function receiveLedgerUpdateRequest(ctx: StepContext, from: Address, objectiveId: string, request: { ledgerId: Bytes32; proposal: Proposal }): void {
  const ledger = requireLedger(ctx, request.ledgerId)
  requireParticipant(ledger.fixed, from)
  const id = ledgerUpdate.ledgerUpdateId(ledger.id, request.proposal)
  if (id !== objectiveId) throw new NoSuchObjectiveError('objective id does not match the request', { objectiveId })
  if (ctx.objectives.get(id)) return // mine already: it proposes or countersigns only its own proposal
  throw new UnsolicitedLedgerUpdateError('this node changes a ledger only for an objective of its own', { objectiveId: id })
}

export function receiveLedgerProposal(ctx: StepContext, from: Address, ledgerId: Bytes32, signed: SignedProposal): void {
  const ledger = requireLedger(ctx, ledgerId)
  requireSender(ledger, from, 0)
  ctx.ledgers.set(ledger.id, receiveProposal(ledger, signed))
  ctx.touchLedger(ledger.id)
}

export function receiveLedgerCountersignature(ctx: StepContext, from: Address, ledgerId: Bytes32, turnNum: bigint, signature: Signature): void {
  const ledger = requireLedger(ctx, ledgerId)
  requireSender(ledger, from, 1)
  ctx.ledgers.set(ledger.id, receiveCountersignature(ledger, turnNum, signature))
  ctx.touchLedger(ledger.id)
}

export function receiveSyncRequest(ctx: StepContext, from: Address, ledgerId: Bytes32): void {
  const ledger = requireLedger(ctx, ledgerId)
  requireParticipant(ledger.fixed, from)
  // One reply in flight per ledger and peer: a counterparty that asks again and again without acknowledging
  // would otherwise grow my outbox by a ledger's size per request. It asks again once it has the reply.
  if (hasQueuedSync(ctx, from, ledger.id)) throw new SyncInFlightError('a sync reply to this peer is not yet acknowledged', { ledgerId: ledger.id })
  ctx.send(from, { kind: 'sync', ledgerId: ledger.id, supported: supportedSignedState(ledger), queue: ledger.role === 'leader' ? ledger.queue : [] })
}

export function receiveSync(ctx: StepContext, from: Address, p: { ledgerId: Bytes32; supported: SignedState; queue: readonly SignedProposal[] }): void {
  const ledger = requireLedger(ctx, p.ledgerId)
  requireParticipant(ledger.fixed, from)
  const { state, signatures } = p.supported
  const vars = { turnNum: state.turnNum, outcome: ledgerOutcomeFromExit(state.outcome) }
  if (!signatures[0] || !signatures[1]) throw new NotAParticipantInputError('a sync state must carry both signatures')
  ctx.ledgers.set(ledger.id, adoptSupported(ledger, vars, [signatures[0], signatures[1]]))
  // A follower also takes the leader's queue; each proposal is refused or kept on its own.
  if (ledger.role === 'follower') {
    for (const signed of p.queue) isolate(ctx, (c) => c.ledgers.set(ledger.id, receiveProposal(c.ledger(ledger.id)!, signed)), from)
  }
  ctx.touchLedger(ledger.id)
}

function requireSender(ledger: ConsensusChannel, from: Address, index: 0 | 1): void {
  if (ledger.fixed.participants[index]! !== from) {
    throw new NotAParticipantInputError(index === 0 ? 'only the leader sends proposals' : 'only the follower countersigns', { from })
  }
}

// ---- chain ----

/** The chain's holdings of a ledger being funded or defunded, in the ledger's own asset only. */
export function onDirectChainEvent(ctx: StepContext, o: DirectFund | DirectDefund, event: ChainEvent, deps: HandlerDeps): void {
  if (event.kind !== 'deposited' && event.kind !== 'allocationUpdated') return
  const asset = o.kind === 'directfund' ? o.prefund.state.outcome[0]!.asset : o.final.state.outcome[0]!.asset
  if (asset !== event.asset) return
  const amount = event.kind === 'deposited' ? event.nowHeld : event.finalHoldings
  if (o.kind === 'directfund') crankDirect(ctx, directFund.update(o, { kind: 'holdings', amount }), deps)
  else crankDirect(ctx, directDefund.update(o, { kind: 'holdings', amount }), deps)
}

export function onDirectChainFailure(ctx: StepContext, o: DirectFund | DirectDefund, code: string, summary: string, deps: HandlerDeps): void {
  if (o.kind === 'directfund') crankDirect(ctx, directFund.update(o, { kind: 'depositFailed', code, summary }), deps)
  else crankDirect(ctx, directDefund.update(o, { kind: 'withdrawFailed', code, summary }), deps)
}

// ---- cranking ----

/** Cranks a DirectFund or DirectDefund and applies what it asks; its completion opens or removes the ledger. */
export function crankDirect(ctx: StepContext, objective: DirectFund | DirectDefund, deps: HandlerDeps): void {
  const result = objective.kind === 'directfund' ? directFund.crank(objective, deps.signer) : directDefund.crank(objective, deps.signer)
  setObjective(ctx, result.objective)
  ctx.waitingFor.set(objective.id, result.waitingFor)
  applyEffects(ctx, objective.id, result.effects, deps)
  if (result.objective.status !== 'completed' || objective.status === 'completed') return
  if (result.objective.kind === 'directfund') {
    const ledger = createConsensusChannel(result.objective.postfund, deps.signer.address)
    ctx.ledgers.set(ledger.id, ledger)
  } else {
    ctx.ledgers.delete(result.objective.channelId)
  }
}

/**
 * Cranks the active ledger updates of one ledger that can make progress, until none can: countersigning
 * the head proposal can make the next one countersignable for another objective (go-nitro's
 * ProposalsToProcess). The router then wakes the objectives that depend on this ledger.
 */
export function crankLedgerUpdates(ctx: StepContext, ledgerId: Bytes32, deps: HandlerDeps): void {
  const id = ledgerId
  const ledger = ctx.ledger(id)
  if (ledger && !ledger.closing && underfunded(ctx, ledger)) {
    // Money the chain no longer holds (a deposit re-organised away) is not signed over: the updates wait for it.
    for (const objectiveId of ctx.indexes.get(Index.ledgerUpdates(id)) ?? []) ctx.waitingFor.set(objectiveId, 'funding')
    return
  }
  for (let progressed = true; progressed; ) {
    progressed = false
    for (const objectiveId of ctx.indexes.get(Index.ledgerUpdates(id)) ?? []) {
      const objective = ctx.objectives.get(objectiveId)
      if (objective?.kind !== 'ledgerUpdate' || !isActive(objective)) continue
      const ledger = ctx.ledger(id)
      if (!ledger) {
        setObjective(ctx, { ...objective, status: 'failed', failure: { code: 'no_ledger', summary: 'the ledger channel is gone' } })
        continue
      }
      if (!ledgerUpdate.isReady(objective, ledger)) continue
      const result = ledgerUpdate.crank(objective, ledger, deps.signer)
      ctx.waitingFor.set(objective.id, result.waitingFor)
      if (result.ledger !== ledger) progressed = true
      setObjective(ctx, result.objective)
      ctx.ledgers.set(id, result.ledger)
      applyEffects(ctx, objective.id, result.effects, deps)
    }
  }
}

/**
 * Whether the chain holds less for a ledger than its supported state allocates, as this node last saw it. A ledger
 * is funded when it opens; it drops below only when a deposit is re-organised away (router.ts). Holdings never
 * reported (a ledger made without a chain, in tests) are not judged.
 */
export function underfunded(ctx: StepContext, ledger: ConsensusChannel): boolean {
  const { outcome } = ledger.supported.vars
  const held = ctx.holdings.get(holdingsKey(ledger.id, outcome.asset))
  if (held === undefined) return false
  return held < totalOf(outcome)
}

/** A ledger update is cranked with its ledger: waking one cranks them all. */
export function wakeLedgerUpdate(ctx: StepContext, o: LedgerUpdate): void {
  ctx.touchLedger(o.ledgerId)
}
