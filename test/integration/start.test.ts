// `npm start`: passes its self-check, brings up anvil with our contracts, three node processes (Alice, Hub,
// Bob) and their two ledgers; Ctrl-C stops everything cleanly, and a second start resumes the same network.
import { afterAll, expect, test } from 'vitest'
import { execFile, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { privateKeyToAccount } from 'viem/accounts'

const dataDir = mkdtempSync(path.join(tmpdir(), 'channels-start-'))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))
const script = path.resolve('src/cli/start.ts')
const args = ['--import', 'tsx', script, '--data-dir', dataDir, '--port', '0']
const NAMES = ['alice', 'hub', 'bob']
const addressOf = (name: string) => privateKeyToAccount(readFileSync(path.join(dataDir, name, 'channel.key'), 'utf8').trim() as `0x${string}`).address

test('first start: self-check, contracts deployed, three nodes up, both ledgers opened; all stopped after --once', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [...args, '--once'], { encoding: 'utf8' })
  expect(stdout).toContain('ok   state hash matches the Nitro vector')
  expect(stdout).not.toContain('FAIL')
  expect(stdout).toMatch(/adjudicator +0x[0-9a-fA-F]{40}/)
  for (const name of NAMES) {
    expect(stdout).toMatch(new RegExp(`${name} +${addressOf(name)} +rpc http://127\\.0\\.0\\.1:\\d+`))
    expect(existsSync(path.join(dataDir, name, 'node.json')), `${name} stopped and withdrew its node.json`).toBe(false)
    expect(readFileSync(path.join(dataDir, name, 'node.log'), 'utf8')).toContain('"msg":"stopped"')
  }
  expect(stdout).toMatch(/alice–hub +0x[0-9a-f]{64} +open\n/)
  expect(stdout).toMatch(/bob–hub +0x[0-9a-f]{64} +open\n/)
  expect(stdout).toContain('payment open --to')
}, 120_000)

test('second start resumes the same network (same addresses, ledgers open) and stops cleanly on Ctrl-C', async () => {
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
  for (const name of NAMES) expect(out).toContain(addressOf(name))
  expect(out).toMatch(/alice–hub +0x[0-9a-f]{64} +open \(resumed\)/)
  expect(out).toMatch(/bob–hub +0x[0-9a-f]{64} +open \(resumed\)/)
  expect(out).toContain('Stopping...')
  expect(code).toBe(0)
  for (const name of NAMES) {
    expect(existsSync(path.join(dataDir, name, 'node.json'))).toBe(false)
    expect(readFileSync(path.join(dataDir, name, 'node.log'), 'utf8').match(/"msg":"stopped"/g)).toHaveLength(2)
  }
}, 120_000)
