// A hash-chained log (DESIGN §4.1): append, verify, replay through a reducer from any snapshot. Pure:
// persistence is the store's job (src/store/eventStore.ts), this module only computes.
import type { Bytes32 } from '../core/types.js'
import { BrokenLogError, assert } from '../core/errors.js'
import type { ChannelEvent, EventInput } from './event.js'
import { hashEvent } from './event.js'
import { toBytes32 } from '../core/canonical.js'

/** Where a log ends: the last event's seq and hash. */
export interface LogHead {
  readonly seq: bigint
  readonly hash: Bytes32
}

export const GENESIS_HASH = toBytes32(`0x${'00'.repeat(32)}`)
export const EMPTY_HEAD: LogHead = { seq: 0n, hash: GENESIS_HASH }

/** A state derived from a log, and the head it was derived at. */
export interface Snapshot<S> {
  readonly head: LogHead
  readonly state: S
}

export type Reducer<S> = (state: S, event: ChannelEvent) => S

/** The event that follows `head`. */
export function nextEvent(head: LogHead, input: EventInput): ChannelEvent {
  const seq = head.seq + 1n
  return { ...input, seq, prevHash: head.hash, hash: hashEvent(head.hash, seq, input) }
}

/** Checks that `events` extend `from` link by link; returns the new head. The error names the first bad seq. */
export function verifyChain(events: Iterable<ChannelEvent>, from: LogHead = EMPTY_HEAD): LogHead {
  let head = from
  for (const event of events) {
    if (event.seq !== head.seq + 1n) {
      throw new BrokenLogError(`event seq ${event.seq} does not follow ${head.seq}`, { seq: event.seq, expected: head.seq + 1n })
    }
    if (event.prevHash !== head.hash) {
      throw new BrokenLogError(`event ${event.seq} does not link to the previous hash`, { seq: event.seq })
    }
    if (hashEvent(event.prevHash, event.seq, event) !== event.hash) {
      throw new BrokenLogError(`event ${event.seq} hash does not match its contents`, { seq: event.seq })
    }
    head = { seq: event.seq, hash: event.hash }
  }
  return head
}

/** Folds `events` into `snapshot` after verifying each link; events at or before the snapshot are skipped. */
export function replay<S>(snapshot: Snapshot<S>, events: Iterable<ChannelEvent>, reducer: Reducer<S>): Snapshot<S> {
  let { head, state } = snapshot
  for (const event of events) {
    if (event.seq <= head.seq) continue
    head = verifyChain([event], head)
    state = reducer(state, event)
  }
  return { head, state }
}

/**
 * An in-memory log: the events of one channel in seq order. Appending computes the link; `verify` and
 * `replay` recheck every link (TigerBeetle's paired assertions: checked on the way in and on the way out).
 */
export class ChannelLog {
  readonly #events: ChannelEvent[] = []
  #head: LogHead = EMPTY_HEAD

  constructor(readonly id: Bytes32) {}

  get head(): LogHead {
    return this.#head
  }

  get length(): number {
    return this.#events.length
  }

  static from(id: Bytes32, events: Iterable<ChannelEvent>): ChannelLog {
    const log = new ChannelLog(id)
    for (const event of events) log.add(event)
    return log
  }

  append(input: EventInput): ChannelEvent {
    const event = nextEvent(this.#head, input)
    this.#events.push(event)
    this.#head = { seq: event.seq, hash: event.hash }
    return event
  }

  /** Adds an event made elsewhere (received, or read back from disk) after checking its link. */
  add(event: ChannelEvent): void {
    this.#head = verifyChain([event], this.#head)
    this.#events.push(event)
  }

  /** Events with fromSeq ≤ seq ≤ toSeq. */
  slice(fromSeq = 1n, toSeq = this.#head.seq): readonly ChannelEvent[] {
    assert(fromSeq >= 1n, 'seq starts at 1')
    const start = Number(fromSeq - 1n)
    const end = Number(toSeq < this.#head.seq ? toSeq : this.#head.seq)
    return this.#events.slice(start, end)
  }

  verify(): LogHead {
    const head = verifyChain(this.#events)
    assert(head.seq === this.#head.seq && head.hash === this.#head.hash, 'log head drifted from its events')
    return head
  }

  replay<S>(snapshot: Snapshot<S>, reducer: Reducer<S>): Snapshot<S> {
    return replay(snapshot, this.slice(snapshot.head.seq + 1n), reducer)
  }
}
