// In-memory network for tests and the deterministic simulation (DESIGN §2, §7). Every node gets a Transport
// from one MemoryNetwork, which injects the faults the engine's outbox must survive (drop, duplicate, reorder,
// delay; transport.ts) using only its seeded random source, so a failing seed replays. In 'manual' mode
// nothing moves until the test steps the network, and a run is fully determined by the seed and the calls.
//
// Every message must decode as a wire envelope (src/core/codec.ts): a network that carried what the real
// wire cannot would hide bugs until production. Bytes are copied on send and again on each delivery, as a
// socket would, so no two parties ever share a buffer.
import { decodeEnvelope } from '../core/codec.js'
import { InvariantError, assert } from '../core/errors.js'
import { createRandom, type Random } from '../core/seededRandom.js'
import type { Address } from '../core/types.js'
import type { MessageHandler, Transport } from './transport.js'

/**
 * Messages in flight at once, by default; beyond it the network drops (counted as `overflowed`). A message
 * storm in a simulation is a bug to surface, not memory to exhaust (a message may be 1 MiB, limits.ts).
 */
export const IN_FLIGHT_MAX = 10_000
/** deliverAll's default bound: a run that has not settled after this many deliveries is livelocked. */
export const DELIVER_ALL_STEPS_MAX = 1_000_000

export type DeliveryMode = 'auto' | 'manual'

export interface MemoryNetworkOptions {
  /** Seeds every fault and every manual delivery choice. */
  readonly seed: number
  /** Probability that a message is lost. */
  readonly drop?: number
  /** Probability that a message is delivered twice. */
  readonly duplicate?: number
  /** Probability that a message is held back until a later message to the same destination is delivered. */
  readonly reorder?: number
  /** Auto mode: each message waits a uniform random whole number of ms in [0, maxDelayMs]. */
  readonly maxDelayMs?: number
  /** 'auto' delivers on timers; 'manual' only through deliverNext and deliverAll. */
  readonly mode?: DeliveryMode
  readonly inFlightMax?: number
}

/**
 * Counters since the network was created. Every message sent (plus each extra copy) is eventually
 * `delivered`, `dropped`, `undeliverable` or `overflowed`, or is still in flight:
 * sent + duplicated = delivered + dropped + undeliverable + overflowed + inFlight.
 */
export interface NetworkStats {
  readonly sent: number
  /** Handler calls, including calls whose handler threw. */
  readonly delivered: number
  /** Lost by the drop probability or to a partition (at send or at delivery). */
  readonly dropped: number
  /** Messages that got a second copy. */
  readonly duplicated: number
  /** Held-back messages that a later message to the same destination overtook. */
  readonly reordered: number
  /** Arrived where no transport (or no handler) was connected. */
  readonly undeliverable: number
  /** Refused because inFlightMax messages were already in flight. */
  readonly overflowed: number
  /** Handlers that threw or whose returned promise rejected; the network carries on. */
  readonly handlerErrors: number
  readonly lastHandlerError: unknown
}

interface Message {
  readonly seq: number
  readonly from: Address
  readonly to: Address
  readonly toKey: string
  readonly bytes: Uint8Array
  readonly deliverAtMs: number
  /** Held back by the reorder fault: not in its pair's FIFO queue. */
  readonly held: boolean
  /** A held message that a later message to its destination has overtaken; it may go now. */
  released: boolean
}

/** What a transport needs from its network; keeps the network's internals private. */
interface Link {
  send(from: Address, to: Address, bytes: Uint8Array): void
  disconnect(transport: MemoryTransport): void
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }
type Timer = { readonly atMs: number; readonly cancel: () => void }

/** Addresses compare case-insensitively: a checksummed and a lower-case spelling are the same node. */
const keyOf = (address: Address): string => address.toLowerCase()
const pairKeyOf = (from: Address, to: Address): string => `${keyOf(from)}>${keyOf(to)}`
const linkKeyOf = (a: Address, b: Address): string => [keyOf(a), keyOf(b)].sort().join('|')
const isPromiseLike = (value: unknown): value is PromiseLike<unknown> =>
  typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'

export class MemoryNetwork {
  #options: Required<Omit<MemoryNetworkOptions, 'seed'>>
  // One stream per concern, so turning one fault on does not shift the draws of the others.
  readonly #faultRandom: Random
  readonly #delayRandom: Random
  readonly #scheduleRandom: Random

  readonly #transports = new Map<string, MemoryTransport>()
  readonly #cutLinks = new Set<string>()
  /** FIFO per (from, to) pair of messages not held back; empty queues are removed. */
  readonly #queues = new Map<string, Message[]>()
  /** Messages not held back, per destination: a held message may go once none is left. */
  readonly #queuedTo = new Map<string, number>()
  readonly #held: Message[] = []
  #inFlight = 0
  #seq = 0
  readonly #stats: Mutable<NetworkStats> = {
    sent: 0, delivered: 0, dropped: 0, duplicated: 0, reordered: 0, undeliverable: 0, overflowed: 0,
    handlerErrors: 0, lastHandlerError: undefined,
  }
  #timer: Timer | undefined
  #idleWaiters: (() => void)[] = []
  readonly #link: Link = {
    send: (from, to, bytes) => this.#send(from, to, bytes),
    disconnect: (transport) => {
      if (this.#transports.get(keyOf(transport.address)) === transport) this.#transports.delete(keyOf(transport.address))
    },
  }

  constructor(options: MemoryNetworkOptions) {
    const { seed, drop = 0, duplicate = 0, reorder = 0, maxDelayMs = 0, mode = 'auto', inFlightMax = IN_FLIGHT_MAX } = options
    for (const [name, p] of [['drop', drop], ['duplicate', duplicate], ['reorder', reorder]] as const) {
      assert(p >= 0 && p <= 1, `${name} must be a probability in [0, 1]`, { [name]: p })
    }
    assert(Number.isSafeInteger(maxDelayMs) && maxDelayMs >= 0, 'maxDelayMs must be a whole number of ms', { maxDelayMs })
    assert(mode === 'auto' || mode === 'manual', 'mode must be auto or manual', { mode })
    assert(Number.isSafeInteger(inFlightMax) && inFlightMax >= 1, 'inFlightMax must be a positive integer', { inFlightMax })
    this.#options = { drop, duplicate, reorder, maxDelayMs, mode, inFlightMax }
    const random = createRandom(seed)
    this.#faultRandom = random.fork()
    this.#delayRandom = random.fork()
    this.#scheduleRandom = random.fork()
  }

  /**
   * A transport for `address`. Connecting an address again replaces its transport, as a crash-restarted node
   * rejoins: the old transport is closed, its handler receives nothing more and sending from it throws.
   */
  connect(address: Address): Transport {
    this.#transports.get(keyOf(address))?.detach()
    const transport = new MemoryTransport(address, this.#link)
    this.#transports.set(keyOf(address), transport)
    return transport
  }

  /**
   * Changes the fault probabilities for messages sent from now on (a simulation turns its faults off to check
   * that everything then completes). Messages already in flight keep their fate.
   */
  setFaults(faults: { readonly drop?: number; readonly duplicate?: number; readonly reorder?: number }): void {
    for (const [name, p] of Object.entries(faults)) assert(p >= 0 && p <= 1, `${name} must be a probability in [0, 1]`, { [name]: p })
    this.#options = { ...this.#options, ...faults }
  }

  /** Cuts (`on` true) or heals the link between `a` and `b`, both ways. Messages in flight on it are lost. */
  partition(a: Address, b: Address, on: boolean): void {
    if (on) this.#cutLinks.add(linkKeyOf(a, b))
    else this.#cutLinks.delete(linkKeyOf(a, b))
  }

  get stats(): NetworkStats {
    return { ...this.#stats }
  }

  get inFlight(): number {
    return this.#inFlight
  }

  /**
   * Auto mode: resolves once nothing is in flight. Handlers run synchronously, so a reply sent from a handler
   * keeps the network busy; work a handler defers (an awaited store write) may send after this resolves.
   */
  idle(): Promise<void> {
    if (this.#options.mode === 'manual') {
      return Promise.reject(new InvariantError('idle() waits for an auto network; step a manual one with deliverAll()'))
    }
    if (this.#inFlight === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idleWaiters.push(resolve))
  }

  /**
   * Manual mode: delivers one message chosen by the seeded random source among those that may go next (the
   * head of each (from, to) queue and any held message free to go), so interleavings vary with the seed.
   * A message that arrives where nobody listens, or on a cut link, also counts as a step.
   * @returns false when nothing is in flight.
   */
  deliverNext(): boolean {
    assert(this.#options.mode === 'manual', 'deliverNext() steps a manual network only')
    const candidates = this.#candidates()
    assert(candidates.length > 0 || this.#inFlight === 0, 'messages in flight but none may go', { inFlight: this.#inFlight })
    if (candidates.length === 0) return false
    this.#process(this.#scheduleRandom.pick(candidates))
    return true
  }

  /**
   * Manual mode: delivers until nothing is in flight, including the replies handlers send.
   * @returns the number of steps taken. Throws `invariant` if messages remain after `maxSteps` (a livelock).
   */
  deliverAll(maxSteps = DELIVER_ALL_STEPS_MAX): number {
    let steps = 0
    while (steps < maxSteps && this.deliverNext()) steps++
    assert(this.#inFlight === 0, 'network did not settle', { steps, inFlight: this.#inFlight })
    return steps
  }

  #send(from: Address, to: Address, bytes: Uint8Array): void {
    try {
      decodeEnvelope(bytes)
    } catch (cause) {
      // Not a fault of the network: the sender built a message the wire cannot carry.
      throw new InvariantError('a transport sends only wire envelopes (codec.ts)', { from, to }, { cause })
    }
    const copy = new Uint8Array(bytes)
    this.#stats.sent++
    if (this.#cutLinks.has(linkKeyOf(from, to))) {
      this.#stats.dropped++
      return
    }
    const dropped = this.#faultRandom.chance(this.#options.drop)
    const duplicated = this.#faultRandom.chance(this.#options.duplicate)
    if (dropped) {
      this.#stats.dropped++
      return
    }
    this.#enqueue(from, to, copy)
    if (duplicated) {
      this.#stats.duplicated++
      this.#enqueue(from, to, copy)
    }
    this.#schedule()
  }

  #enqueue(from: Address, to: Address, bytes: Uint8Array): void {
    if (this.#inFlight >= this.#options.inFlightMax) {
      this.#stats.overflowed++
      return
    }
    const held = this.#faultRandom.chance(this.#options.reorder)
    const delayMs = this.#delayRandom.int(this.#options.maxDelayMs + 1)
    const message: Message = {
      seq: this.#seq++, from, to, toKey: keyOf(to), bytes, deliverAtMs: this.#nowMs() + delayMs, held, released: false,
    }
    this.#inFlight++
    if (held) {
      this.#held.push(message)
      return
    }
    // FIFO per pair: only a queue's head may go, so a message whose delay is over waits for those ahead of it.
    const pairKey = pairKeyOf(from, to)
    const queue = this.#queues.get(pairKey) ?? []
    queue.push(message)
    this.#queues.set(pairKey, queue)
    this.#queuedTo.set(message.toKey, (this.#queuedTo.get(message.toKey) ?? 0) + 1)
  }

  /** Messages that may go next, in send order: queue heads, and held messages overtaken or left alone. */
  #candidates(): Message[] {
    const candidates: Message[] = []
    for (const queue of this.#queues.values()) if (queue[0]) candidates.push(queue[0])
    for (const message of this.#held) {
      if (message.released || !this.#queuedTo.get(message.toKey)) candidates.push(message)
    }
    return candidates.sort((x, y) => x.seq - y.seq)
  }

  /** Takes `message` out of flight and hands a fresh copy to the destination's handler, if it can. */
  #process(message: Message): void {
    this.#remove(message)
    // Held messages to the same destination sent earlier have now been overtaken.
    for (const other of this.#held) {
      if (!other.released && other.toKey === message.toKey && other.seq < message.seq) {
        other.released = true
        this.#stats.reordered++
      }
    }
    if (this.#cutLinks.has(linkKeyOf(message.from, message.to))) {
      this.#stats.dropped++
      return
    }
    const handler = this.#transports.get(message.toKey)?.handler
    if (!handler) {
      this.#stats.undeliverable++
      return
    }
    this.#stats.delivered++
    try {
      const result: unknown = handler(message.from, new Uint8Array(message.bytes))
      if (isPromiseLike(result)) result.then(undefined, (error: unknown) => this.#recordHandlerError(error))
    } catch (error) {
      this.#recordHandlerError(error)
    }
  }

  #remove(message: Message): void {
    this.#inFlight--
    if (message.held) {
      this.#held.splice(this.#held.indexOf(message), 1)
      return
    }
    const pairKey = pairKeyOf(message.from, message.to)
    const queue = this.#queues.get(pairKey)
    assert(queue?.[0] === message, 'only the head of a pair queue is delivered', { seq: message.seq })
    queue.shift()
    if (queue.length === 0) this.#queues.delete(pairKey)
    const left = (this.#queuedTo.get(message.toKey) ?? 0) - 1
    if (left > 0) this.#queuedTo.set(message.toKey, left)
    else this.#queuedTo.delete(message.toKey)
  }

  // A handler's failure is its node's bug, not the network's: keep delivering, but keep the evidence.
  #recordHandlerError(error: unknown): void {
    this.#stats.handlerErrors++
    this.#stats.lastHandlerError = error
  }

  #nowMs(): number {
    return this.#options.mode === 'auto' ? performance.now() : 0
  }

  /** The candidate due first (earliest deadline, then send order). */
  #earliest(): Message | undefined {
    let earliest: Message | undefined
    for (const message of this.#candidates()) {
      if (!earliest || message.deliverAtMs < earliest.deliverAtMs) earliest = message
    }
    return earliest
  }

  /** Auto mode: makes sure a timer fires when the next message is due. */
  #schedule(): void {
    if (this.#options.mode === 'manual') return
    const next = this.#earliest()
    if (!next || (this.#timer && this.#timer.atMs <= next.deliverAtMs)) return
    this.#timer?.cancel()
    const waitMs = next.deliverAtMs - this.#nowMs()
    if (waitMs <= 0) {
      const immediate = setImmediate(() => this.#pump())
      this.#timer = { atMs: next.deliverAtMs, cancel: () => clearImmediate(immediate) }
    } else {
      const timeout = setTimeout(() => this.#pump(), Math.ceil(waitMs))
      this.#timer = { atMs: next.deliverAtMs, cancel: () => clearTimeout(timeout) }
    }
  }

  /**
   * Auto mode: delivers what is due, at most the messages in flight when it started, so that handlers
   * replying to each other yield to the event loop between rounds.
   */
  #pump(): void {
    this.#timer = undefined
    for (let budget = this.#inFlight; budget > 0; budget--) {
      const next = this.#earliest()
      if (!next || next.deliverAtMs > this.#nowMs()) break
      this.#process(next)
    }
    this.#schedule()
    if (this.#inFlight === 0) {
      const waiters = this.#idleWaiters
      this.#idleWaiters = []
      for (const resolve of waiters) resolve()
    }
  }
}

class MemoryTransport implements Transport {
  readonly #link: Link
  #handler: MessageHandler | undefined
  #open = true

  constructor(
    readonly address: Address,
    link: Link,
  ) {
    this.#link = link
  }

  /** The handler to deliver to; none once closed or replaced. */
  get handler(): MessageHandler | undefined {
    return this.#handler
  }

  send(to: Address, bytes: Uint8Array): void {
    // A closed or replaced transport belongs to a node that stopped or crashed: that it still sends is a bug.
    assert(this.#open, 'send on a closed transport', { address: this.address })
    this.#link.send(this.address, to, bytes)
  }

  onMessage(handler: MessageHandler): void {
    assert(this.#open, 'onMessage on a closed transport', { address: this.address })
    this.#handler = handler
  }

  async close(): Promise<void> {
    if (!this.#open) return
    this.detach()
    this.#link.disconnect(this)
  }

  /** Closes without touching the network's table (the network is replacing this transport). */
  detach(): void {
    this.#open = false
    this.#handler = undefined
  }
}
