// Stale challenges on a ledger (issue 15), on the simulator: a counterparty whose node is gone registers an old
// state of the ledger on chain — the postfund, from before the updates that paid this node — and would win when
// the challenge times out. The node answers with the ledger's supported state (signed by both), which
// supersedes it, follows its own challenge to finalization and pays the ledger out: the owner gets its latest
// share, to the wei. A challenge registered with the latest state is followed to the payout too.
import { describe, expect, test } from 'vitest'
import type { Bytes32 } from '../../../src/core/types.js'
import type { SignedState } from '../../../src/core/signedState.js'
import { toBytes32 } from '../../../src/core/canonical.js'
import { addressToDestination } from '../../../src/core/outcome.js'
import { hashState } from '../../../src/core/hashState.js'
import { hashChallenge } from '../../../src/core/signState.js'
import { supportedSignedState } from '../../../src/protocols/ledger/consensusChannel.js'
import { appDisputeId } from '../../../src/protocols/app/appDispute.js'
import type { Proposal } from '../../../src/protocols/ledger/proposal.js'
import type { SimNode } from '../cluster.js'
import { ETH, STARTING_BALANCE } from '../cluster.js'
import { Scenario } from '../scenario.js'
import { holdingsKey } from '../../../src/engine/holdings.js'

const DEPOSIT = 1_000n
const CHALLENGE_DURATION = 600

async function ledgerThatPaidBob(s: Scenario): Promise<{ ledgerId: Bytes32; postfund: SignedState }> {
  const [alice, bob] = s.nodes as [SimNode, SimNode]
  const fund = await s.call(alice, { op: 'directFund', counterparty: bob.address, asset: ETH, myDeposit: DEPOSIT, theirDeposit: DEPOSIT, nonce: 1n, challengeDuration: CHALLENGE_DURATION })
  const funded = await s.settled(alice, fund)
  expect(funded.status).toBe('completed')
  const ledgerId = toBytes32(fund.slice('directfund:'.length))
  await s.until('bob has the ledger', () => bob.machine.tables.ledgers.get(ledgerId) !== undefined)
  // Alice locks 10 for a virtual channel, which then pays bob all of it: the ledger moves 10 from alice to bob.
  const v = toBytes32(`0x${'5e'.repeat(32)}`)
  const [a, b] = [addressToDestination(alice.address), addressToDestination(bob.address)]
  const agreed = async (proposal: Proposal) => {
    await s.call(bob, { op: 'ledgerUpdate', ledgerId, proposal, ask: false })
    expect((await s.settled(alice, await s.call(alice, { op: 'ledgerUpdate', ledgerId, proposal, ask: true }))).status).toBe('completed')
  }
  await agreed({ kind: 'add', target: v, left: a, right: b, leftAmount: 10n, rightAmount: 0n })
  await agreed({ kind: 'remove', target: v, leftAmount: 0n })
  await s.until('bob holds the latest state', () => bob.machine.tables.ledgers.get(ledgerId)!.supported.vars.turnNum === alice.machine.tables.ledgers.get(ledgerId)!.supported.vars.turnNum)
  const outcome = bob.machine.tables.ledgers.get(ledgerId)!.supported.vars.outcome
  expect([outcome.leader.amount, outcome.follower.amount]).toEqual([DEPOSIT - 10n, DEPOSIT + 10n])
  if (funded.kind !== 'directfund') throw new Error('a directfund')
  return { ledgerId, postfund: funded.postfund }
}

/** The chain's clock and the nodes' move past a challenge's deadline. */
function passChallengeDuration(s: Scenario): void {
  s.cluster.chain.advanceTime(BigInt(CHALLENGE_DURATION + 1))
  s.cluster.advance((CHALLENGE_DURATION + 1) * 1_000)
}

describe('a ledger challenged on chain by a counterparty whose node is gone', () => {
  test('with the stale postfund: the node answers with the supported state and is paid its latest share', async () => {
    const s = await Scenario.start({ seed: 151, nodes: 2, faults: { drop: 0.05, duplicate: 0.05, reorder: 0.05 } })
    const [alice, bob] = s.nodes as [SimNode, SimNode]
    const chain = s.cluster.chain
    const { ledgerId, postfund } = await ledgerThatPaidBob(s)
    const latestTurn = bob.machine.tables.ledgers.get(ledgerId)!.supported.vars.turnNum
    expect(postfund.state.turnNum).toBeLessThan(latestTurn)

    s.stop(alice)
    await chain.connect(alice.address).submit({ kind: 'challenge', candidate: postfund, challengerSignature: alice.signer.signHash(hashChallenge(hashState(postfund.state))) })
    await s.until("bob's node answers with the supported state", () => chain.events().some((e) => e.kind === 'challenged' && e.channelId === ledgerId && e.turnNumRecord === latestTurn))
    expect(bob.machine.tables.ledgers.get(ledgerId)!.closing).toBe(true) // no more updates: the chain decides now
    await expect(s.call(bob, { op: 'ledgerUpdate', ledgerId, proposal: { kind: 'add', target: toBytes32(`0x${'77'.repeat(32)}`), left: addressToDestination(bob.address), right: addressToDestination(alice.address), leftAmount: 1n, rightAmount: 0n }, ask: true }).then((id) => s.settled(bob, id))).resolves.toMatchObject({ status: 'failed' })

    passChallengeDuration(s)
    const dispute = await s.settled(bob, appDisputeId(ledgerId))
    expect(dispute.status).toBe('completed')
    // The ledger paid out its latest state: bob deposited 1,000 and is paid 1,010; alice is paid 990.
    expect(chain.balanceOf(bob.address, ETH)).toBe(STARTING_BALANCE + 10n)
    expect(chain.balanceOf(alice.address, ETH)).toBe(STARTING_BALANCE - 10n)
    expect(await chain.holdings(ledgerId, ETH)).toBe(0n)
    await s.checkReplays()
  }, 60_000)

  test('with the latest state: the node follows it to the payout', async () => {
    const s = await Scenario.start({ seed: 152, nodes: 2 })
    const [alice, bob] = s.nodes as [SimNode, SimNode]
    const chain = s.cluster.chain
    const { ledgerId } = await ledgerThatPaidBob(s)
    const latest = supportedSignedState(alice.machine.tables.ledgers.get(ledgerId)!)
    s.stop(alice)
    await chain.connect(alice.address).submit({ kind: 'challenge', candidate: latest, challengerSignature: alice.signer.signHash(hashChallenge(hashState(latest.state))) })
    await s.until('bob follows the challenge', () => s.objective(bob, appDisputeId(ledgerId)) !== undefined)
    expect(chain.events().filter((e) => e.kind === 'challenged')).toHaveLength(1) // nothing to answer: it is the latest
    passChallengeDuration(s)
    expect((await s.settled(bob, appDisputeId(ledgerId))).status).toBe('completed')
    expect(chain.balanceOf(bob.address, ETH)).toBe(STARTING_BALANCE + 10n)
    expect(chain.balanceOf(alice.address, ETH)).toBe(STARTING_BALANCE - 10n)
  }, 60_000)

  test('the operator challenges a ledger whose counterparty stopped answering: it is paid out at the supported state', async () => {
    const s = await Scenario.start({ seed: 153, nodes: 2 })
    const [alice, bob] = s.nodes as [SimNode, SimNode]
    const chain = s.cluster.chain
    const { ledgerId } = await ledgerThatPaidBob(s)
    await expect(s.call(bob, { op: 'challengeLedger', ledgerId: toBytes32(`0x${'77'.repeat(32)}`) })).rejects.toMatchObject({ code: 'no_such_ledger' })
    s.stop(alice)
    const id = await s.call(bob, { op: 'challengeLedger', ledgerId })
    expect(id).toBe(appDisputeId(ledgerId))
    await expect(s.call(bob, { op: 'challengeLedger', ledgerId })).resolves.toBe(id) // idempotent
    await s.until('the challenge is on chain', () => chain.events().some((e) => e.kind === 'challenged' && e.channelId === ledgerId))
    passChallengeDuration(s)
    expect((await s.settled(bob, id)).status).toBe('completed')
    expect(chain.balanceOf(bob.address, ETH)).toBe(STARTING_BALANCE + 10n)
    expect(chain.balanceOf(alice.address, ETH)).toBe(STARTING_BALANCE - 10n)
  }, 60_000)

  test('the node crashes after deciding its answer and before sending it: the chain outbox sends it after the restart, in time', async () => {
    const s = await Scenario.start({ seed: 154, nodes: 2 })
    const [alice, bob] = s.nodes as [SimNode, SimNode]
    const { cluster } = s
    const chain = cluster.chain
    const { ledgerId, postfund } = await ledgerThatPaidBob(s)
    const latestTurn = bob.machine.tables.ledgers.get(ledgerId)!.supported.vars.turnNum
    s.stop(alice)
    await chain.connect(alice.address).submit({ kind: 'challenge', candidate: postfund, challengerSignature: alice.signer.signHash(hashChallenge(hashState(postfund.state))) })
    const isChallenge = (i: (typeof bob.inbox)[number]) => i.timed.input.kind === 'chain' && i.timed.input.event.kind === 'challenged'
    await s.until('the challenge reaches bob', () => bob.inbox.some(isChallenge))
    // Bob handles it first thing in his next batch, commits his decision to answer, and dies before sending it.
    bob.inbox = [...bob.inbox.filter(isChallenge), ...bob.inbox.filter((i) => !isChallenge(i))]
    await cluster.process(bob, true)
    expect(bob.up).toBe(false)
    expect(chain.events().filter((e) => e.kind === 'challenged')).toHaveLength(1) // only alice's: the answer never left
    await cluster.boot(bob)
    expect(bob.machine.pendingTransactions().map((p) => p.tx.kind)).toEqual(['challenge'])
    await s.until('the answer lands', () => chain.events().some((e) => e.kind === 'challenged' && e.turnNumRecord === latestTurn))
    passChallengeDuration(s)
    expect((await s.settled(bob, appDisputeId(ledgerId))).status).toBe('completed')
    expect(bob.machine.pendingTransactions()).toEqual([]) // mined, or no longer needed
    expect(chain.balanceOf(bob.address, ETH)).toBe(STARTING_BALANCE + 10n)
    await s.checkReplays()
  }, 60_000)

  test('a counterparty stalls: alice never signs the close bob asked for; past the stall deadline his node settles on chain and is paid his latest share, under message faults and across a restart', async () => {
    const STALL_MS = 60_000
    const s = await Scenario.start({ seed: 155, nodes: 2, faults: { drop: 0.05, duplicate: 0.05, reorder: 0.05 }, stallTimeoutMs: STALL_MS })
    const [alice, bob] = s.nodes as [SimNode, SimNode]
    const chain = s.cluster.chain
    const { ledgerId } = await ledgerThatPaidBob(s)
    s.stop(alice)
    const close = await s.call(bob, { op: 'directDefund', ledgerId })
    await s.until('bob waits for her signature', () => bob.up && bob.machine.waitingFor.get(close) === 'finalState')
    s.cluster.advance(STALL_MS - 1)
    // A restart forgets how long the close waited: it is timed again from the restart.
    await s.restart(bob)
    await s.until('bob waits for her signature again', () => bob.machine.waitingFor.get(close) === 'finalState')
    s.cluster.advance(STALL_MS - 20_000) // 200 steps move the clock by at most 12 s
    let steps = 0
    await s.until('200 steps short of the deadline', () => ++steps > 200)
    expect(chain.events().some((e) => e.kind === 'challenged')).toBe(false)
    expect(s.objective(bob, close)?.status).toBe('approved')
    s.cluster.advance(STALL_MS)
    const closed = await s.settled(bob, close)
    expect(closed).toMatchObject({ status: 'failed', failure: { code: 'counterparty_stalled' } })
    expect(closed.failure!.summary).toContain(appDisputeId(ledgerId))
    await s.until('the challenge is on chain', () => chain.events().some((e) => e.kind === 'challenged' && e.channelId === ledgerId))
    passChallengeDuration(s)
    expect((await s.settled(bob, appDisputeId(ledgerId))).status).toBe('completed')
    expect(chain.balanceOf(bob.address, ETH)).toBe(STARTING_BALANCE + 10n)
    expect(chain.balanceOf(alice.address, ETH)).toBe(STARTING_BALANCE - 10n)
    await s.checkReplays()
  }, 60_000)

  test('a re-org that rolls the disputed ledger\'s holdings back is not a payout: the dispute goes on and pays out', async () => {
    const s = await Scenario.start({ seed: 156, nodes: 2 })
    const [alice, bob] = s.nodes as [SimNode, SimNode]
    const chain = s.cluster.chain
    const { ledgerId } = await ledgerThatPaidBob(s)
    s.stop(alice)
    const id = await s.call(bob, { op: 'challengeLedger', ledgerId })
    await s.until('the challenge is registered at bob', () => s.objective(bob, id)?.kind === 'appdispute' && (s.objective(bob, id) as { finalizesAt: bigint | null }).finalizesAt !== null)
    // The chain reports a re-org from before the deposits: bob's holdings of the ledger go back to 0.
    bob.inbox.push({ timed: { at: s.cluster.now, input: { kind: 'chain', event: { kind: 'reorg', forkBlock: 0n } } } })
    await s.until('bob handles it', () => bob.inbox.length === 0)
    expect(bob.machine.tables.holdings.get(holdingsKey(ledgerId, ETH))).toBe(0n)
    expect(s.objective(bob, id)?.status).toBe('approved') // not taken for a payout
    passChallengeDuration(s)
    expect((await s.settled(bob, id)).status).toBe('completed')
    expect(chain.balanceOf(bob.address, ETH)).toBe(STARTING_BALANCE + 10n)
    await s.checkReplays()
  }, 60_000)
})
