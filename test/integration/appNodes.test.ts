// App channels between node processes over libp2p (issue 7): two nodes play tic-tac-toe and one is SIGKILLed
// mid-game and restarted; four nodes edit a document. Everything goes through the JSON-RPC client; the
// exported logs verify (and stop verifying after a one-byte change).
import { afterAll, beforeAll, expect, test } from 'vitest'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Bytes32 } from '../../src/core/types.js'
import { startAnvil } from '../../src/chain/anvil.js'
import type { Anvil } from '../../src/chain/anvil.js'
import { ANVIL_DEV_KEYS, deployContracts } from '../../src/chain/deploy.js'
import { launchLocalNetwork } from '../../src/node/localNetwork.js'
import type { LocalNetwork } from '../../src/node/localNetwork.js'
import { ChannelsClient } from '../../src/client/client.js'
import { decodeExportedLog } from '../../src/protocols/app/exportFormat.js'
import { verifyLog } from '../../src/protocols/app/replay.js'
import { WasmAppRuntime } from '../../src/wasm/wasmRuntime.js'

const manifest = JSON.parse(readFileSync(path.resolve('apps/build/manifest.json'), 'utf8')) as { apps: Record<string, { file: string; appId: Bytes32 }> }
const runtimeOf = (name: string) => WasmAppRuntime.load(readFileSync(path.resolve('apps/build', manifest.apps[name]!.file)))

const dataDir = mkdtempSync(path.join(tmpdir(), 'channels-app-nodes-'))
const NAMES = ['alice', 'bob', 'carol', 'dave']
let anvil: Anvil
let network: LocalNetwork
const clients = new Map<string, ChannelsClient>()

async function client(name: string): Promise<ChannelsClient> {
  await clients.get(name)?.close()
  const c = await ChannelsClient.connect({ url: network.node(name).info.rpcUrl, secret: network.prepared.get(name)!.secret })
  clients.set(name, c)
  return c
}
const address = (name: string) => network.prepared.get(name)!.address

beforeAll(async () => {
  anvil = await startAnvil({ port: 0 })
  const deployment = await deployContracts({ rpcUrl: anvil.url, chainId: 31337 })
  network = await launchLocalNetwork({ dataDir, names: NAMES, chainKeys: ANVIL_DEV_KEYS, chain: { url: anvil.url, chainId: 31337, deployment, pollingIntervalMs: 200 } })
}, 120_000)

afterAll(async () => {
  for (const c of clients.values()) await c.close().catch(() => {})
  await network?.stop()
  await anvil?.stop()
  rmSync(dataDir, { recursive: true, force: true })
})

test('two nodes play tic-tac-toe over libp2p; bob is SIGKILLed mid-game and restarted; the exported log verifies', async () => {
  const alice = await client('alice')
  await client('bob')
  const { channelId } = await alice.createAppChannel({ participants: [address('alice'), address('bob')], appId: manifest.apps.tictactoe!.appId, params: Uint8Array.of(2), deposits: [1_000n, 1_000n] })
  await alice.waitForAppTurn(channelId, 0n, { timeoutMs: 60_000 }) // the genesis, signed by both

  // X (alice) takes the top row while O (bob) plays the middle row.
  const moves: [string, number][] = [['alice', 0], ['bob', 3], ['alice', 1], ['bob', 4], ['alice', 2]]
  let turn = 0n
  for (const [i, [who, cell]] of moves.entries()) {
    if (i === 2) {
      await network.kill('bob')
      // Alice's move waits in her outbox while bob is down; bob signs it after his restart.
      const { turnNum } = await alice.submitEvent(channelId, Uint8Array.of(0x01, cell))
      await network.restart('bob')
      turn = turnNum
      await (await client('bob')).waitForAppTurn(channelId, turn, { timeoutMs: 60_000 })
      continue
    }
    const c = who === 'alice' ? alice : clients.get('bob')!
    const { turnNum } = await c.submitEvent(channelId, Uint8Array.of(0x01, cell))
    expect(turnNum).toBe(turn + 1n)
    turn = turnNum
    await alice.waitForAppTurn(channelId, turn, { timeoutMs: 60_000 })
  }
  const bobNow = clients.get('bob')!
  await bobNow.waitForAppTurn(channelId, turn, { timeoutMs: 60_000 })
  const [atAlice, atBob] = [await alice.getAppState(channelId), await bobNow.getAppState(channelId)]
  expect(atAlice.isFinal).toBe(true)
  expect(atAlice.outcome).toEqual([2_000n, 0n]) // X won the pot
  expect(atBob.appState).toEqual(atAlice.appState)
  await expect(bobNow.submitEvent(channelId, Uint8Array.of(0x01, 8))).rejects.toMatchObject({ data: { code: 'channel_final' } })

  // Both nodes export the same log, and it verifies against the module it names.
  const exported = await alice.exportLog(channelId, 'msgpack')
  expect(Buffer.from(await bobNow.exportLog(channelId, 'msgpack'))).toEqual(Buffer.from(exported))
  const { log } = decodeExportedLog(exported)
  const runtime = runtimeOf('tictactoe')
  expect(verifyLog(log, runtime).ok).toBe(true)
  const tampered = structuredClone(log)
  const event = tampered.events[3]!
  ;(tampered.events as unknown[])[3] = { ...event, payload: Uint8Array.of(0x01, 5) }
  const result = verifyLog(tampered, runtime)
  expect(result.ok).toBe(false)
  if (!result.ok) expect(result.divergence.seq).toBe(event.seq)
}, 240_000)

test('four nodes edit a document; the pot splits by surviving contribution; state at any seq', async () => {
  const cs = await Promise.all(NAMES.map((n) => client(n)))
  const { channelId } = await cs[0]!.createAppChannel({ participants: NAMES.map(address), appId: manifest.apps.document!.appId, params: Uint8Array.of(4), deposits: [100n, 100n, 100n, 100n] })
  await cs[0]!.waitForAppTurn(channelId, 0n, { timeoutMs: 60_000 })
  const insert = (position: number, text: string) => Uint8Array.from([0x01, position & 0xff, position >> 8, text.length & 0xff, text.length >> 8, ...Buffer.from(text)])
  // One author at a time (a turn must be fully signed before the next is proposed).
  const edits: [number, Uint8Array][] = [[0, insert(0, 'aa')], [1, insert(2, 'bbbb')], [2, insert(6, 'cc')], [3, insert(0, 'dd')]]
  let turn = 0n
  for (const [who, event] of edits) {
    turn = (await cs[who]!.submitEvent(channelId, event)).turnNum
    for (const c of cs) await c.waitForAppTurn(channelId, turn, { timeoutMs: 60_000 })
  }
  const state = await cs[2]!.getAppState(channelId)
  expect(Buffer.from(state.appState!.subarray(4, 14)).toString()).toBe('ddaabbbbcc')
  expect(state.outcome).toEqual([80n, 160n, 80n, 80n]) // 2 : 4 : 2 : 2 of 400
  const early = await cs[1]!.getStateAt(channelId, 3n) // the genesis and the first two edits
  expect(Buffer.from(early.appState.subarray(4, 10)).toString()).toBe('aabbbb')
  const { log } = decodeExportedLog(await cs[3]!.exportLog(channelId, 'json'))
  expect(verifyLog(log, runtimeOf('document')).ok).toBe(true)
}, 240_000)
