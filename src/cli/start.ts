// `npm start`: a local Channels network on embedded defaults. Brings up anvil with our contracts (state under
// ./data/chain), three node processes — Alice, Hub, Bob — each with its own data dir, channel key and a funded
// chain key (anvil's development accounts), opens the Alice–Hub and Hub–Bob ledger channels if they are not
// open yet, prints how to use them, and runs until Ctrl-C, which stops the nodes gracefully and then the
// chain. The next `npm start` resumes the same network from ./data.
//
// Flags: --data-dir <dir> (default ./data), --chain-url <url> (use that chain instead of the embedded anvil;
// the contracts must be deployable or deployed there), --confirmations <n> (with --chain-url: blocks on top
// of a chain event, default the node's 12; 0 suits a development chain that mines only on demand),
// --port <n> (anvil's port; default 8545, else any), --deposit <wei> (each side of each ledger; default
// 10^18), --once (set up, print, stop).
//
// Only the embedded anvil is written into the nodes' configs as the local chain (`chain.local`,
// src/node/chainConfig.ts); a --chain-url chain is treated as any other: explicit addresses (those just
// deployed or found), the code at each checked, confirmations as the node's default unless given.
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { createPublicClient, formatEther, http } from 'viem'
import type { Address } from '../core/types.js'
import { ChannelsError } from '../core/errors.js'
import { startAnvil } from '../chain/anvil.js'
import type { Anvil } from '../chain/anvil.js'
import { ANVIL_DEV_KEYS, deployContracts } from '../chain/deploy.js'
import type { Deployment } from '../chain/deploy.js'
import type { NodeProcess, PreparedNode } from '../node/launcher.js'
import { loadOrCreateKey } from '../node/keys.js'
import { launchLocalNetwork } from '../node/localNetwork.js'
import type { LocalNetwork } from '../node/localNetwork.js'
import { ChannelsClient } from '../client/client.js'
import { selfCheck } from './selfCheck.js'

const { values: args } = parseArgs({
  options: {
    'chain-url': { type: 'string' },
    confirmations: { type: 'string' },
    'data-dir': { type: 'string' },
    port: { type: 'string' },
    deposit: { type: 'string' },
    once: { type: 'boolean', default: false },
  },
})
const dataDir = path.resolve(args['data-dir'] ?? process.env.CHANNELS_DATA_DIR ?? 'data')
const deposit = BigInt(args.deposit ?? 10n ** 18n)
if (args.confirmations !== undefined && (args['chain-url'] === undefined || !/^\d{1,2}$/.test(args.confirmations) || Number(args.confirmations) > 64)) {
  console.error('npm start: --confirmations is a whole number of blocks (0..64), for a --chain-url chain (the embedded anvil needs none)')
  process.exit(2)
}
const confirmations = args.confirmations === undefined ? undefined : Number(args.confirmations)
const NAMES = ['alice', 'hub', 'bob'] as const
type Name = (typeof NAMES)[number]
/** Stable RPC ports when free, so the printed URLs stay the same across starts. */
const PREFERRED_RPC_PORTS: Record<Name, number> = { alice: 4001, hub: 4002, bob: 4003 }

async function main(): Promise<number> {
  let anvil: Anvil | undefined
  let network: LocalNetwork | undefined
  // Listen before anything: a Ctrl-C during setup still stops what was started.
  let interrupted = false
  const stop = new Promise<void>((resolve) => {
    const on = () => {
      interrupted = true
      resolve()
    }
    process.once('SIGINT', on)
    process.once('SIGTERM', on)
  })
  try {
    mkdirSync(dataDir, { recursive: true })
    console.log('Self-check:')
    if (!selfCheck(loadOrCreateKey(path.join(dataDir, 'alice', 'channel.key')))) return fail('the self-check failed')

    let url = args['chain-url']
    if (!url) {
      const options = { stateDir: path.join(dataDir, 'chain'), logFile: path.join(dataDir, 'chain', 'anvil.log') }
      anvil = await startAnvil({ ...options, port: Number(args.port ?? 8545) }).catch(() => startAnvil({ ...options, port: 0 }))
      url = anvil.url
    }
    const publicClient = createPublicClient({ transport: http(url) })
    const chainId = await publicClient.getChainId()
    const deployment = await deployContracts({ rpcUrl: url, chainId })
    printChain(url, chainId, deployment, anvil !== undefined)
    if (interrupted) return 0

    console.log('\nNodes:')
    network = await launchLocalNetwork({
      dataDir,
      names: NAMES,
      chainKeys: ANVIL_DEV_KEYS,
      chain: { url, chainId, deployment, local: anvil !== undefined, ...(confirmations === undefined ? {} : { confirmations }), pollingIntervalMs: anvil ? 100 : 1_000 },
      preferredRpcPorts: PREFERRED_RPC_PORTS,
      onStarted: (node, p) => console.log(`  ${node.name.padEnd(6)} ${p.address}  rpc ${node.info.rpcUrl}  log ${path.join(p.dataDir, 'node.log')}`),
    })
    const prepared = Object.fromEntries(network.prepared) as Record<Name, PreparedNode>
    const nodes = NAMES.map((n) => network!.node(n))
    if (interrupted) return 0
    console.log('\nLedger channels:')
    for (const name of ['alice', 'bob'] as const) {
      const client = await ChannelsClient.connect({ url: nodes[NAMES.indexOf(name)]!.info.rpcUrl, secret: prepared[name].secret })
      try {
        await ensureLedger(client, name, prepared.hub.address, 'hub')
      } finally {
        await client.close()
      }
    }
    printUsage(prepared, nodes)

    if (args.once) console.log('\nDone (--once).')
    else {
      console.log('\nReady. Ctrl-C stops the nodes and the chain; the next `npm start` resumes them from ./data.')
      await stop
    }
    return 0
  } catch (error) {
    return fail(error instanceof ChannelsError ? `${error.summary} (${error.code})` : error instanceof Error ? error.message : String(error))
  } finally {
    if (network) console.log('\nStopping...')
    // Graceful: each node drains its outbox, then the chain goes (its state is dumped on exit).
    await network?.stop()
    await anvil?.stop()
  }
}

/** Opens a ledger between `client`'s node and `counterparty` unless one is open already; shows progress. */
async function ensureLedger(client: ChannelsClient, name: string, counterparty: Address, counterpartyName: string): Promise<void> {
  const existing = (await client.getAllLedgerChannels()).find((l) => l.participants.some((p) => p.toLowerCase() === counterparty.toLowerCase()) && l.status === 'open')
  const label = `${name}–${counterpartyName}`.padEnd(10)
  if (existing) {
    console.log(`  ${label} ${existing.channelId}  open (resumed)`)
    return
  }
  const opening = `  ${label} opening (deposits ${formatEther(deposit)} ETH each side on chain)...`
  // On a terminal the progress line is replaced by the result; in a log both lines stay.
  process.stdout.write(process.stdout.isTTY ? opening : `${opening}\n`)
  const { objectiveId, channelId } = await client.createLedgerChannel({ counterparty, myDeposit: deposit, theirDeposit: deposit })
  await client.waitForObjective(objectiveId, { timeoutMs: 120_000 })
  const done = `  ${label} ${channelId}  open`
  process.stdout.write(process.stdout.isTTY ? `\r${done.padEnd(opening.length)}\n` : `${done}\n`)
}

function printChain(url: string, chainId: number, deployment: Deployment, embedded: boolean): void {
  console.log(`\nChain${embedded ? ` (embedded anvil, state in ${path.join(dataDir, 'chain')})` : ''}\n  url                ${url}\n  chain id           ${chainId}`)
  for (const [name, address] of Object.entries(deployment)) console.log(`  ${name.padEnd(18)} ${address}`)
}

function printUsage(prepared: Record<Name, PreparedNode>, nodes: NodeProcess[]): void {
  const rel = (name: Name) => {
    const relative = path.relative(process.cwd(), prepared[name].dataDir)
    return relative.startsWith('..') ? prepared[name].dataDir : relative
  }
  const cli = (name: Name) => `npm run -s channels -- --data-dir ${rel(name)}`
  console.log(`
Try it (in another terminal):
  ${cli('alice')} ledger list
  ${cli('alice')} payment open --to ${prepared.bob.address} --via ${prepared.hub.address} --amount 1000000
  ${cli('alice')} pay <channel id> 1000
  ${cli('bob')} payment show <channel id>
  ${cli('alice')} payment close <channel id>
  ${cli('bob')} watch
  ${cli('alice')} app open --with ${prepared.bob.address} --app tictactoe --params 0x02 --deposit 1000   # both deposit on chain
  ${cli('alice')} app open --with ${prepared.hub.address} --app tictactoe --params 0x02 --deposit 1000 --funding ledger
  ${cli('alice')} app move <channel id> 0x0104      # tic-tac-toe: X takes the centre (paid out when the game ends)

JSON-RPC (every call needs "Authorization: Bearer <secret>"; the secret is in <data dir>/rpc.secret):
${nodes.map((n) => `  ${n.name.padEnd(6)} ${n.info.rpcUrl}   ws ${n.info.wsUrl}`).join('\n')}
  curl -s ${nodes[0]!.info.rpcUrl} -H "Authorization: Bearer $(cat ${rel('alice')}/rpc.secret)" -d '{"jsonrpc":"2.0","id":1,"method":"get_address"}'`)
}

function fail(reason: string): number {
  console.error(`\nnpm start failed: ${reason}`)
  return 1
}

process.exitCode = await main()
