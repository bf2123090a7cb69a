// The working state of one engine step: drafts of every table plus the effects to run after commit.
// A child context isolates one input (or one payload): if it throws, its drafts are simply dropped.
import type { Address, Bytes32, Hex } from '../core/types.js'
import type { ConsensusChannel } from '../protocols/ledger/consensusChannel.js'
import type { Objective } from '../protocols/objectives.js'
import type { Payload } from '../protocols/messages.js'
import type { ChainTransaction } from '../protocols/onchain.js'
import type { HoldingChange } from './holdings.js'
import type { OutboxEntry, PeerState } from './outbox.js'
import type { PaymentChannel } from '../protocols/payments/paymentChannel.js'
import type { Readable } from './table.js'
import type { AppChannel } from '../protocols/app/appChannel.js'
import type { ChannelEvent } from '../log/event.js'
import { Draft } from './table.js'
import type { PeerPolicy } from './policy.js'
import { MAX_ANSWERS_IN_FLIGHT_PER_PEER } from './limits.js'
import { peerKey } from './outbox.js'

export interface Meta {
  /** The last chain event applied, with its block's hash when the chain layer gave it (a restart checks it: a re-org while down). */
  readonly chainCursor: { readonly block: bigint; readonly logIndex: number; readonly blockHash?: Hex } | null
  readonly rejections: Readonly<Record<string, number>>
  /** This node's epoch (outbox.ts sessions), journaled once when the store is new; absent before that. */
  readonly epoch?: bigint
  /**
   * The policy for what others start (policy.ts), as last journaled: the engine journals its configured policy
   * whenever it differs, so a replay decides with the policy each input was decided with.
   */
  readonly policy?: PeerPolicy
}

export interface StateTables {
  readonly objectives: Readable<Objective>
  readonly ledgers: Readable<ConsensusChannel>
  readonly holdings: Readable<bigint>
  readonly peers: Readable<PeerState>
  readonly outbox: Readable<OutboxEntry>
  readonly meta: Readable<Meta>
  readonly payments: Readable<PaymentChannel>
  readonly apps: Readable<AppChannel>
  readonly parked: Readable<ParkedPayload>
  readonly chainOutbox: Readable<ChainOutboxEntry>
  readonly holdingChanges: Readable<readonly HoldingChange[]>
  /** Derived, not persisted: the named indexes of active objectives (indexes.ts). */
  readonly indexes: Readable<readonly string[]>
}

/** A peer's payload kept until what it is about is ready here (a payment channel's close before it opened). */
export interface ParkedPayload {
  readonly from: Address
  readonly payload: Payload
}

/**
 * A transaction an objective decided to send, recorded in the step that decided it (issue 15): the chain outbox
 * keeps it until it is mined, refused, or no longer needed (its objective ended), and a restart sends it again.
 */
export interface ChainOutboxEntry {
  readonly objectiveId: string
  readonly tx: ChainTransaction
}

export interface Rejection {
  readonly code: string
  readonly summary: string
  readonly from?: Address
}

export class StepContext {
  readonly objectives: Draft<Objective>
  readonly ledgers: Draft<ConsensusChannel>
  readonly holdings: Draft<bigint>
  readonly peers: Draft<PeerState>
  readonly outbox: Draft<OutboxEntry>
  readonly meta: Draft<Meta>
  readonly payments: Draft<PaymentChannel>
  readonly indexes: Draft<readonly string[]>
  readonly apps: Draft<AppChannel>
  readonly parked: Draft<ParkedPayload>
  readonly chainOutbox: Draft<ChainOutboxEntry>
  readonly holdingChanges: Draft<readonly HoldingChange[]>
  /**
   * Events appended to channel logs in this step, in order; the engine turns them into event-store ops in
   * the step's batch (an app channel's history is appended, never rewritten: O(1) per event).
   */
  readonly logAppends: { readonly logId: Bytes32; readonly event: ChannelEvent }[] = []
  /** Write-once records put in the step's batch (an app channel's signed turns and snapshots). */
  readonly records: { readonly key: Buffer; readonly value: Uint8Array }[] = []
  /** Payloads to put in new outbox entries, per peer. */
  readonly outgoing = new Map<Address, { to: Address; payloads: Payload[] }>()
  readonly acks = new Map<Address, { to: Address; seqs: bigint[] }>()
  /** Notices (frames.ts) to send once after the commit, unsequenced and never stored, per peer. */
  readonly notices = new Map<Address, { to: Address; payloads: Payload[] }>()
  readonly retransmit: OutboxEntry[] = []
  readonly transactions: { objectiveId: string; tx: ChainTransaction }[] = []
  /** Objectives whose status changed in this step (for notifications after commit). */
  readonly changedStatus = new Set<string>()
  readonly rejections: Rejection[] = []
  /** waitingFor of every objective cranked in this step (derived, never stored). */
  readonly waitingFor = new Map<string, string>()
  /** Work items not yet taken, in order (a Set keeps one copy of each). */
  readonly #work = new Set<string>()

  constructor(
    tables: StateTables,
    readonly now: number,
  ) {
    this.objectives = new Draft(tables.objectives)
    this.ledgers = new Draft(tables.ledgers)
    this.holdings = new Draft(tables.holdings)
    this.peers = new Draft(tables.peers)
    this.outbox = new Draft(tables.outbox)
    this.meta = new Draft(tables.meta)
    this.payments = new Draft(tables.payments)
    this.indexes = new Draft(tables.indexes)
    this.apps = new Draft(tables.apps)
    this.parked = new Draft(tables.parked)
    this.chainOutbox = new Draft(tables.chainOutbox)
    this.holdingChanges = new Draft(tables.holdingChanges)
  }

  child(): StepContext {
    return new StepContext(this, this.now)
  }

  absorb(child: StepContext): void {
    this.objectives.absorb(child.objectives)
    this.ledgers.absorb(child.ledgers)
    this.holdings.absorb(child.holdings)
    this.peers.absorb(child.peers)
    this.outbox.absorb(child.outbox)
    this.meta.absorb(child.meta)
    this.payments.absorb(child.payments)
    this.indexes.absorb(child.indexes)
    this.apps.absorb(child.apps)
    this.parked.absorb(child.parked)
    this.chainOutbox.absorb(child.chainOutbox)
    this.holdingChanges.absorb(child.holdingChanges)
    this.logAppends.push(...child.logAppends)
    this.records.push(...child.records)
    for (const { to, payloads } of child.outgoing.values()) this.send(to, ...payloads)
    for (const { to, seqs } of child.acks.values()) this.ack(to, ...seqs)
    for (const { to, payloads } of child.notices.values()) this.notice(to, ...payloads)
    this.retransmit.push(...child.retransmit)
    this.transactions.push(...child.transactions)
    for (const id of child.changedStatus) this.changedStatus.add(id)
    this.rejections.push(...child.rejections)
    for (const [id, w] of child.waitingFor) this.waitingFor.set(id, w)
    for (const item of child.#work) this.#schedule(item)
  }

  /**
   * The worklist (router.ts drains it): a ledger that moved, whose updates and dependents are cranked next,
   * instead of handlers calling each other's cranks recursively. Each item is queued once until taken.
   */
  touchLedger(ledgerId: Bytes32): void {
    this.#schedule(`ledger:${ledgerId}`)
  }

  /** Queues an active objective to be cranked as it is stored (a dependency of it moved). */
  wake(objectiveId: string): void {
    this.#schedule(`objective:${objectiveId}`)
  }

  /** The next work item, in the order queued. */
  takeWork(): { readonly kind: 'ledger'; readonly id: Bytes32 } | { readonly kind: 'objective'; readonly id: string } | undefined {
    const [item] = this.#work
    if (item === undefined) return undefined
    this.#work.delete(item)
    const at = item.indexOf(':')
    const kind = item.slice(0, at)
    return kind === 'ledger' ? { kind, id: item.slice(at + 1) as Bytes32 } : { kind: 'objective', id: item.slice(at + 1) }
  }

  #schedule(item: string): void {
    this.#work.add(item)
  }

  send(to: Address, ...payloads: Payload[]): void {
    const entry = this.outgoing.get(to) ?? { to, payloads: [] }
    entry.payloads.push(...payloads)
    this.outgoing.set(to, entry)
  }

  notice(to: Address, ...payloads: Payload[]): void {
    const entry = this.notices.get(to) ?? { to, payloads: [] }
    entry.payloads.push(...payloads)
    this.notices.set(to, entry)
  }

  /**
   * Tells a peer something it must learn to finish what it started (a refusal, an answer): reliably, through the
   * outbox, when the peer is one I keep state for already and fewer than MAX_ANSWERS_IN_FLIGHT_PER_PEER answers to
   * it wait for its acknowledgement; as a notice otherwise — a stranger cannot make me store or queue anything
   * (ADR 0016), and a known peer that floods me with what I refuse, without acknowledging, cannot grow my outbox.
   */
  tell(to: Address, payload: Payload): void {
    if (this.peers.get(peerKey(to)) && this.#answersInFlight(to) < MAX_ANSWERS_IN_FLIGHT_PER_PEER) this.send(to, payload)
    else this.notice(to, payload)
  }

  /** Answers to `to` not yet acknowledged (in the outbox) or queued in this step (outgoing). */
  #answersInFlight(to: Address): number {
    const isAnswer = (p: Payload) => p.kind === 'objectiveRejected' || p.kind === 'appRefusal'
    let count = 0
    for (const entry of this.outbox.values()) if (entry.to === to) count += entry.payloads.filter(isAnswer).length
    return count + (this.outgoing.get(to)?.payloads.filter(isAnswer).length ?? 0)
  }

  ack(to: Address, ...seqs: bigint[]): void {
    const entry = this.acks.get(to) ?? { to, seqs: [] }
    entry.seqs.push(...seqs)
    this.acks.set(to, entry)
  }

  /** Whether this context changed nothing that is kept or done: no table, log, record, message, transaction or status. */
  isInert(): boolean {
    const drafts = [this.objectives, this.ledgers, this.holdings, this.peers, this.outbox, this.meta, this.payments, this.indexes, this.apps, this.parked, this.chainOutbox, this.holdingChanges]
    return (
      drafts.every((d) => d.changes().size === 0) &&
      this.logAppends.length === 0 &&
      this.records.length === 0 &&
      this.outgoing.size === 0 &&
      this.retransmit.length === 0 &&
      this.transactions.length === 0 &&
      this.changedStatus.size === 0
    )
  }

  ledger(id: Bytes32): ConsensusChannel | undefined {
    return this.ledgers.get(id)
  }
}
