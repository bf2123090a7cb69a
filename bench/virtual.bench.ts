// Virtual channels (issue 5): virtual-fund latency by hop count (0–8) over the in-memory transport with
// RocksDB stores, and payments/s from one payer to one payee through one hub, beside the node's own
// sign+recover rate measured in the same run (budget: payments ≥ 50% of that crypto limit).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import type { Benchmark, BenchResult } from './harness.js'
import { opsPerSecond, round } from './harness.js'
import type { Bytes32, Hex } from '../src/core/types.js'
import { createSigner } from '../src/core/signer.js'
import { hashVoucher, recoverVoucherSigner } from '../src/core/voucher.js'
import { RocksStore } from '../src/store/rocksStore.js'
import { MemoryNetwork } from '../src/transport/memoryTransport.js'
import { MemoryChain, MEMORY_CONSENSUS_APP } from '../src/chain/memoryChain.js'
import { Engine } from '../src/engine/engine.js'
import { ACCEPT_ANY_PEER } from '../src/engine/policy.js'
import { toAddress } from '../src/core/canonical.js'

const MAX_HOPS = 8
const PAYMENTS = 2000
const ETH = toAddress('0x0000000000000000000000000000000000000000')
const key = (i: number) => `0x${(i + 1).toString(16).padStart(2, '0').repeat(32)}` as Hex

async function waitUntil(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve))
}

/** A path of `count` nodes with funded ledgers between neighbours, each on its own RocksDB store. */
async function openPath(root: string, count: number) {
  const network = new MemoryNetwork({ seed: 1 })
  const chain = new MemoryChain()
  const stores = await Promise.all(Array.from({ length: count }, (_, i) => RocksStore.open(path.join(root, `n${i}`))))
  const engines = await Promise.all(
    stores.map((store, i) => {
      const signer = createSigner(key(i))
      chain.fund(signer.address, ETH, 10n ** 24n)
      return Engine.open({ store, signer, transport: network.connect(signer.address), chain: chain.connect(signer.address), consensusApp: MEMORY_CONSENSUS_APP, policy: ACCEPT_ANY_PEER })
    }),
  )
  for (let i = 0; i + 1 < count; i++) {
    const id = await engines[i]!.directFund({ counterparty: engines[i + 1]!.address, myDeposit: 10n ** 20n, theirDeposit: 10n ** 20n, nonce: BigInt(i + 1) })
    await engines[i]!.waitForObjective(id)
    await waitUntil(() => engines[i + 1]!.getLedger(id.slice('directfund:'.length) as Bytes32) !== undefined)
  }
  const close = async () => {
    for (const e of engines) await e.close()
    for (const s of stores) await s.close()
  }
  return { engines, close }
}

const benchmark: Benchmark = {
  estimate: 'fund ≈ 5 one-way message delays + 1 ledger round per hop side (a few ms, flat-ish in hops); payments ≈ sign + recover + 2 group commits each: ~50% of the crypto limit',
  async run() {
    const results: BenchResult[] = []
    const root = mkdtempSync(path.join(tmpdir(), 'channels-virtual-bench-'))
    try {
      for (let hops = 0; hops <= MAX_HOPS; hops++) {
        const { engines, close } = await openPath(path.join(root, `h${hops}`), hops + 2)
        const [alice, bob] = [engines[0]!, engines[engines.length - 1]!]
        const times: number[] = []
        for (let round = 0; round < 3; round++) {
          const start = performance.now()
          const id = await alice.createPaymentChannel({ counterparty: bob.address, intermediaries: engines.slice(1, -1).map((e) => e.address), amount: 1000n, nonce: BigInt(round + 1) })
          const done = await alice.waitForObjective(id)
          if (done.status !== 'completed') throw new Error(`virtual fund failed: ${JSON.stringify(done.failure)}`)
          await waitUntil(() => bob.getObjective(id)?.objective.status === 'completed')
          times.push(performance.now() - start)
        }
        times.sort((a, b) => a - b)
        results.push({ name: `virtual fund, ${hops} intermediaries (median of 3)`, value: round(times[1]!, 2), unit: 'ms' })
        await close()
      }

      const { engines, close } = await openPath(path.join(root, 'pay'), 3)
      const [alice, hub, bob] = engines as [Engine, Engine, Engine]
      const id = await alice.createPaymentChannel({ counterparty: bob.address, intermediaries: [hub.address], amount: BigInt(PAYMENTS), nonce: 99n })
      await alice.waitForObjective(id)
      const channelId = id.slice('virtualfund:'.length) as Bytes32
      await waitUntil(() => bob.getPaymentChannel(channelId) !== undefined)
      const start = performance.now()
      // Pipelined like a streaming payer: many payments in flight, the payee checks each voucher.
      const inFlight: Promise<unknown>[] = []
      for (let i = 0; i < PAYMENTS; i++) {
        inFlight.push(alice.pay(channelId, 1n))
        if (inFlight.length >= 64) await inFlight.shift()
      }
      await Promise.all(inFlight)
      await waitUntil(() => bob.getPaymentChannel(channelId)?.paid === BigInt(PAYMENTS))
      const paymentsPerSecond = PAYMENTS / ((performance.now() - start) / 1000)
      await close()

      // The crypto limit of one payment: the payer signs a voucher, the payee recovers it (same run, same thread).
      const signer = createSigner(key(0))
      const limit = await opsPerSecond((i) => {
        const hash = hashVoucher(channelId, BigInt(i + 1))
        return recoverVoucherSigner(channelId, BigInt(i + 1), signer.signHash(hash))
      })
      results.push(
        { name: 'payments through one hub (payer → payee, acknowledged)', value: round(paymentsPerSecond), unit: 'payments/s' },
        { name: 'crypto limit: voucher sign + recover, same run', value: round(limit), unit: 'ops/s' },
        { name: 'payments / crypto limit (budget ≥ 0.5)', value: round(paymentsPerSecond / limit, 2), unit: 'x' },
      )
      return results
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  },
}
export default benchmark
