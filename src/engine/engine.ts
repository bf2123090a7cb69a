// The engine (DESIGN §4.2, §5): the node's API façade over its deterministic state machine (machine.ts). Inputs
// (API requests, peer frames, chain events, timer ticks) go through the loop (loop.ts), which journals and
// handles each batch and writes it as one fsync'd batch; only then are the side effects carried out
// (effects.ts) and the callers answered. The views (views.ts) read the committed state. Time and timers come
// from an injected scheduler (scheduler.ts): real ones in the daemon, a hand-moved clock in tests.
import { watchedClaims } from './appDisputes.js'
import type { Claim } from '../protocols/app/appDispute.js'
import { StallWatch } from './stalls.js'
import type { Address, Bytes32 } from '../core/types.js'
import type { Signer } from '../core/signer.js'
import type { Store } from '../store/store.js'
import type { Transport } from '../transport/transport.js'
import type { ChainService } from '../chain/chainService.js'
import type { ChannelEvent } from '../log/event.js'
import type { Objective } from '../protocols/objectives.js'
import type { AppDefinition, FundingMode } from '../protocols/app/appData.js'
import type { ConsensusChannel } from '../protocols/ledger/consensusChannel.js'
import type { Proposal } from '../protocols/ledger/proposal.js'
import type { PaymentChannel } from '../protocols/payments/paymentChannel.js'
import type { Voucher } from '../core/voucher.js'
import type { AppChannel } from '../protocols/app/appChannel.js'
import type { AppSnapshot, ExportedLog } from '../protocols/app/replay.js'
import { stateAt } from '../protocols/app/replay.js'
import { DEFAULT_SNAPSHOT_INTERVAL_EVENTS } from '../protocols/app/limits.js'
import type { SignedState } from '../core/signedState.js'
import { OutOfRangeError, assert } from '../core/errors.js'
import { decodeValue, encodeValue } from '../core/codec.js'
import { isActive } from '../protocols/objective.js'
import { loadVerifiedEvents, readEvents } from '../store/eventStore.js'
import { JOURNAL_LOG_ID } from '../store/keys.js'
import type { AppRuntime } from '../wasm/appRuntime.js'
import type { ApiRequest, EngineInput } from './inputs.js'
import { decodeInput } from './inputs.js'
import type { Rejection } from './context.js'
import { StepContext } from './context.js'
import type { HandlerDeps } from './step.js'
import { runtimeFor } from './step.js'
import type { EngineChange, Effects } from './machine.js'
import { NodeMachine } from './machine.js'
import { InputLoop } from './loop.js'
import { EffectRunner } from './effects.js'
import type { Scheduler } from './scheduler.js'
import { realScheduler } from './scheduler.js'
import type { AppChannelView, ObjectiveView } from './views.js'
import { appChannelView } from './views.js'
import { appSnapshotRange, signedTurnRange } from './records.js'
import { requireAppChannel } from './apps.js'
import type { PeerPolicy } from './policy.js'
import { REFUSE_UNSOLICITED } from './policy.js'
import { holdingsOf } from './holdings.js'
import { Admission } from './admission.js'
import { EngineStoppedError } from './errors.js'
import { randomInt } from 'node:crypto'
import { ZERO_ADDRESS } from '../core/canonical.js'

export type { AppChannelStatus, AppChannelView, ObjectiveView } from './views.js'
export type { EngineChange } from './machine.js'

export interface EngineOptions {
  readonly store: Store
  readonly signer: Signer
  /** Omitted when replaying a journal: side effects are then not carried out. */
  readonly transport?: Transport
  readonly chain?: ChainService
  readonly consensusApp: Address
  /** The appDefinition of payment channels; defaults to the zero address (then they cannot be disputed on chain). */
  readonly virtualPaymentApp?: Address
  /** Whether the payment app settles channels in tokens (default true, ours; false: ETH only, official Nitro's). */
  readonly paymentTokens?: boolean
  /**
   * What objectives peers start may commit of mine (src/engine/policy.ts). Default REFUSE_UNSOLICITED: every
   * ledger, intermediary role or payer role another starts is refused; being paid is allowed.
   */
  readonly policy?: PeerPolicy
  /** Approves app channels a peer opens with this node (default: all whose app the node runs). */
  readonly appPolicy?: (definition: AppDefinition, from: Address) => boolean
  /** The shell's time and timers (default the real ones). Its readings are journaled with each input. */
  readonly scheduler?: Scheduler
  /** The shell's clock (ms), if not the scheduler's. */
  readonly clock?: () => number
  /** How often the shell checks for due retransmissions; 0 disables the timer (tests tick by hand). */
  readonly tickIntervalMs?: number
  /**
   * The app modules this node runs, by appId (the node passes a registry of the built modules). An app
   * channel whose app is not here is refused (`unknown_app`), whether I create it or a peer opens it.
   */
  readonly apps?: (appId: Bytes32) => AppRuntime | undefined
  /** Snapshots of an app channel's state every this many events (default DEFAULT_SNAPSHOT_INTERVAL_EVENTS). */
  readonly appSnapshotIntervalEvents?: number
  /**
   * How long an objective may wait on its peers (a countersignature, a final state, a guarantee's removal) before
   * the node settles its channel on chain (stalls.ts); 0 or absent: never by itself.
   */
  readonly stallTimeoutMs?: number
}

type Listener = (objective: Objective) => void
type ChangeListener = (change: EngineChange) => void

/** How often the shell looks for objectives whose peers stalled. */
const STALL_CHECK_MS = 1_000

/** How long a participant has to move, by default, before the app's timeout event may be submitted against it. */
export const DEFAULT_MOVE_TIMEOUT_SECONDS = 300

/** The handlers' dependencies from the engine's options, with their defaults. */
export function depsOf(options: Omit<EngineOptions, 'store'>): HandlerDeps {
  return {
    signer: options.signer,
    consensusApp: options.consensusApp,
    virtualPaymentApp: options.virtualPaymentApp ?? ZERO_ADDRESS,
    paymentTokens: options.paymentTokens ?? true,
    policy: options.policy ?? REFUSE_UNSOLICITED,
    appPolicy: options.appPolicy ?? (() => true),
    apps: options.apps ?? (() => undefined),
    appSnapshotIntervalEvents: options.appSnapshotIntervalEvents ?? DEFAULT_SNAPSHOT_INTERVAL_EVENTS,
  }
}

export class Engine {
  readonly #machine: NodeMachine
  readonly #loop: InputLoop
  readonly #effects: EffectRunner
  readonly #scheduler: Scheduler
  readonly #clock: () => number
  readonly #deps: HandlerDeps
  readonly #admission = new Admission()
  readonly #listeners = new Set<Listener>()
  readonly #appListeners = new Set<(channel: AppChannel) => void>()
  readonly #changeListeners = new Set<ChangeListener>()
  #stopTicking: (() => void) | undefined
  #stopWatchingStalls: (() => void) | undefined
  #unsubscribe: (() => void) | undefined

  private constructor(
    readonly options: EngineOptions,
    machine: NodeMachine,
  ) {
    this.#machine = machine
    this.#deps = machine.deps
    this.#scheduler = options.scheduler ?? realScheduler
    this.#clock = options.clock ?? (() => this.#scheduler.now())
    this.#loop = new InputLoop(machine, options.store, this.#scheduler, (effects) => this.#afterCommit(effects))
    this.#effects = new EffectRunner(machine, this.#scheduler, (input) => void this.#offer(input), options.transport, options.chain)
  }

  /** The committed state's tables, read-only to callers. */
  get #tables() {
    return this.#machine.tables
  }

  get address(): Address {
    return this.options.signer.address
  }

  /** Opens an engine on a store, resuming whatever it holds: objectives, ledgers, outbox, chain cursor. */
  static async open(options: EngineOptions): Promise<Engine> {
    return Engine.#open(options, false)
  }

  static async #open(options: EngineOptions, replaying: boolean): Promise<Engine> {
    const deps = depsOf(options)
    const clock = options.clock ?? (() => (options.scheduler ?? realScheduler).now())
    const engine = new Engine(options, await NodeMachine.load(options.store, deps, clock()))
    engine.#start()
    // A new store gets its epoch (outbox.ts sessions) as its first input: later than any earlier life of this
    // node (clock ms, high bits), and apart from another started in the same millisecond (random low bits).
    if (!replaying && engine.#machine.meta.epoch === undefined) {
      await engine.#api({ op: 'startEpoch', epoch: (BigInt(engine.#clock()) << 16n) | BigInt(randomInt(1 << 16)) })
    }
    // The policy is configuration, and configuration is an input: journaled when it changed, so a replay of the
    // journal decides what peers start with the policy in effect then.
    const inEffect = engine.#machine.meta.policy
    if (!replaying && (inEffect === undefined || !Buffer.from(encodeValue(inEffect)).equals(Buffer.from(encodeValue(deps.policy))))) {
      await engine.#api({ op: 'setPolicy', policy: deps.policy })
    }
    return engine
  }

  /** Rebuilds an engine on an empty store by handling another engine's journal; no side effects run. */
  static async replay(options: Omit<EngineOptions, 'transport' | 'chain'>, journal: AsyncIterable<ChannelEvent> | Iterable<ChannelEvent>): Promise<Engine> {
    const engine = await Engine.#open({ ...options, tickIntervalMs: 0 }, true)
    for await (const entry of journal) await engine.#loop.submit(decodeInput(entry.payload))
    return engine
  }

  #start(): void {
    const { transport, chain } = this.options
    transport?.onMessage((from, bytes) => void this.receive(from, bytes))
    if (chain) {
      const cursor = this.#machine.meta.chainCursor ?? undefined
      this.#unsubscribe = chain.subscribe((event) => void this.#offer({ kind: 'chain', event }), cursor)
    }
    if (transport) this.#effects.resendAll()
    this.#effects.resubmitAll()
    const interval = this.options.tickIntervalMs ?? 50
    if (interval > 0 && transport) {
      this.#stopTicking = this.#scheduler.every(interval, () => {
        if (this.#machine.hasDueWork(this.#clock())) void this.#offer({ kind: 'tick' })
      })
    }
    const stallTimeoutMs = this.options.stallTimeoutMs ?? 0
    if (stallTimeoutMs > 0 && chain) {
      const watch = new StallWatch(stallTimeoutMs)
      this.#stopWatchingStalls = this.#scheduler.every(Math.min(STALL_CHECK_MS, stallTimeoutMs), () => {
        for (const stall of watch.stalled(this.#waits(), this.#clock())) {
          // A refusal needs no report here: the stalled objective ends failed with the reason (challengeStalled).
          this.#api({ op: 'challengeStalled', ...stall }).catch(() => undefined)
        }
      })
    }
  }

  /** Every active objective's kind and what it waits for. */
  *#waits(): Generator<readonly [string, { kind: Objective['kind']; waitingFor: string | undefined }]> {
    for (const [id, waitingFor] of this.#machine.waitingFor) {
      const o = this.#tables.objectives.get(id)
      if (o && isActive(o)) yield [id, { kind: o.kind, waitingFor }]
    }
  }

  // ---- API ----

  directFund(p: { counterparty: Address; asset?: Address; myDeposit: bigint; theirDeposit: bigint; nonce: bigint; challengeDuration?: number }): Promise<string> {
    return this.#api({
      op: 'directFund',
      counterparty: p.counterparty,
      asset: p.asset ?? ZERO_ADDRESS,
      myDeposit: p.myDeposit,
      theirDeposit: p.theirDeposit,
      nonce: p.nonce,
      challengeDuration: p.challengeDuration ?? 86_400,
    })
  }

  directDefund(ledgerId: Bytes32): Promise<string> {
    return this.#api({ op: 'directDefund', ledgerId })
  }

  /**
   * Changes a ledger by hand: I propose (leader) or countersign (follower) exactly `proposal`, and the
   * counterparty is asked to do the same — which its node does only if its owner agreed (agreeLedgerUpdate):
   * a ledger never moves a participant's funds on the other's word (ADR 0015). Virtual and app channels
   * run their ledger changes themselves; this is for operators and tests.
   */
  updateLedger(ledgerId: Bytes32, proposal: Proposal): Promise<string> {
    return this.#api({ op: 'ledgerUpdate', ledgerId, proposal, ask: true })
  }

  /** My owner agrees to `proposal` on this ledger, which the counterparty proposes or asks for; nothing is sent. */
  agreeLedgerUpdate(ledgerId: Bytes32, proposal: Proposal): Promise<string> {
    return this.#api({ op: 'ledgerUpdate', ledgerId, proposal, ask: false })
  }

  /**
   * Opens a payment channel to `counterparty` through `intermediaries` (none: over our direct ledger),
   * funded with `amount` of mine. Resolves to the VirtualFund objective id (`virtualfund:<channelId>`).
   */
  createPaymentChannel(p: { counterparty: Address; intermediaries?: readonly Address[]; asset?: Address; amount: bigint; nonce: bigint; challengeDuration?: number }): Promise<string> {
    return this.#api({
      op: 'createPaymentChannel',
      counterparty: p.counterparty,
      intermediaries: p.intermediaries ?? [],
      asset: p.asset ?? ZERO_ADDRESS,
      amount: p.amount,
      nonce: p.nonce,
      challengeDuration: p.challengeDuration ?? 86_400,
    })
  }

  /** Closes a payment channel: the final state pays the payee what the vouchers say. Resolves to the VirtualDefund id. */
  closePaymentChannel(channelId: Bytes32): Promise<string> {
    return this.#api({ op: 'closePaymentChannel', channelId })
  }

  /** Pays `amount` more to the payee: a voucher for the new cumulative total, sent to the payee. */
  pay(channelId: Bytes32, amount: bigint): Promise<Voucher> {
    return this.#api<Voucher>({ op: 'pay', channelId, amount, send: true })
  }

  /** A voucher for `amount` more, returned instead of sent (for voucher-gated services, redeemed out of band). */
  createVoucher(channelId: Bytes32, amount: bigint): Promise<Voucher> {
    return this.#api<Voucher>({ op: 'pay', channelId, amount, send: false })
  }

  /** Payee: redeems a voucher received out of band. Resolves to the channel's state after it. */
  receiveVoucher(voucher: Voucher): Promise<PaymentChannel> {
    return this.#api<PaymentChannel>({ op: 'receiveVoucher', voucher })
  }

  getPaymentChannel(channelId: Bytes32): PaymentChannel | undefined {
    return this.#tables.payments.get(channelId)
  }

  /** Asks the counterparty for its view of the ledger (after data loss, or to unstick a suspected desync). */
  syncLedger(ledgerId: Bytes32): Promise<string> {
    return this.#api({ op: 'syncLedger', ledgerId })
  }

  // ---- app channels (src/engine/apps.ts) ----

  /**
   * Opens an app channel of `participants` (me included) running app `appId` with `params`; each
   * participant puts in `deposits[i]` of `asset`, by `funding` (default 'direct' when any deposit is
   * non-zero, else 'none'; see FundingMode). A participant has `moveTimeout` seconds (default
   * DEFAULT_MOVE_TIMEOUT_SECONDS; 0: never) to move before the app's timeout event may be submitted
   * against it. Every other participant joins when my open reaches it, if it runs the app.
   * Resolves to the channel id once turn 0, signed by me, is committed and sent.
   * Errors: unknown_app, invalid_definition, not_a_participant, conflicting_definition, app_rejected.
   */
  createAppChannel(p: {
    participants: readonly Address[]
    appId: Bytes32
    params: Uint8Array
    asset?: Address
    deposits: readonly bigint[]
    funding?: FundingMode
    moveTimeout?: number
    nonce: bigint
    challengeDuration?: number
  }): Promise<Bytes32> {
    return this.#api<Bytes32>({
      op: 'createAppChannel',
      participants: p.participants,
      appId: p.appId,
      params: p.params,
      asset: p.asset ?? ZERO_ADDRESS,
      deposits: p.deposits,
      funding: p.funding ?? (p.deposits.some((d) => d > 0n) ? 'direct' : 'none'),
      moveTimeout: p.moveTimeout ?? DEFAULT_MOVE_TIMEOUT_SECONDS,
      nonce: p.nonce,
      challengeDuration: p.challengeDuration ?? 86_400,
    })
  }

  /**
   * Proposes an event of mine. Resolves when my signed update is committed and queued to every other
   * participant; the turn is final once all have signed it (`waitForAppTurn(channelId, turnNum)`). If another
   * participant proposed the same turn at once (apps where anyone moves), each node signs only the proposal it
   * received first — never two states at one turn — so the turn is contested and stays pending
   * (`pending.refusedBy` shows the other author's refusal) until the channel is settled from its latest state
   * signed by all.
   * Errors: no_such_app_channel, unknown_app, update_in_flight, invalid_event, channel_final, wrong_turn,
   * app_rejected, invalid_app_outcome.
   */
  submitEvent(channelId: Bytes32, payload: Uint8Array): Promise<{ seq: bigint; turnNum: bigint }> {
    return this.#api({ op: 'submitAppEvent', channelId, payload })
  }

  /**
   * Closes an app channel whose app is final: every participant signs the concluding state, then the
   * deposits are paid out by the channel's funding (AppDefund). Closing starts by itself once the app is
   * final; this starts it if it has not, and resolves to its objective id.
   * Errors: no_such_app_channel, app_not_final, unknown_app.
   */
  closeAppChannel(channelId: Bytes32): Promise<string> {
    return this.#api({ op: 'closeAppChannel', channelId })
  }

  /**
   * Settles an app channel without the others: challenges with the latest state every participant signed, waits
   * until the challenge finalizes (chain time), then pays its outcome out (AppDispute). A channel funded from a
   * ledger is paid through that ledger, which is disputed too (its guarantee is reclaimed, then it pays out).
   * My events stop meanwhile. Resolves to the objective id.
   * Errors: no_such_app_channel, dispute_unsupported (funded by nobody, nothing held, no guarantee held).
   */
  challengeAppChannel(channelId: Bytes32): Promise<string> {
    return this.#api({ op: 'challengeAppChannel', channelId })
  }

  /**
   * Settles a ledger on chain without the counterparty: challenges with its supported state (signed by both),
   * waits until the challenge finalizes, then pays it out (`appdispute:<ledgerId>`). The ledger takes no more
   * updates. A ledger that still locks guarantees is paid out only once they are reclaimed (issue 15).
   * Errors: no_such_ledger, dispute_unsupported (nothing held on chain).
   */
  challengeLedger(ledgerId: Bytes32): Promise<string> {
    return this.#api({ op: 'challengeLedger', ledgerId })
  }

  /**
   * Settles a payment channel on chain without the others: registers the best state this node holds (the final
   * state signed by all; the payee's redemption of its largest voucher; else the funded state), and disputes the
   * ledgers of mine that hold its guarantee, whose payout reclaims it once both finalized (`appdispute:<id>` for
   * each). No more payments meanwhile. Resolves to the payment channel's dispute.
   * Errors: unknown_channel.
   */
  challengePaymentChannel(channelId: Bytes32): Promise<string> {
    return this.#api({ op: 'challengePaymentChannel', channelId })
  }

  /**
   * The states a watchtower needs to defend this node's channels (appDisputes.ts `watchedClaims`), from the committed
   * state: reads only (a payee's redemption is signed here, as its dispute would sign it).
   */
  watchedClaims(): Claim[] {
    return watchedClaims(new StepContext(this.#tables, this.#clock()), this.#deps)
  }

  getAppChannel(channelId: Bytes32): AppChannelView | undefined {
    return appChannelView(this.#tables, this.#deps, channelId)
  }

  appChannels(): Bytes32[] {
    return [...this.#tables.apps.values()].map((c) => c.context.id)
  }

  /** Resolves when turn `turnNum` of the channel is signed by every participant here. */
  waitForAppTurn(channelId: Bytes32, turnNum: bigint): Promise<AppChannelView> {
    const reached = () => {
      const latest = this.#tables.apps.get(channelId)?.latest
      return latest != null && latest.signed.state.turnNum >= turnNum
    }
    return new Promise((resolve) => {
      if (reached()) return resolve(this.getAppChannel(channelId)!)
      const listener = (channel: AppChannel) => {
        if (channel.context.id === channelId && reached()) {
          this.#appListeners.delete(listener)
          resolve(this.getAppChannel(channelId)!)
        }
      }
      this.#appListeners.add(listener)
    })
  }

  /** The channel's fully signed events with fromSeq ≤ seq ≤ toSeq, read from the store (seq 1 is the genesis). */
  async appEvents(channelId: Bytes32, fromSeq = 1n, toSeq?: bigint): Promise<ChannelEvent[]> {
    const channel = requireAppChannel(this.#tables, channelId)
    const events: ChannelEvent[] = []
    for await (const event of readEvents(this.options.store, channel.context.id, fromSeq, toSeq)) events.push(event)
    return events
  }

  /**
   * The app state after event `seq` (1 = the genesis: the initial state), replayed through the app from the
   * nearest stored snapshot at or below it: at most K − 1 events are read and replayed.
   */
  async appStateAt(channelId: Bytes32, seq: bigint): Promise<Uint8Array> {
    const channel = requireAppChannel(this.#tables, channelId)
    const id = channel.context.id
    const last = channel.latest?.event.seq ?? 0n
    if (seq < 1n || seq > last) throw new OutOfRangeError(`seq must be 1..${last} (the fully signed events)`, { seq })
    const runtime = runtimeFor(this.#deps, channel.context.definition.appId)
    const store = this.options.store
    let snapshot: AppSnapshot | undefined
    for await (const [, value] of store.scan({ ...appSnapshotRange(id, seq), reverse: true, limit: 1 })) snapshot = decodeValue(value, Number.MAX_SAFE_INTEGER) as AppSnapshot
    // stateAt reads the genesis and the events after the snapshot only: a sparse array holds just those.
    const events: ChannelEvent[] = new Array<ChannelEvent>(Number(seq))
    for await (const event of readEvents(store, id, 1n, 1n)) events[0] = event
    for await (const event of readEvents(store, id, snapshot?.seq ?? 2n, seq)) events[Number(event.seq) - 1] = event
    return stateAt(events, runtime, seq, snapshot ? [snapshot] : []).appState
  }

  /** Every fully signed event and state of the channel, from the store: what verifyLog checks. */
  async exportAppLog(channelId: Bytes32): Promise<ExportedLog> {
    const channel = requireAppChannel(this.#tables, channelId)
    const id = channel.context.id
    const events = await loadVerifiedEvents(this.options.store, id)
    const signedStates: SignedState[] = []
    for await (const [, value] of this.options.store.scan(signedTurnRange(id))) signedStates.push(decodeValue(value, Number.MAX_SAFE_INTEGER) as SignedState)
    assert(signedStates.length === events.length, 'one fully signed state per stored event', { events: events.length, states: signedStates.length })
    return { events, signedStates }
  }

  /**
   * A message from a peer, as the transport delivers it: `from` is the address the transport
   * authenticated. Refusals are recorded (see `rejections`); this never throws.
   */
  receive(from: Address, bytes: Uint8Array): Promise<void> {
    // Admission first (admission.ts): an oversized or undecodable message, or one over the peer's quota or the
    // queue's bound, is refused before it is queued or journaled, and leaves only a counted rejection.
    const refused = this.#admission.admit(from, bytes, this.#clock())
    if (refused) {
      this.#machine.countAtEdge({ code: refused.code, summary: refused.summary, from })
      return Promise.resolve()
    }
    return this.#offer({ kind: 'peer', from, bytes }).finally(() => this.#admission.done(from, bytes.length))
  }

  /** Checks retransmissions now (the shell's timer does this on its own). */
  async tick(): Promise<void> {
    await this.#enqueue({ kind: 'tick' })
  }

  getObjective(id: string): ObjectiveView | undefined {
    const objective = this.#tables.objectives.get(id)
    return objective && { objective, waitingFor: this.#machine.waitingFor.get(id) }
  }

  objectives(): Objective[] {
    return [...this.#tables.objectives.values()]
  }

  getLedger(id: Bytes32): ConsensusChannel | undefined {
    return this.#tables.ledgers.get(id)
  }

  ledgers(): ConsensusChannel[] {
    return [...this.#tables.ledgers.values()]
  }

  /** What the adjudicator holds for `channelId` in `asset` (default ETH), as this node last saw on chain. */
  holdings(channelId: Bytes32, asset: Address = ZERO_ADDRESS): bigint {
    return holdingsOf({ holdings: this.#tables.holdings }, channelId, asset)
  }

  /**
   * Rejected inputs by error code — those handled since the store was created (persisted with the state),
   * plus messages refused at admission since this engine started — and the latest ones.
   */
  get rejections(): { readonly counts: Readonly<Record<string, number>>; readonly recent: readonly Rejection[] } {
    return this.#machine.rejections
  }

  /** Outbox entries not yet acknowledged. */
  get unacknowledged(): number {
    return this.#tables.outbox.size
  }

  /** Resolves when the objective is completed, failed or rejected. */
  waitForObjective(id: string): Promise<Objective> {
    return new Promise((resolve) => {
      const check = (o: Objective | undefined) => o && !isActive(o)
      const current = this.#tables.objectives.get(id)
      if (check(current)) return resolve(current!)
      const listener: Listener = (o) => {
        if (o.id === id && check(o)) {
          this.#listeners.delete(listener)
          resolve(o)
        }
      }
      this.#listeners.add(listener)
    })
  }

  onObjectiveChange(listener: Listener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Ledgers and payment channels changed by each commit, after it is durable. */
  onChange(listener: ChangeListener): () => void {
    this.#changeListeners.add(listener)
    return () => this.#changeListeners.delete(listener)
  }

  paymentChannels(): PaymentChannel[] {
    return [...this.#tables.payments.values()]
  }

  /** Resolves when no input is queued or being handled. */
  idle(): Promise<void> {
    return this.#loop.idle()
  }

  /** Stops taking inputs, finishes the batch in hand, and closes nothing it does not own (the store is the caller's). */
  async close(): Promise<void> {
    this.#loop.stop(new EngineStoppedError('the engine is closed'))
    this.#stopTicking?.()
    this.#stopWatchingStalls?.()
    this.#unsubscribe?.()
    await this.idle()
    this.#effects.flushAcks()
  }


  // ---- the loop ----

  async #api<R = string>(request: ApiRequest): Promise<R> {
    return (await this.#enqueue({ kind: 'api', request })) as R
  }

  #enqueue(input: EngineInput): Promise<unknown> {
    return this.#loop.submit({ at: this.#clock(), input })
  }

  /**
   * Queues an input from the world (peer, chain, timer). Its refusals are recorded, not thrown; after
   * close it is dropped, as a crash would drop it (peers retransmit, the chain replays from the cursor).
   */
  async #offer(input: EngineInput): Promise<void> {
    try {
      await this.#enqueue(input)
    } catch (error) {
      if (!(error instanceof EngineStoppedError) && error !== this.#loop.stopped) throw error
    }
  }

  #afterCommit(effects: Effects): void {
    this.#notify(effects)
    try {
      this.#effects.run(effects)
    } catch (error) {
      // After the commit nothing is lost: unsent frames are retransmitted from the outbox. Keep the evidence.
      this.#machine.countAtEdge({ code: 'effect_failed', summary: error instanceof Error ? error.message : String(error) })
    }
  }

  #notify(effects: Effects): void {
    for (const objective of effects.objectives) for (const listener of [...this.#listeners]) safely(() => listener(objective))
    for (const change of effects.changes) {
      if (change.kind === 'app') for (const listener of [...this.#appListeners]) safely(() => listener(change.channel))
      for (const listener of [...this.#changeListeners]) safely(() => listener(change))
    }
  }
}

/** A subscriber's bug must not stop the loop after a commit. */
function safely(call: () => void): void {
  try {
    call()
  } catch {
    // the subscriber owns its errors
  }
}

/** The journal of a store, for replay and inspection. */
export function readJournal(store: Store): AsyncIterable<ChannelEvent> {
  return readEvents(store, JOURNAL_LOG_ID)
}
