// AppFund (appFund.ts, issue 7): alice, bob and carol (participants 0, 1, 2) fund an app channel directly
// with unequal deposits 3, 5 and 2 (thresholds 0, 3 and 8; total 10), each participant's crank checked at
// holdings below, inside and above its share; a participant whose deposit is 0; deposits the chain refuses
// up to the limit; a fast-check property of the deposit order; and ledger funding between alice and bob.
// Expected deposits and proposals are worked out by hand from the deposits, not copied from the code.
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import type { Address, Bytes32 } from '../../core/types.js'
import { channelId } from '../../core/channelId.js'
import { codeOf } from '../../../test/hostile.js'
import type { Effect, Failure } from '../objective.js'
import type { AppDefinition } from './appData.js'
import type { AppFund, AppFundWaitingFor, GuaranteeView } from './appFund.js'
import { MAX_APP_DEPOSIT_ATTEMPTS, appFundId, crank, newAppFund, update } from './appFund.js'
import type { Actor } from './testApps.js'
import { ETH, alice, bob, carol, counterApp, dave, definitionOf, irene } from './testApps.js'
import { toBytes32 } from '../../core/canonical.js'

const three = [alice, bob, carol]
const DIRECT = definitionOf(counterApp, three, { funding: 'direct', deposits: [3n, 5n, 2n] })
const DIRECT_ID = channelId(DIRECT.fixed)
const LEDGER = definitionOf(counterApp, [alice, bob], { funding: 'ledger', deposits: [7n, 4n] })
const LEDGER_ID = channelId(LEDGER.fixed)

// Destinations written out by hand: 12 zero bytes, then the address.
const destinationOf = (a: Address): Bytes32 => toBytes32(`0x${'0'.repeat(24)}${a.slice(2)}`)

const fundOf = (who: Actor, holdings = 0n, definition: AppDefinition = DIRECT) => newAppFund(channelId(definition.fixed), definition, who.address, holdings)
const withHoldings = (o: AppFund, amount: bigint) => update(o, { kind: 'holdings', amount })
const depositFailed = (o: AppFund, summary = 'expected held changed') => update(o, { kind: 'depositFailed', code: 'deposit_refused', summary })
const depositTx = (expectedHeld: bigint, amount: bigint, id: Bytes32 = DIRECT_ID): Effect => ({
  kind: 'submit',
  tx: { kind: 'deposit', channelId: id.toLowerCase() as Bytes32, asset: ETH, expectedHeld, amount },
})
const pending: GuaranteeView = { guaranteed: false, failure: null }

describe('newAppFund', () => {
  test('starts approved, with my index, the deposits and nothing requested', () => {
    const o = fundOf(bob, 4n)
    expect(o).toMatchObject({
      id: `appfund:${DIRECT_ID.toLowerCase()}`,
      kind: 'appfund',
      status: 'approved',
      failure: null,
      funding: 'direct',
      myIndex: 1,
      asset: ETH,
      deposits: [3n, 5n, 2n],
      holdings: 4n,
      depositSubmitted: false,
      depositFailures: 0,
      guaranteeRequested: false,
    })
    expect(appFundId(DIRECT_ID)).toBe(o.id)
  })

  test.each([
    { name: 'a channel funded by nobody', make: () => newAppFund(DIRECT_ID, { ...DIRECT, funding: 'none' }, alice.address, 0n) },
    { name: 'a channel I am not a participant of', make: () => newAppFund(DIRECT_ID, DIRECT, irene.address, 0n) },
    { name: 'ledger funding with three participants', make: () => newAppFund(DIRECT_ID, { ...DIRECT, funding: 'ledger' }, alice.address, 0n) },
  ])('refuses $name (our bug: invariant)', ({ make }) => {
    expect(codeOf(make)).toBe('invariant')
  })
})

describe('direct funding, deposits 3, 5, 2', () => {
  // deposit: the amount each participant's crank deposits at these holdings (expectedHeld = holdings), or null.
  const cases: { who: Actor; holdings: bigint; waitingFor: AppFundWaitingFor; deposit: bigint | null }[] = [
    { who: alice, holdings: 0n, waitingFor: 'funding', deposit: 3n },
    { who: alice, holdings: 1n, waitingFor: 'funding', deposit: 2n },
    { who: alice, holdings: 3n, waitingFor: 'funding', deposit: null },
    { who: alice, holdings: 8n, waitingFor: 'funding', deposit: null },
    { who: alice, holdings: 10n, waitingFor: 'nothing', deposit: null },
    { who: bob, holdings: 0n, waitingFor: 'myTurnToDeposit', deposit: null },
    { who: bob, holdings: 2n, waitingFor: 'myTurnToDeposit', deposit: null },
    { who: bob, holdings: 3n, waitingFor: 'funding', deposit: 5n },
    { who: bob, holdings: 7n, waitingFor: 'funding', deposit: 1n },
    { who: bob, holdings: 8n, waitingFor: 'funding', deposit: null },
    { who: bob, holdings: 12n, waitingFor: 'nothing', deposit: null },
    { who: carol, holdings: 0n, waitingFor: 'myTurnToDeposit', deposit: null },
    { who: carol, holdings: 7n, waitingFor: 'myTurnToDeposit', deposit: null },
    { who: carol, holdings: 8n, waitingFor: 'funding', deposit: 2n },
    { who: carol, holdings: 9n, waitingFor: 'funding', deposit: 1n },
    { who: carol, holdings: 10n, waitingFor: 'nothing', deposit: null },
  ]

  test.each(cases)('$who.name at holdings $holdings: $waitingFor, deposits $deposit', ({ who, holdings, waitingFor, deposit }) => {
    const cranked = crank(withHoldings(fundOf(who), holdings), null)
    expect(cranked.waitingFor).toBe(waitingFor)
    expect(cranked.effects).toEqual(deposit === null ? [] : [depositTx(holdings, deposit)])
    expect(cranked.objective.depositSubmitted).toBe(deposit !== null)
    expect(cranked.objective.status).toBe(waitingFor === 'nothing' ? 'completed' : 'approved')
    // Cranking again asks for nothing new and changes nothing.
    const again = crank(cranked.objective, null)
    expect(again.effects).toEqual([])
    expect(again.waitingFor).toBe(waitingFor)
    expect(again.objective).toEqual(cranked.objective)
  })

  test('a whole run: each participant deposits exactly once, in participant order, and all complete at 10', () => {
    let objectives = three.map((a) => fundOf(a))
    const deposits: { who: string; effect: Effect }[] = []
    const step = (holdings: bigint) => {
      objectives = objectives.map((o, i) => {
        const cranked = crank(withHoldings(o, holdings), null)
        for (const effect of cranked.effects) deposits.push({ who: three[i]!.name, effect })
        return cranked.objective
      })
      return objectives.map((o) => crank(o, null).waitingFor)
    }
    expect(step(0n)).toEqual(['funding', 'myTurnToDeposit', 'myTurnToDeposit'])
    expect(step(0n)).toEqual(['funding', 'myTurnToDeposit', 'myTurnToDeposit']) // the same holdings again
    expect(step(3n)).toEqual(['funding', 'funding', 'myTurnToDeposit'])
    expect(step(8n)).toEqual(['funding', 'funding', 'funding'])
    expect(step(10n)).toEqual(['nothing', 'nothing', 'nothing'])
    expect(deposits).toEqual([
      { who: 'alice', effect: depositTx(0n, 3n) },
      { who: 'bob', effect: depositTx(3n, 5n) },
      { who: 'carol', effect: depositTx(8n, 2n) },
    ])
    expect(objectives.map((o) => o.status)).toEqual(['completed', 'completed', 'completed'])
  })

  test('a submitted deposit is not repeated when the holdings move inside my share', () => {
    const submitted = crank(withHoldings(fundOf(bob), 3n), null)
    expect(submitted.effects).toEqual([depositTx(3n, 5n)])
    const later = crank(withHoldings(submitted.objective, 6n), null)
    expect(later.effects).toEqual([])
    expect(later.waitingFor).toBe('funding')
  })

  test('a participant whose deposit is 0 never deposits and completes with the others', () => {
    const definition = definitionOf(counterApp, three, { funding: 'direct', deposits: [4n, 0n, 6n] })
    const id = channelId(definition.fixed)
    for (const holdings of [0n, 2n, 4n, 7n]) {
      const cranked = crank(fundOf(bob, holdings, definition), null)
      expect(cranked.effects).toEqual([])
      expect(cranked.waitingFor).toBe(holdings < 4n ? 'myTurnToDeposit' : 'funding')
    }
    expect(crank(fundOf(bob, 10n, definition), null).objective.status).toBe('completed')
    // Carol's turn starts where alice's share ends: bob's zero share does not hold her up.
    expect(crank(fundOf(carol, 4n, definition), null).effects).toEqual([depositTx(4n, 6n, id)])
  })

  test(`a deposit refused ${MAX_APP_DEPOSIT_ATTEMPTS} times fails the objective; before that it is retried from the holdings seen`, () => {
    expect(MAX_APP_DEPOSIT_ATTEMPTS).toBe(3)
    const first = crank(withHoldings(fundOf(bob), 3n), null)
    expect(first.effects).toEqual([depositTx(3n, 5n)])

    const once = depositFailed(first.objective)
    expect(once).toMatchObject({ status: 'approved', failure: null, depositSubmitted: false, depositFailures: 1 })
    const second = crank(withHoldings(once, 4n), null) // someone's stray wei arrived meanwhile
    expect(second.effects).toEqual([depositTx(4n, 4n)])

    const twice = depositFailed(second.objective)
    expect(twice).toMatchObject({ status: 'approved', depositFailures: 2 })
    const third = crank(twice, null)
    expect(third.effects).toEqual([depositTx(4n, 4n)])

    const failed = depositFailed(third.objective, 'insufficient funds')
    expect(failed.status).toBe('failed')
    expect(failed.failure).toEqual({ code: 'deposit_refused', summary: 'deposit failed: insufficient funds' })
    const after = crank(failed, null)
    expect(after.effects).toEqual([])
    expect(after.waitingFor).toBe('nothing')
    expect(after.objective.status).toBe('failed')
    expect(depositFailed(failed, 'a later report')).toEqual(failed) // the first reason stays
  })

  test('a failure reported after completion changes nothing', () => {
    const done = crank(withHoldings(fundOf(bob), 10n), null).objective
    expect(done.status).toBe('completed')
    expect(depositFailed(depositFailed(depositFailed(done)))).toEqual(done)
  })

  test('a completed objective asks for nothing even if the holdings fall', () => {
    const done = crank(fundOf(alice, 10n), null).objective
    expect(done.status).toBe('completed')
    const later = crank(withHoldings(done, 0n), null)
    expect(later.effects).toEqual([])
    expect(later.waitingFor).toBe('nothing')
  })

  test('property: exactly one participant is asked to deposit below the total, none at it, and never past it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 0n, max: 20n }), { minLength: 2, maxLength: 5 }).chain((deposits) => {
          const total = deposits.reduce((a, b) => a + b, 0n)
          return fc.tuple(fc.constant(deposits), fc.bigInt({ min: 0n, max: total + 3n }))
        }),
        ([deposits, holdings]) => {
          const actors = [alice, bob, carol, dave, irene].slice(0, deposits.length)
          const definition = definitionOf(counterApp, actors, { funding: 'direct', deposits })
          const total = deposits.reduce((a, b) => a + b, 0n)
          const asked: { index: number; expectedHeld: bigint; amount: bigint }[] = []
          actors.forEach((a, index) => {
            for (const effect of crank(fundOf(a, holdings, definition), null).effects) {
              if (effect.kind !== 'submit' || effect.tx.kind !== 'deposit') return expect.fail(`unexpected effect ${effect.kind}`)
              asked.push({ index, expectedHeld: effect.tx.expectedHeld, amount: effect.tx.amount })
            }
          })
          expect(asked.length).toBe(holdings < total ? 1 : 0)
          for (const { index, expectedHeld, amount } of asked) {
            let before = 0n
            for (let i = 0; i < index; i++) before += deposits[i]!
            expect(before <= holdings && holdings < before + deposits[index]!).toBe(true)
            expect(expectedHeld).toBe(holdings)
            expect(amount > 0n).toBe(true)
            expect(holdings + amount <= total).toBe(true)
            expect(holdings + amount).toBe(before + deposits[index]!)
          }
        },
      ),
      { numRuns: 200 },
    )
  })
})

describe('ledger funding, alice 7 and bob 4', () => {
  const proposal = {
    kind: 'add',
    target: LEDGER_ID.toLowerCase(),
    left: destinationOf(alice.address),
    right: destinationOf(bob.address),
    leftAmount: 7n,
    rightAmount: 4n,
  }

  test.each([
    { me: alice, counterparty: bob },
    { me: bob, counterparty: alice },
  ])('$me.name asks its ledger with $counterparty.name for the same guarantee, once', ({ me, counterparty }) => {
    const first = crank(fundOf(me, 0n, LEDGER), pending)
    expect(first.effects).toEqual([{ kind: 'updateLedger', counterparty: counterparty.address, proposal }])
    expect(first.waitingFor).toBe('guarantee')
    expect(first.objective.guaranteeRequested).toBe(true)
    const again = crank(first.objective, pending)
    expect(again.effects).toEqual([])
    expect(again.waitingFor).toBe('guarantee')
  })

  test('on-chain holdings do not matter to ledger funding', () => {
    expect(crank(fundOf(alice, 11n, LEDGER), pending).waitingFor).toBe('guarantee')
  })

  test('completes when the ledger holds the guarantee', () => {
    const requested = crank(fundOf(alice, 0n, LEDGER), pending).objective
    const done = crank(requested, { guaranteed: true, failure: null })
    expect(done.effects).toEqual([])
    expect(done.waitingFor).toBe('nothing')
    expect(done.objective.status).toBe('completed')
  })

  test('fails with the ledger\'s failure, and asks for nothing more', () => {
    const failure: Failure = { code: 'insufficient_funds', summary: 'the ledger cannot cover 7' }
    const requested = crank(fundOf(bob, 0n, LEDGER), pending).objective
    const failed = crank(requested, { guaranteed: false, failure })
    expect(failed.effects).toEqual([])
    expect(failed.waitingFor).toBe('nothing')
    expect(failed.objective).toMatchObject({ status: 'failed', failure })
    expect(crank(failed.objective, pending).effects).toEqual([])
  })

  test('fails without asking when the ledger already cannot make the guarantee', () => {
    const failure: Failure = { code: 'no_ledger', summary: 'no ledger with bob' }
    const failed = crank(fundOf(alice, 0n, LEDGER), { guaranteed: false, failure })
    expect(failed.effects).toEqual([])
    expect(failed.objective.failure).toEqual(failure)
  })

  test('a ledger-funded objective cranked without its ledger view trips the assertion', () => {
    expect(codeOf(() => crank(fundOf(alice, 0n, LEDGER), null))).toBe('invariant')
  })
})
