// What objectives others start would commit of the owner's money (src/engine/policy.ts decides on it): each
// start is priced from the objective's own numbers, and a peer's earlier starts that are still open are summed
// for the per-peer limit. Deterministic, read from the step's drafts.
import type { Address } from '../core/types.js'
import type { Objective } from '../protocols/objectives.js'
import type { VirtualFund } from '../protocols/virtualfund/virtualfund.js'
import type { DirectFund } from '../protocols/directfund/directfund.js'
import { virtualDefundId } from '../protocols/virtualdefund/virtualdefund.js'
import { isActive } from '../protocols/objective.js'
import type { Commitment } from './policy.js'
import type { StepContext } from './context.js'

const lower = (a: string) => a.toLowerCase()

/** What funding a ledger another started costs me: my allocation, deposited on chain. */
export function ledgerCommitment(o: DirectFund, from: Address): Commitment {
  const { state } = o.prefund
  const exit = state.outcome[0]!
  return { from, role: 'ledger', asset: exit.asset, amount: exit.allocations[o.myIndex]!.amount, challengeDurationSec: state.challengeDuration }
}

/**
 * What joining a payment channel costs me, attributed to its payer (who started it): an intermediary locks the
 * payer's amount on its right ledger and the payee's on its left; a payee whose allocation is 0 commits nothing.
 */
export function virtualCommitment(o: VirtualFund): Commitment {
  const v = o.prefund.state
  const last = v.participants.length - 1
  const [a, b] = v.outcome[0]!.allocations
  const amount = (o.myIndex > 0 ? b!.amount : 0n) + (o.myIndex < last ? a!.amount : 0n)
  const role = o.myIndex === last && amount === 0n ? 'payee' : o.myIndex === 0 ? 'ledger' : 'intermediary'
  return { from: v.participants[0]!, role, asset: v.outcome[0]!.asset, amount, challengeDurationSec: v.challengeDuration }
}

/**
 * The sum of what I committed to channels `peer` started and that are still open: ledgers it asked me to fund
 * (until defunded) and payment channels it pays through me (until their defund completes). Scans the objectives:
 * it runs only when a peer starts something.
 */
export function committedTo(ctx: StepContext, peer: Address): bigint {
  let total = 0n
  for (const o of ctx.objectives.values()) {
    if (!isOpenCommitment(ctx, o)) continue
    const c = o.kind === 'directfund' ? ledgerCommitment(o, o.prefund.state.participants[0]!) : virtualCommitment(o as VirtualFund)
    if (lower(c.from) === lower(peer)) total += c.amount
  }
  return total
}

function isOpenCommitment(ctx: StepContext, o: Objective): boolean {
  // Only what a peer started counts (I am not its participant 0, the initiator), and only while it holds money.
  if (o.kind === 'directfund') return o.myIndex !== 0 && (isActive(o) || (o.status === 'completed' && ctx.ledgers.get(o.channelId) !== undefined))
  if (o.kind === 'virtualfund') {
    if (o.myIndex === 0) return false
    if (isActive(o)) return true
    return o.status === 'completed' && ctx.objectives.get(virtualDefundId(o.channelId))?.status !== 'completed'
  }
  return false
}
