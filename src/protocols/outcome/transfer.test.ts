// The adjudicator's payout rule. The named cases 1–17 are transcribed from Nitro's own contract tests
// (statechannels/go-nitro, packages/nitro-protocol/test/contracts/MultiAssetHolder/transfer.test.ts: `c` is
// the paying channel, A and B external destinations, C and X channels; a payout to a channel is the rise
// of its holdings there). Properties: funds conserved, never more than the holdings, and `affords` agrees.
import type { Bytes32 } from '../../core/types.js'
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import type { Allocation } from '../../core/outcome.js'
import { AllocationType } from '../../core/outcome.js'
import { affords, computeTransferEffects } from './transfer.js'
import { codeOf } from '../../../test/hostile.js'

const A = `0x${'0'.repeat(24)}${'a1'.repeat(20)}` as Bytes32
const B = `0x${'0'.repeat(24)}${'b2'.repeat(20)}` as Bytes32
const C = `0x${'c3'.repeat(32)}` as Bytes32
const X = `0x${'d4'.repeat(32)}` as Bytes32
const G = `0x${'e5'.repeat(32)}` as Bytes32 // a virtual channel a guarantee locks funds for

type Row = readonly [Bytes32, bigint] | readonly [Bytes32, bigint, 'guarantee']
const allocationsOf = (...rows: readonly Row[]): Allocation[] =>
  rows.map(([destination, amount, type]) => ({ destination, amount, allocationType: type === 'guarantee' ? AllocationType.guarantee : AllocationType.simple, metadata: '0x' }))
const amountsOf = (allocations: readonly Allocation[]): bigint[] => allocations.map((a) => a.amount)

describe('computeTransferEffects', () => {
  test.each([
    { name: ' 1. funded -> 1 EOA', held: 1n, outcome: [[A, 1n]], indices: [0], after: [0n], payouts: [[A, 1n]] },
    { name: ' 2. overfunded -> 1 EOA', held: 2n, outcome: [[A, 1n]], indices: [0], after: [0n], payouts: [[A, 1n]] },
    { name: ' 3. underfunded -> 1 EOA', held: 1n, outcome: [[A, 2n]], indices: [0], after: [1n], payouts: [[A, 1n]] },
    { name: ' 4. funded -> 1 channel', held: 1n, outcome: [[C, 1n]], indices: [0], after: [0n], payouts: [[C, 1n]] },
    { name: ' 5. overfunded -> 1 channel', held: 2n, outcome: [[C, 1n]], indices: [0], after: [0n], payouts: [[C, 1n]] },
    { name: ' 6. underfunded -> 1 channel', held: 1n, outcome: [[C, 2n]], indices: [0], after: [1n], payouts: [[C, 1n]] },
    { name: ' 7. -> 2 EOA, 1 index', held: 2n, outcome: [[A, 1n], [B, 1n]], indices: [0], after: [0n, 1n], payouts: [[A, 1n]] },
    { name: ' 8. -> 2 EOA, 1 index, underfunded', held: 1n, outcome: [[A, 1n], [B, 1n]], indices: [0], after: [0n, 1n], payouts: [[A, 1n]] },
    { name: ' 9. -> 2 EOA, partial', held: 3n, outcome: [[A, 2n], [B, 2n]], indices: [1], after: [2n, 1n], payouts: [[B, 1n]] },
    { name: '10. -> 2 channels, nothing left for the second', held: 1n, outcome: [[C, 1n], [X, 1n]], indices: [1], after: [1n, 1n], payouts: [[X, 0n]] },
    { name: '11. -> 2 channels, full', held: 1n, outcome: [[C, 1n], [X, 1n]], indices: [0], after: [0n, 1n], payouts: [[C, 1n]] },
    { name: '12. -> 2 channels, partial', held: 3n, outcome: [[C, 2n], [X, 2n]], indices: [1], after: [2n, 1n], payouts: [[X, 1n]] },
    { name: '13. -> 2 indices', held: 3n, outcome: [[C, 2n], [X, 2n]], indices: [0, 1], after: [0n, 1n], payouts: [[C, 2n], [X, 1n]] },
    { name: '14. -> 3 indices', held: 5n, outcome: [[A, 1n], [C, 2n], [X, 2n]], indices: [0, 1, 2], after: [0n, 0n, 0n], payouts: [[A, 1n], [C, 2n], [X, 2n]] },
    // Ours: empty indices select every allocation (transferAllAssets).
    { name: 'all, underfunded: priority order', held: 3n, outcome: [[A, 2n], [B, 2n]], indices: [], after: [0n, 1n], payouts: [[A, 2n], [B, 1n]] },
    { name: 'all, nothing held', held: 0n, outcome: [[A, 2n], [B, 2n]], indices: [], after: [2n, 2n], payouts: [[A, 0n], [B, 0n]] },
    { name: 'all, empty outcome', held: 4n, outcome: [], indices: [], after: [], payouts: [] },
    { name: 'an unselected guarantee ahead keeps its priority', held: 3n, outcome: [[G, 2n, 'guarantee'], [A, 2n]], indices: [1], after: [2n, 1n], payouts: [[A, 1n]] },
    // The deployed contract checks allocations[k] (k-th selected) here, i.e. the guarantee, and would refuse.
    { name: 'a simple allocation after a guarantee can be paid', held: 9n, outcome: [[G, 2n, 'guarantee'], [A, 2n], [B, 3n]], indices: [2], after: [2n, 2n, 0n], payouts: [[B, 3n]] },
  ] as const)('$name', ({ held, outcome, indices, after, payouts }) => {
    const allocations = allocationsOf(...outcome)
    const effects = computeTransferEffects(held, allocations, indices)
    expect(amountsOf(effects.newAllocations)).toEqual(after)
    expect(effects.payouts).toEqual(payouts.map(([destination, amount]) => ({ destination, amount })))
    expect(effects.totalPayouts).toBe(payouts.reduce((sum, [, amount]) => sum + amount, 0n))
    // Everything but the amount is carried over, in order.
    expect(effects.newAllocations.map((a) => ({ ...a, amount: 0n }))).toEqual(allocations.map((a) => ({ ...a, amount: 0n })))
  })

  test.each([
    { name: '15. reverse order', allocations: allocationsOf([C, 2n], [X, 2n]), indices: [1, 0], code: 'indices_not_increasing' },
    { name: 'repeated index', allocations: allocationsOf([C, 2n], [X, 2n]), indices: [0, 0], code: 'indices_not_increasing' },
    { name: '17. guarantee selected', allocations: allocationsOf([A, 1n, 'guarantee']), indices: [0], code: 'cannot_transfer_guarantee' },
    { name: 'guarantee among all (transferAllAssets)', allocations: allocationsOf([A, 1n], [G, 1n, 'guarantee']), indices: [], code: 'cannot_transfer_guarantee' },
    // The deployed contract checks allocations[0] here (a simple one) and would pay the guarantee out.
    { name: 'guarantee selected after a simple one', allocations: allocationsOf([A, 1n], [G, 1n, 'guarantee']), indices: [1], code: 'cannot_transfer_guarantee' },
    { name: 'index past the end', allocations: allocationsOf([A, 1n]), indices: [1], code: 'out_of_range' },
    { name: 'negative index', allocations: allocationsOf([A, 1n]), indices: [-1], code: 'out_of_range' },
    { name: 'fractional index', allocations: allocationsOf([A, 1n], [B, 1n]), indices: [0.5], code: 'out_of_range' },
    { name: 'NaN index', allocations: allocationsOf([A, 1n]), indices: [Number.NaN], code: 'out_of_range' },
    { name: 'any index into nothing', allocations: [], indices: [0], code: 'out_of_range' },
  ])('$name → $code', ({ allocations, indices, code }) => {
    expect(codeOf(() => computeTransferEffects(5n, allocations, indices))).toBe(code)
  })

  test('negative holdings break an invariant', () => {
    expect(codeOf(() => computeTransferEffects(-1n, allocationsOf([A, 1n]), []))).toBe('invariant')
  })

  test('does not modify its input', () => {
    const allocations = allocationsOf([A, 2n], [B, 2n])
    const copy = structuredClone(allocations)
    computeTransferEffects(3n, allocations, [])
    expect(allocations).toEqual(copy)
  })
})

describe('affords', () => {
  const allocations = allocationsOf([A, 2n], [B, 3n], [C, 4n])
  test.each([
    { name: 'first, fully', index: 0, holdings: 9n, expected: 2n },
    { name: 'first, partly', index: 0, holdings: 1n, expected: 1n },
    { name: 'second, nothing left', index: 1, holdings: 2n, expected: 0n },
    { name: 'second, partly', index: 1, holdings: 4n, expected: 2n },
    { name: 'last, exactly', index: 2, holdings: 9n, expected: 4n },
    { name: 'last, overfunded', index: 2, holdings: 100n, expected: 4n },
    { name: 'nothing held', index: 2, holdings: 0n, expected: 0n },
  ])('$name', ({ index, holdings, expected }) => {
    expect(affords(allocations, index, holdings)).toBe(expected)
  })

  test.each([
    { name: 'past the end', index: 3 },
    { name: 'negative', index: -1 },
    { name: 'fractional', index: 1.5 },
  ])('index $name → out_of_range', ({ index }) => {
    expect(codeOf(() => affords(allocations, index, 5n))).toBe('out_of_range')
  })
})

describe('properties', () => {
  const destination = fc.constantFrom(A, B, C, X)
  const amount = fc.oneof(fc.bigInt({ min: 0n, max: 100n }), fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }))
  const simple = fc.array(fc.tuple(destination, amount), { maxLength: 8 }).map((rows) => allocationsOf(...rows))
  const holdings = fc.oneof(fc.bigInt({ min: 0n, max: 400n }), fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }))
  const withIndices = simple.chain((allocations) =>
    fc.tuple(fc.constant(allocations), fc.subarray(allocations.map((_, i) => i)), holdings),
  )
  const sum = (values: readonly bigint[]): bigint => values.reduce((a, b) => a + b, 0n)

  test('funds conserved: pays at most the holdings, and new allocations + payouts = old allocations', () => {
    fc.assert(
      fc.property(withIndices, ([allocations, indices, held]) => {
        const { newAllocations, payouts, totalPayouts } = computeTransferEffects(held, allocations, indices)
        expect(totalPayouts <= held).toBe(true)
        expect(totalPayouts).toBe(sum(payouts.map((p) => p.amount)))
        expect(sum(amountsOf(newAllocations)) + totalPayouts).toBe(sum(amountsOf(allocations)))
        expect(newAllocations.every((a) => a.amount >= 0n)).toBe(true)
      }),
    )
  })

  test('each selected allocation is paid what the holdings afford it in priority order', () => {
    fc.assert(
      fc.property(withIndices, ([allocations, indices, held]) => {
        const { payouts } = computeTransferEffects(held, allocations, indices)
        const selected = indices.length === 0 ? allocations.map((_, i) => i) : indices
        expect(payouts.map((p) => p.amount)).toEqual(selected.map((i) => affords(allocations, i, held)))
      }),
    )
  })

  test('fully funded: paying all empties the outcome and leaves the surplus', () => {
    fc.assert(
      fc.property(simple, fc.bigInt({ min: 0n, max: 1000n }), (allocations, surplus) => {
        const total = sum(amountsOf(allocations))
        const { newAllocations, totalPayouts } = computeTransferEffects(total + surplus, allocations, [])
        expect(amountsOf(newAllocations).every((a) => a === 0n)).toBe(true)
        expect(totalPayouts).toBe(total)
      }),
    )
  })

  test('paying some, then all from what is left, pays each allocation what paying all at once does', () => {
    fc.assert(
      fc.property(withIndices, ([allocations, indices, held]) => {
        const first = computeTransferEffects(held, allocations, indices)
        const second = computeTransferEffects(held - first.totalPayouts, first.newAllocations, [])
        const once = computeTransferEffects(held, allocations, [])
        const paidInTwo = allocations.map((_, i) => {
          const j = indices.length === 0 ? i : indices.indexOf(i)
          return (j >= 0 ? first.payouts[j]!.amount : 0n) + second.payouts[i]!.amount
        })
        expect(paidInTwo).toEqual(once.payouts.map((p) => p.amount))
      }),
    )
  })
})
