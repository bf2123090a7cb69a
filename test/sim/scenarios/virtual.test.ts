// Virtual payment channels through intermediaries (issue 5), on the simulator's seeded scheduler (issue 14): open
// over the ledgers along the path, pay with vouchers that touch only payer and payee, close by payer or payee;
// afterwards every ledger's balances are exactly what the payments imply and intermediaries are net-zero.
import { describe, expect, test } from 'vitest'
import type { Bytes32 } from '../../../src/core/types.js'
import type { Voucher } from '../../../src/core/voucher.js'
import { toBytes32 } from '../../../src/core/canonical.js'
import type { PaymentChannel } from '../../../src/protocols/payments/paymentChannel.js'
import type { SimNode } from '../cluster.js'
import { ETH } from '../cluster.js'
import { Scenario } from '../scenario.js'
import type { ScenarioOptions } from '../scenario.js'

const DEPOSIT = 1000n

async function openLedger(s: Scenario, leader: SimNode, follower: SimNode, nonce: bigint): Promise<Bytes32> {
  const id = await s.call(leader, { op: 'directFund', counterparty: follower.address, asset: ETH, myDeposit: DEPOSIT, theirDeposit: DEPOSIT, nonce, challengeDuration: 86_400 })
  expect((await s.settled(leader, id)).status).toBe('completed')
  const ledgerId = toBytes32(id.slice('directfund:'.length))
  await s.until('the follower has the ledger', () => follower.up && follower.machine.tables.ledgers.get(ledgerId) !== undefined)
  return ledgerId
}

/** A path alice → hubs… → bob, each neighbouring pair with a funded ledger (the left one leads). */
async function path(hops: number, options: Omit<ScenarioOptions, 'nodes'>) {
  const s = await Scenario.start({ ...options, nodes: hops + 2 })
  const nodes = s.nodes
  const ledgers: Bytes32[] = []
  for (let i = 0; i + 1 < nodes.length; i++) ledgers.push(await openLedger(s, nodes[i]!, nodes[i + 1]!, BigInt(i + 1)))
  return { s, nodes, ledgers, alice: nodes[0]!, bob: nodes[nodes.length - 1]!, hubs: nodes.slice(1, -1) }
}

const balances = (node: SimNode, ledgerId: Bytes32): [bigint, bigint] => {
  const o = node.machine.tables.ledgers.get(ledgerId)!.supported.vars.outcome
  return [o.leader.amount, o.follower.amount]
}
const paymentChannel = (node: SimNode, channelId: Bytes32): PaymentChannel | undefined => (node.up ? node.machine.tables.payments.get(channelId) : undefined)

const create = (s: Scenario, alice: SimNode, bob: SimNode, hubs: readonly SimNode[], amount: bigint, nonce: bigint) =>
  s.call(alice, { op: 'createPaymentChannel', counterparty: bob.address, intermediaries: hubs.map((h) => h.address), asset: ETH, amount, nonce, challengeDuration: 86_400 })

async function openChannel(s: Scenario, alice: SimNode, bob: SimNode, hubs: readonly SimNode[], amount: bigint, nonce: bigint): Promise<Bytes32> {
  const id = await create(s, alice, bob, hubs, amount, nonce)
  const done = await s.settled(alice, id)
  expect(done.status, JSON.stringify(done.failure)).toBe('completed')
  const channelId = toBytes32(id.slice('virtualfund:'.length))
  await s.until('bob can receive', () => paymentChannel(bob, channelId) !== undefined)
  return channelId
}

const pay = (s: Scenario, node: SimNode, channelId: Bytes32, amount: bigint) => s.call<Voucher>(node, { op: 'pay', channelId, amount, send: true })
const createVoucher = (s: Scenario, node: SimNode, channelId: Bytes32, amount: bigint) => s.call<Voucher>(node, { op: 'pay', channelId, amount, send: false })
const receiveVoucher = (s: Scenario, node: SimNode, voucher: Voucher) => s.call<PaymentChannel>(node, { op: 'receiveVoucher', voucher })
const close = (s: Scenario, node: SimNode, channelId: Bytes32) => s.call(node, { op: 'closePaymentChannel', channelId })

/** Waits until `id` completed at every node that knows it, and at least at `must`. */
async function completedEverywhere(s: Scenario, id: string, must: readonly SimNode[]): Promise<void> {
  for (const node of must) expect((await s.settled(node, id)).status).toBe('completed')
  await s.quiesce()
  for (const node of s.nodes) if (s.objective(node, id)) expect(s.objective(node, id)!.status, `${id} at ${node.name}`).toBe('completed')
}

describe('virtual payment channels', () => {
  test.each([0, 1, 3, 8])('%i intermediaries: open, 20 payments, payee closes; ledgers settle exactly, hubs net-zero', async (hops) => {
    const { s, nodes, ledgers, alice, bob, hubs } = await path(hops, { seed: 10 + hops })
    const channelId = await openChannel(s, alice, bob, hubs, 300n, 1n)
    // Each ledger locks V's 300 from its left side (what alice put in) and nothing from the right (bob's 0).
    for (const [i, ledgerId] of ledgers.entries()) expect(balances(nodes[i]!, ledgerId)).toEqual([DEPOSIT - 300n, DEPOSIT])
    let paid = 0n
    for (let i = 1; i <= 20; i++) {
      await pay(s, alice, channelId, BigInt(i))
      paid += BigInt(i)
    }
    await s.until('bob holds every voucher', () => paymentChannel(bob, channelId)?.paid === paid)
    const closeId = await close(s, bob, channelId)
    await completedEverywhere(s, closeId, nodes)
    // Every ledger on the path: the left side paid `paid` to the right; hubs gain on one side what they pay on the other.
    for (const [i, ledgerId] of ledgers.entries()) {
      for (const node of [nodes[i]!, nodes[i + 1]!]) expect(balances(node, ledgerId)).toEqual([DEPOSIT - paid, DEPOSIT + paid])
    }
    // The vouchers touched nobody else.
    for (const hub of hubs) expect(paymentChannel(hub, channelId)).toBeUndefined()
    await expect(pay(s, alice, channelId, 1n)).rejects.toMatchObject({ code: expect.stringMatching(/channel_(closed|closing)/) })
    await s.checkReplays()
  }, 60_000)

  test('vouchers for unknown channels, from strangers, or above the balance are refused; duplicates are no-ops', async () => {
    const { s, alice, bob, hubs } = await path(1, { seed: 21 })
    const channelId = await openChannel(s, alice, bob, hubs, 10n, 2n)
    const v5 = await createVoucher(s, alice, channelId, 5n)
    expect((await receiveVoucher(s, bob, v5)).paid).toBe(5n)
    expect((await receiveVoucher(s, bob, v5)).paid).toBe(5n) // a duplicate
    expect((await receiveVoucher(s, bob, { ...v5, amount: 3n })).paid).toBe(5n) // smaller: a no-op, not even checked
    await expect(receiveVoucher(s, bob, { ...v5, amount: 11n })).rejects.toMatchObject({ code: 'voucher_refused' })
    await expect(receiveVoucher(s, bob, { ...v5, amount: 6n })).rejects.toMatchObject({ code: 'voucher_refused' }) // the signature is for 5
    await expect(receiveVoucher(s, bob, { ...v5, channelId: toBytes32(`0x${'12'.repeat(32)}`) })).rejects.toMatchObject({ code: 'unknown_channel' })
    await expect(pay(s, alice, channelId, 6n)).rejects.toMatchObject({ code: 'payment_refused' })
    await expect(pay(s, bob, channelId, 1n)).rejects.toMatchObject({ code: 'payment_refused' })
    // The payer closes: the final state reflects the largest voucher.
    const closeId = await close(s, alice, channelId)
    await completedEverywhere(s, closeId, [alice, bob])
    await expect(receiveVoucher(s, bob, v5)).rejects.toMatchObject({ code: 'channel_closed' })
  }, 60_000)

  test('a voucher for a channel that is not open yet is refused, and accepted once it is', async () => {
    const { s, alice, bob, hubs } = await path(1, { seed: 22 })
    const [hub] = hubs as [SimNode]
    // The hub goes quiet: V's prefund reaches bob, but its guarantees cannot land, so V never opens.
    s.cluster.network.partition(alice.address, hub.address, true)
    s.cluster.network.partition(hub.address, bob.address, true)
    const id = await create(s, alice, bob, hubs, 10n, 3n)
    const channelId = toBytes32(id.slice('virtualfund:'.length))
    await s.until('bob knows of V', () => s.objective(bob, id) !== undefined)
    await expect(createVoucher(s, alice, channelId, 1n)).rejects.toMatchObject({ code: 'channel_not_open' }) // nor can the payer pay
    await expect(receiveVoucher(s, bob, { channelId, amount: 1n, signature: `0x${'11'.repeat(64)}1b` })).rejects.toMatchObject({ code: 'channel_not_open' })
    s.cluster.network.partition(alice.address, hub.address, false)
    s.cluster.network.partition(hub.address, bob.address, false)
    expect((await s.settled(alice, id)).status).toBe('completed')
    await s.until('bob opened V', () => paymentChannel(bob, channelId) !== undefined)
    const voucher = await createVoucher(s, alice, channelId, 1n)
    expect((await receiveVoucher(s, bob, voucher)).paid).toBe(1n)
  }, 60_000)

  test("a channel the path cannot fund fails everywhere with the ledger's reason", async () => {
    const { s, alice, bob, hubs } = await path(1, { seed: 40 })
    const id = await create(s, alice, bob, hubs, DEPOSIT + 1n, 5n)
    const failed = await s.settled(alice, id)
    expect(failed.status).toBe('failed')
    expect(failed.failure?.code).toBe('insufficient_funds')
    for (const node of [...hubs, bob]) expect((await s.settled(node, id)).status, node.name).toBe('failed')
  }, 60_000)

  test('10 channels × 100 payments through one hub on a lossy network, closed from both ends while payments are in flight', async () => {
    const { s, alice, bob, hubs, ledgers } = await path(1, { seed: 33, faults: { drop: 0.2, duplicate: 0.1, reorder: 0.2 } })
    const [hub] = hubs as [SimNode]
    const channels: Bytes32[] = []
    for (let i = 0; i < 10; i++) channels.push(await openChannel(s, alice, bob, hubs, 100n, BigInt(100 + i)))
    let total = 0n
    for (let round = 0; round < 100; round++) {
      for (const c of channels) {
        await pay(s, alice, c, 1n)
        total++
      }
    }
    // Half are closed from each end at once, some vouchers still travelling.
    const closes: string[] = []
    for (const [i, c] of channels.entries()) closes.push(await close(s, i % 2 ? alice : bob, c))
    for (const id of closes) for (const node of [alice, hub, bob]) expect((await s.settled(node, id)).status).toBe('completed')
    expect(total).toBe(1000n)
    for (const node of [alice, hub]) expect(balances(node, ledgers[0]!)).toEqual([DEPOSIT - total, DEPOSIT + total])
    for (const node of [hub, bob]) expect(balances(node, ledgers[1]!)).toEqual([DEPOSIT - total, DEPOSIT + total])
    await s.checkReplays()
  }, 120_000)
})

describe('virtual channels across crashes', () => {
  test('3 hops on a lossy network with the middle hub crashing and restarting: payments land exactly once', async () => {
    const { s, nodes, ledgers, alice, bob, hubs } = await path(3, { seed: 50, faults: { drop: 0.1, duplicate: 0.1, reorder: 0.1, crash: 0.003 }, crashable: [2] })
    const hub = nodes[2]!
    const channels = [await openChannel(s, alice, bob, hubs, 100n, 1n), await openChannel(s, alice, bob, hubs, 100n, 2n)]
    let payments = 0
    for (let i = 0; i < 30; i++) {
      for (const c of channels) await pay(s, alice, c, 1n)
      payments++
      if (i === 10 || i === 20) await s.restart(hub) // vouchers do not pass through hubs, closes do
    }
    const closes = [await close(s, bob, channels[0]!), await close(s, alice, channels[1]!)]
    await s.restart(hub)
    for (const id of closes) for (const node of nodes) expect((await s.settled(node, id)).status).toBe('completed')
    expect(hub.crashes).toBeGreaterThanOrEqual(3)
    const total = BigInt(payments * channels.length)
    for (const [i, ledgerId] of ledgers.entries()) {
      for (const node of [nodes[i]!, nodes[i + 1]!]) expect(balances(node, ledgerId)).toEqual([DEPOSIT - total, DEPOSIT + total])
    }
    await s.checkReplays()
  }, 120_000)
})

describe('what an objective waits for', () => {
  test('survives a restart for a VirtualFund stalled on its far side (it was derived for ledger objectives only)', async () => {
    const { s, alice, bob, hubs } = await path(1, { seed: 61 })
    const [hub] = hubs as [SimNode]
    s.cluster.network.partition(hub.address, bob.address, true)
    const id = await create(s, alice, bob, hubs, 10n, 9n)
    await s.until('the hub holds the opening', () => s.objective(hub, id) !== undefined)
    await s.until('alice is waiting on the path', () => alice.inbox.length === 0 && alice.machine.waitingFor.get(id) !== undefined)
    expect(s.objective(alice, id)!.status).toBe('approved')
    const before = alice.machine.waitingFor.get(id)
    await s.restart(alice)
    expect(alice.machine.waitingFor.get(id)).toBe(before)
    s.cluster.network.partition(hub.address, bob.address, false)
    expect((await s.settled(alice, id)).status).toBe('completed')
  })
})
