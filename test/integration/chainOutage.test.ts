// Disputes through a failing RPC endpoint (issue 15): a real anvil with our contracts, two engines that open and
// update a ledger, then alice's node disputes it alone (bob's node is gone) while her chain service talks to anvil
// through test/support/rpcProxy.ts, which fails as real endpoints do:
// (a) HTTP 503 to every request for 15 s, from the node's first request for its challenge on;
// (b) the challenge's eth_sendRawTransaction swallowed: answered with its hash, never forwarded.
// Either way the challenge is registered, the challenge duration passes (anvil's increaseTime), the node pays the
// ledger out, and each owner's channel address receives its share of the ledger's supported state to the wei.
// The nodes' clock follows the chain's: a node decides by its own clock when a challenge has finalized, and
// increaseTime moves only the chain's.
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createPublicClient, createTestClient, http, parseTransaction } from 'viem'
import type { Chain } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { Address, Bytes32, Hex } from '../../src/core/types.js'
import type { Anvil } from '../../src/chain/anvil.js'
import type { Deployment } from '../../src/chain/deploy.js'
import type { Proposal } from '../../src/protocols/ledger/proposal.js'
import { startAnvil } from '../../src/chain/anvil.js'
import { deployContracts } from '../../src/chain/deploy.js'
import { adjudicatorAbi } from '../../src/chain/abi.js'
import { ViemChainService } from '../../src/chain/viemChainService.js'
import { createSigner } from '../../src/core/signer.js'
import { addressToDestination } from '../../src/core/outcome.js'
import { toAddress, toBytes32 } from '../../src/core/canonical.js'
import { supportedSignedState } from '../../src/protocols/ledger/consensusChannel.js'
import { MemoryStore } from '../../src/store/memoryStore.js'
import { MemoryNetwork } from '../../src/transport/memoryTransport.js'
import { Engine } from '../../src/engine/engine.js'
import { TEST_POLICY } from '../support/ledgerNetwork.js'
import { startRpcProxy } from '../support/rpcProxy.js'

const ETH: Address = toAddress('0x0000000000000000000000000000000000000000')
const CHALLENGE_DURATION = 600
const OUTAGE_MS = 15_000
const DEPOSITS = [3n * 10n ** 15n, 2n * 10n ** 15n] as const
/** What the ledger's updates move from alice to bob after funding: his share grows past his deposit. */
const PAID = 7n * 10n ** 14n
const POLL_MS = 20
/** What a chain service may ask first when it prepares a transaction, and its event watcher never asks. */
const TRANSACTION_METHODS = ['eth_estimateGas', 'eth_fillTransaction', 'eth_getTransactionCount', 'eth_maxPriorityFeePerGas', 'eth_feeHistory', 'eth_gasPrice', 'eth_chainId', 'eth_sendRawTransaction']

let anvil: Anvil
let deployment: Deployment
let chain: Chain
let skewMs = 0
const nodeClock = () => Date.now() + skewMs

beforeAll(async () => {
  anvil = await startAnvil({ port: 0 })
  deployment = await deployContracts({ rpcUrl: anvil.url, chainId: anvil.chainId })
  chain = { id: anvil.chainId, name: 'anvil', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [anvil.url] } } }
}, 60_000)
afterAll(async () => {
  await anvil?.stop()
})

const direct = () => createPublicClient({ chain, transport: http(anvil.url), cacheTime: 0 })
const balance = (address: Address) => direct().getBalance({ address })
const holdings = (channelId: Bytes32) => direct().readContract({ address: deployment.adjudicator, abi: adjudicatorAbi, functionName: 'holdings', args: [ETH, channelId] })

/** The nodes' clock catches up with the chain's latest block (anvil stamps blocks with its own, moved, clock). */
async function followChainTime(): Promise<void> {
  const { timestamp } = await direct().getBlock({ blockTag: 'latest' })
  skewMs = Math.max(skewMs, Number(timestamp) * 1000 - Date.now())
}

async function eventually(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const start = Date.now()
  while (!(await condition())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
  }
}

/**
 * Alice (her chain service through a proxy in front of anvil; small receipt and re-send timeouts) and bob (straight
 * to anvil), each with a channel key that only receives payouts and a transaction key funded on anvil.
 */
async function nodes(label: string) {
  const proxy = await startRpcProxy(anvil.url)
  const network = new MemoryNetwork({ seed: 15 })
  const testClient = createTestClient({ chain, transport: http(anvil.url), mode: 'anvil' })
  await followChainTime()
  /** What the chain services' event watchers survived, by code (instead of console.error). */
  const watcherErrors: string[] = []
  const node = async (name: string, rpcUrl: string) => {
    const signer = createSigner(keyOf(`${label}:${name}`))
    const txKey = keyOf(`${label}:${name}:tx`)
    await testClient.setBalance({ address: privateKeyToAccount(txKey).address, value: 10n ** 18n })
    const service = new ViemChainService({
      rpcUrl,
      chainId: anvil.chainId,
      adjudicator: deployment.adjudicator,
      consensusApp: deployment.consensusApp,
      txKey,
      pollingIntervalMs: POLL_MS,
      receiptTimeoutMs: 20_000,
      bumpAfterMs: 1_000,
      onError: (error) => void watcherErrors.push(error.code),
    })
    const engine = await Engine.open({ store: new MemoryStore(), signer, transport: network.connect(signer.address), chain: service, consensusApp: deployment.consensusApp, policy: TEST_POLICY, tickIntervalMs: POLL_MS, clock: nodeClock })
    return { address: signer.address, service, engine, closed: false }
  }
  const alice = await node('alice', proxy.url)
  const bob = await node('bob', anvil.url)
  const close = async () => {
    for (const n of [alice, bob]) {
      if (n.closed) continue
      n.closed = true
      await n.engine.close()
      n.service.close()
    }
    await proxy.close()
  }
  return { alice, bob, proxy, testClient, watcherErrors, close }
}

/** A private key from a label: fresh accounts for each test. */
function keyOf(label: string): Hex {
  let hex = Buffer.from(label).toString('hex')
  while (hex.length < 64) hex += hex
  return `0x${hex.slice(0, 62)}01` as Hex
}

type Nodes = Awaited<ReturnType<typeof nodes>>

/** Alice opens a ledger with bob and pays him PAID through a guarantee added and removed; bob's node then vanishes. */
async function ledgerBobLeft({ alice, bob }: Nodes, nonce: bigint): Promise<Bytes32> {
  const fund = await alice.engine.directFund({ counterparty: bob.address, myDeposit: DEPOSITS[0], theirDeposit: DEPOSITS[1], nonce, challengeDuration: CHALLENGE_DURATION })
  expect((await alice.engine.waitForObjective(fund)).status).toBe('completed')
  const ledgerId = toBytes32(fund.slice('directfund:'.length))
  await eventually('bob has the ledger', () => bob.engine.getLedger(ledgerId) !== undefined)
  const target = toBytes32(`0x${'7a'.repeat(31)}${nonce.toString(16).padStart(2, '0')}`)
  const add: Proposal = { kind: 'add', target, left: addressToDestination(alice.address), right: addressToDestination(bob.address), leftAmount: PAID, rightAmount: 0n }
  const remove: Proposal = { kind: 'remove', target, leftAmount: 0n }
  for (const proposal of [add, remove]) {
    await bob.engine.agreeLedgerUpdate(ledgerId, proposal)
    expect((await alice.engine.waitForObjective(await alice.engine.updateLedger(ledgerId, proposal))).status).toBe('completed')
  }
  await eventually('both hold turn 3', () => [alice, bob].every((n) => n.engine.getLedger(ledgerId)?.supported.vars.turnNum === 3n))
  await bob.engine.close()
  bob.service.close()
  bob.closed = true
  return ledgerId
}

/** Each owner's share in the ledger's supported state, as alice's node holds it. */
function dues({ alice, bob }: Nodes, ledgerId: Bytes32): readonly bigint[] {
  const { allocations } = supportedSignedState(alice.engine.getLedger(ledgerId)!).state.outcome[0]!
  return [alice, bob].map((n) => allocations.find((a) => a.destination === addressToDestination(n.address))!.amount)
}

/** After alice's challenge is registered: the challenge duration passes on chain, her node pays the ledger out. */
async function finalizeAndPayOut(world: Nodes, disputeId: string) {
  await eventually('alice’s node sees its challenge registered', () => {
    const o = world.alice.engine.getObjective(disputeId)?.objective
    return o?.kind === 'appdispute' && o.finalizesAt !== null
  }, 60_000)
  await world.testClient.increaseTime({ seconds: CHALLENGE_DURATION + 1 })
  await world.testClient.mine({ blocks: 1 })
  await followChainTime()
  return world.alice.engine.waitForObjective(disputeId)
}

describe('a ledger disputed through a failing RPC endpoint', () => {
  test('an outage (HTTP 503 for 15 s) from the node’s first request for its challenge: the dispute completes and pays each owner its due to the wei', async () => {
    const world = await nodes('outage')
    try {
      const { alice, bob, proxy } = world
      const ledgerId = await ledgerBobLeft(world, 1n)
      expect(dues(world, ledgerId)).toEqual([DEPOSITS[0] - PAID, DEPOSITS[1] + PAID])
      const before = await Promise.all([alice, bob].map((n) => balance(n.address)))
      proxy.outage(OUTAGE_MS, { startOn: TRANSACTION_METHODS })

      const disputeId = await alice.engine.challengeLedger(ledgerId)
      expect(disputeId).toBe(`appdispute:${ledgerId}`)
      const done = await finalizeAndPayOut(world, disputeId)

      expect(done.status).toBe('completed')
      expect(proxy.refused).toBeGreaterThan(0)
      expect(new Set(world.watcherErrors)).toEqual(new Set(['chain_unavailable'])) // alice's watcher polled through the outage
      // The outage refused the challenge: the engine heard chain_unavailable and tried again later.
      expect(done.kind === 'appdispute' && done.failures).toBeGreaterThanOrEqual(1)
      expect(await holdings(ledgerId)).toBe(0n)
      const after = await Promise.all([alice, bob].map((n) => balance(n.address)))
      expect(after.map((a, i) => a - before[i]!)).toEqual(dues(world, ledgerId))
    } finally {
      await world.close()
    }
  }, 120_000)

  test('the challenge’s eth_sendRawTransaction swallowed: the service sends it again with its nonce, the dispute completes and pays each owner its due to the wei', async () => {
    const world = await nodes('swallowed')
    try {
      const { alice, bob, proxy } = world
      const ledgerId = await ledgerBobLeft(world, 2n)
      const before = await Promise.all([alice, bob].map((n) => balance(n.address)))
      const sentBefore = proxy.rawTransactions.length
      proxy.swallowRawTransactions(1)

      const disputeId = await alice.engine.challengeLedger(ledgerId)
      const done = await finalizeAndPayOut(world, disputeId)

      expect(done.status).toBe('completed')
      const [swallowed, again] = proxy.rawTransactions.slice(sentBefore)
      expect([swallowed!.swallowed, again!.swallowed]).toEqual([true, false])
      expect(parseTransaction(again!.raw).nonce).toBe(parseTransaction(swallowed!.raw).nonce)
      expect((await direct().getTransactionReceipt({ hash: again!.hash })).status).toBe('success')
      // The service recovered on its own: the engine never heard of a failure.
      expect(done.kind === 'appdispute' && done.failures).toBe(0)
      expect(world.watcherErrors).toEqual([])
      expect(await holdings(ledgerId)).toBe(0n)
      const after = await Promise.all([alice, bob].map((n) => balance(n.address)))
      expect(after.map((a, i) => a - before[i]!)).toEqual(dues(world, ledgerId))
    } finally {
      await world.close()
    }
  }, 60_000)
})
