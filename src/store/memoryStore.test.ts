import { expect, test } from 'vitest'
import { MemoryStore } from './memoryStore.js'
import { storeCompliance } from './store.compliance.js'

storeCompliance('MemoryStore', {
  open: async () => new MemoryStore(),
  reopen: async (store) => {
    const contents = (store as MemoryStore).snapshot()
    await store.close()
    return new MemoryStore(contents)
  },
})

test('a closed MemoryStore refuses use with a typed error', async () => {
  const store = new MemoryStore()
  await store.close()
  await expect(store.get(Uint8Array.of(1))).rejects.toMatchObject({ code: 'store' })
})

test('a simulated crash loses the unsynced commits after the last synced one, and nothing else', async () => {
  const b = (...xs: number[]) => Uint8Array.from(xs)
  const store = new MemoryStore()
  await store.commit([{ type: 'put', key: b(1), value: b(1) }])
  await store.commit([{ type: 'put', key: b(2), value: b(2) }], { sync: false })
  await store.commit([{ type: 'put', key: b(3), value: b(3) }]) // makes the one before durable too
  await store.commit([{ type: 'put', key: b(1), value: b(9) }, { type: 'del', key: b(2) }, { type: 'put', key: b(4), value: b(4) }], { sync: false })
  await store.commit([{ type: 'put', key: b(1), value: b(8) }], { sync: false })
  expect(await store.get(b(1))).toEqual(b(8)) // readable at once
  const crashed = new MemoryStore(store.snapshot())
  expect(await crashed.get(b(1))).toEqual(b(1))
  expect(await crashed.get(b(2))).toEqual(b(2))
  expect(await crashed.get(b(3))).toEqual(b(3))
  expect(await crashed.get(b(4))).toBeUndefined()
})
