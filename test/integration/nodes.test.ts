// Three node processes (Alice, Hub, Bob) over real libp2p on loopback, anvil with our contracts, everything
// driven through the JSON-RPC client. Alice pays Bob 1,000 times through a virtual channel funded by the
// Hub; the Hub process is SIGKILLed in the middle (while a second channel is being opened through it) and
// restarted; every payment lands exactly once, both channels and both ledgers close, and the on-chain balances of the three channel addresses check out.
import { afterAll, beforeAll, expect, test } from 'vitest'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createPublicClient, http } from 'viem'
import type { Address, Bytes32 } from '../../src/core/types.js'
import { startAnvil } from '../../src/chain/anvil.js'
import type { Anvil } from '../../src/chain/anvil.js'
import { ANVIL_DEV_KEYS, deployContracts } from '../../src/chain/deploy.js'
import type { Deployment } from '../../src/chain/deploy.js'
import { launchLocalNetwork } from '../../src/node/localNetwork.js'
import type { LocalNetwork } from '../../src/node/localNetwork.js'
import { ChannelsClient } from '../../src/client/client.js'

const dataDir = mkdtempSync(path.join(tmpdir(), 'channels-nodes-'))
const DEPOSIT = 10n ** 16n
const PAYMENTS = 1_000
const AMOUNT = 7n

let anvil: Anvil
let deployment: Deployment
let network: LocalNetwork
const clients = new Map<string, ChannelsClient>()

async function client(name: string): Promise<ChannelsClient> {
  await clients.get(name)?.close()
  const node = network.node(name)
  const c = await ChannelsClient.connect({ url: node.info.rpcUrl, secret: network.prepared.get(name)!.secret })
  clients.set(name, c)
  return c
}

beforeAll(async () => {
  anvil = await startAnvil({ port: 0 })
  deployment = await deployContracts({ rpcUrl: anvil.url, chainId: 31337 })
  network = await launchLocalNetwork({
    dataDir,
    names: ['alice', 'hub', 'bob'],
    chainKeys: ANVIL_DEV_KEYS,
    chain: { url: anvil.url, chainId: 31337, local: true, deployment, pollingIntervalMs: 50 },
    logLevel: 'debug',
  })
}, 60_000)

afterAll(async () => {
  for (const c of clients.values()) await c.close().catch(() => {})
  await network?.stop()
  await anvil?.stop()
  rmSync(dataDir, { recursive: true, force: true })
})

test('1,000 payments through a hub that is SIGKILLed mid-way land exactly once; everything closes; balances exact on chain', async () => {
  const address = (name: string) => network.prepared.get(name)!.address
  const [alice, bob] = [await client('alice'), await client('bob')]
  expect(await alice.getAddress()).toBe(address('alice'))

  // Ledgers, funded on chain by each side's chain key.
  const openLedger = async (c: ChannelsClient) => {
    const { objectiveId, channelId } = await c.createLedgerChannel({ counterparty: address('hub'), myDeposit: DEPOSIT, theirDeposit: DEPOSIT })
    expect((await c.waitForObjective(objectiveId, { timeoutMs: 60_000 })).status).toBe('completed')
    return channelId
  }
  const [aliceLedger, bobLedger] = await Promise.all([openLedger(alice), openLedger(bob)])

  const { objectiveId, channelId } = await alice.createPaymentChannel({ counterparty: address('bob'), intermediaries: [address('hub')], amount: DEPOSIT / 2n })
  expect((await alice.waitForObjective(objectiveId, { timeoutMs: 60_000 })).status).toBe('completed')
  await bob.waitForPaymentChannel(channelId, (pc) => pc.startingBalance === DEPOSIT / 2n, { timeoutMs: 30_000 })
  expect((await bob.getPaymentChannelsByLedger(bobLedger)).map((pc) => pc.channelId)).toContain(channelId)

  let restarted: Promise<unknown> | undefined
  let second: { objectiveId: string; channelId: Bytes32 } | undefined
  let last = 0n
  for (let i = 1; i <= PAYMENTS; i++) {
    if (i === PAYMENTS / 4) {
      await network.kill('hub')
      // Asked while the hub is down: its messages wait in alice's outbox until the hub is back.
      second = await alice.createPaymentChannel({ counterparty: address('bob'), intermediaries: [address('hub')], amount: 1_000n })
      expect((await alice.getObjective(second.objectiveId)).status).not.toBe('completed')
    }
    if (i === PAYMENTS / 2) restarted = network.restart('hub')
    const voucher = await alice.pay(channelId, AMOUNT)
    expect(voucher.amount).toBe(last + AMOUNT) // cumulative: each payment counted once
    last = voucher.amount
  }
  await restarted
  expect((await alice.waitForObjective(second!.objectiveId, { timeoutMs: 60_000 })).status).toBe('completed')
  expect((await alice.pay(second!.channelId, 1_000n)).amount).toBe(1_000n)
  await bob.waitForPaymentChannel(second!.channelId, (pc) => pc.paid === 1_000n, { timeoutMs: 30_000 })
  expect(readFileSync(path.join(dataDir, 'hub', 'node.log'), 'utf8').match(/"msg":"node started"/g)).toHaveLength(2)
  const total = AMOUNT * BigInt(PAYMENTS)
  await bob.waitForPaymentChannel(channelId, (pc) => pc.paid === total, { timeoutMs: 30_000 })
  expect((await alice.getPaymentChannel(channelId)).paid).toBe(total)

  // Closing needs the restarted hub: the guarantees leave both ledgers.
  const closes = [await alice.closePaymentChannel(channelId), await bob.closePaymentChannel(second!.channelId)]
  expect((await alice.waitForObjective(closes[0]!.objectiveId, { timeoutMs: 60_000 })).status).toBe('completed')
  expect((await bob.waitForObjective(closes[1]!.objectiveId, { timeoutMs: 60_000 })).status).toBe('completed')
  const hub = await client('hub')
  await hub.waitForLedgerChannel(aliceLedger, (l) => l.guarantees.length === 0, { timeoutMs: 30_000 })
  await hub.waitForLedgerChannel(bobLedger, (l) => l.guarantees.length === 0, { timeoutMs: 30_000 })

  const [closeA, closeB] = await Promise.all([alice.closeLedgerChannel(aliceLedger), bob.closeLedgerChannel(bobLedger)])
  expect((await alice.waitForObjective(closeA.objectiveId, { timeoutMs: 60_000 })).status).toBe('completed')
  expect((await bob.waitForObjective(closeB.objectiveId, { timeoutMs: 60_000 })).status).toBe('completed')

  // Ledger outcomes pay the channel addresses, which held nothing before (gas came from the chain keys).
  const chain = createPublicClient({ transport: http(anvil.url) })
  const balance = (a: Address) => chain.getBalance({ address: a })
  const settled = async () => [await balance(address('alice')), await balance(address('hub')), await balance(address('bob'))]
  const deadline = Date.now() + 30_000
  while ((await settled()).includes(0n) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
  expect(await settled()).toEqual([DEPOSIT - total - 1_000n, 2n * DEPOSIT, DEPOSIT + total + 1_000n])
}, 240_000)
