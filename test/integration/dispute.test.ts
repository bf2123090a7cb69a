// Payment channels settled on chain by the nodes themselves (issues 5 and 15), on our contracts and on the
// official Nitro build: alice pays bob 3,000 through a hub over two ledgers.
// - The hub vanishes, so the cooperative close cannot complete. Alice and bob ask their nodes to settle: each
//   registers its best state of V (alice the funded state, bob the redemption of alice's largest voucher, which
//   supersedes it) and disputes its ledger with the hub; once both finalized, each node reclaims V's guarantee
//   into its ledger and pays the ledger out. Everyone ends with their due, the hub net-zero.
// - Alice turns hostile and registers V's funded state (which pays her back all): bob's node answers with his
//   redemption before it finalizes, and his ledger with the (honest) hub pays him the 3,000 once disputed.
import { describe, expect, test } from 'vitest'
import { createPublicClient, createTestClient, http } from 'viem'
import type { Chain } from 'viem'
import type { Address, Bytes32 } from '../../src/core/types.js'
import { createSigner } from '../../src/core/signer.js'
import { signChallenge } from '../../src/core/signState.js'
import { MemoryStore } from '../../src/store/memoryStore.js'
import { MemoryNetwork } from '../../src/transport/memoryTransport.js'
import { Engine } from '../../src/engine/engine.js'
import type { Anvil } from '../../src/chain/anvil.js'
import type { Deployment } from '../../src/chain/deploy.js'
import { ViemChainService } from '../../src/chain/viemChainService.js'
import { TEST_POLICY } from '../support/ledgerNetwork.js'
import { toAddress } from '../../src/core/canonical.js'
import { onEachContractSet } from '../support/officialNitro.js'

// anvil's development accounts 1, 2 and 3 pay for transactions; the channel keys are separate.
const TX_KEYS = [
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
  '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
] as const
const ETH: Address = toAddress('0x0000000000000000000000000000000000000000')
const CHALLENGE_DURATION = 86_400 // the engine's default, for ledgers and V alike
const DEPOSIT = 10n ** 16n
const AMOUNT = 5000n
const PAYMENTS = [1000n, 500n, 1500n] // 3000 in all
const PAID = 3000n

let anvil: Anvil
let deployment: Deployment
const chainId = 31337
/**
 * How far the nodes' clocks run ahead of the wall clock: moved with anvil's, never back (the nodes wait on their
 * own clocks for a challenge to finalize, and anvil's clock stays moved for the file's later tests).
 */
let clockOffsetMs = 0

function clients() {
  const chain: Chain = { id: chainId, name: 'anvil', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [anvil.url] } } }
  const transport = http(anvil.url)
  return { public: createPublicClient({ chain, transport }), test: createTestClient({ chain, transport, mode: 'anvil' }) }
}

async function eventually(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const start = Date.now()
  while (!(await condition())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

type Party = Awaited<ReturnType<typeof openNode>>

async function openNode(network: MemoryNetwork, key: `0x${string}`, txKey: `0x${string}`) {
  const signer = createSigner(key)
  const chain = new ViemChainService({ rpcUrl: anvil.url, chainId, adjudicator: deployment.adjudicator, consensusApp: deployment.consensusApp, txKey, pollingIntervalMs: 20 })
  const engine = await Engine.open({ store: new MemoryStore(), signer, transport: network.connect(signer.address), chain, consensusApp: deployment.consensusApp, policy: TEST_POLICY, virtualPaymentApp: deployment.virtualPaymentApp, clock: () => Date.now() + clockOffsetMs })
  let closed = false
  const close = async () => {
    if (closed) return
    closed = true
    await engine.close()
    chain.close()
  }
  return { key, signer, chain, engine, close }
}

/** Alice, the hub and bob (channel keys from `seed`), two ledgers, and V with alice's three payments to bob. */
async function paidThroughHub(seed: number) {
  const network = new MemoryNetwork({ seed })
  const keys = [1, 2, 3].map((i) => `0x${(seed * 16 + i).toString(16).padStart(2, '0').repeat(32)}` as const)
  const nodes = await Promise.all(keys.map((key, i) => openNode(network, key, TX_KEYS[i]!)))
  const [alice, hub, bob] = nodes as [Party, Party, Party]
  const open = async (leader: Party, follower: Party, nonce: bigint) => {
    const id = await leader.engine.directFund({ counterparty: follower.signer.address, myDeposit: DEPOSIT, theirDeposit: DEPOSIT, nonce })
    expect((await leader.engine.waitForObjective(id)).status).toBe('completed')
    const ledgerId = id.slice('directfund:'.length) as Bytes32
    await eventually('follower funded', () => follower.engine.getLedger(ledgerId) !== undefined)
    return ledgerId
  }
  const ledgerAH = await open(alice, hub, BigInt(seed) * 10n + 1n)
  const ledgerHB = await open(hub, bob, BigInt(seed) * 10n + 2n)
  const fund = await alice.engine.createPaymentChannel({ counterparty: bob.signer.address, intermediaries: [hub.signer.address], amount: AMOUNT, nonce: BigInt(seed) })
  expect((await alice.engine.waitForObjective(fund)).status).toBe('completed')
  const vId = fund.slice('virtualfund:'.length) as Bytes32
  await eventually('bob completes the virtual fund', () => bob.engine.getObjective(fund)?.objective.status === 'completed')
  await eventually('bob can be paid', () => bob.engine.getPaymentChannel(vId) !== undefined)
  for (const amount of PAYMENTS) await alice.engine.pay(vId, amount)
  await eventually('bob holds every payment', () => bob.engine.getPaymentChannel(vId)?.paid === PAID)
  // the guarantees for V are in both ledgers' supported states, on both sides
  for (const [x, y, id] of [[alice, hub, ledgerAH], [hub, bob, ledgerHB]] as const) {
    await eventually('the ledger agrees on both sides', () => x.engine.getLedger(id)?.supported.vars.turnNum === y.engine.getLedger(id)?.supported.vars.turnNum)
  }
  return { network, nodes, alice, hub, bob, ledgerAH, ledgerHB, vId, fund }
}

/** Moves anvil's clock and the nodes' past every challenge registered so far. */
async function letChallengesFinalize(): Promise<void> {
  const { test: testClient } = clients()
  await testClient.increaseTime({ seconds: CHALLENGE_DURATION + 1 })
  await testClient.mine({ blocks: 1 })
  clockOffsetMs += (CHALLENGE_DURATION + 1) * 1000
}

onEachContractSet(
  (chain, deployed) => {
    anvil = chain
    deployment = deployed
    clockOffsetMs = 0 // a fresh anvil: its clock is the wall clock again
  },
  () => {
    describe('payment channels settled on chain by the nodes', () => {
      test('the hub vanishes: alice and bob settle V and their ledgers by challenge, reclaim and payout; balances exact to the wei, the hub net-zero', async () => {
        const balance = (address: Address) => clients().public.getBalance({ address })
        const { network, nodes, alice, hub, bob, ledgerAH, ledgerHB, vId } = await paidThroughHub(1)
        try {
          const before = await Promise.all(nodes.map((n) => balance(n.signer.address)))
          // The hub vanishes: its engine stops, and its links are cut.
          await hub.close()
          network.partition(hub.signer.address, alice.signer.address, true)
          network.partition(hub.signer.address, bob.signer.address, true)
          // The cooperative close needs the hub (V's final state and both ledgers' guarantee removals): it stalls.
          const close = await alice.engine.closePaymentChannel(vId)
          await new Promise((r) => setTimeout(r, 300))
          expect(alice.engine.getObjective(close)?.objective.status).not.toBe('completed')

          const [aliceDispute, bobDispute] = await Promise.all([alice.engine.challengePaymentChannel(vId), bob.engine.challengePaymentChannel(vId)])
          expect([aliceDispute, bobDispute]).toEqual([`appdispute:${vId}`, `appdispute:${vId}`])
          await expect(alice.engine.pay(vId, 1n)).rejects.toMatchObject({ code: 'channel_closing' })
          await eventually('V and both ledgers registered on chain', async () => (await Promise.all([vId, ledgerAH, ledgerHB].map((id) => bob.chain.status(id)))).every((s) => s.finalizesAt > 0n))
          await eventually('V registered with bob\'s redemption (turn 2)', async () => (await bob.chain.status(vId)).turnNumRecord === 2n)
          for (const [party, id] of [[alice, ledgerAH], [bob, ledgerHB]] as const) {
            await eventually('the ledger dispute waits for the chain', () => party.engine.getObjective(`appdispute:${id}`)?.waitingFor === 'finalization')
          }
          expect(await alice.chain.holdings(ledgerAH, ETH)).toBe(2n * DEPOSIT) // nothing paid out before the challenges finalize

          await letChallengesFinalize()
          for (const [party, id] of [[alice, ledgerAH], [bob, ledgerHB]] as const) {
            await eventually('the ledger reclaimed and paid out', () => party.engine.getObjective(`appdispute:${id}`)?.objective.status === 'completed')
            expect(await party.chain.holdings(id, ETH)).toBe(0n)
          }
          for (const party of [alice, bob]) expect(party.engine.getObjective(`appdispute:${vId}`)?.objective.status).toBe('completed')

          // channel keys only receive: alice her deposit less 3000, bob his plus 3000, the hub exactly its two deposits (net-zero)
          const after = await Promise.all(nodes.map((n) => balance(n.signer.address)))
          expect(after.map((a, i) => a - before[i]!)).toEqual([DEPOSIT - PAID, 2n * DEPOSIT, DEPOSIT + PAID])
        } finally {
          for (const n of nodes) await n.close()
        }
      }, 120_000)

      test('alice registers V\'s funded state (all back to her): bob\'s node answers with his latest voucher, and his ledger pays him the 3,000', async () => {
        const balance = (address: Address) => clients().public.getBalance({ address })
        const { nodes, alice, hub, bob, ledgerHB, vId, fund } = await paidThroughHub(2)
        try {
          const before = await Promise.all(nodes.map((n) => balance(n.signer.address)))
          // Alice's node goes quiet and her key registers the stale funded state of V (turn 1), signed by all.
          const vf = alice.engine.getObjective(fund)!.objective
          if (vf.kind !== 'virtualfund') throw new Error('not a virtual fund')
          const postfund = vf.postfund
          await alice.close()
          await alice.chain.challenge({ proof: [], candidate: postfund, challengerSignature: signChallenge(postfund.state, alice.key) })
          const stale = await bob.chain.status(vId)
          expect(stale.turnNumRecord).toBe(1n)

          // Bob's node answers by itself, before the stale challenge finalizes: his redemption (turn 2) replaces it.
          await eventually('bob\'s answer registered', async () => (await bob.chain.status(vId)).turnNumRecord === 2n)
          const answered = await bob.chain.status(vId)
          expect(answered.finalizesAt).toBeGreaterThanOrEqual(stale.finalizesAt)
          const bobsDispute = bob.engine.getObjective(`appdispute:${vId}`)!.objective
          expect(bobsDispute).toMatchObject({ status: 'approved', deadline: stale.finalizesAt })
          expect(bob.engine.getPaymentChannel(vId)).toMatchObject({ closing: true })

          // The payer will not sign a final state: bob settles his ledger with the hub on chain. The hub's node
          // follows (it holds the same supported state) and both reclaim V's redemption into it.
          await bob.engine.challengePaymentChannel(vId)
          await eventually('the ledger registered', async () => (await bob.chain.status(ledgerHB)).finalizesAt > 0n)
          await letChallengesFinalize()
          await eventually('bob\'s ledger paid out', () => bob.engine.getObjective(`appdispute:${ledgerHB}`)?.objective.status === 'completed')
          await eventually('the hub\'s dispute of it ends too', () => hub.engine.getObjective(`appdispute:${ledgerHB}`)?.objective.status === 'completed')
          expect(await bob.chain.holdings(ledgerHB, ETH)).toBe(0n)
          // From the hub-bob ledger: bob his deposit plus the 3,000; the hub its deposit less what it fronted for V (5,000)
          // plus what V's redemption left to alice (2,000), which alice owes it in their own ledger.
          const after = await Promise.all(nodes.map((n) => balance(n.signer.address)))
          expect(after.map((a, i) => a - before[i]!)).toEqual([0n, DEPOSIT - PAID, DEPOSIT + PAID])
        } finally {
          for (const n of nodes) await n.close()
        }
      }, 120_000)
    })
  },
)
