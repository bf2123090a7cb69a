// Beyond issue 13's list (found while writing it): a counterparty that cannot take the honest node's money
// may still strand it. An `objectiveRejected` notice fails the honest node's objective on the peer's word, at
// any point — after the honest node deposited into a DirectFund, or while it closes a ledger — and nothing then
// gets the money back: the engine has no ledger dispute, a failed DirectDefund cannot be started again, and a
// failed DirectFund ignores the peer's later deposit and postfund. These tests state what the owner needs: once
// the peer does its part after all, the honest node finishes and its owner holds everything again.
import { afterEach, expect, test } from 'vitest'
import { directFundId } from '../../src/protocols/directfund/directfund.js'
import { ACCEPT_ANY_PEER } from '../../src/engine/policy.js'
import type { World } from './harness.js'
import { ATTACKER_FUNDS, ETH, HONEST_FUNDS, createWorld, honestDepositsFirst, until } from './harness.js'

const SHARE = 1000n

let world: World | undefined
afterEach(async () => {
  await world?.close()
  world = undefined
})

test('a DirectDefund the counterparty rejected can be started again, and closes the ledger', async () => {
  const w = (world = await createWorld())
  const mallory = w.attacker('mallory')
  const fundId = await w.honest.engine.directFund({ counterparty: mallory.address, myDeposit: SHARE, theirDeposit: SHARE, nonce: 1n })
  const ledger = await mallory.fundLedger(await mallory.acceptLedger(w.honest.address, fundId))
  expect((await w.objectiveDone(fundId)).status).toBe('completed')

  const first = await w.honest.engine.directDefund(ledger.id)
  await mallory.waitFor('signedState', (p) => p.objectiveId === first)
  mallory.send(w.honest.address, [{ kind: 'objectiveRejected', objectiveId: first, code: 'declined', summary: 'not now' }])
  expect((await w.objectiveDone(first)).status).toBe('failed')

  // Later the owner closes again, and this time the counterparty signs.
  const again = await w.honest.engine.directDefund(ledger.id)
  await mallory.cooperateDefund(ledger)
  expect((await w.objectiveDone(again)).status).toBe('completed')
  await w.settle()
  expect(await w.chain.holdings(ledger.id, ETH)).toBe(0n)
  expect(w.honestBalance()).toBe(HONEST_FUNDS)
})

test('a DirectFund the peer "rejects" after the honest node deposited first still completes once the peer pays in', async () => {
  const w = (world = await createWorld({ policy: ACCEPT_ANY_PEER }))
  const mallory = w.attacker('mallory')
  // The honest owner opens [honest, mallory]: the honest node deposits first, as soon as the prefund is signed.
  const { prefund, id } = await honestDepositsFirst(w, mallory, SHARE, 1n)
  mallory.send(w.honest.address, [{ kind: 'objectiveRejected', objectiveId: directFundId(id), code: 'declined', summary: 'changed my mind' }])
  await w.settle()
  expect(w.honestBalance()).toBe(HONEST_FUNDS - SHARE)

  // The peer pays in after all and signs the postfund: the honest node must take it up, or its 1000 stays locked.
  await mallory.deposit(id, ETH, SHARE, SHARE)
  const ledger = await mallory.fundLedger(prefund, { deposit: false, timeoutMs: 2_000 }).catch(async (error: unknown) => {
    const view = w.honest.engine.getObjective(directFundId(id))
    throw new Error(`the honest DirectFund is ${view?.objective.status} (${view?.objective.failure?.summary ?? ''}); its ${SHARE} stays in the channel: ${String(error)}`)
  })
  await until('the honest ledger', () => w.honest.engine.getLedger(id) !== undefined)
  const defund = await w.honest.engine.directDefund(id)
  await mallory.cooperateDefund(ledger)
  expect((await w.objectiveDone(defund)).status).toBe('completed')
  await w.settle()
  expect(w.honestBalance()).toBe(HONEST_FUNDS)
  expect(mallory.balance()).toBe(ATTACKER_FUNDS)
})
