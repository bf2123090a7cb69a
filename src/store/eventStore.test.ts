import { afterAll, describe, expect, test } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Store } from './store.js'
import { MemoryStore } from './memoryStore.js'
import { RocksStore } from './rocksStore.js'
import { appendEvents, loadVerifiedEvents, readEvents, readHead } from './eventStore.js'
import { JOURNAL_LOG_ID, eventKey, eventRange } from './keys.js'
import { ChannelLog, EMPTY_HEAD } from '../log/channelLog.js'
import { encodeValue } from '../core/codec.js'
import { toAddress, toBytes32 } from '../core/canonical.js'

const root = mkdtempSync(path.join(tmpdir(), 'channels-events-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let n = 0
const author = toAddress('0x5e29E5Ab8EF33F050c7cc10B5a0456D975C5F88d')
const idA = `0x${'aa'.repeat(32)}` as const
const idB = `0x${'ab'.repeat(32)}` as const
const input = (i: number) => ({ kind: 'move', payload: Uint8Array.of(i), author })

const stores: [string, () => Promise<Store>][] = [
  ['MemoryStore', async () => new MemoryStore()],
  ['RocksStore', () => RocksStore.open(path.join(root, `db${n++}`))],
]

describe.each(stores)('event store on %s', (_name, open) => {
  test('appends in batches; head and events read back; the chain verifies', async () => {
    const store = await open()
    expect(await readHead(store, toBytes32(idA))).toEqual(EMPTY_HEAD)
    await appendEvents(store, toBytes32(idA), [input(1), input(2)])
    const appended = await appendEvents(store, toBytes32(idA), [input(3)])
    expect(appended[0]!.seq).toBe(3n)
    const events = await loadVerifiedEvents(store, toBytes32(idA))
    expect(events.map((e) => e.payload[0])).toEqual([1, 2, 3])
    expect(await readHead(store, toBytes32(idA))).toEqual({ seq: 3n, hash: events[2]!.hash })
    // the same inputs through the pure log give the same head
    const log = new ChannelLog(toBytes32(idA))
    ;[1, 2, 3].forEach((i) => log.append(input(i)))
    expect(log.head).toEqual(await readHead(store, toBytes32(idA)))
    await store.close()
  })

  test('logs are separate ranges: the journal and two channels do not mix', async () => {
    const store = await open()
    await appendEvents(store, toBytes32(idB), [input(1)])
    await appendEvents(store, toBytes32(idA), [input(7), input(8)])
    await appendEvents(store, JOURNAL_LOG_ID, [input(9)])
    expect((await loadVerifiedEvents(store, toBytes32(idA))).map((e) => e.payload[0])).toEqual([7, 8])
    expect((await loadVerifiedEvents(store, toBytes32(idB))).map((e) => e.payload[0])).toEqual([1])
    expect((await readHead(store, JOURNAL_LOG_ID)).seq).toBe(1n)
    await store.close()
  })

  test('reads a seq window in order across the 255/256 byte boundary', async () => {
    const store = await open()
    await appendEvents(store, toBytes32(idA), Array.from({ length: 300 }, (_, i) => input(i % 256)))
    const window = []
    for await (const e of readEvents(store, toBytes32(idA), 250n, 260n)) window.push(e.seq)
    expect(window).toEqual(Array.from({ length: 11 }, (_, i) => 250n + BigInt(i)))
    await store.close()
  })

  test('a corrupt record is a broken_log error naming its seq, not a crash', async () => {
    const store = await open()
    await appendEvents(store, toBytes32(idA), [input(1), input(2)])
    await store.commit([{ type: 'put', key: eventKey(toBytes32(idA), 2n), value: encodeValue(['move', 'not bytes']) }])
    await expect(loadVerifiedEvents(store, toBytes32(idA))).rejects.toMatchObject({ code: 'broken_log', details: { seq: 2n } })
    await store.commit([{ type: 'put', key: eventKey(toBytes32(idA), 2n), value: Uint8Array.of(0xc1) }])
    await expect(loadVerifiedEvents(store, toBytes32(idA))).rejects.toMatchObject({ code: 'broken_log', details: { seq: 2n } })
    await store.close()
  })
})

test('event range of a log whose id ends in 0xff bytes still bounds only that log', () => {
  const id = `0x${'01'.repeat(31)}ff` as const
  const { gte, lt } = eventRange(toBytes32(id))
  expect(Buffer.compare(eventKey(toBytes32(id), 2n ** 64n - 1n), lt)).toBe(-1)
  expect(Buffer.compare(gte, eventKey(toBytes32(id), 0n))).toBe(0)
  expect(lt.subarray(1).toString('hex')).toBe(`${'01'.repeat(30)}0200`)
})
