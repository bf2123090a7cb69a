// What objectives others start would commit of the owner's money (src/engine/policy.ts decides on it): each
// start is priced from the objective's own numbers, and what is already committed with the same peer is
// summed for the per-peer limit. Deterministic, read from the step's drafts.
import type { Address } from '../core/types.js'
import type { Objective } from '../protocols/objectives.js'
import type { VirtualFund } from '../protocols/virtualfund/virtualfund.js'
import type { DirectFund } from '../protocols/directfund/directfund.js'
import { virtualDefundId } from '../protocols/virtualdefund/virtualdefund.js'
import { isActive } from '../protocols/objective.js'
import type { AppDefinition } from '../protocols/app/appData.js'
import { fundingOf } from '../protocols/app/appData.js'
import type { AppChannel } from '../protocols/app/appChannel.js'
import { appFundId } from '../protocols/app/appFund.js'
import { appDefundId } from '../protocols/app/appDefund.js'
import { appDisputeId } from '../protocols/app/appDispute.js'
import type { Commitment, PeerLoad, PeerPolicy } from './policy.js'
import type { StepContext } from './context.js'


/** What funding a ledger costs me: my allocation, deposited on chain in participant order. */
export function ledgerCommitment(o: DirectFund, from: Address): Commitment {
  const { state } = o.prefund
  const exit = state.outcome[0]!
  const before = exit.allocations.slice(0, o.myIndex).reduce((sum, a) => sum + a.amount, 0n)
  return { from, role: 'ledger', asset: exit.asset, amount: exit.allocations[o.myIndex]!.amount, challengeDurationSec: state.challengeDuration, depositsFirst: before === 0n }
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
 * What joining an app channel `from` opened costs me: my deposit, unless nobody funds it. Funded on chain,
 * participants deposit in index order.
 */
export function appCommitment(definition: AppDefinition, me: Address, from: Address): Commitment {
  const myIndex = definition.fixed.participants.findIndex((p) => p === me)
  const funding = fundingOf(definition)
  const amount = funding === 'none' ? 0n : definition.deposits[myIndex]!
  const before = definition.deposits.slice(0, myIndex).reduce((sum, d) => sum + d, 0n)
  return { from, role: 'app', asset: definition.asset, amount, challengeDurationSec: definition.fixed.challengeDuration, depositsFirst: funding === 'direct' && before === 0n }
}

/**
 * The sum of what I keep committed with `peer` now, in `asset`: my share of every ledger with it that is funding or open
 * (whoever started it: which index a peer gives me cannot hide one), what I lock for payment channels it
 * pays through me until their defund completes, and my deposit in funded app channels it takes part in until
 * they pay out. Scans the objectives: it runs only when a peer starts something.
 */
export function committedTo(ctx: StepContext, me: Address, peer: Address, asset: Address): bigint {
  let total = 0n
  const counts = (c: Commitment) => c.asset === asset // amounts of different assets do not add up
  for (const o of ctx.objectives.values()) {
    if (o.kind === 'directfund' && isOpenLedger(ctx, o) && o.prefund.state.participants[1 - o.myIndex]! === peer) {
      const c = ledgerCommitment(o, peer)
      if (counts(c)) total += c.amount
    }
    if (o.kind === 'virtualfund' && isOpenVirtual(ctx, o)) {
      const c = virtualCommitment(o)
      if (c.from === peer && counts(c)) total += c.amount
    }
  }
  for (const channel of ctx.apps.values()) {
    const { definition } = channel.context
    if (!definition.fixed.participants.some((p) => p === peer) || !isOpenApp(ctx, channel)) continue
    const c = appCommitment(definition, me, peer)
    if (counts(c)) total += c.amount
  }
  return total
}

/** A funded app channel that has not ended: funding, open, closing or disputed without a payout yet. */
function isOpenApp(ctx: StepContext, channel: AppChannel): boolean {
  const id = channel.context.id
  if (fundingOf(channel.context.definition) === 'none') return false
  const ended = (objectiveId: string, statuses: readonly string[]) => statuses.includes(ctx.objectives.get(objectiveId)?.status ?? '')
  return !ended(appFundId(id), ['failed', 'rejected']) && !ended(appDefundId(id), ['completed']) && !ended(appDisputeId(id), ['completed'])
}

function isOpenLedger(ctx: StepContext, o: DirectFund): boolean {
  return isActive(o) || (o.status === 'completed' && ctx.ledgers.get(o.channelId) !== undefined)
}

function isOpenVirtual(ctx: StepContext, o: Objective & { kind: 'virtualfund' }): boolean {
  if (o.myIndex === 0) return false
  if (isActive(o)) return true
  return o.status === 'completed' && ctx.objectives.get(virtualDefundId(o.channelId))?.status !== 'completed'
}

/**
 * How many objectives `peer` started with me that have not finished opening: ledgers being funded, payment
 * channels being funded through or to me, app channels not yet signed by all. Each holds state here and
 * waits on the peer, so their number is bounded per peer (MAX_OPENING_PER_PEER) whatever their amounts.
 */
export function openingWith(ctx: StepContext, me: Address, peer: Address): number {
  let count = 0
  for (const o of ctx.objectives.values()) {
    if (!isActive(o)) continue
    if (o.kind === 'directfund' && o.prefund.state.participants[1 - o.myIndex]! === peer) count++
    if (o.kind === 'virtualfund' && o.myIndex !== 0 && o.prefund.state.participants[0]! === peer) count++
  }
  for (const channel of ctx.apps.values()) {
    const { participants } = channel.context.definition.fixed
    if (channel.latest === null && participants.some((p) => p === peer) && participants.some((p) => p === me)) count++
  }
  return count
}

/** What the peer starting `c` already has going with me, for the policy (policy.ts checkCommitment). */
export function peerLoad(ctx: StepContext, me: Address, c: Commitment): PeerLoad {
  return { committed: committedTo(ctx, me, c.from, c.asset), opening: openingWith(ctx, me, c.from) }
}

/** The policy in effect: the one last journaled (setPolicy at open), else the configured one (an older journal). */
export function policyOf(ctx: StepContext, deps: { readonly policy: PeerPolicy }): PeerPolicy {
  return ctx.meta.get('meta')!.policy ?? deps.policy
}
