// Channel logs and the node journal on a Store (DESIGN §4). The head is derived from the last stored
// event (a reverse scan of one key), never stored separately, so it cannot drift from the events.
import type { Bytes32 } from '../core/types.js'
import type { ChannelEvent, EventInput } from '../log/event.js'
import type { LogHead } from '../log/channelLog.js'
import type { BatchOp, Store } from './store.js'
import { EMPTY_HEAD, nextEvent, verifyChain } from '../log/channelLog.js'
import { decodeValue, encodeValue } from '../core/codec.js'
import { bytesToHex, hexToBytes } from '../core/hex.js'
import { BrokenLogError, RejectedInputError } from '../core/errors.js'
import { eventKey, eventRange, seqOfEventKey } from './keys.js'
import { toAddress, toBytes32 } from '../core/canonical.js'

function encodeRecord(event: ChannelEvent): Uint8Array {
  return encodeValue([event.kind, event.payload, hexToBytes(event.author, 'author', 20), hexToBytes(event.prevHash, 'prevHash', 32), hexToBytes(event.hash, 'hash', 32)])
}

/** Store reads are an edge: a record that does not decode is reported as a broken log at its seq. */
function decodeRecord(seq: bigint, bytes: Uint8Array): ChannelEvent {
  try {
    const value = decodeValue(bytes)
    if (!Array.isArray(value) || value.length !== 5) throw new BrokenLogError('event record is not a 5-tuple')
    const [kind, payload, author, prevHash, hash] = value as unknown[]
    if (typeof kind !== 'string') throw new BrokenLogError('event kind is not a string')
    for (const [field, bin, length] of [['payload', payload, -1], ['author', author, 20], ['prevHash', prevHash, 32], ['hash', hash, 32]] as const) {
      if (!(bin instanceof Uint8Array) || (length >= 0 && bin.length !== length)) throw new BrokenLogError(`event ${field} is malformed`)
    }
    return {
      seq,
      kind,
      payload: payload as Uint8Array,
      author: toAddress(bytesToHex(author as Uint8Array)),
      prevHash: toBytes32(bytesToHex(prevHash as Uint8Array)),
      hash: toBytes32(bytesToHex(hash as Uint8Array)),
    }
  } catch (cause) {
    if (cause instanceof BrokenLogError) throw new BrokenLogError(`event ${seq}: ${cause.summary}`, { seq }, { cause })
    if (cause instanceof RejectedInputError) throw new BrokenLogError(`event ${seq} does not decode`, { seq }, { cause })
    throw cause
  }
}

/** The ops that store `events` of log `logId`; commit them with the rest of the step's batch. */
export function putEventOps(logId: Bytes32, events: readonly ChannelEvent[]): BatchOp[] {
  return events.map((event) => ({ type: 'put', key: eventKey(logId, event.seq), value: encodeRecord(event) }))
}

export async function readHead(store: Store, logId: Bytes32): Promise<LogHead> {
  for await (const [key, value] of store.scan({ ...eventRange(logId), reverse: true, limit: 1 })) {
    const event = decodeRecord(seqOfEventKey(key), value)
    return { seq: event.seq, hash: event.hash }
  }
  return EMPTY_HEAD
}

/** Events with fromSeq ≤ seq (≤ toSeq), in seq order, unverified (see `loadVerifiedEvents`). */
export async function* readEvents(store: Store, logId: Bytes32, fromSeq = 1n, toSeq?: bigint): AsyncIterable<ChannelEvent> {
  const range = eventRange(logId)
  const lt = toSeq === undefined ? range.lt : eventKey(logId, toSeq + 1n)
  for await (const [key, value] of store.scan({ gte: eventKey(logId, fromSeq), lt })) {
    yield decodeRecord(seqOfEventKey(key), value)
  }
}

/** Reads the whole log and verifies every link; throws BrokenLogError at the first bad event. */
export async function loadVerifiedEvents(store: Store, logId: Bytes32): Promise<ChannelEvent[]> {
  const events: ChannelEvent[] = []
  for await (const event of readEvents(store, logId)) events.push(event)
  verifyChain(events)
  return events
}

/** Appends inputs after the stored head in one atomic batch; returns the new events. */
export async function appendEvents(store: Store, logId: Bytes32, inputs: readonly EventInput[]): Promise<ChannelEvent[]> {
  let head = await readHead(store, logId)
  const events = inputs.map((input) => {
    const event = nextEvent(head, input)
    head = event
    return event
  })
  await store.commit(putEventOps(logId, events))
  return events
}
