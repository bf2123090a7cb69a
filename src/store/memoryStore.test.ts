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
