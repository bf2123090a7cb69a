// In-process engines that run the built apps (through the node's app registry, as a node does) on a memory
// network, each behind a JSON-RPC server: the setup of the app tests of the RPC, the client and the CLI.
import type { Address, Hex } from '../../src/core/types.js'
import { createSigner } from '../../src/core/signer.js'
import { MemoryStore } from '../../src/store/memoryStore.js'
import { MemoryNetwork } from '../../src/transport/memoryTransport.js'
import { MEMORY_CONSENSUS_APP } from '../../src/chain/memoryChain.js'
import { Engine } from '../../src/engine/engine.js'
import { RpcServer } from '../../src/rpc/server.js'
import type { RpcLogger } from '../../src/rpc/server.js'
import { loadAppRegistry } from '../../src/node/appRegistry.js'
import type { AppDefinition } from '../../src/protocols/app/appData.js'
import { TEST_POLICY } from './ledgerNetwork.js'

export interface AppServers {
  readonly engines: Engine[]
  readonly servers: RpcServer[]
  readonly addresses: Address[]
  close(): Promise<void>
}

const quiet: RpcLogger = { info: () => undefined, warn: () => undefined, debug: () => undefined, error: (obj) => console.error(obj) }

/** `maxDeposit`: every engine declines channels peers open with a larger deposit (its app policy). */
export async function startAppServers(p: { keys: readonly Hex[]; secret: string; seed: number; appSnapshotIntervalEvents?: number; maxDeposit?: bigint }): Promise<AppServers> {
  const network = new MemoryNetwork({ seed: p.seed })
  const { apps } = loadAppRegistry()
  const engines: Engine[] = []
  const servers: RpcServer[] = []
  const addresses: Address[] = []
  let nonce = 0n
  for (const key of p.keys) {
    const signer = createSigner(key)
    addresses.push(signer.address)
    const engine = await Engine.open({
      store: new MemoryStore(),
      signer,
      transport: network.connect(signer.address),
      consensusApp: MEMORY_CONSENSUS_APP,
      policy: TEST_POLICY,
      apps,
      tickIntervalMs: 20,
      ...(p.appSnapshotIntervalEvents ? { appSnapshotIntervalEvents: p.appSnapshotIntervalEvents } : {}),
      ...(p.maxDeposit !== undefined ? { appPolicy: (d: AppDefinition) => d.deposits.every((deposit) => deposit <= p.maxDeposit!) } : {}),
    })
    engines.push(engine)
    servers.push(await RpcServer.start({ node: { engine, version: 'test', newNonce: () => ++nonce }, secret: p.secret, logger: quiet }))
  }
  return {
    engines,
    servers,
    addresses,
    async close() {
      for (const server of servers) await server.close()
      for (const engine of engines) await engine.close()
    },
  }
}
