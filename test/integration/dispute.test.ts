// A virtual payment channel settled on chain by challenge and reclaim (issue 5): alice pays bob through a
// hub; the hub vanishes, so the cooperative close cannot complete. Alice and bob settle on anvil with only
// the states their engines hold: each challenges their ledger with its supported state, bob challenges V
// with a redemption state carrying alice's largest voucher (proof: V's fully signed postfund), the
// challenges time out, reclaim moves V's outcome into both ledgers and transferAllAssets pays everyone.
import { describe, expect, test } from 'vitest'
import { createPublicClient, createTestClient, encodeAbiParameters, http } from 'viem'
import type { Chain } from 'viem'
import type { Address } from '../../src/core/types.js'
import type { Bytes32 } from '../../src/core/types.js'
import { createSigner } from '../../src/core/signer.js'
import type { Allocation, Exit } from '../../src/core/outcome.js'
import { hashState } from '../../src/core/hashState.js'
import { signChallenge, signState } from '../../src/core/signState.js'
import type { SignedState } from '../../src/core/signedState.js'
import type { State } from '../../src/core/state.js'
import { supportedSignedState } from '../../src/protocols/ledger/consensusChannel.js'
import { computeReclaimEffects } from '../../src/protocols/outcome/reclaim.js'
import { MemoryStore } from '../../src/store/memoryStore.js'
import { MemoryNetwork } from '../../src/transport/memoryTransport.js'
import { Engine } from '../../src/engine/engine.js'
import type { Anvil } from '../../src/chain/anvil.js'
import type { Deployment } from '../../src/chain/deploy.js'
import { ViemChainService, toOnChainSignature } from '../../src/chain/viemChainService.js'
import { TEST_POLICY } from '../support/ledgerNetwork.js'
import { toAddress } from '../../src/core/canonical.js'
import { onEachContractSet } from '../support/officialNitro.js'

// anvil's development accounts 1, 2 and 3 pay for transactions; the channel keys are separate.
const TX_KEYS = [
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
  '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
] as const
const CHANNEL_KEYS = [`0x${'d1'.repeat(32)}`, `0x${'d2'.repeat(32)}`, `0x${'d3'.repeat(32)}`] as const
const ETH: Address = toAddress('0x0000000000000000000000000000000000000000')
const CHALLENGE_DURATION = 86_400 // the engine's default, for ledgers and V alike
const DEPOSIT = 10n ** 16n
const AMOUNT = 5000n
const PAYMENTS = [1000n, 500n, 1500n] // 3000 in all

let anvil: Anvil
let deployment: Deployment
const chainId = 31337


function clients() {
  const chain: Chain = { id: chainId, name: 'anvil', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [anvil.url] } } }
  const transport = http(anvil.url)
  return { public: createPublicClient({ chain, transport }), test: createTestClient({ chain, transport, mode: 'anvil' }) }
}

async function eventually(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 30_000) {
  const start = Date.now()
  while (!(await condition())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** The index of V's guarantee in a ledger state's single ETH exit. */
function guaranteeIndex(ledger: State, target: Bytes32): number {
  const index = ledger.outcome[0]!.allocations.findIndex((a) => a.destination.toLowerCase() === target.toLowerCase())
  expect(index).toBeGreaterThanOrEqual(0)
  return index
}

onEachContractSet(
  (chain, deployed) => {
    anvil = chain
    deployment = deployed
  },
  () => {
    describe('a payment channel through a vanished hub, settled on anvil by challenge and reclaim', () => {
      test('ledgers and V challenged from the engines’ states, reclaimed, transferred: balances exact to the wei, the hub net-zero', async () => {
        const network = new MemoryNetwork({ seed: 11 })
        const nodes = await Promise.all(
          CHANNEL_KEYS.map(async (key, i) => {
            const signer = createSigner(key)
            const chain = new ViemChainService({ rpcUrl: anvil.url, chainId, adjudicator: deployment.adjudicator, consensusApp: deployment.consensusApp, txKey: TX_KEYS[i]!, pollingIntervalMs: 20 })
            const engine = await Engine.open({ store: new MemoryStore(), signer, transport: network.connect(signer.address), chain, consensusApp: deployment.consensusApp, policy: TEST_POLICY, virtualPaymentApp: deployment.virtualPaymentApp })
            return { key, signer, chain, engine }
          }),
        )
        const [alice, hub, bob] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]]
        const { public: publicClient, test: testClient } = clients()
        const balance = (address: Address) => publicClient.getBalance({ address })
        let hubClosed = false
        try {
          const before = await Promise.all(nodes.map((n) => balance(n.signer.address)))
          const open = async (leader: typeof alice, follower: typeof alice, nonce: bigint) => {
            const id = await leader.engine.directFund({ counterparty: follower.signer.address, myDeposit: DEPOSIT, theirDeposit: DEPOSIT, nonce })
            expect((await leader.engine.waitForObjective(id)).status).toBe('completed')
            const ledgerId = id.slice('directfund:'.length) as Bytes32
            await eventually('follower funded', () => follower.engine.getLedger(ledgerId) !== undefined)
            return ledgerId
          }
          const ledgerAH = await open(alice, hub, 5_000_001n)
          const ledgerHB = await open(hub, bob, 5_000_002n)
          expect(await alice.chain.holdings(ledgerAH, ETH)).toBe(2n * DEPOSIT)
          expect(await bob.chain.holdings(ledgerHB, ETH)).toBe(2n * DEPOSIT)

          const fund = await alice.engine.createPaymentChannel({ counterparty: bob.signer.address, intermediaries: [hub.signer.address], amount: AMOUNT, nonce: 42n })
          expect((await alice.engine.waitForObjective(fund)).status).toBe('completed')
          const vId = fund.slice('virtualfund:'.length) as Bytes32
          await eventually('bob completes the virtual fund', () => bob.engine.getObjective(fund)?.objective.status === 'completed')
          await eventually('bob can be paid', () => bob.engine.getPaymentChannel(vId) !== undefined)
          for (const amount of PAYMENTS) await alice.engine.pay(vId, amount)
          await eventually('bob holds every payment', () => bob.engine.getPaymentChannel(vId)?.paid === 3000n)
          // the guarantees for V are in both ledgers' supported states, on both sides
          for (const [x, y, id] of [[alice, hub, ledgerAH], [hub, bob, ledgerHB]] as const) {
            await eventually('the ledger agrees on both sides', () => x.engine.getLedger(id)?.supported.vars.turnNum === y.engine.getLedger(id)?.supported.vars.turnNum)
          }

          // The hub vanishes: its engine stops, and its links are cut.
          await hub.engine.close()
          await hub.chain.close()
          hubClosed = true
          network.partition(hub.signer.address, alice.signer.address, true)
          network.partition(hub.signer.address, bob.signer.address, true)
          // The cooperative close needs the hub (V's final state and both ledgers' guarantee removals): it stalls.
          const close = await alice.engine.closePaymentChannel(vId)
          await new Promise((r) => setTimeout(r, 500))
          expect(alice.engine.getObjective(close)?.objective.status).not.toBe('completed')

          // What alice and bob hold: their ledgers' supported states, V's postfund, alice's largest voucher.
          const lAH = supportedSignedState(alice.engine.getLedger(ledgerAH)!)
          const lHB = supportedSignedState(bob.engine.getLedger(ledgerHB)!)
          expect(lAH.signatures.every((s) => s !== null)).toBe(true)
          expect(lHB.signatures.every((s) => s !== null)).toBe(true)
          const vf = bob.engine.getObjective(fund)!.objective
          if (vf.kind !== 'virtualfund') throw new Error('not a virtual fund')
          const postfund: SignedState = vf.postfund
          expect(postfund.signatures.every((s) => s !== null)).toBe(true)
          const voucher = bob.engine.getPaymentChannel(vId)!.voucher!
          expect(voucher.amount).toBe(3000n)

          // alice challenges L_AH, bob challenges L_HB, each with the supported state and their channel key
          await alice.chain.challenge({ proof: [], candidate: lAH, challengerSignature: signChallenge(lAH.state, alice.key) })
          await bob.chain.challenge({ proof: [], candidate: lHB, challengerSignature: signChallenge(lHB.state, bob.key) })

          // bob challenges V: turn 2, signed by him, appData = abi.encode((uint256 amount, (v, r, s) voucher))
          const sig = toOnChainSignature(voucher.signature, 'voucher')
          const appData = encodeAbiParameters(
            [{ type: 'tuple', components: [{ name: 'amount', type: 'uint256' }, { name: 'signature', type: 'tuple', components: [{ name: 'v', type: 'uint8' }, { name: 'r', type: 'bytes32' }, { name: 's', type: 'bytes32' }] }] }],
            [{ amount: voucher.amount, signature: sig }],
          )
          const [toAlice, toBob] = postfund.state.outcome[0]!.allocations as [Allocation, Allocation]
          expect([toAlice.amount, toBob.amount]).toEqual([AMOUNT, 0n])
          const redeemedOutcome: Exit = [{ ...postfund.state.outcome[0]!, allocations: [{ ...toAlice, amount: AMOUNT - voucher.amount }, { ...toBob, amount: voucher.amount }] }]
          const redemption: State = { ...postfund.state, turnNum: 2n, appData, outcome: redeemedOutcome }
          const byBob: SignedState = { state: redemption, signatures: [null, null, signState(redemption, bob.key)] }
          await bob.chain.challenge({ proof: [postfund], candidate: byBob, challengerSignature: signChallenge(redemption, bob.key) })
          for (const id of [ledgerAH, ledgerHB, vId]) expect((await bob.chain.status(id)).finalizesAt).toBeGreaterThan(0n)

          // the challenges time out
          await testClient.increaseTime({ seconds: CHALLENGE_DURATION + 1 })
          await testClient.mine({ blocks: 1 })

          // reclaim V's outcome into each ledger; transferAllAssets with the post-reclaim outcome
          for (const [party, ledger, id] of [[alice, lAH, ledgerAH], [bob, lHB, ledgerHB]] as const) {
            const index = guaranteeIndex(ledger.state, vId)
            await party.chain.reclaim({
              sourceChannelId: id,
              sourceStateHash: hashState(ledger.state),
              sourceOutcome: ledger.state.outcome,
              sourceAssetIndex: 0n,
              indexOfTargetInSource: BigInt(index),
              targetStateHash: hashState(redemption),
              targetOutcome: redemption.outcome,
              targetAssetIndex: 0n,
            })
            const allocations = computeReclaimEffects({ sourceAllocations: ledger.state.outcome[0]!.allocations, targetAllocations: redemption.outcome[0]!.allocations, indexOfTargetInSource: index })
            const reclaimed: Exit = [{ ...ledger.state.outcome[0]!, allocations }]
            await party.chain.transferAllAssets({ channelId: id, outcome: reclaimed, stateHash: hashState(ledger.state) })
            expect(await party.chain.holdings(id, ETH)).toBe(0n)
          }

          // channel keys only receive: alice −3000, bob +3000, the hub exactly its two deposits (net-zero)
          const after = await Promise.all(nodes.map((n) => balance(n.signer.address)))
          expect(after.map((a, i) => a - before[i]!)).toEqual([DEPOSIT - 3000n, 2n * DEPOSIT, DEPOSIT + 3000n])
          expect(await alice.chain.holdings(ledgerAH, ETH)).toBe(0n)
          expect(await bob.chain.holdings(ledgerHB, ETH)).toBe(0n)
        } finally {
          for (const n of nodes) {
            if (n === hub && hubClosed) continue
            await n.engine.close()
            await n.chain.close()
          }
        }
      }, 120_000)
    })
  },
)
