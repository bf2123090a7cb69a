// The simulated world (issue 14): whole nodes — each a NodeMachine (src/engine/machine.ts) over its own
// MemoryStore — on one MemoryNetwork in manual mode and one MemoryChain, all driven by one seeded random source.
// Nothing here reads a clock or a timer: the cluster's time moves only when the simulation moves it, every
// message, chain event and transaction waits in a queue until the simulation picks it, and a node handles its
// inputs only when told. So a seed determines the whole run, and a failing seed replays exactly.
//
// The cluster plays the daemon's shell for each node (engine.ts): it boots a machine from its store (epoch and
// policy journaled as inputs), queues its inputs, writes each prepared step to the store and commits it, sends
// the frames, hands transactions to the chain and feeds back what the chain refuses. Faults are the shell's too:
// a crash loses the queued inputs, the writes not yet synced, and — when it falls between a commit and its
// effects — the frames and transactions that step decided.
import { createHash } from 'node:crypto'
import type { Address } from '../../src/core/types.js'
import type { Hex } from '../../src/core/types.js'
import type { Signer } from '../../src/core/signer.js'
import { createSigner } from '../../src/core/signer.js'
import type { Random } from '../../src/core/seededRandom.js'
import { createRandom } from '../../src/core/seededRandom.js'
import { encodeValue } from '../../src/core/codec.js'
import { MemoryStore } from '../../src/store/memoryStore.js'
import { MemoryNetwork } from '../../src/transport/memoryTransport.js'
import type { Transport } from '../../src/transport/transport.js'
import { MemoryChain, MEMORY_CONSENSUS_APP } from '../../src/chain/memoryChain.js'
import type { ChainService } from '../../src/chain/chainService.js'
import { ChannelsError } from '../../src/core/errors.js'
import type { ChainTransaction } from '../../src/protocols/onchain.js'
import type { ApiRequest, EngineInput, TimedInput } from '../../src/engine/inputs.js'
import type { Effects, OutgoingFrame } from '../../src/engine/machine.js'
import { NodeMachine } from '../../src/engine/machine.js'
import { decodeFrame } from '../../src/engine/frames.js'
import { depsOf } from '../../src/engine/engine.js'
import type { HandlerDeps } from '../../src/engine/step.js'
import type { PeerPolicy } from '../../src/engine/policy.js'
import { ACCEPT_ANY_PEER } from '../../src/engine/policy.js'
import type { AppRuntime } from '../../src/wasm/appRuntime.js'
import type { Bytes32 } from '../../src/core/types.js'
import { toAddress } from '../../src/core/canonical.js'
import { STALE_DEPOSIT, resendDecision } from '../../src/engine/chainOutbox.js'

export const ETH: Address = toAddress('0x0000000000000000000000000000000000000000')
export const SIM_PAYMENT_APP: Address = toAddress('0x00000000000000000000000000000000000f0a11')
/** Every node starts with this much ETH on the chain. */
export const STARTING_BALANCE = 10n ** 18n
/** Any peer, any asset, any challenge duration: the simulation checks the protocols, not the policy's limits. */
export const SIM_POLICY: PeerPolicy = { ...ACCEPT_ANY_PEER, assets: 'any', challengeDurationSec: { min: 0, max: ACCEPT_ANY_PEER.challengeDurationSec.max } }
/** Inputs a node handles in one step at most (the shell's group commit, smaller to vary the batching). */
const MAX_BATCH = 8

/** An input waiting for its node, with who wants its answer. */
interface InboxItem {
  readonly timed: TimedInput
  readonly answer?: (outcome: { result?: unknown; error?: unknown }) => void
}

/** A transaction a node decided to send, not yet submitted (the chain client's latency). */
export interface PendingTransaction {
  readonly node: SimNode
  readonly objectiveId: string
  readonly tx: ChainTransaction
}

export class SimNode {
  readonly signer: Signer
  readonly address: Address
  readonly deps: HandlerDeps
  store = new MemoryStore()
  machine!: NodeMachine
  inbox: InboxItem[] = []
  up = false
  /** Acknowledgements wait for a frame to ride on; the simulation flushes them when the shell's delay would. */
  acksPending = false
  /** Times it crashed. */
  crashes = 0
  #transport: Transport | undefined
  #unsubscribe: (() => void) | undefined
  readonly chainService: ChainService

  constructor(
    readonly name: string,
    key: Hex,
    readonly index: number,
    chain: MemoryChain,
    apps: (appId: Bytes32) => AppRuntime | undefined,
  ) {
    this.signer = createSigner(key)
    this.address = this.signer.address
    this.deps = depsOf({ signer: this.signer, consensusApp: MEMORY_CONSENSUS_APP, virtualPaymentApp: SIM_PAYMENT_APP, policy: SIM_POLICY, apps })
    this.chainService = chain.connect(this.address)
  }

  attach(transport: Transport, unsubscribe: () => void): void {
    this.#transport = transport
    this.#unsubscribe = unsubscribe
  }

  send(frames: readonly OutgoingFrame[]): void {
    for (const { to, bytes } of frames) this.#transport!.send(to, bytes)
  }

  /** The process dies: its transport and chain subscription go with it. */
  detach(): void {
    void this.#transport?.close()
    this.#unsubscribe?.()
    this.#transport = undefined
    this.#unsubscribe = undefined
  }
}

export interface ClusterOptions {
  readonly seed: number
  readonly nodes: number
  readonly apps: (appId: Bytes32) => AppRuntime | undefined
  /**
   * Whether a transaction may fail again after it failed once. false (the default): one injected failure per
   * objective, as a node that retried with backoff (issue 15) would see of a short outage. true: every submission
   * may fail, and three failures in a row end a DirectFund for good — stranding a counterparty that deposited.
   */
  readonly repeatedChainFailures?: boolean
}

/** Everything an observer (the invariants) sees of a committed step. */
export interface StepRecord {
  readonly node: SimNode
  readonly effects: Effects
  /** Whether the effects were carried out (false: the node crashed between commit and effects). */
  readonly delivered: boolean
}

export class Cluster {
  readonly random: Random
  readonly network: MemoryNetwork
  readonly chain: MemoryChain
  readonly nodes: SimNode[] = []
  /** Chain deliveries waiting to happen (MemoryChain's schedule): confirmations the simulation delays. */
  readonly chainTasks: (() => void)[] = []
  readonly pendingTransactions: PendingTransaction[] = []
  /** Objectives whose transaction the chain failed once (see repeatedChainFailures). */
  readonly #failedOnce = new Set<string>()
  /** Links cut by the partition fault, and the step at which each heals. */
  readonly cuts: { readonly a: SimNode; readonly b: SimNode; readonly heals: number }[] = []
  /** Accounts on the chain that are not nodes (the byzantine participant's): counted in the chain's totals. */
  readonly outsiders: Address[] = []
  /** Called with every committed step, before its effects are carried out. */
  onStep: (record: StepRecord) => void = () => {}
  /** The cluster's clock (ms): moves only by `advance`. */
  now = 1_700_000_000_000
  readonly #trace = createHash('sha256')
  #traced = 0

  constructor(readonly options: ClusterOptions) {
    this.random = createRandom(options.seed)
    this.network = new MemoryNetwork({ seed: this.random.int(2 ** 31), mode: 'manual' })
    this.chain = new MemoryChain({ schedule: (task) => this.chainTasks.push(task), virtualPaymentApp: SIM_PAYMENT_APP })
    for (let i = 0; i < options.nodes; i++) {
      const key = `0x${(i + 1).toString(16).padStart(2, '0').repeat(32)}` as Hex
      const node = new SimNode(`n${i}`, key, i, this.chain, options.apps)
      this.chain.fund(node.address, ETH, STARTING_BALANCE)
      this.nodes.push(node)
    }
  }

  /** Records what happened, for the run's trace hash (two runs of one seed must hash the same). */
  trace(line: string): void {
    if (process.env.SIM_TRACE) console.log(`${this.#traced} ${line}`)
    this.#trace.update(`${line}\n`)
    this.#traced++
  }

  get traceHash(): string {
    return this.#trace.copy().digest('hex').slice(0, 16)
  }

  advance(ms: number): void {
    this.now += ms
  }

  // ---- a node's life ----

  /** Starts (or restarts) a node from what its store holds durably, as the daemon would. */
  async boot(node: SimNode): Promise<void> {
    node.machine = await NodeMachine.load(node.store, node.deps, this.now)
    const transport = this.network.connect(node.address)
    transport.onMessage((from, bytes) => this.#queue(node, { kind: 'peer', from, bytes }))
    const cursor = node.machine.meta.chainCursor ?? undefined
    const unsubscribe = this.chain.subscribe((event) => this.#queue(node, { kind: 'chain', event }), cursor)
    node.attach(transport, unsubscribe)
    node.up = true
    if (node.machine.meta.epoch === undefined) this.call(node, { op: 'startEpoch', epoch: (BigInt(this.now) << 16n) | BigInt(this.random.int(1 << 16)) })
    const inEffect = node.machine.meta.policy
    if (inEffect === undefined || !Buffer.from(encodeValue(inEffect)).equals(Buffer.from(encodeValue(node.deps.policy)))) {
      this.call(node, { op: 'setPolicy', policy: node.deps.policy })
    }
    node.send(node.machine.resendAll())
    // The chain outbox: what the node decided to send and did not learn mined or refused goes again (issue 15),
    // a deposit only if the holdings do not show it landed (the shell's resendDecision).
    for (const { objectiveId, tx } of node.machine.pendingTransactions()) {
      const decision = resendDecision(tx, tx.kind === 'deposit' ? await node.chainService.holdings(tx.channelId, tx.asset) : undefined)
      if (decision === 'send') this.pendingTransactions.push({ node, objectiveId, tx })
      else if (decision === 'mined') this.#queue(node, { kind: 'chainMined', objectiveId, txKind: tx.kind })
      else this.#queue(node, { kind: 'chainResult', objectiveId, ...STALE_DEPOSIT })
    }
  }

  /**
   * The process dies: queued inputs, unsynced writes and the transactions in the chain client's hands are lost.
   * It comes back from its durable store at once or later (`boot`), its chain outbox with it.
   */
  crash(node: SimNode): void {
    node.detach()
    node.up = false
    node.acksPending = false
    node.crashes++
    for (const item of node.inbox) item.answer?.({ error: new Error('crashed') })
    node.inbox = []
    node.store = new MemoryStore(node.store.snapshot())
    for (let i = this.pendingTransactions.length - 1; i >= 0; i--) if (this.pendingTransactions[i]!.node === node) this.pendingTransactions.splice(i, 1)
  }

  /** Queues an API call at a node; `answer` gets its result or refusal once the node handled it. */
  call(node: SimNode, request: ApiRequest, answer?: (outcome: { result?: unknown; error?: unknown }) => void): void {
    if (!node.up) {
      answer?.({ error: new Error('node down') })
      return
    }
    node.inbox.push({ timed: { at: this.now, input: { kind: 'api', request } }, ...(answer ? { answer } : {}) })
  }

  /** A timer tick at a node, if it has something due (the shell's interval does the same check). */
  tick(node: SimNode): boolean {
    if (!node.up || !node.machine.hasDueWork(this.now)) return false
    this.#queue(node, { kind: 'tick' })
    return true
  }

  #queue(node: SimNode, input: EngineInput): void {
    if (node.up) node.inbox.push({ timed: { at: this.now, input } })
  }

  /**
   * A node handles a batch of its queued inputs: prepare, write to the store, commit, carry out the effects —
   * unless `crashBeforeEffects`, when the process dies right after the write.
   */
  async process(node: SimNode, crashBeforeEffects = false): Promise<void> {
    const batch = node.inbox.splice(0, 1 + this.random.int(MAX_BATCH))
    const prepared = node.machine.prepare(batch.map((item) => item.timed))
    if (process.env.SIM_DEBUG) {
      for (const item of batch) if (item.timed.input.kind === 'peer') console.log(`DBG ${node.name} got from ${item.timed.input.from.slice(0, 6)} ${JSON.stringify(decodeFrame(item.timed.input.bytes), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)).slice(0, 200)}`)
      console.log(`DBG ${node.name} inertAcks ${JSON.stringify(prepared.inertAcks, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))} acks ${JSON.stringify([...prepared.step.acks.values()], (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))} rejections ${JSON.stringify(prepared.step.rejections)} edge ${JSON.stringify(prepared.edge)}`)
    }
    await node.store.commit(prepared.ops, { sync: prepared.sync })
    const effects = node.machine.commit(prepared)
    this.onStep({ node, effects, delivered: !crashBeforeEffects })
    if (crashBeforeEffects) {
      // The decided transactions never reached the chain client; the chain outbox sends them after the restart.
      this.crash(node)
      return
    }
    for (const [i, item] of batch.entries()) item.answer?.(prepared.results[i]!)
    node.send(effects.frames)
    node.acksPending = effects.acksPending
    for (const { objectiveId, tx } of effects.transactions) this.pendingTransactions.push({ node, objectiveId, tx })
  }

  /** The shell's ack delay ran out: acknowledgements with nothing to ride on go alone. */
  flushAcks(node: SimNode): void {
    if (!node.up || !node.acksPending) return
    node.acksPending = false
    const frames = node.machine.flushAcks()
    if (process.env.SIM_DEBUG) for (const f of frames) console.log(`DBG ${node.name} flushes to ${f.to.slice(0, 6)} ${JSON.stringify(decodeFrame(f.bytes).acks.map(String))}`)
    node.send(frames)
  }

  /** Transactions whose node is up to send them. */
  submittable(): PendingTransaction[] {
    return this.pendingTransactions.filter((p) => p.node.up)
  }

  /** Submits one pending transaction (failing it first when `failure` says so); a refusal returns to its node. */
  async submit(pending: PendingTransaction, injected?: 'unavailable' | 'reverted'): Promise<void> {
    const at = this.pendingTransactions.indexOf(pending)
    if (at < 0) return
    this.pendingTransactions.splice(at, 1)
    const failureKey = `${pending.node.name}:${pending.objectiveId}`
    const failure = injected && (this.options.repeatedChainFailures || !this.#failedOnce.has(failureKey)) ? injected : undefined
    if (failure) this.#failedOnce.add(failureKey)
    this.trace(`${pending.node.name} submits ${pending.tx.kind} for ${pending.objectiveId.slice(0, 20)}${failure ? ` (${failure})` : ''}`)
    if (failure) this.chain.failNext(1, failure)
    try {
      await pending.node.chainService.submit(pending.tx)
      if (pending.node.up) pending.node.inbox.push({ timed: { at: this.now, input: { kind: 'chainMined', objectiveId: pending.objectiveId, txKind: pending.tx.kind } } })
    } catch (error) {
      const code = error instanceof ChannelsError ? error.code : 'chain_error'
      const summary = error instanceof ChannelsError ? error.summary : String(error)
      this.trace(`${pending.node.name}'s ${pending.tx.kind} refused: ${code}`)
      const input: EngineInput = { kind: 'chainResult', objectiveId: pending.objectiveId, code, summary }
      if (pending.node.up) pending.node.inbox.push({ timed: { at: this.now, input } })
    }
  }

  /** Runs one delayed chain delivery. */
  deliverChainEvent(index: number): void {
    const [task] = this.chainTasks.splice(index, 1)
    task?.()
  }

  /** Whether anything is still moving: a message, a chain delivery, a transaction, a queued input. */
  isBusy(): boolean {
    return this.network.inFlight > 0 || this.chainTasks.length > 0 || this.submittable().length > 0 || this.nodes.some((n) => n.up && n.inbox.length > 0)
  }

  get steps(): number {
    return this.#traced
  }
}
