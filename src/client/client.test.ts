// The typed client against real servers (HTTP and WebSocket on 127.0.0.1) in front of in-memory engines:
// every method's happy path, the notification sequence of a whole payment channel's life, the waitFor*
// helpers, and typed errors for refusals, bad input, bad auth and bad answers.
import http from 'node:http'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { Address, Bytes32, Hex } from '../core/types.js'
import type { TestNetwork, TestNode } from '../../test/support/ledgerNetwork.js'
import { createTestNetwork } from '../../test/support/ledgerNetwork.js'
import { RpcServer } from '../rpc/server.js'
import type { RpcLogger } from '../rpc/server.js'
import type { Notification } from './index.js'
import { ChannelsClient, InvalidResponseError, ObjectiveFailedError, RpcError, RpcErrorCode, WaitTimeoutError } from './index.js'
import { toBytes32 } from '../core/canonical.js'

const SECRET = 'client-test-secret-0123456789'
const DEPOSIT = 1000n
const key = (i: number) => `0x${(i + 1).toString(16).padStart(2, '0').repeat(32)}` as Hex
const quiet: RpcLogger = { info: () => undefined, warn: () => undefined, debug: () => undefined, error: (obj) => console.error(obj) }

interface Party {
  readonly node: TestNode
  readonly server: RpcServer
  readonly client: ChannelsClient
  readonly address: Address
}

let net: TestNetwork
let alice: Party
let hub: Party
let bob: Party
let aliceLedger: Bytes32
let bobLedger: Bytes32
let nonce = 100n

async function party(name: string, i: number): Promise<Party> {
  const node = await net.node(name, key(i))
  const server = await RpcServer.start({
    node: { engine: node.engine, version: `test-${name}`, chainId: 31337, peerInfo: () => ({ peerId: `peer-${name}`, multiaddrs: [`/memory/${name}`] }), newNonce: () => ++nonce },
    secret: SECRET,
    logger: quiet,
  })
  const client = await ChannelsClient.connect({ url: server.url, secret: SECRET })
  return { node, server, client, address: node.address }
}

beforeAll(async () => {
  net = await createTestNetwork({ network: { seed: 3 } })
  alice = await party('alice', 0)
  hub = await party('hub', 1)
  bob = await party('bob', 2)
})

afterAll(async () => {
  for (const p of [alice, hub, bob]) {
    await p?.client.close()
    await p?.server.close()
  }
  await net?.close()
})

/** Collects a client's notifications of `topics` from now on. */
async function record(client: ChannelsClient, topics: Parameters<ChannelsClient['subscribe']>[0]) {
  const seen: Notification[] = []
  const stop = await client.subscribe(topics, (n) => seen.push(n))
  return { seen, stop }
}

describe('node info', () => {
  test('address, version, node info', async () => {
    expect(await alice.client.getAddress()).toBe(alice.address)
    expect(await alice.client.version()).toBe('test-alice')
    expect(await alice.client.getNodeInfo()).toEqual({ address: alice.address, version: 'test-alice', chainId: 31337, peerId: 'peer-alice', multiaddrs: ['/memory/alice'] })
  })

  test('the OpenRPC document', async () => {
    const document = await alice.client.discover()
    expect(document.openrpc).toBe('1.2.6')
    expect(document.methods.map((m) => m.name)).toContain('create_payment_channel')
  })
})

describe('ledger channels', () => {
  test('alice and bob each open a ledger with the hub; both sides see it open', async () => {
    const opened = await Promise.all(
      [alice, bob].map(async (p) => {
        const started = await p.client.createLedgerChannel({ counterparty: hub.address, myDeposit: DEPOSIT, theirDeposit: DEPOSIT, challengeDuration: 3600 })
        expect(started.objectiveId).toBe(`directfund:${started.channelId}`)
        const done = await p.client.waitForObjective(started.objectiveId)
        expect(done).toMatchObject({ id: started.objectiveId, kind: 'directfund', status: 'completed', waitingFor: null, failure: null, channelId: started.channelId })
        return started.channelId
      }),
    )
    ;[aliceLedger, bobLedger] = opened as [Bytes32, Bytes32]
    const mine = await alice.client.getLedgerChannel(aliceLedger)
    expect(mine).toMatchObject({
      channelId: aliceLedger,
      status: 'open',
      participants: [alice.address, hub.address],
      leader: alice.address,
      follower: hub.address,
      myRole: 'leader',
      counterparty: hub.address,
      asset: '0x0000000000000000000000000000000000000000',
      challengeDuration: 3600,
      myBalance: DEPOSIT,
      theirBalance: DEPOSIT,
      guarantees: [],
      holdings: 2n * DEPOSIT,
    })
    expect(typeof mine.nonce).toBe('bigint')
    const theirs = await hub.client.waitForLedgerChannel(aliceLedger, (l) => l.status === 'open')
    expect(theirs).toMatchObject({ myRole: 'follower', counterparty: alice.address, myBalance: DEPOSIT })
    expect((await hub.client.getAllLedgerChannels()).map((l) => l.channelId).sort()).toEqual([aliceLedger, bobLedger].sort())
  })
})

describe('a payment channel from alice to bob through the hub', () => {
  let channelId: Bytes32

  test('open, 3 payments, close: notifications arrive in order on both ends', async () => {
    const payer = await record(alice.client, ['objective_completed', 'payment_channel_updated'])
    const payee = await record(bob.client, ['payment_channel_updated', 'objective_completed'])
    const started = await alice.client.createPaymentChannel({ counterparty: bob.address, intermediaries: [hub.address], amount: 100n })
    channelId = started.channelId
    expect(await alice.client.waitForObjective(started.objectiveId)).toMatchObject({ kind: 'virtualfund', status: 'completed' })
    await bob.client.waitForPaymentChannel(channelId, (pc) => pc.status === 'open')
    let total = 0n
    for (const amount of [1n, 2n, 3n]) {
      const voucher = await alice.client.pay(channelId, amount)
      total += amount
      expect(voucher).toMatchObject({ channelId, amount: total })
      await bob.client.waitForPaymentChannel(channelId, (pc) => pc.paid === total)
    }
    const close = await alice.client.closePaymentChannel(channelId)
    expect(await alice.client.waitForObjective(close.objectiveId)).toMatchObject({ kind: 'virtualdefund', status: 'completed' })
    await bob.client.waitForPaymentChannel(channelId, (pc) => pc.status === 'closed')
    await alice.client.waitForPaymentChannel(channelId, (pc) => pc.status === 'closed')
    await payer.stop()
    await payee.stop()

    // What each end saw of this channel, in order; an update that repeats the previous view is folded.
    const story = (seen: Notification[]) =>
      seen
        .map((n) => {
          if (n.topic === 'payment_channel_updated') return n.result.channelId === channelId ? `updated ${n.result.status} paid=${n.result.paid}` : undefined
          if (n.topic === 'objective_completed') return n.result.channelId === channelId ? `completed ${n.result.kind}` : undefined
          return undefined
        })
        .filter((line, i, all): line is string => line !== undefined && line !== all.slice(0, i).filter(Boolean).at(-1))
    expect(story(payee.seen)).toEqual([
      'updated opening paid=0',
      'completed virtualfund',
      'updated open paid=0',
      'updated open paid=1',
      'updated open paid=3',
      'updated open paid=6',
      'updated closing paid=6',
      'completed virtualdefund',
      'updated closed paid=6',
    ])
    expect(story(payer.seen)).toEqual([
      'updated opening paid=0',
      'completed virtualfund',
      'updated open paid=0',
      'updated open paid=1',
      'updated open paid=3',
      'updated open paid=6',
      'updated closing paid=6',
      'completed virtualdefund',
      'updated closed paid=6',
    ])
    // every notification names the subscription it belongs to
    expect(new Set(payee.seen.map((n) => n.subscription)).size).toBe(1)
  })

  test('each party\'s view of the closed channel', async () => {
    expect(await bob.client.getPaymentChannel(channelId)).toMatchObject({
      channelId,
      status: 'closed',
      role: 'payee',
      payer: alice.address,
      payee: bob.address,
      intermediaries: [hub.address],
      startingBalance: 100n,
      paid: 6n,
      remaining: 94n,
      voucher: { channelId, amount: 6n },
    })
    expect(await hub.client.getPaymentChannel(channelId)).toMatchObject({ role: 'intermediary', status: 'closed', paid: 6n, voucher: null })
    expect((await alice.client.getLedgerChannel(aliceLedger)).myBalance).toBe(DEPOSIT - 6n)
  })

  test('payment channels by ledger: the hub sees it on both of its ledgers, bob on his', async () => {
    for (const ledger of [aliceLedger, bobLedger]) expect((await hub.client.getPaymentChannelsByLedger(ledger)).map((pc) => pc.channelId)).toContain(channelId)
    expect((await bob.client.getPaymentChannelsByLedger(bobLedger)).map((pc) => pc.channelId)).toEqual([channelId])
  })

  test('paying a closed channel is refused with the engine\'s code', async () => {
    const error = await alice.client.pay(channelId, 1n).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RpcError)
    expect(error).toMatchObject({ code: RpcErrorCode.refused, data: { code: expect.stringMatching(/^channel_clos(ed|ing)$/) } })
  })
})

describe('vouchers out of band, on a direct channel', () => {
  test('alice creates a voucher, the hub redeems it; a duplicate is a no-op; a forged one is refused', async () => {
    const started = await alice.client.createPaymentChannel({ counterparty: hub.address, amount: 50n, nonce: 7n })
    await alice.client.waitForObjective(started.objectiveId)
    await hub.client.waitForPaymentChannel(started.channelId, (pc) => pc.status === 'open')
    const voucher = await alice.client.createVoucher(started.channelId, 5n)
    expect(voucher.amount).toBe(5n)
    expect(await hub.client.receiveVoucher(voucher)).toMatchObject({ channelId: started.channelId, role: 'payee', paid: 5n, remaining: 45n })
    expect((await hub.client.receiveVoucher(voucher)).paid).toBe(5n)
    await expect(hub.client.receiveVoucher({ ...voucher, amount: 6n })).rejects.toMatchObject({ code: RpcErrorCode.refused, data: { code: 'voucher_refused' } })
    expect((await alice.client.getPaymentChannelsByLedger(aliceLedger)).map((pc) => pc.channelId)).toContain(started.channelId)
  })
})

describe('objectives', () => {
  test('getObjective and a wait that ends in failure', async () => {
    const started = await alice.client.createPaymentChannel({ counterparty: bob.address, intermediaries: [hub.address], amount: DEPOSIT * 10n })
    const error = await alice.client.waitForObjective(started.objectiveId).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ObjectiveFailedError)
    expect((error as ObjectiveFailedError).objective).toMatchObject({ status: 'failed', failure: { code: 'insufficient_funds' } })
    expect(await alice.client.getObjective(started.objectiveId)).toMatchObject({ id: started.objectiveId, kind: 'virtualfund', status: 'failed' })
    expect(await alice.client.getPaymentChannel(started.channelId)).toMatchObject({ status: 'failed' })
  })

  test('a wait for an objective nobody starts times out', async () => {
    await expect(alice.client.waitForObjective('directfund:0x00', { timeoutMs: 20 })).rejects.toBeInstanceOf(WaitTimeoutError)
  })

  test('bob closes his ledger: closed, with its final balances', async () => {
    const { objectiveId } = await bob.client.closeLedgerChannel(bobLedger)
    expect(await bob.client.waitForObjective(objectiveId)).toMatchObject({ kind: 'directdefund', status: 'completed' })
    expect(await bob.client.getLedgerChannel(bobLedger)).toMatchObject({ status: 'closed', myBalance: DEPOSIT + 6n, theirBalance: DEPOSIT - 6n, guarantees: [] })
  })
})

describe('typed errors', () => {
  test('unknown channels are -32002 with the engine\'s code', async () => {
    const unknown = `0x${'ee'.repeat(32)}` as Bytes32
    await expect(alice.client.getPaymentChannel(unknown)).rejects.toMatchObject({ code: RpcErrorCode.notFound, data: { code: 'unknown_channel' } })
    await expect(alice.client.getLedgerChannel(unknown)).rejects.toMatchObject({ code: RpcErrorCode.notFound, data: { code: 'no_such_ledger' } })
  })

  test('params the wire cannot carry are refused before sending', async () => {
    await expect(alice.client.createLedgerChannel({ counterparty: hub.address, myDeposit: -1n, theirDeposit: 1n })).rejects.toMatchObject({ code: RpcErrorCode.invalidParams })
    await expect(alice.client.pay(toBytes32(`0x${'ee'.repeat(32)}`), 2n ** 256n)).rejects.toMatchObject({ code: RpcErrorCode.invalidParams })
  })

  test('a wrong secret: over HTTP and on the WebSocket upgrade', async () => {
    for (const ws of [false, true]) {
      const error = await ChannelsClient.connect({ url: alice.server.url, secret: 'wrong-secret-wrong-secret', ws }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(RpcError)
      expect(error).toMatchObject({ code: RpcErrorCode.unauthorized })
    }
  })

  test('answers that break the contract are InvalidResponseError', async () => {
    const answers = [
      'not json',
      JSON.stringify({ jsonrpc: '2.0', id: 1, result: 5 }), // version must be a string
      JSON.stringify({ hello: 'world' }),
      JSON.stringify({ jsonrpc: '2.0', id: 999, result: 'x' }), // another call's answer
    ]
    let next = 0
    const fake = http.createServer((_req, res) => res.end(answers[next++]))
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve))
    try {
      const url = `http://127.0.0.1:${(fake.address() as { port: number }).port}`
      for (let i = 0; i < answers.length; i++) {
        await expect(ChannelsClient.connect({ url, secret: SECRET })).rejects.toBeInstanceOf(InvalidResponseError)
      }
    } finally {
      fake.closeAllConnections()
      await new Promise((resolve) => fake.close(resolve))
    }
  })
})
