// Which sequence numbers to each peer are still unacknowledged, derived from the outbox table in the shell: every
// frame carries the lowest of them (frames.ts `base`), which would otherwise need a scan of the whole outbox per
// frame. Rebuilt from the store at open, kept in step with each commit's outbox changes.
import type { OutboxEntry } from './outbox.js'

export class UnackedIndex {
  /** Per peer: its unacknowledged seqs, and the lowest of them (undefined: not known since it was deleted). */
  readonly #byPeer = new Map<string, { seqs: Set<bigint>; lowest: bigint | undefined }>()

  /** Follows one outbox change: an entry put (its seq is unacknowledged) or deleted (acknowledged, or renumbered). */
  apply(key: string, entry: OutboxEntry | undefined): void {
    const at = key.lastIndexOf(':')
    const peer = key.slice(0, at)
    const seq = BigInt(`0x${key.slice(at + 1)}`)
    let set = this.#byPeer.get(peer)
    if (entry !== undefined) {
      if (!set) this.#byPeer.set(peer, (set = { seqs: new Set(), lowest: seq }))
      set.seqs.add(seq)
      // An unknown lowest stays unknown: the new seq need not be below the others.
      if (set.lowest !== undefined && seq < set.lowest) set.lowest = seq
      return
    }
    if (!set || !set.seqs.delete(seq)) return
    if (set.seqs.size === 0) this.#byPeer.delete(peer)
    else if (seq === set.lowest) set.lowest = undefined // recomputed when next asked
  }

  /** The lowest unacknowledged seq to `peer` (lowercase address), if any. */
  lowest(peer: string): bigint | undefined {
    const set = this.#byPeer.get(peer)
    if (!set) return undefined
    if (set.lowest === undefined) for (const seq of set.seqs) if (set.lowest === undefined || seq < set.lowest) set.lowest = seq
    return set.lowest
  }
}
