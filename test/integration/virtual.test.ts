// Virtual payment channels through intermediaries (issue 5): open over the ledgers along the path, pay
// with vouchers that touch only payer and payee, close by payer or payee; afterwards every ledger's
// balances are exactly what the payments imply and intermediaries are net-zero.
import { afterEach, describe, expect, test } from 'vitest'
import type { Bytes32, Hex } from '../../src/core/types.js'
import type { TestNetwork, TestNode } from '../support/ledgerNetwork.js'
import { createTestNetwork, eventually } from '../support/ledgerNetwork.js'
import { toBytes32 } from '../../src/core/canonical.js'

const DEPOSIT = 1000n
let net: TestNetwork | undefined
afterEach(async () => {
  await net?.close()
  net = undefined
})

const key = (i: number) => `0x${(i + 1).toString(16).padStart(2, '0').repeat(32)}` as Hex

async function openLedger(leader: TestNode, follower: TestNode, nonce: bigint): Promise<Bytes32> {
  const id = await leader.engine.directFund({ counterparty: follower.address, myDeposit: DEPOSIT, theirDeposit: DEPOSIT, nonce })
  expect((await leader.engine.waitForObjective(id)).status).toBe('completed')
  const ledgerId = id.slice('directfund:'.length) as Bytes32
  await eventually('follower has the ledger', () => follower.engine.getLedger(ledgerId) !== undefined)
  return ledgerId
}

/** A path alice → hubs… → bob, each neighbouring pair with a funded ledger (the left one leads). */
async function path(hops: number, network: Parameters<typeof createTestNetwork>[0]['network']) {
  net = await createTestNetwork({ network })
  const nodes: TestNode[] = []
  for (let i = 0; i < hops + 2; i++) nodes.push(await net.node(`p${i}`, key(i)))
  const ledgers: Bytes32[] = []
  for (let i = 0; i + 1 < nodes.length; i++) ledgers.push(await openLedger(nodes[i]!, nodes[i + 1]!, BigInt(i + 1)))
  return { nodes, ledgers, alice: nodes[0]!, bob: nodes[nodes.length - 1]! }
}

function balances(node: TestNode, ledgerId: Bytes32): [bigint, bigint] {
  const o = node.engine.getLedger(ledgerId)!.supported.vars.outcome
  return [o.leader.amount, o.follower.amount]
}

async function openChannel(alice: TestNode, bob: TestNode, hubs: TestNode[], amount: bigint, nonce: bigint): Promise<Bytes32> {
  const id = await alice.engine.createPaymentChannel({ counterparty: bob.address, intermediaries: hubs.map((h) => h.address), amount, nonce })
  const done = await alice.engine.waitForObjective(id)
  expect(done.status, JSON.stringify(done.failure)).toBe('completed')
  const channelId = id.slice('virtualfund:'.length) as Bytes32
  await eventually('bob can receive', () => bob.engine.getPaymentChannel(channelId) !== undefined)
  return channelId
}

describe('virtual payment channels', () => {
  test.each([0, 1, 3, 8])('%i intermediaries: open, 20 payments, payee closes; ledgers settle exactly, hubs net-zero', async (hops) => {
    const { nodes, ledgers, alice, bob } = await path(hops, { seed: 10 + hops })
    const hubs = nodes.slice(1, -1)
    const channelId = await openChannel(alice, bob, hubs, 300n, 1n)
    // each ledger locks V's 300 from its left side (what alice put in) and nothing from the right (bob's 0)
    for (const [i, ledgerId] of ledgers.entries()) expect(balances(nodes[i]!, ledgerId)).toEqual([DEPOSIT - 300n, DEPOSIT])
    let paid = 0n
    for (let i = 1; i <= 20; i++) {
      await alice.engine.pay(channelId, BigInt(i))
      paid += BigInt(i)
    }
    await eventually('bob holds every voucher', () => bob.engine.getPaymentChannel(channelId)?.paid === paid)
    const close = await bob.engine.closePaymentChannel(channelId)
    expect((await bob.engine.waitForObjective(close)).status).toBe('completed')
    for (const node of nodes) await eventually(`${node.name} defunded`, () => node.engine.getObjective(close)?.objective.status === 'completed')
    // every ledger on the path: left side paid `paid` to the right side; hubs gain on one side what they pay on the other
    for (const [i, ledgerId] of ledgers.entries()) {
      for (const node of [nodes[i]!, nodes[i + 1]!]) expect(balances(node, ledgerId)).toEqual([DEPOSIT - paid, DEPOSIT + paid])
    }
    // vouchers touched nobody else
    for (const hub of hubs) expect(hub.engine.getPaymentChannel(channelId)).toBeUndefined()
    await expect(alice.engine.pay(channelId, 1n)).rejects.toMatchObject({ code: expect.stringMatching(/channel_(closed|closing)/) })
  }, 60_000)

  test('vouchers for unknown channels, from strangers, or above the balance are refused; duplicates are no-ops', async () => {
    const { alice, bob, nodes } = await path(1, { seed: 21 })
    const channelId = await openChannel(alice, bob, nodes.slice(1, -1), 10n, 2n)
    const v5 = await alice.engine.createVoucher(channelId, 5n)
    expect((await bob.engine.receiveVoucher(v5)).paid).toBe(5n)
    expect((await bob.engine.receiveVoucher(v5)).paid).toBe(5n) // duplicate
    const v3 = { ...v5, amount: 3n }
    expect((await bob.engine.receiveVoucher(v3)).paid).toBe(5n) // smaller: a no-op, not even checked
    await expect(bob.engine.receiveVoucher({ ...v5, amount: 11n })).rejects.toMatchObject({ code: 'voucher_refused' })
    await expect(bob.engine.receiveVoucher({ ...v5, amount: 6n })).rejects.toMatchObject({ code: 'voucher_refused' }) // signature is for 5
    await expect(bob.engine.receiveVoucher({ ...v5, channelId: toBytes32(`0x${'12'.repeat(32)}`) })).rejects.toMatchObject({ code: 'unknown_channel' })
    await expect(alice.engine.pay(channelId, 6n)).rejects.toMatchObject({ code: 'payment_refused' })
    await expect(bob.engine.pay(channelId, 1n)).rejects.toMatchObject({ code: 'payment_refused' })
    // the payer closes: the final state reflects the largest voucher
    const close = await alice.engine.closePaymentChannel(channelId)
    expect((await alice.engine.waitForObjective(close)).status).toBe('completed')
    await eventually('bob defunded', () => bob.engine.getObjective(close)?.objective.status === 'completed')
    await expect(bob.engine.receiveVoucher(v5)).rejects.toMatchObject({ code: 'channel_closed' })
  }, 60_000)

  test('a voucher for a channel that is not open yet is refused, and accepted once it is', async () => {
    const { alice, bob, nodes } = await path(1, { seed: 22 })
    const hub = nodes[1]!
    // the hub goes quiet: V's prefund reaches bob, but its guarantees cannot land, so V never opens
    net!.network.partition(alice.address, hub.address, true)
    net!.network.partition(hub.address, bob.address, true)
    const id = await alice.engine.createPaymentChannel({ counterparty: bob.address, intermediaries: [hub.address], amount: 10n, nonce: 3n })
    const channelId = id.slice('virtualfund:'.length) as Bytes32
    await eventually('bob knows of V', () => bob.engine.getObjective(id) !== undefined)
    await expect(alice.engine.createVoucher(channelId, 1n)).rejects.toMatchObject({ code: 'channel_not_open' }) // nor can the payer pay
    await expect(bob.engine.receiveVoucher({ channelId, amount: 1n, signature: `0x${'11'.repeat(64)}1b` })).rejects.toMatchObject({ code: 'channel_not_open' })
    net!.network.partition(alice.address, hub.address, false)
    net!.network.partition(hub.address, bob.address, false)
    expect((await alice.engine.waitForObjective(id)).status).toBe('completed')
    await eventually('bob opened V', () => bob.engine.getPaymentChannel(channelId) !== undefined)
    const voucher = await alice.engine.createVoucher(channelId, 1n)
    expect((await bob.engine.receiveVoucher(voucher)).paid).toBe(1n)
  }, 60_000)

  test('a channel the path cannot fund fails everywhere with the ledger\'s reason', async () => {
    const { alice, bob, nodes } = await path(1, { seed: 40 })
    const id = await alice.engine.createPaymentChannel({ counterparty: bob.address, intermediaries: [nodes[1]!.address], amount: DEPOSIT + 1n, nonce: 5n })
    const failed = await alice.engine.waitForObjective(id)
    expect(failed.status).toBe('failed')
    expect(failed.failure?.code).toBe('insufficient_funds')
    for (const node of nodes.slice(1)) await eventually(`${node.name} learns`, () => node.engine.getObjective(id)?.objective.status === 'failed')
  }, 60_000)

  test('10 channels × 100 payments through one hub on a lossy network, closed from both ends while payments are in flight', async () => {
    const { alice, bob, nodes, ledgers } = await path(1, { seed: 33, drop: 0.2, duplicate: 0.1, reorder: 0.2, maxDelayMs: 2 })
    const hub = nodes[1]!
    const channels = await Promise.all(Array.from({ length: 10 }, (_, i) => openChannel(alice, bob, [hub], 100n, BigInt(100 + i))))
    const paid = new Map(channels.map((c) => [c, 0n]))
    for (let round = 0; round < 100; round++) {
      await Promise.all(channels.map(async (c) => {
        await alice.engine.pay(c, 1n)
        paid.set(c, paid.get(c)! + 1n)
      }))
    }
    // close half from each end, immediately (some vouchers still travelling)
    const closes = await Promise.all(channels.map((c, i) => (i % 2 ? alice : bob).engine.closePaymentChannel(c)))
    for (const id of closes) {
      for (const node of [alice, hub, bob]) await eventually(`${id} at ${node.name}`, () => node.engine.getObjective(id)?.objective.status === 'completed', 60_000)
    }
    const total = [...paid.values()].reduce((a, b) => a + b, 0n)
    expect(total).toBe(1000n)
    for (const node of [alice, hub]) expect(balances(node, ledgers[0]!)).toEqual([DEPOSIT - total, DEPOSIT + total])
    for (const node of [hub, bob]) expect(balances(node, ledgers[1]!)).toEqual([DEPOSIT - total, DEPOSIT + total])
  }, 120_000)
})

describe('virtual channels across crashes', () => {
  test('3 hops on a lossy network with the middle hub crash-restarted from disk: payments land exactly once', async () => {
    net = await createTestNetwork({ network: { seed: 50, drop: 0.1, duplicate: 0.1, reorder: 0.1, maxDelayMs: 2 }, durable: true })
    const nodes: TestNode[] = []
    for (let i = 0; i < 5; i++) nodes.push(await net.node(`p${i}`, key(i)))
    const ledgers: Bytes32[] = []
    for (let i = 0; i + 1 < nodes.length; i++) ledgers.push(await openLedger(nodes[i]!, nodes[i + 1]!, BigInt(i + 1)))
    const [alice, bob, hub] = [nodes[0]!, nodes[4]!, nodes[2]!]
    const channels = await Promise.all([1n, 2n].map((nonce) => openChannel(alice, bob, nodes.slice(1, 4), 100n, nonce)))
    let payments = 0
    for (let i = 0; i < 30; i++) {
      for (const c of channels) await alice.engine.pay(c, 1n)
      payments++
      if (i === 10 || i === 20) await hub.restart() // vouchers do not pass through hubs, closes do
    }
    const closes = await Promise.all(channels.map((c, i) => (i ? alice : bob).engine.closePaymentChannel(c)))
    await hub.restart()
    for (const id of closes) for (const node of nodes) await eventually(`${id} at ${node.name}`, () => node.engine.getObjective(id)?.objective.status === 'completed', 60_000)
    const total = BigInt(payments * channels.length)
    for (const [i, ledgerId] of ledgers.entries()) {
      for (const node of [nodes[i]!, nodes[i + 1]!]) expect(balances(node, ledgerId)).toEqual([DEPOSIT - total, DEPOSIT + total])
    }
  }, 120_000)
})

describe('what an objective waits for', () => {
  test('survives a restart for a VirtualFund stalled on its far side (it was derived for ledger objectives only)', async () => {
    const { nodes, alice, bob } = await path(1, { seed: 61 })
    const hub = nodes[1]!
    net!.network.partition(hub.address, bob.address, true)
    const id = await alice.engine.createPaymentChannel({ counterparty: bob.address, intermediaries: [hub.address], amount: 10n, nonce: 9n })
    await eventually('the hub holds the opening', () => hub.engine.getObjective(id) !== undefined)
    await alice.engine.idle()
    const before = alice.engine.getObjective(id)!
    expect(before.objective.status).toBe('approved')
    expect(before.waitingFor).toBeDefined()
    await alice.restart()
    const after = alice.engine.getObjective(id)!
    expect(after.waitingFor).toBe(before.waitingFor)
    net!.network.partition(hub.address, bob.address, false)
    expect((await alice.engine.waitForObjective(id)).status).toBe('completed')
  })
})
