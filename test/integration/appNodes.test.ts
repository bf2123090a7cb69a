// App channels between node processes over libp2p (issue 7): two nodes play tic-tac-toe and four nodes edit a
// document, and in each a node is SIGKILLed mid-session and restarted from its data dir. Everything goes
// through the JSON-RPC client; every node exports the same log bytes, and they verify (and stop verifying
// after a one-byte change). The channels are unfunded (`funding: 'none'`): appFunding.test.ts covers deposits.
// Every node declines channels with a deposit over MAX_DEPOSIT (its app policy), and says so to the opener.
import { afterAll, beforeAll, expect, test, vi } from 'vitest'
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
const MAX_DEPOSIT = 1_000_000n

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
  process.env.CHANNELS_APPS_MAX_DEPOSIT = String(MAX_DEPOSIT) // read by the node processes (src/node/config.ts)
  network = await launchLocalNetwork({ dataDir, names: NAMES, chainKeys: ANVIL_DEV_KEYS, chain: { url: anvil.url, chainId: 31337, local: true, deployment, pollingIntervalMs: 200 } })
}, 120_000)

afterAll(async () => {
  delete process.env.CHANNELS_APPS_MAX_DEPOSIT
  for (const c of clients.values()) await c.close().catch(() => {})
  await network?.stop()
  await anvil?.stop()
  rmSync(dataDir, { recursive: true, force: true })
})

test('two nodes play tic-tac-toe over libp2p; bob is SIGKILLed mid-game and restarted; the exported log verifies', async () => {
  const alice = await client('alice')
  await client('bob')
  const { channelId } = await alice.createAppChannel({ participants: [address('alice'), address('bob')], appId: manifest.apps.tictactoe!.appId, params: Uint8Array.of(2), deposits: [1_000n, 1_000n], funding: 'none' })
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

test('four nodes edit a document; carol is SIGKILLed while dave\'s edit is in flight and restarted; the pot splits by surviving contribution', async () => {
  const cs = await Promise.all(NAMES.map((n) => client(n)))
  const at = (who: number) => clients.get(NAMES[who]!)! // carol's client is replaced after her restart
  const { channelId } = await cs[0]!.createAppChannel({ participants: NAMES.map(address), appId: manifest.apps.document!.appId, params: Uint8Array.of(4), deposits: [100n, 100n, 100n, 100n], funding: 'none' })
  await cs[0]!.waitForAppTurn(channelId, 0n, { timeoutMs: 60_000 })
  const u16 = (n: number) => [n & 0xff, n >> 8]
  const insert = (position: number, text: string) => Uint8Array.from([0x01, ...u16(position), ...u16(text.length), ...Buffer.from(text)])
  const remove = (position: number, count: number) => Uint8Array.from([0x02, ...u16(position), ...u16(count)])
  let turn = 0n
  // One author at a time (a turn must be fully signed before the next is proposed).
  const edit = async (who: number, event: Uint8Array) => {
    const { turnNum } = await at(who).submitEvent(channelId, event)
    expect(turnNum).toBe(turn + 1n)
    turn = turnNum
    for (const name of NAMES) await clients.get(name)!.waitForAppTurn(channelId, turn, { timeoutMs: 60_000 })
  }
  await edit(0, insert(0, 'aa'))
  await edit(1, insert(2, 'bbbb'))
  await edit(2, insert(6, 'cc'))

  // Carol (index 2) goes down; dave's edit waits for her signature in the outboxes of the three others.
  await network.kill('carol')
  const { turnNum: inFlight } = await at(3).submitEvent(channelId, insert(0, 'dd'))
  expect(inFlight).toBe(turn + 1n)
  const live = [0, 1, 3]
  for (const who of live) {
    await expect.poll(async () => (await at(who).getAppState(channelId)).pending?.missing, { timeout: 30_000, interval: 100 }).toEqual([2])
    const seen = await at(who).getAppState(channelId)
    expect(seen.turnNum).toBe(turn) // the last turn signed by all stays the latest
    expect(seen.pending).toMatchObject({ turnNum: inFlight })
    expect(seen.pending!.author.toLowerCase()).toBe(address('dave').toLowerCase())
  }
  // Nobody can propose the next turn while this one lacks carol's signature.
  for (const who of live) await expect(at(who).submitEvent(channelId, insert(0, 'x'))).rejects.toMatchObject({ data: { code: 'update_in_flight' } })

  // Carol restarts from her data dir, signs dave's edit, and the session goes on to the finish.
  await network.restart('carol')
  await client('carol')
  turn = inFlight
  for (const name of NAMES) await clients.get(name)!.waitForAppTurn(channelId, turn, { timeoutMs: 60_000 })
  for (const who of [0, 1, 2, 3]) expect((await at(who).getAppState(channelId)).pending).toBeNull()
  await edit(2, insert(10, 'cc')) // ddaabbbbcccc
  await edit(1, remove(0, 2)) // bob deletes dave's "dd": dave's credit goes with it
  await edit(3, Uint8Array.of(0x03))

  const states = await Promise.all(NAMES.map((_, who) => at(who).getAppState(channelId)))
  for (const s of states) {
    expect(s.turnNum).toBe(7n)
    expect(s.isFinal).toBe(true)
    expect(s.appState).toEqual(states[0]!.appState)
    expect(s.outcome).toEqual([80n, 160n, 160n, 0n]) // 2 : 4 : 4 : 0 surviving bytes of 400
  }
  expect(Buffer.from(states[0]!.appState!.subarray(4, 14)).toString()).toBe('aabbbbcccc')
  await expect(at(0).submitEvent(channelId, insert(0, 'a'))).rejects.toMatchObject({ data: { code: 'channel_final' } })
  const early = await at(1).getStateAt(channelId, 3n) // the genesis and the first two edits
  expect(Buffer.from(early.appState.subarray(4, 10)).toString()).toBe('aabbbb')
  const whileDown = await at(2).getStateAt(channelId, 5n) // after dave's edit, which carol signed on restart
  expect(Buffer.from(whileDown.appState.subarray(4, 14)).toString()).toBe('ddaabbbbcc')

  // Every node exports the same log bytes, and they verify against the module they name.
  const exported = await Promise.all(NAMES.map((_, who) => at(who).exportLog(channelId, 'msgpack')))
  for (const bytes of exported) expect(Buffer.from(bytes)).toEqual(Buffer.from(exported[0]!))
  const { log } = decodeExportedLog(exported[0]!)
  expect(log.events).toHaveLength(8) // the genesis and seven turns
  const runtime = runtimeOf('document')
  expect(verifyLog(log, runtime).ok).toBe(true)
  const tampered = structuredClone(log)
  const event = tampered.events[4]! // dave's edit, made while carol was down
  ;(tampered.events as unknown[])[4] = { ...event, payload: insert(0, 'de') }
  const result = verifyLog(tampered, runtime)
  expect(result.ok).toBe(false)
  if (!result.ok) expect(result.divergence.seq).toBe(event.seq)
  const { log: fromJson } = decodeExportedLog(await at(3).exportLog(channelId, 'json'))
  expect(verifyLog(fromJson, runtime).ok).toBe(true)
}, 240_000)

test('an opening a node declines over libp2p: the opener shows who refused it and why, and it fails', async () => {
  const [alice, bob] = [await client('alice'), await client('bob')]
  const deposits = [MAX_DEPOSIT + 1n, 1n]
  const { channelId } = await alice.createAppChannel({ participants: [address('alice'), address('bob')], appId: manifest.apps.tictactoe!.appId, params: Uint8Array.of(2), deposits, funding: 'none' })
  await vi.waitFor(async () => expect(await alice.getAppState(channelId)).toMatchObject({ status: 'failed', turnNum: null, pending: { turnNum: 0n, missing: [1], refusedBy: [{ participant: 1, code: 'app_declined' }] } }), { timeout: 20_000, interval: 100 })
  await expect(bob.getAppState(channelId)).rejects.toMatchObject({ data: { code: 'no_such_app_channel' } })
  await expect(alice.waitForAppTurn(channelId, 0n, { timeoutMs: 5_000 })).rejects.toMatchObject({ code: 'proposal_refused', turnNum: 0n, refusedBy: [{ participant: 1, code: 'app_declined' }] })
}, 60_000)
