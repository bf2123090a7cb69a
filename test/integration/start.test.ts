// `npm start`: prints the node's address, passes its self-check, brings up anvil with our contracts
// under the data dir, stops cleanly on Ctrl-C, and a second start resumes the same chain.
import { afterAll, expect, test } from 'vitest'
import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { privateKeyToAccount } from 'viem/accounts'

const dataDir = mkdtempSync(path.join(tmpdir(), 'channels-start-'))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))
const script = path.resolve('src/cli/start.ts')
const args = ['--import', 'tsx', script, '--data-dir', dataDir, '--port', '0']

test('first start: key created, self-check passed, contracts deployed on the embedded chain', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [...args, '--once'], { encoding: 'utf8' })
  const key = readFileSync(path.join(dataDir, 'node', 'channel.key'), 'utf8').trim() as `0x${string}`
  expect(stdout).toContain(`address   ${privateKeyToAccount(key).address}`)
  expect(stdout).toContain('All checks passed')
  expect(stdout).toContain('(1 entries)')
  expect(stdout).toMatch(/adjudicator +0x[0-9a-fA-F]{40}/)
  expect(stdout).toContain('deployed now')
}, 60_000)

test('second start resumes the same chain and stops cleanly on Ctrl-C', async () => {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let interrupted = false
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString()
    if (out.includes('Ready.') && !interrupted) {
      interrupted = true // one Ctrl-C: a second one would force-quit, as in any terminal program
      child.kill('SIGINT')
    }
  })
  // 'close', not 'exit': output may still be in the pipe when the process has exited
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  expect(out).toContain('(2 entries)')
  expect(out).toContain('found at their addresses (resumed chain)')
  expect(out).toContain('Stopping...')
  expect(code).toBe(0)
}, 60_000)
