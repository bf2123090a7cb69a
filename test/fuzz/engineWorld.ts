// The world the engine fuzz target runs in (test/fuzz/engineTarget.ts): three real engines on MemoryStores, a
// MemoryNetwork without faults and a MemoryChain. `owner` is the engine under attack, on the default policy
// (REFUSE_UNSOLICITED: what a node runs with unless configured); it leads two funded ledgers, one with
// `counterparty` (whose identity the fuzzer also borrows to send junk) and one with `third` (whom the fuzzer
// never impersonates, so an honest ledger update with it must always go through). Keys, nonces and so ledger
// ids are fixed, so a seed replays the same frames against the same world.
import { createHash } from 'node:crypto'
import type { Address, Bytes32, Hex } from '../../src/core/types.js'
import type { FixedPart } from '../../src/core/state.js'
import type { Signer } from '../../src/core/signer.js'
import { createSigner } from '../../src/core/signer.js'
import { channelId } from '../../src/core/channelId.js'
import { MemoryStore } from '../../src/store/memoryStore.js'
import { MemoryNetwork } from '../../src/transport/memoryTransport.js'
import { MemoryChain, MEMORY_CONSENSUS_APP } from '../../src/chain/memoryChain.js'
import { Engine } from '../../src/engine/engine.js'
import type { PeerPolicy } from '../../src/engine/policy.js'
import { ACCEPT_ANY_PEER } from '../../src/engine/policy.js'
import { objectiveDone } from '../adversary/harness.js'
import { toAddress } from '../../src/core/canonical.js'

export const ETH: Address = toAddress('0x0000000000000000000000000000000000000000')
export const FUNDS = 1_000_000n
export const DEPOSIT = 1_000n
const DAY_SEC = 86_400

const keyOf = (label: string): Hex => `0x${createHash('sha256').update(`fuzz:${label}`).digest('hex')}`

export const owner = createSigner(keyOf('owner'))
export const counterparty = createSigner(keyOf('counterparty'))
export const third = createSigner(keyOf('third'))
export const stranger = createSigner(keyOf('stranger'))

/** The ledgers the owner opens (it leads: participant 0), as startDirectFund builds their fixed parts. */
export const ledgerFixed = (other: Address, nonce: bigint): FixedPart => ({
  participants: [owner.address, other],
  channelNonce: nonce,
  appDefinition: MEMORY_CONSENSUS_APP,
  challengeDuration: DAY_SEC,
})
export const LEDGER_WITH_COUNTERPARTY = ledgerFixed(counterparty.address, 1n)
export const LEDGER_WITH_THIRD = ledgerFixed(third.address, 2n)
export const LEDGER_IDS: readonly Bytes32[] = [channelId(LEDGER_WITH_COUNTERPARTY), channelId(LEDGER_WITH_THIRD)]
/** Ledgers others might try to open with the owner, who never agreed to any (its policy refuses them). */
export const UNSOLICITED_LEDGERS: readonly FixedPart[] = [
  { ...LEDGER_WITH_COUNTERPARTY, participants: [stranger.address, owner.address], channelNonce: 1n },
  { ...LEDGER_WITH_COUNTERPARTY, participants: [counterparty.address, owner.address], channelNonce: 7n },
]

/** What the counterparty and the third node accept (any peer, any asset): they are not the ones attacked. */
const PEER_POLICY: PeerPolicy = { ...ACCEPT_ANY_PEER, assets: 'any' }

export interface WorldNode {
  readonly signer: Signer
  readonly engine: Engine
  readonly store: MemoryStore
}

export interface EngineWorld {
  readonly network: MemoryNetwork
  readonly chain: MemoryChain
  readonly owner: WorldNode
  readonly counterparty: WorldNode
  readonly third: WorldNode
  /** Lets deliveries, chain events and engine steps run until nothing moves. */
  settle(): Promise<void>
  close(): Promise<void>
}

export async function openWorld(): Promise<EngineWorld> {
  const network = new MemoryNetwork({ seed: 1 })
  const chain = new MemoryChain()
  const nodes: WorldNode[] = []
  const start = async (signer: Signer, policy?: PeerPolicy): Promise<WorldNode> => {
    chain.fund(signer.address, ETH, FUNDS)
    const store = new MemoryStore()
    const engine = await Engine.open({
      store,
      signer,
      transport: network.connect(signer.address),
      chain: chain.connect(signer.address),
      consensusApp: MEMORY_CONSENSUS_APP,
      tickIntervalMs: 0,
      ...(policy ? { policy } : {}),
    })
    const node = { signer, engine, store }
    nodes.push(node)
    return node
  }
  const world: EngineWorld = {
    network,
    chain,
    owner: await start(owner),
    counterparty: await start(counterparty, PEER_POLICY),
    third: await start(third, PEER_POLICY),
    async settle() {
      for (let round = 0; round < 3; round++) {
        await chain.delivered()
        await network.idle()
        for (const node of nodes) await node.engine.idle()
      }
    },
    async close() {
      for (const node of nodes) {
        await node.engine.close()
        await node.store.close()
      }
    },
  }
  for (const [other, fixed] of [[counterparty, LEDGER_WITH_COUNTERPARTY], [third, LEDGER_WITH_THIRD]] as const) {
    const id = await world.owner.engine.directFund({ counterparty: other.address, myDeposit: DEPOSIT, theirDeposit: DEPOSIT, nonce: fixed.channelNonce })
    const done = await objectiveDone(world.owner.engine, id, 10_000)
    if (done.status !== 'completed') throw new Error(`the fuzz world's ledger ${id} did not open: ${done.status}`)
    if (!world.owner.engine.getLedger(channelId(fixed))) throw new Error(`the fuzz world's ledger is not ${channelId(fixed)}: startDirectFund builds fixed parts differently now`)
  }
  await world.settle()
  return world
}

