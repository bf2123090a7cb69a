// A typed client for the node's JSON-RPC API (docs/api.md, docs/openrpc.json): bigint in and out, params
// encoded and answers decoded with the same zod codecs the server uses (src/rpc/schemas.ts), so a bad
// answer is a typed error rather than a wrong number. Calls go over HTTP (global fetch); subscriptions
// over a WebSocket (`ws`: Node 20 has no global WebSocket), opened on the first subscribe.
import { z } from 'zod'
import type { Address, Bytes32 } from '../core/types.js'
import { RpcErrorCode } from '../rpc/errors.js'
import type { AppChannelInfo, ExportFormat, MethodName, NotificationResult, ObjectiveInfo, ParamsOf, ResultOf, Topic, Voucher } from '../rpc/schemas.js'
import { NOTIFICATION_RESULTS, TOPICS } from '../rpc/schemas.js'
import { InvalidResponseError, ObjectiveFailedError, ProposalRefusedError, RequestFailedError, RpcError, WaitTimeoutError } from './errors.js'
import { SocketLink } from './socketLink.js'
import { decodeResult, encodeParams, fileBytes, issuesOf, unwrap } from './wire.js'

/** How long one call may take; the engine answers within milliseconds, a stuck network must not hang a caller. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000
/** How long waitFor* wait unless told: bounded, so a wait on a misspelt id ends. */
export const DEFAULT_WAIT_TIMEOUT_MS = 60_000
/** Notifications held while a subscribe answer is on its way (they can overtake it), then dropped. */
const MAX_EARLY_NOTIFICATIONS = 1_000

export { InvalidResponseError, ObjectiveFailedError, ProposalRefusedError, RequestFailedError, RpcError, WaitTimeoutError } from './errors.js'

export type Notification = { [T in Topic]: { readonly topic: T; readonly subscription: string; readonly result: NotificationResult<T> } }[Topic]

export interface ConnectOptions {
  /** The node's RPC URL, http://host:port (RpcServer.url). */
  readonly url: string
  /** The node's secret (`<data dir>/rpc.secret`). */
  readonly secret: string
  /** Open the WebSocket now (default: on the first subscribe). */
  readonly ws?: boolean
  readonly requestTimeoutMs?: number
  /** Errors no call can report: a malformed notification, a listener that threw. Default: process.emitWarning. */
  readonly onError?: (error: Error) => void
}

export interface WaitOptions {
  readonly timeoutMs?: number
}

type Listener = (notification: Notification) => void

export class ChannelsClient {
  readonly #url: string
  readonly #wsUrl: string
  readonly #secret: string
  readonly #requestTimeoutMs: number
  readonly #onError: (error: Error) => void
  readonly #listeners = new Map<string, Listener>()
  readonly #early: Notification[] = []
  readonly #closeHooks = new Set<() => void>()
  #subscribing = 0
  #lastId = 0
  #socket: Promise<SocketLink> | undefined
  #closed = false

  private constructor(options: ConnectOptions) {
    this.#url = options.url
    this.#wsUrl = options.url.replace(/^http/, 'ws')
    this.#secret = options.secret
    this.#requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
    this.#onError = options.onError ?? ((error) => process.emitWarning(error))
  }

  /**
   * Connects to a node and checks the URL and secret with one call (or by opening the WebSocket).
   * @example const client = await ChannelsClient.connect({ url: 'http://127.0.0.1:4100', secret })
   * @throws RpcError -32001 for a wrong secret; RequestFailedError if nothing answers.
   */
  static async connect(options: ConnectOptions): Promise<ChannelsClient> {
    const client = new ChannelsClient(options)
    if (options.ws) await client.#link()
    else await client.version()
    return client
  }

  /** The node's channel address. */
  getAddress(): Promise<ResultOf<'get_address'>> {
    return this.#call('get_address', {})
  }

  /** The node's software version. */
  version(): Promise<string> {
    return this.#call('version', {})
  }

  /** Address, version, chain id and transport identity (null without a chain or libp2p). */
  getNodeInfo(): Promise<ResultOf<'get_node_info'>> {
    return this.#call('get_node_info', {})
  }

  /**
   * What the node refused (a stranger's ledger, a ledger change nobody agreed to, junk, floods): counts by code
   * and the latest refusals with the peer that caused them.
   * @example const { counts } = await client.getRejections(); counts.peer_not_allowed
   */
  getRejections(): Promise<ResultOf<'get_rejections'>> {
    return this.#call('get_rejections', {})
  }

  /**
   * Opens and funds a ledger channel with `counterparty`; resolves once the DirectFund started.
   * @example const { objectiveId, channelId } = await client.createLedgerChannel({ counterparty: hub, myDeposit: 10n ** 18n, theirDeposit: 10n ** 18n })
   * @throws RpcError -32602 (bad params), -32003 (refused, e.g. `objective_exists`), -32005 (unavailable).
   */
  createLedgerChannel(p: ParamsOf<'create_ledger_channel'>): Promise<ResultOf<'create_ledger_channel'>> {
    return this.#call('create_ledger_channel', p)
  }

  /** Every dispute the node runs or ran on chain (ledger or app channel). */
  listDisputes(): Promise<ResultOf<'list_disputes'>> {
    return this.#call('list_disputes', {})
  }

  /** Settles a ledger on chain from its supported state (challenge, then payout); `waitForObjective(objectiveId)` follows it. */
  challengeLedgerChannel(channelId: Bytes32): Promise<ResultOf<'challenge_ledger_channel'>> {
    return this.#call('challenge_ledger_channel', { channelId })
  }

  /** The file a watchtower takes (`channels watchtower add`), with the latest supported state of each channel to defend. */
  exportWatchtowerHandover(): Promise<ResultOf<'export_watchtower_handover'>> {
    return this.#call('export_watchtower_handover', {})
  }

  /** Settles a payment channel on chain (and the ledgers holding its guarantee); `waitForObjective(objectiveId)` follows it. */
  challengePaymentChannel(channelId: Bytes32): Promise<ResultOf<'challenge_payment_channel'>> {
    return this.#call('challenge_payment_channel', { channelId })
  }

  /** Closes a ledger channel (DirectDefund). @throws RpcError -32002 (unknown ledger), -32003 (`ledger_not_empty`, …). */
  closeLedgerChannel(channelId: Bytes32): Promise<ResultOf<'close_ledger_channel'>> {
    return this.#call('close_ledger_channel', { channelId })
  }

  /** A ledger channel's status, balances and guarantees. @throws RpcError -32002 if unknown. */
  getLedgerChannel(channelId: Bytes32): Promise<ResultOf<'get_ledger_channel'>> {
    return this.#call('get_ledger_channel', { channelId })
  }

  /** Every ledger channel the node has or had. */
  getAllLedgerChannels(): Promise<ResultOf<'get_all_ledger_channels'>> {
    return this.#call('get_all_ledger_channels', {})
  }

  /**
   * Opens a payment channel to `counterparty` through `intermediaries`, funded with `amount` of mine.
   * @example const { objectiveId, channelId } = await client.createPaymentChannel({ counterparty: bob, intermediaries: [hub], amount: 1000n })
   * @throws RpcError -32002 (`no_such_ledger`: no ledger with the first hop), -32003 (refused).
   */
  createPaymentChannel(p: ParamsOf<'create_payment_channel'>): Promise<ResultOf<'create_payment_channel'>> {
    return this.#call('create_payment_channel', p)
  }

  /** Closes a payment channel (payer or payee). @throws RpcError -32002 (unknown), -32003 (`objective_exists`, `channel_not_open`). */
  closePaymentChannel(channelId: Bytes32): Promise<ResultOf<'close_payment_channel'>> {
    return this.#call('close_payment_channel', { channelId })
  }

  /**
   * Payer: pays `amount` more; resolves to the voucher (cumulative amount) the node sent to the payee.
   * @example const voucher = await client.pay(channelId, 5n) // voucher.amount: the total paid so far
   * @throws RpcError -32003 (`payment_refused`, `channel_closing`, `channel_closed`, `channel_not_open`), -32002 (unknown).
   */
  pay(channelId: Bytes32, amount: bigint): Promise<Voucher> {
    return this.#call('pay', { channelId, amount })
  }

  /** Payer: a voucher for `amount` more, not sent (hand it over out of band). Errors as `pay`. */
  createVoucher(channelId: Bytes32, amount: bigint): Promise<Voucher> {
    return this.#call('create_voucher', { channelId, amount })
  }

  /** Payee: redeems a voucher; resolves to the channel after it. @throws RpcError -32003 (`voucher_refused`, …), -32002. */
  receiveVoucher(voucher: Voucher): Promise<ResultOf<'receive_voucher'>> {
    return this.#call('receive_voucher', { voucher })
  }

  /** A payment channel as this node sees it. @throws RpcError -32002 if unknown. */
  getPaymentChannel(channelId: Bytes32): Promise<ResultOf<'get_payment_channel'>> {
    return this.#call('get_payment_channel', { channelId })
  }

  /** Payment channels whose guarantee is or was in ledger `ledgerId`. @throws RpcError -32002 if the ledger is unknown. */
  getPaymentChannelsByLedger(ledgerId: Bytes32): Promise<ResultOf<'get_payment_channels_by_ledger'>> {
    return this.#call('get_payment_channels_by_ledger', { ledgerId })
  }

  /** An objective's status, where it waits and why it failed. @throws RpcError -32002 if unknown. */
  getObjective(objectiveId: string): Promise<ObjectiveInfo> {
    return this.#call('get_objective', { objectiveId })
  }

  // ---- app channels ----

  /**
   * Opens an app channel of `participants` (this node included) running app `appId`; each puts in
   * `deposits[i]`. The channel is open once turn 0 is signed by all: `waitForAppTurn(channelId, 0n)`.
   * @example const { channelId } = await client.createAppChannel({ participants: [me, them], appId, params: Uint8Array.of(2), deposits: [1000n, 1000n] })
   */
  createAppChannel(p: {
    participants: readonly Address[]
    appId: Bytes32
    params: Uint8Array
    deposits: readonly bigint[]
    /** Default 'direct' when any deposit is non-zero, else 'none'. */
    funding?: 'none' | 'direct' | 'ledger'
    /** Seconds a participant has to move before the app's timeout event may be submitted against it; 0: never. */
    moveTimeout?: number
    asset?: Address
    nonce?: bigint
    challengeDuration?: number
  }): Promise<ResultOf<'create_app_channel'>> {
    return this.#call('create_app_channel', { ...p, participants: [...p.participants], deposits: [...p.deposits] })
  }

  /** Closes an app channel whose app is final (it also closes by itself); `waitForObjective(objectiveId)` follows it. */
  closeAppChannel(channelId: Bytes32): Promise<ResultOf<'close_app_channel'>> {
    return this.#call('close_app_channel', { channelId })
  }

  /** Settles an app channel funded on chain from the latest state signed by all (challenge, then payout); `waitForObjective(objectiveId)` follows it. */
  challengeAppChannel(channelId: Bytes32): Promise<ResultOf<'challenge_app_channel'>> {
    return this.#call('challenge_app_channel', { channelId })
  }

  /** Proposes an event of mine; `turnNum` is final once every participant signs it (`waitForAppTurn`). */
  submitEvent(channelId: Bytes32, event: Uint8Array): Promise<ResultOf<'submit_event'>> {
    return this.#call('submit_event', { channelId, event })
  }

  /** An app channel: the latest turn signed by all, its app state, whose turn, the outcome. */
  getAppState(channelId: Bytes32): Promise<AppChannelInfo> {
    return this.#call('get_app_state', { channelId })
  }

  /** Fully signed events fromSeq..toSeq (default from 1; at most MAX_EVENTS_PER_CALL), with their authors. */
  getEvents(channelId: Bytes32, range: { fromSeq?: bigint; toSeq?: bigint } = {}): Promise<ResultOf<'get_events'>> {
    return this.#call('get_events', { channelId, ...range })
  }

  /** The app state after event `seq` (1 = the genesis). */
  getStateAt(channelId: Bytes32, seq: bigint): Promise<ResultOf<'get_state_at'>> {
    return this.#call('get_state_at', { channelId, seq })
  }

  /** The states after `fromSeq` and `toSeq`, and the events between them. */
  getStateDiff(channelId: Bytes32, fromSeq: bigint, toSeq: bigint): Promise<ResultOf<'get_state_diff'>> {
    return this.#call('get_state_diff', { channelId, fromSeq, toSeq })
  }

  /** The exported log as file bytes (what `channels verify` and decodeExportedLog read). */
  async exportLog(channelId: Bytes32, format: ExportFormat = 'msgpack'): Promise<Uint8Array> {
    const { data } = await this.#call('export_log', { channelId, format })
    return fileBytes(format, data)
  }

  /**
   * Resolves with the channel once turn `turnNum` is signed by every participant (checked now and on every
   * update). Rejects with ProposalRefusedError once a participant's node says it refused the pending proposal
   * of that turn or an earlier one, since the turn then cannot come (unless that node changes its mind).
   */
  waitForAppTurn(channelId: Bytes32, turnNum: bigint, options: WaitOptions = {}): Promise<AppChannelInfo> {
    const id = channelId.toLowerCase()
    return this.#waitFor({
      what: `turn ${turnNum} of app channel ${channelId}`,
      topics: ['app_channel_updated'],
      current: () => this.#ifKnown(this.getAppState(channelId)),
      pick: (n) => (n.topic === 'app_channel_updated' && n.result.channelId === id ? n.result : undefined),
      verdict: (a) => {
        if (a.turnNum !== null && a.turnNum >= turnNum) return 'done'
        const refused = a.pending && a.pending.turnNum <= turnNum && a.pending.refusedBy.length > 0
        return refused ? new ProposalRefusedError(a.channelId, a.pending!.turnNum, a.pending!.refusedBy) : 'wait'
      },
      timeoutMs: options.timeoutMs,
    })
  }

  /** The API's OpenRPC document. */
  discover(): Promise<ResultOf<'rpc.discover'>> {
    return this.#call('rpc.discover', {})
  }

  /**
   * Calls `listener` with each notification of `topics` (opening the WebSocket if needed); resolves to a
   * function that unsubscribes. Subscriptions end if the socket closes.
   * @example const stop = await client.subscribe(['payment_channel_updated'], (n) => console.log(n.result.paid))
   * @throws RpcError -32004 (too many subscriptions), RequestFailedError.
   */
  async subscribe(topics: readonly Topic[], listener: Listener): Promise<() => Promise<void>> {
    const link = await this.#link()
    this.#subscribing++
    let id: string
    try {
      id = await this.#callOver(link, 'subscribe', { topics: [...topics] })
      this.#listeners.set(id, listener)
    } finally {
      this.#subscribing--
    }
    for (const n of this.#early.splice(0)) this.#dispatch(n)
    return async () => {
      if (!this.#listeners.delete(id) || link.closed) return
      try {
        await this.#callOver(link, 'unsubscribe', { subscription: id })
      } catch (error) {
        // Closing the client while an unsubscribe is in flight ends the subscription anyway.
        if (!(this.#closed || link.closed)) throw error
      }
    }
  }

  /**
   * Resolves when the objective completes; rejects with ObjectiveFailedError if it fails or is rejected,
   * WaitTimeoutError after `timeoutMs`. Subscribes before it looks, so no change is missed; an objective
   * the node does not know yet (a peer starts it) is waited for.
   */
  waitForObjective(objectiveId: string, options: WaitOptions = {}): Promise<ObjectiveInfo> {
    return this.#waitFor<ObjectiveInfo>({
      what: `objective ${objectiveId}`,
      topics: ['objective_completed', 'objective_failed'],
      current: () => this.#ifKnown(this.getObjective(objectiveId)),
      pick: (n) => (n.topic === 'objective_completed' || n.topic === 'objective_failed') && n.result.id === objectiveId ? n.result : undefined,
      verdict: (o) => (o.status === 'completed' ? 'done' : o.status === 'failed' || o.status === 'rejected' ? new ObjectiveFailedError(o) : 'wait'),
      timeoutMs: options.timeoutMs,
    })
  }

  /** Resolves with the payment channel once `predicate` holds for it (checked now and on every update). */
  waitForPaymentChannel(channelId: Bytes32, predicate: (pc: ResultOf<'get_payment_channel'>) => boolean, options: WaitOptions = {}): Promise<ResultOf<'get_payment_channel'>> {
    const id = channelId.toLowerCase()
    return this.#waitFor({
      what: `payment channel ${channelId}`,
      topics: ['payment_channel_updated'],
      current: () => this.#ifKnown(this.getPaymentChannel(channelId)),
      pick: (n) => (n.topic === 'payment_channel_updated' && n.result.channelId === id ? n.result : undefined),
      verdict: (pc) => (predicate(pc) ? 'done' : 'wait'),
      timeoutMs: options.timeoutMs,
    })
  }

  /** Resolves with the ledger channel once `predicate` holds for it (checked now and on every update). */
  waitForLedgerChannel(channelId: Bytes32, predicate: (l: ResultOf<'get_ledger_channel'>) => boolean, options: WaitOptions = {}): Promise<ResultOf<'get_ledger_channel'>> {
    const id = channelId.toLowerCase()
    return this.#waitFor({
      what: `ledger channel ${channelId}`,
      topics: ['ledger_channel_updated'],
      current: () => this.#ifKnown(this.getLedgerChannel(channelId)),
      pick: (n) => (n.topic === 'ledger_channel_updated' && n.result.channelId === id ? n.result : undefined),
      verdict: (l) => (predicate(l) ? 'done' : 'wait'),
      timeoutMs: options.timeoutMs,
    })
  }

  /** Closes the WebSocket (ending subscriptions and waits); HTTP holds no connection of ours. */
  async close(): Promise<void> {
    this.#closed = true
    const socket = this.#socket
    this.#socket = undefined
    if (socket) await socket.then((link) => link.close(), () => undefined)
  }

  // ---- calls ----

  async #call<M extends MethodName>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
    const id = ++this.#lastId
    const body = JSON.stringify({ jsonrpc: '2.0', id, method, params: encodeParams(method, params) })
    let response: Response
    let text: string
    try {
      response = await fetch(this.#url, {
        method: 'POST',
        headers: { Authorization: `Bearer ${this.#secret}`, 'Content-Type': 'application/json' },
        body,
        signal: AbortSignal.timeout(this.#requestTimeoutMs),
      })
      text = await response.text()
    } catch (cause) {
      throw new RequestFailedError(`${method}: no answer from ${this.#url}`, { method }, { cause })
    }
    let answer: unknown
    try {
      answer = JSON.parse(text)
    } catch (cause) {
      throw new InvalidResponseError(`${method}: HTTP ${response.status} with a body that is not JSON`, { method, status: response.status }, { cause })
    }
    return decodeResult(method, unwrap(answer, id, method))
  }

  async #callOver<M extends MethodName>(link: SocketLink, method: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
    const id = ++this.#lastId
    const answer = await link.request(JSON.stringify({ jsonrpc: '2.0', id, method, params: encodeParams(method, params) }), id, this.#requestTimeoutMs)
    return decodeResult(method, unwrap(answer, id, method))
  }

  /** A not-found answer means "not yet"; any other error stands. */
  async #ifKnown<T>(call: Promise<T>): Promise<T | undefined> {
    try {
      return await call
    } catch (error) {
      if (error instanceof RpcError && error.code === RpcErrorCode.notFound) return undefined
      throw error
    }
  }

  // ---- the WebSocket ----

  #link(): Promise<SocketLink> {
    if (this.#closed) return Promise.reject(new RequestFailedError('the client is closed'))
    this.#socket ??= SocketLink.open(this.#wsUrl, this.#secret, {
      onMessage: (message) => this.#onNotification(message),
      onError: this.#onError,
      onClose: () => {
        this.#socket = undefined
        this.#listeners.clear()
        for (const hook of [...this.#closeHooks]) hook()
      },
    }).catch((error: unknown) => {
      this.#socket = undefined
      throw error
    })
    return this.#socket
  }

  #onNotification(message: Record<string, unknown>): void {
    const topic = message.method as Topic
    if (!TOPICS.includes(topic)) return this.#onError(new InvalidResponseError('a notification of an unknown topic', { method: String(message.method).slice(0, 100) }))
    const parsed = z.object({ subscription: z.string(), result: NOTIFICATION_RESULTS[topic] }).safeParse(message.params)
    if (!parsed.success) return this.#onError(new InvalidResponseError(`a ${topic} notification does not match the API`, { issues: issuesOf(parsed.error) }))
    this.#dispatch({ topic, subscription: parsed.data.subscription, result: parsed.data.result } as Notification)
  }

  #dispatch(n: Notification): void {
    const listener = this.#listeners.get(n.subscription)
    if (!listener) {
      // It may have overtaken its subscribe answer; otherwise it is for a subscription just ended.
      if (this.#subscribing > 0 && this.#early.length < MAX_EARLY_NOTIFICATIONS) this.#early.push(n)
      return
    }
    try {
      listener(n)
    } catch (error) {
      this.#onError(error instanceof Error ? error : new Error(String(error)))
    }
  }

  #waitFor<T>(p: {
    what: string
    topics: Topic[]
    current: () => Promise<T | undefined>
    pick: (n: Notification) => T | undefined
    verdict: (value: T) => 'done' | 'wait' | Error
    timeoutMs: number | undefined
  }): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let finished = false
      let unsubscribe: (() => Promise<void>) | undefined
      const finish = (settle: () => void) => {
        if (finished) return
        finished = true
        clearTimeout(timer)
        this.#closeHooks.delete(onClose)
        unsubscribe?.().catch(this.#onError)
        settle()
      }
      const consider = (value: T | undefined) => {
        if (value === undefined) return
        const verdict = p.verdict(value)
        if (verdict === 'done') finish(() => resolve(value))
        else if (verdict instanceof Error) finish(() => reject(verdict))
      }
      const timeoutMs = p.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS
      const timer = setTimeout(() => finish(() => reject(new WaitTimeoutError(`timed out after ${timeoutMs} ms waiting for ${p.what}`, { timeoutMs }))), timeoutMs)
      const onClose = () => finish(() => reject(new RequestFailedError(`the WebSocket closed while waiting for ${p.what}`)))
      this.#closeHooks.add(onClose)
      void (async () => {
        const stop = await this.subscribe(p.topics, (n) => consider(p.pick(n)))
        if (finished) return stop()
        unsubscribe = stop
        consider(await p.current())
      })().catch((error: unknown) => finish(() => reject(error)))
    })
  }
}
