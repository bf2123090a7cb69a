// In-memory Store for unit tests and simulation. Same contract as RocksStore (store.compliance.ts), minus
// durability; `snapshot()` hands a simulated crash the durable contents: every synced commit and all before
// it, but not the unsynced commits after the last synced one (which a real crash may lose).
import type { BatchOp, CommitOptions, Key, Range, Store } from './store.js'
import { compareKeys } from './store.js'
import { StoreError } from '../core/errors.js'

export class MemoryStore implements Store {
  // Sorted by key; binary search keeps puts O(log n) to find plus an array splice.
  #keys: Buffer[] = []
  #values = new Map<string, Uint8Array>()
  #closed = false
  /** Previous values overwritten by unsynced commits since the last synced one, to undo in a crash. */
  #unsynced: [hex: string, previous: Uint8Array | undefined][] = []

  constructor(contents?: ReadonlyMap<string, Uint8Array>) {
    if (contents) {
      for (const [hex, value] of contents) this.#put(Buffer.from(hex, 'hex'), value)
    }
  }

  async get(key: Key): Promise<Uint8Array | undefined> {
    this.#checkOpen()
    return this.#values.get(Buffer.from(key).toString('hex'))
  }

  async *scan(range: Range): AsyncIterable<readonly [Key, Uint8Array]> {
    this.#checkOpen()
    const start = range.gte ? this.#lowerBound(range.gte) : 0
    const end = range.lt ? this.#lowerBound(range.lt) : this.#keys.length
    // Copy the window so commits during iteration do not shift it (RocksDB iterators read a snapshot).
    const keys = this.#keys.slice(start, Math.max(start, end))
    if (range.reverse) keys.reverse()
    const limit = range.limit ?? Infinity
    const values = keys.slice(0, limit).map((k) => [k, this.#values.get(k.toString('hex'))!] as const)
    for (const entry of values) yield entry
  }

  async commit(ops: readonly BatchOp[], options: CommitOptions = {}): Promise<void> {
    this.#checkOpen()
    if (options.sync ?? true) this.#unsynced = []
    else for (const op of ops) this.#unsynced.push([Buffer.from(op.key).toString('hex'), this.#values.get(Buffer.from(op.key).toString('hex'))])
    for (const op of ops) {
      if (op.type === 'put') this.#put(Buffer.from(op.key), Uint8Array.from(op.value))
      else this.#del(Buffer.from(op.key))
    }
  }

  async close(): Promise<void> {
    this.#closed = true
  }

  /** The durable contents, to reopen as a new MemoryStore after a simulated crash. */
  snapshot(): ReadonlyMap<string, Uint8Array> {
    const contents = new Map(this.#values)
    for (const [hex, previous] of [...this.#unsynced].reverse()) {
      if (previous === undefined) contents.delete(hex)
      else contents.set(hex, previous)
    }
    return contents
  }

  #checkOpen(): void {
    if (this.#closed) throw new StoreError('store is closed')
  }

  #lowerBound(key: Key): number {
    let lo = 0
    let hi = this.#keys.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (compareKeys(this.#keys[mid]!, key) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  #put(key: Buffer, value: Uint8Array): void {
    const hex = key.toString('hex')
    if (!this.#values.has(hex)) this.#keys.splice(this.#lowerBound(key), 0, key)
    this.#values.set(hex, value)
  }

  #del(key: Buffer): void {
    const hex = key.toString('hex')
    if (!this.#values.delete(hex)) return
    this.#keys.splice(this.#lowerBound(key), 1)
  }
}
