// RocksDB Store (ADR 0002), on @nxtedition/rocksdb. That binding ignores `sync` on put (DESIGN §9), so
// every write goes through `batch(..., { sync: true })`: one atomic, fsync'd WAL write per commit.
import { RocksLevel } from '@nxtedition/rocksdb'
import type { BatchOp, Key, Range, Store, CommitOptions } from './store.js'
import { StoreError } from '../core/errors.js'
import { asBuffer } from '../core/hex.js'

type Db = InstanceType<typeof RocksLevel>

export class RocksStore implements Store {
  private constructor(
    private readonly db: Db,
    readonly location: string,
  ) {}

  static async open(location: string): Promise<RocksStore> {
    const db = new RocksLevel(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
    try {
      await db.open({ createIfMissing: true })
    } catch (cause) {
      throw new StoreError(`cannot open RocksDB at ${location}`, { location }, { cause })
    }
    return new RocksStore(db, location)
  }

  async get(key: Key): Promise<Uint8Array | undefined> {
    try {
      const [value] = await this.db.getMany([asBuffer(key)])
      return value ?? undefined
    } catch (cause) {
      throw new StoreError('RocksDB read failed', {}, { cause })
    }
  }

  async *scan(range: Range): AsyncIterable<readonly [Key, Uint8Array]> {
    const options: { reverse: boolean; limit: number; gte?: Buffer; lt?: Buffer } = { reverse: range.reverse ?? false, limit: range.limit ?? -1 }
    if (range.gte) options.gte = asBuffer(range.gte)
    if (range.lt) options.lt = asBuffer(range.lt)
    const iterator = this.db.iterator(options)
    try {
      for await (const [key, value] of iterator) yield [key, value] as const
    } catch (cause) {
      throw new StoreError('RocksDB scan failed', {}, { cause })
    } finally {
      await iterator.close()
    }
  }

  async commit(ops: readonly BatchOp[], options: CommitOptions = {}): Promise<void> {
    if (ops.length === 0) return
    const batch = ops.map((op) =>
      op.type === 'put'
        ? { type: 'put' as const, key: asBuffer(op.key), value: asBuffer(op.value) }
        : { type: 'del' as const, key: asBuffer(op.key) },
    )
    try {
      await this.db.batch(batch, { sync: options.sync ?? true })
    } catch (cause) {
      throw new StoreError('RocksDB batch write failed', { ops: ops.length }, { cause })
    }
  }

  async close(): Promise<void> {
    await this.db.close()
  }
}
