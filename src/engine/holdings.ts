// What the adjudicator holds, per (channel, asset) (DESIGN §5 "only real money counts"): a deposit of another
// token — worthless, or of zero — lands under its own key and never counts toward a channel of another asset.
import type { Address, Bytes32 } from '../core/types.js'
import type { Readable } from './table.js'

export function holdingsKey(channelId: Bytes32, asset: Address): string {
  return `${channelId}:${asset.toLowerCase()}` // the asset lowercase, as stores written before ADR 0018 hold it
}

/** The holdings of `channelId` in `asset` as this node last saw them on chain (0 if never seen). */
export function holdingsOf(ctx: { readonly holdings: Readable<bigint> }, channelId: Bytes32, asset: Address): bigint {
  return ctx.holdings.get(holdingsKey(channelId, asset)) ?? 0n
}
