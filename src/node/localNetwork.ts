// A network of node processes on this machine, all knowing each other's multiaddrs: what `npm start`, the
// multi-process tests and the network bench run. The configs are rewritten together at every launch, so
// ports may change between runs while the address books still agree; identities (keys) persist.
import path from 'node:path'
import type { Hex } from '../core/types.js'
import type { Deployment } from '../chain/deploy.js'
import { freePort, isFree, prepareNode, spawnNode, writeNodeConfig } from './launcher.js'
import type { NodeProcess, PreparedNode } from './launcher.js'
import type { ConfigFile } from './config.js'

export interface LocalNetworkOptions {
  readonly dataDir: string
  /** One node per name, data in `<dataDir>/<name>`. */
  readonly names: readonly string[]
  /** Chain keys by position (funded accounts); nodes beyond the list generate unfunded keys. */
  readonly chainKeys: readonly Hex[]
  readonly chain: {
    readonly url: string
    readonly chainId: number
    readonly deployment: Deployment
    /**
     * An anvil this program started (the embedded local chain, src/node/chainConfig.ts): written as
     * `chain.local`, so confirmations default to 0. False for any other chain (npm start --chain-url).
     */
    readonly local: boolean
    /** Blocks on top of a chain event; default 0 on the local chain, else the node's default. */
    readonly confirmations?: number
    readonly pollingIntervalMs?: number
  }
  /** RPC ports to use when free; others get any free port. */
  readonly preferredRpcPorts?: Readonly<Record<string, number>>
  readonly logLevel?: string
  /** Run this instead of `channels` (see spawnNode). */
  readonly command?: readonly string[]
  /** Policy settings every node gets besides accepting the others (src/engine/policy.ts), e.g. challenge-duration bounds. */
  readonly policy?: Omit<NonNullable<ConfigFile['policy']>, 'peers'>
  /** Called as each node comes up (progress output). */
  readonly onStarted?: (node: NodeProcess, prepared: PreparedNode) => void
}

export interface LocalNetwork {
  readonly prepared: ReadonlyMap<string, PreparedNode>
  node(name: string): NodeProcess
  /** SIGKILL: a crash. */
  kill(name: string): Promise<void>
  /** Starts the named node again (after a kill or stop) with the same config. */
  restart(name: string): Promise<NodeProcess>
  /** SIGTERM to every node (each drains its outbox) and wait. */
  stop(): Promise<void>
}

export async function launchLocalNetwork(options: LocalNetworkOptions): Promise<LocalNetwork> {
  const prepared = new Map<string, PreparedNode>()
  for (const [i, name] of options.names.entries()) {
    const chainKey = options.chainKeys[i]
    prepared.set(name, await prepareNode({ name, dataDir: path.join(options.dataDir, name), ...(chainKey ? { chainKey } : {}) }))
  }
  const ports = new Map<string, { rpc: number; p2p: number }>()
  for (const name of options.names) {
    const preferred = options.preferredRpcPorts?.[name]
    ports.set(name, { rpc: preferred !== undefined && (await isFree(preferred)) ? preferred : await freePort(), p2p: await freePort() })
  }
  const multiaddr = (name: string) => `/ip4/127.0.0.1/tcp/${ports.get(name)!.p2p}/p2p/${prepared.get(name)!.peerId}`
  for (const name of options.names) {
    const others = options.names.filter((n) => n !== name)
    writeNodeConfig(prepared.get(name)!.dataDir, {
      name,
      rpc: { host: '127.0.0.1', port: ports.get(name)!.rpc },
      p2p: { listen: [`/ip4/127.0.0.1/tcp/${ports.get(name)!.p2p}`], peers: Object.fromEntries(others.map((n) => [prepared.get(n)!.address, [multiaddr(n)]])) },
      chain: {
        url: options.chain.url,
        chainId: options.chain.chainId,
        local: options.chain.local,
        ...contracts(options.chain.deployment),
        ...(options.chain.confirmations === undefined ? {} : { confirmations: options.chain.confirmations }),
        pollingIntervalMs: options.chain.pollingIntervalMs ?? 100,
      },
      // The nodes of one local network accept each other's ledgers and channels (and nobody else's).
      policy: { ...options.policy, peers: others.map((n) => prepared.get(n)!.address) },
      ...(options.logLevel ? { logLevel: options.logLevel as 'info' } : {}),
    })
  }

  const running = new Map<string, NodeProcess>()
  const start = async (name: string) => {
    const node = await spawnNode({ name, dataDir: prepared.get(name)!.dataDir, ...(options.command ? { command: options.command } : {}) })
    running.set(name, node)
    options.onStarted?.(node, prepared.get(name)!)
    return node
  }
  try {
    for (const name of options.names) await start(name)
  } catch (error) {
    await Promise.all([...running.values()].map((n) => n.kill()))
    throw error
  }
  return {
    prepared,
    node: (name) => running.get(name)!,
    kill: async (name) => running.get(name)!.kill(),
    restart: (name) => start(name),
    stop: async () => {
      await Promise.all([...running.values()].map((n) => n.stop()))
    },
  }
}

function contracts(d: Deployment) {
  return { adjudicator: d.adjudicator, consensusApp: d.consensusApp, virtualPaymentApp: d.virtualPaymentApp }
}
