// Virtual (payment) channels in the engine: VirtualFund and VirtualDefund objectives run on top of the
// ledgers along the path (their guarantee changes become LedgerUpdate objectives), and vouchers update
// the payer's and payee's payment-channel records. Deterministic, like every handler.
import type { Address, Bytes32 } from '../core/types.js'
import type { Voucher } from '../core/voucher.js'
import type { State } from '../core/state.js'
import type { SignedState } from '../core/signedState.js'
import { RejectedInputError } from '../core/errors.js'
import { findGuarantee } from '../protocols/ledger/ledgerOutcome.js'
import { isActive } from '../protocols/objective.js'
import type { Objective } from '../protocols/objectives.js'
import * as virtualFund from '../protocols/virtualfund/virtualfund.js'
import type { VirtualFund } from '../protocols/virtualfund/virtualfund.js'
import { openingState } from '../protocols/openingState.js'
import { ledgerUpdateId } from '../protocols/ledgerupdate/ledgerUpdate.js'
import * as virtualDefund from '../protocols/virtualdefund/virtualdefund.js'
import type { VirtualDefund } from '../protocols/virtualdefund/virtualdefund.js'
import * as payments from '../protocols/payments/paymentChannel.js'
import type { PaymentChannel } from '../protocols/payments/paymentChannel.js'
import type { StepContext } from './context.js'
import type { Payload } from '../protocols/messages.js'
import { NotAParticipantInputError } from '../protocols/errors.js'
import type { HandlerDeps } from './step.js'
import { admitFromPeer, applyEffects, isolate, ledgerWith, setObjective, tellFailure } from './step.js'
import { peerKey } from './outbox.js'
import { NoSuchLedgerError, NoSuchObjectiveError, ObjectiveExistsError, PaymentAssetUnsupportedError, UnknownChannelError } from './errors.js'
import { ZERO_ADDRESS, parseBytes32 } from '../core/canonical.js'

export { UnknownChannelError }
export class ChannelNotOpenError extends RejectedInputError {
  readonly code = 'channel_not_open'
}
export class ChannelClosedError extends RejectedInputError {
  readonly code = 'channel_closed'
}

function guaranteeSupported(ctx: StepContext, me: Address, neighbour: Address | undefined, target: Bytes32): boolean {
  if (!neighbour) return true
  const ledger = ledgerWith(ctx, me, neighbour)
  return !!ledger && !!findGuarantee(ledger.supported.vars.outcome, target)
}

function neighbours(participants: readonly Address[], myIndex: number): { left?: Address; right?: Address } {
  return { left: participants[myIndex - 1], right: participants[myIndex + 1] }
}

/** Cranks a virtual objective with the view of my ledgers it needs, and records what follows from it. */
export function crankVirtual(ctx: StepContext, objective: Objective, deps: HandlerDeps): void {
  const me = deps.signer.address
  if (objective.kind === 'virtualfund') {
    const { left, right } = neighbours(objective.prefund.state.participants, objective.myIndex)
    const missing = [left, right].find((n) => n && !ledgerWith(ctx, me, n))
    // My ledger on the path is not open, or could not lock the funds (insufficient funds, a rejection): V
    // cannot open. Everyone on the path learns why, or they would wait for my signature forever.
    const failed = missing ? { code: 'no_ledger', summary: `no open ledger with ${missing}` } : failedGuarantee(ctx, me, objective)
    if (failed && isActive(objective)) {
      const failure = missing ? failed : { code: failed.code, summary: `funding failed: ${failed.summary}`.slice(0, 1000) }
      setObjective(ctx, { ...objective, status: 'failed', failure })
      for (const p of objective.prefund.state.participants) {
        if (p !== me) ctx.send(p, { kind: 'objectiveRejected', objectiveId: objective.id, ...failure })
      }
      return
    }
    const result = virtualFund.crank(objective, deps.signer, {
      left: guaranteeSupported(ctx, me, left, objective.channelId),
      right: guaranteeSupported(ctx, me, right, objective.channelId),
    })
    setObjective(ctx, result.objective)
    ctx.waitingFor.set(objective.id, result.waitingFor)
    applyEffects(ctx, objective.id, result.effects, deps)
    if (result.objective.status === 'completed' && objective.status !== 'completed') {
      openPaymentChannel(ctx, result.objective.postfund.state, objective.myIndex)
      unpark(ctx, objective.channelId, deps)
    }
    return
  }
  if (objective.kind === 'virtualdefund') {
    const { left, right } = neighbours(objective.funded.participants, objective.myIndex)
    const result = virtualDefund.crank(objective, deps.signer, {
      leftReleased: !guaranteeSupported(ctx, me, left, objective.channelId) || !left,
      rightReleased: !guaranteeSupported(ctx, me, right, objective.channelId) || !right,
    })
    setObjective(ctx, result.objective)
    ctx.waitingFor.set(objective.id, result.waitingFor)
    applyEffects(ctx, objective.id, result.effects, deps)
  }
}

/** The failure of a guarantee this VirtualFund asked for on one of my ledgers, if one failed. */
function failedGuarantee(ctx: StepContext, me: Address, o: virtualFund.VirtualFund): { code: string; summary: string } | undefined {
  const v = o.prefund.state
  const sides = [o.myIndex - 1, o.myIndex].filter((k) => k >= 0 && k + 1 < v.participants.length)
  for (const k of sides) {
    const ledger = ledgerWith(ctx, me, v.participants[k === o.myIndex ? k + 1 : k]!)
    if (!ledger) continue
    const update = ctx.objectives.get(ledgerUpdateId(ledger.id, virtualFund.guaranteeProposal(v, k)))
    if (update && (update.status === 'failed' || update.status === 'rejected')) return update.failure ?? { code: 'rejected', summary: 'the ledger update was rejected' }
  }
  return undefined
}

function openPaymentChannel(ctx: StepContext, funded: State, myIndex: number): void {
  if (myIndex !== 0 && myIndex !== funded.participants.length - 1) return // intermediaries see no payments
  const channel = payments.newPaymentChannel(funded)
  ctx.payments.set(channel.channelId, channel)
}

/** Whether a move of my ledger with `counterparty` may let this virtual objective progress: it is a neighbour. */
export function routesThrough(objective: VirtualFund | VirtualDefund, me: Address, counterparty: Address): boolean {
  const participants = objective.kind === 'virtualfund' ? objective.prefund.state.participants : objective.funded.participants
  const { left, right } = neighbours(participants, objective.myIndex)
  return counterparty !== me && [left, right].some((n) => n !== undefined && n === counterparty)
}

// ---- API ----

export function createPaymentChannel(
  ctx: StepContext,
  p: { counterparty: Address; intermediaries: readonly Address[]; asset: Address; amount: bigint; nonce: bigint; challengeDuration: number },
  deps: HandlerDeps,
): string {
  const me = deps.signer.address
  requirePaymentAsset(p.asset, deps)
  const participants = [me, ...p.intermediaries, p.counterparty]
  const prefund = openingState({
    participants,
    channelNonce: p.nonce,
    appDefinition: deps.virtualPaymentApp,
    challengeDuration: p.challengeDuration,
    asset: p.asset,
    amounts: [p.amount, 0n],
  })
  const objective = virtualFund.newVirtualFund(prefund, me, 'approved')
  if (ctx.objectives.get(objective.id)) throw new ObjectiveExistsError('a payment channel with this nonce exists', { objectiveId: objective.id })
  if (!ledgerWith(ctx, me, participants[1]!)) throw new NoSuchLedgerError(`no open ledger with ${participants[1]}`)
  crankVirtual(ctx, objective, deps)
  return objective.id
}

/**
 * A payment channel that the deployed payment app could not settle is refused before anything is locked: the
 * official VirtualPaymentApp supports the native asset only, so a token channel's redemption would revert there.
 */
function requirePaymentAsset(asset: Address, deps: HandlerDeps): void {
  if (!deps.paymentTokens && asset !== ZERO_ADDRESS) throw new PaymentAssetUnsupportedError('the payment app deployed on this chain settles payment channels in ETH only', { asset })
}

function fundedState(ctx: StepContext, channelId: Bytes32): State {
  const funding = ctx.objectives.get(virtualFund.virtualFundId(channelId))
  if (!funding || funding.kind !== 'virtualfund') throw new UnknownChannelError('no such payment channel', { channelId })
  if (funding.status !== 'completed') throw new ChannelNotOpenError('the payment channel is not open yet', { channelId })
  return funding.postfund.state
}

/** The defund of V: the existing objective, or a new 'unapproved' one (which marks my payment channel closing: no more payments). */
function defundObjective(ctx: StepContext, channelId: Bytes32, deps: HandlerDeps) {
  const id = virtualDefund.virtualDefundId(channelId)
  // A defund that failed before it was signed by all (a peer refused it: the channel was not open there yet) may
  // start again: rebuilt from the same funded state and the same payments (no more are made once closing), it
  // is the final state signed before, never a second one at that turn.
  const existing = ctx.objectives.get(id)
  if (existing && (isActive(existing) || existing.status === 'completed')) return existing
  const funded = fundedState(ctx, channelId)
  const channel = ctx.payments.get(channelId)
  if (channel) ctx.payments.set(channelId, { ...channel, closing: true })
  return virtualDefund.newVirtualDefund({ funded, me: deps.signer.address, paid: channel?.paid ?? 0n, status: 'unapproved' })
}

export function closePaymentChannel(ctx: StepContext, channelId: Bytes32, deps: HandlerDeps): string {
  const objective = defundObjective(ctx, channelId, deps)
  if (objective.status !== 'unapproved') throw new ObjectiveExistsError('the payment channel is already closing', { objectiveId: objective.id })
  crankVirtual(ctx, { ...objective, status: 'approved' } as Objective, deps)
  return objective.id
}

function paymentChannel(ctx: StepContext, channelId: Bytes32): PaymentChannel {
  const channel = ctx.payments.get(channelId)
  if (channel) {
    const defund = ctx.objectives.get(virtualDefund.virtualDefundId(channelId))
    if (defund?.status === 'completed') throw new ChannelClosedError('the payment channel is closed', { channelId })
    return channel
  }
  fundedState(ctx, channelId) // throws unknown / not open
  throw new UnknownChannelError('I am not the payer or payee of this channel', { channelId })
}

/** Payer: a voucher for `amount` more; `send` delivers it to the payee, else it is returned for out-of-band use. */
export function pay(ctx: StepContext, channelId: Bytes32, amount: bigint, send: boolean, deps: HandlerDeps): Voucher {
  const channel = paymentChannel(ctx, channelId)
  const { channel: next, voucher } = payments.pay(channel, amount, deps.signer)
  ctx.payments.set(channelId, next)
  if (send) ctx.send(next.payee, { kind: 'voucher', voucher })
  return voucher
}

export function receiveVoucher(ctx: StepContext, voucher: Voucher, deps: HandlerDeps): PaymentChannel {
  const channel = paymentChannel(ctx, voucher.channelId)
  const next = payments.receiveVoucher(channel, voucher)
  ctx.payments.set(voucher.channelId, next)
  // Closing already: the final state I sign must pay me this voucher too.
  const defund = ctx.objectives.get(virtualDefund.virtualDefundId(voucher.channelId))
  if (defund?.kind === 'virtualdefund' && isActive(defund) && next.paid > defund.minimumPayment) {
    crankVirtual(ctx, virtualDefund.update(defund, { kind: 'voucher', amount: next.paid }), deps)
  }
  return next
}

// ---- peer payloads ----

export function receiveVirtualSignedState(ctx: StepContext, from: Address, objectiveId: string, signed: SignedState, deps: HandlerDeps): void {
  const existing = ctx.objectives.get(objectiveId)
  if (existing?.kind === 'virtualfund' && existing.failure) return tellFailure(ctx, from, existing)
  if (existing?.kind === 'virtualfund') return crankVirtual(ctx, virtualFund.update(existing, { kind: 'signedState', signed }), deps)
  if (existing?.kind === 'virtualdefund' && (isActive(existing) || existing.status === 'completed')) return crankVirtual(ctx, virtualDefund.update(existing, { kind: 'signedState', signed }), deps)
  if (objectiveId.startsWith('virtualfund:')) {
    const objective = virtualFund.newVirtualFund(signed.state, deps.signer.address, 'unapproved')
    if (objective.id !== objectiveId) throw new NoSuchObjectiveError('objective id does not match the channel', { objectiveId })
    if (signed.state.appDefinition !== deps.virtualPaymentApp) throw new NoSuchObjectiveError('a payment channel runs the virtual payment app')
    requirePaymentAsset(signed.state.outcome[0]!.asset, deps)
    // Any participant may deliver the prefund first (messages race), but only the payer opens a channel:
    // her signature must be on it (update() below checks every signature it carries).
    if (signed.signatures[0] == null) throw new NoSuchObjectiveError('a payment channel is opened by its payer, whose signature is missing')
    startVirtualFromPeer(ctx, virtualFund.update(objective, { kind: 'signedState', signed }), from, deps)
    return
  }
  if (objectiveId.startsWith('virtualdefund:')) {
    const channelId = parseBytes32(objectiveId.slice('virtualdefund:'.length), 'objectiveId')
    if (park(ctx, channelId, from, { kind: 'signedState', objectiveId, signedState: signed })) return
    const objective = defundObjective(ctx, channelId, deps)
    if (objective.kind !== 'virtualdefund') throw new NoSuchObjectiveError('not a payment channel defund', { objectiveId })
    startVirtualFromPeer(ctx, virtualDefund.update(objective, { kind: 'signedState', signed }), from, deps)
    return
  }
  throw new NoSuchObjectiveError('unknown objective', { objectiveId })
}

/** Alice is asked for V's final state: start the defund here too (the policy decides), which sends it. */
export function handleFinalStateRequest(ctx: StepContext, from: Address, channelId: Bytes32, deps: HandlerDeps): void {
  if (park(ctx, channelId, from, { kind: 'finalStateRequest', channelId })) return
  const funded = fundedState(ctx, channelId)
  if (!funded.participants.some((p) => p === from)) throw new NoSuchObjectiveError('the sender is not in this channel', { from })
  if (funded.participants[0]! !== deps.signer.address) throw new NoSuchObjectiveError('only the payer writes the final state')
  const objective = defundObjective(ctx, channelId, deps)
  if (objective.status === 'unapproved') startVirtualFromPeer(ctx, objective, from, deps)
}

/** The payee: a voucher from the payer (one that comes before the channel opened here is kept until it does). */
export function receiveVoucherFrom(ctx: StepContext, from: Address, voucher: Voucher, deps: HandlerDeps): void {
  if (park(ctx, voucher.channelId, from, { kind: 'voucher', voucher })) return
  const channel = receiveVoucher(ctx, voucher, deps)
  if (channel.payer !== from) throw new NotAParticipantInputError('vouchers come from the payer', { from })
}

/**
 * Keeps a message about V's close (a signed final state, a request for it, a voucher) that came before V opened
 * here — the participants' postfund signatures and their next messages race — to handle once it has (unpark).
 * Only from a participant of a VirtualFund this node runs, and one per sender and kind (the latest: a later copy
 * of any of them supersedes the earlier), so what a peer can make me keep is bounded by what I run with it.
 * Returns whether it was kept.
 */
function park(ctx: StepContext, channelId: Bytes32, from: Address, payload: Payload): boolean {
  const funding = ctx.objectives.get(virtualFund.virtualFundId(channelId))
  if (funding?.kind !== 'virtualfund' || !isActive(funding)) return false
  if (!funding.prefund.state.participants.some((p) => p === from)) return false
  ctx.parked.set(`${channelId}:${peerKey(from)}:${payload.kind}`, { from, payload })
  return true
}

/** V opened here: what came early is handled now, each on its own (a refusal drops only its own changes). */
function unpark(ctx: StepContext, channelId: Bytes32, deps: HandlerDeps): void {
  const prefix = `${channelId}:`
  for (const key of [...ctx.parked.keys()].filter((k) => k.startsWith(prefix))) {
    const { from, payload } = ctx.parked.get(key)!
    ctx.parked.delete(key)
    isolate(
      ctx,
      (c) => {
        if (payload.kind === 'signedState') receiveVirtualSignedState(c, from, payload.objectiveId, payload.signedState, deps)
        else if (payload.kind === 'finalStateRequest') handleFinalStateRequest(c, from, payload.channelId, deps)
        else if (payload.kind === 'voucher') receiveVoucherFrom(c, from, payload.voucher, deps)
      },
      from,
    )
  }
}

function startVirtualFromPeer(ctx: StepContext, objective: Objective, from: Address, deps: HandlerDeps): void {
  if (admitFromPeer(ctx, objective, from, deps)) crankVirtual(ctx, { ...objective, status: 'approved' } as Objective, deps)
}
