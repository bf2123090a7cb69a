import { afterAll, expect, test } from 'vitest'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { RocksStore } from './rocksStore.js'
import { storeCompliance } from './store.compliance.js'

const root = mkdtempSync(path.join(tmpdir(), 'channels-rocks-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let n = 0

storeCompliance('RocksStore', {
  open: () => RocksStore.open(path.join(root, `db${n++}`)),
  reopen: async (store) => {
    const location = (store as RocksStore).location
    await store.close()
    return RocksStore.open(location)
  },
})

test('opening a path that is not a database gives a typed store error', async () => {
  const file = path.join(root, 'not-a-dir')
  writeFileSync(file, 'x')
  await expect(RocksStore.open(file)).rejects.toMatchObject({ code: 'store' })
})
