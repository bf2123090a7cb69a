// The Store interface (DESIGN §2, ADR 0002): an ordered key-value store whose only write is an atomic,
// durable batch. The engine commits each step (journal entry, objectives, channels, outbox, chain
// cursor) as one batch; `commit` resolves only after the batch is fsync'd.

export type Key = Uint8Array

export type BatchOp =
  | { readonly type: 'put'; readonly key: Key; readonly value: Uint8Array }
  | { readonly type: 'del'; readonly key: Key }

export interface Range {
  /** Inclusive lower bound. */
  readonly gte?: Key
  /** Exclusive upper bound. */
  readonly lt?: Key
  readonly reverse?: boolean
  readonly limit?: number
}

export interface CommitOptions {
  /** Default true. */
  readonly sync?: boolean
}

export interface Store {
  get(key: Key): Promise<Uint8Array | undefined>
  /** Entries in key order (byte-wise), or reverse order. */
  scan(range: Range): AsyncIterable<readonly [Key, Uint8Array]>
  /**
   * Applies every op or none, durably (fsync'd) before resolving. With `sync: false` the batch is written
   * in order but not fsync'd: it becomes durable with the next synced commit (writes are ordered), and a
   * crash before that loses it whole. For changes whose loss is harmless (an outbox entry acknowledged).
   */
  commit(ops: readonly BatchOp[], options?: CommitOptions): Promise<void>
  close(): Promise<void>
}

/** Byte-wise comparison, the order RocksDB's default comparator uses. */
export function compareKeys(a: Key, b: Key): number {
  return Buffer.compare(a, b)
}
