// What the adjudicator holds, per (channel, asset) (DESIGN §5 "only real money counts"): a deposit of another
// token — worthless, or of zero — lands under its own key and never counts toward a channel of another asset.
// Each change is remembered with its block for a while (issue 15): when the chain re-organises, the holdings go
// back to what they were at the fork, so money whose deposit the new chain lacks is never trusted (a deposit the
// new chain has is delivered again, and counts again).
import type { Address, Bytes32 } from '../core/types.js'
import type { Readable } from './table.js'
import type { Draft } from './table.js'
import { toAddress } from '../core/canonical.js'

/** One change of a holdings record: the block of the event that made it, and the amount before it. */
export interface HoldingChange {
  readonly block: bigint
  readonly before: bigint
}

/**
 * Changes remembered per record. A re-org deeper than this many changes of one channel's holdings rolls back to
 * the oldest one remembered (an under-count: the node waits for funding rather than trust money that may be gone).
 */
export const MAX_HOLDING_CHANGES = 32

export function holdingsKey(channelId: Bytes32, asset: Address): string {
  return `${channelId}:${asset.toLowerCase()}` // the asset lowercase, as stores written before ADR 0018 hold it
}

/** The channel and asset of a holdings key. */
export function holdingsKeyParts(key: string): { readonly channelId: Bytes32; readonly asset: Address } {
  const [channelId, asset] = key.split(':') as [Bytes32, string]
  return { channelId, asset: toAddress(asset) }
}

/** The holdings of `channelId` in `asset` as this node last saw them on chain (0 if never seen). */
export function holdingsOf(ctx: { readonly holdings: Readable<bigint> }, channelId: Bytes32, asset: Address): bigint {
  return ctx.holdings.get(holdingsKey(channelId, asset)) ?? 0n
}

/** Records the holdings a chain event at `block` reports, remembering what they were. */
export function setHoldings(ctx: { readonly holdings: Draft<bigint>; readonly holdingChanges: Draft<readonly HoldingChange[]> }, key: string, amount: bigint, block: bigint): void {
  const before = ctx.holdings.get(key) ?? 0n
  ctx.holdings.set(key, amount)
  const changes = [...(ctx.holdingChanges.get(key) ?? []), { block, before }]
  ctx.holdingChanges.set(key, changes.slice(-MAX_HOLDING_CHANGES))
}

/**
 * The chain re-organised after `forkBlock`: every holdings record changed by an event after it goes back to what it
 * was before the first such change. Returns the keys rolled back, with their amounts now.
 */
export function rollBackHoldings(ctx: { readonly holdings: Draft<bigint>; readonly holdingChanges: Draft<readonly HoldingChange[]> }, forkBlock: bigint): { key: string; amount: bigint }[] {
  const rolledBack: { key: string; amount: bigint }[] = []
  for (const key of [...ctx.holdingChanges.keys()]) {
    const changes = ctx.holdingChanges.get(key)!
    const first = changes.findIndex((c) => c.block > forkBlock)
    if (first < 0) continue
    const amount = changes[first]!.before
    ctx.holdings.set(key, amount)
    ctx.holdingChanges.set(key, changes.slice(0, first))
    rolledBack.push({ key, amount })
  }
  return rolledBack
}
