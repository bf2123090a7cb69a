// Issue 13 on anvil with our contracts: the fake-token deposit and the stranger deposit are refused. The same
// attacks as onlyRealMoney.test.ts and strangers.test.ts, but the honest node's chain is a ViemChainService on
// a real anvil running our NitroAdjudicator, and the attacker (harness.ts's Attacker, anvilWorld.ts's adapter)
// deposits through its own funded account: ETH, or a worthless ERC20 it deployed itself (the adjudicator takes
// a deposit of any token into any channel id). Each refusal is checked where the money is: the honest node's
// transaction account sent no transaction (nonce still 0) and holds its ETH to the wei, its channel address
// too. Also on the real adjudicator: the fake token "covering" the whole outcome after the honest node
// deposited first (no postfund), and a zero-amount deposit of it during a DirectDefund (no early completion).
// A positive control (real ETH: the ledger opens and closes, both get their ETH back to the wei, gas
// accounted from receipts) shows the checks can fail.
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import type { Address } from '../../src/core/types.js'
import type { State } from '../../src/core/state.js'
import { channelId } from '../../src/core/channelId.js'
import { fixedPart } from '../../src/core/state.js'
import { createSigner } from '../../src/core/signer.js'
import type { DirectFund } from '../../src/protocols/directfund/directfund.js'
import { directFundId } from '../../src/protocols/directfund/directfund.js'
import { ACCEPT_ANY_PEER } from '../../src/engine/policy.js'
import { ETH, keyOf, madeUpTarget, statesSignedBy, until } from './harness.js'
import { Engine } from '../../src/engine/engine.js'
import { addressToDestination } from '../../src/core/outcome.js'
import { hashState } from '../../src/core/hashState.js'
import { hashChallenge } from '../../src/core/signState.js'
import { appDisputeId } from '../../src/protocols/app/appDispute.js'
import type { AnvilAttacker, AnvilChain, AnvilWorld } from './anvilWorld.js'
import { TX_FUNDS, createAnvilWorld, ledgerThatPaidHonest, startAnvilChain } from './anvilWorld.js'

/** A share of a ledger: 0.1 ETH. */
const SHARE = 10n ** 17n

let chain: AnvilChain
let world: AnvilWorld | undefined

beforeAll(async () => {
  chain = await startAnvilChain()
}, 60_000)
afterAll(async () => {
  await chain?.stop()
})
afterEach(async () => {
  await world?.close()
  world = undefined
})

/** What the honest node owns on chain: its transaction account (nonce and ETH) and its channel address's ETH. */
async function honestAccounts(w: AnvilWorld) {
  return {
    nonce: await chain.nonce(w.honest.txAccount),
    tx: await chain.balance(w.honest.txAccount),
    channel: await chain.balance(w.honest.address),
  }
}

/** Nothing of the honest node's moved: no transaction sent (so no gas), every wei where it was. */
async function expectUntouched(w: AnvilWorld): Promise<void> {
  expect(await honestAccounts(w)).toEqual({ nonce: 0, tx: TX_FUNDS, channel: 0n })
}

function directFundOf(w: AnvilWorld, prefund: State): DirectFund {
  const view = w.honest.engine.getObjective(directFundId(channelId(fixedPart(prefund))))
  expect(view?.objective.kind).toBe('directfund')
  return view!.objective as DirectFund
}

function postfundsSigned(w: AnvilWorld, attacker: AnvilAttacker): State[] {
  return statesSignedBy(attacker, w.honest.address).filter((s) => s.turnNum === 1n)
}

test('fake token: the attacker deposits a worthless ERC20 of its own where its ETH share should be; the honest node neither deposits nor signs the postfund', async () => {
  const w = (world = await createAnvilWorld(chain, { label: 'fake-token', policy: ACCEPT_ANY_PEER }))
  const mallory = await w.attacker('mallory')
  const junk = await mallory.deployWorthlessToken(10n * SHARE)
  await expectUntouched(w)

  // [mallory, honest], an ETH ledger: the honest node deposits once the holdings cover mallory's SHARE of ETH.
  const prefund = mallory.openLedger(w.honest.address, { myIndex: 0, amounts: [SHARE, SHARE], nonce: 1n })
  const id = channelId(fixedPart(prefund))
  const objectiveId = directFundId(id)
  await mallory.waitFor('signedState', (p) => p.objectiveId === objectiveId && p.signedState.state.turnNum === 0n && p.signedState.signatures[1] != null)

  // SHARE of JUNK into the ETH ledger: approve + deposit on the real adjudicator, from mallory's own account.
  await mallory.deposit(id, junk, SHARE, 0n)
  expect(await chain.holdings(id, junk)).toBe(SHARE)
  expect(await mallory.txBalance(junk)).toBe(9n * SHARE)
  // The honest node saw the Deposited event (it records the JUNK holdings under JUNK's own key)...
  await until('the honest node sees the JUNK deposit', () => w.honest.engine.holdings(id, junk) === SHARE, 10_000)
  expect(w.honest.engine.holdings(id, ETH)).toBe(0n)
  // ...and mallory claims the ledger is funded: its postfund signature.
  mallory.send(w.honest.address, [{ kind: 'signedState', objectiveId, signedState: mallory.signedState({ ...prefund, turnNum: 1n }) }])
  await w.settle(600)

  await expectUntouched(w)
  expect(await chain.holdings(id, ETH)).toBe(0n)
  const objective = directFundOf(w, prefund)
  expect(objective.status).toBe('approved')
  expect(objective.depositSubmitted).toBe(false)
  expect(objective.depositFailures).toBe(0)
  expect(w.honest.engine.getObjective(objectiveId)!.waitingFor).toBe('myTurnToDeposit')
  expect(postfundsSigned(w, mallory)).toEqual([])
  expect(w.honest.engine.getLedger(id)).toBeUndefined()
}, 30_000)

test('fake token "covering" the attacker\'s share after the honest node deposited first: no postfund until real ETH arrives; then it opens and closes, ETH back to the wei', async () => {
  const w = (world = await createAnvilWorld(chain, { label: 'junk-cover' }))
  const mallory = await w.attacker('mallory')
  const junk = await mallory.deployWorthlessToken(10n * SHARE)
  const startBlock = await chain.client.getBlockNumber()
  // The honest owner opens [honest, mallory]: the honest node deposits first (its safety threshold is 0).
  const objectiveId = await w.honest.engine.directFund({ counterparty: mallory.address, myDeposit: SHARE, theirDeposit: SHARE, nonce: 1n })
  const prefund = await mallory.acceptLedger(w.honest.address, objectiveId)
  const id = channelId(fixedPart(prefund))
  await until('the honest node sees its own deposit', () => w.honest.engine.holdings(id, ETH) === SHARE, 10_000)
  // JUNK holdings equal to the whole outcome (2 SHARE): "fully funded", if the asset were not checked.
  await mallory.deposit(id, junk, 2n * SHARE, 0n)
  await until('the honest node sees the JUNK deposit', () => w.honest.engine.holdings(id, junk) === 2n * SHARE, 10_000)
  mallory.send(w.honest.address, [{ kind: 'signedState', objectiveId, signedState: mallory.signedState({ ...prefund, turnNum: 1n }) }])
  await w.settle(600)

  expect(postfundsSigned(w, mallory)).toEqual([])
  expect(directFundOf(w, prefund).status).toBe('approved')
  expect(w.honest.engine.getLedger(id)).toBeUndefined()
  expect(await chain.holdings(id, ETH)).toBe(SHARE)
  expect(await chain.nonce(w.honest.txAccount)).toBe(1) // its deposit, nothing more

  // Real ETH: the ledger opens; the honest owner closes it (as participant 0 it concludes and withdraws).
  await mallory.deposit(id, ETH, SHARE, SHARE)
  const ledger = await mallory.fundLedger(prefund, { deposit: false, timeoutMs: 10_000 })
  expect((await w.objectiveDone(objectiveId)).status).toBe('completed')
  const defundId = await w.honest.engine.directDefund(ledger.id)
  await mallory.cooperateDefund(ledger)
  expect((await w.objectiveDone(defundId)).status).toBe('completed')
  expect(await chain.holdings(id, ETH)).toBe(0n)
  expect(await chain.holdings(id, junk)).toBe(2n * SHARE) // the JUNK stays where mallory put it
  expect(await chain.balance(w.honest.address)).toBe(SHARE)
  expect(TX_FUNDS - (await chain.balance(w.honest.txAccount))).toBe(SHARE + (await chain.gasSpent(w.honest.txAccount, startBlock)))
  expect(await chain.nonce(w.honest.txAccount)).toBe(2) // deposit, concludeAndTransferAllAssets
}, 30_000)

test('a zero-amount deposit of the attacker\'s token into the ledger during its DirectDefund (the adjudicator takes it) does not pass for the payout', async () => {
  const w = (world = await createAnvilWorld(chain, { label: 'zero-junk' }))
  const mallory = await w.attacker('mallory')
  const junk = await mallory.deployWorthlessToken(SHARE)
  const startBlock = await chain.client.getBlockNumber()
  const fundId = await w.honest.engine.directFund({ counterparty: mallory.address, myDeposit: SHARE, theirDeposit: SHARE, nonce: 1n })
  const ledger = await mallory.fundLedger(await mallory.acceptLedger(w.honest.address, fundId), { timeoutMs: 10_000 })
  expect((await w.objectiveDone(fundId)).status).toBe('completed')

  const defundId = await w.honest.engine.directDefund(ledger.id)
  await mallory.waitFor('signedState', (p) => p.objectiveId === defundId && p.signedState.signatures[0] != null)
  // Before countersigning the final state: Deposited(ledger, JUNK, 0) on the real adjudicator.
  await mallory.rawDeposit(ledger.id, junk, 0n, 0n)
  await w.settle(600) // some 30 event polls: the zero deposit's event reached the honest node
  expect(w.honest.engine.getObjective(defundId)!.objective.status).not.toBe('completed')
  await mallory.cooperateDefund(ledger)

  expect((await w.objectiveDone(defundId)).status).toBe('completed')
  expect(await chain.holdings(ledger.id, ETH)).toBe(0n)
  expect(await chain.balance(w.honest.address)).toBe(SHARE)
  expect((await mallory.channelBalance())).toBe(SHARE)
  expect(TX_FUNDS - (await chain.balance(w.honest.txAccount))).toBe(SHARE + (await chain.gasSpent(w.honest.txAccount, startBlock)))
}, 30_000)

describe('a stranger\'s DirectFund naming the honest node', () => {
  test.each([
    { name: 'the stranger first, who deposits its ETH share before asking', myIndex: 0 as const },
    { name: 'the honest node first (it would deposit at once)', myIndex: 1 as const },
  ])('default policy (REFUSE_UNSOLICITED), $name → peer_not_allowed; nothing sent on chain', async ({ myIndex }) => {
    const w = (world = await createAnvilWorld(chain, { label: `stranger-${myIndex}` })) // no policy: REFUSE_UNSOLICITED
    const stranger = await w.attacker('stranger')
    await expectUntouched(w)
    const prefund = stranger.openLedger(w.honest.address, { myIndex, amounts: [SHARE, SHARE], nonce: 1n })
    const objectiveId = directFundId(channelId(fixedPart(prefund)))
    // Whatever the answer, the stranger then funds its own share as participant 0: a node that took the
    // prefund would see its turn to deposit come.
    await until('an answer to the prefund', () => stranger.rejectionsReceived().length > 0 || stranger.payloads('signedState').length > 0, 10_000)
    const deposited = myIndex === 0 ? SHARE : 0n
    if (deposited > 0n) await stranger.deposit(channelId(fixedPart(prefund)), ETH, deposited, 0n)
    await w.settle(600)

    await expectUntouched(w)
    expect(await chain.holdings(channelId(fixedPart(prefund)), ETH)).toBe(deposited)
    expect(w.rejected('peer_not_allowed')).toBe(1)
    expect(w.honest.engine.rejections.recent.at(-1)).toMatchObject({ code: 'peer_not_allowed', from: stranger.address })
    expect(stranger.rejectionsReceived('peer_not_allowed').map((p) => p.objectiveId)).toEqual([objectiveId])
    expect(stranger.payloads('signedState')).toEqual([])
    expect(w.honest.engine.objectives()).toEqual([])
  }, 30_000)

  test('a policy that accepts the peer, a challenge duration of 2**47 s → challenge_duration_out_of_bounds; nothing sent on chain', async () => {
    const label = 'far-future'
    const mallory: Address = createSigner(keyOf(`${label}:mallory`)).address
    const w = (world = await createAnvilWorld(chain, { label, policy: { ...ACCEPT_ANY_PEER, peers: [mallory] } }))
    const attacker = await w.attacker('mallory')
    expect(attacker.address).toBe(mallory)
    await expectUntouched(w)
    const prefund = attacker.openLedger(w.honest.address, { myIndex: 0, amounts: [SHARE, SHARE], nonce: 1n, challengeDuration: 2 ** 47 })
    const id = channelId(fixedPart(prefund))
    await until('an answer to the prefund', () => attacker.rejectionsReceived().length > 0 || attacker.payloads('signedState').length > 0, 10_000)
    await attacker.deposit(id, ETH, SHARE, 0n)
    await w.settle(600)

    await expectUntouched(w)
    expect(await chain.holdings(id, ETH)).toBe(SHARE)
    expect(w.rejected('challenge_duration_out_of_bounds')).toBe(1)
    expect(attacker.rejectionsReceived('challenge_duration_out_of_bounds').map((p) => p.objectiveId)).toEqual([directFundId(id)])
    expect(statesSignedBy(attacker, w.honest.address)).toEqual([])
    expect(w.honest.engine.getObjective(directFundId(id))?.objective.status ?? 'none').not.toMatch(/approved|completed/)
  }, 30_000)
})

test('positive control: real ETH from the attacker; the honest node deposits, the ledger opens, closes cooperatively, and both have their ETH back to the wei', async () => {
  const w = (world = await createAnvilWorld(chain, { label: 'control', policy: ACCEPT_ANY_PEER }))
  const mallory = await w.attacker('mallory')
  const [malloryShare, honestShare] = [3n * SHARE, 2n * SHARE]
  const startBlock = await chain.client.getBlockNumber()
  await expectUntouched(w)
  const malloryBefore = { tx: await mallory.txBalance(), channel: await mallory.channelBalance() }

  const ledger = await mallory.openAndFundLedger(w.honest.address, { myIndex: 0, amounts: [malloryShare, honestShare], nonce: 1n })
  expect((await w.objectiveDone(directFundId(ledger.id))).status).toBe('completed')
  expect(await chain.holdings(ledger.id, ETH)).toBe(malloryShare + honestShare)
  expect(w.honest.engine.getLedger(ledger.id)).toBeDefined()
  expect(await chain.nonce(w.honest.txAccount)).toBe(1) // its one deposit

  // The honest owner closes; mallory (participant 0) countersigns, concludes and withdraws for both.
  const defundId = await w.honest.engine.directDefund(ledger.id)
  await mallory.cooperateDefund(ledger)
  expect((await w.objectiveDone(defundId)).status).toBe('completed')
  expect(await chain.holdings(ledger.id, ETH)).toBe(0n)

  // Channel addresses only receive: exactly each one's share. Transaction accounts paid the share and gas.
  expect(await chain.balance(w.honest.address)).toBe(honestShare)
  expect((await mallory.channelBalance()) - malloryBefore.channel).toBe(malloryShare)
  expect(TX_FUNDS - (await chain.balance(w.honest.txAccount))).toBe(honestShare + (await chain.gasSpent(w.honest.txAccount, startBlock)))
  expect(malloryBefore.tx - (await mallory.txBalance())).toBe(malloryShare + (await chain.gasSpent(mallory.txAccount, startBlock)))
  expect(await chain.nonce(w.honest.txAccount)).toBe(1)
  expect(w.honest.engine.rejections.counts).toEqual({})
}, 30_000)

test('a stale challenge on a ledger: mallory registers the postfund after updates that paid the honest node; its node answers with the supported state and is paid its latest share to the wei', async () => {
  const policy = { ...ACCEPT_ANY_PEER, challengeDurationSec: { min: 0, max: ACCEPT_ANY_PEER.challengeDurationSec.max } }
  const w = (world = await createAnvilWorld(chain, { label: 'stale-ledger', policy }))
  const mallory = await w.attacker('mallory')
  const [malloryShare, honestShare] = [3n * SHARE, 2n * SHARE]
  // A short challenge: anvil stamps blocks with the wall clock, which the node waits on. The ledger then pays the
  // honest node one share of mallory's (its owner agreed), and mallory keeps the postfund.
  const { ledger, postfund } = await ledgerThatPaidHonest(w, mallory, { amounts: [malloryShare, honestShare], paid: SHARE, nonce: 2n, challengeDuration: 3 })
  expect(w.honest.engine.getObjective(directFundId(ledger.id))?.objective.status).toBe('completed')
  expect(postfund.state.turnNum).toBe(1n)
  expect(w.honest.engine.getLedger(ledger.id)?.supported.vars.turnNum).toBe(3n)

  // Mallory goes on chain with the postfund, which pays her a share more than the ledger's latest state.
  await mallory.viem.submit({ kind: 'challenge', candidate: postfund, challengerSignature: mallory.signHash(hashChallenge(hashState(postfund.state))) })
  await until('the honest node answers with turn 3', () => w.honest.engine.getObjective(appDisputeId(ledger.id)) !== undefined, 10_000)
  const dispute = await w.objectiveDone(appDisputeId(ledger.id), 60_000)
  expect(dispute.status).toBe('completed')
  expect(dispute.kind === 'appdispute' && dispute.candidate.state.turnNum).toBe(3n) // it answered with the supported state
  // Paid out by the latest state: the honest node's two shares and the one it was paid.
  expect(await chain.holdings(ledger.id, ETH)).toBe(0n)
  expect(await chain.balance(w.honest.address)).toBe(honestShare + SHARE)
  expect(await mallory.channelBalance()).toBe(malloryShare - SHARE)
}, 90_000)

test('a counterparty stalls: mallory never signs the close the honest node asked for; past the stall deadline its node challenges with the supported state and is paid its latest share to the wei', async () => {
  const policy = { ...ACCEPT_ANY_PEER, challengeDurationSec: { min: 0, max: ACCEPT_ANY_PEER.challengeDurationSec.max } }
  const w = (world = await createAnvilWorld(chain, { label: 'stalled-close', policy, stallTimeoutMs: 1_000 }))
  const mallory = await w.attacker('mallory')
  const [malloryShare, honestShare] = [3n * SHARE, 2n * SHARE]
  const { ledger } = await ledgerThatPaidHonest(w, mallory, { amounts: [malloryShare, honestShare], paid: SHARE, nonce: 3n, challengeDuration: 3 })

  // The honest node closes the ledger; mallory receives its final state and never answers.
  const close = await w.honest.engine.directDefund(ledger.id)
  await w.settle(300)
  expect(w.honest.engine.getObjective(close)?.waitingFor).toBe('finalState')
  expect(await chain.holdings(ledger.id, ETH)).toBe(malloryShare + honestShare) // nothing on chain yet

  // Past the deadline the node gives up on her, settles on chain from the supported state (turn 3), and pays out.
  const closed = await w.objectiveDone(close, 10_000)
  expect(closed).toMatchObject({ status: 'failed', failure: { code: 'counterparty_stalled' } })
  expect(closed.failure!.summary).toContain(appDisputeId(ledger.id))
  const dispute = await w.objectiveDone(appDisputeId(ledger.id), 60_000)
  expect(dispute.status).toBe('completed')
  expect(dispute.kind === 'appdispute' && dispute.candidate.state.turnNum).toBe(3n)
  expect(await chain.holdings(ledger.id, ETH)).toBe(0n)
  expect(await chain.balance(w.honest.address)).toBe(honestShare + SHARE)
  expect(await mallory.channelBalance()).toBe(malloryShare - SHARE)
}, 90_000)

// Rewinds the shared anvil (evm_revert) to before the ledger it opens: after every test that needs its history.
test('a re-org while the honest node is down: restarted, it finds its last chain event\'s block replaced, counts the re-organised deposits back, and signs no update of the ledger', async () => {
  const label = 'reorged-while-down'
  const w = (world = await createAnvilWorld(chain, { label, policy: ACCEPT_ANY_PEER }))
  const mallory = await w.attacker('mallory')
  const before = await chain.snapshot()
  const ledger = await mallory.openAndFundLedger(w.honest.address, { myIndex: 0, amounts: [3n * SHARE, 2n * SHARE], nonce: 5n, challengeDuration: 86_400 })
  expect((await w.objectiveDone(directFundId(ledger.id))).status).toBe('completed')
  await until('the honest node holds both deposits', () => w.honest.engine.holdings(ledger.id) === 5n * SHARE, 10_000)
  await w.honest.engine.close()

  // While it is down the chain re-organises from before both deposits (a longer chain without them).
  await chain.revert(before, 8)
  const restarted = await Engine.open({ store: w.honest.store, signer: createSigner(keyOf(`${label}:honest`)), transport: w.network.connect(w.honest.address), chain: w.honest.chain, consensusApp: chain.deployment.consensusApp, policy: ACCEPT_ANY_PEER, tickIntervalMs: 20 })
  try {
    await until('the restarted node rolls the holdings back', () => restarted.holdings(ledger.id) === 0n, 10_000)
    const add = { kind: 'add' as const, target: madeUpTarget(9), left: mallory.destination, right: addressToDestination(w.honest.address), leftAmount: SHARE, rightAmount: 0n }
    const agreed = await restarted.agreeLedgerUpdate(ledger.id, add)
    mallory.send(w.honest.address, [mallory.proposalPayload(ledger, mallory.propose(ledger, add))])
    await until('the update waits for the money', () => restarted.getObjective(agreed)?.waitingFor === 'funding', 10_000)
    expect(restarted.getLedger(ledger.id)?.supported.vars.turnNum).toBe(1n)
  } finally {
    await restarted.close()
  }
}, 90_000)

// Last in this file: it rewinds the shared anvil (evm_revert) to before the ledger it opens.
test('a re-org takes the ledger\'s deposits away after its postfund: the honest node counts the holdings back and signs no update of the ledger until the chain holds them again', async () => {
  const w = (world = await createAnvilWorld(chain, { label: 'reorged-deposit', policy: ACCEPT_ANY_PEER }))
  const mallory = await w.attacker('mallory')
  const before = await chain.snapshot()
  const ledger = await mallory.openAndFundLedger(w.honest.address, { myIndex: 0, amounts: [3n * SHARE, 2n * SHARE], nonce: 4n, challengeDuration: 86_400 })
  expect((await w.objectiveDone(directFundId(ledger.id))).status).toBe('completed')
  expect(w.honest.engine.holdings(ledger.id)).toBe(5n * SHARE)

  // The chain re-organises from before both deposits: a longer chain without them.
  await chain.revert(before, 5)
  expect(await chain.holdings(ledger.id, ETH)).toBe(0n)
  await until('the honest node rolls the holdings back', () => w.honest.engine.holdings(ledger.id) === 0n, 10_000)

  // Mallory asks for a guarantee her owner's counterparty agreed to: not signed while the money is gone.
  const add = { kind: 'add' as const, target: madeUpTarget(8), left: mallory.destination, right: addressToDestination(w.honest.address), leftAmount: SHARE, rightAmount: 0n }
  const agreed = await w.honest.engine.agreeLedgerUpdate(ledger.id, add)
  mallory.send(w.honest.address, [mallory.proposalPayload(ledger, mallory.propose(ledger, add))])
  await w.settle(500)
  expect(w.honest.engine.getLedger(ledger.id)?.supported.vars.turnNum).toBe(1n)
  expect(w.honest.engine.getObjective(agreed)?.waitingFor).toBe('funding')
  await expect(mallory.awaitCountersignature(ledger, 2n, 300)).rejects.toThrow()

  // The deposits land again (as a re-org usually brings them back): the update goes through.
  await mallory.deposit(ledger.id, ETH, 5n * SHARE, 0n)
  await mallory.awaitCountersignature(ledger, 2n, 10_000)
  expect(w.honest.engine.getLedger(ledger.id)?.supported.vars.turnNum).toBe(2n)
}, 90_000)
