// The adjudicator's payout rule, Nitro v2 `MultiAssetHolder.compute_transfer_effects_and_interactions`
// (NITRO-NOTES §5.1), so the node can predict what `transfer` and `concludeAndTransferAllAssets` do.
// Allocations are paid in priority order: each is covered by min(its amount, what the earlier ones left of
// the holdings). Only the selected allocations are paid, and what they are paid is deducted from them.
import type { Destination } from '../../core/types.js'
import type { Allocation } from '../../core/outcome.js'
import { AllocationType } from '../../core/outcome.js'
import { OutOfRangeError, RejectedInputError, assert } from '../../core/errors.js'

/** A guarantee only locks funds for a virtual channel; it is settled by `reclaim`, never paid out. */
export class CannotTransferGuaranteeError extends RejectedInputError {
  readonly code = 'cannot_transfer_guarantee'
}

/** The adjudicator requires strictly increasing indices ('Indices must be sorted'). */
export class IndicesNotIncreasingError extends RejectedInputError {
  readonly code = 'indices_not_increasing'
}

export interface Payout {
  readonly destination: Destination
  readonly amount: bigint
}

export interface TransferEffects {
  /** The allocations with the paid amounts deducted; same length and order as the input. */
  readonly newAllocations: Allocation[]
  /** One per selected allocation, in order, including those paid 0 (as the contract's exit allocations). */
  readonly payouts: Payout[]
  readonly totalPayouts: bigint
}

/**
 * What paying the allocations at `indices` (empty: all of them) from `initialHoldings` does.
 * Throws OutOfRangeError (`out_of_range`) for an index past the end, IndicesNotIncreasingError
 * (`indices_not_increasing`) and CannotTransferGuaranteeError (`cannot_transfer_guarantee`) if a selected
 * allocation is a guarantee.
 *
 * Two deliberate differences from the deployed Nitro contract, both of which only refuse more: an index
 * past the end is refused (the contract skips it silently), and the guarantee check looks at the selected
 * allocation `i` (the contract reads `allocations[k]`, the k-th *selected* position, which coincides only
 * when every allocation is selected; our adjudicator must check `allocations[i]`).
 */
export function computeTransferEffects(initialHoldings: bigint, allocations: readonly Allocation[], indices: readonly number[]): TransferEffects {
  assert(initialHoldings >= 0n, 'holdings are negative', { initialHoldings })
  checkIndices(indices, allocations.length)
  const newAllocations: Allocation[] = []
  const payouts: Payout[] = []
  let totalPayouts = 0n
  let surplus = initialHoldings
  let k = 0
  for (let i = 0; i < allocations.length; i++) {
    const allocation = allocations[i]!
    const covered = allocation.amount < surplus ? allocation.amount : surplus
    if (indices.length === 0 || indices[k] === i) {
      if (allocation.allocationType === AllocationType.guarantee) {
        throw new CannotTransferGuaranteeError('a guarantee allocation cannot be transferred', { index: i })
      }
      newAllocations.push({ ...allocation, amount: allocation.amount - covered })
      payouts.push({ destination: allocation.destination, amount: covered })
      totalPayouts += covered
      k++
    } else {
      newAllocations.push({ ...allocation })
    }
    surplus -= covered
  }
  assert(totalPayouts <= initialHoldings, 'transfer pays more than the holdings', { totalPayouts, initialHoldings })
  return { newAllocations, payouts, totalPayouts }
}

/** How much of allocation `index` the holdings cover once every allocation before it is covered (0 if none). */
export function affords(allocations: readonly Allocation[], index: number, holdings: bigint): bigint {
  assert(holdings >= 0n, 'holdings are negative', { holdings })
  if (!Number.isSafeInteger(index) || index < 0 || index >= allocations.length) {
    throw new OutOfRangeError(`index must be in [0, ${allocations.length})`, { field: 'index', value: index })
  }
  let surplus = holdings
  for (let i = 0; i < index; i++) {
    const amount = allocations[i]!.amount
    surplus = amount < surplus ? surplus - amount : 0n
  }
  const amount = allocations[index]!.amount
  return amount < surplus ? amount : surplus
}

function checkIndices(indices: readonly number[], length: number): void {
  for (let j = 0; j < indices.length; j++) {
    const index = indices[j]!
    if (!Number.isSafeInteger(index) || index < 0 || index >= length) {
      throw new OutOfRangeError(`indices[${j}] must be in [0, ${length})`, { field: `indices[${j}]`, value: index })
    }
    if (j > 0 && index <= indices[j - 1]!) {
      throw new IndicesNotIncreasingError('indices must be strictly increasing', { field: `indices[${j}]`, value: index })
    }
  }
}
