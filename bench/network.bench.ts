// Nodes as separate processes over libp2p on loopback, each with its durable RocksDB store (issue 6):
// - update finality: one ledger update at a time between two node processes (propose → countersign →
//   supported; both sides fsync'd), p50/p99 against the budget p50 ≤ 1 ms, p99 ≤ 5 ms (DESIGN §8);
// - 100 ledger proposals pipelined, now with each side on its own core (the ledger bench runs both on one);
// - payments/s from Alice to Bob through a virtual channel funded by a Hub process, beside the voucher
//   sign + recover rate measured in this process in the same run (budget ≥ 0.5 of it).
// The nodes are the real daemon (bench/networkNode.ts wraps startNode with an IPC channel), on anvil.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import type { Benchmark } from './harness.js'
import { opsPerSecond, round } from './harness.js'
import { askNode as ask } from './nodeIpc.js'
import type { LedgerCommand } from './nodeIpc.js'
import { commitLatency, percentile, transportRoundTrip } from './probes.js'
import type { Address, Bytes32 } from '../src/core/types.js'
import { createSigner } from '../src/core/signer.js'
import { hashVoucher, recoverVoucherSigner } from '../src/core/voucher.js'
import { hashState } from '../src/core/hashState.js'
import { recoverHashSigner } from '../src/core/signatures.js'
import { startAnvil } from '../src/chain/anvil.js'
import { ANVIL_DEV_KEYS, deployContracts } from '../src/chain/deploy.js'
import { launchLocalNetwork } from '../src/node/localNetwork.js'
import { ChannelsClient } from '../src/client/client.js'
import { addressToDestination } from '../src/core/outcome.js'
import type { State } from '../src/core/state.js'
import { toAddress } from '../src/core/canonical.js'

const WARMUP = 200
const UPDATES = 2_000
const BURSTS = 5
const PAYMENTS = 10_000
const ETH: Address = toAddress('0x0000000000000000000000000000000000000000')

const benchmark: Benchmark = {
  estimate: 'finality ≈ libp2p RTT (0.2 ms) + 2 fsyncs (0.4 ms) + crypto (0.15 ms): p50 ~0.8 ms; payments ≈ 50–70% of sign+recover (payer and payee on separate cores)',
  async run() {
    const root = mkdtempSync(path.join(tmpdir(), 'channels-network-bench-'))
    const anvil = await startAnvil({ port: 0 })
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
    let network: Awaited<ReturnType<typeof launchLocalNetwork>> | undefined
    const clients: ChannelsClient[] = []
    try {
      const deployment = await deployContracts({ rpcUrl: anvil.url, chainId: 31337 })
      network = await launchLocalNetwork({
        dataDir: root,
        names: ['alice', 'hub', 'bob'],
        chainKeys: ANVIL_DEV_KEYS,
        chain: { url: anvil.url, chainId: 31337, local: true, deployment, pollingIntervalMs: 50 },
        logLevel: 'warn',
        command: [process.execPath, '--import', tsx, path.join(import.meta.dirname, 'networkNode.ts')],
      })
      const net = network
      const connect = async (name: string) => {
        const c = await ChannelsClient.connect({ url: net.node(name).info.rpcUrl, secret: net.prepared.get(name)!.secret })
        clients.push(c)
        return c
      }
      const [alice, bob] = [await connect('alice'), await connect('bob')]
      const hubAddress = net.prepared.get('hub')!.address
      const openLedger = async (c: ChannelsClient) => {
        const { objectiveId, channelId } = await c.createLedgerChannel({ counterparty: hubAddress, myDeposit: 10n ** 18n, theirDeposit: 10n ** 18n })
        await c.waitForObjective(objectiveId, { timeoutMs: 60_000 })
        return channelId
      }
      const [ledgerId] = await Promise.all([openLedger(alice), openLedger(bob)])
      const aliceProcess = net.node('alice').child
      const hubProcess = net.node('hub').child
      // Each run is agreed to by the hub's owner first (untimed): a node never moves funds on the other's word.
      const agreed = async <R>(command: LedgerCommand): Promise<R> => {
        await ask(hubProcess, { kind: 'agree', to: command })
        return ask<R>(aliceProcess, command)
      }

      // Finality, one update at a time.
      await agreed({ kind: 'updates', ledgerId: ledgerId!, count: WARMUP, salt: 1 })
      const times = (await agreed<number[]>({ kind: 'updates', ledgerId: ledgerId!, count: UPDATES, salt: 2 })).sort((a, b) => a - b)
      const p50 = percentile(times, 50)
      const p99 = percentile(times, 99)

      // 100 proposals pipelined.
      const bursts: number[] = []
      for (let r = 0; r < BURSTS; r++) bursts.push((await agreed<{ add: number }>({ kind: 'burst', ledgerId: ledgerId!, count: 100, salt: 100 + r })).add)
      bursts.sort((a, b) => a - b)

      // Payments through the hub.
      const { objectiveId, channelId } = await alice.createPaymentChannel({ counterparty: net.prepared.get('bob')!.address, intermediaries: [hubAddress], amount: BigInt(PAYMENTS + 1_000) })
      await alice.waitForObjective(objectiveId, { timeoutMs: 60_000 })
      await bob.waitForPaymentChannel(channelId, () => true, { timeoutMs: 30_000 })
      await ask(aliceProcess, { kind: 'pay', channelId, count: 1_000, window: 64 }) // warm-up
      const paid = ask<{ end: number }>(net.node('bob').child, { kind: 'waitPaid', channelId, total: String(PAYMENTS + 1_000) })
      const sent = await ask<{ start: number; end: number }>(aliceProcess, { kind: 'pay', channelId, count: PAYMENTS, window: 64 })
      const paymentsPerSecond = PAYMENTS / (((await paid).end - sent.start) / 1000)

      // Crypto limits, this process, same run.
      const signer = createSigner(`0x${'42'.repeat(32)}`)
      const voucherLimit = await opsPerSecond((i) => {
        const id = channelId as Bytes32
        return recoverVoucherSigner(id, BigInt(i + 1), signer.signHash(hashVoucher(id, BigInt(i + 1))))
      })
      // One update's crypto, both sides: each hashes the new ledger state, signs it, and recovers the other's signature.
      const allocation = (who: string, amount: bigint) => ({ destination: addressToDestination(who as Address), amount, allocationType: 0, metadata: '0x' as const })
      const ledgerStateAt = (turnNum: bigint): State => ({
        participants: [signer.address, hubAddress],
        channelNonce: 1n,
        appDefinition: deployment.consensusApp,
        challengeDuration: 86_400,
        appData: '0x',
        outcome: [{ asset: ETH, assetMetadata: { assetType: 0, metadata: '0x' }, allocations: [allocation(signer.address, 10n ** 18n - turnNum), allocation(hubAddress, 10n ** 18n + turnNum)] }],
        turnNum,
        isFinal: false,
      })
      const updateCrypto = await opsPerSecond((i) => {
        const hash = hashState(ledgerStateAt(BigInt(i + 1)))
        for (let side = 0; side < 2; side++) recoverHashSigner(hash, signer.signHash(hash))
      })
      const cryptoMs = 1000 / updateCrypto
      const fsync = await commitLatency(root)
      const rtt = await transportRoundTrip()
      // The floor of one durable update: proposer, follower and proposer again each commit (fsync) before
      // they act, the frame crosses twice, and the crypto runs once per side.
      const floor = 3 * fsync + rtt + cryptoMs
      return [
        { name: `update finality p50 (${UPDATES} sequential ledger updates, 2 processes)`, value: round(p50, 3), unit: 'ms' },
        { name: 'update finality p99', value: round(p99, 3), unit: 'ms' },
        { name: 'update finality max', value: round(times.at(-1)!, 3), unit: 'ms' },
        { name: 'budget p50 / p99 (DESIGN §8)', value: 1, unit: 'ms / 5 ms' },
        { name: 'crypto of one update, both sides, one thread (same run)', value: round(cryptoMs, 3), unit: 'ms' },
        { name: 'RocksDB commit with fsync p50, this process (same run)', value: round(fsync, 3), unit: 'ms' },
        { name: 'libp2p round trip p50, 300 B, this process (same run)', value: round(rtt, 3), unit: 'ms' },
        { name: 'floor: 3 fsyncs + 1 round trip + crypto', value: round(floor, 3), unit: 'ms' },
        { name: 'finality p50 / floor', value: round(p50 / floor, 2), unit: 'x' },
        { name: `100 proposals pipelined, median of ${BURSTS}`, value: round(bursts[Math.floor(BURSTS / 2)]!, 1), unit: 'ms' },
        { name: `payments through a hub process (${PAYMENTS}, payer → payee)`, value: round(paymentsPerSecond), unit: 'payments/s' },
        { name: 'crypto limit: voucher sign + recover, same run', value: round(voucherLimit), unit: 'ops/s' },
        { name: 'payments / crypto limit (budget ≥ 0.5)', value: round(paymentsPerSecond / voucherLimit, 2), unit: 'x' },
      ]
    } finally {
      for (const c of clients) await c.close().catch(() => {})
      await network?.stop()
      await anvil.stop()
      rmSync(root, { recursive: true, force: true })
    }
  },
}
export default benchmark
