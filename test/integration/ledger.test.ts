// Ledger lifecycle between two engines (issue 3): open and fund a ledger, add and remove 100 guarantees
// initiated concurrently from both sides, defund — on a clean network, on a lossy one (drop, duplicate,
// reorder, delay), and with one node crash-restarted from its on-disk store at random moments.
import { afterEach, describe, expect, test } from 'vitest'
import type { Bytes32, Destination } from '../../src/core/types.js'
import { addressToDestination } from '../../src/core/outcome.js'
import { hashState } from '../../src/core/hashState.js'
import { createRandom } from '../../src/core/seededRandom.js'
import { supportedSignedState } from '../../src/protocols/ledger/consensusChannel.js'
import { totalOf } from '../../src/protocols/ledger/ledgerOutcome.js'
import type { Proposal } from '../../src/protocols/ledger/proposal.js'
import type { TestNetwork, TestNode } from '../support/ledgerNetwork.js'
import { ETH, createTestNetwork, eventually, target, updateAgreed } from '../support/ledgerNetwork.js'

const ALICE = '0x1111111111111111111111111111111111111111111111111111111111111111' as const
const BOB = '0x2222222222222222222222222222222222222222222222222222222222222222' as const
const GUARANTEES = 100
const DEPOSIT = 1000n

let net: TestNetwork | undefined
afterEach(async () => {
  await net?.close()
  net = undefined
})

interface Plan {
  readonly adds: { initiator: 'alice' | 'bob'; proposal: Extract<Proposal, { kind: 'add' }> }[]
  readonly removes: { initiator: 'alice' | 'bob'; proposal: Extract<Proposal, { kind: 'remove' }> }[]
  readonly expected: { alice: bigint; bob: bigint }
}

/** Half the guarantees lock funds left = alice, half left = bob; removes return varying shares. */
function plan(alice: Destination, bob: Destination): Plan {
  const expected = { alice: DEPOSIT, bob: DEPOSIT }
  const adds: Plan['adds'] = []
  const removes: Plan['removes'] = []
  for (let i = 0; i < GUARANTEES; i++) {
    const aliceLeft = i % 3 !== 0
    const [left, right] = aliceLeft ? [alice, bob] : [bob, alice]
    const leftAmount = 5n
    const rightAmount = 3n
    adds.push({ initiator: i % 2 ? 'bob' : 'alice', proposal: { kind: 'add', target: target(i), left, right, leftAmount, rightAmount } })
    const back = BigInt(i % 9)
    removes.push({ initiator: i % 2 ? 'alice' : 'bob', proposal: { kind: 'remove', target: target(i), leftAmount: back } })
    // net effect on each side: the left side gets `back` of the 8 locked, the right side the rest
    const leftDelta = back - leftAmount
    const rightDelta = 8n - back - rightAmount
    if (aliceLeft) {
      expected.alice += leftDelta
      expected.bob += rightDelta
    } else {
      expected.bob += leftDelta
      expected.alice += rightDelta
    }
  }
  return { adds, removes, expected }
}

async function fundLedger(alice: TestNode, bob: TestNode): Promise<Bytes32> {
  const id = await alice.engine.directFund({ counterparty: bob.address, myDeposit: DEPOSIT, theirDeposit: DEPOSIT, nonce: 7n })
  const done = await alice.engine.waitForObjective(id)
  expect(done.status).toBe('completed')
  const ledgerId = id.slice('directfund:'.length) as Bytes32
  await eventually('bob has the ledger', () => bob.engine.getLedger(ledgerId) !== undefined)
  return ledgerId
}

function agreed(alice: TestNode, bob: TestNode, ledgerId: Bytes32, guarantees: number): boolean {
  const a = alice.engine.getLedger(ledgerId)
  const b = bob.engine.getLedger(ledgerId)
  if (!a || !b || a.role !== 'leader' || b.role !== 'follower') return false
  return a.queue.length === 0 && a.supported.vars.turnNum === b.supported.vars.turnNum && a.supported.vars.outcome.guarantees.length === guarantees
}

async function runLifecycle(alice: TestNode, bob: TestNode, during: () => Promise<void> = async () => {}) {
  const ledgerId = await fundLedger(alice, bob)
  const nodes = { alice, bob }
  const p = plan(addressToDestination(alice.address), addressToDestination(bob.address))

  const other = (who: 'alice' | 'bob') => nodes[who === 'alice' ? 'bob' : 'alice']
  await Promise.all(p.adds.map(({ initiator, proposal }) => updateAgreed(nodes[initiator], other(initiator), ledgerId, proposal)))
  await during()
  await eventually('100 guarantees on both sides', () => agreed(nodes.alice, nodes.bob, ledgerId, GUARANTEES))
  const withGuarantees = nodes.alice.engine.getLedger(ledgerId)!
  expect(totalOf(withGuarantees.supported.vars.outcome)).toBe(2n * DEPOSIT)
  expect(hashState(supportedSignedState(withGuarantees).state)).toBe(hashState(supportedSignedState(nodes.bob.engine.getLedger(ledgerId)!).state))

  await Promise.all(p.removes.map(({ initiator, proposal }) => updateAgreed(nodes[initiator], other(initiator), ledgerId, proposal)))
  await during()
  await eventually('all guarantees removed on both sides', () => agreed(nodes.alice, nodes.bob, ledgerId, 0))
  const emptied = nodes.alice.engine.getLedger(ledgerId)!
  expect(hashState(supportedSignedState(emptied).state)).toBe(hashState(supportedSignedState(nodes.bob.engine.getLedger(ledgerId)!).state))
  expect(emptied.supported.vars.outcome.leader.amount).toBe(p.expected.alice)
  expect(emptied.supported.vars.outcome.follower.amount).toBe(p.expected.bob)
  // every objective on both sides completed: nothing failed, nothing left waiting
  for (const node of [nodes.alice, nodes.bob]) {
    const objectives = node.engine.objectives().filter((o) => o.kind === 'ledgerUpdate')
    expect(objectives.length).toBe(2 * GUARANTEES)
    expect(objectives.filter((o) => o.status !== 'completed').map((o) => [o.id, o.status, o.failure])).toEqual([])
  }

  const before = { alice: net!.chain.balanceOf(alice.address, ETH), bob: net!.chain.balanceOf(bob.address, ETH) }
  const defundId = await nodes.alice.engine.directDefund(ledgerId)
  expect((await nodes.alice.engine.waitForObjective(defundId)).status).toBe('completed')
  await eventually('bob completes the defund', () => nodes.bob.engine.getObjective(defundId)?.objective.status === 'completed')
  // on chain: each got exactly its final ledger balance; nothing created or lost
  expect(net!.chain.balanceOf(alice.address, ETH) - before.alice).toBe(p.expected.alice)
  expect(net!.chain.balanceOf(bob.address, ETH) - before.bob).toBe(p.expected.bob)
  expect(p.expected.alice + p.expected.bob).toBe(2n * DEPOSIT)
  expect(nodes.alice.engine.getLedger(ledgerId)).toBeUndefined()
  return ledgerId
}

describe('ledger lifecycle between two engines', () => {
  test('clean network: fund, 100 guarantees added and removed from both sides, defund', async () => {
    net = await createTestNetwork({ network: { seed: 1 } })
    const alice = await net.node('alice', ALICE)
    const bob = await net.node('bob', BOB)
    await runLifecycle(alice, bob)
    expect(alice.engine.rejections.counts).toEqual({})
    expect(bob.engine.rejections.counts).toEqual({})
  }, 60_000)

  test('lossy network: 20% loss, duplication and reordering, random delay', async () => {
    net = await createTestNetwork({ network: { seed: 2, drop: 0.2, duplicate: 0.2, reorder: 0.2, maxDelayMs: 3 } })
    const alice = await net.node('alice', ALICE)
    const bob = await net.node('bob', BOB)
    await runLifecycle(alice, bob)
    const stats = net.network.stats
    expect(stats.dropped).toBeGreaterThan(0)
    expect(stats.duplicated).toBeGreaterThan(0)
    expect(stats.reordered).toBeGreaterThan(0)
  }, 120_000)

  test('crash-restart: bob restarts from his RocksDB store at random moments', async () => {
    const seed = Number(process.env.LEDGER_SEED ?? 3)
    net = await createTestNetwork({ network: { seed, drop: 0.05, maxDelayMs: 2 }, durable: true })
    const alice = await net.node('alice', ALICE)
    const bob = await net.node('bob', BOB)
    const random = createRandom(seed)
    let restarts = 0
    await runLifecycle(alice, bob, async () => {
      for (let i = 0; i < 3; i++) {
        await new Promise((resolve) => setTimeout(resolve, random.int(40)))
        await bob.restart()
        restarts++
      }
    })
    expect(restarts).toBe(6)
  }, 120_000)
})

describe('hub scenario (P8)', () => {
  test('Alice–Hub and Hub–Bob ledgers both lock a guarantee for one virtual channel, then release it; the hub ends net-zero', async () => {
    net = await createTestNetwork({ network: { seed: 4, drop: 0.1, duplicate: 0.1, reorder: 0.1 } })
    const alice = await net.node('alice', ALICE)
    const hub = await net.node('hub', `0x${'33'.repeat(32)}`)
    const bob = await net.node('bob', BOB)
    const open = async (leader: TestNode, follower: TestNode) => {
      const id = await leader.engine.directFund({ counterparty: follower.address, myDeposit: 100n, theirDeposit: 100n, nonce: 11n })
      await leader.engine.waitForObjective(id)
      const ledgerId = id.slice('directfund:'.length) as Bytes32
      await eventually('follower has the ledger', () => follower.engine.getLedger(ledgerId) !== undefined)
      return ledgerId
    }
    const aliceHub = await open(alice, hub) // hub follows here
    const hubBob = await open(hub, bob) // and leads here
    const [a, h, b] = [alice, hub, bob].map((n) => addressToDestination(n.address)) as [Destination, Destination, Destination]
    const virtual = target(999) // V's outcome: alice 10, bob 5
    // each side of each ledger initiates once: alice (leader) in L_AH, bob (follower) in L_HB
    const ids = await Promise.all([
      updateAgreed(alice, hub, aliceHub, { kind: 'add', target: virtual, left: a, right: h, leftAmount: 10n, rightAmount: 5n }),
      updateAgreed(bob, hub, hubBob, { kind: 'add', target: virtual, left: h, right: b, leftAmount: 10n, rightAmount: 5n }),
    ])
    await eventually('both guarantees supported at the hub', () =>
      [aliceHub, hubBob].every((l) => hub.engine.getLedger(l)?.supported.vars.outcome.guarantees.some((g) => g.target === virtual)),
    )
    for (const id of ids) await eventually(`${id} completes everywhere`, () => [alice, hub, bob].filter((n) => n.engine.getObjective(id)).every((n) => n.engine.getObjective(id)!.objective.status === 'completed'))
    expect(hub.engine.getLedger(aliceHub)!.supported.vars.outcome.follower.amount).toBe(95n) // hub locked bob's 5 towards alice's side
    expect(hub.engine.getLedger(hubBob)!.supported.vars.outcome.leader.amount).toBe(90n) // hub locked alice's 10 towards bob
    // V closes paying alice 7 and bob 8: the hub relays 3 from L_HB to L_AH
    await Promise.all([
      updateAgreed(hub, alice, aliceHub, { kind: 'remove', target: virtual, leftAmount: 7n }),
      updateAgreed(hub, bob, hubBob, { kind: 'remove', target: virtual, leftAmount: 7n }),
    ])
    const released = (node: TestNode, ledgerId: Bytes32) => {
      const ledger = node.engine.getLedger(ledgerId)
      return !!ledger && ledger.supported.vars.outcome.guarantees.length === 0 && (ledger.role === 'follower' || ledger.queue.length === 0)
    }
    await eventually('guarantees released everywhere', () => released(hub, aliceHub) && released(hub, hubBob) && released(alice, aliceHub) && released(bob, hubBob))
    const ah = hub.engine.getLedger(aliceHub)!.supported.vars.outcome
    const hb = hub.engine.getLedger(hubBob)!.supported.vars.outcome
    expect([ah.leader.amount, ah.follower.amount]).toEqual([97n, 103n]) // alice paid 3
    expect([hb.leader.amount, hb.follower.amount]).toEqual([97n, 103n]) // bob received 3
    expect(ah.follower.amount + hb.leader.amount).toBe(200n) // the hub is net-zero across its ledgers
  }, 60_000)
})
