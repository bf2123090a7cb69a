// Funding and closing app channels in the engine (issue 7): AppFund starts when every participant has signed
// turn 0 (src/protocols/app/appFund.ts), AppDefund when the app reaches a final state
// (src/protocols/app/appDefund.ts). Both are objectives like the others: their status and failure show over
// the API, their deposits and withdrawals go through the chain service, their guarantee changes become
// LedgerUpdate objectives on the ledger the two participants share. Deterministic, like every handler.
import type { Address, Bytes32 } from '../core/types.js'
import type { SignedState } from '../core/signedState.js'
import { hashState } from '../core/hashState.js'
import { RejectedInputError } from '../core/errors.js'
import type { AppChannel } from '../protocols/app/appChannel.js'
import { fundingOf } from '../protocols/app/appData.js'
import * as appFund from '../protocols/app/appFund.js'
import type { AppFund, GuaranteeView } from '../protocols/app/appFund.js'
import * as appDefund from '../protocols/app/appDefund.js'
import type { AppDefund } from '../protocols/app/appDefund.js'
import { isActive } from '../protocols/objective.js'
import type { Proposal } from '../protocols/ledger/proposal.js'
import type { ChainEvent } from '../protocols/onchain.js'
import { findGuarantee } from '../protocols/ledger/ledgerOutcome.js'
import { ledgerUpdateId } from '../protocols/ledgerupdate/ledgerUpdate.js'
import { NotAParticipantInputError } from '../protocols/errors.js'
import type { StepContext } from './context.js'
import type { HandlerDeps } from './step.js'
import { applyEffects, ledgerWith, runtimeFor, setObjective } from './step.js'
import { NoSuchAppChannelError, NoSuchObjectiveError } from './errors.js'
import { holdingsOf } from './holdings.js'
import { parseBytes32 } from '../core/canonical.js'

export class NotFundedError extends RejectedInputError {
  readonly code = 'not_funded'
}
export class AppNotFinalError extends RejectedInputError {
  readonly code = 'app_not_final'
}

/** Refuses my event in a channel whose deposits are not yet where the adjudicator can pay them out. */
export function requireFunded(ctx: StepContext, channel: AppChannel): void {
  if (fundingOf(channel.context.definition) === 'none') return
  const fund = ctx.objectives.get(appFund.appFundId(channel.context.id))
  if (fund?.status === 'completed') return
  const why = !fund ? 'waits for every participant to sign turn 0' : fund.status === 'failed' ? `could not be funded: ${fund.failure?.summary}` : 'is being funded'
  throw new NotFundedError(`the channel ${why}`, { channelId: channel.context.id, ...(fund ? { objectiveId: fund.id, status: fund.status } : {}) })
}

/**
 * After an app channel was stored: the first time turn 0 is signed by all, start its funding; when its
 * latest turn is final for the app, start closing it (everyone derives the same concluding state), or crank
 * the close a peer began before this node held that turn signed by all.
 */
export function afterAppTurn(ctx: StepContext, before: AppChannel | null, after: AppChannel, deps: HandlerDeps): void {
  const latest = after.latest
  if (!latest || latest.signed.state.turnNum === (before?.latest?.signed.state.turnNum ?? -1n)) return
  const { definition, id } = after.context
  if (latest.signed.state.turnNum === 0n && fundingOf(definition) !== 'none' && !ctx.objectives.get(appFund.appFundId(id))) {
    crankAppObjective(ctx, appFund.newAppFund(id, definition, deps.signer.address, holdingsOf(ctx, id, definition.asset)), deps)
  }
  const defund = ctx.objectives.get(appDefund.appDefundId(id))
  if (defund) {
    if (defund.kind === 'appdefund' && isActive(defund)) crankAppObjective(ctx, defund, deps)
    return
  }
  if (isFunded(ctx, after) && isFinalFor(after, latest.appState, deps)) startDefund(ctx, after, latest.signed.state, deps)
}

/** Whether the deposits are where the payout will take them from (a peer may play before my node saw them). */
function isFunded(ctx: StepContext, channel: AppChannel): boolean {
  return fundingOf(channel.context.definition) === 'none' || ctx.objectives.get(appFund.appFundId(channel.context.id))?.status === 'completed'
}

/** The API's close: starts the close of a channel whose app is final (closing starts by itself then), or returns the running one. */
export function closeAppChannel(ctx: StepContext, channelId: Bytes32, deps: HandlerDeps): string {
  const channel = ctx.apps.get(channelId)
  if (!channel) throw new NoSuchAppChannelError('no such app channel', { channelId })
  const existing = ctx.objectives.get(appDefund.appDefundId(channelId))
  if (existing) return existing.id
  const latest = channel.latest
  requireFunded(ctx, channel)
  if (!latest || !isFinalFor(channel, latest.appState, deps)) {
    throw new AppNotFinalError('the app is not final: a channel closes once its app says the session is over', { channelId })
  }
  return startDefund(ctx, channel, latest.signed.state, deps).id
}

/**
 * A peer's signature on the concluding state. Accepted when it concludes from my latest turn signed by all,
 * or from the turn I am still collecting signatures for (the peer holds it signed by all before me; my own
 * signature waits until I do too). Anything else is refused: it is not a state I could ever sign.
 */
export function receiveConcludingSignature(ctx: StepContext, from: Address, objectiveId: string, signed: SignedState, deps: HandlerDeps): void {
  const channelId = parseBytes32(objectiveId.slice('appdefund:'.length), 'objectiveId')
  const channel = ctx.apps.get(channelId)
  if (!channel || appDefund.appDefundId(channel.context.id) !== objectiveId) throw new NoSuchObjectiveError('no such app channel to close', { objectiveId })
  if (!channel.context.members.includes(from)) throw new NotAParticipantInputError('the sender is not a participant of this app channel', { from })
  let defund = ctx.objectives.get(objectiveId)
  if (!defund) {
    const base = [channel.latest, channel.pending].find((turn) => turn && turn.signed.state.turnNum + 1n === signed.state.turnNum)
    if (!base || !isFinalFor(channel, base.appState, deps)) {
      throw new AppNotFinalError('the peer concludes from a turn at which the app is not final here', { objectiveId, turnNum: signed.state.turnNum })
    }
    defund = newDefund(ctx, channel, base.signed.state, deps)
  }
  if (defund.kind !== 'appdefund') throw new NoSuchObjectiveError('not an app channel close', { objectiveId })
  if (hashState(signed.state) !== hashState(defund.final.state)) throw new AppNotFinalError('the peer signed a different concluding state', { objectiveId })
  crankAppObjective(ctx, appDefund.update(defund, { kind: 'signedState', signed }), deps)
}

/** The chain's holdings of an app channel being funded or closed, in the channel's own asset only. */
export function onAppChainEvent(ctx: StepContext, o: AppFund | AppDefund, event: ChainEvent, deps: HandlerDeps): void {
  if (event.kind === 'concluded') {
    // The chain concluded the channel (and paid it out, in the same transaction).
    if (o.kind === 'appdefund') crankAppObjective(ctx, appDefund.update(o, { kind: 'concluded' }), deps)
    return
  }
  if (event.kind !== 'deposited' && event.kind !== 'allocationUpdated') return
  const asset = ctx.apps.get(o.channelId)?.context.definition.asset
  if (asset === undefined || asset !== event.asset) return
  const amount = event.kind === 'deposited' ? event.nowHeld : event.finalHoldings
  if (o.kind === 'appfund') crankAppObjective(ctx, appFund.update(o, { kind: 'holdings', amount }), deps)
  else crankAppObjective(ctx, appDefund.update(o, { kind: 'holdings', amount }), deps)
}

/** A deposit or withdrawal of an app objective that the chain refused. */
export function onAppChainFailure(ctx: StepContext, o: AppFund | AppDefund, code: string, summary: string, deps: HandlerDeps): void {
  if (o.kind === 'appfund') crankAppObjective(ctx, appFund.update(o, { kind: 'depositFailed', code, summary }), deps)
  else crankAppObjective(ctx, appDefund.update(o, { kind: 'withdrawFailed', code, summary }), deps)
}

/** Whether a move of my ledger with `counterparty` may let this ledger-funded app objective progress. */
export function fundedThrough(o: AppFund | AppDefund, me: Address, counterparty: Address): boolean {
  return o.funding === 'ledger' && counterpartyOf(o, me) === counterparty
}

export function crankAppObjective(ctx: StepContext, o: AppFund | AppDefund, deps: HandlerDeps): void {
  if (o.kind === 'appfund') {
    const result = appFund.crank(o, o.funding === 'ledger' ? guaranteeView(ctx, o, appFund.guaranteeProposal(o), deps) : null)
    setObjective(ctx, result.objective)
    ctx.waitingFor.set(o.id, result.waitingFor)
    applyEffects(ctx, o.id, result.effects, deps)
    // Peers may have played to the end before my node saw the deposits: close now if so.
    const channel = ctx.apps.get(o.channelId)
    if (result.objective.status === 'completed' && channel?.latest && !ctx.objectives.get(appDefund.appDefundId(o.channelId)) && isFinalFor(channel, channel.latest.appState, deps)) {
      startDefund(ctx, channel, channel.latest.signed.state, deps)
    }
    return
  }
  const channel = ctx.apps.get(o.channelId)
  const baseSigned = channel?.latest?.signed.state.turnNum === o.final.state.turnNum - 1n
  const ledger = o.funding === 'ledger' ? guaranteeView(ctx, o, appDefund.releaseProposal(o), deps) : null
  const result = appDefund.crank(o, deps.signer, { baseSigned, ledger })
  setObjective(ctx, result.objective)
  ctx.waitingFor.set(o.id, result.waitingFor)
  applyEffects(ctx, o.id, result.effects, deps)
}

// ---- steps ----

function isFinalFor(channel: AppChannel, appState: Uint8Array, deps: HandlerDeps): boolean {
  const runtime = runtimeFor(deps, channel.context.definition.appId)
  return runtime.whoseTurn(appState) === 'nobody' || runtime.isFinal(appState)
}

function newDefund(ctx: StepContext, channel: AppChannel, base: SignedState['state'], deps: HandlerDeps): AppDefund {
  const id = channel.context.id
  return appDefund.newAppDefund({ channelId: id, funding: fundingOf(channel.context.definition), base, me: deps.signer.address, holdings: holdingsOf(ctx, id, channel.context.definition.asset), status: 'approved' })
}

function startDefund(ctx: StepContext, channel: AppChannel, base: SignedState['state'], deps: HandlerDeps): AppDefund {
  const defund = newDefund(ctx, channel, base, deps)
  crankAppObjective(ctx, defund, deps)
  return defund
}

function counterpartyOf(o: AppFund | AppDefund, me: Address): Address | undefined {
  const participants = o.kind === 'appfund' ? o.participants : o.final.state.participants
  return participants.find((p) => p !== me)
}

/** Whether my ledger with the other participant holds the channel's guarantee, and why it cannot if it cannot. */
function guaranteeView(ctx: StepContext, o: AppFund | AppDefund, proposal: Proposal, deps: HandlerDeps): GuaranteeView {
  const me = deps.signer.address
  const counterparty = counterpartyOf(o, me)! // participants are distinct (checkDefinition)
  const ledger = ledgerWith(ctx, me, counterparty)
  if (!ledger) return { guaranteed: false, failure: { code: 'no_ledger', summary: `no open ledger with ${counterparty}` } }
  const asset = o.kind === 'appfund' ? o.asset : o.final.state.outcome[0]!.asset
  const ledgerAsset = ledger.supported.vars.outcome.asset
  if (ledgerAsset !== asset) {
    return { guaranteed: false, failure: { code: 'asset_mismatch', summary: `the ledger with ${counterparty} holds ${ledgerAsset}, the channel ${asset}` } }
  }
  const guaranteed = !!findGuarantee(ledger.supported.vars.outcome, o.channelId)
  const update = ctx.objectives.get(ledgerUpdateId(ledger.id, proposal))
  const failed = update && (update.status === 'failed' || update.status === 'rejected')
  return { guaranteed, failure: failed ? (update.failure ?? { code: 'rejected', summary: 'the ledger update was rejected' }) : null }
}
