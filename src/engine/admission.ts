// Admission of peer messages (DESIGN §5: what a peer can make the node store, queue or compute is bounded per
// peer; nothing is dropped silently). Runs in the shell, before a message is queued or journaled:
// - a message larger than the wire allows, or one that does not decode as a frame, is refused here: it
//   leaves a bounded rejection record (counted, the latest kept), not a journal entry;
// - each peer has a token bucket of bytes (charged before decoding) and of payloads per second, and a bound on
//   its inputs waiting in the engine's queue; the queue as a whole is bounded too. A frame over them is refused as `peer_over_quota` or
//   `engine_busy` — backpressure: an honest peer's outbox retransmits it later, so nothing is lost;
// - the peers it tracks are bounded: the least recently heard peers with nothing queued are forgotten first (a
//   forgotten peer starts again with full buckets, as a new identity would anyway).
// It holds no protocol state and is not journaled: replaying a journal replays what was admitted.
import type { Address } from '../core/types.js'
import { ChannelsError, RejectedInputError } from '../core/errors.js'
import { MAX_MESSAGE_BYTES } from '../core/limits.js'
import { decodeFrame } from './frames.js'
import {
  MAX_QUEUED_INPUTS_PER_PEER,
  MAX_QUEUED_PEER_BYTES,
  MAX_QUEUED_PEER_INPUTS,
  MAX_TRACKED_PEERS,
  PEER_BYTES_BURST,
  PEER_BYTES_PER_SECOND,
  PEER_PAYLOADS_BURST,
  PEER_PAYLOADS_PER_SECOND,
} from './limits.js'

export class MessageTooLargeError extends RejectedInputError {
  readonly code = 'message_too_large'
}
export class PeerOverQuotaError extends RejectedInputError {
  readonly code = 'peer_over_quota'
}
export class EngineBusyError extends RejectedInputError {
  readonly code = 'engine_busy'
}

interface PeerBudget {
  payloads: number
  bytes: number
  refilledAt: number
  /** This peer's inputs admitted and not yet handled. */
  queued: number
}

export class Admission {
  readonly #peers = new Map<Address, PeerBudget>()
  #queued = 0
  #queuedBytes = 0

  /**
   * Admits a message from `from` at `now` (ms), or returns why not. An admitted message must be released with
   * `done(from)` once the engine has handled it (or dropped it).
   */
  admit(from: Address, bytes: Uint8Array, now: number): ChannelsError | undefined {
    if (bytes.length > MAX_MESSAGE_BYTES) return new MessageTooLargeError(`a message of ${bytes.length} bytes exceeds ${MAX_MESSAGE_BYTES}`, { bytes: bytes.length })
    const peer = this.#budget(from, now)
    // Bytes are charged before decoding: decoding is work, and garbage must not get it for free.
    if (peer.bytes < bytes.length) return new PeerOverQuotaError(`over ${PEER_BYTES_PER_SECOND} bytes per second`, { from })
    peer.bytes -= bytes.length
    let payloads: number
    try {
      payloads = decodeFrame(bytes).payloads.length
    } catch (error) {
      if (error instanceof ChannelsError) return error
      throw error
    }
    // Each payload is handled on its own (and may be refused on its own): payloads, not frames, are the work.
    const cost = Math.max(1, payloads)
    if (peer.payloads < cost) return new PeerOverQuotaError(`over ${PEER_PAYLOADS_PER_SECOND} payloads per second`, { from })
    if (peer.queued >= MAX_QUEUED_INPUTS_PER_PEER || this.#queued >= MAX_QUEUED_PEER_INPUTS || this.#queuedBytes + bytes.length > MAX_QUEUED_PEER_BYTES) {
      return new EngineBusyError('too many of its messages wait to be handled; retry later', { from, queued: peer.queued })
    }
    peer.payloads -= cost
    peer.queued += 1
    this.#queued += 1
    this.#queuedBytes += bytes.length
    return undefined
  }

  /** An admitted message of `from`, of `byteLength` bytes, left the queue. */
  done(from: Address, byteLength: number): void {
    const peer = this.#peers.get(from)
    if (peer && peer.queued > 0) peer.queued -= 1
    this.#queued = Math.max(0, this.#queued - 1)
    this.#queuedBytes = Math.max(0, this.#queuedBytes - byteLength)
  }

  /** Peers tracked now (bounded by MAX_TRACKED_PEERS). */
  get trackedPeers(): number {
    return this.#peers.size
  }

  #budget(key: Address, now: number): PeerBudget {
    let peer = this.#peers.get(key)
    if (peer) {
      this.#peers.delete(key) // re-inserted below: the map's order is least recently heard first
      const elapsedSec = Math.max(0, now - peer.refilledAt) / 1000
      peer.payloads = Math.min(PEER_PAYLOADS_BURST, peer.payloads + elapsedSec * PEER_PAYLOADS_PER_SECOND)
      peer.bytes = Math.min(PEER_BYTES_BURST, peer.bytes + elapsedSec * PEER_BYTES_PER_SECOND)
      peer.refilledAt = now
    } else {
      peer = { payloads: PEER_PAYLOADS_BURST, bytes: PEER_BYTES_BURST, refilledAt: now, queued: 0 }
      this.#forgetIdlePeers()
    }
    this.#peers.set(key, peer)
    return peer
  }

  /** Makes room for one more peer: forgets the least recently heard ones with nothing queued. */
  #forgetIdlePeers(): void {
    if (this.#peers.size < MAX_TRACKED_PEERS) return
    for (const [key, peer] of this.#peers) {
      if (this.#peers.size < MAX_TRACKED_PEERS) return
      // A forgotten peer starts again with full buckets, as a fresh identity would: only those with nothing
      // queued go, least recently heard first. Bounded either way: a peer with queued inputs holds a slot of
      // the bounded queue.
      if (peer.queued === 0) this.#peers.delete(key)
    }
  }
}
