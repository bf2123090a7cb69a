// The client's app-channel methods against RPC servers in front of two in-process engines running the built
// tic-tac-toe module: typed values in and out (bigint, Uint8Array), waitForAppTurn through notifications,
// exportLog's file bytes accepted by decodeExportedLog and verifyLog, and typed errors.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import type { Address, Bytes32, Hex } from '../core/types.js'
import { keccak256 } from '../core/keccak.js'
import type { AppServers } from '../../test/support/appServers.js'
import { startAppServers } from '../../test/support/appServers.js'
import { WasmAppRuntime } from '../wasm/wasmRuntime.js'
import { decodeExportedLog } from '../protocols/app/exportFormat.js'
import { verifyLog } from '../protocols/app/replay.js'
import { APP_EVENT_KIND } from '../protocols/app/appData.js'
import { ChannelsClient, RpcError, RpcErrorCode, WaitTimeoutError } from './index.js'

const SECRET = 'client-apps-secret-0123456789'
const BUILD = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'apps', 'build')
const TICTACTOE = WasmAppRuntime.load(new Uint8Array(readFileSync(path.join(BUILD, 'tictactoe.wasm'))))
const key = (i: number) => `0x${(0xe1 + i).toString(16).repeat(32)}` as Hex
const move = (cell: number) => Uint8Array.of(0x01, cell)

let setup: AppServers
let addresses: Address[] = []
const clients: ChannelsClient[] = []

beforeAll(async () => {
  setup = await startAppServers({ keys: [key(0), key(1)], secret: SECRET, seed: 21 })
  ;({ addresses } = setup)
  for (const server of setup.servers) clients.push(await ChannelsClient.connect({ url: server.url, secret: SECRET }))
})

afterAll(async () => {
  for (const client of clients) await client.close()
  await setup.close()
})

test('a game through the client: typed values, waitForAppTurn, state at a seq, diff, exportLog', async () => {
  const [alice, bob] = clients as [ChannelsClient, ChannelsClient]
  const { channelId } = await alice.createAppChannel({ participants: addresses, appId: TICTACTOE.appId, params: Uint8Array.of(2), deposits: [1000n, 1000n], funding: 'none' })
  const opened = await bob.waitForAppTurn(channelId, 0n, { timeoutMs: 10_000 })
  expect(opened).toMatchObject({ channelId, turnNum: 0n, deposits: [1000n, 1000n], whoseTurn: 0, isFinal: false })
  expect(opened.appState).toBeInstanceOf(Uint8Array)

  let turn = 0n
  for (const [n, cell] of [0, 3, 1, 4, 2].entries()) {
    const mover = n % 2 === 0 ? alice : bob
    const result = await mover.submitEvent(channelId, move(cell))
    expect(result).toEqual({ seq: turn + 2n, turnNum: turn + 1n })
    turn = result.turnNum
    // the other side waits through app_channel_updated; then the mover holds it too
    await (mover === alice ? bob : alice).waitForAppTurn(channelId, turn, { timeoutMs: 10_000 })
    await mover.waitForAppTurn(channelId, turn, { timeoutMs: 10_000 })
  }
  const final = await bob.getAppState(channelId)
  expect(final).toMatchObject({ turnNum: 5n, isFinal: true, outcome: [2000n, 0n], head: { seq: 6n } })

  const events = await alice.getEvents(channelId)
  expect(events).toHaveLength(6)
  expect(events[1]).toMatchObject({ seq: 2n, kind: APP_EVENT_KIND, author: addresses[0], payload: move(0) })
  expect(await alice.getEvents(channelId, { fromSeq: 5n })).toEqual(events.slice(4))

  const at = await bob.getStateAt(channelId, 6n)
  expect(at.appState).toEqual(final.appState)
  expect(at.appStateHash).toBe(keccak256(at.appState))
  const diff = await bob.getStateDiff(channelId, 1n, 3n)
  expect(diff.events.map((e) => e.author)).toEqual([addresses[0], addresses[1]])
  expect(diff.from.appState).toEqual((await bob.getStateAt(channelId, 1n)).appState)

  for (const format of ['json', 'msgpack'] as const) {
    const file = decodeExportedLog(await alice.exportLog(channelId, format))
    expect(file.encoding).toBe(format)
    expect(verifyLog(file.log, TICTACTOE).ok).toBe(true)
  }
  expect(Buffer.from(await alice.exportLog(channelId, 'msgpack'))).toEqual(Buffer.from(await bob.exportLog(channelId, 'msgpack')))

  await expect(bob.submitEvent(channelId, move(8))).rejects.toMatchObject({ code: RpcErrorCode.refused, data: { code: 'channel_final' } })
  await expect(alice.waitForAppTurn(channelId, 9n, { timeoutMs: 100 })).rejects.toBeInstanceOf(WaitTimeoutError)
})

test('an unknown app channel is a not-found RpcError; a wait for one that does not exist yet times out', async () => {
  const unknown = `0x${'34'.repeat(32)}` as Bytes32
  const error = await clients[0]!.getAppState(unknown).catch((e: unknown) => e)
  expect(error).toBeInstanceOf(RpcError)
  expect(error).toMatchObject({ code: RpcErrorCode.notFound, data: { code: 'no_such_app_channel' } })
  await expect(clients[0]!.waitForAppTurn(unknown, 0n, { timeoutMs: 100 })).rejects.toBeInstanceOf(WaitTimeoutError)
  await expect(clients[0]!.getEvents(unknown, { fromSeq: 3n, toSeq: 2n })).rejects.toMatchObject({ code: RpcErrorCode.invalidParams })
})
