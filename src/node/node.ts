// The node daemon's shell (issue 6): wires the engine to its real parts — a RocksDB store, the chain through
// viem, peers over libp2p, the JSON-RPC API — and takes them down in the right order. Everything durable
// lives in the data dir, so a restart resumes every objective, ledger, payment channel and unacked frame.
//
//   <data dir>/channel.key  chain.key  peer.key  rpc.secret   (mode 0600; a key kept in a keystore has no .key file)
//   <data dir>/store/                                         (RocksDB: journal, tables, outbox)
//   <data dir>/node.json                                      (while running: pid, RPC URL, multiaddrs — for the CLI)
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { pino } from 'pino'
import type { Logger } from 'pino'
import type { Address } from '../core/types.js'
import { createSigner } from '../core/signer.js'
import { privateKeyToAddress } from '../core/signatures.js'
import { RocksStore } from '../store/rocksStore.js'
import { Engine } from '../engine/engine.js'
import { ViemChainService } from '../chain/viemChainService.js'
import { Libp2pTransport } from '../transport/libp2pTransport.js'
import { RpcServer } from '../rpc/server.js'
import type { NodeConfig } from './config.js'
import { ChainNotReadyError, verifyChain } from './chainConfig.js'
import { appPolicyFrom } from './appPolicy.js'
import { loadAppRegistry } from './appRegistry.js'
import { NODE_INFO_FILE, SECRET_FILE } from './files.js'
import { loadOrCreateKey, loadOrCreateSecret } from './keys.js'
import { loadOrCreatePeerKey } from './peerIdentity.js'
import { packageVersion } from './version.js'

/** What a running node publishes in `<data dir>/node.json` for the CLI and the launcher. */
export interface NodeInfoFile {
  readonly name: string
  readonly pid: number
  readonly address: Address
  readonly chainAddress: Address
  readonly rpcUrl: string
  readonly wsUrl: string
  readonly peerId: string
  readonly multiaddrs: readonly string[]
  readonly chainUrl: string
  readonly chainId: number
}

export interface RunningNode {
  readonly info: NodeInfoFile
  readonly secret: string
  readonly engine: Engine
  readonly transport: Libp2pTransport
  /** Stops taking API calls, waits (bounded) for peers to acknowledge what is in the outbox, then closes. */
  stop(): Promise<void>
}

export { NODE_INFO_FILE, SECRET_FILE, ChainNotReadyError }

export function createLogger(config: Pick<NodeConfig, 'name' | 'logLevel'>): Logger {
  return pino({ name: config.name, level: config.logLevel })
}

export async function startNode(config: NodeConfig, logger: Logger = createLogger(config)): Promise<RunningNode> {
  const dir = config.dataDir
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const keyFile = (name: string) => path.join(dir, name)
  const channelKey = loadOrCreateKey(keyFile('channel.key'), config.channelKey)
  const chainKey = loadOrCreateKey(keyFile('chain.key'), config.chainKey)
  for (const [name, source] of [['channel.key', config.channelKey], ['chain.key', config.chainKey]] as const) {
    if (source.kind === 'keystore' && existsSync(keyFile(name))) logger.warn({ file: keyFile(name), keystore: source.file }, `${name} holds the keystore's key in plaintext: delete it to keep the key only encrypted`)
  }
  const secret = loadOrCreateSecret(path.join(dir, SECRET_FILE))
  const peerPrivateKey = await loadOrCreatePeerKey(path.join(dir, 'peer.key'))
  const signer = createSigner(channelKey)
  // The sample apps, prepared by `npm run build:apps`: checked here (a stale or tampered build refuses to
  // start), instantiated on first use, without binaryen.
  const registry = loadAppRegistry()
  logger.info({ apps: Object.fromEntries(registry.names) }, 'apps available')

  // The chain id it answers, the local chain's conditions, and every contract's code (chainConfig.ts):
  // a chain or contract other than the configured ones stops the node before it signs or deposits anything.
  const { chainId, contracts, contractCode } = await verifyChain(config.chain)
  const { adjudicator, consensusApp, virtualPaymentApp } = contracts
  // Which build the contracts are (this one's, official Nitro's, or a mix) tells an operator what runs their disputes.
  logger.info({ chainId, url: config.chain.url, local: config.chain.local, confirmations: config.chain.confirmations, ...contracts, contractSet: contractCode.set, contractBuilds: contractCode.builds, paymentTokens: contractCode.paymentTokens }, 'chain and contracts checked')

  const store = await RocksStore.open(path.join(dir, 'store'))
  const opened: { close(): Promise<void> }[] = [store]
  const closeOpened = async () => {
    for (const part of opened.reverse()) await part.close().catch((error: unknown) => logger.warn({ err: error }, 'close failed'))
  }
  try {
    const chain = new ViemChainService({
      rpcUrl: config.chain.url,
      chainId,
      adjudicator,
      consensusApp,
      txKey: chainKey,
      confirmations: config.chain.confirmations,
      pollingIntervalMs: config.chain.pollingIntervalMs,
      onError: (error) => logger.warn({ code: error.code, details: error.details }, error.summary),
    })
    opened.push({ close: async () => chain.close() })
    const transport = await Libp2pTransport.create({ signer, peerPrivateKey, listen: config.p2p.listen, peers: config.p2p.peers, bootstrap: config.p2p.bootstrap, logger })
    opened.push(transport)
    const appPolicy = appPolicyFrom(config, registry) // config.apps; an app the node does not run is a ConfigError
    const engine = await Engine.open({ store, signer, transport, chain, consensusApp, virtualPaymentApp, apps: registry.apps, appPolicy, policy: config.policy, stallTimeoutMs: config.stallTimeoutSec * 1000, paymentTokens: contractCode.paymentTokens })
    opened.push(engine)
    engine.onObjectiveChange((o) => {
      logger.info({ objective: o.id, status: o.status, ...(o.failure ? { failure: o.failure } : {}) }, 'objective')
    })
    const rpc = await RpcServer.start({
      node: {
        engine,
        version: packageVersion(),
        chainId,
        contracts: { adjudicator, virtualPaymentApp },
        peerInfo: () => ({ peerId: transport.peerId, multiaddrs: transport.multiaddrs() }),
        newNonce: () => BigInt(`0x${randomBytes(8).toString('hex')}`),
      },
      secret,
      host: config.rpc.host,
      port: config.rpc.port,
      logger,
    })
    opened.push(rpc)

    const info: NodeInfoFile = {
      name: config.name,
      pid: process.pid,
      address: signer.address,
      chainAddress: privateKeyToAddress(chainKey),
      rpcUrl: rpc.url,
      wsUrl: rpc.wsUrl,
      peerId: transport.peerId,
      multiaddrs: transport.multiaddrs(),
      chainUrl: config.chain.url,
      chainId,
    }
    const infoFile = path.join(dir, NODE_INFO_FILE)
    writeFileSync(infoFile, `${JSON.stringify(info, null, 2)}\n`)
    logger.info({ ...info, resumed: { objectives: engine.objectives().length, ledgers: engine.ledgers().length, unacknowledged: engine.unacknowledged } }, 'node started')

    let stopping: Promise<void> | undefined
    const stop = () =>
      (stopping ??= (async () => {
        logger.info({ unacknowledged: engine.unacknowledged }, 'stopping')
        await rpc.close() // no new work
        opened.splice(opened.indexOf(rpc), 1)
        const deadline = Date.now() + config.shutdownTimeoutMs
        while (engine.unacknowledged > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25))
        if (engine.unacknowledged > 0) logger.warn({ unacknowledged: engine.unacknowledged }, 'outbox not drained; it is resent at the next start')
        await closeOpened()
        rmSync(infoFile, { force: true })
        logger.info('stopped')
      })())
    return { info, secret, engine, transport, stop }
  } catch (error) {
    await closeOpened()
    throw error
  }
}
