// Payment channels settled on chain by their nodes (issue 15), on the simulator under message faults and crashes,
// with the per-step invariants (funds conserved everywhere, one signature per turn) and every journal replayed at
// the end. Alice pays bob 30 through a hub over two ledgers.
// - The hub vanishes during the cooperative close: alice and bob ask their nodes to settle V; each registers its
//   best state of V (bob's redemption of alice's largest voucher wins), disputes its ledger with the hub, reclaims
//   V's guarantee once both finalized and pays the ledger out. Every node ends with its due, the hub net-zero.
// - Alice's key registers V's funded state (all back to her) while her node is gone: bob's node answers with his
//   redemption before it finalizes; once V finalizes, bob and the hub remove its guarantee from their ledger by the
//   outcome on chain, off chain, and close that ledger cooperatively: bob is paid 30.
import { describe, expect, test } from 'vitest'
import type { Bytes32 } from '../../../src/core/types.js'
import { toBytes32 } from '../../../src/core/canonical.js'
import { hashState } from '../../../src/core/hashState.js'
import { hashChallenge } from '../../../src/core/signState.js'
import { appDisputeId } from '../../../src/protocols/app/appDispute.js'
import type { SimNode } from '../cluster.js'
import { ETH, STARTING_BALANCE } from '../cluster.js'
import { Scenario } from '../scenario.js'

const DEPOSIT = 1_000n
const AMOUNT = 100n
const PAID = 30n
const CHALLENGE_DURATION = 600
const FAULTS = { drop: 0.05, duplicate: 0.05, reorder: 0.05, crash: 0.002 }

async function openLedger(s: Scenario, leader: SimNode, follower: SimNode, nonce: bigint): Promise<Bytes32> {
  const id = await s.call(leader, { op: 'directFund', counterparty: follower.address, asset: ETH, myDeposit: DEPOSIT, theirDeposit: DEPOSIT, nonce, challengeDuration: CHALLENGE_DURATION })
  expect((await s.settled(leader, id)).status).toBe('completed')
  const ledgerId = toBytes32(id.slice('directfund:'.length))
  await s.until('the follower has the ledger', () => follower.up && follower.machine.tables.ledgers.get(ledgerId) !== undefined)
  return ledgerId
}

/** Ledgers alice–hub and hub–bob, and V from alice to bob through the hub with PAID paid in three vouchers. */
async function paidThroughHub(s: Scenario) {
  const [alice, hub, bob] = s.nodes as [SimNode, SimNode, SimNode]
  const ledgerAH = await openLedger(s, alice, hub, 1n)
  const ledgerHB = await openLedger(s, hub, bob, 2n)
  const fund = await s.call(alice, { op: 'createPaymentChannel', counterparty: bob.address, intermediaries: [hub.address], asset: ETH, amount: AMOUNT, nonce: 3n, challengeDuration: CHALLENGE_DURATION })
  expect((await s.settled(alice, fund)).status).toBe('completed')
  const vId = toBytes32(fund.slice('virtualfund:'.length))
  await s.until('bob can be paid', () => bob.up && bob.machine.tables.payments.get(vId) !== undefined)
  for (const amount of [10n, 5n, 15n]) await s.call(alice, { op: 'pay', channelId: vId, amount, send: true })
  await s.until('bob holds every voucher', () => bob.up && bob.machine.tables.payments.get(vId)!.paid === PAID)
  await s.quiesce() // both ledgers agree on both sides
  return { alice, hub, bob, ledgerAH, ledgerHB, vId, fund }
}

/** The chain's clock and the nodes' move past every challenge registered so far. */
function passChallengeDuration(s: Scenario): void {
  s.cluster.chain.advanceTime(BigInt(CHALLENGE_DURATION + 1))
  s.cluster.advance((CHALLENGE_DURATION + 1) * 1_000)
}

const onChain = (s: Scenario, node: SimNode) => s.cluster.chain.balanceOf(node.address, ETH) - STARTING_BALANCE

describe('payment channels settled on chain under faults', () => {
  test('the hub vanishes during the close: alice and bob settle V and both ledgers (challenge, reclaim, payout); everyone gets their due to the wei, the hub net-zero', async () => {
    const s = await Scenario.start({ seed: 161, nodes: 3, faults: FAULTS, crashable: [0, 2] })
    const { alice, hub, bob, ledgerAH, ledgerHB, vId } = await paidThroughHub(s)
    s.stop(hub)
    await s.call(alice, { op: 'closePaymentChannel', channelId: vId })
    expect(await s.call(alice, { op: 'challengePaymentChannel', channelId: vId })).toBe(appDisputeId(vId))
    expect(await s.call(bob, { op: 'challengePaymentChannel', channelId: vId })).toBe(appDisputeId(vId))
    await s.until('V registered with bob\'s redemption', () => s.cluster.chain.events().some((e) => e.kind === 'challenged' && e.channelId === vId && e.turnNumRecord === 2n))
    await s.until('both ledgers registered', () => [ledgerAH, ledgerHB].every((id) => s.cluster.chain.events().some((e) => e.kind === 'challenged' && e.channelId === id)))
    passChallengeDuration(s)
    await s.until('both ledgers paid out', () => [[alice, ledgerAH], [bob, ledgerHB]].every(([node, id]) => s.objective(node as SimNode, appDisputeId(id as Bytes32))?.status === 'completed'))
    expect(await s.cluster.chain.holdings(ledgerAH, ETH)).toBe(0n)
    expect(await s.cluster.chain.holdings(ledgerHB, ETH)).toBe(0n)
    expect([onChain(s, alice), onChain(s, hub), onChain(s, bob)]).toEqual([-PAID, 0n, PAID])
    await s.checkReplays()
    expect(s.restarts).toBeGreaterThan(0) // the seed crashed nodes on the way
  }, 120_000)

  test('alice\'s key registers V\'s funded state while her node is gone: bob\'s node answers with his largest voucher; once V finalizes, bob and the hub remove its guarantee by that outcome and their ledger stays open', async () => {
    const s = await Scenario.start({ seed: 162, nodes: 3, faults: FAULTS, crashable: [1, 2] })
    const { alice, hub, bob, ledgerHB, vId, fund } = await paidThroughHub(s)
    const vf = s.objective(alice, fund)
    if (vf?.kind !== 'virtualfund') throw new Error('a virtualfund')
    const postfund = vf.postfund
    s.stop(alice)
    const chain = s.cluster.chain
    await chain.connect(alice.address).submit({ kind: 'challenge', candidate: postfund, challengerSignature: alice.signer.signHash(hashChallenge(hashState(postfund.state))) })
    await s.until('bob answers with his redemption', () => chain.events().some((e) => e.kind === 'challenged' && e.channelId === vId && e.turnNumRecord === 2n))
    passChallengeDuration(s)
    // V finalized with bob's redemption: both remove its guarantee from their ledger by that outcome, off chain.
    await s.until('the hub–bob ledger no longer guarantees V', () => [hub, bob].every((n) => n.up && n.machine.tables.ledgers.get(ledgerHB)!.supported.vars.outcome.guarantees.length === 0))
    expect((await s.settled(bob, `virtualdefund:${vId}`)).status).toBe('completed')
    expect(hub.machine.waitingFor.get(`virtualdefund:${vId}`)).toBe('defunding') // its ledger with alice needs her (or its stall deadline)
    const outcome = bob.machine.tables.ledgers.get(ledgerHB)!.supported.vars.outcome
    expect([outcome.leader.amount, outcome.follower.amount]).toEqual([DEPOSIT - PAID, DEPOSIT + PAID])
    expect(chain.events().some((e) => e.kind === 'challenged' && e.channelId === ledgerHB)).toBe(false) // never disputed
    // The ledger closes cooperatively: bob his deposit and the 30; the hub its deposit less the 30 (alice owes it in theirs).
    const close = await s.call(bob, { op: 'directDefund', ledgerId: ledgerHB })
    expect((await s.settled(bob, close)).status).toBe('completed')
    expect([onChain(s, hub), onChain(s, bob)]).toEqual([-DEPOSIT - PAID, PAID])
    expect(s.restarts).toBeGreaterThan(0) // the seed crashed nodes on the way
    await s.checkReplays()
  }, 120_000)
})
