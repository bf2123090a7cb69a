// Attack 2 (issue 13): only the channel's own asset, confirmed on chain, counts as funding (DESIGN §5). A
// counterparty deposits a worthless token (JUNK, a second asset on the MemoryChain) instead of ETH into an ETH
// ledger, hoping the honest node counts it: deposits its own share early, or signs the postfund (turn 1) of a
// ledger the attacker never paid into. And during a DirectDefund a zero-amount deposit of JUNK into the
// ledger's channel (which the real adjudicator accepts; ContractChain emits its event) must not pass for the
// payout: the honest DirectDefund completes only once the ledger's ETH is paid out.
import { afterEach, expect, test } from 'vitest'
import type { State } from '../../src/core/state.js'
import type { DirectFund } from '../../src/protocols/directfund/directfund.js'
import { directFundId } from '../../src/protocols/directfund/directfund.js'
import { channelId } from '../../src/core/channelId.js'
import { fixedPart } from '../../src/core/state.js'
import { ACCEPT_ANY_PEER } from '../../src/engine/policy.js'
import type { Attacker, World } from './harness.js'
import { ATTACKER_FUNDS, ETH, HONEST_FUNDS, JUNK, createWorld, honestDepositsFirst, statesSignedBy } from './harness.js'

const SHARE = 1000n

let world: World | undefined
afterEach(async () => {
  await world?.close()
  world = undefined
})

function directFundOf(w: World, prefund: State): DirectFund {
  const view = w.honest.engine.getObjective(directFundId(channelId(fixedPart(prefund))))
  expect(view?.objective.kind).toBe('directfund')
  return view!.objective as DirectFund
}

function postfundsSigned(w: World, mallory: Attacker): State[] {
  return statesSignedBy(mallory, w.honest.address).filter((s) => s.turnNum === 1n)
}

/** The honest end of a ledger that did get funded: it closes and everyone has their money back. */
async function closeAndCheckFunds(w: World, mallory: Attacker, prefund: State): Promise<void> {
  const ledger = await mallory.fundLedger(prefund, { deposit: false })
  expect((await w.objectiveDone(directFundId(ledger.id))).status).toBe('completed')
  const id = await w.honest.engine.directDefund(ledger.id)
  await mallory.cooperateDefund(ledger)
  expect((await w.objectiveDone(id)).status).toBe('completed')
  await w.settle()
  expect(await w.chain.holdings(ledger.id, ETH)).toBe(0n)
  expect(w.honestBalance()).toBe(HONEST_FUNDS)
  expect(mallory.balance(ETH)).toBe(ATTACKER_FUNDS)
}

test('the attacker deposits JUNK where its ETH share should be: the honest node does not deposit, and signs no postfund', async () => {
  const w = (world = await createWorld({ policy: ACCEPT_ANY_PEER }))
  const mallory = w.attacker('mallory')
  // [mallory, honest]: the honest node deposits once the holdings cover mallory's 1000 of ETH.
  const prefund = mallory.openLedger(w.honest.address, { myIndex: 0, amounts: [SHARE, SHARE], nonce: 1n })
  const id = channelId(fixedPart(prefund))
  await mallory.waitFor('signedState', (p) => p.signedState.state.turnNum === 0n && p.signedState.signatures[1] != null)
  await mallory.deposit(id, JUNK, SHARE, 0n)
  await w.settle()

  expect(w.honestBalance()).toBe(HONEST_FUNDS)
  expect(await w.chain.holdings(id, ETH)).toBe(0n)
  const objective = directFundOf(w, prefund)
  expect(objective.status).toBe('approved')
  expect(objective.depositSubmitted).toBe(false)
  expect(objective.depositFailures).toBe(0)
  expect(w.honest.engine.getObjective(objective.id)!.waitingFor).toBe('myTurnToDeposit')
  expect(postfundsSigned(w, mallory)).toEqual([])

  // Real ETH: now the honest node deposits, and the ledger opens and closes as usual.
  await mallory.deposit(id, ETH, SHARE, 0n)
  await closeAndCheckFunds(w, mallory, prefund)
})

test('JUNK "covering" the attacker\'s share after the honest node deposited first: no postfund until real ETH arrives', async () => {
  const w = (world = await createWorld({ policy: ACCEPT_ANY_PEER }))
  const mallory = w.attacker('mallory')
  // The honest owner opens [honest, mallory]: the honest node deposits first (its safety threshold is 0).
  const { prefund, id } = await honestDepositsFirst(w, mallory, SHARE, 2n)
  // JUNK holdings equal to the whole outcome (2000): "fully funded", if the asset is not checked.
  await mallory.deposit(id, JUNK, 2n * SHARE, 0n)
  await w.settle()

  expect(postfundsSigned(w, mallory)).toEqual([])
  expect(directFundOf(w, prefund).status).toBe('approved')
  expect(w.honest.engine.getLedger(id)).toBeUndefined()
  expect(w.honestBalance()).toBe(HONEST_FUNDS - SHARE)

  await mallory.deposit(id, ETH, SHARE, SHARE)
  await closeAndCheckFunds(w, mallory, prefund)
})

test('a zero-amount JUNK deposit into the ledger during its DirectDefund does not pass for the payout', async () => {
  const w = (world = await createWorld())
  const mallory = w.attacker('mallory')
  // The honest node opens [honest, mallory]: as participant 0 it concludes and withdraws for both.
  const fundId = await w.honest.engine.directFund({ counterparty: mallory.address, myDeposit: SHARE, theirDeposit: SHARE, nonce: 3n })
  const ledger = await mallory.fundLedger(await mallory.acceptLedger(w.honest.address))
  expect((await w.objectiveDone(fundId)).status).toBe('completed')

  const defundId = await w.honest.engine.directDefund(ledger.id)
  await mallory.waitFor('signedState', (p) => p.objectiveId === defundId && p.signedState.signatures[0] != null)
  // Before countersigning the final state: Deposited(ledger, JUNK, nowHeld = 0).
  await w.contract.zeroDeposit(ledger.id, JUNK)
  await w.settle()
  await mallory.cooperateDefund(ledger)

  const done = await w.objectiveDone(defundId)
  // Whenever it says completed, the ledger's ETH has been paid out — to the honest owner in full.
  expect(done.status).toBe('completed')
  expect(await w.chain.holdings(ledger.id, ETH)).toBe(0n)
  expect(w.honestBalance()).toBe(HONEST_FUNDS)
  expect(mallory.balance(ETH)).toBe(ATTACKER_FUNDS)
})
