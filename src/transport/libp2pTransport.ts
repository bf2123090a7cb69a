// The real Transport (DESIGN §2): libp2p over TCP, noise and yamux (docs/adr/0010-libp2p-transport.md).
//
// Identity. Noise authenticates each connection's remote peer id; on every new connection both sides send
// a peer record (peerRecord.ts) on /channels/hello/1.0.0 binding that peer id to a channel address. Until
// the remote's record verifies, the connection is unbound: its message streams wait unread, nothing is
// sent on it, and after HELLO_TIMEOUT_MS (or at once on a bad record) it is closed. Messages are delivered
// as from the address the record proved, so a peer can only ever speak for its own address.
//
// Messages. One long-lived outbound stream per peer on /channels/msg/1.0.0 carries every message to it, in
// order, as length-prefixed frames (libp2p 3 streams deliver bytes as they arrive, split or coalesced).
// `send` never throws: it writes when the stream is open, else queues (bounded, oldest dropped) and dials
// from the address book, re-dialing with backoff. The engine's outbox retransmits what is lost.
import './polyfill.js'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { tcp } from '@libp2p/tcp'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import { isAddress } from 'viem'
import { InvalidAddressError, OperatingError, RejectedInputError } from '../core/errors.js'
import type { Signer } from '../core/signer.js'
import type { Address } from '../core/types.js'
import {
  DIAL_BACKOFF_BASE_MS, DIAL_BACKOFF_CAP_MS, FRAME_HEADER_BYTES, HELLO_TIMEOUT_MS, INBOUND_CONNECTIONS_PER_HOST_PER_SECOND,
  MAX_FRAME_BYTES, MAX_INBOUND_HELLO_STREAMS, MAX_INBOUND_MSG_STREAMS, MAX_QUEUED_BYTES_PER_PEER,
  MAX_QUEUED_MESSAGES_PER_PEER, MAX_RECORD_BYTES, STABLE_STREAM_MS, CORK_BYTES,
} from './limits.js'
import { MalformedPeerRecordError, signPeerRecord, verifyPeerRecord } from './peerRecord.js'
import type { MessageHandler, Transport } from './transport.js'

export const HELLO_PROTOCOL = '/channels/hello/1.0.0'
export const MSG_PROTOCOL = '/channels/msg/1.0.0'

// libp2p's own types, reached through the libp2p package we depend on.
type Connection = Awaited<ReturnType<Libp2p['dial']>>
type Stream = Awaited<ReturnType<Connection['newStream']>>
type Chunk = Parameters<Stream['send']>[0]

export interface Libp2pTransportOptions {
  /** The node's channel key (src/core/signer.ts). */
  readonly signer: Signer
  /** Protobuf-encoded libp2p private key (privateKeyToProtobuf); generated when omitted. */
  readonly peerPrivateKey?: Uint8Array
  /** Default ['/ip4/127.0.0.1/tcp/0']. */
  readonly listen?: readonly string[]
  /** Address book: Ethereum address → multiaddrs (each with /p2p/<peerId>). */
  readonly peers?: Readonly<Record<string, readonly string[]>>
  /** pino-compatible; optional. */
  readonly logger?: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void; debug(obj: object, msg?: string): void }
  /**
   * Multiaddrs (with /p2p/<peerId>) of peers whose Ethereum address we do not know yet: dialed at start
   * (retried with backoff until they answer); once one proves its address it joins the address book.
   */
  readonly bootstrap?: readonly string[]
}

export interface Libp2pTransportStats {
  /** Frames written to a peer's message stream. */
  readonly sent: number
  /** Frames delivered to the handler (including calls whose handler threw). */
  readonly received: number
  /**
   * Messages given up: sent to ourselves, to an address with no route, oversize or empty, pushed out of a
   * full queue, or arriving with no handler; inbound message streams refused because their connection never
   * proved an address; and streams closed for a malformed or oversize frame.
   */
  readonly dropped: number
  /**
   * Connections whose peer did not prove an acceptable address: a record malformed, for another peer id,
   * badly signed, for our own address or another than the one we dialed, or no record in time.
   */
  readonly refusedRecords: number
}

/** A multiaddr in the address book does not parse or lacks its /p2p/<peerId>. */
export class InvalidMultiaddrError extends RejectedInputError {
  readonly code = 'invalid_multiaddr'
}
/** peerPrivateKey is not a protobuf-encoded libp2p private key. */
export class InvalidPeerKeyError extends RejectedInputError {
  readonly code = 'invalid_peer_key'
}
/** A frame on /channels/msg is empty, longer than MAX_FRAME_BYTES, or cut short. */
export class MalformedFrameError extends RejectedInputError {
  readonly code = 'malformed_frame'
}
/** The peer we dialed for one address proved another. */
export class UnexpectedPeerAddressError extends RejectedInputError {
  readonly code = 'unexpected_peer_address'
}
/** The remote sent no peer record within HELLO_TIMEOUT_MS. */
export class HelloTimeoutError extends RejectedInputError {
  readonly code = 'hello_timeout'
}
/** The connection closed before its peer proved an address, or the transport is closing. */
export class ConnectionGoneError extends OperatingError {
  readonly code = 'connection_gone'
}
/** libp2p could not start (for example, the listen address is taken). */
export class TransportStartError extends OperatingError {
  readonly code = 'transport_start'
}

/** A fresh Ed25519 libp2p key as protobuf bytes, for the node to persist and pass as peerPrivateKey. */
export async function generatePeerPrivateKey(): Promise<Uint8Array> {
  return privateKeyToProtobuf(await generateKeyPair('Ed25519'))
}

/** A length-prefixed frame: u32 big-endian payload length ‖ payload. */
export function encodeFrame(payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length)
  frame.writeUInt32BE(payload.length, 0)
  frame.set(payload, FRAME_HEADER_BYTES)
  return frame
}

/**
 * Splits a byte stream into frames. A header announcing an empty or oversize frame throws
 * MalformedFrameError as soon as its four bytes arrive, before any payload is buffered.
 */
export class FrameDecoder {
  #chunks: Buffer[] = []
  #length = 0
  /** Bytes needed before the next frame (or header) can be parsed. */
  #needed = FRAME_HEADER_BYTES

  constructor(readonly maxFrameBytes: number) {}

  /** Bytes of an incomplete frame held back. */
  get pendingBytes(): number {
    return this.#length
  }

  push(chunk: Uint8Array): Buffer[] {
    if (chunk.length === 0) return []
    this.#chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))
    this.#length += chunk.length
    if (this.#length < this.#needed) return []
    const bytes = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#length)
    const frames: Buffer[] = []
    let offset = 0
    let needed = FRAME_HEADER_BYTES
    while (bytes.length - offset >= FRAME_HEADER_BYTES) {
      const length = bytes.readUInt32BE(offset)
      if (length === 0 || length > this.maxFrameBytes) {
        throw new MalformedFrameError('frame length out of range', { length, max: this.maxFrameBytes })
      }
      if (bytes.length - offset - FRAME_HEADER_BYTES < length) {
        needed = FRAME_HEADER_BYTES + length
        break
      }
      frames.push(bytes.subarray(offset + FRAME_HEADER_BYTES, offset + FRAME_HEADER_BYTES + length))
      offset += FRAME_HEADER_BYTES + length
    }
    const rest = bytes.subarray(offset)
    this.#chunks = rest.length > 0 ? [rest] : []
    this.#length = rest.length
    this.#needed = needed
    return frames
  }
}

type Logger = NonNullable<Libp2pTransportOptions['logger']>
const silent: Logger = { info: () => {}, warn: () => {}, debug: () => {} }

/** A connection's proof of address: pending until its hello arrives, then bound or refused. */
interface Binding {
  readonly promise: Promise<Bound>
  readonly resolve: (bound: Bound) => void
  readonly reject: (error: Error) => void
  readonly timer: NodeJS.Timeout
  bound: Bound | undefined
  settled: boolean
}
interface Bound {
  readonly address: Address
  readonly key: string
}

/** What we send to one peer: its stream, and the queue while there is none or it is backpressured. */
interface Peer {
  readonly key: string
  readonly queue: Buffer[]
  queuedBytes: number
  stream: Stream | undefined
  /** Frames taken this tick, written together by #uncork. */
  corked: Buffer[]
  corkedBytes: number
  uncorkScheduled: boolean
  streamOpenedAt: number
  connecting: boolean
  failures: number
  retryTimer: NodeJS.Timeout | undefined
}

/** Addresses compare case-insensitively: a checksummed and a lower-case spelling are the same node. */
const keyOf = (address: string): string => address.toLowerCase()
const chunkBytes = (data: Chunk): Uint8Array => data.subarray()
const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)))
const isPromiseLike = (value: unknown): value is PromiseLike<unknown> =>
  typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
class NoRouteError extends OperatingError {
  readonly code = 'no_route'
}

export class Libp2pTransport implements Transport {
  readonly address: Address
  readonly #key: string
  readonly #node: Libp2p
  readonly #record: Uint8Array
  readonly #log: Logger
  /** Address book: lower-case address → multiaddrs to dial. */
  readonly #book = new Map<string, Multiaddr[]>()
  /** Per connection id. */
  readonly #bindings = new Map<string, Binding>()
  /** Lower-case address → its bound connections, by connection id. */
  readonly #connections = new Map<string, Map<string, { readonly connection: Connection; readonly address: Address }>>()
  readonly #peers = new Map<string, Peer>()
  #handler: MessageHandler | undefined
  readonly #bootstrapTimers = new Set<NodeJS.Timeout>()
  #closed = false
  readonly #stats = { sent: 0, received: 0, dropped: 0, refusedRecords: 0 }

  private constructor(node: Libp2p, signer: Signer, logger: Logger | undefined) {
    this.#node = node
    this.address = signer.address
    this.#key = keyOf(signer.address)
    this.#log = logger ?? silent
    this.#record = signPeerRecord(signer, node.peerId.toMultihash().bytes, Date.now())
  }

  static async create(options: Libp2pTransportOptions): Promise<Libp2pTransport> {
    let privateKey
    try {
      privateKey = options.peerPrivateKey ? privateKeyFromProtobuf(options.peerPrivateKey) : await generateKeyPair('Ed25519')
    } catch (cause) {
      throw new InvalidPeerKeyError('peerPrivateKey is not a protobuf-encoded libp2p private key', {}, { cause })
    }
    const node = await createLibp2p({
      start: false,
      privateKey,
      addresses: { listen: [...(options.listen ?? ['/ip4/127.0.0.1/tcp/0'])] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      // No services: no identify, ping, DHT or discovery. Peers come from the address book, and the
      // connection monitor (on by default) probes each connection every 10 s, so dead ones close.
      connectionManager: { inboundConnectionThreshold: INBOUND_CONNECTIONS_PER_HOST_PER_SECOND },
    })
    const transport = new Libp2pTransport(node, options.signer, options.logger)
    try {
      for (const [address, multiaddrs] of Object.entries(options.peers ?? {})) transport.addPeer(address as Address, multiaddrs)
      const bootstrap = (options.bootstrap ?? []).map((text) => parsePeerMultiaddr(text, 'bootstrap'))
      await transport.#start()
      for (const ma of bootstrap) void transport.#bootstrap(ma, 0)
    } catch (error) {
      await Promise.resolve(node.stop()).catch(() => {})
      if (error instanceof RejectedInputError) throw error
      throw new TransportStartError('libp2p could not start', { listen: options.listen }, { cause: error })
    }
    transport.#log.info({ address: transport.address, peerId: transport.peerId, multiaddrs: transport.multiaddrs() }, 'libp2p transport listening')
    return transport
  }

  get peerId(): string {
    return this.#node.peerId.toString()
  }

  /** Listening multiaddrs, each ending in /p2p/<peerId>. */
  multiaddrs(): string[] {
    const suffix = `/p2p/${this.peerId}`
    return this.#node.getMultiaddrs().map((ma) => {
      const text = ma.toString()
      return text.endsWith(suffix) ? text : `${text}${suffix}`
    })
  }

  /** Adds or replaces the multiaddrs of `address`. Throws InvalidAddressError or InvalidMultiaddrError. */
  addPeer(address: Address, multiaddrs: readonly string[]): void {
    if (typeof address !== 'string' || !isAddress(address, { strict: false })) {
      throw new InvalidAddressError('peer address must be a 20-byte hex address', { address: String(address) })
    }
    const parsed = multiaddrs.map((text) => parsePeerMultiaddr(text, address))
    const key = keyOf(address)
    if (parsed.length === 0) this.#book.delete(key)
    else this.#book.set(key, parsed)
    // A new route: try it now rather than at the end of a backoff.
    const peer = this.#peers.get(key)
    if (peer && !peer.stream && !peer.connecting) {
      this.#cancelRetry(peer)
      this.#ensureConnecting(peer)
    }
  }

  /** Peers whose address is proven on at least one open connection. */
  connectedPeers(): Address[] {
    const peers: Address[] = []
    for (const connections of this.#connections.values()) {
      for (const { connection, address } of connections.values()) {
        if (connection.status === 'open') {
          peers.push(address)
          break
        }
      }
    }
    return peers
  }

  stats(): Libp2pTransportStats {
    return { ...this.#stats }
  }

  send(to: Address, bytes: Uint8Array): void {
    if (this.#closed || typeof to !== 'string' || !(bytes instanceof Uint8Array)) {
      this.#stats.dropped++
      return
    }
    const key = keyOf(to)
    if (key === this.#key || bytes.length === 0 || bytes.length > MAX_FRAME_BYTES) {
      this.#stats.dropped++
      this.#log.debug({ to, bytes: bytes.length }, 'message dropped: to ourselves, empty or oversize')
      return
    }
    let peer = this.#peers.get(key)
    if (!peer) {
      if (!this.#book.has(key) && !this.#connections.has(key)) {
        this.#stats.dropped++
        this.#log.debug({ to }, 'message dropped: no route to peer')
        return
      }
      peer = {
        key, queue: [], queuedBytes: 0, stream: undefined, corked: [], corkedBytes: 0, uncorkScheduled: false,
        streamOpenedAt: 0, connecting: false, failures: 0, retryTimer: undefined,
      }
      this.#peers.set(key, peer)
    }
    const frame = encodeFrame(bytes)
    if (peer.queue.length === 0 && this.#write(peer, frame)) return
    this.#enqueue(peer, frame)
    this.#ensureConnecting(peer)
  }

  onMessage(handler: MessageHandler): void {
    this.#handler = handler
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#handler = undefined
    for (const timer of this.#bootstrapTimers) clearTimeout(timer)
    for (const peer of this.#peers.values()) {
      this.#cancelRetry(peer)
      this.#stats.dropped += peer.queue.length
      peer.queue.length = 0
      peer.queuedBytes = 0
    }
    for (const binding of this.#bindings.values()) this.#settle(binding, new ConnectionGoneError('transport closed'))
    this.#bindings.clear()
    await this.#node.stop()
    this.#log.info({ address: this.address }, 'libp2p transport closed')
  }

  async #start(): Promise<void> {
    await this.#node.handle(HELLO_PROTOCOL, (stream, connection) => this.#onHelloStream(stream, connection), {
      maxInboundStreams: MAX_INBOUND_HELLO_STREAMS,
    })
    await this.#node.handle(MSG_PROTOCOL, (stream, connection) => this.#onMsgStream(stream, connection), {
      maxInboundStreams: MAX_INBOUND_MSG_STREAMS,
    })
    this.#node.addEventListener('connection:open', (event) => this.#onConnectionOpen(event.detail))
    this.#node.addEventListener('connection:close', (event) => this.#onConnectionClose(event.detail))
    await this.#node.start()
  }

  // ---- identity ---------------------------------------------------------------------------------------

  #onConnectionOpen(connection: Connection): void {
    if (this.#closed) return
    this.#bindingOf(connection).catch(() => {}) // starts the hello timer
    void this.#sendHello(connection)
  }

  async #sendHello(connection: Connection): Promise<void> {
    try {
      const stream = await connection.newStream(HELLO_PROTOCOL, { signal: AbortSignal.timeout(HELLO_TIMEOUT_MS) })
      stream.send(encodeFrame(this.#record))
      await stream.close()
    } catch (error) {
      // The remote then never binds us on this connection and closes it; nothing to do here.
      if (!this.#closed) this.#log.debug({ peerId: connection.remotePeer.toString(), err: error }, 'could not send hello')
    }
  }

  #onHelloStream(stream: Stream, connection: Connection): void {
    const decoder = new FrameDecoder(MAX_RECORD_BYTES)
    let done = false
    const onMessage = (event: { data: Chunk }): void => {
      if (done) return
      let record: Buffer | undefined
      try {
        record = decoder.push(chunkBytes(event.data))[0]
      } catch (error) {
        done = true
        this.#refuse(connection, asError(error))
        stream.abort(asError(error))
        return
      }
      if (!record) return
      done = true
      try {
        const { address } = verifyPeerRecord(record, connection.remotePeer.toMultihash().bytes)
        // Only a second node run with our own channel key can prove our address: a misconfiguration.
        if (keyOf(address) === this.#key) throw new UnexpectedPeerAddressError('peer proved our own address', { address })
        this.#bind(connection, { address, key: keyOf(address) })
      } catch (error) {
        this.#refuse(connection, asError(error))
      }
      stream.close().catch((error: unknown) => stream.abort(asError(error)))
    }
    const onEnd = (): void => {
      if (done) return
      done = true
      this.#refuse(connection, new MalformedPeerRecordError('hello stream ended before a whole record', { bytes: decoder.pendingBytes }))
      stream.close().catch((error: unknown) => stream.abort(asError(error)))
    }
    stream.addEventListener('message', onMessage)
    if (stream.readableEnded) onEnd()
    else stream.addEventListener('end', onEnd)
  }

  /** The binding of a connection, created (with its hello timer) on first use. */
  #bindingOf(connection: Connection): Promise<Bound> {
    const existing = this.#bindings.get(connection.id)
    if (existing) return existing.promise
    // Gone already (its close event has passed): nothing to remember, nothing to wait for.
    if (this.#closed || connection.status !== 'open') return Promise.reject(new ConnectionGoneError('connection closed'))
    let resolve!: (bound: Bound) => void
    let reject!: (error: Error) => void
    const promise = new Promise<Bound>((res, rej) => {
      resolve = res
      reject = rej
    })
    promise.catch(() => {}) // a refusal is handled where it happens; waiters see it too
    const timer = setTimeout(() => {
      this.#refuse(connection, new HelloTimeoutError('peer sent no record in time', { peerId: connection.remotePeer.toString() }))
    }, HELLO_TIMEOUT_MS)
    timer.unref()
    const binding: Binding = { promise, resolve, reject, timer, bound: undefined, settled: false }
    this.#bindings.set(connection.id, binding)
    return promise
  }

  #bind(connection: Connection, bound: Bound): void {
    this.#bindingOf(connection).catch(() => {})
    const binding = this.#bindings.get(connection.id)
    if (!binding || binding.settled) return // closed; or one record per connection, a second changes nothing
    this.#settle(binding, bound)
    let connections = this.#connections.get(bound.key)
    if (!connections) this.#connections.set(bound.key, (connections = new Map()))
    connections.set(connection.id, { connection, address: bound.address })
    this.#log.debug({ peer: bound.address, peerId: connection.remotePeer.toString(), direction: connection.direction }, 'peer bound')
    // A peer we have been waiting for (it dialed us, or restarted): use this connection now.
    const peer = this.#peers.get(bound.key)
    if (peer && !peer.stream && !peer.connecting) {
      this.#cancelRetry(peer)
      this.#ensureConnecting(peer)
    }
  }

  /** The remote did not prove an address: count it, and close the connection. */
  #refuse(connection: Connection, error: Error): void {
    this.#bindingOf(connection).catch(() => {})
    const binding = this.#bindings.get(connection.id)
    if (!binding || binding.settled) return
    this.#stats.refusedRecords++
    this.#settle(binding, error)
    this.#log.warn({ peerId: connection.remotePeer.toString(), code: (error as { code?: string }).code, err: error }, 'peer record refused')
    connection.abort(error)
  }

  #settle(binding: Binding, outcome: Bound | Error): void {
    if (binding.settled) return
    binding.settled = true
    clearTimeout(binding.timer)
    if (outcome instanceof Error) binding.reject(outcome)
    else {
      binding.bound = outcome
      binding.resolve(outcome)
    }
  }

  #onConnectionClose(connection: Connection): void {
    const binding = this.#bindings.get(connection.id)
    if (binding) {
      this.#settle(binding, new ConnectionGoneError('connection closed before its peer proved an address'))
      this.#bindings.delete(connection.id)
      const connections = binding.bound && this.#connections.get(binding.bound.key)
      if (connections) {
        connections.delete(connection.id)
        if (connections.size === 0) this.#connections.delete(binding.bound!.key)
      }
    }
  }

  /** An open connection whose remote proved `key`, if any. */
  #boundConnection(key: string): Connection | undefined {
    for (const { connection } of this.#connections.get(key)?.values() ?? []) {
      if (connection.status === 'open') return connection
    }
    return undefined
  }

  // ---- receiving -----------------------------------------------------------------------------------------

  async #onMsgStream(stream: Stream, connection: Connection): Promise<void> {
    let bound: Bound
    try {
      // Until the hello verifies, libp2p buffers what arrives (up to its read buffer limit, then resets).
      bound = await this.#bindingOf(connection)
    } catch (error) {
      this.#stats.dropped++
      stream.abort(asError(error))
      return
    }
    if (this.#closed) {
      stream.abort(new ConnectionGoneError('transport closed'))
      return
    }
    const decoder = new FrameDecoder(MAX_FRAME_BYTES)
    let finished = false
    const onMessage = (event: { data: Chunk }): void => {
      if (finished) return
      let frames: Buffer[]
      try {
        frames = decoder.push(chunkBytes(event.data))
      } catch (error) {
        finished = true
        this.#stats.dropped++
        this.#log.warn({ peer: bound.address, err: error }, 'malformed frame: message stream closed')
        stream.abort(asError(error))
        return
      }
      for (const frame of frames) this.#deliver(bound.address, frame)
    }
    // The stream is over (remote finished writing, reset, or connection gone): a frame cut short is dropped.
    const onFinish = (): void => {
      if (finished) return
      finished = true
      if (decoder.pendingBytes > 0) this.#stats.dropped++
    }
    const onEnd = (): void => {
      onFinish()
      // We never write on an inbound message stream: close our end too, so the stream is released.
      stream.close().catch((error: unknown) => stream.abort(asError(error)))
    }
    stream.addEventListener('message', onMessage)
    stream.addEventListener('close', onFinish)
    // 'end' fires once; it may have passed while we waited for the hello (only if nothing was left unread).
    if (stream.readableEnded) onEnd()
    else stream.addEventListener('end', onEnd)
  }

  #deliver(from: Address, frame: Buffer): void {
    const handler = this.#handler
    if (!handler) {
      this.#stats.dropped++
      return
    }
    this.#stats.received++
    // A copy: the frame is a view into a larger chunk, which the handler would otherwise keep alive.
    const bytes = new Uint8Array(frame)
    try {
      const result: unknown = handler(from, bytes)
      if (isPromiseLike(result)) result.then(undefined, (error: unknown) => this.#handlerFailed(from, error))
    } catch (error) {
      this.#handlerFailed(from, error)
    }
  }

  // A handler's failure is its node's bug, not the peer's: keep reading the stream.
  #handlerFailed(from: Address, error: unknown): void {
    this.#log.warn({ from, err: error }, 'message handler threw')
  }

  // ---- sending -------------------------------------------------------------------------------------------

  /**
   * Takes one frame if the peer's stream can take it now. Frames taken in one tick are written together at
   * its end (or once CORK_BYTES gather): one yamux frame, one noise seal and one socket write for many.
   */
  #write(peer: Peer, frame: Buffer): boolean {
    const stream = peer.stream
    if (!stream || stream.writeStatus !== 'writable' || stream.writableNeedsDrain) return false
    peer.corked.push(frame)
    peer.corkedBytes += frame.length
    if (peer.corkedBytes >= CORK_BYTES) this.#uncork(peer)
    else if (!peer.uncorkScheduled) {
      peer.uncorkScheduled = true
      queueMicrotask(() => {
        peer.uncorkScheduled = false
        this.#uncork(peer)
      })
    }
    return true
  }

  #uncork(peer: Peer): void {
    const frames = peer.corked
    if (frames.length === 0) return
    peer.corked = []
    peer.corkedBytes = 0
    const stream = peer.stream
    try {
      if (!stream) throw new ConnectionGoneError('message stream closed')
      stream.send(frames.length === 1 ? frames[0]! : Buffer.concat(frames)) // false: buffered, wait for drain
      this.#stats.sent += frames.length
    } catch (error) {
      // The stream closed under us: what it had taken is lost like anything in flight; the outbox resends.
      this.#stats.dropped += frames.length
      this.#log.debug({ peer: peer.key, err: error }, 'write failed')
    }
  }

  #enqueue(peer: Peer, frame: Buffer): void {
    peer.queue.push(frame)
    peer.queuedBytes += frame.length
    while (peer.queue.length > MAX_QUEUED_MESSAGES_PER_PEER || peer.queuedBytes > MAX_QUEUED_BYTES_PER_PEER) {
      peer.queuedBytes -= peer.queue.shift()!.length
      this.#stats.dropped++
    }
  }

  #flush(peer: Peer): void {
    while (peer.queue.length > 0 && this.#write(peer, peer.queue[0]!)) peer.queuedBytes -= peer.queue.shift()!.length
  }

  #ensureConnecting(peer: Peer): void {
    if (this.#closed || peer.stream || peer.connecting || peer.retryTimer) return
    void this.#connect(peer)
  }

  /** Opens the peer's message stream on a bound connection, dialing one if needed. */
  async #connect(peer: Peer): Promise<void> {
    peer.connecting = true
    let stream: Stream
    try {
      const connection = this.#boundConnection(peer.key) ?? (await this.#dial(peer.key))
      const bound = await this.#bindingOf(connection)
      if (bound.key !== peer.key) {
        this.#stats.refusedRecords++
        const error = new UnexpectedPeerAddressError('dialed peer proved another address', { expected: peer.key, proved: bound.address })
        // Keep a connection the other address is already using; a connection made for nothing, close.
        if (!connection.streams.some((s) => s.protocol === MSG_PROTOCOL)) connection.abort(error)
        throw error
      }
      // No signal of ours: libp2p then applies its own timeouts, and stop() aborts what is in flight.
      stream = await connection.newStream(MSG_PROTOCOL)
      if (stream.status !== 'open') throw new ConnectionGoneError('message stream closed as it opened')
    } catch (error) {
      peer.connecting = false
      if (this.#closed) return
      if (error instanceof NoRouteError) {
        // Nothing to dial: wait until the peer connects to us or the address book learns a route.
        this.#log.debug({ peer: peer.key }, 'no route to peer; waiting for it to connect')
        return
      }
      this.#log.debug({ peer: peer.key, failures: peer.failures, err: error }, 'could not reach peer')
      this.#scheduleRetry(peer)
      return
    }
    peer.connecting = false
    if (this.#closed) {
      stream.abort(new ConnectionGoneError('transport closed'))
      return
    }
    peer.stream = stream
    peer.streamOpenedAt = performance.now()
    stream.addEventListener('drain', () => this.#flush(peer))
    stream.addEventListener('close', () => this.#onStreamClose(peer, stream))
    this.#flush(peer)
  }

  /** Dials a bootstrap peer until it proves an address, then books it (unless the book already routes that address). */
  async #bootstrap(ma: Multiaddr, failures: number): Promise<void> {
    if (this.#closed) return
    try {
      const bound = await this.#bindingOf(await this.#node.dial(ma))
      if (!this.#book.has(bound.key)) this.addPeer(bound.address, [ma.toString()])
      this.#log.info({ peer: bound.address, multiaddr: ma.toString() }, 'bootstrap peer bound')
    } catch (error) {
      if (this.#closed) return
      const delayMs = Math.min(DIAL_BACKOFF_CAP_MS, DIAL_BACKOFF_BASE_MS * 2 ** Math.min(failures, 16))
      this.#log.debug({ multiaddr: ma.toString(), err: String(error), retryInMs: delayMs }, 'bootstrap dial failed')
      const timer = setTimeout(() => {
        this.#bootstrapTimers.delete(timer)
        void this.#bootstrap(ma, failures + 1)
      }, delayMs)
      this.#bootstrapTimers.add(timer)
    }
  }

  async #dial(key: string): Promise<Connection> {
    const multiaddrs = this.#book.get(key)
    if (!multiaddrs) throw new NoRouteError('no multiaddr for peer', { peer: key })
    return this.#node.dial(multiaddrs)
  }

  #onStreamClose(peer: Peer, stream: Stream): void {
    if (peer.stream !== stream) return
    peer.stream = undefined
    if (this.#closed) return
    this.#log.debug({ peer: peer.key }, 'message stream closed')
    if (performance.now() - peer.streamOpenedAt >= STABLE_STREAM_MS) peer.failures = 0
    // Re-dial even with nothing queued, so the next message (or the outbox's retransmit) finds a stream.
    this.#scheduleRetry(peer)
  }

  #scheduleRetry(peer: Peer): void {
    if (this.#closed || peer.retryTimer) return
    const delayMs = Math.min(DIAL_BACKOFF_CAP_MS, DIAL_BACKOFF_BASE_MS * 2 ** Math.min(peer.failures, 16))
    peer.failures++
    // Jitter in [½, 1) of the delay, so peers that lost each other at once do not re-dial in lockstep.
    peer.retryTimer = setTimeout(() => {
      peer.retryTimer = undefined
      this.#ensureConnecting(peer)
    }, delayMs * (0.5 + Math.random() / 2))
  }

  #cancelRetry(peer: Peer): void {
    clearTimeout(peer.retryTimer)
    peer.retryTimer = undefined
  }
}

/** A multiaddr that names its peer (/p2p/<peerId>), or InvalidMultiaddrError saying whose it was meant to be. */
function parsePeerMultiaddr(text: string, whose: string): Multiaddr {
  let ma: Multiaddr
  try {
    ma = multiaddr(text)
  } catch (cause) {
    throw new InvalidMultiaddrError('multiaddr does not parse', { whose, multiaddr: String(text) }, { cause })
  }
  if (!ma.getComponents().some((component) => component.name === 'p2p' && component.value)) {
    throw new InvalidMultiaddrError('multiaddr must end in /p2p/<peerId>', { whose, multiaddr: text })
  }
  return ma
}
