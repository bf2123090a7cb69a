// `npm start`'s job for now: print the node's address and pass its self-check, twice on the same data.
import { afterAll, expect, test } from 'vitest'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { privateKeyToAccount } from 'viem/accounts'

const dataDir = mkdtempSync(path.join(tmpdir(), 'channels-start-'))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))
const start = () =>
  execFileSync(process.execPath, ['--import', 'tsx', path.resolve('src/cli/start.ts')], {
    env: { ...process.env, CHANNELS_DATA_DIR: dataDir },
    encoding: 'utf8',
  })

test('start prints the address of the key it created, passes its self-check, and resumes the same data', () => {
  const first = start()
  const key = readFileSync(path.join(dataDir, 'node', 'channel.key'), 'utf8').trim() as `0x${string}`
  expect(first).toContain(`address   ${privateKeyToAccount(key).address}`)
  expect(first).toContain('All checks passed')
  expect(first).toContain('(1 entries)')
  const second = start()
  expect(second).toContain(privateKeyToAccount(key).address)
  expect(second).toContain('(2 entries)')
})
