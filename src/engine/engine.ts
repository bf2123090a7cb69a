// The engine (DESIGN §4.2, §5): the node's one loop. Inputs (API requests, peer frames, chain events,
// timer ticks) are queued; each batch of inputs is journaled and handled against drafts of the state,
// and the whole batch — journal entries, objectives, ledgers, holdings, outbox, cursor — is committed as
// ONE fsync'd write (group commit). Only then do side effects run: frames go out, transactions are
// submitted, waiters are told. After a crash the store is exactly the state after the last commit.
import type { Address, Bytes32 } from '../core/types.js'
import type { Signer } from '../core/signer.js'
import type { Store, BatchOp } from '../store/store.js'
import type { Transport } from '../transport/transport.js'
import type { ChainService } from '../chain/chainService.js'
import type { ChannelEvent } from '../log/event.js'
import type { LogHead } from '../log/channelLog.js'
import type { Objective } from '../protocols/objectives.js'
import type { AppDefinition, FundingMode } from '../protocols/app/appData.js'
import { fundingOf, moveTimeoutOf } from '../protocols/app/appData.js'
import type { ConsensusChannel } from '../protocols/ledger/consensusChannel.js'
import type { Proposal } from '../protocols/ledger/proposal.js'
import type { PaymentChannel } from '../protocols/payments/paymentChannel.js'
import type { Voucher } from '../core/voucher.js'
import { ChannelsError } from '../core/errors.js'
import { journalEntry } from '../log/journal.js'
import { putEventOps, readEvents, readHead } from '../store/eventStore.js'
import { JOURNAL_LOG_ID } from '../store/keys.js'
import { isActive } from '../protocols/objective.js'
import * as directFund from '../protocols/directfund/directfund.js'
import * as directDefund from '../protocols/directdefund/directdefund.js'
import * as ledgerUpdate from '../protocols/ledgerupdate/ledgerUpdate.js'
import type { ApiRequest, EngineInput, TimedInput } from './inputs.js'
import { decodeInput, encodeInput, journalKindOf } from './inputs.js'
import type { Meta, Rejection, StateTables } from './context.js'
import { StepContext } from './context.js'
import type { HandlerDeps } from './handlers.js'
import { flushOutgoing, handleInput } from './handlers.js'
import type { OutboxEntry, PeerState } from './outbox.js'
import { Table } from './table.js'
import { TABLES, loadTable, tableOps } from './records.js'
import type { TableName } from './records.js'
import { encodeFrame } from './frames.js'
import { EngineStoppedError } from './errors.js'
import type { AppRuntime, Turn } from '../wasm/appRuntime.js'
import type { AppChannel } from '../protocols/app/appChannel.js'
import type { AppSnapshot, ExportedLog } from '../protocols/app/replay.js'
import { stateAt } from '../protocols/app/replay.js'
import { missingSignatures } from '../protocols/app/appChannel.js'
import { DEFAULT_SNAPSHOT_INTERVAL_EVENTS } from '../protocols/app/limits.js'
import type { SignedState } from '../core/signedState.js'
import { OutOfRangeError, assert } from '../core/errors.js'
import { decodeValue, encodeValue } from '../core/codec.js'
import { loadVerifiedEvents } from '../store/eventStore.js'
import { appSnapshotRange, signedTurnRange } from './records.js'
import { hasDueTimeout, refusalsOfPending, requireAppChannel, runtimeFor } from './apps.js'
import { LEDGER_FUNDED_APPS } from './appFunding.js'
import { ACTIVE_DISPUTES, hasDueDispute } from './appDisputes.js'
import { appDisputeId } from '../protocols/app/appDispute.js'
import { appFundId } from '../protocols/app/appFund.js'
import { appDefundId } from '../protocols/app/appDefund.js'
import type { PeerPolicy } from './policy.js'
import { holdingsKey, holdingsOf } from './holdings.js'
import { Admission } from './admission.js'
import { UnackedIndex } from './unackedIndex.js'
import { randomInt } from 'node:crypto'
import { REFUSE_UNSOLICITED } from './policy.js'
import { ACK_DELAY_MS, MAX_INPUTS_PER_COMMIT, RECENT_REJECTIONS } from './limits.js'

export interface EngineOptions {
  readonly store: Store
  readonly signer: Signer
  /** Omitted when replaying a journal: side effects are then not carried out. */
  readonly transport?: Transport
  readonly chain?: ChainService
  readonly consensusApp: Address
  /** The appDefinition of payment channels; defaults to the zero address (then they cannot be disputed on chain). */
  readonly virtualPaymentApp?: Address
  /**
   * What objectives peers start may commit of mine (src/engine/policy.ts). Default REFUSE_UNSOLICITED: every
   * ledger, intermediary role or payer role another starts is refused; being paid is allowed.
   */
  readonly policy?: PeerPolicy
  /** Approves app channels a peer opens with this node (default: all whose app the node runs). */
  readonly appPolicy?: (definition: AppDefinition, from: Address) => boolean
  /** The shell's clock (ms). Its readings are journaled with each input. */
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
}

export type AppChannelStatus = 'opening' | 'funding' | 'open' | 'closing' | 'disputing' | 'closed' | 'failed'

/** What `getAppChannel` shows: the latest turn signed by every participant, and the one being signed. */
export interface AppChannelView {
  readonly channelId: Bytes32
  readonly participants: readonly Address[]
  readonly appId: Bytes32
  readonly asset: Address
  readonly deposits: readonly bigint[]
  readonly funding: FundingMode
  /**
   * Where the channel is in its life: 'opening' until turn 0 is signed by all, 'funding' until the deposits
   * are held (AppFund), 'open', 'closing' (AppDefund), 'closed', or 'failed' (an objective's failure says why,
   * or, for an opening a participant refused, `pending.refusedBy`).
   */
  readonly status: AppChannelStatus
  readonly moveTimeout: number
  /** The latest turn signed by all, its event's seq (turnNum + 1) and hash; null until turn 0 is. */
  readonly turnNum: bigint | null
  readonly head: LogHead | null
  readonly latest: SignedState | null
  /**
   * The turn being signed: its author, the participant indexes whose signature it still lacks, and those
   * who said they refused it and why (their node's error code, e.g. app_declined or app_rejected).
   */
  readonly pending: {
    readonly turnNum: bigint
    readonly author: Address
    readonly missing: readonly number[]
    readonly refusedBy: readonly { readonly participant: number; readonly code: string }[]
  } | null
  /** The app state after the latest fully signed turn, and what the app says of it. */
  readonly appState: Uint8Array | null
  readonly whoseTurn: Turn | null
  readonly isFinal: boolean
  /** What each participant is paid under the latest fully signed state, by participant index. */
  readonly outcome: readonly bigint[]
}

export interface ObjectiveView {
  readonly objective: Objective
  readonly waitingFor: string | undefined
}

interface Pending {
  readonly timed: TimedInput
  readonly resolve: (result: unknown) => void
  readonly reject: (error: unknown) => void
}

type Listener = (objective: Objective) => void

/** What a commit changed, for subscribers (the RPC's notifications). */
export type EngineChange =
  | { readonly kind: 'ledger'; readonly ledger: ConsensusChannel }
  | { readonly kind: 'payment'; readonly channel: PaymentChannel }
  | { readonly kind: 'app'; readonly channel: AppChannel }
type ChangeListener = (change: EngineChange) => void

/** How long a participant has to move, by default, before the app's timeout event may be submitted against it. */
export const DEFAULT_MOVE_TIMEOUT_SECONDS = 300

const INITIAL_META: Meta = { chainCursor: null, rejections: {} }

export class Engine {
  readonly #tables = {
    objectives: new Table<Objective>(),
    ledgers: new Table<ConsensusChannel>(),
    holdings: new Table<bigint>(),
    peers: new Table<PeerState>(),
    outbox: new Table<OutboxEntry>(),
    meta: new Table<Meta>(),
    payments: new Table<PaymentChannel>(),
    activeLedgerUpdates: new Table<readonly string[]>(),
    activeVirtual: new Table<readonly string[]>(),
    apps: new Table<AppChannel>(),
  }
  readonly #appListeners = new Set<(channel: AppChannel) => void>()
  readonly #waitingFor = new Map<string, string>()
  readonly #queue: Pending[] = []
  readonly #listeners = new Set<Listener>()
  readonly #changeListeners = new Set<ChangeListener>()
  readonly #recentRejections: Rejection[] = []
  /** Peer messages refused at admission, by code, since this engine started (not journaled: admission.ts). */
  readonly #edgeCounts: Record<string, number> = {}
  readonly #admission = new Admission()
  readonly #unacked = new UnackedIndex()
  #journalHead: LogHead
  #running = false
  #stopped: Error | undefined
  #timer: NodeJS.Timeout | undefined
  /** Acknowledgements not yet sent: they ride on the next frame to that peer, or go alone after ACK_DELAY_MS. */
  readonly #pendingAcks = new Map<string, { to: Address; seqs: bigint[] }>()
  #ackTimer: NodeJS.Timeout | undefined
  #unsubscribe: (() => void) | undefined
  #idleWaiters: (() => void)[] = []
  readonly #deps: HandlerDeps
  readonly #clock: () => number

  private constructor(
    readonly options: EngineOptions,
    journalHead: LogHead,
  ) {
    this.#journalHead = journalHead
    this.#clock = options.clock ?? Date.now
    this.#deps = {
      signer: options.signer,
      consensusApp: options.consensusApp,
      virtualPaymentApp: options.virtualPaymentApp ?? '0x0000000000000000000000000000000000000000',
      policy: options.policy ?? REFUSE_UNSOLICITED,
      appPolicy: options.appPolicy ?? (() => true),
      apps: options.apps ?? (() => undefined),
      appSnapshotIntervalEvents: options.appSnapshotIntervalEvents ?? DEFAULT_SNAPSHOT_INTERVAL_EVENTS,
    }
  }

  get address(): Address {
    return this.options.signer.address
  }

  /** Opens an engine on a store, resuming whatever it holds: objectives, ledgers, outbox, chain cursor. */
  static async open(options: EngineOptions): Promise<Engine> {
    return Engine.#open(options, false)
  }

  static async #open(options: EngineOptions, replaying: boolean): Promise<Engine> {
    const engine = new Engine(options, await readHead(options.store, JOURNAL_LOG_ID))
    for (const name of TABLES) {
      const table = engine.#tables[name] as Table<unknown>
      for (const [key, value] of await loadTable(options.store, name)) table.set(key, value)
    }
    if (!engine.#tables.meta.get('meta')) engine.#tables.meta.set('meta', INITIAL_META)
    await engine.#migrateHoldings()
    engine.#indexActiveLedgerUpdates()
    for (const key of engine.#tables.outbox.keys()) engine.#unacked.apply(key, engine.#tables.outbox.get(key))
    engine.#recomputeWaitingFor()
    engine.#start()
    // A new store gets its epoch (outbox.ts sessions) as its first input: later than any earlier life of this
    // node (clock ms, high bits), and apart from another started in the same millisecond (random low bits).
    if (!replaying && engine.#tables.meta.get('meta')!.epoch === undefined) {
      await engine.#api({ op: 'startEpoch', epoch: (BigInt(engine.#clock()) << 16n) | BigInt(randomInt(1 << 16)) })
    }
    // The policy is configuration, and configuration is an input: journaled when it changed, so a replay of the
    // journal decides what peers start with the policy in effect then.
    const policy = engine.#deps.policy
    const inEffect = engine.#tables.meta.get('meta')!.policy
    if (!replaying && (inEffect === undefined || !Buffer.from(encodeValue(inEffect)).equals(Buffer.from(encodeValue(policy))))) {
      await engine.#api({ op: 'setPolicy', policy })
    }
    return engine
  }

  /** Rebuilds an engine on an empty store by handling another engine's journal; no side effects run. */
  static async replay(options: Omit<EngineOptions, 'transport' | 'chain'>, journal: AsyncIterable<ChannelEvent> | Iterable<ChannelEvent>): Promise<Engine> {
    const engine = await Engine.#open({ ...options, tickIntervalMs: 0 }, true)
    for await (const entry of journal) await engine.#submit(decodeInput(entry.payload))
    return engine
  }

  #start(): void {
    const { transport, chain } = this.options
    transport?.onMessage((from, bytes) => void this.receive(from, bytes))
    if (chain) {
      const cursor = this.#tables.meta.get('meta')!.chainCursor ?? undefined
      this.#unsubscribe = chain.subscribe((event) => this.#offer({ kind: 'chain', event }), cursor)
    }
    if (transport) this.#resendAll()
    const interval = this.options.tickIntervalMs ?? 50
    if (interval > 0 && transport) {
      this.#timer = setInterval(() => {
        if (this.#hasDueEntries()) this.#offer({ kind: 'tick' })
      }, interval)
    }
  }

  // ---- API ----

  directFund(p: { counterparty: Address; asset?: Address; myDeposit: bigint; theirDeposit: bigint; nonce: bigint; challengeDuration?: number }): Promise<string> {
    return this.#api({
      op: 'directFund',
      counterparty: p.counterparty,
      asset: p.asset ?? '0x0000000000000000000000000000000000000000',
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
      asset: p.asset ?? '0x0000000000000000000000000000000000000000',
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
    return this.#tables.payments.get(channelId.toLowerCase())
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
      asset: p.asset ?? '0x0000000000000000000000000000000000000000',
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
   * Settles an app channel funded on chain without the others: challenges with the latest state every
   * participant signed, waits until the challenge finalizes (chain time), then pays its outcome out
   * (AppDispute). My events stop meanwhile. Resolves to the objective id.
   * Errors: no_such_app_channel, dispute_unsupported (funded from a ledger, or by nobody).
   */
  challengeAppChannel(channelId: Bytes32): Promise<string> {
    return this.#api({ op: 'challengeAppChannel', channelId })
  }

  getAppChannel(channelId: Bytes32): AppChannelView | undefined {
    const channel = this.#tables.apps.get(channelId.toLowerCase())
    if (!channel) return undefined
    const { definition } = channel.context
    const latest = channel.latest
    let whoseTurn: Turn | null = null
    let isFinal = false
    const runtime = this.#deps.apps(definition.appId)
    if (latest && runtime) {
      whoseTurn = runtime.whoseTurn(latest.appState)
      isFinal = whoseTurn === 'nobody' || runtime.isFinal(latest.appState)
    }
    const allocations = latest?.signed.state.outcome[0]?.allocations ?? []
    return {
      channelId: channel.context.id,
      participants: definition.fixed.participants,
      appId: definition.appId,
      asset: definition.asset,
      deposits: definition.deposits,
      funding: fundingOf(definition),
      status: this.#appStatus(channel.context.id, fundingOf(definition)),
      moveTimeout: moveTimeoutOf(definition),
      turnNum: latest?.signed.state.turnNum ?? null,
      head: latest ? { seq: latest.event.seq, hash: latest.event.hash } : null,
      latest: latest?.signed ?? null,
      pending: channel.pending && {
        turnNum: channel.pending.signed.state.turnNum,
        author: channel.pending.event.author,
        missing: missingSignatures(channel),
        refusedBy: refusalsOfPending(channel).map((r) => ({ participant: r.index, code: r.code })),
      },
      appState: latest?.appState ?? null,
      whoseTurn,
      isFinal,
      outcome: allocations.map((a) => a.amount),
    }
  }

  #appStatus(channelId: Bytes32, funding: FundingMode): AppChannelStatus {
    const objectives = this.#tables.objectives
    const dispute = objectives.get(appDisputeId(channelId))
    if (dispute && dispute.status !== 'failed') return dispute.status === 'completed' ? 'closed' : 'disputing'
    const defund = objectives.get(appDefundId(channelId))
    if (defund) return defund.status === 'completed' ? 'closed' : defund.status === 'failed' || defund.status === 'rejected' ? 'failed' : 'closing'
    const channel = this.#tables.apps.get(channelId.toLowerCase())
    // Refused by a participant before turn 0 was signed by all: it will never open (nothing was funded).
    if (!channel?.latest) return channel && refusalsOfPending(channel).length > 0 ? 'failed' : 'opening'
    if (funding === 'none') return 'open'
    const fund = objectives.get(appFundId(channelId))
    if (!fund || fund.status === 'approved' || fund.status === 'unapproved') return 'funding'
    return fund.status === 'completed' ? 'open' : 'failed'
  }

  appChannels(): Bytes32[] {
    return [...this.#tables.apps.values()].map((c) => c.context.id)
  }

  /** Resolves when turn `turnNum` of the channel is signed by every participant here. */
  waitForAppTurn(channelId: Bytes32, turnNum: bigint): Promise<AppChannelView> {
    const id = channelId.toLowerCase()
    const reached = () => {
      const latest = this.#tables.apps.get(id)?.latest
      return latest != null && latest.signed.state.turnNum >= turnNum
    }
    return new Promise((resolve) => {
      if (reached()) return resolve(this.getAppChannel(channelId)!)
      const listener = (channel: AppChannel) => {
        if (channel.context.id.toLowerCase() === id && reached()) {
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
      this.#edgeCounts[refused.code] = (this.#edgeCounts[refused.code] ?? 0) + 1
      this.#keepRejection({ code: refused.code, summary: refused.summary, from })
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
    return objective && { objective, waitingFor: this.#waitingFor.get(id) }
  }

  objectives(): Objective[] {
    return [...this.#tables.objectives.values()]
  }

  getLedger(id: Bytes32): ConsensusChannel | undefined {
    return this.#tables.ledgers.get(id.toLowerCase())
  }

  ledgers(): ConsensusChannel[] {
    return [...this.#tables.ledgers.values()]
  }

  /** What the adjudicator holds for `channelId` in `asset` (default ETH), as this node last saw on chain. */
  holdings(channelId: Bytes32, asset: Address = '0x0000000000000000000000000000000000000000'): bigint {
    return holdingsOf({ holdings: this.#tables.holdings }, channelId, asset)
  }

  /**
   * Rejected inputs by error code — those handled since the store was created (persisted with the state),
   * plus messages refused at admission since this engine started — and the latest ones.
   */
  get rejections(): { readonly counts: Readonly<Record<string, number>>; readonly recent: readonly Rejection[] } {
    const counts = { ...this.#tables.meta.get('meta')!.rejections }
    for (const [code, n] of Object.entries(this.#edgeCounts)) counts[code] = (counts[code] ?? 0) + n
    return { counts, recent: this.#recentRejections }
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
    if (!this.#running && this.#queue.length === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idleWaiters.push(resolve))
  }

  /** Stops taking inputs, finishes the batch in hand, and closes nothing it does not own (the store is the caller's). */
  async close(): Promise<void> {
    this.#stopped ??= new EngineStoppedError('the engine is closed')
    clearInterval(this.#timer)
    this.#unsubscribe?.()
    await this.idle()
    clearTimeout(this.#ackTimer)
    this.#flushAcks()
  }

  // ---- the loop ----

  async #api<R = string>(request: ApiRequest): Promise<R> {
    return (await this.#enqueue({ kind: 'api', request })) as R
  }

  #enqueue(input: EngineInput): Promise<unknown> {
    return this.#submit({ at: this.#clock(), input })
  }

  /**
   * Queues an input from the world (peer, chain, timer). Its refusals are recorded, not thrown; after
   * close it is dropped, as a crash would drop it (peers retransmit, the chain replays from the cursor).
   */
  async #offer(input: EngineInput): Promise<void> {
    try {
      await this.#enqueue(input)
    } catch (error) {
      if (!(error instanceof EngineStoppedError) && error !== this.#stopped) throw error
    }
  }

  #submit(timed: TimedInput): Promise<unknown> {
    if (this.#stopped) return Promise.reject(this.#stopped)
    return new Promise((resolve, reject) => {
      this.#queue.push({ timed, resolve, reject })
      if (!this.#running) {
        // Start on a microtask: inputs queued in the same tick (a burst of API calls) share one commit.
        this.#running = true
        queueMicrotask(() => void this.#drain())
      }
    })
  }

  async #drain(): Promise<void> {
    this.#running = true
    try {
      while (this.#queue.length > 0 && !this.#stopped) {
        const batch = this.#queue.splice(0, MAX_INPUTS_PER_COMMIT)
        await this.#step(batch)
      }
    } finally {
      this.#running = false
      for (const pending of this.#queue.splice(0)) pending.reject(this.#stopped)
      for (const resolve of this.#idleWaiters.splice(0)) resolve()
    }
  }

  async #step(batch: Pending[]): Promise<void> {
    const tables: StateTables = this.#tables
    const step = new StepContext(tables, batch[batch.length - 1]!.timed.at)
    const journal: ChannelEvent[] = []
    /** Acknowledgements of frames that changed nothing: sent after the commit, needing no fsync of their own. */
    const inertAcks: { to: Address; seqs: bigint[] }[] = []
    const results: { pending: Pending; result?: unknown; error?: unknown }[] = []
    let head = this.#journalHead
    for (const pending of batch) {
      let entry: ChannelEvent
      try {
        entry = journalEntry(head, { kind: journalKindOf(pending.timed.input), payload: encodeInput(pending.timed), author: this.address })
      } catch (error) {
        // An input that cannot be journaled (an API argument the codec refuses) is refused before it counts:
        // the caller learns why; any other input's refusal is counted like one refused at admission.
        results.push({ pending, error })
        if (pending.timed.input.kind !== 'api') {
          const code = error instanceof ChannelsError ? error.code : 'internal'
          this.#edgeCounts[code] = (this.#edgeCounts[code] ?? 0) + 1
          this.#keepRejection({ code, summary: error instanceof ChannelsError ? error.summary : String(error) })
        }
        continue
      }
      const ctx = new StepContext(step, pending.timed.at)
      try {
        const result = handleInput(ctx, pending.timed.input, this.#deps)
        flushOutgoing(ctx)
        if (pending.timed.input.kind === 'peer' && ctx.isInert()) {
          // A frame that changed nothing (every payload refused, a duplicate, nothing acknowledged) leaves no
          // journal entry (ADR 0016): its refusals are counted like those at admission, its acks and refusal
          // notices still go out. Refused again if sent again: it changed nothing to replay.
          for (const rejection of ctx.rejections) {
            this.#edgeCounts[rejection.code] = (this.#edgeCounts[rejection.code] ?? 0) + 1
            this.#keepRejection(rejection)
          }
          for (const { to, seqs } of ctx.acks.values()) inertAcks.push({ to, seqs })
          for (const { to, payloads } of ctx.notices.values()) step.notice(to, ...payloads)
          results.push({ pending, result })
          continue
        }
        journal.push(entry)
        head = entry
        step.absorb(ctx)
        results.push({ pending, result })
      } catch (error) {
        journal.push(entry)
        head = entry
        // A refused input (or a broken invariant) drops only its own changes; the journal keeps it.
        const code = error instanceof ChannelsError ? error.code : 'internal'
        const summary = error instanceof ChannelsError ? error.summary : String(error)
        step.rejections.push({ code, summary, ...(pending.timed.input.kind === 'peer' ? { from: pending.timed.input.from } : {}) })
        results.push({ pending, error })
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
    try {
      await this.options.store.commit(ops, { sync: this.#needsSync(step) })
    } catch (error) {
      this.#stopped = error instanceof Error ? error : new EngineStoppedError('commit failed', {}, { cause: error })
      for (const { pending } of results) pending.reject(this.#stopped)
      return
    }
    this.#journalHead = head
    for (const name of TABLES) (this.#tables[name] as Table<unknown>).apply(draftOf(step, name).changes())
    for (const [key, entry] of step.outbox.changes()) this.#unacked.apply(key, entry)
    this.#tables.activeLedgerUpdates.apply(step.activeLedgerUpdates.changes())
    this.#tables.activeVirtual.apply(step.activeVirtual.changes())
    for (const [id, waitingFor] of step.waitingFor) this.#waitingFor.set(id, waitingFor)
    for (const rejection of step.rejections) this.#keepRejection(rejection)
    this.#notify(step)
    for (const { to, seqs } of inertAcks) {
      const waiting = this.#pendingAcks.get(to.toLowerCase()) ?? { to, seqs: [] }
      waiting.seqs.push(...seqs)
      this.#pendingAcks.set(to.toLowerCase(), waiting)
    }
    try {
      this.#runEffects(step)
    } catch (error) {
      // After the commit nothing is lost: unsent frames are retransmitted from the outbox. Keep the evidence.
      this.#keepRejection({ code: 'effect_failed', summary: error instanceof Error ? error.message : String(error) })
    }
    for (const { pending, result, error } of results) {
      // API callers learn why their request was refused; other inputs' refusals are in `rejections`.
      if (error !== undefined && pending.timed.input.kind === 'api') pending.reject(error)
      else pending.resolve(result)
    }
  }

  #runEffects(step: StepContext): void {
    const { transport, chain } = this.options
    if (transport) {
      for (const { to, seqs } of step.acks.values()) {
        const pending = this.#pendingAcks.get(to.toLowerCase()) ?? { to, seqs: [] }
        pending.seqs.push(...seqs)
        this.#pendingAcks.set(to.toLowerCase(), pending)
      }
      const fresh = [...step.outbox.changes().values()].filter((e): e is OutboxEntry => e !== undefined && e.attempts === 1)
      for (const entry of [...fresh, ...step.retransmit]) {
        transport.send(entry.to, encodeFrame({ seq: entry.seq, payloads: entry.payloads, acks: this.#takeAcks(entry.to), ...this.#session(entry.to) }))
      }
      for (const { to, payloads } of step.notices.values()) transport.send(to, encodeFrame({ seq: null, payloads, acks: this.#takeAcks(to), ...this.#session(to) }))
      // An ack with nothing to ride on waits a little: the next frame to that peer (the next update of a
      // busy channel) usually carries it, which saves the peer a step and a frame per update.
      if (this.#pendingAcks.size > 0) this.#ackTimer ??= setTimeout(() => this.#flushAcks(), ACK_DELAY_MS)
    }
    if (chain) {
      for (const { objectiveId, tx } of step.transactions) {
        chain.submit(tx).catch((error: unknown) => {
          const code = error instanceof ChannelsError ? error.code : 'chain_error'
          const summary = error instanceof ChannelsError ? error.summary : String(error)
          void this.#offer({ kind: 'chainResult', objectiveId, code, summary })
        })
      }
    }
  }

  /** Keeps the latest rejections for inspection (RECENT_REJECTIONS of them). */
  #keepRejection(rejection: Rejection): void {
    this.#recentRejections.push(rejection)
    if (this.#recentRejections.length > RECENT_REJECTIONS) this.#recentRejections.shift()
  }

  /**
   * The session fields of a frame to `to`: my epoch, the peer's as I know it (0 until it told me), and my lowest
   * unacknowledged seq to it (my next one when none is), below which it may count everything delivered.
   */
  #session(to: Address): { epochs: { sender: bigint; receiver: bigint }; base: bigint } {
    const key = to.toLowerCase()
    const peer = this.#tables.peers.get(key)
    return {
      epochs: { sender: this.#tables.meta.get('meta')!.epoch ?? 0n, receiver: peer?.epoch ?? 0n },
      base: this.#unacked.lowest(key) ?? peer?.nextSeq ?? 1n,
    }
  }

  /** The acknowledgements waiting for a frame to `to`: this frame carries them. */
  #takeAcks(to: Address): bigint[] {
    const pending = this.#pendingAcks.get(to.toLowerCase())
    this.#pendingAcks.delete(to.toLowerCase())
    return pending?.seqs ?? []
  }

  #flushAcks(): void {
    this.#ackTimer = undefined
    const transport = this.options.transport
    for (const { to, seqs } of this.#pendingAcks.values()) transport?.send(to, encodeFrame({ seq: null, payloads: [], acks: seqs, ...this.#session(to) }))
    this.#pendingAcks.clear()
  }

  /**
   * Whether losing this step in a crash could lose something: only steps that merely drop acknowledged
   * outbox entries, bump retransmission counters or record ack-only frames may skip the fsync (they become
   * durable with the next synced commit; if lost, the peer's frames are retransmitted and deduplicated).
   * A step that acknowledges a frame must be durable first, or the peer would forget a frame we lost.
   */
  #needsSync(step: StepContext): boolean {
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

  #notify(step: StepContext): void {
    for (const id of step.changedStatus) {
      const objective = this.#tables.objectives.get(id)
      if (objective) for (const listener of [...this.#listeners]) safely(() => listener(objective))
    }
    for (const [, channel] of step.apps.changes()) if (channel) for (const listener of [...this.#appListeners]) safely(() => listener(channel))
    if (this.#changeListeners.size === 0) return
    const changes: EngineChange[] = []
    for (const [, ledger] of step.ledgers.changes()) if (ledger) changes.push({ kind: 'ledger', ledger })
    for (const [, channel] of step.payments.changes()) if (channel) changes.push({ kind: 'payment', channel })
    for (const [, channel] of step.apps.changes()) if (channel) changes.push({ kind: 'app', channel })
    for (const change of changes) for (const listener of [...this.#changeListeners]) safely(() => listener(change))
  }

  /** After a restart every unacknowledged entry is due again: the peer may have missed it. */
  #resendAll(): void {
    for (const entry of this.#tables.outbox.values()) {
      this.options.transport!.send(entry.to, encodeFrame({ seq: entry.seq, payloads: entry.payloads, acks: [], ...this.#session(entry.to) }))
    }
  }

  #hasDueEntries(): boolean {
    const now = this.#clock()
    for (const entry of this.#tables.outbox.values()) if (entry.nextAttemptAt <= now) return true
    for (const channel of this.#tables.apps.values()) if (hasDueTimeout(channel, now)) return true
    if (hasDueDispute(this.#tables.objectives, this.#tables.activeVirtual.get(ACTIVE_DISPUTES) ?? [], now)) return true
    return false
  }

  #indexActiveLedgerUpdates(): void {
    const index = new Map<string, string[]>()
    const virtuals: string[] = []
    const ledgerFundedApps: string[] = []
    const disputes: string[] = []
    for (const o of this.#tables.objectives.values()) {
      if (o.kind === 'ledgerUpdate' && isActive(o)) index.set(o.ledgerId, [...(index.get(o.ledgerId) ?? []), o.id])
      if ((o.kind === 'virtualfund' || o.kind === 'virtualdefund') && isActive(o)) virtuals.push(o.id)
      if ((o.kind === 'appfund' || o.kind === 'appdefund') && o.funding === 'ledger' && isActive(o)) ledgerFundedApps.push(o.id)
      if (o.kind === 'appdispute' && isActive(o)) disputes.push(o.id)
    }
    for (const [ledgerId, ids] of index) this.#tables.activeLedgerUpdates.set(ledgerId, ids)
    this.#tables.activeVirtual.set('all', virtuals)
    this.#tables.activeVirtual.set(LEDGER_FUNDED_APPS, ledgerFundedApps)
    this.#tables.activeVirtual.set(ACTIVE_DISPUTES, disputes)
  }

  /**
   * Stores written before holdings were kept per (channel, asset) hold them under the channel id alone: each is
   * moved under its channel's own asset (a ledger's, an app channel's, a funding or defunding objective's), or
   * dropped when the channel is not mine — before anything reads them (a defund judging its payout on 0 would
   * complete without one).
   */
  async #migrateHoldings(): Promise<void> {
    const holdings = this.#tables.holdings
    const changes = new Map<string, bigint | undefined>()
    for (const key of [...holdings.keys()]) {
      if (key.includes(':')) continue
      const id = key as Bytes32
      const objective = this.#tables.objectives.get(directFund.directFundId(id)) ?? this.#tables.objectives.get(directDefund.directDefundId(id))
      const asset =
        this.#tables.ledgers.get(id)?.supported.vars.outcome.asset ??
        this.#tables.apps.get(id)?.context.definition.asset ??
        (objective?.kind === 'directfund' ? objective.prefund.state.outcome[0]!.asset : objective?.kind === 'directdefund' ? objective.final.state.outcome[0]!.asset : undefined)
      changes.set(key, undefined)
      if (asset !== undefined) changes.set(holdingsKey(id, asset), holdings.get(key)!)
    }
    if (changes.size === 0) return
    await this.options.store.commit(tableOps('holdings', changes), { sync: true })
    holdings.apply(changes)
  }

  /** waitingFor is derived: after a restart, crank (purely) to recompute it. */
  #recomputeWaitingFor(): void {
    for (const objective of this.#tables.objectives.values()) {
      if (!isActive(objective)) continue
      if (objective.kind === 'directfund') this.#waitingFor.set(objective.id, directFund.crank(objective, this.options.signer).waitingFor)
      else if (objective.kind === 'directdefund') this.#waitingFor.set(objective.id, directDefund.crank(objective, this.options.signer).waitingFor)
      else if (objective.kind === 'ledgerUpdate') {
        const ledger = this.#tables.ledgers.get(objective.ledgerId)
        if (ledger) this.#waitingFor.set(objective.id, ledgerUpdate.crank(objective, ledger, this.options.signer).waitingFor)
      }
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

function draftOf(step: StepContext, name: TableName) {
  return step[name] as { changes(): ReadonlyMap<string, unknown> }
}

/** The journal of a store, for replay and inspection. */
export function readJournal(store: Store): AsyncIterable<ChannelEvent> {
  return readEvents(store, JOURNAL_LOG_ID)
}
