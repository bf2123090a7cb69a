// How the engine handles each input against a step's drafts: the router sends each to the handler of its
// kind (kinds.ts for objectives), then drains the step's worklist — a ledger that moved cranks its updates
// and wakes the objectives that wait on it — to a fixed point. Everything here is deterministic: the same
// input on the same state gives the same changes (time arrives as `ctx.now`). Refusals are typed
// RejectedInputErrors that the engine records; they never stop the node.
import type { Address, Bytes32 } from '../core/types.js'
import { assert } from '../core/errors.js'
import type { Payload } from '../protocols/messages.js'
import type { ChainEvent } from '../protocols/onchain.js'
import { directFundId } from '../protocols/directfund/directfund.js'
import { directDefundId } from '../protocols/directdefund/directdefund.js'
import { isActive } from '../protocols/objective.js'
import { NotAParticipantInputError } from '../protocols/errors.js'
import type { ApiRequest, EngineInput } from './inputs.js'
import type { Rejection, StepContext } from './context.js'
import { decodeFrame } from './frames.js'
import { deliveredBelow, isDelivered, markDelivered, newPeer, peerKey } from './outbox.js'
import { NoSuchObjectiveError, RejectionTooLateError } from './errors.js'
import { holdingsKey, holdingsKeyParts, rollBackHoldings, setHoldings } from './holdings.js'
import { Index } from './indexes.js'
import { KINDS, KIND_LIST, kindOf, kindOfId } from './kinds.js'
import * as ledgers from './ledgers.js'
import * as virtual from './virtual.js'
import * as apps from './apps.js'
import * as appFunding from './appFunding.js'
import * as appDisputes from './appDisputes.js'
import { checkSession, retransmitDue } from './session.js'
import type { HandlerDeps } from './step.js'
import { counterpartyOf, isolate, outboxKey, requireParticipant, setObjective } from './step.js'
import { MAX_WORK_ITEMS_PER_INPUT } from './limits.js'

/** Handles one input and drains the worklist it left. Returns the API's result (undefined for other inputs). */
export function handleInput(ctx: StepContext, input: EngineInput, deps: HandlerDeps): unknown {
  switch (input.kind) {
    case 'api': {
      const result = handleApi(ctx, input.request, deps)
      drain(ctx, deps)
      return result
    }
    case 'peer':
      handleFrame(ctx, input.from, input.bytes, deps)
      return undefined
    case 'chain':
      handleChainEvent(ctx, input.event, deps)
      drain(ctx, deps)
      return undefined
    case 'chainResult':
      handleChainFailure(ctx, input.objectiveId, input.code, input.summary, deps)
      drain(ctx, deps)
      return undefined
    case 'chainMined': {
      const entry = ctx.chainOutbox.get(input.objectiveId)
      if (entry?.tx.kind === input.txKind) ctx.chainOutbox.delete(input.objectiveId)
      return undefined
    }
    case 'tick':
      retransmitDue(ctx)
      apps.handleDueTimeouts(ctx, deps, (run, from) => handleIsolated(ctx, run, deps, from))
      appDisputes.crankDueDisputes(ctx, deps)
      drain(ctx, deps)
      return undefined
  }
}

/**
 * Runs the worklist to a fixed point: a ledger item cranks that ledger's updates, then wakes the objectives
 * waiting on a ledger with that counterparty; an objective item cranks the objective as stored. Bounded: a
 * step that does not settle is a bug, and fails loudly rather than spinning.
 */
export function drain(ctx: StepContext, deps: HandlerDeps): void {
  const me = deps.signer.address
  for (let n = 0; ; n++) {
    assert(n < MAX_WORK_ITEMS_PER_INPUT, 'the worklist settles', { items: n })
    const item = ctx.takeWork()
    if (!item) return
    if (item.kind === 'objective') {
      const o = ctx.objectives.get(item.id)
      if (o && isActive(o)) kindOf(o).crank(ctx, o, deps)
      continue
    }
    ledgers.crankLedgerUpdates(ctx, item.id, deps)
    const ledger = ctx.ledger(item.id)
    if (!ledger) continue
    const counterparty = counterpartyOf(ledger, me)
    for (const id of [...(ctx.indexes.get(Index.virtual) ?? []), ...(ctx.indexes.get(Index.ledgerFundedApps) ?? [])]) {
      const o = ctx.objectives.get(id)
      if (o && isActive(o) && kindOf(o).waitsOnLedgerWith?.(o, me, counterparty)) ctx.wake(id)
    }
  }
}

/** Runs one payload (and the work it leaves) in isolation: a refusal drops only its own changes. */
export function handleIsolated(ctx: StepContext, run: (c: StepContext) => void, deps: HandlerDeps, from?: Address): Rejection | undefined {
  return isolate(
    ctx,
    (c) => {
      run(c)
      drain(c, deps)
    },
    from,
  )
}

// ---- API ----

function handleApi(ctx: StepContext, request: ApiRequest, deps: HandlerDeps): unknown {
  switch (request.op) {
    case 'directFund':
      return ledgers.startDirectFund(ctx, request, deps)
    case 'directDefund':
      return ledgers.startDirectDefund(ctx, request.ledgerId, deps)
    case 'ledgerUpdate':
      return ledgers.startLedgerUpdate(ctx, request.ledgerId, request.proposal, request.ask, deps)
    case 'syncLedger':
      return ledgers.requestSync(ctx, request.ledgerId, deps)
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
    case 'challengeLedger':
      return appDisputes.challengeLedger(ctx, request.ledgerId, deps)
    case 'challengePaymentChannel':
      return appDisputes.challengePaymentChannel(ctx, request.channelId, deps)
    case 'challengeStalled':
      return appDisputes.challengeStalled(ctx, request, deps)
    case 'setPolicy': {
      ctx.meta.set('meta', { ...ctx.meta.get('meta')!, policy: request.policy })
      return undefined
    }
    case 'startEpoch': {
      const meta = ctx.meta.get('meta')!
      if (meta.epoch === undefined) ctx.meta.set('meta', { ...meta, epoch: request.epoch })
      return meta.epoch ?? request.epoch
    }
  }
}

// ---- peer frames ----

function handleFrame(ctx: StepContext, from: Address, bytes: Uint8Array, deps: HandlerDeps): void {
  const frame = decodeFrame(bytes)
  const key = peerKey(from)
  const known = ctx.peers.get(key)
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
          const refused = handleIsolated(ctx, (c) => handlePayload(c, from, payload, deps), deps, from)
          if (refused) isolate(ctx, (c) => answerRefusal(c, from, payload, refused, deps), from)
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
    for (const payload of frame.payloads) handleIsolated(ctx, (c) => handlePayload(c, from, payload, deps), deps, from)
  }
  if (peer !== known && (known || taken || ctx.outgoing.has(from))) ctx.peers.set(key, peer)
}

/**
 * After I refused a peer's payload: tells the peer what it needs to know to stop waiting on me — the refusal of
 * an objective it started or moved (a signed state for an objective I do not run: my ledger on the path is not
 * open, my policy refused it), or of its app proposal (apps.ts). Nothing else is answered: a refused ledger
 * message or voucher concerns something the peer can resync, and an answer to an answer would loop.
 */
function answerRefusal(ctx: StepContext, from: Address, payload: Payload, refused: Rejection, deps: HandlerDeps): void {
  if (payload.kind === 'appOpen' || payload.kind === 'appUpdate') return apps.noticeRefusal(ctx, from, payload, refused.code, deps)
  if (payload.kind !== 'signedState' || from === deps.signer.address) return
  const existing = ctx.objectives.get(payload.objectiveId)
  if (existing && isActive(existing)) return // mine runs on: its own crank tells the peer where it stands
  if (!kindOfId(payload.objectiveId)) return
  ctx.tell(from, { kind: 'objectiveRejected', objectiveId: payload.objectiveId, code: refused.code, summary: refused.summary.slice(0, 1000) })
}

function handlePayload(ctx: StepContext, from: Address, payload: Payload, deps: HandlerDeps): void {
  switch (payload.kind) {
    case 'signedState': {
      requireParticipant(payload.signedState.state, from)
      const existing = ctx.objectives.get(payload.objectiveId)
      const kind = existing ? kindOf(existing) : kindOfId(payload.objectiveId)
      if (!kind) throw new NoSuchObjectiveError('unknown objective', { objectiveId: payload.objectiveId })
      if (!kind.receiveSignedState) throw new NoSuchObjectiveError('this objective does not take signed states', { objectiveId: payload.objectiveId })
      return kind.receiveSignedState(ctx, from, payload.objectiveId, payload.signedState, deps)
    }
    case 'ledgerUpdateRequest':
      return ledgers.receiveLedgerUpdateRequest(ctx, from, payload.objectiveId, payload.request)
    case 'proposal':
      return ledgers.receiveLedgerProposal(ctx, from, payload.ledgerId, payload.signed)
    case 'countersignature':
      return ledgers.receiveLedgerCountersignature(ctx, from, payload.ledgerId, payload.turnNum, payload.signature)
    case 'syncRequest':
      return ledgers.receiveSyncRequest(ctx, from, payload.ledgerId)
    case 'sync':
      return ledgers.receiveSync(ctx, from, payload)
    case 'finalStateRequest':
      return virtual.handleFinalStateRequest(ctx, from, payload.channelId, deps)
    case 'voucher':
      return virtual.receiveVoucherFrom(ctx, from, payload.voucher, deps)
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
      const kind = kindOf(objective)
      if (!kind.participants(objective).some((p) => p === from) || from === deps.signer.address) {
        throw new NotAParticipantInputError('only the counterparty may reject this objective', { from })
      }
      if (kind.isCommitted(objective)) throw new RejectionTooLateError('the objective is signed by both already: only the chain can end it now', { objectiveId: objective.id })
      setObjective(ctx, { ...objective, status: 'failed', failure: { code: payload.code, summary: `rejected by peer: ${payload.summary}`.slice(0, 1000) } })
      // The others taking part learn it too, so that all end alike (they ignore it if theirs has ended).
      for (const p of kind.participants(objective)) {
        if (p !== from && p !== deps.signer.address) ctx.send(p, { kind: 'objectiveRejected', objectiveId: objective.id, code: payload.code, summary: payload.summary })
      }
      // Objectives built on this one (a VirtualFund on a failed guarantee) learn of it now.
      if (objective.kind === 'ledgerUpdate') ctx.touchLedger(objective.ledgerId)
      return
    }
  }
}

// ---- chain ----

function handleChainEvent(ctx: StepContext, event: ChainEvent, deps: HandlerDeps): void {
  const meta = ctx.meta.get('meta')!
  const cursor = meta.chainCursor
  if (event.kind === 'reorg') {
    // Accept the replacement events: move the cursor back to the last block both chains share.
    if (cursor && cursor.block > event.forkBlock) ctx.meta.set('meta', { ...meta, chainCursor: { block: event.forkBlock, logIndex: Number.MAX_SAFE_INTEGER } })
    // Holdings go back to what they were at the fork (holdings.ts); the objectives and ledgers of those channels
    // see it as the chain's word on them (the new chain's events, delivered next, move them on again).
    for (const { key, amount } of rollBackHoldings(ctx, event.forkBlock)) {
      const { channelId, asset } = holdingsKeyParts(key)
      const rolledBack: ChainEvent = { kind: 'deposited', channelId, asset, nowHeld: amount, block: event.forkBlock, logIndex: Number.MAX_SAFE_INTEGER }
      // Not to disputes: holdings at 0 after a registration mean paid out to them, and a rollback is not a payout
      // (the new chain's events set their holdings; a payout the money is gone for is refused and retried).
      for (const kind of KIND_LIST) if (kind !== KINDS.appdispute) kind.onChainEvent?.(ctx, channelId, rolledBack, deps)
      if (ctx.ledger(channelId)) ctx.touchLedger(channelId)
    }
    return
  }
  if (cursor && (event.block < cursor.block || (event.block === cursor.block && event.logIndex <= cursor.logIndex))) return // replayed: already applied
  ctx.meta.set('meta', { ...meta, chainCursor: { block: event.block, logIndex: event.logIndex, ...(event.blockHash ? { blockHash: event.blockHash } : {}) } })
  const id = event.channelId
  if (event.kind === 'deposited' || event.kind === 'allocationUpdated') {
    // Anyone may deposit any token into any channel id: only channels this node takes part in are recorded,
    // and each objective takes only its channel's own asset (kinds.ts).
    if (!isMyChannel(ctx, id)) return
    setHoldings(ctx, holdingsKey(id, event.asset), event.kind === 'deposited' ? event.nowHeld : event.finalHoldings, event.block)
    if (ctx.ledger(id)) ctx.touchLedger(id) // its updates wait while the chain holds less than it allocates (ledgers.ts)
  }
  for (const kind of KIND_LIST) kind.onChainEvent?.(ctx, id, event, deps)
}

/** A channel whose chain events concern me: a ledger, one being funded or defunded, or an app channel. */
function isMyChannel(ctx: StepContext, id: Bytes32): boolean {
  return ctx.ledgers.get(id) !== undefined || ctx.apps.get(id) !== undefined || ctx.objectives.get(directFundId(id)) !== undefined || ctx.objectives.get(directDefundId(id)) !== undefined
}

function handleChainFailure(ctx: StepContext, objectiveId: string, code: string, summary: string, deps: HandlerDeps): void {
  // The refusal is handled here: the objective decides whether to send again (a new outbox entry).
  if (ctx.chainOutbox.get(objectiveId)) ctx.chainOutbox.delete(objectiveId)
  const objective = ctx.objectives.get(objectiveId)
  if (!objective || !isActive(objective)) return
  const kind = kindOf(objective)
  kind.onChainFailure?.(ctx, objective, code, summary, deps)
  const after = ctx.objectives.get(objectiveId)!
  if (after.status === 'failed') {
    // Out of retries: the counterparty's objective would otherwise wait for us forever.
    for (const participant of kind.participants(after)) {
      if (participant !== deps.signer.address) ctx.send(participant, { kind: 'objectiveRejected', objectiveId, code: after.failure!.code, summary: after.failure!.summary.slice(0, 1000) })
    }
  }
}
