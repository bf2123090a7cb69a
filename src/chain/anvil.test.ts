// startAnvil: the binary from the npm package answers JSON-RPC on a free port, two chains run side by side,
// and a chain kept in a state directory resumes where it stopped.
import { afterEach, describe, expect, test } from 'vitest'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Anvil } from './anvil.js'
import { AnvilNotFoundError, AnvilStartError, locateAnvil, startAnvil } from './anvil.js'

async function rpc(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  })
  const body = (await response.json()) as { result?: unknown; error?: unknown }
  if (body.error !== undefined) throw new Error(JSON.stringify(body.error))
  return body.result
}

const started: Anvil[] = []
async function start(options: Parameters<typeof startAnvil>[0] = {}): Promise<Anvil> {
  const anvil = await startAnvil(options)
  started.push(anvil)
  return anvil
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((a) => a.stop()))
})

describe('startAnvil', () => {
  test('starts on a free port, answers JSON-RPC with the chain id asked for, and stops', async () => {
    const anvil = await start({ chainId: 1337 })
    expect(anvil.port).toBeGreaterThan(0)
    expect(anvil.url).toBe(`http://127.0.0.1:${anvil.port}`)
    expect(await rpc(anvil.url, 'eth_chainId')).toBe('0x539')
    const accounts = (await rpc(anvil.url, 'eth_accounts')) as string[]
    expect(accounts[0]!.toLowerCase()).toBe('0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266') // anvil's default mnemonic

    await anvil.stop()
    expect(anvil.process.exitCode !== null || anvil.process.signalCode !== null).toBe(true)
    await expect(rpc(anvil.url, 'eth_chainId')).rejects.toThrow()
    await anvil.stop() // stopping twice is a no-op
  })

  test('two chains on different ports are independent', async () => {
    const [a, b] = await Promise.all([start(), start()])
    expect(a.port).not.toBe(b.port)
    await rpc(a.url, 'anvil_mine', ['0x3'])
    expect(await rpc(a.url, 'eth_blockNumber')).toBe('0x3')
    expect(await rpc(b.url, 'eth_blockNumber')).toBe('0x0')
  })

  test('a chain kept in stateDir resumes after a restart', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'anvil-state-'))
    try {
      const first = await start({ stateDir })
      await rpc(first.url, 'anvil_mine', ['0x7'])
      const hash = ((await rpc(first.url, 'eth_getBlockByNumber', ['0x7', false])) as { hash: string }).hash
      await first.stop()
      expect(readFileSync(join(stateDir, 'anvil-state.json'), 'utf8').length).toBeGreaterThan(0)

      const second = await start({ stateDir })
      expect(await rpc(second.url, 'eth_blockNumber')).toBe('0x7')
      expect(((await rpc(second.url, 'eth_getBlockByNumber', ['0x7', false])) as { hash: string }).hash).toBe(hash)
    } finally {
      rmSync(stateDir, { recursive: true, force: true })
    }
  })

  test('writes its output to logFile when asked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'anvil-log-'))
    try {
      const logFile = join(dir, 'anvil.log')
      const anvil = await start({ logFile })
      await anvil.stop()
      expect(readFileSync(logFile, 'utf8')).toMatch(/Listening on 127\.0\.0\.1:\d+/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('a port already taken fails with anvil_start, not a hang', async () => {
    const a = await start()
    const error = await startAnvil({ port: a.port, readyTimeoutMs: 5_000 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AnvilStartError)
    expect((error as AnvilStartError).code).toBe('anvil_start')
  })

  test('a missing binary is anvil_not_found', () => {
    expect(() => locateAnvil('/nonexistent/anvil')).toThrow(AnvilNotFoundError)
    expect(locateAnvil()).toMatch(/bin\/anvil$/)
  })
})
