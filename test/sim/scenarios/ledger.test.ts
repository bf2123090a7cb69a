// Ledger lifecycle between two nodes (issue 3), on the simulator's seeded scheduler (issue 14): open and fund a
// ledger, add and remove 100 guarantees initiated concurrently from both sides, defund — on a clean network, on
// a lossy one (drop, duplicate, reorder), and with one node crashing (losing unsynced writes, sometimes between a
// commit and its effects) and restarting at seeded moments. And the hub's view of one virtual channel's two
// guarantees. The on-disk store's own crash safety is tested on RocksDB in test/crash.
import { describe, expect, test } from 'vitest'
import type { Bytes32, Destination } from '../../../src/core/types.js'
import { addressToDestination } from '../../../src/core/outcome.js'
import { hashState } from '../../../src/core/hashState.js'
import { toBytes32 } from '../../../src/core/canonical.js'
import { supportedSignedState } from '../../../src/protocols/ledger/consensusChannel.js'
import type { ConsensusChannel } from '../../../src/protocols/ledger/consensusChannel.js'
import { totalOf } from '../../../src/protocols/ledger/ledgerOutcome.js'
import type { Proposal } from '../../../src/protocols/ledger/proposal.js'
import type { SimNode } from '../cluster.js'
import { ETH } from '../cluster.js'
import { Scenario } from '../scenario.js'

const GUARANTEES = 100
const DEPOSIT = 1000n

const target = (i: number): Bytes32 => toBytes32(`0x${(i + 1).toString(16).padStart(8, '0')}${'ab'.repeat(28)}`)
const ledgerOf = (node: SimNode, id: Bytes32): ConsensusChannel | undefined => (node.up ? node.machine.tables.ledgers.get(id) : undefined)

interface Plan {
  readonly adds: { initiator: 0 | 1; proposal: Extract<Proposal, { kind: 'add' }> }[]
  readonly removes: { initiator: 0 | 1; proposal: Extract<Proposal, { kind: 'remove' }> }[]
  readonly expected: readonly [bigint, bigint]
}

/** Two thirds of the guarantees lock funds left = the leader, the rest left = the follower; removes return varying shares. */
function plan(leader: Destination, follower: Destination): Plan {
  const expected: [bigint, bigint] = [DEPOSIT, DEPOSIT]
  const adds: Plan['adds'] = []
  const removes: Plan['removes'] = []
  for (let i = 0; i < GUARANTEES; i++) {
    const leaderLeft = i % 3 !== 0
    const [left, right] = leaderLeft ? [leader, follower] : [follower, leader]
    adds.push({ initiator: i % 2 ? 1 : 0, proposal: { kind: 'add', target: target(i), left, right, leftAmount: 5n, rightAmount: 3n } })
    const back = BigInt(i % 9)
    removes.push({ initiator: i % 2 ? 0 : 1, proposal: { kind: 'remove', target: target(i), leftAmount: back } })
    // Net effect: the left side gets `back` of the 8 locked, the right side the rest.
    const [leftGets, rightGets] = [back - 5n, 8n - back - 3n]
    expected[0] += leaderLeft ? leftGets : rightGets
    expected[1] += leaderLeft ? rightGets : leftGets
  }
  return { adds, removes, expected }
}

/** A ledger change both owners agreed to: the counterparty's owner agrees first (nothing is sent), then the initiator runs it (ADR 0015). */
async function updateAgreed(s: Scenario, initiator: SimNode, counterparty: SimNode, ledgerId: Bytes32, proposal: Proposal): Promise<string> {
  await s.call(counterparty, { op: 'ledgerUpdate', ledgerId, proposal, ask: false })
  return s.call(initiator, { op: 'ledgerUpdate', ledgerId, proposal, ask: true })
}

async function openLedger(s: Scenario, leader: SimNode, follower: SimNode, deposit: bigint, nonce: bigint): Promise<Bytes32> {
  const id = await s.call(leader, { op: 'directFund', counterparty: follower.address, asset: ETH, myDeposit: deposit, theirDeposit: deposit, nonce, challengeDuration: 86_400 })
  expect((await s.settled(leader, id)).status).toBe('completed')
  const ledgerId = toBytes32(id.slice('directfund:'.length))
  await s.until('the follower has the ledger', () => ledgerOf(follower, ledgerId) !== undefined)
  return ledgerId
}

function agreed(s: Scenario, ledgerId: Bytes32, guarantees: number): boolean {
  const [a, b] = s.nodes.map((n) => ledgerOf(n, ledgerId))
  if (!a || !b || a.role !== 'leader' || b.role !== 'follower') return false
  return a.queue.length === 0 && a.supported.vars.turnNum === b.supported.vars.turnNum && a.supported.vars.outcome.guarantees.length === guarantees
}

async function runLifecycle(s: Scenario): Promise<void> {
  const [leader, follower] = s.nodes as [SimNode, SimNode]
  const ledgerId = await openLedger(s, leader, follower, DEPOSIT, 7n)
  const p = plan(addressToDestination(leader.address), addressToDestination(follower.address))
  const nodes = [leader, follower] as const

  // Each change is asked for as its turn comes, while the others are still running: they overlap in the ledger.
  for (const { initiator, proposal } of p.adds) await updateAgreed(s, nodes[initiator], nodes[1 - initiator]!, ledgerId, proposal)
  await s.until('100 guarantees on both sides', () => agreed(s, ledgerId, GUARANTEES))
  const withGuarantees = ledgerOf(leader, ledgerId)!
  expect(totalOf(withGuarantees.supported.vars.outcome)).toBe(2n * DEPOSIT)
  expect(hashState(supportedSignedState(withGuarantees).state)).toBe(hashState(supportedSignedState(ledgerOf(follower, ledgerId)!).state))

  for (const { initiator, proposal } of p.removes) await updateAgreed(s, nodes[initiator], nodes[1 - initiator]!, ledgerId, proposal)
  await s.until('all guarantees removed on both sides', () => agreed(s, ledgerId, 0))
  const emptied = ledgerOf(leader, ledgerId)!
  expect(hashState(supportedSignedState(emptied).state)).toBe(hashState(supportedSignedState(ledgerOf(follower, ledgerId)!).state))
  expect([emptied.supported.vars.outcome.leader.amount, emptied.supported.vars.outcome.follower.amount]).toEqual(p.expected)
  await s.quiesce()
  // Every change completed on both sides: nothing failed, nothing left waiting.
  for (const node of nodes) {
    const updates = [...node.machine.tables.objectives.values()].filter((o) => o.kind === 'ledgerUpdate')
    expect(updates.length).toBe(2 * GUARANTEES)
    expect(updates.filter((o) => o.status !== 'completed').map((o) => [o.id, o.status, o.failure])).toEqual([])
  }

  const chain = s.cluster.chain
  const before = nodes.map((n) => chain.balanceOf(n.address, ETH))
  const defundId = await s.call(leader, { op: 'directDefund', ledgerId })
  expect((await s.settled(leader, defundId)).status).toBe('completed')
  expect((await s.settled(follower, defundId)).status).toBe('completed')
  // On chain each got exactly its final ledger balance: nothing created or lost.
  expect(nodes.map((n, i) => chain.balanceOf(n.address, ETH) - before[i]!)).toEqual(p.expected)
  expect(p.expected[0] + p.expected[1]).toBe(2n * DEPOSIT)
  expect(ledgerOf(leader, ledgerId)).toBeUndefined()
  await s.checkReplays()
}

describe('ledger lifecycle between two nodes', () => {
  test('clean network: fund, 100 guarantees added and removed from both sides, defund; nothing refused', async () => {
    const s = await Scenario.start({ seed: 1, nodes: 2 })
    await runLifecycle(s)
    for (const node of s.nodes) expect(node.machine.rejections.counts).toEqual({})
  }, 60_000)

  test('lossy network: 20% loss, duplication and reordering', async () => {
    const s = await Scenario.start({ seed: 2, nodes: 2, faults: { drop: 0.2, duplicate: 0.2, reorder: 0.2 } })
    await runLifecycle(s)
    const stats = s.cluster.network.stats
    expect(stats.dropped).toBeGreaterThan(0)
    expect(stats.duplicated).toBeGreaterThan(0)
    expect(stats.reordered).toBeGreaterThan(0)
  }, 60_000)

  test('crash-restart: the follower crashes (losing unsynced writes) and restarts at seeded moments', async () => {
    const s = await Scenario.start({ seed: Number(process.env.LEDGER_SEED ?? 3), nodes: 2, faults: { drop: 0.05, crash: 0.002 }, crashable: [1] })
    await runLifecycle(s)
    expect(s.nodes[1]!.crashes).toBeGreaterThan(0)
    expect(s.restarts).toBe(s.nodes[1]!.crashes)
  }, 60_000)
})

describe('hub scenario (P8)', () => {
  test('Alice–Hub and Hub–Bob ledgers both lock a guarantee for one virtual channel, then release it; the hub ends net-zero', async () => {
    const s = await Scenario.start({ seed: 4, nodes: 3, faults: { drop: 0.1, duplicate: 0.1, reorder: 0.1 } })
    const [alice, hub, bob] = s.nodes as [SimNode, SimNode, SimNode]
    const aliceHub = await openLedger(s, alice, hub, 100n, 11n) // the hub follows here
    const hubBob = await openLedger(s, hub, bob, 100n, 11n) // and leads here
    const [a, h, b] = [alice, hub, bob].map((n) => addressToDestination(n.address)) as [Destination, Destination, Destination]
    const virtual = target(999) // V's outcome: alice 10, bob 5
    // Each side of each ledger initiates once: alice (leader) in L_AH, bob (follower) in L_HB.
    const ids = [
      await updateAgreed(s, alice, hub, aliceHub, { kind: 'add', target: virtual, left: a, right: h, leftAmount: 10n, rightAmount: 5n }),
      await updateAgreed(s, bob, hub, hubBob, { kind: 'add', target: virtual, left: h, right: b, leftAmount: 10n, rightAmount: 5n }),
    ]
    for (const id of ids) for (const node of s.nodes.filter((n) => s.objective(n, id))) expect((await s.settled(node, id)).status).toBe('completed')
    expect(ledgerOf(hub, aliceHub)!.supported.vars.outcome.follower.amount).toBe(95n) // the hub locked bob's 5 towards alice's side
    expect(ledgerOf(hub, hubBob)!.supported.vars.outcome.leader.amount).toBe(90n) // the hub locked alice's 10 towards bob
    // V closes paying alice 7 and bob 8: the hub relays 3 from L_HB to L_AH.
    await updateAgreed(s, hub, alice, aliceHub, { kind: 'remove', target: virtual, leftAmount: 7n })
    await updateAgreed(s, hub, bob, hubBob, { kind: 'remove', target: virtual, leftAmount: 7n })
    const released = (node: SimNode, ledgerId: Bytes32) => {
      const ledger = ledgerOf(node, ledgerId)
      return !!ledger && ledger.supported.vars.outcome.guarantees.length === 0 && (ledger.role === 'follower' || ledger.queue.length === 0)
    }
    await s.until('guarantees released everywhere', () => released(hub, aliceHub) && released(hub, hubBob) && released(alice, aliceHub) && released(bob, hubBob))
    const ah = ledgerOf(hub, aliceHub)!.supported.vars.outcome
    const hb = ledgerOf(hub, hubBob)!.supported.vars.outcome
    expect([ah.leader.amount, ah.follower.amount]).toEqual([97n, 103n]) // alice paid 3
    expect([hb.leader.amount, hb.follower.amount]).toEqual([97n, 103n]) // bob received 3
    expect(ah.follower.amount + hb.leader.amount).toBe(200n) // the hub is net-zero across its ledgers
    await s.checkReplays()
  }, 60_000)
})
