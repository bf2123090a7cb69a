// Funding thresholds: where a participant may start depositing and where its share is covered.
// Expected values are worked by hand from the definition (sum of the allocations ahead), and the
// properties check them against the adjudicator's payout rule (transfer.ts' `affords`).
import type { Bytes32 } from '../../core/types.js'
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import type { Allocation, SingleAssetExit } from '../../core/outcome.js'
import { depositSafetyThreshold, depositTarget, fullyFundedThreshold } from './funding.js'
import { affords } from './transfer.js'
import { codeOf } from '../../../test/hostile.js'
import { toAddress, toBytes32 } from '../../core/canonical.js'

const dest = (byte: string): Bytes32 => `0x${'0'.repeat(24)}${byte.repeat(20)}` as Bytes32
const A = dest('a1')
const B = dest('b2')
const C = dest('c3')
const V = `0x${'ee'.repeat(32)}` as Bytes32 // a channel id as destination

const exitOf = (...allocations: readonly [Bytes32, bigint][]): SingleAssetExit => ({
  asset: toAddress('0x0000000000000000000000000000000000000000'),
  assetMetadata: { assetType: 0, metadata: '0x' },
  allocations: allocations.map(([destination, amount]) => ({ destination, amount, allocationType: 0, metadata: '0x' })),
})

describe('depositSafetyThreshold and depositTarget', () => {
  test.each([
    { name: 'first in line deposits at once', exit: exitOf([A, 5n], [B, 3n]), who: A, threshold: 0n, target: 5n },
    { name: 'second waits for the first', exit: exitOf([A, 5n], [B, 3n]), who: B, threshold: 5n, target: 8n },
    { name: 'middle of three', exit: exitOf([A, 1n], [B, 2n], [C, 4n]), who: B, threshold: 1n, target: 3n },
    { name: 'last of three', exit: exitOf([A, 1n], [B, 2n], [C, 4n]), who: C, threshold: 3n, target: 7n },
    { name: 'a zero allocation ahead costs nothing', exit: exitOf([A, 0n], [B, 3n]), who: B, threshold: 0n, target: 3n },
    { name: 'my own zero allocation', exit: exitOf([A, 4n], [B, 0n]), who: B, threshold: 4n, target: 4n },
    { name: 'two adjacent allocations add up', exit: exitOf([A, 2n], [A, 3n], [B, 1n]), who: A, threshold: 0n, target: 5n },
    { name: 'split only by a zero allocation', exit: exitOf([A, 2n], [B, 0n], [A, 3n]), who: A, threshold: 0n, target: 5n },
    { name: 'a channel destination', exit: exitOf([A, 2n], [V, 6n]), who: V, threshold: 2n, target: 8n },
    { name: 'uint256 amounts', exit: exitOf([A, 2n ** 255n], [B, 2n ** 255n - 1n]), who: B, threshold: 2n ** 255n, target: 2n ** 256n - 1n },
  ])('$name', ({ exit, who, threshold, target }) => {
    expect(depositSafetyThreshold(exit, toBytes32(who))).toBe(threshold)
    expect(depositTarget(exit, toBytes32(who))).toBe(target)
  })

  test.each([
    { name: 'threshold: not in the outcome', run: () => depositSafetyThreshold(exitOf([A, 5n]), toBytes32(B)), code: 'not_in_outcome' },
    { name: 'threshold: empty outcome', run: () => depositSafetyThreshold(exitOf(), toBytes32(A)), code: 'not_in_outcome' },
    { name: 'target: not in the outcome', run: () => depositTarget(exitOf([A, 5n], [C, 1n]), toBytes32(B)), code: 'not_in_outcome' },
    { name: 'target: split by another share', run: () => depositTarget(exitOf([A, 2n], [B, 1n], [A, 3n]), toBytes32(A)), code: 'allocations_not_contiguous' },
  ])('$name → $code', ({ run, code }) => {
    expect(codeOf(run)).toBe(code)
  })

  test('a split share still has a well-defined threshold', () => {
    expect(depositSafetyThreshold(exitOf([C, 1n], [A, 2n], [B, 1n], [A, 3n]), toBytes32(A))).toBe(1n)
  })
})

describe('fullyFundedThreshold', () => {
  test.each([
    { name: 'empty', exit: exitOf(), total: 0n },
    { name: 'one', exit: exitOf([A, 7n]), total: 7n },
    { name: 'several, zeros included', exit: exitOf([A, 7n], [B, 0n], [V, 5n]), total: 12n },
  ])('$name', ({ exit, total }) => {
    expect(fullyFundedThreshold(exit)).toBe(total)
  })
})

describe('properties (distinct destinations)', () => {
  const distinctExit = fc
    .uniqueArray(fc.integer({ min: 1, max: 250 }), { minLength: 1, maxLength: 6 })
    .chain((ids) =>
      fc.tuple(fc.constant(ids), fc.array(fc.bigInt({ min: 0n, max: 10n ** 20n }), { minLength: ids.length, maxLength: ids.length })),
    )
    .map(([ids, amounts]) => exitOf(...ids.map((id, i): [Bytes32, bigint] => [dest(id.toString(16).padStart(2, '0')), amounts[i]!])))
  const allocationsOf = (exit: SingleAssetExit): readonly Allocation[] => exit.allocations

  test('threshold ≤ target ≤ fully funded, and target − threshold is my amount', () => {
    fc.assert(
      fc.property(distinctExit, (exit) => {
        exit.allocations.forEach(({ destination, amount }) => {
          const threshold = depositSafetyThreshold(exit, destination)
          const target = depositTarget(exit, destination)
          expect(target - threshold).toBe(amount)
          expect(threshold <= target && target <= fullyFundedThreshold(exit)).toBe(true)
        })
      }),
    )
  })

  test('the shares between consecutive thresholds add up to the total', () => {
    fc.assert(
      fc.property(distinctExit, (exit) => {
        let sum = 0n
        for (const { destination } of exit.allocations) sum += depositTarget(exit, destination) - depositSafetyThreshold(exit, destination)
        expect(sum).toBe(fullyFundedThreshold(exit))
      }),
    )
  })

  test('at the threshold the chain pays me nothing yet; at the target it pays my whole share', () => {
    fc.assert(
      fc.property(distinctExit, (exit) => {
        const allocations = allocationsOf(exit)
        allocations.forEach(({ destination, amount }, i) => {
          expect(affords(allocations, i, depositSafetyThreshold(exit, destination))).toBe(0n)
          expect(affords(allocations, i, depositTarget(exit, destination))).toBe(amount)
          // Everyone ahead of me is covered at my threshold: my deposit cannot fund their share.
          for (let j = 0; j < i; j++) expect(affords(allocations, j, depositSafetyThreshold(exit, destination))).toBe(allocations[j]!.amount)
        })
      }),
    )
  })
})
