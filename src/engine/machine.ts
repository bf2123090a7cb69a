// The node as a deterministic state machine (DESIGN §4.2, §5; issue 14). `prepare(inputs)` handles a batch of
// timed inputs against drafts of the state and returns the store operations that make it durable (journal
// entries, tables, logs, records) with the answer to each input; after the shell wrote them, `commit(prepared)`
// folds the drafts into the state and returns the side effects as data: frames to send, transactions to
// submit, what changed. No clock, timer, randomness or I/O is read here — time arrives with each input — so the
// same journal on the same store gives the same state and the same effects, which is what replay and the
// simulator (test/sim) rely on. The daemon's shell (engine.ts) runs this same code with real timers and I/O.
import type { Address, Bytes32 } from '../core/types.js'
import type { BatchOp, Store } from '../store/store.js'
import type { ChannelEvent } from '../log/event.js'
import type { LogHead } from '../log/channelLog.js'
import type { Objective } from '../protocols/objectives.js'
import type { ConsensusChannel } from '../protocols/ledger/consensusChannel.js'
import type { PaymentChannel } from '../protocols/payments/paymentChannel.js'
import type { AppChannel } from '../protocols/app/appChannel.js'
import type { ChainTransaction } from '../protocols/onchain.js'
import { ChannelsError } from '../core/errors.js'
import { isActive } from '../protocols/objective.js'
import * as directFund from '../protocols/directfund/directfund.js'
import * as directDefund from '../protocols/directdefund/directdefund.js'
import { journalEntry } from '../log/journal.js'
import { putEventOps, readHead } from '../store/eventStore.js'
import { JOURNAL_LOG_ID } from '../store/keys.js'
import type { TimedInput } from './inputs.js'
import { encodeInput, journalKindOf } from './inputs.js'
import type { ChainOutboxEntry, Meta, ParkedPayload, Rejection, StateTables } from './context.js'
import { StepContext } from './context.js'
import type { HandlerDeps } from './step.js'
import { drain, handleInput } from './router.js'
import { flushOutgoing } from './session.js'
import { buildIndexes } from './indexes.js'
import { kindOf } from './kinds.js'
import type { OutboxEntry, PeerState } from './outbox.js'
import { peerKey } from './outbox.js'
import { Table } from './table.js'
import { TABLES, loadTable, tableOps } from './records.js'
import type { TableName } from './records.js'
import { encodeFrame } from './frames.js'
import { hasDueTimeout } from './apps.js'
import { hasDueDispute } from './appDisputes.js'
import { holdingsKey } from './holdings.js'
import type { HoldingChange } from './holdings.js'
import { UnackedIndex } from './unackedIndex.js'
import { RECENT_REJECTIONS } from './limits.js'

/** The state the machine keeps, table by table (records.ts persists all but the derived indexes). */
export interface MachineTables extends StateTables {
  readonly objectives: Table<Objective>
  readonly ledgers: Table<ConsensusChannel>
  readonly holdings: Table<bigint>
  readonly peers: Table<PeerState>
  readonly outbox: Table<OutboxEntry>
  readonly meta: Table<Meta>
  readonly payments: Table<PaymentChannel>
  readonly indexes: Table<readonly string[]>
  readonly apps: Table<AppChannel>
  readonly parked: Table<ParkedPayload>
  readonly chainOutbox: Table<ChainOutboxEntry>
  readonly holdingChanges: Table<readonly HoldingChange[]>
}

/** What a commit changed, for subscribers (the RPC's notifications). */
export type EngineChange =
  | { readonly kind: 'ledger'; readonly ledger: ConsensusChannel }
  | { readonly kind: 'payment'; readonly channel: PaymentChannel }
  | { readonly kind: 'app'; readonly channel: AppChannel }

/** A message for a peer, encoded. */
export interface OutgoingFrame {
  readonly to: Address
  readonly bytes: Uint8Array
}

/** The side effects of a committed step, as data for the shell to carry out. */
export interface Effects {
  readonly frames: readonly OutgoingFrame[]
  readonly transactions: readonly { readonly objectiveId: string; readonly tx: ChainTransaction }[]
  /** Objectives whose status changed, as now stored. */
  readonly objectives: readonly Objective[]
  readonly changes: readonly EngineChange[]
  /** Whether acknowledgements wait for a frame to ride on (the shell flushes them after ACK_DELAY_MS). */
  readonly acksPending: boolean
}

/** One input's answer: what an API call returns, or why it was refused. */
export interface InputResult {
  readonly result?: unknown
  readonly error?: unknown
}

/** A handled batch, not yet durable: write `ops` (fsync'd when `sync`), then `commit` it. */
export interface PreparedStep {
  readonly ops: readonly BatchOp[]
  readonly sync: boolean
  readonly results: readonly InputResult[]
  /** How many journal entries the batch adds (inputs that changed nothing leave none). */
  readonly journaled: number
  readonly step: StepContext
  readonly head: LogHead
  /** Refusals counted at the edge (inputs not journaled) and acks of frames that changed nothing. */
  readonly edge: readonly Rejection[]
  readonly inertAcks: readonly { to: Address; seqs: bigint[] }[]
}

const INITIAL_META: Meta = { chainCursor: null, rejections: {} }

export class NodeMachine {
  readonly tables: MachineTables = {
    objectives: new Table<Objective>(),
    ledgers: new Table<ConsensusChannel>(),
    holdings: new Table<bigint>(),
    peers: new Table<PeerState>(),
    outbox: new Table<OutboxEntry>(),
    meta: new Table<Meta>(),
    payments: new Table<PaymentChannel>(),
    indexes: new Table<readonly string[]>(),
    apps: new Table<AppChannel>(),
    parked: new Table<ParkedPayload>(),
    chainOutbox: new Table<ChainOutboxEntry>(),
    holdingChanges: new Table<readonly HoldingChange[]>(),
  }
  /** What each active objective waits for (derived, never stored). */
  readonly waitingFor = new Map<string, string>()
  readonly #recentRejections: Rejection[] = []
  /** Inputs refused without a journal entry (admission, inert frames), by code, since this machine started. */
  readonly #edgeCounts: Record<string, number> = {}
  readonly #unacked = new UnackedIndex()
  /** Acknowledgements not yet sent: they ride on the next frame to that peer, or go alone when the shell flushes. */
  readonly #pendingAcks = new Map<string, { to: Address; seqs: bigint[] }>()
  #journalHead: LogHead

  private constructor(
    readonly deps: HandlerDeps,
    journalHead: LogHead,
  ) {
    this.#journalHead = journalHead
  }

  get address(): Address {
    return this.deps.signer.address
  }

  get journalHead(): LogHead {
    return this.#journalHead
  }

  /**
   * Loads the state a store holds. `now` only dates the scratch cranks that recompute what objectives wait for.
   * Stores written before holdings were kept per asset are migrated first (a synced write of their own).
   */
  static async load(store: Store, deps: HandlerDeps, now: number): Promise<NodeMachine> {
    const machine = new NodeMachine(deps, await readHead(store, JOURNAL_LOG_ID))
    const tables = machine.tables
    for (const name of TABLES) {
      const table = tables[name] as Table<unknown>
      for (const [key, value] of await loadTable(store, name)) table.set(key, value)
    }
    if (!tables.meta.get('meta')) tables.meta.set('meta', INITIAL_META)
    const migration = machine.#holdingsMigration()
    if (migration.size > 0) {
      await store.commit(tableOps('holdings', migration), { sync: true })
      tables.holdings.apply(migration)
    }
    for (const [name, ids] of buildIndexes(tables.objectives.values())) tables.indexes.set(name, ids)
    for (const key of tables.outbox.keys()) machine.#unacked.apply(key, tables.outbox.get(key))
    machine.#recomputeWaitingFor(now)
    return machine
  }

  get meta(): Meta {
    return this.tables.meta.get('meta')!
  }

  // ---- the step ----

  /** Handles a batch against drafts: nothing in the machine changes until `commit`. */
  prepare(batch: readonly TimedInput[]): PreparedStep {
    const step = new StepContext(this.tables, batch[batch.length - 1]!.at)
    const journal: ChannelEvent[] = []
    const edge: Rejection[] = []
    /** Acknowledgements of frames that changed nothing: sent after the commit, needing no fsync of their own. */
    const inertAcks: { to: Address; seqs: bigint[] }[] = []
    const results: InputResult[] = []
    let head = this.#journalHead
    for (const timed of batch) {
      let entry: ChannelEvent
      try {
        entry = journalEntry(head, { kind: journalKindOf(timed.input), payload: encodeInput(timed), author: this.address })
      } catch (error) {
        // An input that cannot be journaled (an API argument the codec refuses) is refused before it counts:
        // the caller learns why; any other input's refusal is counted like one refused at admission.
        results.push({ error })
        if (timed.input.kind !== 'api') edge.push(rejectionOf(error))
        continue
      }
      const ctx = new StepContext(step, timed.at)
      try {
        const result = handleInput(ctx, timed.input, this.deps)
        flushOutgoing(ctx)
        if (timed.input.kind === 'peer' && ctx.isInert()) {
          // A frame that changed nothing (every payload refused, a duplicate, nothing acknowledged) leaves no
          // journal entry (ADR 0016): its refusals are counted like those at admission, its acks and refusal
          // notices still go out. Refused again if sent again: it changed nothing to replay.
          edge.push(...ctx.rejections)
          for (const { to, seqs } of ctx.acks.values()) inertAcks.push({ to, seqs })
          for (const { to, payloads } of ctx.notices.values()) step.notice(to, ...payloads)
          results.push({ result })
          continue
        }
        journal.push(entry)
        head = entry
        step.absorb(ctx)
        results.push({ result })
      } catch (error) {
        journal.push(entry)
        head = entry
        // A refused input (or a broken invariant) drops only its own changes; the journal keeps it.
        step.rejections.push({ ...rejectionOf(error), ...(timed.input.kind === 'peer' ? { from: timed.input.from } : {}) })
        results.push({ error })
      }
    }
    if (step.rejections.length > 0) {
      const meta = step.meta.get('meta')!
      const counts = { ...meta.rejections }
      for (const r of step.rejections) counts[r.code] = (counts[r.code] ?? 0) + 1
      step.meta.set('meta', { ...meta, rejections: counts })
    }
    const ops: BatchOp[] = putEventOps(JOURNAL_LOG_ID, journal)
    for (const name of TABLES) ops.push(...tableOps(name, draftOf(step, name).changes()))
    for (const { logId, event } of step.logAppends) ops.push(...putEventOps(logId, [event]))
    for (const { key, value } of step.records) ops.push({ type: 'put', key, value })
    return { ops, sync: needsSync(step), results, journaled: journal.length, step, head, edge, inertAcks }
  }

  /** After the store holds `prepared.ops`: the state moves on, and the step's side effects are returned. */
  commit(prepared: PreparedStep): Effects {
    const { step } = prepared
    this.#journalHead = prepared.head
    for (const name of TABLES) (this.tables[name] as Table<unknown>).apply(draftOf(step, name).changes())
    for (const [key, entry] of step.outbox.changes()) this.#unacked.apply(key, entry)
    this.tables.indexes.apply(step.indexes.changes())
    for (const [id, waitingFor] of step.waitingFor) this.waitingFor.set(id, waitingFor)
    for (const rejection of prepared.edge) this.countAtEdge(rejection)
    for (const rejection of step.rejections) this.#keepRejection(rejection)
    for (const { to, seqs } of [...prepared.inertAcks, ...step.acks.values()]) this.#queueAcks(to, seqs)

    const frames: OutgoingFrame[] = []
    const fresh = [...step.outbox.changes().values()].filter((e): e is OutboxEntry => e !== undefined && e.attempts === 1)
    for (const entry of [...fresh, ...step.retransmit]) {
      frames.push({ to: entry.to, bytes: encodeFrame({ seq: entry.seq, payloads: entry.payloads, acks: this.#takeAcks(entry.to), ...this.#session(entry.to) }) })
    }
    for (const { to, payloads } of step.notices.values()) frames.push({ to, bytes: encodeFrame({ seq: null, payloads, acks: this.#takeAcks(to), ...this.#session(to) }) })

    const objectives: Objective[] = []
    for (const id of step.changedStatus) {
      const objective = this.tables.objectives.get(id)
      if (objective) objectives.push(objective)
    }
    const changes: EngineChange[] = []
    for (const [, ledger] of step.ledgers.changes()) if (ledger) changes.push({ kind: 'ledger', ledger })
    for (const [, channel] of step.payments.changes()) if (channel) changes.push({ kind: 'payment', channel })
    for (const [, channel] of step.apps.changes()) if (channel) changes.push({ kind: 'app', channel })
    return { frames, transactions: step.transactions, objectives, changes, acksPending: this.#pendingAcks.size > 0 }
  }

  /** prepare and commit at once, for a caller that keeps no store (a replay check, a unit test). */
  step(batch: readonly TimedInput[]): { prepared: PreparedStep; effects: Effects } {
    const prepared = this.prepare(batch)
    return { prepared, effects: this.commit(prepared) }
  }

  // ---- frames the shell sends outside a step ----

  /** Acknowledgements that found no frame to ride on, each peer's in one frame. */
  flushAcks(): OutgoingFrame[] {
    const frames: OutgoingFrame[] = []
    for (const { to, seqs } of this.#pendingAcks.values()) frames.push({ to, bytes: encodeFrame({ seq: null, payloads: [], acks: seqs, ...this.#session(to) }) })
    this.#pendingAcks.clear()
    return frames
  }

  /** After a restart every unacknowledged entry is due again: the peer may have missed it. */
  resendAll(): OutgoingFrame[] {
    return [...this.tables.outbox.values()].map((entry) => ({ to: entry.to, bytes: encodeFrame({ seq: entry.seq, payloads: entry.payloads, acks: [], ...this.#session(entry.to) }) }))
  }

  /** After a restart: the transactions decided and not yet mined or refused (the chain outbox), to send again. */
  pendingTransactions(): { readonly objectiveId: string; readonly tx: ChainTransaction }[] {
    return [...this.tables.chainOutbox.values()].map(({ objectiveId, tx }) => ({ objectiveId, tx }))
  }

  /** Whether a tick at `now` would do something: a retransmission, a held app timeout, a dispute's next move. */
  hasDueWork(now: number): boolean {
    for (const entry of this.tables.outbox.values()) if (entry.nextAttemptAt <= now) return true
    for (const channel of this.tables.apps.values()) if (hasDueTimeout(channel, now)) return true
    return hasDueDispute(this.tables.objectives, this.tables.indexes, now)
  }

  // ---- rejections ----

  /** Counts a refusal that left no journal entry (admission, an input the codec refused, an inert frame). */
  countAtEdge(rejection: Rejection): void {
    this.#edgeCounts[rejection.code] = (this.#edgeCounts[rejection.code] ?? 0) + 1
    this.#keepRejection(rejection)
  }

  /** Refusals by code (those journaled, persisted with the state, plus those at the edge since start) and the latest. */
  get rejections(): { readonly counts: Readonly<Record<string, number>>; readonly recent: readonly Rejection[] } {
    const counts = { ...this.meta.rejections }
    for (const [code, n] of Object.entries(this.#edgeCounts)) counts[code] = (counts[code] ?? 0) + n
    return { counts, recent: this.#recentRejections }
  }

  /** Keeps the latest rejections for inspection (RECENT_REJECTIONS of them). */
  #keepRejection(rejection: Rejection): void {
    this.#recentRejections.push(rejection)
    if (this.#recentRejections.length > RECENT_REJECTIONS) this.#recentRejections.shift()
  }

  // ---- sessions and acknowledgements ----

  #queueAcks(to: Address, seqs: readonly bigint[]): void {
    const waiting = this.#pendingAcks.get(to) ?? { to, seqs: [] }
    waiting.seqs.push(...seqs)
    this.#pendingAcks.set(to, waiting)
  }

  /**
   * The session fields of a frame to `to`: my epoch, the peer's as I know it (0 until it told me), and my lowest
   * unacknowledged seq to it (my next one when none is), below which it may count everything delivered.
   */
  #session(to: Address): { epochs: { sender: bigint; receiver: bigint }; base: bigint } {
    const key = peerKey(to)
    const peer = this.tables.peers.get(key)
    return {
      epochs: { sender: this.meta.epoch ?? 0n, receiver: peer?.epoch ?? 0n },
      base: this.#unacked.lowest(key) ?? peer?.nextSeq ?? 1n,
    }
  }

  /** The acknowledgements waiting for a frame to `to`: this frame carries them. */
  #takeAcks(to: Address): bigint[] {
    const pending = this.#pendingAcks.get(to)
    this.#pendingAcks.delete(to)
    return pending?.seqs ?? []
  }

  // ---- at load ----

  /**
   * Stores written before holdings were kept per (channel, asset) hold them under the channel id alone: each is
   * moved under its channel's own asset (a ledger's, an app channel's, a funding or defunding objective's), or
   * dropped when the channel is not mine — before anything reads them (a defund judging its payout on 0 would
   * complete without one).
   */
  #holdingsMigration(): Map<string, bigint | undefined> {
    const { holdings, objectives, ledgers, apps } = this.tables
    const changes = new Map<string, bigint | undefined>()
    for (const key of [...holdings.keys()]) {
      if (key.includes(':')) continue
      const id = key as Bytes32
      const objective = objectives.get(directFund.directFundId(id)) ?? objectives.get(directDefund.directDefundId(id))
      const asset =
        ledgers.get(id)?.supported.vars.outcome.asset ??
        apps.get(id)?.context.definition.asset ??
        (objective?.kind === 'directfund' ? objective.prefund.state.outcome[0]!.asset : objective?.kind === 'directdefund' ? objective.final.state.outcome[0]!.asset : undefined)
      changes.set(key, undefined)
      if (asset !== undefined) changes.set(holdingsKey(id, asset), holdings.get(key)!)
    }
    return changes
  }

  /**
   * waitingFor is derived: after a restart, each active objective is cranked (purely, in a step whose changes are
   * dropped) to recompute it, whatever its kind.
   */
  #recomputeWaitingFor(now: number): void {
    for (const objective of this.tables.objectives.values()) {
      if (!isActive(objective)) continue
      const scratch = new StepContext(this.tables, now)
      try {
        kindOf(objective).crank(scratch, objective, this.deps)
        drain(scratch, this.deps)
      } catch {
        continue // it will say why when an input cranks it for real
      }
      const waitingFor = scratch.waitingFor.get(objective.id)
      if (waitingFor !== undefined) this.waitingFor.set(objective.id, waitingFor)
    }
  }
}

function rejectionOf(error: unknown): Rejection {
  return { code: error instanceof ChannelsError ? error.code : 'internal', summary: error instanceof ChannelsError ? error.summary : String(error) }
}

function draftOf(step: StepContext, name: TableName) {
  return step[name] as { changes(): ReadonlyMap<string, unknown> }
}

/**
 * Whether losing this step in a crash could lose something: only steps that merely drop acknowledged
 * outbox entries, bump retransmission counters or record ack-only frames may skip the fsync (they become
 * durable with the next synced commit; if lost, the peer's frames are retransmitted and deduplicated).
 * A step that acknowledges a frame must be durable first, or the peer would forget a frame we lost.
 */
function needsSync(step: StepContext): boolean {
  if (step.acks.size > 0 || step.transactions.length > 0 || step.logAppends.length > 0 || step.records.length > 0) return true
  for (const name of TABLES) {
    if (name === 'peers') continue // changes only with a frame's seq, which is acknowledged (above)
    const changes = draftOf(step, name).changes()
    if (name === 'outbox') {
      for (const entry of changes.values()) if (entry !== undefined && (entry as OutboxEntry).attempts === 1) return true
    } else if (changes.size > 0) return true
  }
  return false
}
