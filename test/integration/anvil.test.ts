// DirectFund and DirectDefund end to end on a real local chain (issue 4): anvil running our compiled
// contracts, two engines with the viem ChainService (transaction keys separate from channel keys), an
// ETH ledger and an ERC20 ledger: deposit, update, close; balances checked to the wei, gas accounted.
import { describe, expect, test } from 'vitest'
import { createPublicClient, createWalletClient, http } from 'viem'
import type { Hex } from 'viem'
import type { Address } from '../../src/core/types.js'
import { privateKeyToAccount } from 'viem/accounts'
import type { Bytes32 } from '../../src/core/types.js'
import { createSigner } from '../../src/core/signer.js'
import { addressToDestination } from '../../src/core/outcome.js'
import { MemoryStore } from '../../src/store/memoryStore.js'
import { MemoryNetwork } from '../../src/transport/memoryTransport.js'
import { Engine } from '../../src/engine/engine.js'
import type { Anvil } from '../../src/chain/anvil.js'
import type { Deployment } from '../../src/chain/deploy.js'
import { ViemChainService } from '../../src/chain/viemChainService.js'
import { TestToken } from '../../src/chain/artifacts.js'
import { TEST_POLICY } from '../support/ledgerNetwork.js'
import { toAddress } from '../../src/core/canonical.js'
import { onEachContractSet } from '../support/officialNitro.js'

// anvil's well-known development accounts 1 and 2 pay for transactions; channel keys are separate.
const TX_KEYS = ['0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d', '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a'] as const
const CHANNEL_KEYS = [`0x${'a1'.repeat(32)}`, `0x${'b2'.repeat(32)}`] as const
const ETH: Address = toAddress('0x0000000000000000000000000000000000000000')

let anvil: Anvil
let deployment: Deployment
const chainId = 31337


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
      const engine = await Engine.open({ store, signer, transport: network.connect(signer.address), chain, consensusApp: deployment.consensusApp, policy: TEST_POLICY })
      return { signer, chain, engine, store, txAccount: toAddress(privateKeyToAccount(TX_KEYS[i]!).address) }
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
    // each change is agreed by both owners: a node never moves funds on the other's word (ADR 0015)
    const add = { kind: 'add' as const, target, left: a, right: b, leftAmount: 5n, rightAmount: 0n }
    await bob.engine.agreeLedgerUpdate(ledgerId, add)
    await alice.engine.waitForObjective(await alice.engine.updateLedger(ledgerId, add))
    const remove = { kind: 'remove' as const, target, leftAmount: 2n }
    await alice.engine.agreeLedgerUpdate(ledgerId, remove)
    await alice.engine.waitForObjective(await bob.engine.updateLedger(ledgerId, remove))
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

onEachContractSet(
  (chain, deployed) => {
    anvil = chain
    deployment = deployed
  },
  () => {
    describe('ledger channels on anvil', () => {
      test('an ETH ledger: fund on chain, update, close; balances exact to the wei', async () => {
        await lifecycle(ETH, [10n ** 18n, 2n * 10n ** 17n])
      }, 60_000)

      test('an ERC20 ledger: approve and deposit, update, close; token balances exact', async () => {
        const wallet = createWalletClient({ account: privateKeyToAccount('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'), chain: { id: chainId, name: 'anvil', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [anvil.url] } } }, transport: http(anvil.url) })
        for (const key of TX_KEYS) {
          const hash = await wallet.writeContract({ address: deployment.testToken, abi: TestToken.abi, functionName: 'mint', args: [toAddress(privateKeyToAccount(key as Hex).address), 10n ** 24n] })
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
        const restarted = await Engine.open({ store, signer: alice.signer, chain, consensusApp: deployment.consensusApp, policy: TEST_POLICY })
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

    describe('a payment channel through a hub, settled on anvil', () => {
      test('ledgers funded on chain, virtual open, 1,000 payments, virtual close, ledgers closed: balances exact to the wei', async () => {
        const network = new MemoryNetwork({ seed: 7 })
        const keys = [`0x${'c1'.repeat(32)}`, `0x${'c2'.repeat(32)}`, `0x${'c3'.repeat(32)}`] as const
        const txKeys = [TX_KEYS[0], TX_KEYS[1], '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6'] as const // anvil accounts 1, 2, 3
        const nodes = await Promise.all(
          keys.map(async (k, i) => {
            const signer = createSigner(k)
            const chain = new ViemChainService({ rpcUrl: anvil.url, chainId, adjudicator: deployment.adjudicator, consensusApp: deployment.consensusApp, txKey: txKeys[i]!, pollingIntervalMs: 20 })
            const engine = await Engine.open({ store: new MemoryStore(), signer, transport: network.connect(signer.address), chain, consensusApp: deployment.consensusApp, policy: TEST_POLICY, virtualPaymentApp: deployment.virtualPaymentApp })
            return { signer, chain, engine }
          }),
        )
        const [alice, hub, bob] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]]
        try {
          const before = await Promise.all(nodes.map((n) => balance(ETH, n.signer.address)))
          const open = async (leader: typeof alice, follower: typeof alice, nonce: bigint) => {
            const id = await leader.engine.directFund({ counterparty: follower.signer.address, myDeposit: 10n ** 16n, theirDeposit: 10n ** 16n, nonce })
            expect((await leader.engine.waitForObjective(id)).status).toBe('completed')
            const ledgerId = id.slice('directfund:'.length) as Bytes32
            await eventually('follower funded', () => follower.engine.getLedger(ledgerId) !== undefined)
            return ledgerId
          }
          const ledgerAH = await open(alice, hub, BigInt(Date.now()))
          const ledgerHB = await open(hub, bob, BigInt(Date.now()) + 1n)
          const fund = await alice.engine.createPaymentChannel({ counterparty: bob.signer.address, intermediaries: [hub.signer.address], amount: 5000n, nonce: 1n })
          expect((await alice.engine.waitForObjective(fund)).status).toBe('completed')
          const channelId = fund.slice('virtualfund:'.length) as Bytes32
          await eventually('bob can be paid', () => bob.engine.getPaymentChannel(channelId) !== undefined)
          for (let i = 0; i < 1000; i++) await alice.engine.pay(channelId, 3n)
          await eventually('bob holds all 1,000 payments', () => bob.engine.getPaymentChannel(channelId)?.paid === 3000n)
          const close = await alice.engine.closePaymentChannel(channelId)
          expect((await alice.engine.waitForObjective(close)).status).toBe('completed')
          await eventually('everyone defunded V', () => nodes.every((n) => n.engine.getObjective(close)?.objective.status === 'completed'))
          for (const [closer, ledgerId, other] of [[alice, ledgerAH, hub], [hub, ledgerHB, bob]] as const) {
            await eventually('the ledger settled everywhere', () => other.engine.getLedger(ledgerId)?.supported.vars.turnNum === closer.engine.getLedger(ledgerId)?.supported.vars.turnNum)
            const id = await closer.engine.directDefund(ledgerId)
            expect((await closer.engine.waitForObjective(id)).status).toBe('completed')
            await eventually('the other side completes', () => other.engine.getObjective(id)?.objective.status === 'completed')
          }
          // channel keys only receive: alice −3000, bob +3000, the hub exactly what it put in (net-zero)
          const after = await Promise.all(nodes.map((n) => balance(ETH, n.signer.address)))
          expect(after.map((a, i) => a - before[i]!)).toEqual([10n ** 16n - 3000n, 2n * 10n ** 16n, 10n ** 16n + 3000n])
        } finally {
          for (const n of nodes) {
            await n.engine.close()
            await n.chain.close()
          }
        }
      }, 120_000)
    })
  },
)
