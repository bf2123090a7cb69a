// Reliable messaging per peer (DESIGN §5): every outgoing message gets a sequence number and stays in a
// persisted outbox until the peer acknowledges it; unacknowledged entries are retransmitted with
// exponential backoff. The receiver remembers which sequence numbers it has delivered, so a duplicate
// is acknowledged again but handled once. Sequence numbers belong to a session between two epochs (each
// node's, fixed when its store was created): a peer back from an empty store starts a new one (restartSession).
// Pure functions over plain records; the engine persists them.
import type { Address } from '../core/types.js'
import type { Payload } from '../protocols/messages.js'
import { MAX_DELIVERED_ABOVE, OUTBOX_WINDOW, RETRANSMIT_BASE_MS, RETRANSMIT_CAP_MS } from './limits.js'

/**
 * A peer's address inside a stored key (the peers, outbox and parked tables, and the unacknowledged index read from
 * the outbox's keys): lowercase, the form stores written before ADR 0018 hold. Everywhere else an address is its
 * canonical self (core/canonical.ts).
 */
export const peerKey = (peer: Address): string => peer.toLowerCase()

export interface OutboxEntry {
  readonly to: Address
  readonly seq: bigint
  readonly payloads: readonly Payload[]
  readonly attempts: number
  /** Clock time (ms, from the journal) at which to retransmit if still unacknowledged. */
  readonly nextAttemptAt: number
}

export interface PeerState {
  readonly address: Address
  /**
   * The peer's epoch, from its frames: fixed when its store was created. A higher one means it started again
   * from an empty store (its sequence numbers start again at 1, and it never saw mine): see restartSession.
   */
  readonly epoch?: bigint
  /** The next sequence number I will use towards this peer. */
  readonly nextSeq: bigint
  /** Every seq ≤ this, from this peer, has been delivered. */
  readonly deliveredUpTo: bigint
  /** Delivered seqs above deliveredUpTo (out of order), ascending. */
  readonly deliveredAbove: readonly bigint[]
}

export function newPeer(address: Address): PeerState {
  return { address, nextSeq: 1n, deliveredUpTo: 0n, deliveredAbove: [] }
}

export function retransmitDelayMs(attempts: number): number {
  return Math.min(RETRANSMIT_CAP_MS, RETRANSMIT_BASE_MS * 2 ** Math.min(attempts, 20))
}

/** A new outbox entry for `payloads`; its first transmission happens right after the commit. */
export function enqueue(peer: PeerState, payloads: readonly Payload[], now: number): { peer: PeerState; entry: OutboxEntry } {
  const entry: OutboxEntry = { to: peer.address, seq: peer.nextSeq, payloads, attempts: 1, nextAttemptAt: now + retransmitDelayMs(0) }
  return { peer: { ...peer, nextSeq: peer.nextSeq + 1n }, entry }
}

export function isDelivered(peer: PeerState, seq: bigint): boolean {
  return seq <= peer.deliveredUpTo || peer.deliveredAbove.includes(seq)
}

/**
 * Records seq as delivered, advancing the contiguous mark. Returns undefined if the window of
 * remembered out-of-order seqs is full (the frame is then dropped unacknowledged and retransmitted later).
 */
export function markDelivered(peer: PeerState, seq: bigint): PeerState | undefined {
  if (isDelivered(peer, seq)) return peer
  let above = [...peer.deliveredAbove, seq].sort((a, b) => (a < b ? -1 : 1))
  let upTo = peer.deliveredUpTo
  while (above[0] === upTo + 1n) {
    upTo += 1n
    above = above.slice(1)
  }
  if (above.length > MAX_DELIVERED_ABOVE) return undefined
  return { ...peer, deliveredUpTo: upTo, deliveredAbove: above }
}

/**
 * The sender says every seq below `base` was acknowledged (its frames carry its lowest unacknowledged seq): count
 * them delivered. A frame I refused without remembering it (engine.ts: a frame that changed nothing) would
 * otherwise leave a gap that later frames pile up above, until the window is full.
 */
export function deliveredBelow(peer: PeerState, base: bigint): PeerState {
  if (base - 1n <= peer.deliveredUpTo) return peer
  let upTo = base - 1n
  let above = peer.deliveredAbove.filter((seq) => seq > upTo)
  while (above[0] === upTo + 1n) {
    upTo += 1n
    above = above.slice(1)
  }
  return { ...peer, deliveredUpTo: upTo, deliveredAbove: above }
}

/** Entries due for (re)transmission at `now`, oldest first, within the send window. */
export function dueEntries(entries: readonly OutboxEntry[], now: number): OutboxEntry[] {
  return entries
    .slice()
    .sort((a, b) => (a.seq < b.seq ? -1 : 1))
    .slice(0, OUTBOX_WINDOW)
    .filter((e) => e.nextAttemptAt <= now)
}

export function bumpAttempt(entry: OutboxEntry, now: number): OutboxEntry {
  return { ...entry, attempts: entry.attempts + 1, nextAttemptAt: now + retransmitDelayMs(entry.attempts) }
}

/**
 * The peer came back with a new epoch (an empty store): what it delivered before is forgotten on both sides.
 * Its sequence numbers start again at 1, so I forget which of its seqs I delivered; mine to it start again at 1
 * too, so my unacknowledged entries are numbered again from 1, in order, due at once.
 */
export function restartSession(peer: PeerState, epoch: bigint, unacknowledged: readonly OutboxEntry[], now: number): { peer: PeerState; entries: OutboxEntry[] } {
  const ordered = unacknowledged.slice().sort((a, b) => (a.seq < b.seq ? -1 : 1))
  // Due now, but sent by the next tick within the send window (not as fresh entries, all at once): a peer
  // claiming new epochs again and again cannot make one frame of its cost a flood of mine.
  const entries = ordered.map((e, i) => ({ ...e, seq: BigInt(i + 1), attempts: Math.max(2, e.attempts), nextAttemptAt: now }))
  return { peer: { address: peer.address, epoch, nextSeq: BigInt(entries.length + 1), deliveredUpTo: 0n, deliveredAbove: [] }, entries }
}
