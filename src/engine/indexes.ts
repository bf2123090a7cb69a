// The engine's derived indexes (never stored; rebuilt from the objectives at open): which active objectives
// a change must reach. One table holds them all, each under a name from here, and `setObjective`
// (step.ts) keeps them in step with every objective it stores, so no handler maintains an index by hand.
import type { Bytes32 } from '../core/types.js'
import type { Objective } from '../protocols/objectives.js'
import { isActive } from '../protocols/objective.js'
import type { Draft } from './table.js'

export const Index = {
  /** The active ledger updates of one ledger, in creation order: cranked together when it moves. */
  ledgerUpdates: (ledgerId: Bytes32): string => `ledgerUpdates:${ledgerId}`,
  /** Active VirtualFund and VirtualDefund objectives: cranked when a ledger with a neighbour moves. */
  virtual: 'virtual',
  /** Active AppFund and AppDefund objectives funded from a ledger: cranked when that ledger moves. */
  ledgerFundedApps: 'ledgerFundedApps',
  /** Active app disputes: checked on every tick for a challenge or payout that is due. */
  disputes: 'disputes',
} as const

/** The indexes an objective belongs to while it is active. */
export function indexesOf(o: Objective): readonly string[] {
  switch (o.kind) {
    case 'ledgerUpdate':
      return [Index.ledgerUpdates(o.ledgerId)]
    case 'virtualfund':
    case 'virtualdefund':
      return [Index.virtual]
    case 'appfund':
    case 'appdefund':
      return o.funding === 'ledger' ? [Index.ledgerFundedApps] : []
    case 'appdispute':
      return [Index.disputes]
    default:
      return []
  }
}

/** Adds or removes `o` from its indexes as it is (in)active. */
export function reindex(indexes: Draft<readonly string[]>, o: Objective): void {
  const active = isActive(o)
  for (const name of indexesOf(o)) {
    const ids = indexes.get(name) ?? []
    const present = ids.includes(o.id)
    if (active && !present) indexes.set(name, [...ids, o.id])
    if (!active && present) indexes.set(name, ids.filter((id) => id !== o.id))
  }
}

/** Every index, built from scratch from the objectives (at open). */
export function buildIndexes(objectives: Iterable<Objective>): Map<string, string[]> {
  const built = new Map<string, string[]>()
  for (const o of objectives) {
    if (!isActive(o)) continue
    for (const name of indexesOf(o)) built.set(name, [...(built.get(name) ?? []), o.id])
  }
  return built
}
