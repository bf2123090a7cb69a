// `npm start` (until the node issue gives it its full job): loads or creates this machine's channel key
// under ./data, prints the node's address, runs a self-check of the crypto backend and the store (the
// native bindings must reproduce DESIGN §3's conformance vector and agree with @noble/curves; an event
// appended to the RocksDB journal must read back and verify), then brings up the local chain: anvil with
// its state under ./data/chain and our contracts deployed at their deterministic addresses, and runs
// until Ctrl-C. `--chain-url <url>` uses another JSON-RPC chain instead; `--once` exits after setting up.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { secp256k1 as noble } from '@noble/curves/secp256k1.js'
import type { Hex } from '../core/types.js'
import type { State } from '../core/state.js'
import { channelId } from '../core/channelId.js'
import { hashState } from '../core/hashState.js'
import { signState, recoverStateSigner } from '../core/signState.js'
import { ethSignedMessageDigest, parsePrivateKey, privateKeyToAddress } from '../core/signatures.js'
import { RocksStore } from '../store/rocksStore.js'
import { appendEvents, loadVerifiedEvents } from '../store/eventStore.js'
import { JOURNAL_LOG_ID } from '../store/keys.js'
import { JournalInputKind } from '../log/journal.js'
import { parseArgs } from 'node:util'
import { createPublicClient, http } from 'viem'
import { startAnvil } from '../chain/anvil.js'
import type { Anvil } from '../chain/anvil.js'
import { ANVIL_DEPLOYER_KEY, deployContracts, expectedDeployment } from '../chain/deploy.js'
import { ChannelsError } from '../core/errors.js'

const { values: args } = parseArgs({
  options: {
    'chain-url': { type: 'string' },
    'data-dir': { type: 'string' },
    port: { type: 'string' },
    once: { type: 'boolean', default: false },
  },
})
const dataDir = path.resolve(args['data-dir'] ?? process.env.CHANNELS_DATA_DIR ?? 'data')
const nodeDir = path.join(dataDir, 'node')
const keyFile = path.join(nodeDir, 'channel.key')

function loadOrCreateKey(): Hex {
  mkdirSync(nodeDir, { recursive: true })
  if (!existsSync(keyFile)) writeFileSync(keyFile, `0x${randomBytes(32).toString('hex')}\n`, { mode: 0o600 })
  const key = readFileSync(keyFile, 'utf8').trim() as Hex
  parsePrivateKey(key) // a corrupt key file is reported, not used
  return key
}

// DESIGN §3's conformance vector.
const vector: State = {
  participants: ['0xF5A1BB5607C9D079E46d1B3Dc33f257d937b43BD', '0x760bf27cd45036a6C486802D30B5D90CfFBE31FE'],
  channelNonce: 37140676580n,
  appDefinition: '0x5e29E5Ab8EF33F050c7cc10B5a0456D975C5F88d',
  challengeDuration: 60,
  appData: '0x',
  outcome: [
    {
      asset: '0x0000000000000000000000000000000000000000',
      assetMetadata: { assetType: 0, metadata: '0x' },
      allocations: [
        { destination: '0x000000000000000000000000F5A1BB5607C9D079E46d1B3Dc33f257d937b43BD', amount: 5n, allocationType: 0, metadata: '0x' },
        { destination: '0x000000000000000000000000Ee18fF1575055691009aa246aE608132C57a422c', amount: 5n, allocationType: 0, metadata: '0x' },
      ],
    },
  ],
  turnNum: 5n,
  isFinal: false,
}
const vectorKey: Hex = '0xcaab404f975b4620747174a75f08d98b4e5a7053b691b41bcfc0d839d48b7634'
const expectedSignature =
  '0x2873c05a6ecebca3d2fde93ea3332b4423bbd2a60a973ec61b8abfe16294f69e59ddb5b57c79924b57db6d928a0f3ef657c6e0e9879d2bf387364ace6d3284fd1b'

function check(name: string, ok: boolean, detail = ''): boolean {
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? `  (${detail})` : ''}`)
  return ok
}

async function main(): Promise<number> {
  const key = loadOrCreateKey()
  const address = privateKeyToAddress(key)
  console.log(`Channels node\n  address   ${address}\n  data dir  ${dataDir}\n  key file  ${keyFile}\n`)
  console.log('Self-check:')
  let ok = true
  ok &&= check('channel id matches the Nitro vector', channelId(vector) === '0x3f9dfeabcc41d1618dd0711102018ab6c1a1d7c25111a425401c2e524eb073a2')
  ok &&= check('state hash matches the Nitro vector', hashState(vector) === '0x8e20f2e5f2cd3b3d4805eb3b98d2cf2945631042f4cb69fc629425dd28efe184')
  ok &&= check('native signature matches the Nitro vector', signState(vector, vectorKey) === expectedSignature)

  const myState = { ...vector, participants: [address, vector.participants[1]!] }
  const mine = signState(myState, key)
  const reference = noble.sign(ethSignedMessageDigest(hashState(myState)), parsePrivateKey(key), { prehash: false, format: 'recovered' })
  const referenceHex = `0x${Buffer.from(reference.subarray(1)).toString('hex')}${(27 + reference[0]!).toString(16)}`
  ok &&= check('native signature equals @noble/curves on this node\'s key', mine === referenceHex)
  ok &&= check('signature recovers to this node\'s address', recoverStateSigner(myState, mine) === address)

  const iterations = 2000
  const hash = hashState(myState)
  let t = performance.now()
  for (let i = 0; i < iterations; i++) signState({ ...myState, turnNum: BigInt(i) }, key)
  const signRate = iterations / ((performance.now() - t) / 1000)
  t = performance.now()
  for (let i = 0; i < 200; i++) noble.sign(ethSignedMessageDigest(hash), parsePrivateKey(key), { prehash: false })
  const nobleRate = 200 / ((performance.now() - t) / 1000)
  check('native backend in use', signRate > nobleRate * 3, `hash+sign ${Math.round(signRate)}/s native vs sign ${Math.round(nobleRate)}/s noble`)

  const store = await RocksStore.open(path.join(nodeDir, 'store'))
  try {
    const [entry] = await appendEvents(store, JOURNAL_LOG_ID, [
      { kind: JournalInputKind.api, payload: new TextEncoder().encode(`start ${process.pid}`), author: address },
    ])
    const journal = await loadVerifiedEvents(store, JOURNAL_LOG_ID)
    ok &&= check('journal append is durable and the chain verifies', journal.at(-1)?.hash === entry!.hash, `${journal.length} entries`)
  } finally {
    await store.close()
  }
  console.log(ok ? '\nAll checks passed.' : '\nSelf-check FAILED')
  if (!ok) return 1
  return runChain()
}

/** Starts (or joins) the chain, deploys our contracts if they are not there, and waits for Ctrl-C. */
async function runChain(): Promise<number> {
  let anvil: Anvil | undefined
  let url = args['chain-url']
  try {
    if (!url) {
      const options = { stateDir: path.join(dataDir, 'chain'), logFile: path.join(dataDir, 'chain', 'anvil.log') }
      // The usual local port if it is free (stable URLs for tools), else any free port.
      anvil = await startAnvil({ ...options, port: Number(args.port ?? 8545) }).catch(() => startAnvil({ ...options, port: 0 }))
      url = anvil.url
    }
    const client = createPublicClient({ transport: http(url) })
    const chainId = await client.getChainId()
    const resumed = Boolean(await client.getCode({ address: expectedDeployment(privateKeyToAddress(ANVIL_DEPLOYER_KEY)).adjudicator }))
    const deployment = await deployContracts({ rpcUrl: url, chainId })
    console.log(`\nChain${anvil ? ' (embedded anvil, state in ' + path.join(dataDir, 'chain') + ')' : ''}\n  url                ${url}\n  chain id           ${chainId}`)
    for (const [name, address] of Object.entries(deployment)) console.log(`  ${name.padEnd(18)} ${address}`)
    console.log(`  contracts          ${resumed ? 'found at their addresses (resumed chain)' : 'deployed now'}`)
    if (args.once) {
      console.log('\nDone (--once).')
    } else {
      // Listen before saying "Ready": a Ctrl-C right after it must find the handler in place.
      const stop = new Promise<void>((resolve) => {
        process.once('SIGINT', resolve)
        process.once('SIGTERM', resolve)
      })
      console.log('\nReady. Ctrl-C stops the chain; the next `npm start` resumes it from ./data.')
      await stop
      console.log('\nStopping...')
    }
    return 0
  } catch (error) {
    // A failure here is reported plainly (what failed and why), never as a stack trace.
    const reason = error instanceof ChannelsError ? `${error.code}: ${error.summary}` : String(error)
    console.error(`\nThe chain could not be started: ${reason}`)
    return 1
  } finally {
    await anvil?.stop()
  }
}

process.exitCode = await main()
