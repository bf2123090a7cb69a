// What the API shows of the engine's records: ledger channels, payment channels and objectives as views
// derived from the engine's tables on every call (never stored, so they cannot drift), and the step to
// JSON: the result schema's codec turns bigints into decimal strings and checks the view on the way out
// (schemas.ts). Free-form error details are rendered by errors.ts. STYLE §3, §8.
import { registeredState } from '../protocols/app/appDispute.js'
import { z } from 'zod'
import type { Address, Bytes32 } from '../core/types.js'
import type { Engine } from '../engine/engine.js'
import type { Objective } from '../protocols/objectives.js'
import type { LedgerOutcome } from '../protocols/ledger/ledgerOutcome.js'
import { ledgerOutcomeFromExit } from '../protocols/ledger/ledgerOutcome.js'
import { isActive } from '../protocols/objective.js'
import { directFundId } from '../protocols/directfund/directfund.js'
import { directDefundId } from '../protocols/directdefund/directdefund.js'
import { virtualFundId } from '../protocols/virtualfund/virtualfund.js'
import { virtualDefundId } from '../protocols/virtualdefund/virtualdefund.js'
import type { DisputeInfo, LedgerChannelInfo, LedgerStatus, ObjectiveInfo, PaymentChannelInfo } from './schemas.js'
import { ledgerStatus, paymentStatus } from '../engine/views.js'

/** The part of the engine the views read. */
export type EngineView = Pick<Engine, 'address' | 'getLedger' | 'getObjective' | 'objectives' | 'holdings' | 'getPaymentChannel'>

/** JSON of a value of `schema`'s output type, checked on the way out: a view that breaks the contract is our bug. */
export function toWire<S extends z.ZodType>(schema: S, value: z.output<S>): unknown {
  return z.encode(schema as unknown as z.ZodType<z.output<S>, unknown>, value)
}

export function objectiveInfo(engine: Pick<EngineView, 'getObjective'>, objective: Objective): ObjectiveInfo {
  return {
    id: objective.id,
    kind: objective.kind,
    status: objective.status,
    waitingFor: isActive(objective) ? (engine.getObjective(objective.id)?.waitingFor ?? null) : null,
    failure: objective.failure ? { code: objective.failure.code, summary: objective.failure.summary } : null,
    channelId: objective.kind === 'ledgerUpdate' ? objective.ledgerId : objective.channelId,
  }
}

/** Every dispute the node runs or ran (objectives `appdispute:`): ledger, payment or app channel. */
export function allDisputes(engine: Pick<EngineView, 'objectives' | 'getObjective' | 'getLedger'>): DisputeInfo[] {
  const disputes: DisputeInfo[] = []
  for (const o of engine.objectives()) {
    if (o.kind !== 'appdispute') continue
    disputes.push({
      objectiveId: o.id,
      channelId: o.channelId,
      channel: engine.getLedger(o.channelId) !== undefined ? 'ledger' : engine.getObjective(`virtualfund:${o.channelId}`) !== undefined ? 'payment' : 'app',
      status: o.status,
      waitingFor: isActive(o) ? (engine.getObjective(o.id)?.waitingFor ?? null) : null,
      turnNum: o.candidate.state.turnNum,
      challengeSubmitted: o.challengeSubmitted,
      registeredTurnNum: o.finalizesAt === null ? null : registeredState(o).turnNum,
      finalizesAt: o.finalizesAt === null ? null : o.finalizesAt.toString(),
      paidOut: o.paidOut,
      failures: o.failures,
      failure: o.failure ? { code: o.failure.code, summary: o.failure.summary } : null,
    })
  }
  return disputes
}

// ---- ledger channels ----

interface LedgerFacts {
  readonly channelId: Bytes32
  readonly status: LedgerStatus
  readonly participants: readonly Address[]
  readonly nonce: bigint
  readonly challengeDuration: number
  readonly turnNum: bigint
  readonly outcome: LedgerOutcome
}

/**
 * A ledger channel: open or closing while the engine holds it; before that, what its DirectFund proposed
 * ('funding', or 'failed'); after its DirectDefund completed (the engine drops the ledger), its final state.
 */
export function ledgerChannelInfo(engine: EngineView, id: Bytes32): LedgerChannelInfo | undefined {
  const key = id
  const facts = ledgerFacts(engine, key)
  if (!facts) return undefined
  const myIndex = facts.participants.indexOf(engine.address)
  const [leader, follower] = facts.participants as [Address, Address]
  const { outcome } = facts
  return {
    channelId: key,
    status: facts.status,
    participants: [leader, follower],
    leader,
    follower,
    myRole: myIndex === 0 ? 'leader' : 'follower',
    counterparty: myIndex === 0 ? follower : leader,
    asset: outcome.asset,
    nonce: facts.nonce,
    challengeDuration: facts.challengeDuration,
    turnNum: facts.turnNum,
    myBalance: myIndex === 0 ? outcome.leader.amount : outcome.follower.amount,
    theirBalance: myIndex === 0 ? outcome.follower.amount : outcome.leader.amount,
    guarantees: outcome.guarantees.map((g) => ({ target: g.target, amount: g.amount, left: g.left, right: g.right })),
    holdings: engine.holdings(key, outcome.asset),
  }
}

function ledgerFacts(engine: EngineView, id: Bytes32): LedgerFacts | undefined {
  const ledger = engine.getLedger(id)
  if (ledger) {
    const { fixed, supported } = ledger
    return {
      channelId: id,
      status: ledgerStatus(ledger, undefined, undefined)!,
      participants: fixed.participants,
      nonce: fixed.channelNonce,
      challengeDuration: fixed.challengeDuration,
      turnNum: supported.vars.turnNum,
      outcome: supported.vars.outcome,
    }
  }
  const defund = engine.getObjective(directDefundId(id))?.objective
  if (defund?.kind === 'directdefund' && defund.status === 'completed') {
    const { state } = defund.final
    return { channelId: id, status: ledgerStatus(undefined, undefined, defund)!, ...fixedFacts(state), turnNum: state.turnNum, outcome: ledgerOutcomeFromExit(state.outcome) }
  }
  const fund = engine.getObjective(directFundId(id))?.objective
  if (fund?.kind === 'directfund') {
    const { state } = fund.prefund
    return { channelId: id, status: ledgerStatus(undefined, fund, undefined)!, ...fixedFacts(state), turnNum: state.turnNum, outcome: ledgerOutcomeFromExit(state.outcome) }
  }
  return undefined
}

function fixedFacts(state: { participants: readonly Address[]; channelNonce: bigint; challengeDuration: number }) {
  return { participants: state.participants, nonce: state.channelNonce, challengeDuration: state.challengeDuration }
}

/** The participants of a ledger this node has or had, if it knows of it. */
export function ledgerParticipants(engine: EngineView, id: Bytes32): readonly Address[] | undefined {
  const ledger = engine.getLedger(id)
  if (ledger) return ledger.fixed.participants
  const fund = engine.getObjective(directFundId(id))?.objective
  return fund?.kind === 'directfund' ? fund.prefund.state.participants : undefined
}

/** Every ledger this node has or had: one per DirectFund, plus any held without one (none today). */
export function allLedgerChannels(engine: EngineView & Pick<Engine, 'ledgers'>): LedgerChannelInfo[] {
  const ids = new Set<string>()
  for (const o of engine.objectives()) if (o.kind === 'directfund') ids.add(o.channelId)
  for (const ledger of engine.ledgers()) ids.add(ledger.id)
  return [...ids]
    .sort()
    .map((id) => ledgerChannelInfo(engine, id as Bytes32))
    .filter((info): info is LedgerChannelInfo => info !== undefined)
}

// ---- payment channels ----

/**
 * A payment channel: from its VirtualFund (participants, asset, what the payer put in), my payment record
 * (payer and payee only: what the vouchers paid) and its VirtualDefund (closing, closed, the final amount).
 */
export function paymentChannelInfo(engine: EngineView, id: Bytes32): PaymentChannelInfo | undefined {
  const key = id
  const fund = engine.getObjective(virtualFundId(key))?.objective
  if (fund?.kind !== 'virtualfund') return undefined
  const { participants, outcome } = fund.prefund.state
  const startingBalance = outcome[0]!.allocations[0]!.amount
  const record = engine.getPaymentChannel(key)
  const defund = engine.getObjective(virtualDefundId(key))?.objective
  const finalPaid = defund?.kind === 'virtualdefund' && defund.final ? defund.final.state.outcome[0]!.allocations[1]!.amount : undefined
  const paid = record?.paid ?? finalPaid ?? 0n
  const last = participants.length - 1
  return {
    channelId: key,
    status: paymentStatus(fund, defund, record?.closing ?? false),
    role: fund.myIndex === 0 ? 'payer' : fund.myIndex === last ? 'payee' : 'intermediary',
    payer: participants[0]!,
    payee: participants[last]!,
    intermediaries: participants.slice(1, last),
    asset: outcome[0]!.asset,
    startingBalance,
    paid,
    remaining: startingBalance - paid,
    voucher: record?.voucher ?? null,
  }
}


/**
 * Payment channels whose guarantee is or was in a ledger: every VirtualFund with a neighbour on the path
 * who is this ledger's counterparty (the engine funds through my ledger with that neighbour), and every
 * target of a guarantee in the ledger's current outcome.
 */
export function paymentChannelsByLedger(engine: EngineView, ledgerId: Bytes32): PaymentChannelInfo[] | undefined {
  const key = ledgerId
  const participants = ledgerParticipants(engine, key)
  if (!participants) return undefined
  const pair = pairKey(participants[0]!, participants[1]!)
  const me = engine.address
  const ids = new Set<string>()
  for (const o of engine.objectives()) {
    if (o.kind !== 'virtualfund') continue
    const path = o.prefund.state.participants
    const neighbours = [path[o.myIndex - 1], path[o.myIndex + 1]]
    if (neighbours.some((n) => n !== undefined && pairKey(me, n) === pair)) ids.add(o.channelId)
  }
  for (const g of engine.getLedger(key)?.supported.vars.outcome.guarantees ?? []) ids.add(g.target)
  return [...ids]
    .sort()
    .map((id) => paymentChannelInfo(engine, id as Bytes32))
    .filter((info): info is PaymentChannelInfo => info !== undefined)
}

function pairKey(a: Address, b: Address): string {
  return [a, b].sort().join()
}
