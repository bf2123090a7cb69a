// A two-node (or more) test network for engine integration tests: engines on real stores (RocksDB or
// memory), the in-memory transport with seeded faults, and the in-memory chain.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Address, Bytes32, Hex } from '../../src/core/types.js'
import type { Store } from '../../src/store/store.js'
import { createSigner } from '../../src/core/signer.js'
import { RocksStore } from '../../src/store/rocksStore.js'
import { MemoryStore } from '../../src/store/memoryStore.js'
import { MemoryNetwork } from '../../src/transport/memoryTransport.js'
import type { MemoryNetworkOptions } from '../../src/transport/memoryTransport.js'
import { MemoryChain, MEMORY_CONSENSUS_APP } from '../../src/chain/memoryChain.js'
import type { MemoryChainOptions } from '../../src/chain/memoryChain.js'
import { Engine } from '../../src/engine/engine.js'
import type { PeerPolicy } from '../../src/engine/policy.js'
import type { Proposal } from '../../src/protocols/ledger/proposal.js'
import { ACCEPT_ANY_PEER } from '../../src/engine/policy.js'
import type { AppRuntime } from '../../src/wasm/appRuntime.js'
import { toAddress } from '../../src/core/canonical.js'

export const ETH: Address = toAddress('0x0000000000000000000000000000000000000000')
/** Any fixed address: the in-memory chain runs no apps. */
export const MEMORY_VIRTUAL_PAYMENT_APP: Address = toAddress('0x00000000000000000000000000000000000f0a11')

/** Test nodes accept one another's ledgers and channels in any asset, with any challenge duration up to the default maximum. */
export const TEST_POLICY: PeerPolicy = { ...ACCEPT_ANY_PEER, assets: 'any', challengeDurationSec: { min: 0, max: ACCEPT_ANY_PEER.challengeDurationSec.max } }

export interface TestNode {
  readonly name: string
  readonly address: Address
  engine: Engine
  store: Store
  /** Stops the engine as a crash would (queued inputs are lost), reopens the store from disk, starts again. */
  restart(): Promise<void>
}

export interface TestNetwork {
  readonly network: MemoryNetwork
  readonly chain: MemoryChain
  node(name: string, key: Hex): Promise<TestNode>
  close(): Promise<void>
}

export async function createTestNetwork(p: {
  network: MemoryNetworkOptions
  durable?: boolean
  tickIntervalMs?: number
  /** What peers may start with each node (default ACCEPT_ANY_PEER with no lower bound on challenge durations). */
  policy?: PeerPolicy
  /** The app modules every node runs (app channels). */
  apps?: (appId: Bytes32) => AppRuntime | undefined
  chain?: MemoryChainOptions
}): Promise<TestNetwork> {
  const network = new MemoryNetwork(p.network)
  const chain = new MemoryChain({ virtualPaymentApp: MEMORY_VIRTUAL_PAYMENT_APP, ...p.chain })
  const root = mkdtempSync(path.join(tmpdir(), 'channels-net-'))
  const nodes: TestNode[] = []
  const openStore = async (name: string, memory?: MemoryStore): Promise<Store> =>
    p.durable ? RocksStore.open(path.join(root, name)) : (memory ?? new MemoryStore())
  return {
    network,
    chain,
    async node(name, key) {
      const signer = createSigner(key)
      chain.fund(signer.address, ETH, 10n ** 21n)
      const start = (store: Store) =>
        Engine.open({
          store,
          signer,
          transport: network.connect(signer.address),
          chain: chain.connect(signer.address),
          consensusApp: MEMORY_CONSENSUS_APP,
          virtualPaymentApp: MEMORY_VIRTUAL_PAYMENT_APP,
          tickIntervalMs: p.tickIntervalMs ?? 20,
          policy: p.policy ?? TEST_POLICY,
          ...(p.apps ? { apps: p.apps } : {}),
        })
      const store = await openStore(name)
      const node: TestNode = {
        name,
        address: signer.address,
        store,
        engine: await start(store),
        async restart() {
          await node.engine.close()
          let memory: MemoryStore | undefined
          if (node.store instanceof MemoryStore) memory = new MemoryStore(node.store.snapshot())
          await node.store.close()
          node.store = await openStore(name, memory)
          node.engine = await start(node.store)
        },
      }
      nodes.push(node)
      return node
    },
    async close() {
      for (const node of nodes) {
        await node.engine.close()
        await node.store.close()
      }
      rmSync(root, { recursive: true, force: true })
    },
  }
}

/** Polls until `condition` holds (the engines work on timers); fails with `what` after `timeoutMs`. */
export async function eventually(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const start = Date.now()
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

export function target(i: number): Bytes32 {
  return `0x${(i + 1).toString(16).padStart(8, '0')}${'ab'.repeat(28)}` as Bytes32
}

/**
 * A ledger change both owners agreed to: `counterparty`'s owner agrees first (sending nothing), then `initiator`'s
 * runs it. Resolves to the initiator's objective id. A node never moves funds on the other's word alone (ADR 0015).
 */
export async function updateAgreed(initiator: TestNode, counterparty: TestNode, ledgerId: Bytes32, proposal: Proposal): Promise<string> {
  await counterparty.engine.agreeLedgerUpdate(ledgerId, proposal)
  return initiator.engine.updateLedger(ledgerId, proposal)
}
