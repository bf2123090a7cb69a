// DirectFund and DirectDefund end to end on a real local chain (issue 4): anvil running our compiled
// contracts, two engines with the viem ChainService (transaction keys separate from channel keys), an
// ETH ledger and an ERC20 ledger: deposit, update, close; balances checked to the wei, gas accounted.
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createPublicClient, createWalletClient, http } from 'viem'
import type { Address, Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { Bytes32 } from '../../src/core/types.js'
import { createSigner } from '../../src/core/signer.js'
import { addressToDestination } from '../../src/core/outcome.js'
import { MemoryStore } from '../../src/store/memoryStore.js'
import { MemoryNetwork } from '../../src/transport/memoryTransport.js'
import { Engine } from '../../src/engine/engine.js'
import type { Anvil } from '../../src/chain/anvil.js'
import { startAnvil } from '../../src/chain/anvil.js'
import type { Deployment } from '../../src/chain/deploy.js'
import { deployContracts } from '../../src/chain/deploy.js'
import { ViemChainService } from '../../src/chain/viemChainService.js'
import { TestToken } from '../../src/chain/artifacts.js'

// anvil's well-known development accounts 1 and 2 pay for transactions; channel keys are separate.
const TX_KEYS = ['0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d', '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a'] as const
const CHANNEL_KEYS = [`0x${'a1'.repeat(32)}`, `0x${'b2'.repeat(32)}`] as const
const ETH: Address = '0x0000000000000000000000000000000000000000'

let anvil: Anvil
let deployment: Deployment
const chainId = 31337

beforeAll(async () => {
  anvil = await startAnvil({ port: 0 })
  deployment = await deployContracts({ rpcUrl: anvil.url, chainId })
}, 60_000)
afterAll(async () => {
  await anvil?.stop()
})

function client() {
  const chain = { id: chainId, name: 'anvil', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [anvil.url] } } }
  return createPublicClient({ chain, transport: http(anvil.url) })
}

async function balance(asset: Address, owner: Address): Promise<bigint> {
  if (asset === ETH) return client().getBalance({ address: owner })
  return client().readContract({ address: asset, abi: TestToken.abi, functionName: 'balanceOf', args: [owner] })
}

/** Wei spent on gas by `from` in blocks after `sinceBlock`. */
async function gasSpent(from: Address, sinceBlock: bigint): Promise<bigint> {
  const c = client()
  const head = await c.getBlockNumber()
  let spent = 0n
  for (let n = sinceBlock + 1n; n <= head; n++) {
    const block = await c.getBlock({ blockNumber: n, includeTransactions: true })
    for (const tx of block.transactions) {
      if (tx.from.toLowerCase() !== from.toLowerCase()) continue
      const receipt = await c.getTransactionReceipt({ hash: tx.hash })
      spent += receipt.gasUsed * receipt.effectiveGasPrice
    }
  }
  return spent
}

async function startNodes() {
  const network = new MemoryNetwork({ seed: 1 })
  const nodes = await Promise.all(
    [0, 1].map(async (i) => {
      const signer = createSigner(CHANNEL_KEYS[i]!)
      const chain = new ViemChainService({ rpcUrl: anvil.url, chainId, adjudicator: deployment.adjudicator, consensusApp: deployment.consensusApp, txKey: TX_KEYS[i]!, pollingIntervalMs: 20 })
      const store = new MemoryStore()
      const engine = await Engine.open({ store, signer, transport: network.connect(signer.address), chain, consensusApp: deployment.consensusApp })
      return { signer, chain, engine, store, txAccount: privateKeyToAccount(TX_KEYS[i]!).address }
    }),
  )
  return nodes as [(typeof nodes)[0], (typeof nodes)[0]]
}

async function eventually(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 30_000) {
  const start = Date.now()
  while (!(await condition())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

async function lifecycle(asset: Address, deposits: readonly [bigint, bigint]) {
  const [alice, bob] = await startNodes()
  try {
    const startBlock = await client().getBlockNumber()
    const txBefore = await Promise.all([alice, bob].map((n) => balance(asset, n.txAccount)))
    const channelBefore = await Promise.all([alice, bob].map((n) => balance(asset, n.signer.address)))
    const id = await alice.engine.directFund({ counterparty: bob.signer.address, asset, myDeposit: deposits[0], theirDeposit: deposits[1], nonce: BigInt(Date.now()) })
    expect((await alice.engine.waitForObjective(id)).status).toBe('completed')
    const ledgerId = id.slice('directfund:'.length) as Bytes32
    await eventually('bob funded', () => bob.engine.getLedger(ledgerId) !== undefined)
    expect(await alice.chain.holdings(ledgerId, asset)).toBe(deposits[0] + deposits[1])

    // move 3 units from alice to bob through a guarantee added and removed
    const target = `0x${'9'.repeat(64)}` as Bytes32
    const [a, b] = [addressToDestination(alice.signer.address), addressToDestination(bob.signer.address)]
    await alice.engine.waitForObjective(await alice.engine.updateLedger(ledgerId, { kind: 'add', target, left: a, right: b, leftAmount: 5n, rightAmount: 0n }))
    await alice.engine.waitForObjective(await bob.engine.updateLedger(ledgerId, { kind: 'remove', target, leftAmount: 2n }))
    await eventually('alice sees the removal', () => {
      const ledger = alice.engine.getLedger(ledgerId)
      return ledger?.role === 'leader' && ledger.queue.length === 0 && ledger.supported.vars.outcome.guarantees.length === 0
    })

    const defundId = await bob.engine.directDefund(ledgerId)
    expect((await bob.engine.waitForObjective(defundId)).status).toBe('completed')
    await eventually('alice completes the defund', () => alice.engine.getObjective(defundId)?.objective.status === 'completed')
    expect(await alice.chain.holdings(ledgerId, asset)).toBe(0n)

    // channel addresses only receive: exactly their final ledger balances
    const channelAfter = await Promise.all([alice, bob].map((n) => balance(asset, n.signer.address)))
    expect(channelAfter[0]! - channelBefore[0]!).toBe(deposits[0] - 3n)
    expect(channelAfter[1]! - channelBefore[1]!).toBe(deposits[1] + 3n)
    // transaction accounts paid their deposits, and gas in ETH
    const txAfter = await Promise.all([alice, bob].map((n) => balance(asset, n.txAccount)))
    for (const i of [0, 1] as const) {
      const gas = asset === ETH ? await gasSpent([alice, bob][i]!.txAccount, startBlock) : 0n
      expect(txBefore[i]! - txAfter[i]!).toBe(deposits[i] + gas)
    }
    expect([alice, bob].every((n) => Object.keys(n.engine.rejections.counts).length === 0)).toBe(true)
  } finally {
    for (const n of [alice, bob]) {
      await n.engine.close()
      await n.chain.close()
    }
  }
}

describe('ledger channels on anvil', () => {
  test('an ETH ledger: fund on chain, update, close; balances exact to the wei', async () => {
    await lifecycle(ETH, [10n ** 18n, 2n * 10n ** 17n])
  }, 60_000)

  test('an ERC20 ledger: approve and deposit, update, close; token balances exact', async () => {
    const wallet = createWalletClient({ account: privateKeyToAccount('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'), chain: { id: chainId, name: 'anvil', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [anvil.url] } } }, transport: http(anvil.url) })
    for (const key of TX_KEYS) {
      const hash = await wallet.writeContract({ address: deployment.testToken, abi: TestToken.abi, functionName: 'mint', args: [privateKeyToAccount(key as Hex).address, 10n ** 24n] })
      await client().waitForTransactionReceipt({ hash })
    }
    await lifecycle(deployment.testToken, [500n, 700n])
  }, 60_000)
})

describe('catching up after downtime', () => {
  test('a node that was down while a deposit landed learns the new holdings when it restarts from its store', async () => {
    const [alice, bob] = await startNodes()
    const id = await alice.engine.directFund({ counterparty: bob.signer.address, asset: ETH, myDeposit: 3n, theirDeposit: 4n, nonce: 77n })
    await alice.engine.waitForObjective(id)
    const ledgerId = id.slice('directfund:'.length) as Bytes32
    const store = alice.store
    await alice.engine.close()
    await alice.chain.close()
    // while alice is down, bob tops the ledger up on chain
    const hash = await bob.chain.deposit({ channelId: ledgerId, asset: ETH, expectedHeld: 7n, amount: 5n })
    await client().waitForTransactionReceipt({ hash })
    await client().request({ method: 'anvil_mine' as never, params: ['0x5'] as never })
    const chain = new ViemChainService({ rpcUrl: anvil.url, chainId, adjudicator: deployment.adjudicator, consensusApp: deployment.consensusApp, txKey: TX_KEYS[0], pollingIntervalMs: 20, chunkBlocks: 2n })
    const restarted = await Engine.open({ store, signer: alice.signer, chain, consensusApp: deployment.consensusApp })
    try {
      expect(restarted.holdings(ledgerId)).toBe(7n) // what it knew before going down
      await eventually('alice catches up from her cursor', () => restarted.holdings(ledgerId) === 12n)
    } finally {
      await restarted.close()
      await chain.close()
      await bob.engine.close()
      await bob.chain.close()
    }
  }, 60_000)
})
