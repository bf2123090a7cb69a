// How the engine's state is laid out in the Store (ADR 0002). Every table is a key prefix; one step's
// changes become one batch. Values are MessagePack of the plain records (hex strings stay strings;
// bigints stay bigints), which is deterministic for records built the same way, so two engines that
// handled the same journal hold byte-identical stores.
import type { BatchOp, Store } from '../store/store.js'
import { decodeValue, encodeValue } from '../core/codec.js'
import { StoreError } from '../core/errors.js'

export const TABLES = ['objectives', 'ledgers', 'holdings', 'peers', 'outbox', 'meta', 'payments'] as const
export type TableName = (typeof TABLES)[number]

const PREFIX: Record<TableName, string> = {
  objectives: 'o/',
  ledgers: 'l/',
  holdings: 'h/',
  peers: 'p/',
  outbox: 'x/',
  meta: 'm/',
  payments: 'v/',
}

export function recordKey(table: TableName, key: string): Buffer {
  return Buffer.from(PREFIX[table] + key, 'utf8')
}

export function tableOps(table: TableName, changes: ReadonlyMap<string, unknown>): BatchOp[] {
  const ops: BatchOp[] = []
  for (const [key, value] of changes) {
    ops.push(value === undefined ? { type: 'del', key: recordKey(table, key) } : { type: 'put', key: recordKey(table, key), value: encodeValue(value) })
  }
  return ops
}

/** Every record of a table, by key. A record that does not decode means the store is corrupt. */
export async function loadTable<V>(store: Store, table: TableName): Promise<Map<string, V>> {
  const prefix = Buffer.from(PREFIX[table], 'utf8')
  const end = Buffer.from(prefix)
  end[end.length - 1]! += 1
  const out = new Map<string, V>()
  for await (const [key, value] of store.scan({ gte: prefix, lt: end })) {
    const name = Buffer.from(key).subarray(prefix.length).toString('utf8')
    try {
      out.set(name, decodeValue(value, Number.MAX_SAFE_INTEGER) as V)
    } catch (cause) {
      throw new StoreError(`corrupt ${table} record ${name}`, { table, key: name }, { cause })
    }
  }
  return out
}
