// What a flood of junk from one peer costs an honest node (issue 13; ADR 0016): 2,000 frames of ~200 KiB —
// half undecodable garbage, half well-formed frames whose every payload is refused — sent as fast as the
// transport takes them to an engine on RocksDB. Before admission and inert frames, the issue measured +398 MiB
// of memory and +391 MiB of journal for this. Reported: how many were admitted and refused (by code), the
// journal's growth, the store's growth on disk, and the heap and RSS growth after a GC.
import { mkdtempSync, rmSync, readdirSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Benchmark, BenchResult } from './harness.js'
import type { Address, Bytes32 } from '../src/core/types.js'
import { createSigner } from '../src/core/signer.js'
import { Engine } from '../src/engine/engine.js'
import { encodeFrame } from '../src/engine/frames.js'
import { RocksStore } from '../src/store/rocksStore.js'
import { MemoryNetwork } from '../src/transport/memoryTransport.js'
import { MEMORY_CONSENSUS_APP } from '../src/chain/memoryChain.js'
import { readHead } from '../src/store/eventStore.js'
import { JOURNAL_LOG_ID } from '../src/store/keys.js'

const FRAMES = 2_000
const PAYLOADS_PER_FRAME = 4_096 // ~205 KiB of syncRequests for ledgers that do not exist

function dirBytes(dir: string): number {
  let total = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    total += entry.isDirectory() ? dirBytes(full) : statSync(full).size
  }
  return total
}

const MiB = 1024 * 1024
const round = (n: number) => Math.round(n * 10) / 10

const benchmark: Benchmark = {
  estimate: 'garbage and frames over the budgets are refused at admission; the ~40k payloads the burst admits are refused one by one (~20 µs each, ~1 s); nothing is journaled: journal +0, memory bounded by the queue (64 MiB)',
  async run() {
    const root = mkdtempSync(path.join(tmpdir(), 'channels-flood-bench-'))
    const network = new MemoryNetwork({ seed: 1 })
    const honest = createSigner(`0x${'11'.repeat(32)}`)
    const mallory = createSigner(`0x${'66'.repeat(32)}`).address as Address
    const store = await RocksStore.open(path.join(root, 'honest'))
    const engine = await Engine.open({ store, signer: honest, transport: network.connect(honest.address), consensusApp: MEMORY_CONSENSUS_APP, tickIntervalMs: 0 })
    try {
      await engine.idle()
      const journalBefore = (await readHead(store, JOURNAL_LOG_ID)).seq
      const diskBefore = dirBytes(path.join(root, 'honest'))
      global.gc?.()
      const heapBefore = process.memoryUsage().heapUsed
      const rssBefore = process.memoryUsage().rss
      const ledgerId = (i: number) => `0x${i.toString(16).padStart(64, '7')}` as Bytes32
      // One refused frame, sent again and again: a frame that changed nothing is not remembered, so each copy
      // is handled (and refused) again — the worst case for the node.
      const refused = encodeFrame({ seq: 1n, payloads: Array.from({ length: PAYLOADS_PER_FRAME }, (_, k) => ({ kind: 'syncRequest' as const, ledgerId: ledgerId(k) })), acks: [] })
      const garbage = new Uint8Array(refused.length).fill(0xc1)
      const start = performance.now()
      const deliveries: Promise<void>[] = []
      for (let i = 0; i < FRAMES; i++) deliveries.push(engine.receive(mallory, i % 2 === 0 ? garbage : refused))
      await Promise.all(deliveries)
      await engine.idle()
      const elapsedMs = performance.now() - start
      global.gc?.()
      const journalGrowth = (await readHead(store, JOURNAL_LOG_ID)).seq - journalBefore
      const counts = engine.rejections.counts
      const results: BenchResult[] = [
        { name: `junk frames sent (~${Math.round(garbage.length / 1024)} KiB each)`, value: FRAMES, unit: 'frames' },
        { name: 'journal entries added', value: Number(journalGrowth), unit: 'entries' },
        { name: 'store growth on disk', value: round((dirBytes(path.join(root, 'honest')) - diskBefore) / MiB), unit: 'MiB' },
        { name: `heap growth${global.gc ? ' after GC' : ' (run with --expose-gc for after GC)'}`, value: round((process.memoryUsage().heapUsed - heapBefore) / MiB), unit: 'MiB' },
        { name: 'RSS growth', value: round((process.memoryUsage().rss - rssBefore) / MiB), unit: 'MiB' },
        { name: 'time to refuse them all', value: round(elapsedMs), unit: 'ms' },
      ]
      for (const code of ['codec', 'message_too_large', 'peer_over_quota', 'engine_busy', 'no_such_ledger']) results.push({ name: `refused: ${code}`, value: counts[code] ?? 0, unit: 'count' })
      return results
    } finally {
      await engine.close()
      await store.close()
      rmSync(root, { recursive: true, force: true })
    }
  },
}

export default benchmark
