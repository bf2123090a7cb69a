// What objectives others start would commit of the owner's money (src/engine/policy.ts decides on it): each
// start is priced from the objective's own numbers, and what is already committed with the same peer is
// summed for the per-peer limit. Deterministic, read from the step's drafts.
import type { Address } from '../core/types.js'
import type { Objective } from '../protocols/objectives.js'
import type { VirtualFund } from '../protocols/virtualfund/virtualfund.js'
import type { DirectFund } from '../protocols/directfund/directfund.js'
import { virtualDefundId } from '../protocols/virtualdefund/virtualdefund.js'
import { isActive } from '../protocols/objective.js'
import type { Commitment } from './policy.js'
import type { StepContext } from './context.js'

const lower = (a: string) => a.toLowerCase()

/** What funding a ledger costs me: my allocation, deposited on chain; participant 0 deposits first. */
export function ledgerCommitment(o: DirectFund, from: Address): Commitment {
  const { state } = o.prefund
  const exit = state.outcome[0]!
  return { from, role: 'ledger', asset: exit.asset, amount: exit.allocations[o.myIndex]!.amount, challengeDurationSec: state.challengeDuration, depositsFirst: o.myIndex === 0 }
}

/**
 * What joining a payment channel costs me, attributed to its payer (her signature is on the prefund: newVirtualFund
 * and update check it): an intermediary locks the payer's amount on its right ledger and the payee's on its left;
 * a payee whose allocation is 0 commits nothing. Nothing is deposited on chain.
 */
export function virtualCommitment(o: VirtualFund): Commitment {
  const v = o.prefund.state
  const last = v.participants.length - 1
  const [a, b] = v.outcome[0]!.allocations
  const amount = (o.myIndex > 0 ? b!.amount : 0n) + (o.myIndex < last ? a!.amount : 0n)
  const role = o.myIndex === last && amount === 0n ? 'payee' : o.myIndex === 0 ? 'ledger' : 'intermediary'
  return { from: v.participants[0]!, role, asset: v.outcome[0]!.asset, amount, challengeDurationSec: v.challengeDuration, depositsFirst: false }
}

/**
 * The sum of what I keep committed with `peer` now: my share of every ledger with it that is funding or open
 * (whoever started it: which index a peer gives me cannot hide one), and what I lock for payment channels it
 * pays through me until their defund completes. Scans the objectives: it runs only when a peer starts something.
 */
export function committedTo(ctx: StepContext, peer: Address): bigint {
  let total = 0n
  for (const o of ctx.objectives.values()) {
    if (o.kind === 'directfund' && isOpenLedger(ctx, o) && lower(o.prefund.state.participants[1 - o.myIndex]!) === lower(peer)) {
      total += ledgerCommitment(o, peer).amount
    }
    if (o.kind === 'virtualfund' && isOpenVirtual(ctx, o)) {
      const c = virtualCommitment(o)
      if (lower(c.from) === lower(peer)) total += c.amount
    }
  }
  return total
}

function isOpenLedger(ctx: StepContext, o: DirectFund): boolean {
  return isActive(o) || (o.status === 'completed' && ctx.ledgers.get(o.channelId) !== undefined)
}

function isOpenVirtual(ctx: StepContext, o: Objective & { kind: 'virtualfund' }): boolean {
  if (o.myIndex === 0) return false
  if (isActive(o)) return true
  return o.status === 'completed' && ctx.objectives.get(virtualDefundId(o.channelId))?.status !== 'completed'
}
