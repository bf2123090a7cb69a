// The adjudicator's reclaim rule, Nitro v2 `MultiAssetHolder.compute_reclaim_effects` (NITRO-NOTES §5.1):
// once a virtual channel (the target) and the ledger channel guaranteeing it (the source) are finalized,
// the guarantee is removed from the ledger's outcome and the virtual channel's two allocations go back to
// the ledger's allocations for the guarantee's `left` and `right` (DESIGN §3, guarantee metadata).
import type { Allocation } from '../../core/outcome.js'
import { AllocationType } from '../../core/outcome.js'
import { decodeGuaranteeMetadata } from '../../core/guarantee.js'
import { OutOfRangeError, RejectedInputError, assert } from '../../core/errors.js'
import { MAX_UINT256 } from '../../core/limits.js'

/** The source allocation at the index is not a guarantee ('not a guarantee allocation'). */
export class NotAGuaranteeError extends RejectedInputError {
  readonly code = 'not_a_guarantee'
}
/** The target (virtual) channel's outcome must have exactly two allocations: left's and right's. */
export class InvalidReclaimTargetError extends RejectedInputError {
  readonly code = 'invalid_reclaim_target'
}
/** No allocation other than the guarantee pays the guarantee's left or right ('could not find left/right'). */
export class GuaranteePartyNotFoundError extends RejectedInputError {
  readonly code = 'guarantee_party_not_found'
}
/** The target's two amounts do not add up to the guarantee ('totalReclaimed!=guarantee.amount'). */
export class ReclaimAmountMismatchError extends RejectedInputError {
  readonly code = 'reclaim_amount_mismatch'
}

export interface ReclaimInput {
  /** The ledger channel's allocations of the asset, holding the guarantee. */
  readonly sourceAllocations: readonly Allocation[]
  /** The virtual channel's allocations of the same asset. */
  readonly targetAllocations: readonly Allocation[]
  readonly indexOfTargetInSource: number
}

/**
 * The source's allocations after reclaim: one shorter (the guarantee is gone), target allocation 0's amount
 * added to the first allocation paying `left`, allocation 1's to the first paying `right` (the same one if
 * left = right). Throws OutOfRangeError (`out_of_range`), NotAGuaranteeError (`not_a_guarantee`), the
 * metadata decoder's `invalid_length`, InvalidReclaimTargetError (`invalid_reclaim_target`),
 * GuaranteePartyNotFoundError (`guarantee_party_not_found`), ReclaimAmountMismatchError
 * (`reclaim_amount_mismatch`).
 *
 * Stricter than the deployed contract in one way: it only indexes target allocations 0 and 1, so a target
 * with more allocations passes there and their amounts are never reclaimed; we refuse any count but two.
 */
export function computeReclaimEffects({ sourceAllocations, targetAllocations, indexOfTargetInSource }: ReclaimInput): Allocation[] {
  const index = indexOfTargetInSource
  if (!Number.isSafeInteger(index) || index < 0 || index >= sourceAllocations.length) {
    throw new OutOfRangeError(`indexOfTargetInSource must be in [0, ${sourceAllocations.length})`, { field: 'indexOfTargetInSource', value: index })
  }
  const guarantee = sourceAllocations[index]!
  if (guarantee.allocationType !== AllocationType.guarantee) {
    throw new NotAGuaranteeError('the source allocation is not a guarantee', { index, allocationType: guarantee.allocationType })
  }
  const { left, right } = decodeGuaranteeMetadata(guarantee.metadata)
  if (targetAllocations.length !== 2) {
    throw new InvalidReclaimTargetError('the target outcome must have exactly two allocations', { count: targetAllocations.length })
  }
  const [toLeft, toRight] = [targetAllocations[0]!.amount, targetAllocations[1]!.amount]

  const newAllocations: Allocation[] = []
  let foundLeft = false
  let foundRight = false
  for (let i = 0; i < sourceAllocations.length; i++) {
    if (i === index) continue
    const allocation = sourceAllocations[i]!
    const destination = allocation.destination
    let amount = allocation.amount
    if (!foundLeft && destination === left) {
      amount += toLeft
      foundLeft = true
    }
    if (!foundRight && destination === right) {
      amount += toRight
      foundRight = true
    }
    // Checked arithmetic on chain: an amount past uint256 reverts there, and would not encode here.
    if (amount > MAX_UINT256) throw new OutOfRangeError('a reclaimed amount exceeds uint256', { field: `sourceAllocations[${i}].amount`, value: amount })
    newAllocations.push({ ...allocation, amount })
  }
  if (!foundLeft) throw new GuaranteePartyNotFoundError('no allocation pays the guarantee\'s left', { left })
  if (!foundRight) throw new GuaranteePartyNotFoundError('no allocation pays the guarantee\'s right', { right })
  if (toLeft + toRight !== guarantee.amount) {
    throw new ReclaimAmountMismatchError('the target allocations do not add up to the guarantee', {
      guaranteed: guarantee.amount,
      reclaimed: toLeft + toRight,
    })
  }
  assert(sum(newAllocations) === sum(sourceAllocations), 'reclaim changed the total allocated')
  return newAllocations
}

function sum(allocations: readonly Allocation[]): bigint {
  let total = 0n
  for (const allocation of allocations) total += allocation.amount
  return total
}
