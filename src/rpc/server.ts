// The node's JSON-RPC 2.0 server (https://www.jsonrpc.org/specification): HTTP POST and WebSocket on one
// port, every call authenticated with the node's secret. The envelope (calls, batches, notifications) and
// the methods live in methods.ts; subscriptions and their notifications in NotificationHub below. Nothing
// a caller sends can stop the server: every input is bounded (limits.ts), parsed, and answered with a
// JSON-RPC error at worst.
import http from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { createHash, timingSafeEqual } from 'node:crypto'
import { WebSocketServer } from 'ws'
import type { RawData, WebSocket } from 'ws'
import { pino } from 'pino'
import type { Bytes32 } from '../core/types.js'
import type { Engine } from '../engine/engine.js'
import type { Objective } from '../protocols/objectives.js'
import type { RpcLogger, RpcNode, SocketSession } from './methods.js'
import { errorResponse, handleText } from './methods.js'
import { RPC_ERROR_MESSAGES, RpcErrorCode, RpcMethodError, WeakSecretError } from './errors.js'
import type { Topic } from './schemas.js'
import { appChannelInfoSchema, ledgerChannelInfoSchema, objectiveInfoSchema, paymentChannelInfoSchema } from './schemas.js'
import { ledgerChannelInfo, objectiveInfo, paymentChannelInfo, toWire } from './serialize.js'
import { appChannelInfo } from './appViews.js'
import {
  CLOSE_GRACE_MS,
  HEADERS_TIMEOUT_MS,
  MAX_BODY_BYTES,
  MAX_DRAINED_BODY_BYTES,
  MAX_HTTP_CONNECTIONS,
  MAX_IN_FLIGHT_PER_SOCKET,
  MAX_SOCKET_BUFFERED_BYTES,
  MAX_SOCKETS,
  MAX_SUBSCRIPTIONS_PER_SOCKET,
  MIN_SECRET_LENGTH,
  REQUEST_TIMEOUT_MS,
} from './limits.js'

export type { RpcLogger, RpcNode } from './methods.js'

export interface RpcServerOptions {
  readonly node: RpcNode
  /** Every call must carry `Authorization: Bearer <secret>`; at least 16 characters (the daemon generates it). */
  readonly secret: string
  /** Default 127.0.0.1: the API moves the node's money; expose it deliberately. */
  readonly host?: string
  /** Default 0: any free port (read it back from `url`). */
  readonly port?: number
  readonly logger?: RpcLogger
}

export class RpcServer {
  readonly #http: http.Server
  readonly #wss: WebSocketServer
  readonly #hub: NotificationHub
  readonly #node: RpcNode
  readonly #logger: RpcLogger
  readonly #secretHash: Buffer
  #origin = ''
  #closing: Promise<void> | undefined

  private constructor(options: RpcServerOptions) {
    this.#node = options.node
    this.#logger = options.logger ?? pino({ name: 'rpc', level: 'warn' })
    this.#secretHash = sha256(options.secret)
    this.#hub = new NotificationHub(options.node.engine, this.#logger)
    this.#http = http.createServer((req, res) => void this.#onRequest(req, res))
    this.#http.requestTimeout = REQUEST_TIMEOUT_MS
    this.#http.headersTimeout = HEADERS_TIMEOUT_MS
    this.#http.maxConnections = MAX_HTTP_CONNECTIONS
    this.#http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#onUpgrade(req, socket, head))
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: MAX_BODY_BYTES })
  }

  /**
   * Starts serving `options.node` on `host:port`.
   * @example const rpc = await RpcServer.start({ node, secret, port: 0 }); console.log(rpc.url)
   * @throws WeakSecretError (`weak_secret`) if the secret is shorter than 16 characters.
   */
  static async start(options: RpcServerOptions): Promise<RpcServer> {
    if (options.secret.length < MIN_SECRET_LENGTH) {
      throw new WeakSecretError(`the RPC secret must have at least ${MIN_SECRET_LENGTH} characters`, { length: options.secret.length })
    }
    const server = new RpcServer(options)
    const host = options.host ?? '127.0.0.1'
    try {
      await new Promise<void>((resolve, reject) => {
        server.#http.once('error', reject)
        server.#http.listen(options.port ?? 0, host, () => {
          server.#http.off('error', reject)
          resolve()
        })
      })
    } catch (error) {
      server.#hub.close() // the port is taken (or the host wrong): leave no listener on the engine
      throw error
    }
    const { port } = server.#http.address() as { port: number }
    server.#origin = `${host.includes(':') ? `[${host}]` : host}:${port}`
    server.#logger.info({ url: server.url }, 'rpc listening')
    return server
  }

  /** http://host:port — POST JSON-RPC here. */
  get url(): string {
    return `http://${this.#origin}`
  }

  /** ws://host:port — the same API plus subscriptions. */
  get wsUrl(): string {
    return `ws://${this.#origin}`
  }

  /** Stops accepting, ends subscriptions and sockets, lets answers in flight finish (briefly), then closes. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#hub.close()
      for (const ws of this.#wss.clients) ws.terminate()
      await new Promise<void>((resolve) => this.#wss.close(() => resolve()))
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => this.#http.closeAllConnections(), CLOSE_GRACE_MS)
        this.#http.close(() => {
          clearTimeout(timer)
          resolve()
        })
        this.#http.closeIdleConnections()
      })
    })()
    return this.#closing
  }

  // ---- HTTP ----

  async #onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (!this.#authorized(req)) return respondError(res, 401, RpcErrorCode.unauthorized, 'unauthorized: send Authorization: Bearer <secret>', { 'WWW-Authenticate': 'Bearer' })
      if (pathOf(req) !== '/') return respondError(res, 404, RpcErrorCode.invalidRequest, 'POST JSON-RPC to /')
      if (req.method !== 'POST') return respondError(res, 405, RpcErrorCode.invalidRequest, 'JSON-RPC is POSTed', { Allow: 'POST' })
      const body = await readBody(req)
      if (body === undefined) {
        return respondError(res, 413, RpcErrorCode.limitExceeded, `the body exceeds ${MAX_BODY_BYTES} bytes`, { Connection: 'close' }, { limit: 'body', maxBytes: MAX_BODY_BYTES })
      }
      const answer = await handleText(body, { node: this.#node, socket: undefined }, this.#logger)
      if (answer === undefined) {
        res.writeHead(204).end()
        return
      }
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(answer) }).end(answer)
    } catch (error) {
      // The client went away mid-body, or a bug in the envelope code: either way, not the caller's answer.
      this.#logger.warn({ err: error }, 'rpc http request failed')
      if (!res.headersSent && !res.destroyed) respondError(res, 500, RpcErrorCode.internalError, RPC_ERROR_MESSAGES[RpcErrorCode.internalError])
    }
  }

  #authorized(req: IncomingMessage): boolean {
    const header = req.headers.authorization
    const match = typeof header === 'string' ? /^Bearer +(\S+) *$/i.exec(header) : null
    // Hash both sides: timingSafeEqual needs equal lengths, and the hash hides the secret's length.
    return match !== null && timingSafeEqual(sha256(match[1]!), this.#secretHash)
  }

  // ---- WebSocket ----

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', (error) => this.#logger.debug({ err: error }, 'rpc upgrade socket error'))
    if (this.#closing) return refuseUpgrade(socket, 503, 'Service Unavailable', RpcErrorCode.unavailable, 'the server is closing')
    if (!this.#authorized(req)) return refuseUpgrade(socket, 401, 'Unauthorized', RpcErrorCode.unauthorized, 'unauthorized: send Authorization: Bearer <secret>')
    if (pathOf(req) !== '/') return refuseUpgrade(socket, 404, 'Not Found', RpcErrorCode.invalidRequest, 'connect to /')
    if (this.#wss.clients.size >= MAX_SOCKETS) return refuseUpgrade(socket, 503, 'Service Unavailable', RpcErrorCode.limitExceeded, `at most ${MAX_SOCKETS} WebSockets`)
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onSocket(ws))
  }

  #onSocket(ws: WebSocket): void {
    const connection = new SocketConnection(ws, this.#hub, this.#logger)
    this.#hub.add(connection)
    let inFlight = 0
    ws.on('message', (data: RawData) => {
      if (inFlight >= MAX_IN_FLIGHT_PER_SOCKET) {
        connection.send(JSON.stringify(errorResponse(null, RpcErrorCode.limitExceeded, `at most ${MAX_IN_FLIGHT_PER_SOCKET} calls in flight per socket`)))
        return
      }
      inFlight++
      handleText(rawToString(data), { node: this.#node, socket: connection }, this.#logger)
        .then((answer) => answer !== undefined && connection.send(answer))
        .catch((error: unknown) => this.#logger.error({ err: error }, 'rpc websocket message failed'))
        .finally(() => inFlight--)
    })
    // ws reports protocol violations (bad frames, oversize messages) here and closes the socket itself.
    ws.on('error', (error) => this.#logger.debug({ err: error }, 'rpc websocket error'))
    ws.on('close', () => this.#hub.remove(connection))
  }
}

// ---- HTTP helpers ----

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest()
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/'
  const query = url.indexOf('?')
  return query < 0 ? url : url.slice(0, query)
}

function respondError(res: ServerResponse, status: number, code: number, message: string, headers: Record<string, string> = {}, data?: unknown): void {
  const body = JSON.stringify(errorResponse(null, code, message, data))
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }).end(body)
}

function refuseUpgrade(socket: Duplex, status: number, reason: string, code: number, message: string): void {
  const body = JSON.stringify(errorResponse(null, code, message))
  socket.once('finish', () => socket.destroy())
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  )
}

/**
 * The body as text, or undefined if it exceeds MAX_BODY_BYTES. An oversize body is read and discarded up to
 * MAX_DRAINED_BODY_BYTES so the client reads our 413; past that the connection is cut.
 */
function readBody(req: IncomingMessage): Promise<string | undefined> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > MAX_DRAINED_BODY_BYTES) return Promise.resolve(undefined)
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size <= MAX_BODY_BYTES) chunks.push(chunk)
      else if (size > MAX_DRAINED_BODY_BYTES) {
        req.removeAllListeners('data')
        resolve(undefined)
      }
    })
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
    req.on('close', () => {
      if (!req.complete) reject(new Error('the client closed the request before its end'))
    })
  })
}

function rawToString(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8')
  return (Buffer.isBuffer(data) ? data : Buffer.from(data)).toString('utf8')
}

// ---- subscriptions ----

/** One WebSocket: its subscriptions, and a send that drops a consumer too slow to read. */
class SocketConnection implements SocketSession {
  readonly subscriptions = new Map<string, ReadonlySet<Topic>>()

  constructor(
    readonly ws: WebSocket,
    readonly hub: NotificationHub,
    readonly logger: RpcLogger,
  ) {}

  subscribe(topics: readonly Topic[]): string {
    if (this.subscriptions.size >= MAX_SUBSCRIPTIONS_PER_SOCKET) {
      throw new RpcMethodError(RpcErrorCode.limitExceeded, `at most ${MAX_SUBSCRIPTIONS_PER_SOCKET} subscriptions per socket`, {
        limit: 'subscriptions',
        max: MAX_SUBSCRIPTIONS_PER_SOCKET,
      })
    }
    const id = this.hub.nextSubscriptionId()
    this.subscriptions.set(id, new Set(topics))
    return id
  }

  unsubscribe(subscription: string): boolean {
    return this.subscriptions.delete(subscription)
  }

  send(text: string): void {
    if (this.ws.readyState !== this.ws.OPEN) return
    if (this.ws.bufferedAmount > MAX_SOCKET_BUFFERED_BYTES) {
      this.logger.warn({ bufferedBytes: this.ws.bufferedAmount }, 'rpc websocket does not read: closing it')
      this.ws.terminate()
      return
    }
    this.ws.send(text, (error) => {
      if (error) this.logger.debug({ err: error }, 'rpc websocket send failed')
    })
  }
}

/**
 * Turns the engine's commits into notifications for the sockets that subscribed. Objective notifications
 * go out as the engine reports them; channel updates are collected and sent once per channel after the
 * commit (on a microtask) with the channel's view at that point, so a commit that touched a channel's
 * objective and its record yields one update, after the objective's notification.
 */
class NotificationHub {
  readonly #connections = new Set<SocketConnection>()
  readonly #dirty = { ledger: new Set<Bytes32>(), payment: new Set<Bytes32>(), app: new Set<Bytes32>() }
  readonly #stop: (() => void)[]
  #flushQueued = false
  #lastId = 0

  constructor(
    readonly engine: Engine,
    readonly logger: RpcLogger,
  ) {
    this.#stop = [
      engine.onObjectiveChange((objective) => this.#guard(() => this.#onObjective(objective))),
      engine.onChange((change) => this.#guard(() => this.#markDirty(change.kind, change.kind === 'ledger' ? change.ledger.id : change.kind === 'payment' ? change.channel.channelId : change.channel.context.id))),
    ]
  }

  nextSubscriptionId(): string {
    return `0x${(++this.#lastId).toString(16)}`
  }

  add(connection: SocketConnection): void {
    this.#connections.add(connection)
  }

  remove(connection: SocketConnection): void {
    connection.subscriptions.clear()
    this.#connections.delete(connection)
  }

  close(): void {
    for (const stop of this.#stop) stop()
    this.#connections.clear()
  }

  #onObjective(objective: Objective): void {
    const topic = objective.status === 'completed' ? 'objective_completed' : objective.status === 'failed' || objective.status === 'rejected' ? 'objective_failed' : undefined
    if (topic && this.#wants(topic)) this.#publish(topic, toWire(objectiveInfoSchema, objectiveInfo(this.engine, objective)))
    if (objective.kind === 'virtualfund' || objective.kind === 'virtualdefund') this.#markDirty('payment', objective.channelId)
    else this.#markDirty('ledger', objective.kind === 'ledgerUpdate' ? objective.ledgerId : objective.channelId)
  }

  #markDirty(kind: 'ledger' | 'payment' | 'app', id: Bytes32): void {
    if (!this.#wants(`${kind}_channel_updated`)) return
    this.#dirty[kind].add(id)
    if (this.#flushQueued) return
    this.#flushQueued = true
    queueMicrotask(() => this.#guard(() => this.#flush()))
  }

  #flush(): void {
    this.#flushQueued = false
    const ledgers = [...this.#dirty.ledger]
    const payments = [...this.#dirty.payment]
    const apps = [...this.#dirty.app]
    this.#dirty.ledger.clear()
    this.#dirty.payment.clear()
    this.#dirty.app.clear()
    for (const id of ledgers) {
      const info = ledgerChannelInfo(this.engine, id)
      if (info) this.#publish('ledger_channel_updated', toWire(ledgerChannelInfoSchema, info))
    }
    for (const id of payments) {
      const info = paymentChannelInfo(this.engine, id)
      if (info) this.#publish('payment_channel_updated', toWire(paymentChannelInfoSchema, info))
    }
    for (const id of apps) {
      const info = appChannelInfo(this.engine, id)
      if (info) this.#publish('app_channel_updated', toWire(appChannelInfoSchema, info))
    }
  }

  #wants(topic: Topic): boolean {
    for (const connection of this.#connections) for (const topics of connection.subscriptions.values()) if (topics.has(topic)) return true
    return false
  }

  #publish(topic: Topic, result: unknown): void {
    for (const connection of this.#connections) {
      for (const [subscription, topics] of connection.subscriptions) {
        if (topics.has(topic)) connection.send(JSON.stringify({ jsonrpc: '2.0', method: topic, params: { subscription, result } }))
      }
    }
  }

  /** The engine ignores what its listeners throw; a failure here is our bug and must be seen. */
  #guard(call: () => void): void {
    try {
      call()
    } catch (error) {
      this.logger.error({ err: error }, 'rpc notification failed')
    }
  }
}
