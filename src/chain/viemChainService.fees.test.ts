// The fees of a transaction's versions (viemChainService.ts, issue 15): the first within the cap, each later one
// both fees up a quarter (or to the chain's current estimate), never past the cap, and none at all when the cap
// leaves less than the +12.5% a node asks of a replacement. Pure: no chain here (the anvil checks are in
// viemChainService.test.ts).
import { describe, expect, test } from 'vitest'
import type { Fees } from './viemChainService.js'
import { bumpFees, capFees } from './viemChainService.js'

const GWEI = 10n ** 9n
const fees = (maxFeePerGas: bigint, maxPriorityFeePerGas: bigint): Fees => ({ maxFeePerGas, maxPriorityFeePerGas })

describe('bumpFees', () => {
  test.each([
    { name: 'both fees up 25%', previous: fees(100n, 40n), current: undefined, cap: 1_000n, next: fees(125n, 50n) },
    { name: 'rounded up, so a small fee still rises', previous: fees(3n, 1n), current: undefined, cap: 1_000n, next: fees(4n, 2n) },
    { name: 'a zero tip stays zero while the fee cap rises', previous: fees(8n, 0n), current: undefined, cap: 1_000n, next: fees(10n, 0n) },
    { name: 'the chain’s estimate where it is higher (the base fee jumped)', previous: fees(100n, 40n), current: fees(300n, 45n), cap: 1_000n, next: fees(300n, 50n) },
    { name: 'the fee cap at the cap', previous: fees(30n * GWEI, GWEI), current: undefined, cap: 36n * GWEI, next: fees(36n * GWEI, (125n * GWEI) / 100n) },
    { name: 'the tip never above the fee cap', previous: fees(100n, 99n), current: undefined, cap: 120n, next: fees(120n, 120n) },
    { name: 'exactly +12.5% under the cap is still sent', previous: fees(800n, 10n), current: undefined, cap: 900n, next: fees(900n, 13n) },
  ])('$name', ({ previous, current, cap, next }) => {
    expect(bumpFees(previous, current, cap)).toEqual(next)
  })

  test.each([
    { name: 'already at the cap', previous: fees(100n, 10n), cap: 100n },
    { name: 'the cap leaves less than +12.5% on the fee cap', previous: fees(800n, 10n), cap: 899n },
    { name: 'the cap leaves less than +12.5% on the tip', previous: fees(110n, 100n), cap: 112n },
  ])('none when $name: the node would refuse it, the last version goes again', ({ previous, cap }) => {
    expect(bumpFees(previous, undefined, cap)).toBeUndefined()
  })

  test('a transaction’s versions under the default cap (10× the first): fees rise each time, then stop at the cap', () => {
    const first = fees(22n * GWEI, 10n * GWEI)
    const cap = 10n * first.maxFeePerGas
    const versions = [first]
    for (let next = bumpFees(first, undefined, cap); next !== undefined; next = bumpFees(versions.at(-1)!, undefined, cap)) versions.push(next)
    expect(versions.length).toBe(11) // 1.25^10 ≈ 9.3 < 10, and 10 / 9.3 is under +12.5%
    expect(versions.at(-1)!.maxFeePerGas).toBeLessThanOrEqual(cap)
    expect(versions.every((v, i) => i === 0 || (v.maxFeePerGas * 100n >= versions[i - 1]!.maxFeePerGas * 125n && v.maxPriorityFeePerGas * 100n >= versions[i - 1]!.maxPriorityFeePerGas * 125n))).toBe(true)
  })
})

describe('capFees', () => {
  test.each([
    { name: 'an estimate under the cap as it is', estimate: fees(50n, 2n), cap: 100n, first: fees(50n, 2n) },
    { name: 'an estimate over the cap at the cap', estimate: fees(150n, 2n), cap: 100n, first: fees(100n, 2n) },
    { name: 'a tip over the capped fee at the capped fee', estimate: fees(150n, 120n), cap: 100n, first: fees(100n, 100n) },
  ])('$name', ({ estimate, cap, first }) => {
    expect(capFees(estimate, cap)).toEqual(first)
  })
})
