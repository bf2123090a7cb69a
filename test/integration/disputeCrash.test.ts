// Issue 15, end to end: a node process is killed (SIGKILL) after it decided to answer a stale challenge and before
// the answer was mined, and the answer is dropped from the chain's pool; restarted on the same data dir, the node
// sends it again from its chain outbox (ADR 0020), it lands before the stale challenge finalizes, and the node is
// paid its latest share to the wei.
//
// The honest node is a real `channels node` process (RocksDB store, libp2p, JSON-RPC); mallory is a node in this
// process (startNode), so the test holds the postfund both signed. Mallory opens a ledger with the honest node,
// pays it through a payment channel over the ledger (the ledger's latest state gives the honest node that much
// more), keeps the postfund, goes offline and registers the postfund on chain. Anvil mines only when the test
// says (automine off), so the answer sits in the pool while the node is killed and the answer dropped. The
// challenge duration is an hour, passed with anvil's increaseTime: the node is down for 55 of the 60 minutes,
// and "before the deadline" is checked on chain time. The node waits on its own clock for a challenge to
// finalize, so its clock is moved with the chain's (test/support/nodeClock.ts).
import { afterAll, beforeAll, expect, test } from 'vitest'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createPublicClient, createTestClient, decodeFunctionData, http } from 'viem'
import type { Chain, Hash } from 'viem'
import type { Address, Bytes32, Hex } from '../../src/core/types.js'
import { toAddress } from '../../src/core/canonical.js'
import { signChallenge } from '../../src/core/signState.js'
import type { SignedState } from '../../src/core/signedState.js'
import { startAnvil } from '../../src/chain/anvil.js'
import type { Anvil } from '../../src/chain/anvil.js'
import { ANVIL_DEV_KEYS, deployContracts } from '../../src/chain/deploy.js'
import type { Deployment } from '../../src/chain/deploy.js'
import { ViemChainService } from '../../src/chain/viemChainService.js'
import { adjudicatorAbi } from '../../src/chain/abi.js'
import { freePort, prepareNode, spawnNode, writeNodeConfig } from '../../src/node/launcher.js'
import type { NodeProcess, PreparedNode } from '../../src/node/launcher.js'
import { loadConfig } from '../../src/node/config.js'
import { createLogger, startNode } from '../../src/node/node.js'
import type { RunningNode } from '../../src/node/node.js'
import { ChannelsClient } from '../../src/client/client.js'
import { supportedSignedState } from '../../src/protocols/ledger/consensusChannel.js'
import { appDisputeId } from '../../src/protocols/app/appDispute.js'
import { clockedNodeCommand, nodeClockEnv, setNodeClock } from '../support/nodeClock.js'

const CHAIN_ID = 31337
const CHALLENGE_DURATION_SEC = 3_600
/** How long the honest node is down, in chain time: all but five minutes of the challenge. */
const DOWNTIME_SEC = CHALLENGE_DURATION_SEC - 300
const ETH_WEI = 10n ** 18n
const MALLORY_DEPOSIT = 3n * ETH_WEI
const HONEST_DEPOSIT = 2n * ETH_WEI
/** What mallory pays the honest node over the ledger before registering the postfund (which does not pay it). */
const PAID = ETH_WEI / 2n + 12_345n
const WAIT_MS = 20_000

const root = mkdtempSync(path.join(tmpdir(), 'channels-dispute-crash-'))
let anvil: Anvil
let deployment: Deployment
let chain: Chain

beforeAll(async () => {
  anvil = await startAnvil({ port: 0, chainId: CHAIN_ID })
  deployment = await deployContracts({ rpcUrl: anvil.url, chainId: CHAIN_ID })
  chain = { id: CHAIN_ID, name: 'anvil', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [anvil.url] } } }
}, 60_000)

afterAll(async () => {
  await anvil?.stop()
  rmSync(root, { recursive: true, force: true })
})

/** Polls `condition` until it holds; after `timeoutMs` fails naming `what`, with the end of the honest node's log. */
async function until(what: string, condition: () => boolean | Promise<boolean>, log?: string, timeoutMs = WAIT_MS): Promise<void> {
  const start = Date.now()
  while (!(await condition())) {
    if (Date.now() - start > timeoutMs) {
      const tail = log && existsSync(log) ? `\nthe honest node's log ends:\n${readFileSync(log, 'utf8').split('\n').slice(-12).join('\n')}` : ''
      throw new Error(`timed out waiting for ${what}${tail}`)
    }
    await new Promise((r) => setTimeout(r, 20))
  }
}

test('killed after deciding to answer a stale ledger challenge, its answer dropped from the pool: restarted, the node re-sends it, it lands before the deadline, and the node is paid its latest share to the wei', async () => {
  const publicClient = createPublicClient({ chain, transport: http(anvil.url), cacheTime: 0 })
  const testClient = createTestClient({ chain, transport: http(anvil.url), mode: 'anvil' })
  const [honestPrepared, malloryPrepared] = [
    await prepareNode({ name: 'honest', dataDir: path.join(root, 'honest'), chainKey: ANVIL_DEV_KEYS[0]! }),
    await prepareNode({ name: 'mallory', dataDir: path.join(root, 'mallory'), chainKey: ANVIL_DEV_KEYS[1]! }),
  ]
  const honestLog = path.join(honestPrepared.dataDir, 'node.log')
  const ports = { honest: await freePort(), mallory: await freePort() }
  const multiaddr = (p: PreparedNode, port: number) => `/ip4/127.0.0.1/tcp/${port}/p2p/${p.peerId}`
  const configure = (me: PreparedNode, port: number, peer: PreparedNode, peerPort: number, logLevel: 'debug' | 'warn') =>
    writeNodeConfig(me.dataDir, {
      name: me.name,
      rpc: { host: '127.0.0.1', port: 0 },
      p2p: { listen: [`/ip4/127.0.0.1/tcp/${port}`], peers: { [peer.address]: [multiaddr(peer, peerPort)] } },
      chain: { url: anvil.url, chainId: CHAIN_ID, local: true, ...contractsOf(deployment), pollingIntervalMs: 50 },
      policy: { peers: [peer.address] },
      logLevel,
    })
  configure(honestPrepared, ports.honest, malloryPrepared, ports.mallory, 'debug')
  configure(malloryPrepared, ports.mallory, honestPrepared, ports.honest, 'warn')

  const startHonest = (clockOffsetMs: number) => spawnNode({ name: 'honest', dataDir: honestPrepared.dataDir, command: clockedNodeCommand(), env: nodeClockEnv(clockOffsetMs) })
  let honest: NodeProcess | undefined = await startHonest(0)
  let mallory: RunningNode | undefined
  const clients: ChannelsClient[] = []
  const connect = async (node: NodeProcess) => {
    const client = await ChannelsClient.connect({ url: node.info.rpcUrl, secret: honestPrepared.secret })
    clients.push(client)
    return client
  }
  const malloryChain = new ViemChainService({ rpcUrl: anvil.url, chainId: CHAIN_ID, adjudicator: deployment.adjudicator, consensusApp: deployment.consensusApp, txKey: ANVIL_DEV_KEYS[1]!, pollingIntervalMs: 20 })
  try {
    const honestChainAccount = honest.info.chainAddress
    const balanceOf = (address: Address) => publicClient.getBalance({ address })
    const channelBalancesBefore = { honest: await balanceOf(honestPrepared.address), mallory: await balanceOf(malloryPrepared.address) }
    let client = await connect(honest)

    // ---- mallory opens a ledger with the honest node, keeps the postfund, and pays the honest node over the ledger ----
    const malloryConfig = loadConfig(['--data-dir', malloryPrepared.dataDir], {})
    mallory = await startNode(malloryConfig, createLogger(malloryConfig))
    const fund = await mallory.engine.directFund({ counterparty: honestPrepared.address, myDeposit: MALLORY_DEPOSIT, theirDeposit: HONEST_DEPOSIT, nonce: 1n, challengeDuration: CHALLENGE_DURATION_SEC })
    expect((await mallory.engine.waitForObjective(fund)).status).toBe('completed')
    const ledgerId = fund.slice('directfund:'.length) as Bytes32
    await client.waitForLedgerChannel(ledgerId, (l) => l.status === 'open', { timeoutMs: WAIT_MS })
    const postfund: SignedState = supportedSignedState(mallory.engine.getLedger(ledgerId)!)
    expect(postfund.state.turnNum).toBe(1n)
    expect(postfund.signatures.every((s) => s !== null)).toBe(true)

    const open = await mallory.engine.createPaymentChannel({ counterparty: honestPrepared.address, intermediaries: [], amount: PAID, nonce: 2n })
    expect((await mallory.engine.waitForObjective(open)).status).toBe('completed')
    const paymentChannelId = open.slice('virtualfund:'.length) as Bytes32
    await client.waitForPaymentChannel(paymentChannelId, (pc) => pc.status === 'open', { timeoutMs: WAIT_MS })
    await mallory.engine.pay(paymentChannelId, PAID)
    await client.waitForPaymentChannel(paymentChannelId, (pc) => pc.paid === PAID, { timeoutMs: WAIT_MS })
    expect((await mallory.engine.waitForObjective(await mallory.engine.closePaymentChannel(paymentChannelId))).status).toBe('completed')
    const latest = await client.waitForLedgerChannel(ledgerId, (l) => l.guarantees.length === 0 && l.myBalance === HONEST_DEPOSIT + PAID, { timeoutMs: WAIT_MS })
    expect(latest.theirBalance).toBe(MALLORY_DEPOSIT - PAID)
    expect(latest.turnNum).toBeGreaterThan(postfund.state.turnNum)
    expect(mallory.engine.getLedger(ledgerId)!.supported.vars.turnNum).toBe(latest.turnNum)
    // Mallory goes offline (her own node would answer her stale challenge too), then cheats from her keys.
    await mallory.stop()
    mallory = undefined

    // ---- mallory registers the postfund; the honest node decides to answer; the answer waits in the pool ----
    await testClient.setAutomine(false)
    const malloryKey = readFileSync(path.join(malloryPrepared.dataDir, 'channel.key'), 'utf8').trim() as Hex
    const registering = malloryChain.challenge({ proof: [], candidate: postfund, challengerSignature: signChallenge(postfund.state, malloryKey) })
    await until('mallory\'s challenge in the pool', async () => (await pending(testClient, malloryChain.account)).length === 1)
    await testClient.mine({ blocks: 1 })
    const registered = await publicClient.getTransactionReceipt({ hash: await registering })
    const stale = await statusOf(publicClient, deployment.adjudicator, ledgerId)
    expect(stale.turnNumRecord).toBe(1n)
    const deadline = stale.finalizesAt
    expect(deadline).toBe((await publicClient.getBlock({ blockNumber: registered.blockNumber })).timestamp + BigInt(CHALLENGE_DURATION_SEC))

    await until('the honest node\'s answer in the pool', async () => (await pending(testClient, honestChainAccount)).length === 1, honestLog)
    const [answer] = await pending(testClient, honestChainAccount)
    expect(answerTurn(answer!.input)).toBe(latest.turnNum)

    // ---- kill -9; the pool drops the answer; 55 minutes pass on chain ----
    await honest.kill()
    honest = undefined
    await testClient.dropTransaction({ hash: answer!.hash })
    expect(await pending(testClient, honestChainAccount)).toEqual([])
    expect(await publicClient.getTransactionCount({ address: honestChainAccount, blockTag: 'pending' })).toBe(answer!.nonce)
    await testClient.increaseTime({ seconds: DOWNTIME_SEC })
    await testClient.mine({ blocks: 1 })
    expect((await statusOf(publicClient, deployment.adjudicator, ledgerId)).turnNumRecord).toBe(1n) // the answer never landed
    expect((await publicClient.getBlock()).timestamp).toBeLessThan(deadline)

    // ---- restarted on the same data dir (its clock as far on as the chain's): the answer is sent again ----
    honest = await startHonest(await chainClockOffsetMs(publicClient))
    client = await connect(honest)
    expect(readFileSync(honestLog, 'utf8').match(/"msg":"node started"/g)).toHaveLength(2)
    await until('the answer sent again after the restart', async () => (await pending(testClient, honestChainAccount)).length === 1, honestLog)
    const [resent] = await pending(testClient, honestChainAccount)
    expect(resent!.nonce).toBe(answer!.nonce) // the dropped transaction's nonce: no gap holds it
    expect(answerTurn(resent!.input)).toBe(latest.turnNum)
    await testClient.mine({ blocks: 1 })
    const receipt = await publicClient.getTransactionReceipt({ hash: resent!.hash })
    expect(receipt.status).toBe('success')
    const answeredAt = (await publicClient.getBlock({ blockNumber: receipt.blockNumber })).timestamp
    expect(answeredAt).toBeLessThan(deadline) // on chain time: before mallory's challenge finalized
    const answered = await statusOf(publicClient, deployment.adjudicator, ledgerId)
    expect(answered).toEqual({ turnNumRecord: latest.turnNum, finalizesAt: answeredAt + BigInt(CHALLENGE_DURATION_SEC) })
    const disputeId = appDisputeId(ledgerId)
    await until('the node sees its answer registered', async () => (await client.listDisputes()).some((d) => d.objectiveId === disputeId && d.finalizesAt === String(answered.finalizesAt)), honestLog)

    // ---- the answer's challenge finalizes (an hour on chain, and on the node's clock): the node pays out ----
    await testClient.setAutomine(true)
    await testClient.increaseTime({ seconds: CHALLENGE_DURATION_SEC + 60 })
    await testClient.mine({ blocks: 1 })
    expect((await publicClient.getBlock()).timestamp).toBeGreaterThanOrEqual(answered.finalizesAt)
    await setNodeClock(honest.child, await chainClockOffsetMs(publicClient))
    expect((await client.waitForObjective(disputeId, { timeoutMs: WAIT_MS })).status).toBe('completed')
    const [dispute] = (await client.listDisputes()).filter((d) => d.objectiveId === disputeId)
    expect(dispute).toMatchObject({ turnNum: latest.turnNum, paidOut: true, failures: 0 })

    expect(await holdingsOf(publicClient, deployment.adjudicator, ledgerId)).toBe(0n)
    expect((await balanceOf(honestPrepared.address)) - channelBalancesBefore.honest).toBe(HONEST_DEPOSIT + PAID)
    expect((await balanceOf(malloryPrepared.address)) - channelBalancesBefore.mallory).toBe(MALLORY_DEPOSIT - PAID)
  } finally {
    await testClient.setAutomine(true)
    for (const c of clients) await c.close()
    await mallory?.stop()
    malloryChain.close()
    await honest?.stop()
  }
}, 120_000)

function contractsOf(d: Deployment) {
  return { adjudicator: d.adjudicator, consensusApp: d.consensusApp, virtualPaymentApp: d.virtualPaymentApp }
}

interface PoolTransaction {
  readonly hash: Hash
  readonly nonce: number
  readonly input: Hex
}

/** `from`'s transactions in anvil's pool, in nonce order. */
async function pending(testClient: ReturnType<typeof createTestClient>, from: Address): Promise<PoolTransaction[]> {
  const { pending: byAccount } = await testClient.getTxpoolContent()
  const entry = Object.entries(byAccount).find(([account]) => account.toLowerCase() === from.toLowerCase())
  if (!entry) return []
  return Object.values(entry[1])
    .map((tx) => ({ hash: tx.hash, nonce: Number(tx.nonce), input: tx.input as Hex }))
    .sort((a, b) => a.nonce - b.nonce)
}

/** The turn of the state a `challenge` call registers (anything else fails the test). */
function answerTurn(input: Hex): bigint {
  const call = decodeFunctionData({ abi: adjudicatorAbi, data: input })
  expect(call.functionName).toBe('challenge')
  const candidate = (call.args as readonly unknown[])[2] as { variablePart: { turnNum: number | bigint } }
  return BigInt(candidate.variablePart.turnNum)
}

async function statusOf(client: ReturnType<typeof createPublicClient>, adjudicator: Address, channelId: Bytes32) {
  const [turnNumRecord, finalizesAt] = await client.readContract({ address: adjudicator, abi: adjudicatorAbi, functionName: 'unpackStatus', args: [channelId] })
  return { turnNumRecord: BigInt(turnNumRecord), finalizesAt: BigInt(finalizesAt) }
}

function holdingsOf(client: ReturnType<typeof createPublicClient>, adjudicator: Address, channelId: Bytes32): Promise<bigint> {
  return client.readContract({ address: adjudicator, abi: adjudicatorAbi, functionName: 'holdings', args: [toAddress('0x0000000000000000000000000000000000000000'), channelId] })
}

/** How far the chain's clock (its latest block) is ahead of this machine's, in ms. */
async function chainClockOffsetMs(client: ReturnType<typeof createPublicClient>): Promise<number> {
  const { timestamp } = await client.getBlock()
  return Number(timestamp) * 1000 - Date.now()
}
