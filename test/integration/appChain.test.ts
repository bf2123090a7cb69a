// App channels on a real chain (issue 7): two engines on anvil with our deployed adjudicator and consensus app.
// A tic-tac-toe channel funded on chain is deposited, played and concluded by itself: the winner's channel
// address receives the pot to the wei. In a second game bob's node vanishes on his turn: alice's timeout claim
// is never countersigned, so her node enforces the latest state signed by both on chain by itself — challenge
// through the consensus app, wait out the challenge, transferAllAssets.
// A document channel funded from a ledger whose counterparty vanished is settled by alice's node from what it holds
// (the ledger's supported state and the document's latest state signed by both): both challenged, then reclaim
// moves the document's outcome into the ledger and transferAllAssets pays the ledger out (issue 15).
import { expect, test } from 'vitest'
import { createPublicClient, createTestClient, http } from 'viem'
import type { Chain } from 'viem'
import type { Address } from '../../src/core/types.js'
import type { Bytes32 } from '../../src/core/types.js'
import { createSigner } from '../../src/core/signer.js'
import { MemoryStore } from '../../src/store/memoryStore.js'
import { MemoryNetwork } from '../../src/transport/memoryTransport.js'
import { Engine } from '../../src/engine/engine.js'
import type { Anvil } from '../../src/chain/anvil.js'
import type { Deployment } from '../../src/chain/deploy.js'
import { ViemChainService } from '../../src/chain/viemChainService.js'
import { loadBuiltApp } from '../support/appSessions.js'
import { TEST_POLICY } from '../support/ledgerNetwork.js'
import { toAddress } from '../../src/core/canonical.js'
import { onEachContractSet } from '../support/officialNitro.js'

const TICTACTOE = loadBuiltApp('tictactoe')
const apps = (appId: Bytes32) => (appId.toLowerCase() === TICTACTOE.appId.toLowerCase() ? TICTACTOE : undefined)
// anvil's development accounts 4 and 5 pay for transactions; the channel keys only receive.
const TX_KEYS = ['0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a', '0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba'] as const
const CHANNEL_KEYS = [`0x${'e1'.repeat(32)}`, `0x${'e2'.repeat(32)}`] as const
const ETH: Address = toAddress('0x0000000000000000000000000000000000000000')
const STAKE = 10n ** 15n
const CHALLENGE_DURATION = 600
const chainId = 31337
/** X (participant 0, alice) takes the top row. */
const X_WINS = [0, 3, 1, 4, 2]
const move = (cell: number) => Uint8Array.of(0x01, cell)

let anvil: Anvil
let deployment: Deployment
/** How far the nodes' clocks run ahead of the wall clock: moved with anvil's (nodes wait on their own clocks for a challenge to finalize). */
let clockOffsetMs = 0

async function eventually(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const start = Date.now()
  while (!(await condition())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

async function players(seed: number) {
  const network = new MemoryNetwork({ seed })
  const nodes = await Promise.all(
    CHANNEL_KEYS.map(async (key, i) => {
      const signer = createSigner(key)
      const chain = new ViemChainService({ rpcUrl: anvil.url, chainId, adjudicator: deployment.adjudicator, consensusApp: deployment.consensusApp, txKey: TX_KEYS[i]!, pollingIntervalMs: 20 })
      const engine = await Engine.open({ store: new MemoryStore(), signer, transport: network.connect(signer.address), chain, consensusApp: deployment.consensusApp, policy: TEST_POLICY, apps })
      return { key, signer, chain, engine, address: signer.address, closed: false }
    }),
  )
  const close = async () => {
    for (const n of nodes) {
      if (n.closed) continue
      await n.engine.close()
      n.chain.close()
    }
  }
  return { nodes: nodes as [(typeof nodes)[0], (typeof nodes)[0]], close }
}

function clients() {
  const chain: Chain = { id: chainId, name: 'anvil', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [anvil.url] } } }
  const transport = http(anvil.url)
  return { public: createPublicClient({ chain, transport }) }
}

async function playTurns(nodes: readonly { engine: Engine }[], id: Bytes32, cells: readonly number[]): Promise<void> {
  for (const [i, cell] of cells.entries()) {
    const { turnNum } = await nodes[i % 2]!.engine.submitEvent(id, move(cell))
    for (const n of nodes) await n.engine.waitForAppTurn(id, turnNum)
  }
}

onEachContractSet(
  (chain, deployed) => {
    anvil = chain
    clockOffsetMs = 0 // a fresh anvil: its clock is the wall clock again
    deployment = deployed
  },
  () => {
    test('funded on chain, played, concluded by itself: the winner\'s address receives the pot to the wei', async () => {
      const { nodes, close } = await players(21)
      const [alice, bob] = nodes
      const balance = (address: Address) => clients().public.getBalance({ address })
      try {
        const id = await alice.engine.createAppChannel({ participants: [alice.address, bob.address], appId: TICTACTOE.appId, params: Uint8Array.of(2), deposits: [STAKE, STAKE], nonce: 1n, challengeDuration: CHALLENGE_DURATION })
        for (const n of nodes) await eventually(`${n.address} sees the channel open`, () => n.engine.getAppChannel(id)?.status === 'open')
        expect(await alice.chain.holdings(id, ETH)).toBe(2n * STAKE)
        const before = await Promise.all(nodes.map((n) => balance(n.address)))
        await playTurns(nodes, id, X_WINS)
        for (const n of nodes) await eventually(`${n.address} sees it closed`, () => n.engine.getAppChannel(id)?.status === 'closed')
        expect(await alice.chain.holdings(id, ETH)).toBe(0n)
        const after = await Promise.all(nodes.map((n) => balance(n.address)))
        expect(after.map((a, i) => a - before[i]!)).toEqual([2n * STAKE, 0n])
      } finally {
        await close()
      }
    }, 120_000)

    test('a participant\'s node vanishes mid-game: the other\'s node enforces the latest state signed by both on chain by itself', async () => {
      const { nodes, close } = await players(22)
      const [alice, bob] = nodes
      const { public: publicClient } = clients()
      try {
        // a short challenge: anvil stamps blocks with the wall clock, which the node waits on
        const id = await alice.engine.createAppChannel({ participants: [alice.address, bob.address], appId: TICTACTOE.appId, params: Uint8Array.of(2), deposits: [STAKE, STAKE], moveTimeout: 1, nonce: 2n, challengeDuration: 2 })
        for (const n of nodes) await eventually(`${n.address} sees the channel open`, () => n.engine.getAppChannel(id)?.status === 'open')
        await playTurns(nodes, id, X_WINS.slice(0, 3)) // X 0, O 3, X 1: bob (O) is on turn
        await bob.engine.close()
        bob.chain.close()
        bob.closed = true
        // bob never moves again: alice may claim the timeout after a second, but nobody countersigns it
        await new Promise((r) => setTimeout(r, 1_100))
        await alice.engine.submitEvent(id, Uint8Array.of(0xff))
        await new Promise((r) => setTimeout(r, 200))
        expect(alice.engine.getAppChannel(id)!.pending).toMatchObject({ turnNum: 4n, missing: [1] })

        // what alice holds: turn 3 signed by both, whose outcome (the game undecided) returns the deposits
        const latest = alice.engine.getAppChannel(id)!.latest!
        expect(latest.state.turnNum).toBe(3n)
        expect(latest.state.outcome[0]!.allocations.map((a) => a.amount)).toEqual([STAKE, STAKE])
        const before = await Promise.all(nodes.map((n) => publicClient.getBalance({ address: n.address })))
        const dispute = await alice.engine.challengeAppChannel(id)
        await eventually('the challenge is on chain', async () => (await alice.chain.status(id)).turnNumRecord === 3n)
        await eventually('alice\'s node pays the channel out', () => alice.engine.getAppChannel(id)?.status === 'closed', 60_000)
        expect(alice.engine.getObjective(dispute)!.objective.status).toBe('completed')
        expect(await alice.chain.holdings(id, ETH)).toBe(0n)
        const after = await Promise.all(nodes.map((n) => publicClient.getBalance({ address: n.address })))
        expect(after.map((a, i) => a - before[i]!)).toEqual([STAKE, STAKE])
      } finally {
        await close()
      }
    }, 120_000)

    // Last in this file: it moves anvil's clock a day on, which the node-run dispute above must not see.
    test('a document channel funded from a ledger, its counterparty gone: alice\'s node settles the channel and the ledger on chain (reclaim, then payout)', async () => {
      const DOCUMENT = loadBuiltApp('document')
      const network = new MemoryNetwork({ seed: 23 })
      const docApps = (appId: Bytes32) => (appId.toLowerCase() === DOCUMENT.appId.toLowerCase() ? DOCUMENT : undefined)
      const nodes = await Promise.all(
        CHANNEL_KEYS.map(async (key, i) => {
          const signer = createSigner(key)
          const chain = new ViemChainService({ rpcUrl: anvil.url, chainId, adjudicator: deployment.adjudicator, consensusApp: deployment.consensusApp, txKey: TX_KEYS[i]!, pollingIntervalMs: 20 })
          const engine = await Engine.open({ store: new MemoryStore(), signer, transport: network.connect(signer.address), chain, consensusApp: deployment.consensusApp, policy: TEST_POLICY, apps: docApps, clock: () => Date.now() + clockOffsetMs })
          return { key, chain, engine, address: signer.address, closed: false }
        }),
      )
      const [alice, bob] = nodes as [(typeof nodes)[0], (typeof nodes)[0]]
      const { public: publicClient } = clients()
      const testClient = createTestClient({ chain: { id: chainId, name: 'anvil', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [anvil.url] } } }, transport: http(anvil.url), mode: 'anvil' })
      try {
        const fund = await alice.engine.directFund({ counterparty: bob.address, myDeposit: 4n * STAKE, theirDeposit: 4n * STAKE, nonce: 3n })
        expect((await alice.engine.waitForObjective(fund)).status).toBe('completed')
        const ledgerId = fund.slice('directfund:'.length) as Bytes32
        await eventually('bob has the ledger', () => bob.engine.getLedger(ledgerId) !== undefined)

        const id = await alice.engine.createAppChannel({ participants: [alice.address, bob.address], appId: DOCUMENT.appId, params: Uint8Array.of(2), deposits: [STAKE, STAKE], funding: 'ledger', nonce: 4n, challengeDuration: CHALLENGE_DURATION })
        for (const n of nodes) await eventually(`${n.address} sees the channel open`, () => n.engine.getAppChannel(id)?.status === 'open')
        const insert = (position: number, text: string) => Uint8Array.of(0x01, position, 0, text.length, 0, ...Buffer.from(text))
        for (const [who, event] of [[alice, insert(0, 'aaaaaa')], [bob, insert(6, 'bb')]] as const) {
          const { turnNum } = await who.engine.submitEvent(id, event)
          for (const n of nodes) await n.engine.waitForAppTurn(id, turnNum)
        }
        for (const n of nodes) await eventually('the ledgers agree', () => n.engine.getLedger(ledgerId)?.supported.vars.turnNum === alice.engine.getLedger(ledgerId)?.supported.vars.turnNum)
        await bob.engine.close()
        bob.chain.close()
        bob.closed = true

        // alice holds the ledger's supported state (with the guarantee) and turn 2 of the document, 6:2 bytes. Her node
        // settles the channel and the ledger funding it: both challenged, the guarantee reclaimed once both finalized,
        // then the ledger paid out with the reclaimed outcome.
        const latest = alice.engine.getAppChannel(id)!.latest!
        expect(latest.state.turnNum).toBe(2n)
        expect(latest.state.outcome[0]!.allocations.map((a) => a.amount)).toEqual([(2n * STAKE * 3n) / 4n, (2n * STAKE) / 4n])
        expect(await alice.engine.challengeAppChannel(id)).toBe(`appdispute:${id}`)
        await eventually('the ledger dispute waits for the chain', () => alice.engine.getObjective(`appdispute:${ledgerId}`)?.waitingFor === 'finalization')
        await eventually('the channel dispute waits for the chain', () => alice.engine.getObjective(`appdispute:${id}`)?.waitingFor === 'finalization')
        const before = await Promise.all(nodes.map((n) => publicClient.getBalance({ address: n.address })))
        await testClient.increaseTime({ seconds: 86_400 + 1 })
        await testClient.mine({ blocks: 1 })
        clockOffsetMs = (86_400 + 1) * 1000

        const settled = await alice.engine.waitForObjective(`appdispute:${ledgerId}`)
        expect(settled.status).toBe('completed')
        expect(alice.engine.getObjective(`appdispute:${id}`)?.objective.status).toBe('completed')
        expect(await alice.chain.holdings(ledgerId, ETH)).toBe(0n)
        const after = await Promise.all(nodes.map((n) => publicClient.getBalance({ address: n.address })))
        // each put 4 STAKE in the ledger and 1 of it in the document; alice wrote 3/4 of what survives
        expect(after.map((a, i) => a - before[i]!)).toEqual([3n * STAKE + (3n * STAKE) / 2n, 3n * STAKE + STAKE / 2n])
      } finally {
        for (const n of nodes) {
          if (n.closed) continue
          await n.engine.close()
          n.chain.close()
        }
      }
    }, 120_000)
  },
)
