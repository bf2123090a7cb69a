// The node's JSON-RPC methods and the envelope that calls them (JSON-RPC 2.0, §4-§6: calls, notifications,
// batches). For each name: its documentation, the error codes it may answer with and its handler. Params
// and result schemas come from the wire contract (schemas.ts); `invoke` decodes the params with the
// method's schema, runs the handler and encodes the result with the result schema, so a handler sees only
// typed values (bigint, checksummed addresses) and cannot answer outside the contract.
import { encodeHandover, watchtowerEntry } from '../watchtower/handover.js'
import type { Address, Bytes32 } from '../core/types.js'
import type { Engine } from '../engine/engine.js'
import { assert } from '../core/errors.js'
import { NoSuchLedgerError, NoSuchObjectiveError } from '../engine/errors.js'
import { UnknownChannelError } from '../engine/virtual.js'
import type { MethodName, ParamsOf, ResultOf, Topic } from './schemas.js'
import { RPC_METHODS } from './schemas.js'
import type { RpcErrorCodeValue, RpcErrorObject } from './errors.js'
import { RpcErrorCode, RpcMethodError, invalidParams, toRpcError } from './errors.js'
import { MAX_BATCH_SIZE, MAX_EVENTS_PER_CALL } from './limits.js'
import { appEvents, appStateAt, appStateDiff, exportAppLog, requireAppChannelInfo } from './appViews.js'
import { allDisputes, allLedgerChannels, ledgerChannelInfo, objectiveInfo, paymentChannelInfo, paymentChannelsByLedger, toWire } from './serialize.js'
import type { OpenRpcDocument, OpenRpcMethodSource } from './openrpc.js'
import { buildOpenRpcDocument } from './openrpc.js'

/** What the server needs of the node; the daemon passes an object with these. */
export interface RpcNode {
  readonly engine: Engine
  /** The node's software version. */
  readonly version: string
  readonly chainId?: number
  /** The contracts the node settles on (a watchtower hand-over names them); absent without a chain. */
  readonly contracts?: { readonly adjudicator: Address; readonly virtualPaymentApp: Address }
  /** The transport's identity, if it has one (libp2p). */
  readonly peerInfo?: () => { peerId: string; multiaddrs: string[] }
  /** A fresh channel nonce when the caller gives none (random in the daemon, a counter in tests). */
  readonly newNonce: () => bigint
}

/** pino's shape: `logger.warn({ ...facts }, 'message')`. A pino logger fits. */
export interface RpcLogger {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  debug(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

/** A WebSocket connection's subscriptions; absent over HTTP. */
export interface SocketSession {
  subscribe(topics: readonly Topic[]): string
  unsubscribe(subscription: string): boolean
}

export interface CallContext {
  readonly node: RpcNode
  readonly socket: SocketSession | undefined
}

type Handler<M extends MethodName> = (ctx: CallContext, params: ParamsOf<M>) => ResultOf<M> | Promise<ResultOf<M>>

interface MethodEntry<M extends MethodName> {
  readonly summary: string
  readonly description?: string
  /** Application errors this method may answer with, besides unauthorized, invalid params and internal. */
  readonly errors: readonly RpcErrorCodeValue[]
  readonly handler: Handler<M>
}

const { notFound, refused, unavailable, limitExceeded, wrongTransport } = RpcErrorCode
const ENGINE_CALL = [notFound, refused, unavailable]

const ENTRIES: { readonly [M in MethodName]: MethodEntry<M> } = {
  get_address: {
    summary: 'The node\'s channel address (the key that signs states and vouchers).',
    errors: [],
    handler: ({ node }) => node.engine.address,
  },
  version: { summary: 'The node\'s software version.', errors: [], handler: ({ node }) => node.version },
  get_node_info: {
    summary: 'The node\'s address, version, chain id and transport identity.',
    description: 'chainId and peerId are null when the node runs without a chain or a peer-to-peer transport.',
    errors: [],
    handler: ({ node }) => {
      const peer = node.peerInfo?.()
      return { address: node.engine.address, version: node.version, chainId: node.chainId ?? null, peerId: peer?.peerId ?? null, multiaddrs: peer?.multiaddrs ?? [] }
    },
  },
  get_rejections: {
    summary: 'What this node refused: counts by error code, and the latest refusals with the peer that caused them.',
    description: 'Peers\' bad or unwanted input (a stranger\'s ledger, a ledger change nobody here agreed to, junk frames, floods) is refused with a typed code and counted, never acted on; docs/security.md lists the codes.',
    errors: [],
    handler: ({ node }) => {
      const { counts, recent } = node.engine.rejections
      return { counts: { ...counts }, recent: recent.map((r) => ({ code: r.code, summary: r.summary, from: r.from ?? null })) }
    },
  },
  create_ledger_channel: {
    summary: 'Opens and funds a two-party ledger channel with `counterparty` (DirectFund); this node leads.',
    description: 'Returns once the objective has started; wait for its `objective_completed` notification (or poll `get_objective`).',
    errors: ENGINE_CALL,
    handler: async ({ node }, p) => {
      const objectiveId = await node.engine.directFund({ ...p, nonce: p.nonce ?? node.newNonce() })
      return { objectiveId, channelId: channelOf(node.engine, objectiveId) }
    },
  },
  close_ledger_channel: {
    summary: 'Closes a ledger channel (DirectDefund): both sign a final state, then each withdraws. The ledger must fund no payment channel.',
    errors: ENGINE_CALL,
    handler: async ({ node }, p) => ({ objectiveId: await node.engine.directDefund(p.channelId) }),
  },
  challenge_ledger_channel: {
    summary: 'Settles a ledger on chain without the counterparty: challenges with its supported state (signed by both), then pays it out once the challenge finalizes.',
    description: 'For a counterparty that stopped answering. The ledger takes no more updates; follow `appdispute:<channelId>` with `get_objective`. A ledger that still locks guarantees is paid out only once they are reclaimed. The node also answers by itself a challenge someone registers with an older state of the ledger. Refused (`dispute_unsupported`) when the chain holds nothing for it.',
    errors: ENGINE_CALL,
    handler: async ({ node }, p) => ({ objectiveId: await node.engine.challengeLedger(p.channelId) }),
  },
  challenge_payment_channel: {
    summary: 'Settles a payment channel on chain without the others: registers the best state the node holds of it, and disputes the ledgers of this node that hold its guarantee, which pay out once it is reclaimed.',
    description: 'The best state: the final state if every participant signed it (concluded at once); for the payee, the redemption of the largest voucher it holds (with the funded state as proof); otherwise the funded state. No more payments meanwhile. Follow `appdispute:<channelId>` and `appdispute:<ledgerId>` with `get_objective` or `list_disputes`. The node also answers by itself a challenge someone registers with an older state of the channel (the payee: with its latest voucher). Refused (`unknown_channel`) for a channel this node does not take part in or that never opened.',
    errors: ENGINE_CALL,
    handler: async ({ node }, p) => ({ objectiveId: await node.engine.challengePaymentChannel(p.channelId) }),
  },
  get_ledger_channel: {
    summary: 'A ledger channel: status, balances, guarantees, holdings.',
    errors: [notFound],
    handler: ({ node }, p) => ledgerChannelInfo(node.engine, p.channelId) ?? notFoundLedger(p.channelId),
  },
  get_all_ledger_channels: {
    summary: 'Every ledger channel this node has or had (funding, open, closing, closed, failed), by id.',
    errors: [],
    handler: ({ node }) => allLedgerChannels(node.engine),
  },
  list_disputes: {
    summary: 'Every dispute the node runs or ran on chain, ledger, payment or app channel: the turn it registers or defends, the deadline, where it stands.',
    description: 'A dispute is `appdispute:<channelId>`: one the operator started (`challenge_ledger_channel`, `challenge_payment_channel`, `challenge_app_channel`), or one the node started by itself: to answer a challenge with an older state, to follow one with its latest state to the payout, or to finalize a channel that a disputed ledger guarantees (its guarantee is reclaimed before the ledger pays out).',
    errors: [],
    handler: ({ node }) => allDisputes(node.engine),
  },
  create_payment_channel: {
    summary: 'Opens a virtual payment channel to `counterparty` through `intermediaries`, funded with `amount` of mine (VirtualFund).',
    description: 'Needs a funded ledger channel with the first hop (the counterparty when there are no intermediaries).',
    errors: ENGINE_CALL,
    handler: async ({ node }, p) => {
      const objectiveId = await node.engine.createPaymentChannel({ ...p, nonce: p.nonce ?? node.newNonce() })
      return { objectiveId, channelId: channelOf(node.engine, objectiveId) }
    },
  },
  close_payment_channel: {
    summary: 'Closes a payment channel (VirtualDefund): the final state pays the payee what the vouchers say. Payer or payee.',
    errors: ENGINE_CALL,
    handler: async ({ node }, p) => ({ objectiveId: await node.engine.closePaymentChannel(p.channelId) }),
  },
  pay: {
    summary: 'Payer: pays `amount` more; the voucher for the new cumulative total is sent to the payee and returned.',
    errors: ENGINE_CALL,
    handler: ({ node }, p) => node.engine.pay(p.channelId, p.amount),
  },
  create_voucher: {
    summary: 'Payer: a voucher for `amount` more, returned and not sent (hand it to the payee out of band).',
    errors: ENGINE_CALL,
    handler: ({ node }, p) => node.engine.createVoucher(p.channelId, p.amount),
  },
  receive_voucher: {
    summary: 'Payee: redeems a voucher received out of band; answers with the payment channel after it.',
    description: 'A voucher for no more than what was already received is a no-op.',
    errors: ENGINE_CALL,
    handler: async ({ node }, p) => {
      await node.engine.receiveVoucher(p.voucher)
      const info = paymentChannelInfo(node.engine, p.voucher.channelId)
      assert(info, 'a channel that took a voucher has a VirtualFund')
      return info
    },
  },
  get_payment_channel: {
    summary: 'A payment channel: status, my role, what the payer put in, paid, remaining, the latest voucher.',
    errors: [notFound],
    handler: ({ node }, p) => paymentChannelInfo(node.engine, p.channelId) ?? notFoundPayment(p.channelId),
  },
  get_payment_channels_by_ledger: {
    summary: 'Payment channels whose guarantee is or was in this ledger channel.',
    errors: [notFound],
    handler: ({ node }, p) => paymentChannelsByLedger(node.engine, p.ledgerId) ?? notFoundLedger(p.ledgerId),
  },
  get_objective: {
    summary: 'An objective: kind, status, where it waits, why it failed.',
    errors: [notFound],
    handler: ({ node }, p) => {
      const view = node.engine.getObjective(p.objectiveId)
      if (!view) throw new NoSuchObjectiveError('no such objective', { objectiveId: p.objectiveId })
      return objectiveInfo(node.engine, view.objective)
    },
  },
  subscribe: {
    summary: 'WebSocket only: notifications for `topics`; answers with a subscription id.',
    description:
      'Each notification is a JSON-RPC notification whose method is the topic and whose params are { subscription, result }. ' +
      'objective_completed and objective_failed carry an ObjectiveInfo (failed covers failed and rejected); ledger_channel_updated a ' +
      'LedgerChannelInfo; payment_channel_updated a PaymentChannelInfo; app_channel_updated an AppChannelInfo. Subscriptions end with the socket.',
    errors: [wrongTransport, limitExceeded],
    handler: (ctx, p) => requireSocket(ctx).subscribe(p.topics),
  },
  unsubscribe: {
    summary: 'WebSocket only: ends a subscription of this socket; false if there is none with that id.',
    errors: [wrongTransport],
    handler: (ctx, p) => requireSocket(ctx).unsubscribe(p.subscription),
  },
  create_app_channel: {
    summary: 'Opens an app channel of `participants` (this node included) running app `appId` with `params`; each puts in `deposits[i]`.',
    description: 'Returns once turn 0, signed by this node, is committed and sent; the channel is open when every participant signed it (turnNum 0 in `get_app_state`, or `app_channel_updated`).',
    errors: ENGINE_CALL,
    handler: async ({ node }, p) => ({ channelId: await node.engine.createAppChannel({ ...p, nonce: p.nonce ?? node.newNonce() }) }),
  },
  export_watchtower_handover: {
    summary: 'The hand-over a watchtower takes (docs/watchtower.md): the latest supported state of each channel this node could lose to a stale challenge while it is offline.',
    description: 'Each open ledger\'s supported state, each app channel\'s latest state signed by all, and, where this node is a payment channel\'s payee, the redemption of its largest voucher with the funded state as proof. `document` is the file for `channels watchtower add`; hand it over again after the channels move (a watchtower keeps only later turns). Refused (`not_configured`) on a node without a chain.',
    errors: [refused],
    handler: ({ node }) => {
      if (node.chainId === undefined || node.contracts === undefined) throw new RpcMethodError(refused, 'the node runs without a chain: there is nothing a watchtower could defend', { code: 'not_configured' })
      const channels = node.engine.watchedClaims().map((claim) => watchtowerEntry(claim.candidate, claim.proof))
      return { document: encodeHandover({ chainId: node.chainId, ...node.contracts, channels }), channels: channels.length }
    },
  },
  close_app_channel: {
    summary: 'Closes an app channel whose app is final (closing also starts by itself then); answers with the close objective\'s id.',
    description: 'Every participant signs the concluding state (the latest turn, final); a channel funded on chain is then paid out by concludeAndTransferAllAssets, one funded from a ledger returns its guarantee to the ledger balances. Follow it with `get_objective` or `objective_completed`.',
    errors: ENGINE_CALL,
    handler: async ({ node }, p) => ({ objectiveId: await node.engine.closeAppChannel(p.channelId) }),
  },
  challenge_app_channel: {
    summary: 'Settles an app channel without the other participants: challenges with the latest state every participant signed, then pays its outcome out once the challenge finalizes.',
    description: 'For when the others stop answering (a vanished node, a close that never completes). The node submits the challenge, waits for the challenge duration on chain, then transferAllAssets; follow `appdispute:<channelId>` with `get_objective`. A channel funded from a ledger holds nothing on chain: the ledger holding its guarantee is disputed too (`appdispute:<ledgerId>`), and pays out once the guarantee is reclaimed. Refused (`dispute_unsupported`) for a channel funded by nobody, or with nothing held.',
    errors: ENGINE_CALL,
    handler: async ({ node }, p) => ({ objectiveId: await node.engine.challengeAppChannel(p.channelId) }),
  },
  submit_event: {
    summary: 'Proposes an event of mine in an app channel; answers with the seq and turn it makes once every participant signs it.',
    errors: ENGINE_CALL,
    handler: ({ node }, p) => node.engine.submitEvent(p.channelId, p.event),
  },
  get_app_state: {
    summary: 'An app channel: the latest turn signed by all, its app state, whose turn it is, the turn being signed, the outcome.',
    errors: [notFound],
    handler: ({ node }, p) => requireAppChannelInfo(node.engine, p.channelId),
  },
  get_events: {
    summary: `An app channel's fully signed events fromSeq..toSeq (default from 1), with their authors; at most ${MAX_EVENTS_PER_CALL} per call.`,
    errors: [notFound],
    handler: ({ node }, p) => appEvents(node.engine, p.channelId, p.fromSeq, p.toSeq),
  },
  get_state_at: {
    summary: 'The app state after event `seq` (1 = the genesis: the initial state), replayed through the app.',
    errors: [notFound, refused],
    handler: ({ node }, p) => appStateAt(node.engine, p.channelId, p.seq),
  },
  get_state_diff: {
    summary: `The app states after fromSeq and after toSeq, and the events between them with their authors (at most ${MAX_EVENTS_PER_CALL} apart).`,
    errors: [notFound, refused],
    handler: ({ node }, p) => appStateDiff(node.engine, p.channelId, p.fromSeq, p.toSeq),
  },
  export_log: {
    summary: 'An app channel\'s exported log: every fully signed event and state, the file `channels verify` reads.',
    description: 'format json (default): `data` is the JSON text; msgpack: `data` is the MessagePack file as 0x hex.',
    errors: [notFound],
    handler: ({ node }, p) => exportAppLog(node.engine, p.channelId, p.format ?? 'json'),
  },
  'rpc.discover': {
    summary: 'This API\'s OpenRPC 1.2 document.',
    errors: [],
    handler: () => openRpcDocument(),
  },
}

export interface RpcMethod extends OpenRpcMethodSource {
  invoke(ctx: CallContext, params: unknown): Promise<unknown>
}

function entry<M extends MethodName>(name: M): RpcMethod {
  const { params, result } = RPC_METHODS[name]
  const { summary, description, errors, handler } = ENTRIES[name] as MethodEntry<M>
  return {
    name,
    summary,
    ...(description !== undefined ? { description } : {}),
    errors,
    params,
    result,
    async invoke(ctx, raw) {
      const parsed = params.safeParse(byName(raw))
      if (!parsed.success) throw invalidParams(parsed.error)
      const value = await handler(ctx, parsed.data as ParamsOf<M>)
      return toWire(result, value as never)
    },
  }
}

/** The method table, by name (a Map: a caller's '__proto__' or 'constructor' finds nothing). */
export const METHOD_TABLE: ReadonlyMap<string, RpcMethod> = new Map((Object.keys(RPC_METHODS) as MethodName[]).map((name) => [name, entry(name)]))

let document: OpenRpcDocument | undefined
export function openRpcDocument(): OpenRpcDocument {
  document ??= buildOpenRpcDocument([...METHOD_TABLE.values()])
  return document
}

/** Params are passed by name; omitted params and an empty array mean no params. */
function byName(raw: unknown): unknown {
  if (raw === undefined) return {}
  if (Array.isArray(raw)) {
    if (raw.length === 0) return {}
    throw new RpcMethodError(RpcErrorCode.invalidParams, 'invalid params: pass params by name, as an object', { issues: [{ path: '', message: 'params must be an object' }] })
  }
  return raw
}

function requireSocket(ctx: CallContext): SocketSession {
  if (!ctx.socket) throw new RpcMethodError(RpcErrorCode.wrongTransport, 'subscriptions need a WebSocket: connect to the ws:// URL with the same Authorization header')
  return ctx.socket
}

function channelOf(engine: Engine, objectiveId: string): Bytes32 {
  const objective = engine.getObjective(objectiveId)?.objective
  assert(objective && objective.kind !== 'ledgerUpdate', 'a started channel objective is in the engine', { objectiveId })
  return objective.channelId
}

function notFoundLedger(id: Bytes32): never {
  throw new NoSuchLedgerError('no such ledger channel', { channelId: id })
}

function notFoundPayment(id: Bytes32): never {
  throw new UnknownChannelError('no such payment channel', { channelId: id })
}

// ---- the JSON-RPC envelope ----

type JsonRpcId = string | number | null
type JsonRpcResponse = { jsonrpc: '2.0'; id: JsonRpcId } & ({ result: unknown } | { error: RpcErrorObject })

/** One HTTP body or WebSocket message: a call or a batch. Undefined when nothing is to be answered (notifications only). */
export async function handleText(text: string, ctx: CallContext, logger: RpcLogger): Promise<string | undefined> {
  let payload: unknown
  try {
    payload = JSON.parse(text)
  } catch {
    return stringify(errorResponse(null, RpcErrorCode.parseError, 'parse error: the body is not JSON'))
  }
  if (!Array.isArray(payload)) {
    const response = await handleCall(payload, ctx, logger)
    return response && stringify(response)
  }
  if (payload.length === 0) return stringify(errorResponse(null, RpcErrorCode.invalidRequest, 'invalid request: an empty batch'))
  if (payload.length > MAX_BATCH_SIZE) {
    return stringify(errorResponse(null, RpcErrorCode.limitExceeded, `a batch holds at most ${MAX_BATCH_SIZE} calls`, { limit: 'batch', max: MAX_BATCH_SIZE }))
  }
  // Concurrently: the engine folds calls that arrive together into one commit.
  const responses = (await Promise.all(payload.map((call) => handleCall(call, ctx, logger)))).filter((r) => r !== undefined)
  return responses.length > 0 ? stringify(responses) : undefined
}

async function handleCall(call: unknown, ctx: CallContext, logger: RpcLogger): Promise<JsonRpcResponse | undefined> {
  if (typeof call !== 'object' || call === null || Array.isArray(call)) return errorResponse(null, RpcErrorCode.invalidRequest, 'invalid request: a call is an object')
  const request = call as Record<string, unknown>
  const isNotification = !Object.hasOwn(request, 'id')
  const id = request.id
  if (!isNotification && !isValidId(id)) return errorResponse(null, RpcErrorCode.invalidRequest, 'invalid request: id is a string, a number or null')
  const replyId = isNotification ? null : (id as JsonRpcId)
  if (request.jsonrpc !== '2.0') return errorResponse(replyId, RpcErrorCode.invalidRequest, 'invalid request: jsonrpc must be "2.0"')
  if (typeof request.method !== 'string') return errorResponse(replyId, RpcErrorCode.invalidRequest, 'invalid request: method is a string')
  const params = request.params
  if (params !== undefined && (typeof params !== 'object' || params === null)) {
    return errorResponse(replyId, RpcErrorCode.invalidRequest, 'invalid request: params is an object or an array')
  }
  const method = METHOD_TABLE.get(request.method)
  if (!method) {
    return isNotification ? undefined : errorResponse(replyId, RpcErrorCode.methodNotFound, 'method not found', { method: request.method.slice(0, 100) })
  }
  logger.debug({ method: method.name, socket: ctx.socket !== undefined }, 'rpc call')
  try {
    const result = await method.invoke(ctx, params)
    return isNotification ? undefined : { jsonrpc: '2.0', id: replyId, result }
  } catch (error) {
    const rpcError = toRpcError(error, logger, method.name)
    return isNotification ? undefined : { jsonrpc: '2.0', id: replyId, error: rpcError }
  }
}

function isValidId(id: unknown): id is JsonRpcId {
  return id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id))
}

export function errorResponse(id: JsonRpcId, code: number, message: string, data?: unknown): JsonRpcResponse {
  return { jsonrpc: '2.0', id, error: data === undefined ? { code, message } : { code, message, data } }
}

function stringify(value: unknown): string {
  return JSON.stringify(value)
}
