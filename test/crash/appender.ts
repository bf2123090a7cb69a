// Child process for the crash test: appends to a RocksDB-backed log as fast as it can and prints
// "ack <seq> <hash>" after each commit resolves, i.e. for every event it acknowledges as durable.
import { RocksStore } from '../../src/store/rocksStore.js'
import { appendEvents } from '../../src/store/eventStore.js'
import { toAddress, toBytes32 } from '../../src/core/canonical.js'

const [dir, logId] = process.argv.slice(2) as [string, `0x${string}`]
const author = toAddress('0x5e29E5Ab8EF33F050c7cc10B5a0456D975C5F88d')
const store = await RocksStore.open(dir)
let batch = 1
// The parent kills us; a closed pipe then is expected, not an error worth a stack trace.
process.stdout.on('error', () => process.exit(0))
for (;;) {
  // Payloads carry their own seq and a size that varies, so a torn or misplaced record is detectable.
  const size = 1 + (batch % 20)
  const events = await appendEvents(store, toBytes32(logId), Array.from({ length: size }, () => ({ kind: 'load', payload: new Uint8Array(64 + (batch % 7) * 100).fill(batch % 256), author })))
  const last = events[events.length - 1]!
  process.stdout.write(`ack ${last.seq} ${last.hash}\n`)
  batch++
}
