// Funding thresholds of one asset's outcome, as go-nitro's DirectFund computes them (NITRO-NOTES §2.1).
// The adjudicator pays allocations in priority order (transfer.ts), so holdings fund the first allocation
// first: a participant who deposits before the holdings cover every allocation ahead of theirs would fund
// someone else's share. Deposit when holdings reach the safety threshold, until they reach the target.
import type { Destination } from '../../core/types.js'
import type { SingleAssetExit } from '../../core/outcome.js'
import { totalAllocated } from '../../core/outcome.js'
import { RejectedInputError } from '../../core/errors.js'

/** The destination has no allocation in this asset's outcome: there is nothing for it to fund. */
export class NotInOutcomeError extends RejectedInputError {
  readonly code = 'not_in_outcome'
}

/**
 * The destination's allocations are split by another destination's non-zero allocation: no single deposit
 * funds exactly its share (it would fund the allocation in between).
 */
export class AllocationsNotContiguousError extends RejectedInputError {
  readonly code = 'allocations_not_contiguous'
}

const sameDestination = (a: Destination, b: Destination): boolean => a === b

/**
 * The holdings `destination` must see before depositing: the sum of every allocation before its first one.
 * Throws NotInOutcomeError (`not_in_outcome`) if `destination` has no allocation.
 */
export function depositSafetyThreshold(exit: SingleAssetExit, destination: Destination): bigint {
  let before = 0n
  for (const allocation of exit.allocations) {
    if (sameDestination(allocation.destination, destination)) return before
    before += allocation.amount
  }
  throw new NotInOutcomeError('destination has no allocation in the outcome', { destination, asset: exit.asset })
}

/**
 * The holdings once `destination` has deposited its share: the safety threshold plus the amounts of all
 * of its allocations. They must be contiguous (only zero-amount allocations of others between them), else
 * AllocationsNotContiguousError (`allocations_not_contiguous`); no allocation: NotInOutcomeError.
 */
export function depositTarget(exit: SingleAssetExit, destination: Destination): bigint {
  const threshold = depositSafetyThreshold(exit, destination)
  const first = exit.allocations.findIndex((a) => sameDestination(a.destination, destination))
  const last = exit.allocations.findLastIndex((a) => sameDestination(a.destination, destination))
  let mine = 0n
  for (let i = first; i <= last; i++) {
    const allocation = exit.allocations[i]!
    if (sameDestination(allocation.destination, destination)) mine += allocation.amount
    else if (allocation.amount > 0n) {
      throw new AllocationsNotContiguousError('another allocation sits between the destination\'s allocations', {
        destination,
        asset: exit.asset,
        index: i,
      })
    }
  }
  return threshold + mine
}

/** The holdings at which every allocation of this asset is covered: the total allocated. */
export function fullyFundedThreshold(exit: SingleAssetExit): bigint {
  return totalAllocated(exit)
}
