// The app outcome (appOutcome.ts, app-abi.md "Exports"): amount_i = total × w_i / Σw, the remainder one
// wei each in index order, Σw = 0 → deposits back; the amounts always add up to the total.
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import type { Destination } from '../../core/types.js'
import { addressToDestination, encodeOutcome, totalAllocated } from '../../core/outcome.js'
import { codeOf } from '../../../test/hostile.js'
import type { AppFunding } from './appOutcome.js'
import { allocateByWeights, appOutcome, checkWeights } from './appOutcome.js'
import { alice, bob, carol, ETH } from './testApps.js'

const U64 = 2n ** 64n - 1n
const U256 = 2n ** 256n - 1n

describe('allocateByWeights', () => {
  // Worked by hand: e.g. 10 by [1, 2] is 3 and 6 by division, and the one remaining wei goes to index 0.
  test.each([
    { name: 'two thirds', deposits: [5n, 5n], weights: [1n, 2n], amounts: [4n, 6n] },
    { name: 'equal thirds of 10', deposits: [4n, 3n, 3n], weights: [1n, 1n, 1n], amounts: [4n, 3n, 3n] },
    { name: 'the remainder goes by index to weighted participants only', deposits: [1n, 1n, 1n], weights: [0n, 1n, 1n], amounts: [0n, 2n, 1n] },
    { name: 'winner takes all', deposits: [7n, 3n], weights: [0n, 9n], amounts: [0n, 10n] },
    { name: 'no decision yet: deposits back', deposits: [7n, 3n, 0n], weights: [0n, 0n, 0n], amounts: [7n, 3n, 0n] },
    { name: 'an empty pot', deposits: [0n, 0n], weights: [1n, 1n], amounts: [0n, 0n] },
    { name: 'the largest pot and weights', deposits: [U256, 0n], weights: [U64, U64], amounts: [2n ** 255n, 2n ** 255n - 1n] },
    { name: 'a tiny weight beside a huge one', deposits: [0n, 1000n], weights: [1n, U64], amounts: [1n, 999n] },
  ])('$name', ({ deposits, weights, amounts }) => {
    expect(allocateByWeights(deposits, weights)).toEqual(amounts)
  })

  test('conserves funds and gives each at least its share rounded down, at most one wei more', () => {
    const case_ = fc.integer({ min: 2, max: 16 }).chain((n) =>
      fc.record({
        deposits: fc.array(fc.bigInt({ min: 0n, max: 2n ** 200n }), { minLength: n, maxLength: n }),
        weights: fc.array(fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: U64 })), { minLength: n, maxLength: n }),
      }),
    )
    fc.assert(
      fc.property(case_, ({ deposits, weights }) => {
        const amounts = allocateByWeights(deposits, weights)
        const total = deposits.reduce((a, b) => a + b, 0n)
        const sum = weights.reduce((a, b) => a + b, 0n)
        expect(amounts.reduce((a, b) => a + b, 0n)).toBe(total)
        amounts.forEach((amount, i) => {
          const share = sum === 0n ? deposits[i]! : (total * weights[i]!) / sum
          expect(amount - share).toBeGreaterThanOrEqual(0n)
          expect(amount - share).toBeLessThanOrEqual(sum === 0n ? 0n : 1n)
        })
      }),
    )
  })

  test.each([
    { name: 'one weight for two', weights: [1n] },
    { name: 'three weights for two', weights: [1n, 1n, 1n] },
    { name: 'a negative weight', weights: [1n, -1n] },
    { name: 'a weight of 2^64', weights: [1n, 2n ** 64n] },
    { name: 'a number', weights: [1n, 1] },
    { name: 'not an array', weights: 'weights' },
  ])('refuses $name (invalid_app_outcome)', ({ weights }) => {
    expect(codeOf(() => allocateByWeights([1n, 1n], weights as readonly bigint[]))).toBe('invalid_app_outcome')
    expect(codeOf(() => checkWeights(weights, 2))).toBe('invalid_app_outcome')
  })
})

describe('appOutcome', () => {
  const funding: AppFunding = {
    asset: ETH,
    deposits: [10n, 20n, 30n],
    destinations: [alice, bob, carol].map((a) => addressToDestination(a.address)),
  }

  test('one asset, simple allocations to the participants in index order', () => {
    const exit = appOutcome(funding, [1n, 0n, 1n])
    expect(exit).toEqual([
      {
        asset: ETH,
        assetMetadata: { assetType: 0, metadata: '0x' },
        allocations: [
          { destination: funding.destinations[0], amount: 30n, allocationType: 0, metadata: '0x' },
          { destination: funding.destinations[1], amount: 0n, allocationType: 0, metadata: '0x' },
          { destination: funding.destinations[2], amount: 30n, allocationType: 0, metadata: '0x' },
        ],
      },
    ])
    expect(totalAllocated(exit[0]!)).toBe(60n)
    expect(() => encodeOutcome(exit)).not.toThrow()
  })

  test('Σw = 0 returns the deposits', () => {
    expect(appOutcome(funding, [0n, 0n, 0n])[0]!.allocations.map((a) => a.amount)).toEqual([10n, 20n, 30n])
  })

  test('a destination missing is our bug (invariant)', () => {
    const broken = { ...funding, destinations: funding.destinations.slice(0, 2) as Destination[] }
    expect(codeOf(() => appOutcome(broken, [1n, 1n, 1n]))).toBe('invariant')
  })
})
