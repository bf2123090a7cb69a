// The outcome of an app channel (docs/architecture/app-abi.md, DESIGN §3): the app says how the pot is
// split as one u64 weight per participant; this module turns the weights into the Nitro outcome the
// participants sign. amount_i = total × w_i / Σw (integer division), and the remainder goes one wei each
// to participants in index order (the ABI's rule, even to a zero weight: at most N − 1 wei). Σw = 0 gives
// everyone their own deposit back, so an app that has not decided yet never moves money. Weights cannot
// create money: the amounts always add up to the total deposited (asserted).
import type { Address, Destination } from '../../core/types.js'
import type { Exit } from '../../core/outcome.js'
import { AllocationType } from '../../core/outcome.js'
import { assert } from '../../core/errors.js'
import { MAX_UINT64 } from '../../core/limits.js'
import { InvalidAppOutcomeError } from './errors.js'

/** What the channel holds and whom it pays, by participant index. */
export interface AppFunding {
  readonly asset: Address
  readonly deposits: readonly bigint[]
  readonly destinations: readonly Destination[]
}

/** Refuses anything but one u64 weight (a bigint) per participant: the app's output is outside input. */
export function checkWeights(weights: unknown, participants: number): asserts weights is readonly bigint[] {
  if (!Array.isArray(weights) || weights.length !== participants) {
    throw new InvalidAppOutcomeError('the app must give one weight per participant', {
      expected: participants,
      actual: Array.isArray(weights) ? weights.length : typeof weights,
    })
  }
  for (let i = 0; i < participants; i++) {
    const w: unknown = weights[i]
    if (typeof w !== 'bigint' || w < 0n || w > MAX_UINT64) throw new InvalidAppOutcomeError(`weight ${i} is not a u64`, { index: i })
  }
}

/**
 * total × w_i / Σw each, then the remainder one wei each, in index order, to participants whose weight is not
 * zero (a participant the app gives nothing gets nothing); Σw must be positive.
 */
function splitByWeights(total: bigint, weights: readonly bigint[]): bigint[] {
  assert(total >= 0n, 'a total is not negative')
  const sum = weights.reduce((s, w) => s + w, 0n)
  assert(sum > 0n, 'splitByWeights needs a positive sum of weights')
  const amounts = weights.map((w) => (total * w) / sum)
  let remainder = total - amounts.reduce((s, a) => s + a, 0n)
  // Each weighted share loses less than one wei to the division, so the remainder is below their count.
  const weighted = weights.flatMap((w, i) => (w > 0n ? [i] : []))
  assert(remainder >= 0n && remainder < BigInt(weighted.length), 'the remainder of a split is below the weighted participants', { remainder })
  for (let k = 0; remainder > 0n; k++, remainder--) amounts[weighted[k]!] = amounts[weighted[k]!]! + 1n
  return amounts
}

/** The amounts each participant is paid under the app's weights (its deposit back when Σw = 0). */
export function allocateByWeights(deposits: readonly bigint[], weights: readonly bigint[]): bigint[] {
  checkWeights(weights, deposits.length)
  const total = deposits.reduce((s, d) => s + d, 0n)
  const sum = weights.reduce((s, w) => s + w, 0n)
  const amounts = sum === 0n ? [...deposits] : splitByWeights(total, weights)
  assert(amounts.reduce((s, a) => s + a, 0n) === total, 'funds are conserved: the amounts add up to the deposits', { total })
  return amounts
}

/** The single-asset Nitro outcome for the app's weights: simple allocations, one per participant, in order. */
export function appOutcome(funding: AppFunding, weights: readonly bigint[]): Exit {
  assert(funding.destinations.length === funding.deposits.length, 'one destination per deposit')
  const amounts = allocateByWeights(funding.deposits, weights)
  return [
    {
      asset: funding.asset,
      assetMetadata: { assetType: 0, metadata: '0x' },
      allocations: amounts.map((amount, i) => ({
        destination: funding.destinations[i]!,
        amount,
        allocationType: AllocationType.simple,
        metadata: '0x',
      })),
    },
  ]
}
