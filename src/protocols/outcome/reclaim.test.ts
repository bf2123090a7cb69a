// The adjudicator's reclaim rule. The first case is Nitro's own contract test (statechannels/go-nitro,
// packages/nitro-protocol/test/contracts/MultiAssetHolder/reclaim.test.ts: ledger [Alice 10, Irene 10,
// guarantee 10 for V (left Alice, right Irene)], V = [Alice 7, Bob 3] → ledger [Alice 17, Irene 13]); the
// others are worked by hand. Properties: the total allocated is conserved and only left and right change.
import type { Bytes32 } from '../../core/types.js'
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import type { Hex } from 'viem'
import type { Allocation } from '../../core/outcome.js'
import { encodeGuaranteeMetadata } from '../../core/guarantee.js'
import { computeReclaimEffects } from './reclaim.js'
import { codeOf } from '../../../test/hostile.js'
import { toBytes32 } from '../../core/canonical.js'
import { AllocationType } from '../../core/outcome.js'

const ext = (byte: string): Bytes32 => `0x${'0'.repeat(24)}${byte.repeat(20)}` as Bytes32
const Alice = ext('a1')
const Bob = ext('b0')
const Irene = ext('1e')
const Carol = ext('c0')
const V = `0x${'5a'.repeat(32)}` as Bytes32
const W = `0x${'5b'.repeat(32)}` as Bytes32

const simple = (destination: Bytes32, amount: bigint, metadata: Hex = '0x'): Allocation => ({ destination, amount, allocationType: 0, metadata })
const guarantee = (target: Hex, amount: bigint, left: Bytes32, right: Bytes32): Allocation => ({
  destination: toBytes32(target),
  amount,
  allocationType: AllocationType.guarantee,
  metadata: encodeGuaranteeMetadata({ left, right }),
})

describe('computeReclaimEffects', () => {
  test.each([
    {
      name: 'Nitro: Alice–Irene ledger reclaims V = [Alice 7, Bob 3]',
      source: [simple(Alice, 10n), simple(Irene, 10n), guarantee(V, 10n, Alice, Irene)],
      target: [simple(Alice, 7n), simple(Bob, 3n)],
      index: 2,
      expected: [simple(Alice, 17n), simple(Irene, 13n)],
    },
    {
      name: 'guarantee first; right is before left in the source',
      source: [guarantee(V, 5n, Irene, Alice), simple(Alice, 1n), simple(Irene, 2n)],
      target: [simple(Bob, 5n), simple(Alice, 0n)],
      index: 0,
      expected: [simple(Alice, 1n), simple(Irene, 7n)],
    },
    {
      name: 'another guarantee stays in place',
      source: [simple(Alice, 1n), simple(Irene, 1n), guarantee(V, 4n, Alice, Irene), guarantee(W, 6n, Alice, Irene)],
      target: [simple(Alice, 1n), simple(Bob, 3n)],
      index: 2,
      expected: [simple(Alice, 2n), simple(Irene, 4n), guarantee(W, 6n, Alice, Irene)],
    },
    {
      name: 'left = right gets both amounts',
      source: [simple(Alice, 1n), guarantee(V, 4n, Alice, Alice)],
      target: [simple(Alice, 1n), simple(Bob, 3n)],
      index: 1,
      expected: [simple(Alice, 5n)],
    },
    {
      name: 'only the first allocation to left is credited',
      source: [simple(Alice, 1n), simple(Irene, 1n), simple(Alice, 1n), guarantee(V, 2n, Alice, Irene)],
      target: [simple(Alice, 2n), simple(Bob, 0n)],
      index: 3,
      expected: [simple(Alice, 3n), simple(Irene, 1n), simple(Alice, 1n)],
    },
    {
      name: 'metadata of the credited allocations is kept',
      source: [simple(Alice, 0n, '0x01'), simple(Irene, 0n), guarantee(V, 0n, Alice, Irene)],
      target: [simple(Alice, 0n), simple(Bob, 0n)],
      index: 2,
      expected: [simple(Alice, 0n, '0x01'), simple(Irene, 0n)],
    },
  ])('$name', ({ source, target, index, expected }) => {
    expect(computeReclaimEffects({ sourceAllocations: source, targetAllocations: target, indexOfTargetInSource: index })).toEqual(expected)
  })

  const ledger = [simple(Alice, 10n), simple(Irene, 10n), guarantee(V, 10n, Alice, Irene)]
  const virtual = [simple(Alice, 7n), simple(Bob, 3n)]
  test.each([
    { name: 'index past the end', source: ledger, target: virtual, index: 3, code: 'out_of_range' },
    { name: 'negative index', source: ledger, target: virtual, index: -1, code: 'out_of_range' },
    { name: 'fractional index', source: ledger, target: virtual, index: 1.5, code: 'out_of_range' },
    { name: 'not a guarantee', source: ledger, target: virtual, index: 0, code: 'not_a_guarantee' },
    { name: 'guarantee metadata not 64 bytes', source: [simple(Alice, 1n), simple(Irene, 1n), { ...guarantee(V, 1n, Alice, Irene), metadata: '0x' as Hex }], target: [simple(Alice, 1n), simple(Bob, 0n)], index: 2, code: 'invalid_length' },
    { name: 'target with one allocation', source: ledger, target: [simple(Alice, 10n)], index: 2, code: 'invalid_reclaim_target' },
    { name: 'target with three allocations', source: ledger, target: [...virtual, simple(Carol, 0n)], index: 2, code: 'invalid_reclaim_target' },
    { name: 'target with none', source: ledger, target: [], index: 2, code: 'invalid_reclaim_target' },
    { name: 'left not in the source', source: [simple(Carol, 10n), simple(Irene, 10n), guarantee(V, 10n, Alice, Irene)], target: virtual, index: 2, code: 'guarantee_party_not_found' },
    { name: 'right not in the source', source: [simple(Alice, 10n), simple(Carol, 10n), guarantee(V, 10n, Alice, Irene)], target: virtual, index: 2, code: 'guarantee_party_not_found' },
    { name: 'left is only the guarantee itself', source: [simple(Irene, 10n), guarantee(V, 10n, V, Irene)], target: virtual, index: 1, code: 'guarantee_party_not_found' },
    { name: 'target pays less than guaranteed', source: ledger, target: [simple(Alice, 7n), simple(Bob, 2n)], index: 2, code: 'reclaim_amount_mismatch' },
    { name: 'target pays more than guaranteed', source: ledger, target: [simple(Alice, 7n), simple(Bob, 4n)], index: 2, code: 'reclaim_amount_mismatch' },
    { name: 'credited amount past uint256', source: [simple(Alice, 2n ** 256n - 1n), simple(Irene, 0n), guarantee(V, 1n, Alice, Irene)], target: [simple(Alice, 1n), simple(Bob, 0n)], index: 2, code: 'out_of_range' },
  ])('$name → $code', ({ source, target, index, code }) => {
    expect(codeOf(() => computeReclaimEffects({ sourceAllocations: source, targetAllocations: target, indexOfTargetInSource: index }))).toBe(code)
  })
})

describe('properties', () => {
  const sum = (allocations: readonly Allocation[]): bigint => allocations.reduce((total, a) => total + a.amount, 0n)
  const amount = fc.bigInt({ min: 0n, max: 10n ** 24n })
  // A ledger: some allocations to Alice, Irene, Carol in any order, and a guarantee for V somewhere.
  const reclaim = fc
    .record({
      others: fc.array(fc.tuple(fc.constantFrom(Alice, Irene, Carol), amount), { maxLength: 6 }),
      toLeft: amount,
      toRight: amount,
      at: fc.nat(),
      swap: fc.boolean(),
    })
    .map(({ others, toLeft, toRight, at, swap }) => {
      const rows = [simple(Alice, 1n), simple(Irene, 2n), ...others.map(([d, a]) => simple(d, a))]
      const [left, right] = swap ? [Irene, Alice] : [Alice, Irene]
      const index = at % (rows.length + 1)
      rows.splice(index, 0, guarantee(V, toLeft + toRight, left, right))
      return { source: rows, target: [simple(Alice, toLeft), simple(Bob, toRight)], index, left, right, toLeft, toRight }
    })

  test('conserves the total allocated, removes the guarantee, credits only the first left and right', () => {
    fc.assert(
      fc.property(reclaim, ({ source, target, index, left, right, toLeft, toRight }) => {
        const after = computeReclaimEffects({ sourceAllocations: source, targetAllocations: target, indexOfTargetInSource: index })
        expect(sum(after)).toBe(sum(source))
        expect(after).toHaveLength(source.length - 1)
        const rest = source.filter((_, i) => i !== index)
        const firstLeft = rest.findIndex((a) => a.destination === left)
        const firstRight = rest.findIndex((a) => a.destination === right)
        rest.forEach((allocation, i) => {
          const credit = (i === firstLeft ? toLeft : 0n) + (i === firstRight ? toRight : 0n)
          expect(after[i]).toEqual({ ...allocation, amount: allocation.amount + credit })
        })
      }),
    )
  })
})
