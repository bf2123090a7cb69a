// How the engine handles each input against a step's drafts. Everything here is deterministic: the same
// input on the same state gives the same changes (time arrives as `ctx.now`). Refusals are typed
// RejectedInputErrors that the engine records; they never stop the node.
import type { Address, Bytes32 } from '../core/types.js'
import type { Signer } from '../core/signer.js'
import { ChannelsError, RejectedInputError } from '../core/errors.js'
import type { Objective } from '../protocols/objectives.js'
import type { Payload } from '../protocols/messages.js'
import type { ChainEvent } from '../protocols/onchain.js'
import * as directFund from '../protocols/directfund/directfund.js'
import * as directDefund from '../protocols/directdefund/directdefund.js'
import * as ledgerUpdate from '../protocols/ledgerupdate/ledgerUpdate.js'
import type { ConsensusChannel } from '../protocols/ledger/consensusChannel.js'
import {
  adoptSupported,
  createConsensusChannel,
  markClosing,
  receiveCountersignature,
  receiveProposal,
  supportedSignedState,
} from '../protocols/ledger/consensusChannel.js'
import { ledgerOutcomeFromExit } from '../protocols/ledger/ledgerOutcome.js'
import { isActive } from '../protocols/objective.js'
import { NotAParticipantInputError } from '../protocols/errors.js'
import type { ApiRequest, EngineInput } from './inputs.js'
import type { StepContext } from './context.js'
import { decodeFrame } from './frames.js'
import { bumpAttempt, deliveredBelow, dueEntries, enqueue, isDelivered, markDelivered, newPeer, restartSession } from './outbox.js'
import type { OutboxEntry, PeerState } from './outbox.js'
import { NoSuchLedgerError, NoSuchObjectiveError, ObjectiveExistsError } from './errors.js'
import * as virtual from './virtual.js'
import * as apps from './apps.js'
import * as appFunding from './appFunding.js'
import * as appDisputes from './appDisputes.js'
import type { AppRuntime } from '../wasm/appRuntime.js'
import { openingState } from '../protocols/openingState.js'
import type { Effect } from '../protocols/objective.js'
import type { Proposal } from '../protocols/ledger/proposal.js'
import type { AppDefinition } from '../protocols/app/appData.js'
import type { PeerPolicy } from './policy.js'
import { checkCommitment } from './policy.js'
import { ledgerCommitment, peerLoad, policyOf, virtualCommitment } from './commitments.js'
import { RejectionTooLateError, SyncInFlightError, UnsolicitedLedgerUpdateError } from './errors.js'
import { isFullySigned, isSignedBy } from '../core/signedState.js'
import { holdingsKey, holdingsOf } from './holdings.js'

export interface HandlerDeps {
  readonly signer: Signer
  readonly consensusApp: Address
  /** The appDefinition of payment channels (so they can be disputed on chain). */
  readonly virtualPaymentApp: Address
  /** What objectives others start may commit of mine (src/engine/policy.ts). */
  readonly policy: PeerPolicy
  /** Approves app channels a peer opens with this node. */
  readonly appPolicy: (definition: AppDefinition, from: Address) => boolean
  /** The app modules this node runs, by appId (lowercase); app channels of other apps are refused. */
  readonly apps: (appId: Bytes32) => AppRuntime | undefined
  /** Snapshots of app state every this many events (src/protocols/app/replay.ts isSnapshotDue). */
  readonly appSnapshotIntervalEvents: number
}

const lower = (a: string) => a.toLowerCase()

export function handleInput(ctx: StepContext, input: EngineInput, deps: HandlerDeps): unknown {
  switch (input.kind) {
    case 'api':
      return handleApi(ctx, input.request, deps)
    case 'peer':
      handleFrame(ctx, input.from, input.bytes, deps)
      return undefined
    case 'chain':
      handleChainEvent(ctx, input.event, deps)
      return undefined
    case 'chainResult':
      handleChainFailure(ctx, input.objectiveId, input.code, input.summary, deps)
      return undefined
    case 'tick':
      handleTick(ctx)
      apps.handleDueTimeouts(ctx, deps, (run, from) => handleIsolated(ctx, run, from))
      appDisputes.crankDueDisputes(ctx, deps)
      return undefined
  }
}

// ---- API ----

function handleApi(ctx: StepContext, request: ApiRequest, deps: HandlerDeps): unknown {
  const me = deps.signer.address
  switch (request.op) {
    case 'directFund': {
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
      crankObjective(ctx, objective, deps)
      return objective.id
    }
    case 'directDefund': {
      const ledger = requireLedger(ctx, request.ledgerId)
      const objective = directDefund.newDirectDefund(ledger, holdingsOf(ctx, ledger.id, ledger.supported.vars.outcome.asset), me, 'approved')
      // A failed defund (the counterparty refused, or the chain did) may be tried again: the final state is
      // rebuilt from the same ledger state, so it is the one signed before, never a second one at that turn.
      const before = ctx.objectives.get(objective.id)
      if (before && isActive(before)) throw new ObjectiveExistsError('this ledger is already being defunded', { objectiveId: objective.id })
      if (before?.status === 'completed') throw new ObjectiveExistsError('this ledger was defunded', { objectiveId: objective.id })
      ctx.ledgers.set(ledger.id, markClosing(ledger))
      crankObjective(ctx, objective, deps)
      crankLedger(ctx, ledger.id, deps) // its updates not yet signed fail: ledger_closing
      return objective.id
    }
    case 'ledgerUpdate': {
      const ledger = requireLedger(ctx, request.ledgerId)
      // `ask`: the counterparty is asked to start it too, which it does only if its owner agreed already.
      const objective = ledgerUpdate.newLedgerUpdate({ ledgerId: ledger.id, counterparty: counterpartyOf(ledger, me), proposal: request.proposal, initiator: request.ask, status: 'approved' })
      if (ctx.objectives.get(objective.id)) throw new ObjectiveExistsError('this ledger update is already running', { objectiveId: objective.id })
      setObjective(ctx, objective)
      crankLedger(ctx, ledger.id, deps)
      return objective.id
    }
    case 'createPaymentChannel':
      return virtual.createPaymentChannel(ctx, request, deps)
    case 'closePaymentChannel':
      return virtual.closePaymentChannel(ctx, request.channelId, deps)
    case 'pay':
      return virtual.pay(ctx, request.channelId, request.amount, request.send, deps)
    case 'receiveVoucher':
      return virtual.receiveVoucher(ctx, request.voucher, deps)
    case 'createAppChannel':
      return apps.createAppChannel(ctx, request, deps)
    case 'submitAppEvent':
      return apps.submitAppEvent(ctx, request.channelId, request.payload, deps)
    case 'closeAppChannel':
      return appFunding.closeAppChannel(ctx, request.channelId, deps)
    case 'challengeAppChannel':
      return appDisputes.challengeAppChannel(ctx, request.channelId, deps)
    case 'setPolicy': {
      ctx.meta.set('meta', { ...ctx.meta.get('meta')!, policy: request.policy })
      return undefined
    }
    case 'startEpoch': {
      const meta = ctx.meta.get('meta')!
      if (meta.epoch === undefined) ctx.meta.set('meta', { ...meta, epoch: request.epoch })
      return meta.epoch ?? request.epoch
    }
    case 'syncLedger': {
      const ledger = requireLedger(ctx, request.ledgerId)
      ctx.send(counterpartyOf(ledger, me), { kind: 'syncRequest', ledgerId: ledger.id })
      return ledger.id
    }
  }
}

function requireLedger(ctx: StepContext, id: Bytes32): ConsensusChannel {
  const ledger = ctx.ledger(id)
  if (!ledger) throw new NoSuchLedgerError('no such ledger channel', { ledgerId: id })
  return ledger
}

function counterpartyOf(ledger: ConsensusChannel, me: Address): Address {
  return ledger.fixed.participants.find((p) => lower(p) !== lower(me))!
}

// ---- peer frames ----

function handleFrame(ctx: StepContext, from: Address, bytes: Uint8Array, deps: HandlerDeps): void {
  const frame = decodeFrame(bytes)
  const peerKey = lower(from)
  const known = ctx.peers.get(peerKey)
  let peer = known ?? newPeer(from)
  let taken = false
  if (frame.epochs) {
    const session = checkSession(ctx, peer, frame.epochs)
    if (session === 'stale') return
    if (session !== 'same') {
      peer = session
      taken = true
    }
  }
  for (const seq of frame.acks) {
    const key = outboxKey(from, seq)
    if (ctx.outbox.get(key)) ctx.outbox.delete(key)
  }
  if (frame.base !== undefined && frame.base > 1n) peer = deliveredBelow(peer, frame.base)
  if (frame.seq !== null) {
    if (isDelivered(peer, frame.seq)) {
      ctx.ack(from, frame.seq) // a duplicate: acknowledge again, handle once
    } else {
      const marked = markDelivered(peer, frame.seq)
      if (marked) {
        for (const payload of frame.payloads) {
          const refused = handleIsolated(ctx, (c) => handlePayload(c, from, payload, deps), from)
          if (refused) handleIsolated(ctx, (c) => apps.noticeRefusal(c, from, payload, refused, deps), from)
          else taken = true
        }
        // Only a frame that changed something is remembered as delivered: one whose every payload was refused
        // leaves nothing (no peer record for a stranger, no journal entry: engine.ts), and a copy sent again
        // is refused again, within the peer's quota (admission.ts).
        if (taken) peer = marked
        ctx.ack(from, frame.seq)
      }
    }
  } else {
    // Notices only (decodeFrame): nothing to acknowledge or deduplicate; each is handled once as it comes.
    for (const payload of frame.payloads) handleIsolated(ctx, (c) => handlePayload(c, from, payload, deps), from)
  }
  if (peer !== known && (known || taken || ctx.outgoing.has(peerKey))) ctx.peers.set(peerKey, peer)
}

/**
 * Where a frame stands in the session between the peer's epoch and mine (outbox.ts). Returns 'same', the peer's
 * state for a session that starts now, or 'stale' for a frame to leave unhandled and unacknowledged:
 * - a sender epoch lower than the one I know is from the peer's earlier life (a frame delayed on the wire);
 * - a receiver epoch that is not mine was numbered for my earlier life: the sender has not heard of my new
 *   epoch yet, so I answer with a frame that carries it (an empty acknowledgement), and it numbers again;
 * - a higher sender epoch: the peer started again from an empty store. Both sides' numbering starts again
 *   (restartSession), and I offer it my view of every ledger we share (a sync), which is all it can recover
 *   from me.
 */
function checkSession(ctx: StepContext, peer: PeerState, epochs: { sender: bigint; receiver: bigint }): PeerState | 'same' | 'stale' {
  const from = peer.address
  const mine = ctx.meta.get('meta')!.epoch
  if (peer.epoch !== undefined && epochs.sender < peer.epoch) {
    ctx.rejections.push({ code: 'stale_epoch', summary: 'a frame from the peer\'s earlier epoch', from })
    return 'stale'
  }
  if (epochs.receiver !== 0n && mine !== undefined && epochs.receiver !== mine) {
    ctx.rejections.push({ code: 'stale_epoch', summary: 'a frame numbered for my earlier epoch', from })
    ctx.ack(from) // an empty acknowledgement: it carries my epoch
    return 'stale'
  }
  if (epochs.sender === 0n || epochs.sender === peer.epoch) return 'same'
  if (peer.epoch === undefined) return { ...peer, epoch: epochs.sender }
  const unacknowledged = [...ctx.outbox.values()].filter((e) => lower(e.to) === lower(from))
  for (const entry of unacknowledged) ctx.outbox.delete(outboxKey(from, entry.seq))
  const { peer: restarted, entries } = restartSession(peer, epochs.sender, unacknowledged, ctx.now)
  for (const entry of entries) ctx.outbox.set(outboxKey(from, entry.seq), entry) // attempt 1: sent after the commit
  for (const ledger of ctx.ledgers.values()) {
    // One sync per ledger in flight (as for syncRequest): a peer bumping its epoch again and again gets its
    // outbox renumbered, never grown.
    if (ledger.fixed.participants.some((p) => lower(p) === lower(from)) && !hasQueuedSync(ctx, from, ledger.id)) {
      ctx.send(from, { kind: 'sync', ledgerId: ledger.id, supported: supportedSignedState(ledger), queue: ledger.role === 'leader' ? ledger.queue : [] })
    }
  }
  return restarted
}

/**
 * Runs one payload's handling in a child context: a refusal drops only its own changes. Returns the
 * refusal's code, or undefined when the payload was taken.
 */
export function handleIsolated(ctx: StepContext, run: (c: StepContext) => void, from?: Address): string | undefined {
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
    ctx.rejections.push({ code, summary, ...(from ? { from } : {}) })
    return code
  }
}

function requireParticipant(ledgerOrState: { participants: readonly Address[] }, from: Address): void {
  if (!ledgerOrState.participants.some((p) => lower(p) === lower(from))) {
    throw new NotAParticipantInputError('the sender is not a participant of this channel', { from })
  }
}

function handlePayload(ctx: StepContext, from: Address, payload: Payload, deps: HandlerDeps): void {
  const me = deps.signer.address
  switch (payload.kind) {
    case 'signedState': {
      const { state } = payload.signedState
      requireParticipant(state, from)
      if (payload.objectiveId.startsWith('virtual')) return virtual.handleVirtualSignedState(ctx, from, payload.objectiveId, payload.signedState, deps)
      if (payload.objectiveId.startsWith('appdefund:')) return appFunding.receiveConcludingSignature(ctx, from, payload.objectiveId, payload.signedState, deps)
      const found = ctx.objectives.get(payload.objectiveId)
      // A defund that failed here starts again when the counterparty tries again (see the directDefund API).
      const existing = found?.kind === 'directdefund' && !isActive(found) && found.status !== 'completed' ? undefined : found
      if (existing) {
        if (existing.kind === 'directfund') crankObjective(ctx, directFund.update(existing, { kind: 'signedState', signed: payload.signedState }), deps)
        else if (existing.kind === 'directdefund') crankObjective(ctx, directDefund.update(existing, { kind: 'signedState', signed: payload.signedState }), deps)
        else throw new NoSuchObjectiveError('this objective does not take signed states', { objectiveId: payload.objectiveId })
        return
      }
      if (payload.objectiveId.startsWith('directfund:')) {
        const objective = directFund.newDirectFund(state, me, 'unapproved')
        if (objective.id !== payload.objectiveId) throw new NoSuchObjectiveError('objective id does not match the channel', { objectiveId: payload.objectiveId })
        if (lower(state.appDefinition) !== lower(deps.consensusApp)) throw new NoSuchObjectiveError('a ledger runs the consensus app')
        startFromPeer(ctx, directFund.update(objective, { kind: 'signedState', signed: payload.signedState }), from, deps)
        return
      }
      if (payload.objectiveId.startsWith('directdefund:')) {
        const ledgerId = payload.objectiveId.slice('directdefund:'.length) as Bytes32
        const ledger = requireLedger(ctx, ledgerId)
        const objective = directDefund.newDirectDefund(ledger, holdingsOf(ctx, ledger.id, ledger.supported.vars.outcome.asset), me, 'unapproved')
        ctx.ledgers.set(ledger.id, markClosing(ledger))
        startFromPeer(ctx, directDefund.update(objective, { kind: 'signedState', signed: payload.signedState }), from, deps)
        crankLedger(ctx, ledger.id, deps) // its updates not yet signed fail: ledger_closing
        return
      }
      throw new NoSuchObjectiveError('unknown objective', { objectiveId: payload.objectiveId })
    }
    case 'ledgerUpdateRequest': {
      // Consent (ADR 0015): a ledger changes only by a LedgerUpdate my own side started — my owner's call, or
      // one of my virtual or app objectives, each computing the proposal from its own view. A request names
      // one; if I run none, the counterparty's numbers would be the only reason to sign, so it is refused.
      const ledger = requireLedger(ctx, payload.request.ledgerId)
      requireParticipant(ledger.fixed, from)
      const id = ledgerUpdate.ledgerUpdateId(ledger.id, payload.request.proposal)
      if (id !== payload.objectiveId) throw new NoSuchObjectiveError('objective id does not match the request', { objectiveId: payload.objectiveId })
      if (ctx.objectives.get(id)) return // mine already: it proposes or countersigns only its own proposal
      throw new UnsolicitedLedgerUpdateError('this node changes a ledger only for an objective of its own', { objectiveId: id })
    }
    case 'proposal': {
      const ledger = requireLedger(ctx, payload.ledgerId)
      requireSender(ledger, from, 0)
      ctx.ledgers.set(ledger.id, receiveProposal(ledger, payload.signed))
      crankLedger(ctx, ledger.id, deps)
      return
    }
    case 'countersignature': {
      const ledger = requireLedger(ctx, payload.ledgerId)
      requireSender(ledger, from, 1)
      ctx.ledgers.set(ledger.id, receiveCountersignature(ledger, payload.turnNum, payload.signature))
      crankLedger(ctx, ledger.id, deps)
      return
    }
    case 'syncRequest': {
      const ledger = requireLedger(ctx, payload.ledgerId)
      requireParticipant(ledger.fixed, from)
      // One reply in flight per ledger and peer: a counterparty that asks again and again without acknowledging
      // would otherwise grow my outbox by a ledger's size per request. It asks again once it has the reply.
      if (hasQueuedSync(ctx, from, ledger.id)) throw new SyncInFlightError('a sync reply to this peer is not yet acknowledged', { ledgerId: ledger.id })
      ctx.send(from, { kind: 'sync', ledgerId: ledger.id, supported: supportedSignedState(ledger), queue: ledger.role === 'leader' ? ledger.queue : [] })
      return
    }
    case 'sync': {
      const ledger = requireLedger(ctx, payload.ledgerId)
      requireParticipant(ledger.fixed, from)
      const { state, signatures } = payload.supported
      const vars = { turnNum: state.turnNum, outcome: ledgerOutcomeFromExit(state.outcome) }
      if (!signatures[0] || !signatures[1]) throw new NotAParticipantInputError('a sync state must carry both signatures')
      ctx.ledgers.set(ledger.id, adoptSupported(ledger, vars, [signatures[0], signatures[1]]))
      // A follower also takes the leader's queue; each proposal is refused or kept on its own.
      if (ledger.role === 'follower') {
        for (const signed of payload.queue) handleIsolated(ctx, (c) => c.ledgers.set(ledger.id, receiveProposal(c.ledger(ledger.id)!, signed)), from)
      }
      crankLedger(ctx, ledger.id, deps)
      return
    }
    case 'finalStateRequest':
      virtual.handleFinalStateRequest(ctx, from, payload.channelId, deps)
      return
    case 'voucher': {
      const channel = virtual.receiveVoucher(ctx, payload.voucher, deps)
      if (lower(channel.payer) !== lower(from)) throw new NotAParticipantInputError('vouchers come from the payer', { from })
      return
    }
    case 'appOpen':
      return apps.receiveAppOpen(ctx, from, payload, deps)
    case 'appUpdate':
      return apps.receiveAppUpdate(ctx, from, payload.channelId, payload.update, deps)
    case 'appCountersignature':
      return apps.receiveAppCountersignature(ctx, from, payload.channelId, payload.countersignature, deps)
    case 'appRefusal':
      return apps.receiveAppRefusal(ctx, from, payload)
    case 'objectiveRejected': {
      const objective = ctx.objectives.get(payload.objectiveId)
      if (!objective || !isActive(objective)) return
      if (!participantsOf(objective).some((p) => lower(p) === lower(from)) || lower(from) === lower(me)) {
        throw new NotAParticipantInputError('only the counterparty may reject this objective', { from })
      }
      if (isCommitted(objective)) throw new RejectionTooLateError('the objective is signed by both already: only the chain can end it now', { objectiveId: objective.id })
      setObjective(ctx, { ...objective, status: 'failed', failure: { code: payload.code, summary: `rejected by peer: ${payload.summary}`.slice(0, 1000) } })
      // Objectives built on this one (a VirtualFund on a failed guarantee) learn of it now.
      if (objective.kind === 'ledgerUpdate') crankLedger(ctx, objective.ledgerId, deps)
      return
    }
  }
}

/**
 * Whether a peer's rejection comes too late for `objective`: once my money is on its way (a deposit, a guarantee
 * my ledger may lock, a proposal or countersignature I signed) or a final state is signed by all (anyone may
 * conclude it), a peer saying "no" must not make me stop following it — my money would be stranded, my payout
 * ignored, or my policy would stop counting what is still committed.
 */
function isCommitted(objective: Objective): boolean {
  switch (objective.kind) {
    case 'directfund':
      return objective.depositSubmitted || isSignedBy(objective.postfund, objective.myIndex)
    case 'directdefund':
    case 'appdefund':
      return isFullySigned(objective.final)
    case 'ledgerUpdate':
      return objective.turnNum !== null // I proposed or countersigned: that turn may become supported
    case 'virtualfund':
      return objective.guaranteesRequested // my ledgers may lock (or have locked) its guarantee
    case 'appfund':
      return objective.depositSubmitted || objective.guaranteeRequested
    default:
      return false
  }
}

/** Whether my outbox holds a sync reply for this ledger to `peer` that it has not acknowledged. */
function hasQueuedSync(ctx: StepContext, peer: Address, ledgerId: Bytes32): boolean {
  for (const entry of ctx.outbox.values()) {
    if (lower(entry.to) === lower(peer) && entry.payloads.some((p) => p.kind === 'sync' && lower(p.ledgerId) === lower(ledgerId))) return true
  }
  const pending = ctx.outgoing.get(lower(peer))
  return pending?.payloads.some((p) => p.kind === 'sync' && lower(p.ledgerId) === lower(ledgerId)) ?? false
}

function participantsOf(objective: Objective): readonly Address[] {
  switch (objective.kind) {
    case 'directfund':
      return objective.prefund.state.participants
    case 'directdefund':
      return objective.final.state.participants
    case 'ledgerUpdate':
      return [objective.counterparty]
    case 'virtualfund':
      return objective.prefund.state.participants
    case 'virtualdefund':
      return objective.funded.participants
    case 'appfund':
      return objective.participants
    case 'appdefund':
      return objective.final.state.participants
    case 'appdispute':
      return objective.candidate.state.participants
  }
}

function requireSender(ledger: ConsensusChannel, from: Address, index: 0 | 1): void {
  if (lower(ledger.fixed.participants[index]!) !== lower(from)) {
    throw new NotAParticipantInputError(index === 0 ? 'only the leader sends proposals' : 'only the follower countersigns', { from })
  }
}

/**
 * An objective a peer started: what it would commit of mine passes the policy first. A refusal keeps nothing
 * of the objective (a stranger cannot make me store or queue anything): it is counted as a rejection and told
 * to the peer in a notice (ADR 0015).
 */
export function startFromPeer(ctx: StepContext, objective: Objective, from: Address, deps: HandlerDeps): void {
  const refusal = policyRefusal(ctx, objective, from, deps)
  if (refusal) {
    ctx.rejections.push({ code: refusal.code, summary: refusal.summary, from })
    ctx.notice(from, { kind: 'objectiveRejected', objectiveId: objective.id, code: refusal.code, summary: refusal.summary })
    return
  }
  crankObjective(ctx, { ...objective, status: 'approved' } as Objective, deps)
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

// ---- chain ----

function handleChainEvent(ctx: StepContext, event: ChainEvent, deps: HandlerDeps): void {
  const meta = ctx.meta.get('meta')!
  const cursor = meta.chainCursor
  if (event.kind === 'reorg') {
    // Accept the replacement events: move the cursor back to the last block both chains share.
    if (cursor && cursor.block > event.forkBlock) ctx.meta.set('meta', { ...meta, chainCursor: { block: event.forkBlock, logIndex: Number.MAX_SAFE_INTEGER } })
    return
  }
  if (cursor && (event.block < cursor.block || (event.block === cursor.block && event.logIndex <= cursor.logIndex))) return // replayed: already applied
  ctx.meta.set('meta', { ...meta, chainCursor: { block: event.block, logIndex: event.logIndex } })
  if (event.kind === 'concluded') return appFunding.onAppConcluded(ctx, lower(event.channelId) as Bytes32, deps)
  if (event.kind === 'challenged') return appDisputes.onChallenged(ctx, lower(event.channelId) as Bytes32, event.turnNumRecord, event.finalizesAt, deps, event.candidate)
  const id = lower(event.channelId) as Bytes32
  const amount = event.kind === 'deposited' ? event.nowHeld : event.finalHoldings
  // Anyone may deposit any token into any channel id: only channels this node takes part in are recorded.
  if (!isMyChannel(ctx, id)) return
  ctx.holdings.set(holdingsKey(id, event.asset), amount)
  // Only the channel's own asset funds it or pays it out: holdings of another token reach no objective.
  const own = (asset: Address) => lower(asset) === lower(event.asset)
  const app = ctx.apps.get(id)
  if (app && own(app.context.definition.asset)) {
    appFunding.onAppHoldings(ctx, id, amount, deps)
    appDisputes.onDisputeHoldings(ctx, id, amount, deps)
  }
  for (const objectiveId of [directFund.directFundId(id), directDefund.directDefundId(id)]) {
    const objective = ctx.objectives.get(objectiveId)
    if (!objective || !isActive(objective)) continue
    if (objective.kind === 'directfund' && own(objective.prefund.state.outcome[0]!.asset)) {
      crankObjective(ctx, directFund.update(objective, { kind: 'holdings', amount }), deps)
    }
    if (objective.kind === 'directdefund' && own(objective.final.state.outcome[0]!.asset)) {
      crankObjective(ctx, directDefund.update(objective, { kind: 'holdings', amount }), deps)
    }
  }
}

/** A channel whose chain events concern me: a ledger, one being funded or defunded, or an app channel. */
function isMyChannel(ctx: StepContext, id: Bytes32): boolean {
  return ctx.ledgers.get(id) !== undefined || ctx.apps.get(id) !== undefined || ctx.objectives.get(directFund.directFundId(id)) !== undefined || ctx.objectives.get(directDefund.directDefundId(id)) !== undefined
}

function handleChainFailure(ctx: StepContext, objectiveId: string, code: string, summary: string, deps: HandlerDeps): void {
  const objective = ctx.objectives.get(objectiveId)
  if (!objective || !isActive(objective)) return
  if (objective.kind === 'directfund') crankObjective(ctx, directFund.update(objective, { kind: 'depositFailed', code, summary }), deps)
  if (objective.kind === 'directdefund') crankObjective(ctx, directDefund.update(objective, { kind: 'withdrawFailed', code, summary }), deps)
  if (objective.kind === 'appfund' || objective.kind === 'appdefund') appFunding.onAppChainFailure(ctx, objective, code, summary, deps)
  if (objective.kind === 'appdispute') appDisputes.onDisputeChainFailure(ctx, objective, code, summary, deps)
  const after = ctx.objectives.get(objectiveId)!
  if (after.status === 'failed') {
    // Out of retries: the counterparty's objective would otherwise wait for us forever.
    for (const participant of participantsOf(after)) {
      if (lower(participant) !== lower(deps.signer.address)) ctx.send(participant, { kind: 'objectiveRejected', objectiveId, code: after.failure!.code, summary: after.failure!.summary.slice(0, 1000) })
    }
  }
}

// ---- timer ----

export function outboxKey(peer: Address, seq: bigint): string {
  return `${lower(peer)}:${seq.toString(16).padStart(16, '0')}`
}

/** Retransmits each peer's due outbox entries (the window is per peer) and schedules their next attempt. */
function handleTick(ctx: StepContext): void {
  const byPeer = new Map<string, OutboxEntry[]>()
  for (const entry of ctx.outbox.values()) {
    const list = byPeer.get(lower(entry.to))
    if (list) list.push(entry)
    else byPeer.set(lower(entry.to), [entry])
  }
  for (const entries of byPeer.values()) {
    for (const entry of dueEntries(entries, ctx.now)) {
      const bumped = bumpAttempt(entry, ctx.now)
      ctx.outbox.set(outboxKey(entry.to, entry.seq), bumped)
      ctx.retransmit.push(bumped)
    }
  }
}

/** Turns the step's outgoing payloads into one new outbox entry per peer (called once per input). */
export function flushOutgoing(ctx: StepContext): void {
  for (const { to, payloads } of ctx.outgoing.values()) {
    const peer = ctx.peers.get(lower(to)) ?? newPeer(to)
    const { peer: next, entry } = enqueue(peer, payloads, ctx.now)
    ctx.peers.set(lower(to), next)
    ctx.outbox.set(outboxKey(to, entry.seq), entry)
  }
  ctx.outgoing.clear()
}

// ---- cranking ----

export function setObjective(ctx: StepContext, objective: Objective): void {
  const before = ctx.objectives.get(objective.id)
  if (!before || before.status !== objective.status) ctx.changedStatus.add(objective.id)
  ctx.objectives.set(objective.id, objective)
  if (objective.kind === 'ledgerUpdate') indexLedgerUpdate(ctx, objective.ledgerId, objective.id, isActive(objective))
}

/** Keeps the (derived, unpersisted) index of active ledger updates per ledger in step with the objective. */
function indexLedgerUpdate(ctx: StepContext, ledgerId: Bytes32, objectiveId: string, active: boolean): void {
  const ids = ctx.activeLedgerUpdates.get(ledgerId) ?? []
  const present = ids.includes(objectiveId)
  if (active && !present) ctx.activeLedgerUpdates.set(ledgerId, [...ids, objectiveId])
  if (!active && present) ctx.activeLedgerUpdates.set(ledgerId, ids.filter((id) => id !== objectiveId))
}

export function applyEffects(ctx: StepContext, objectiveId: string, effects: readonly Effect[], deps: HandlerDeps): void {
  for (const effect of effects) {
    if (effect.kind === 'send') ctx.send(effect.to, effect.payload)
    else if (effect.kind === 'submit') ctx.transactions.push({ objectiveId, tx: effect.tx })
    else startLedgerUpdate(ctx, effect.counterparty, effect.proposal, deps)
  }
}

/**
 * A change another objective needs on my ledger with `counterparty`: both sides derive it independently,
 * so neither asks the other; the leader proposes, the follower countersigns what it expects.
 */
function startLedgerUpdate(ctx: StepContext, counterparty: Address, proposal: Proposal, deps: HandlerDeps): void {
  const ledger = virtual.ledgerWith(ctx, deps.signer.address, counterparty)
  if (!ledger) throw new NoSuchLedgerError(`no open ledger with ${counterparty}`)
  const objective = ledgerUpdate.newLedgerUpdate({ ledgerId: ledger.id, counterparty, proposal, initiator: false, status: 'approved' })
  if (ctx.objectives.get(objective.id)) return
  setObjective(ctx, objective)
  crankLedger(ctx, ledger.id, deps)
}

/** Cranks a directfund or directdefund objective and applies what it asks. */
export function crankObjective(ctx: StepContext, objective: Objective, deps: HandlerDeps): void {
  if (objective.kind === 'virtualfund' || objective.kind === 'virtualdefund') {
    virtual.trackVirtual(ctx, objective.id)
    virtual.crankVirtual(ctx, objective, deps)
    return
  }
  if (objective.kind === 'ledgerUpdate') {
    setObjective(ctx, objective)
    crankLedger(ctx, objective.ledgerId, deps)
    return
  }
  if (objective.kind === 'appfund' || objective.kind === 'appdefund') {
    appFunding.crankAppObjective(ctx, objective, deps)
    return
  }
  if (objective.kind === 'appdispute') {
    appDisputes.crankDispute(ctx, objective, deps)
    return
  }
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
 * ProposalsToProcess).
 */
export function crankLedger(ctx: StepContext, ledgerId: Bytes32, deps: HandlerDeps): void {
  const id = lower(ledgerId) as Bytes32
  for (let progressed = true; progressed; ) {
    progressed = false
    for (const objectiveId of ctx.activeLedgerUpdates.get(id) ?? []) {
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
  const ledger = ctx.ledger(id)
  if (ledger) {
    virtual.crankVirtualsOn(ctx, ledger, deps)
    appFunding.crankAppsOn(ctx, ledger, deps)
  }
}
