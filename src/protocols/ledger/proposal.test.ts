// Ledger proposals (DESIGN §5, go-nitro's consensus_channel Vars.Add/Remove): adding a guarantee diverts
// funds from the left and right balances, removing one returns them; each applied proposal advances the
// turn by exactly one and conserves the ledger's total. Rules are tables of named cases with error codes;
// the properties run random add/remove sequences against a small independent model.
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import type { Guarantee, LedgerOutcome } from './ledgerOutcome.js'
import { totalOf } from './ledgerOutcome.js'
import type { LedgerVars, Proposal } from './proposal.js'
import { applyProposal, proposalsEqual } from './proposal.js'
import { MAX_GUARANTEES } from './limits.js'
import { RejectedInputError } from '../../core/errors.js'
import type { Actor } from './testLedger.js'
import { add, alice, bob, irene, ledgerOutcome, POSTFUND_TURN, remove, target } from './testLedger.js'
import { codeOf } from '../../../test/hostile.js'

const start: LedgerVars = { turnNum: POSTFUND_TURN, outcome: ledgerOutcome() }
const varsWith = (o: LedgerOutcome, turnNum = 5n): LedgerVars => ({ turnNum, outcome: o })
const guaranteeOf = (n: number, amount: bigint, left: Actor = alice, right: Actor = left === alice ? bob : alice): Guarantee => ({
  target: target(n),
  amount,
  left: left.destination,
  right: right.destination,
})
/** alice 7, bob 8, and guarantee 1 of 5 with alice left: what add(1, 3, 2) makes of a 10/10 ledger. */
const withOne = varsWith(ledgerOutcome({ leader: 7n, follower: 8n, guarantees: [guaranteeOf(1, 5n)] }))

describe('applyProposal: add', () => {
  test('left = leader: the leader gives leftAmount, the follower rightAmount, the guarantee holds both', () => {
    expect(applyProposal(start, add(1, 3n, 2n))).toEqual({
      turnNum: 2n,
      outcome: ledgerOutcome({ leader: 7n, follower: 8n, guarantees: [guaranteeOf(1, 5n, alice, bob)] }),
    })
  })

  test('left = follower: the follower gives leftAmount, the leader rightAmount', () => {
    expect(applyProposal(start, add(1, 3n, 2n, bob))).toEqual({
      turnNum: 2n,
      outcome: ledgerOutcome({ leader: 8n, follower: 7n, guarantees: [guaranteeOf(1, 5n, bob, alice)] }),
    })
  })

  test('a guarantee may take every coin of both sides, or none', () => {
    expect(applyProposal(start, add(1, 10n, 10n)).outcome).toEqual(ledgerOutcome({ leader: 0n, follower: 0n, guarantees: [guaranteeOf(1, 20n)] }))
    expect(applyProposal(start, add(1, 0n, 0n)).outcome).toEqual(ledgerOutcome({ guarantees: [guaranteeOf(1, 0n)] }))
  })

  test.each([
    { name: 'the leader as left cannot afford leftAmount', p: add(1, 11n, 0n), code: 'insufficient_funds' },
    { name: 'the follower as right cannot afford rightAmount', p: add(1, 0n, 11n), code: 'insufficient_funds' },
    { name: 'the follower as left cannot afford leftAmount', p: add(1, 11n, 0n, bob), code: 'insufficient_funds' },
    { name: 'the leader as right cannot afford rightAmount', p: add(1, 0n, 11n, bob), code: 'insufficient_funds' },
    { name: 'neither side can afford its share', p: add(1, 11n, 11n), code: 'insufficient_funds' },
    { name: 'a negative leftAmount', p: add(1, -1n, 2n), code: 'invalid_proposal' },
    { name: 'a negative rightAmount', p: add(1, 2n, -1n), code: 'invalid_proposal' },
    { name: 'a negative leftAmount that would pay for a larger rightAmount', p: add(1, -5n, 15n), code: 'invalid_proposal' },
    { name: 'left === right', p: { ...add(1, 1n, 1n), right: alice.destination } as Proposal, code: 'invalid_proposal' },
    { name: 'left === right', p: { ...add(1, 1n, 1n), right: alice.destination } as Proposal, code: 'invalid_proposal' },
    { name: 'left is neither the leader nor the follower', p: { ...add(1, 1n, 1n), left: irene.destination } as Proposal, code: 'invalid_proposal' },
    { name: 'right is neither the leader nor the follower', p: { ...add(1, 1n, 1n), right: irene.destination } as Proposal, code: 'invalid_proposal' },
  ])('refuses an add when $name ($code)', ({ p, code }) => {
    expect(codeOf(() => applyProposal(start, p))).toBe(code)
  })

  test.each([
    { name: 'the same target', p: add(1, 1n, 1n) },
    { name: 'the same target with other amounts and sides', p: add(1, 0n, 0n, bob) },
  ])('refuses a duplicate guarantee: $name', ({ p }) => {
    expect(codeOf(() => applyProposal(withOne, p))).toBe('duplicate_guarantee')
  })

  test('insufficient_funds names the side, what it has and what it needs', () => {
    let caught: unknown
    try {
      applyProposal(start, add(1, 4n, 12n))
    } catch (error) {
      caught = error
    }
    expect(caught).toMatchObject({ code: 'insufficient_funds', details: { side: 'follower', has: 10n, needs: 12n } })
  })

  test(`holds at most MAX_GUARANTEES (${MAX_GUARANTEES}) guarantees`, () => {
    const full = (count: number) =>
      varsWith(ledgerOutcome({ guarantees: Array.from({ length: count }, (_, i) => guaranteeOf(i + 10, 0n)) }))
    expect(applyProposal(full(MAX_GUARANTEES - 1), add(1, 1n, 1n)).outcome.guarantees).toHaveLength(MAX_GUARANTEES)
    expect(codeOf(() => applyProposal(full(MAX_GUARANTEES), add(1, 1n, 1n)))).toBe('invalid_proposal')
  })

  test('does not change the vars it is given', () => {
    const before = structuredClone(withOne)
    applyProposal(withOne, add(2, 1n, 1n))
    applyProposal(withOne, remove(1, 5n))
    expect(withOne).toEqual(before)
  })
})

describe('applyProposal: remove', () => {
  test('returns leftAmount to the left side and the rest to the right, and drops the guarantee', () => {
    expect(applyProposal(withOne, remove(1, 2n))).toEqual({ turnNum: 6n, outcome: ledgerOutcome({ leader: 9n, follower: 11n }) })
  })

  test('left = follower: the follower gets leftAmount', () => {
    const vars = varsWith(ledgerOutcome({ leader: 8n, follower: 7n, guarantees: [guaranteeOf(1, 5n, bob, alice)] }))
    expect(applyProposal(vars, remove(1, 4n)).outcome).toEqual(ledgerOutcome({ leader: 9n, follower: 11n }))
  })

  test('leftAmount may be the whole guarantee or nothing', () => {
    expect(applyProposal(withOne, remove(1, 5n)).outcome).toEqual(ledgerOutcome({ leader: 12n, follower: 8n }))
    expect(applyProposal(withOne, remove(1, 0n)).outcome).toEqual(ledgerOutcome({ leader: 7n, follower: 13n }))
  })

  test('removes only its target; the others keep their order', () => {
    const three = varsWith(ledgerOutcome({ leader: 0n, follower: 0n, guarantees: [guaranteeOf(1, 1n), guaranteeOf(2, 2n), guaranteeOf(3, 3n)] }))
    expect(applyProposal(three, remove(2, 1n)).outcome.guarantees).toEqual([guaranteeOf(1, 1n), guaranteeOf(3, 3n)])
  })

  test('a removed target may be guaranteed again', () => {
    const removed = applyProposal(withOne, remove(1, 5n))
    expect(applyProposal(removed, add(1, 1n, 1n)).outcome.guarantees).toEqual([guaranteeOf(1, 2n)])
  })

  test.each([
    { name: 'no guarantee for the target', p: remove(2, 0n), code: 'unknown_guarantee' },
    { name: 'leftAmount above the guarantee', p: remove(1, 6n), code: 'invalid_proposal' },
    { name: 'a negative leftAmount', p: remove(1, -1n), code: 'invalid_proposal' },
  ])('refuses a remove with $name ($code)', ({ p, code }) => {
    expect(codeOf(() => applyProposal(withOne, p))).toBe(code)
  })

  test('refuses to remove from a ledger without guarantees', () => {
    expect(codeOf(() => applyProposal(start, remove(1, 0n)))).toBe('unknown_guarantee')
  })
})

describe('proposalsEqual', () => {
  const a = add(1, 3n, 2n)
  test.each([
    { name: 'the same add', x: a, y: add(1, 3n, 2n), equal: true },
    { name: 'adds for other targets', x: a, y: add(2, 3n, 2n), equal: false },
    { name: 'adds with another leftAmount', x: a, y: add(1, 4n, 2n), equal: false },
    { name: 'adds with another rightAmount', x: a, y: add(1, 3n, 1n), equal: false },
    { name: 'adds with the sides swapped', x: a, y: add(1, 3n, 2n, bob), equal: false },
    { name: 'adds with another right', x: a, y: { ...a, right: irene.destination } as Proposal, equal: false },
    { name: 'the same remove', x: remove(1, 2n), y: remove(1, 2n), equal: true },
    { name: 'removes of other targets', x: remove(1, 2n), y: remove(2, 2n), equal: false },
    { name: 'removes with another leftAmount', x: remove(1, 2n), y: remove(1, 3n), equal: false },
    { name: 'an add and a remove of one target', x: a, y: remove(1, 3n), equal: false },
    { name: 'a remove and an add of one target', x: remove(1, 3n), y: a, equal: false },
  ])('$name: equal = $equal', ({ x, y, equal }) => {
    expect(proposalsEqual(x, y)).toBe(equal)
    expect(proposalsEqual(y, x)).toBe(equal)
  })
})

// ---- properties ----

type Step =
  | { readonly kind: 'add'; readonly n: number; readonly leftAmount: bigint; readonly rightAmount: bigint; readonly leftIsLeader: boolean }
  | { readonly kind: 'remove'; readonly n: number; readonly leftAmount: bigint }

/** Mostly valid steps over a few targets, with some negative and some unaffordable amounts. */
const stepAmount = fc.oneof({ arbitrary: fc.bigInt({ min: 0n, max: 6n }), weight: 9 }, { arbitrary: fc.constant(-1n), weight: 1 })
const stepTarget = fc.integer({ min: 0, max: 3 })
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), n: stepTarget, leftAmount: stepAmount, rightAmount: stepAmount, leftIsLeader: fc.boolean() }),
  fc.record({ kind: fc.constant('remove' as const), n: stepTarget, leftAmount: stepAmount }),
)
const stepsArb = fc.array(stepArb, { minLength: 5, maxLength: 40 })
const balance = fc.bigInt({ min: 0n, max: 20n })
const proposalOf = (s: Step): Proposal => (s.kind === 'add' ? add(s.n, s.leftAmount, s.rightAmount, s.leftIsLeader ? alice : bob) : remove(s.n, s.leftAmount))

/** An independent model of the ledger: balances by actor, guarantees by target. */
interface Model {
  readonly balance: { readonly alice: bigint; readonly bob: bigint }
  readonly guarantees: ReadonlyMap<number, { readonly amount: bigint; readonly leftIsLeader: boolean }>
}

/** The model's next state, or undefined if the ledger must refuse the step. */
function modelStep(m: Model, s: Step): Model | undefined {
  if (s.kind === 'add') {
    if (s.leftAmount < 0n || s.rightAmount < 0n || m.guarantees.has(s.n)) return undefined
    const alicePays = s.leftIsLeader ? s.leftAmount : s.rightAmount
    const bobPays = s.leftIsLeader ? s.rightAmount : s.leftAmount
    if (alicePays > m.balance.alice || bobPays > m.balance.bob) return undefined
    const guarantees = new Map(m.guarantees).set(s.n, { amount: s.leftAmount + s.rightAmount, leftIsLeader: s.leftIsLeader })
    return { balance: { alice: m.balance.alice - alicePays, bob: m.balance.bob - bobPays }, guarantees }
  }
  const g = m.guarantees.get(s.n)
  if (!g || s.leftAmount < 0n || s.leftAmount > g.amount) return undefined
  const aliceGets = g.leftIsLeader ? s.leftAmount : g.amount - s.leftAmount
  const guarantees = new Map(m.guarantees)
  guarantees.delete(s.n)
  return { balance: { alice: m.balance.alice + aliceGets, bob: m.balance.bob + g.amount - aliceGets }, guarantees }
}

function outcomeOfModel(m: Model): LedgerOutcome {
  const guarantees = [...m.guarantees.entries()]
    .map(([n, g]) => guaranteeOf(n, g.amount, g.leftIsLeader ? alice : bob))
    .sort((a, b) => (a.target < b.target ? -1 : 1))
  return ledgerOutcome({ leader: m.balance.alice, follower: m.balance.bob, guarantees })
}

describe('properties', () => {
  test('any sequence of adds and removes: accepted exactly when the model accepts, with the model\'s outcome', () => {
    let accepted = 0
    let refused = 0
    fc.assert(
      fc.property(balance, balance, stepsArb, (leader, follower, steps) => {
        let vars: LedgerVars = { turnNum: POSTFUND_TURN, outcome: ledgerOutcome({ leader, follower }) }
        let model: Model = { balance: { alice: leader, bob: follower }, guarantees: new Map() }
        for (const s of steps) {
          const expected = modelStep(model, s)
          if (!expected) {
            expect(() => applyProposal(vars, proposalOf(s))).toThrow(RejectedInputError)
            refused++
            continue
          }
          vars = applyProposal(vars, proposalOf(s))
          model = expected
          accepted++
          expect(vars.outcome).toEqual(outcomeOfModel(model))
        }
      }),
      { numRuns: 300 },
    )
    // Both branches were exercised: the property is not vacuous.
    expect(accepted).toBeGreaterThan(500)
    expect(refused).toBeGreaterThan(500)
  })

  test('any sequence of valid adds and removes keeps the total, and the turn grows by exactly one per proposal', () => {
    fc.assert(
      fc.property(balance, balance, stepsArb, (leader, follower, steps) => {
        let vars: LedgerVars = { turnNum: POSTFUND_TURN, outcome: ledgerOutcome({ leader, follower }) }
        const total = totalOf(vars.outcome)
        for (const s of steps) {
          let next: LedgerVars
          try {
            next = applyProposal(vars, proposalOf(s))
          } catch (error) {
            if (error instanceof RejectedInputError) continue
            throw error
          }
          expect(next.turnNum).toBe(vars.turnNum + 1n)
          expect(totalOf(next.outcome)).toBe(total)
          expect(next.outcome.leader.amount >= 0n && next.outcome.follower.amount >= 0n).toBe(true)
          vars = next
        }
      }),
      { numRuns: 300 },
    )
  })

  test('guarantees stay sorted by target, whatever order they were added in', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 2 ** 31 }), { minLength: 1, maxLength: 12 }), (ns) => {
        let vars = start
        for (const n of ns) vars = applyProposal(vars, add(n, 0n, 0n, n % 2 === 0 ? alice : bob))
        const targets = vars.outcome.guarantees.map((g) => g.target)
        expect(targets).toEqual([...ns].sort((a, b) => a - b).map(target))
      }),
      { numRuns: 200 },
    )
  })

  test('removing a guarantee with the split it was added with restores the outcome before it', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 7n }), fc.bigInt({ min: 0n, max: 7n }), fc.boolean(), (l, r, leftIsLeader) => {
        const added = applyProposal(withOne, add(2, l, r, leftIsLeader ? alice : bob))
        const removed = applyProposal(added, remove(2, l))
        expect(removed).toEqual({ turnNum: withOne.turnNum + 2n, outcome: withOne.outcome })
      }),
      { numRuns: 100 },
    )
  })
})
