// One suite that every Store implementation passes (STYLE §1, as js-libp2p's interface compliance tests).
import { describe, expect, test } from 'vitest'
import type { Store } from './store.js'

export interface StoreHarness {
  open(): Promise<Store>
  /** Closes and reopens the same underlying data (a restart); committed data must survive. */
  reopen(store: Store): Promise<Store>
}

const b = (...bytes: number[]) => Uint8Array.from(bytes)

async function entries(store: Store, range: Parameters<Store['scan']>[0]) {
  const out: [number[], number[]][] = []
  for await (const [k, v] of store.scan(range)) out.push([[...k], [...v]])
  return out
}

export function storeCompliance(name: string, harness: StoreHarness): void {
  describe(`${name} (Store compliance)`, () => {
    test('get returns what commit put, undefined for absent keys', async () => {
      const store = await harness.open()
      await store.commit([{ type: 'put', key: b(1), value: b(10) }])
      expect([...(await store.get(b(1)))!]).toEqual([10])
      expect(await store.get(b(2))).toBeUndefined()
      await store.close()
    })

    test('scan is byte-wise ordered, bounded by gte/lt, reversible and limited', async () => {
      const store = await harness.open()
      await store.commit([
        { type: 'put', key: b(2, 0), value: b(3) },
        { type: 'put', key: b(1), value: b(1) },
        { type: 'put', key: b(2), value: b(2) },
        { type: 'put', key: b(3), value: b(4) },
        { type: 'put', key: b(0xff), value: b(5) },
      ])
      expect((await entries(store, {})).map(([k]) => k)).toEqual([[1], [2], [2, 0], [3], [0xff]])
      expect((await entries(store, { gte: b(2), lt: b(3) })).map(([k]) => k)).toEqual([[2], [2, 0]])
      expect((await entries(store, { reverse: true, limit: 2 })).map(([k]) => k)).toEqual([[0xff], [3]])
      expect((await entries(store, { gte: b(2), lt: b(3), reverse: true, limit: 1 })).map(([k]) => k)).toEqual([[2, 0]])
      expect(await entries(store, { gte: b(4), lt: b(5) })).toEqual([])
      await store.close()
    })

    test('a batch applies puts and deletes in order; a later op on the same key wins', async () => {
      const store = await harness.open()
      await store.commit([{ type: 'put', key: b(1), value: b(1) }, { type: 'put', key: b(2), value: b(2) }])
      await store.commit([
        { type: 'del', key: b(1) },
        { type: 'put', key: b(2), value: b(20) },
        { type: 'put', key: b(2), value: b(21) },
        { type: 'del', key: b(9) },
      ])
      expect(await entries(store, {})).toEqual([[[2], [21]]])
      await store.close()
    })

    test('committed data survives a reopen', async () => {
      let store = await harness.open()
      await store.commit(Array.from({ length: 100 }, (_, i) => ({ type: 'put' as const, key: b(i), value: b(i, i) })))
      store = await harness.reopen(store)
      const all = await entries(store, {})
      expect(all.length).toBe(100)
      expect(all[57]).toEqual([[57], [57, 57]])
      await store.close()
    })

    test('an unsynced commit is readable at once and durable once a later synced commit lands', async () => {
      let store = await harness.open()
      await store.commit([{ type: 'put', key: b(1), value: b(1) }], { sync: false })
      expect([...(await store.get(b(1)))!]).toEqual([1])
      await store.commit([{ type: 'put', key: b(2), value: b(2) }])
      store = await harness.reopen(store)
      expect(await entries(store, {})).toEqual([
        [[1], [1]],
        [[2], [2]],
      ])
      await store.close()
    })

    test('the store keeps its own copy: mutating a committed buffer changes nothing', async () => {
      const store = await harness.open()
      const value = b(7)
      await store.commit([{ type: 'put', key: b(1), value }])
      value[0] = 8
      expect([...(await store.get(b(1)))!]).toEqual([7])
      await store.close()
    })

    test('an empty commit is a no-op', async () => {
      const store = await harness.open()
      await store.commit([])
      expect(await entries(store, {})).toEqual([])
      await store.close()
    })
  })
}
