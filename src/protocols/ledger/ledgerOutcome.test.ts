// The ledger outcome (DESIGN §3): one asset, allocations [leader, follower, guarantees sorted by target],
// guarantee metadata abi.encode((bytes32 left, bytes32 right)). Expected Exits are written out by hand;
// a guarantee's metadata is the plain concatenation left ‖ right (two static 32-byte words).
import type { Bytes32 } from '../../core/types.js'
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import type { Hex } from 'viem'
import type { Allocation, Exit } from '../../core/outcome.js'
import { decodeOutcome, encodeOutcome, AllocationType } from '../../core/outcome.js'
import type { Guarantee, LedgerOutcome } from './ledgerOutcome.js'
import { findGuarantee, ledgerOutcomeFromExit, ledgerOutcomeToExit, totalOf } from './ledgerOutcome.js'
import { alice, bob, ETH, ledgerOutcome, target } from './testLedger.js'
import * as arb from '../../../test/arbitraries.js'
import { codeOf } from '../../../test/hostile.js'

const concat = (left: Hex, right: Hex): Hex => `0x${left.slice(2)}${right.slice(2)}`.toLowerCase() as Hex

const simple = (destination: Bytes32, amount: bigint, metadata: Hex = '0x'): Allocation => ({ destination, amount, allocationType: 0, metadata })
const guarantee = (n: number, amount: bigint, metadata: Hex = concat(alice.destination, bob.destination)): Allocation => ({
  destination: target(n),
  amount,
  allocationType: AllocationType.guarantee,
  metadata,
})
const exitOf = (allocations: readonly Allocation[], assetMetadata = { assetType: 0, metadata: '0x' as Hex }): Exit => [{ asset: ETH, assetMetadata, allocations }]

const aGuarantee = (n: number, amount: bigint, left = alice, right = bob): Guarantee => ({ target: target(n), amount, left: left.destination, right: right.destination })

/** Arbitrary ledger outcomes, in arbitrary hex case; guarantees unique by target and sorted. */
const ledgerOutcomeArb: fc.Arbitrary<LedgerOutcome> = fc
  .record({
    asset: arb.address,
    leader: fc.record({ destination: arb.destination, amount: arb.amount }),
    follower: fc.record({ destination: arb.destination, amount: arb.amount }),
    guarantees: fc.uniqueArray(fc.record({ target: arb.channelId, amount: arb.amount, left: arb.destination, right: arb.destination }), {
      maxLength: 6,
      selector: (g) => g.target.toLowerCase(),
    }),
  })
  .map((o) => ({ ...o, guarantees: [...o.guarantees].sort((a, b) => (a.target.toLowerCase() < b.target.toLowerCase() ? -1 : 1)) }))

/** What the parser returns: every destination lowercase (the asset keeps its case). */
const normalised = (o: LedgerOutcome): LedgerOutcome => ({ ...(arb.lowerCaseDeep(o) as LedgerOutcome), asset: o.asset })

describe('ledgerOutcomeToExit', () => {
  test('one asset without metadata; leader, follower, then guarantees with left ‖ right metadata', () => {
    const o = ledgerOutcome({ leader: 7n, follower: 3n, guarantees: [aGuarantee(1, 5n), aGuarantee(2, 4n, bob, alice)] })
    expect(ledgerOutcomeToExit(o)).toEqual([
      {
        asset: ETH,
        assetMetadata: { assetType: 0, metadata: '0x' },
        allocations: [
          { destination: alice.destination, amount: 7n, allocationType: 0, metadata: '0x' },
          { destination: bob.destination, amount: 3n, allocationType: 0, metadata: '0x' },
          { destination: target(1), amount: 5n, allocationType: AllocationType.guarantee, metadata: concat(alice.destination, bob.destination) },
          { destination: target(2), amount: 4n, allocationType: AllocationType.guarantee, metadata: concat(bob.destination, alice.destination) },
        ],
      },
    ])
  })

  test('an outcome without guarantees has exactly two allocations', () => {
    const [exit] = ledgerOutcomeToExit(ledgerOutcome())
    expect(exit!.allocations.map((a) => [a.destination, a.amount])).toEqual([
      [alice.destination, 10n],
      [bob.destination, 10n],
    ])
  })
})

describe('ledgerOutcomeFromExit', () => {
  test('parses the hand-written Exit of a ledger with two guarantees', () => {
    const exit = exitOf([simple(alice.destination, 7n), simple(bob.destination, 3n), guarantee(1, 5n), guarantee(2, 4n, concat(bob.destination, alice.destination))])
    expect(ledgerOutcomeFromExit(exit)).toEqual(ledgerOutcome({ leader: 7n, follower: 3n, guarantees: [aGuarantee(1, 5n), aGuarantee(2, 4n, bob, alice)] }))
  })

  test('round trip: fromExit(toExit(o)) = o, for outcomes in canonical form (as decoders give them)', () => {
    fc.assert(
      fc.property(ledgerOutcomeArb.map(normalised), (o) => {
        expect(ledgerOutcomeFromExit(ledgerOutcomeToExit(o))).toEqual(o)
      }),
      { numRuns: 300 },
    )
  })

  test('round trip through outcome bytes: decodeOutcome(encodeOutcome(toExit(o))) parses back to o', () => {
    fc.assert(
      fc.property(ledgerOutcomeArb, (o) => {
        const parsed = ledgerOutcomeFromExit(decodeOutcome(encodeOutcome(ledgerOutcomeToExit(o))))
        expect(arb.lowerCaseDeep(parsed)).toEqual(arb.lowerCaseDeep(o))
      }),
      { numRuns: 200 },
    )
  })

  test('round trip: toExit(fromExit(exit)) = exit for a canonical Exit', () => {
    const exit = exitOf([simple(alice.destination, 1n), simple(bob.destination, 2n), guarantee(3, 3n), guarantee(4, 0n)])
    expect(ledgerOutcomeToExit(ledgerOutcomeFromExit(exit))).toEqual(exit)
  })

  test('orders targets by byte value, not by the case of their hex digits', () => {
    // 'B' sorts before 'a' as a string, but 0xb0… is above 0xa0… as bytes.
    const low = `0x${'a0'.repeat(32)}` as Bytes32
    const high = `0x${'b0'.repeat(32)}` as Bytes32
    const base = [simple(alice.destination, 1n), simple(bob.destination, 1n)]
    const withTargets = (...targets: Bytes32[]) => exitOf([...base, ...targets.map((t) => ({ ...guarantee(0, 1n), destination: t }))])
    expect(ledgerOutcomeFromExit(withTargets(low, high)).guarantees.map((g) => g.target)).toEqual([low, high.toLowerCase()])
    expect(codeOf(() => ledgerOutcomeFromExit(withTargets(high, low)))).toBe('invalid_outcome')
  })

  const leader = simple(alice.destination, 5n)
  const follower = simple(bob.destination, 5n)
  test.each([
    { name: 'no asset', exit: [] as Exit },
    { name: 'two assets', exit: [...exitOf([leader, follower]), ...exitOf([leader, follower])] },
    { name: 'no allocations (leader missing)', exit: exitOf([]) },
    { name: 'only the leader (follower missing)', exit: exitOf([leader]) },
    { name: 'a guarantee before the simple allocations', exit: exitOf([guarantee(1, 1n), leader, follower]) },
    { name: 'the leader is a guarantee', exit: exitOf([{ ...leader, allocationType: AllocationType.guarantee }, follower]) },
    { name: 'the follower is a guarantee', exit: exitOf([leader, guarantee(1, 1n)]) },
    { name: 'a simple allocation after a guarantee', exit: exitOf([leader, follower, guarantee(1, 1n), simple(alice.destination, 1n)]) },
    { name: 'a simple allocation in the third place', exit: exitOf([leader, follower, simple(alice.destination, 1n)]) },
    { name: 'a withdrawHelper allocation (type 1)', exit: exitOf([leader, follower, { ...guarantee(1, 1n), allocationType: AllocationType.withdrawHelper }]) },
    { name: 'an unknown allocation type', exit: exitOf([leader, follower, { ...guarantee(1, 1n), allocationType: 3 }]) },
    { name: 'unsorted targets', exit: exitOf([leader, follower, guarantee(2, 1n), guarantee(1, 1n)]) },
    { name: 'duplicate targets', exit: exitOf([leader, follower, guarantee(1, 1n), guarantee(1, 2n)]) },
    { name: 'guarantee metadata of 63 bytes', exit: exitOf([leader, follower, guarantee(1, 1n, `0x${'11'.repeat(63)}`)]) },
    { name: 'guarantee metadata of 65 bytes', exit: exitOf([leader, follower, guarantee(1, 1n, `0x${'11'.repeat(65)}`)]) },
    { name: 'empty guarantee metadata', exit: exitOf([leader, follower, guarantee(1, 1n, '0x')]) },
    { name: 'guarantee metadata of odd length', exit: exitOf([leader, follower, guarantee(1, 1n, `0x${'1'.repeat(127)}` as Hex)]) },
    { name: 'metadata on the leader allocation', exit: exitOf([simple(alice.destination, 5n, '0x01'), follower]) },
    { name: 'metadata on the follower allocation', exit: exitOf([leader, simple(bob.destination, 5n, '0x01')]) },
    { name: 'an asset type', exit: exitOf([leader, follower], { assetType: 1, metadata: '0x' }) },
    { name: 'asset metadata', exit: exitOf([leader, follower], { assetType: 0, metadata: '0x01' }) },
  ])('refuses $name with invalid_outcome', ({ exit }) => {
    expect(codeOf(() => ledgerOutcomeFromExit(exit))).toBe('invalid_outcome')
  })

  test('a refusal of guarantee metadata keeps the decoder\'s error as its cause', () => {
    let caught: unknown
    try {
      ledgerOutcomeFromExit(exitOf([leader, follower, guarantee(1, 1n, '0x1234')]))
    } catch (error) {
      caught = error
    }
    expect((caught as { code: string }).code).toBe('invalid_outcome')
    expect(((caught as Error).cause as { code: string }).code).toBe('invalid_length')
  })
})

describe('totalOf and findGuarantee', () => {
  test('total is both balances plus every guarantee', () => {
    expect(totalOf(ledgerOutcome({ leader: 7n, follower: 3n, guarantees: [aGuarantee(1, 5n), aGuarantee(2, 4n)] }))).toBe(19n)
    expect(totalOf(ledgerOutcome({ leader: 0n, follower: 0n }))).toBe(0n)
  })

  test('total of the Exit allocations equals totalOf', () => {
    fc.assert(
      fc.property(ledgerOutcomeArb, (o) => {
        const [exit] = ledgerOutcomeToExit(o)
        expect(exit!.allocations.reduce((sum, a) => sum + a.amount, 0n)).toBe(totalOf(o))
      }),
      { numRuns: 100 },
    )
  })

  test('finds a guarantee by target, and nothing for another target', () => {
    const o = ledgerOutcome({ guarantees: [aGuarantee(1, 5n), aGuarantee(2, 4n)] })
    expect(findGuarantee(o, target(2))).toEqual(aGuarantee(2, 4n))
    expect(findGuarantee(o, target(3))).toBeUndefined()
  })
})
