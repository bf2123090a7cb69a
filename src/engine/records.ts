// How the engine's state is laid out in the Store (ADR 0002). Every table is a key prefix; one step's
// changes become one batch. Values are MessagePack of the plain records (hex strings stay strings;
// bigints stay bigints), which is deterministic for records built the same way, so two engines that
// handled the same journal hold byte-identical stores.
import type { Bytes32 } from '../core/types.js'
import type { BatchOp, Store } from '../store/store.js'
import { decodeValue, encodeValue } from '../core/codec.js'
import { StoreError } from '../core/errors.js'

export const TABLES = ['objectives', 'ledgers', 'holdings', 'peers', 'outbox', 'meta', 'payments', 'apps', 'parked', 'chainOutbox', 'holdingChanges'] as const
export type TableName = (typeof TABLES)[number]

const PREFIX: Record<TableName, string> = {
  objectives: 'o/',
  ledgers: 'l/',
  holdings: 'h/',
  peers: 'p/',
  outbox: 'x/',
  meta: 'm/',
  payments: 'v/',
  /** App channels' compact state (src/engine/apps.ts): definition, latest and pending turn, held countersignatures. */
  apps: 'a/',
  /** Peer messages that came before what they are about was ready here, kept to handle then (virtual.ts). */
  parked: 'k/',
  /** Transactions decided and not yet mined, one per objective (context.ts ChainOutboxEntry): sent again after a restart. */
  chainOutbox: 'c/',
  /** The last changes of each holdings record, with their blocks (holdings.ts): a re-org rolls them back. */
  holdingChanges: 'hc/',
}

// Write-once records of app channels, outside the tables (never loaded whole; read by range when asked):
//   't/' ‖ channelId ‖ '/' ‖ turnNum (16 hex digits)   the turn's state signed by every participant
//   'n/' ‖ channelId ‖ '/' ‖ seq (16 hex digits)       a snapshot of the app state after event seq
// The events themselves are in the channel's hash-chained log ('e' ‖ channelId ‖ seq, src/store/keys.ts).
// Fixed-width hex keeps each channel's records in numeric order for range scans.
const SIGNED_TURN_PREFIX = 't/'
const APP_SNAPSHOT_PREFIX = 'n/'

const u64Hex = (n: bigint) => n.toString(16).padStart(16, '0')

export function signedTurnKey(channelId: Bytes32, turnNum: bigint): Buffer {
  return Buffer.from(`${SIGNED_TURN_PREFIX}${channelId}/${u64Hex(turnNum)}`, 'utf8')
}

export function appSnapshotKey(channelId: Bytes32, seq: bigint): Buffer {
  return Buffer.from(`${APP_SNAPSHOT_PREFIX}${channelId}/${u64Hex(seq)}`, 'utf8')
}

/** [gte, lt) of every signed turn of one channel. */
export function signedTurnRange(channelId: Bytes32): { gte: Buffer; lt: Buffer } {
  return { gte: signedTurnKey(channelId, 0n), lt: Buffer.from(`${SIGNED_TURN_PREFIX}${channelId}0`, 'utf8') }
}

/** [gte, lt) of the snapshots of one channel with seq ≤ `seq`. */
export function appSnapshotRange(channelId: Bytes32, seq: bigint): { gte: Buffer; lt: Buffer } {
  return { gte: appSnapshotKey(channelId, 0n), lt: appSnapshotKey(channelId, seq + 1n) }
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
