// Latency probes the finality benchmarks (network, apps) run in their own process beside the measured nodes:
// what one durable commit and one libp2p round trip cost on this machine, so a finality figure can be read
// against the floor its protocol implies (commits before acting, frames crossing, crypto).
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { createSigner } from '../src/core/signer.js'
import { RocksStore } from '../src/store/rocksStore.js'
import { Libp2pTransport } from '../src/transport/libp2pTransport.js'

/** p50 of a RocksDB commit of one small batch with fsync, on the disk the nodes use. */
export async function commitLatency(root: string): Promise<number> {
  const store = await RocksStore.open(path.join(root, 'fsync-probe'))
  try {
    const times: number[] = []
    for (let i = 0; i < 1_000; i++) {
      const start = performance.now()
      await store.commit([{ type: 'put', key: Uint8Array.of(i % 64), value: new Uint8Array(400) }])
      times.push(performance.now() - start)
    }
    return percentile(times.sort((a, b) => a - b), 50)
  } finally {
    await store.close()
  }
}

/** p50 of a 300-byte message there and back between two libp2p transports (both ends on this thread). */
export async function transportRoundTrip(): Promise<number> {
  const [a, b] = [createSigner(`0x${'a1'.repeat(32)}`), createSigner(`0x${'b2'.repeat(32)}`)]
  const server = await Libp2pTransport.create({ signer: b })
  const client = await Libp2pTransport.create({ signer: a, peers: { [b.address]: server.multiaddrs() } })
  try {
    server.onMessage((from, bytes) => server.send(from, bytes))
    let arrived: () => void = () => {}
    client.onMessage(() => arrived())
    const times: number[] = []
    for (let i = 0; i < 2_200; i++) {
      const start = performance.now()
      await new Promise<void>((resolve) => {
        arrived = resolve
        client.send(b.address, new Uint8Array(300))
      })
      if (i >= 200) times.push(performance.now() - start)
    }
    return percentile(times.sort((x, y) => x - y), 50)
  } finally {
    await client.close()
    await server.close()
  }
}

export const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
