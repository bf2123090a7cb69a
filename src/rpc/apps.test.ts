// The app-channel methods over real HTTP and WebSocket in front of two in-memory engines that run the built
// tic-tac-toe module: create, move, state, events, state at a seq, diff, export (accepted by verifyLog), the
// app_channel_updated notification, and bad params / unknown channels for each method.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, expect, test, vi } from 'vitest'
import WebSocket from 'ws'
import type { Address, Bytes32, Hex } from '../core/types.js'
import { keccak256 } from '../core/keccak.js'
import type { Engine } from '../engine/engine.js'
import { WasmAppRuntime } from '../wasm/wasmRuntime.js'
import { decodeExportedLog } from '../protocols/app/exportFormat.js'
import { verifyLog } from '../protocols/app/replay.js'
import { APP_EVENT_KIND, GENESIS_EVENT_KIND } from '../protocols/app/appData.js'
import { RpcErrorCode } from './errors.js'
import { MAX_EVENTS_PER_CALL } from './limits.js'
import type { RpcServer } from './server.js'
import type { AppServers } from '../../test/support/appServers.js'
import { startAppServers } from '../../test/support/appServers.js'

const SECRET = 'apps-test-secret-0123456789'
const AUTH = { Authorization: `Bearer ${SECRET}` }
const BUILD = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'apps', 'build')
const TICTACTOE = WasmAppRuntime.load(new Uint8Array(readFileSync(path.join(BUILD, 'tictactoe.wasm'))))
const UNKNOWN_ID = `0x${'12'.repeat(32)}` as Bytes32
const key = (i: number) => `0x${(0xc1 + i).toString(16).repeat(32)}` as Hex
const move = (cell: number) => `0x01${cell.toString(16).padStart(2, '0')}`

let setup: AppServers
let engines: Engine[] = []
let servers: RpcServer[] = []
let addresses: Address[] = []

beforeAll(async () => {
  setup = await startAppServers({ keys: [key(0), key(1)], secret: SECRET, seed: 11, appSnapshotIntervalEvents: 2 })
  ;({ engines, servers, addresses } = setup)
})

afterAll(async () => {
  await setup.close()
})

async function rpc(i: number, method: string, params?: unknown): Promise<any> {
  const response = await fetch(servers[i]!.url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...AUTH }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) })
  return response.json()
}

async function ok(i: number, method: string, params?: unknown): Promise<any> {
  const answer = await rpc(i, method, params)
  expect(answer.error).toBeUndefined()
  return answer.result
}

async function open(): Promise<Bytes32> {
  const { channelId } = await ok(0, 'create_app_channel', { participants: addresses, appId: TICTACTOE.appId, params: '0x02', deposits: ['1000', '1000'], funding: 'none' })
  for (const engine of engines) await engine.waitForAppTurn(channelId, 0n)
  return channelId
}

/** Player `i` moves; resolves when both engines hold the turn signed by both. */
async function play(id: Bytes32, i: number, cell: number): Promise<{ seq: string; turnNum: string }> {
  const result = await ok(i, 'submit_event', { channelId: id, event: move(cell) })
  for (const engine of engines) await engine.waitForAppTurn(id, BigInt(result.turnNum))
  return result
}

test('a game through the API: create, move, state, events with authors, state at a seq, diff, export', async () => {
  const id = await open()
  expect(id).toMatch(/^0x[0-9a-f]{64}$/)
  const opened = await ok(1, 'get_app_state', { channelId: id })
  expect(opened).toMatchObject({ channelId: id, participants: addresses, appId: TICTACTOE.appId.toLowerCase(), deposits: ['1000', '1000'], funding: 'none', status: 'open', moveTimeout: 300, turnNum: '0', head: { seq: '1' }, pending: null, whoseTurn: 0, isFinal: false, outcome: ['1000', '1000'] })
  expect(opened.appState).toMatch(/^0x[0-9a-f]+$/)

  const cells = [0, 3, 1, 4, 2] // X takes the top row
  for (const [n, cell] of cells.entries()) expect(await play(id, n % 2, cell)).toEqual({ seq: String(n + 2), turnNum: String(n + 1) })
  const done = await ok(0, 'get_app_state', { channelId: id })
  expect(done).toMatchObject({ turnNum: '5', isFinal: true, outcome: ['2000', '0'], head: { seq: '6' } })
  expect((await rpc(1, 'submit_event', { channelId: id, event: move(8) })).error).toMatchObject({ code: RpcErrorCode.refused, data: { code: 'channel_final' } })
  // the app is final: both nodes sign the concluding state by themselves (nothing is held: funding none)
  for (const engine of engines) await vi.waitFor(() => expect(engine.getAppChannel(id)!.status).toBe('closed'))
  expect(await ok(1, 'close_app_channel', { channelId: id })).toEqual({ objectiveId: `appdefund:${id}` })
  expect((await ok(0, 'get_objective', { objectiveId: `appdefund:${id}` })).status).toBe('completed')
  expect((await rpc(0, 'challenge_app_channel', { channelId: id })).error).toMatchObject({ code: RpcErrorCode.refused, data: { code: 'dispute_unsupported' } })

  const events = await ok(1, 'get_events', { channelId: id })
  expect(events.map((e: any) => [e.seq, e.kind, e.author])).toEqual([
    ['1', GENESIS_EVENT_KIND, addresses[0]],
    ...cells.map((_, n) => [String(n + 2), APP_EVENT_KIND, addresses[n % 2]]),
  ])
  expect(events[1]).toMatchObject({ payload: move(0), prevHash: events[0].hash })
  expect(await ok(0, 'get_events', { channelId: id, fromSeq: '3', toSeq: '4' })).toEqual(events.slice(2, 4))

  const at3 = await ok(0, 'get_state_at', { channelId: id, seq: '3' })
  expect(at3.seq).toBe('3')
  expect(at3.appStateHash).toBe(keccak256(Buffer.from(at3.appState.slice(2), 'hex')))
  expect((await ok(1, 'get_state_at', { channelId: id, seq: '6' })).appState).toBe(done.appState)

  const diff = await ok(1, 'get_state_diff', { channelId: id, fromSeq: '3', toSeq: '6' })
  expect(diff.from).toEqual(at3)
  expect(diff.to.appState).toBe(done.appState)
  expect(diff.events).toEqual(events.slice(3, 6))
  expect((await ok(1, 'get_state_diff', { channelId: id, fromSeq: '2', toSeq: '2' })).events).toEqual([])

  const json = await ok(0, 'export_log', { channelId: id })
  expect(json.format).toBe('json')
  const fromJson = decodeExportedLog(Buffer.from(json.data, 'utf8'))
  expect(fromJson.encoding).toBe('json')
  expect(verifyLog(fromJson.log, TICTACTOE).ok).toBe(true)
  const packed = await ok(1, 'export_log', { channelId: id, format: 'msgpack' })
  expect(packed.data).toMatch(/^0x[0-9a-f]+$/)
  const fromPack = decodeExportedLog(Buffer.from(packed.data.slice(2), 'hex'))
  expect(fromPack.encoding).toBe('msgpack')
  expect(verifyLog(fromPack.log, TICTACTOE).ok).toBe(true)
  expect(fromPack.log.events.length).toBe(6)
})

test('a subscriber to app_channel_updated is told of a move, with the view', async () => {
  const id = await open()
  const ws = new WebSocket(servers[1]!.wsUrl, { headers: AUTH })
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
  const messages: any[] = []
  ws.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString())))
  ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'subscribe', params: { topics: ['app_channel_updated'] } }))
  const until = async (what: (m: any) => boolean) => {
    for (let t = 0; t < 500 && !messages.some(what); t++) await new Promise((r) => setTimeout(r, 10))
    return messages.find(what)
  }
  const subscription = (await until((m) => m.id === 1)).result
  await play(id, 0, 4)
  const update = await until((m) => m.method === 'app_channel_updated' && m.params.result.turnNum === '1')
  expect(update.params).toMatchObject({ subscription, result: { channelId: id, turnNum: '1', whoseTurn: 1, isFinal: false } })
  ws.close()
})

test('bad params → -32602 and an unknown channel → not found, for each method', async () => {
  const bad: [string, unknown][] = [
    ['create_app_channel', { participants: addresses, appId: TICTACTOE.appId, params: '0x2', deposits: ['1', '1'] }],
    ['create_app_channel', { participants: addresses, appId: TICTACTOE.appId, params: '0x02', deposits: [1, 1] }],
    ['create_app_channel', { participants: [addresses[0]], appId: TICTACTOE.appId, params: '0x02', deposits: ['1'] }],
    ['submit_event', { channelId: UNKNOWN_ID, event: 'zz' }],
    ['submit_event', { channelId: UNKNOWN_ID }],
    ['get_app_state', { channelId: '0x12' }],
    ['get_events', { channelId: UNKNOWN_ID, fromSeq: '5', toSeq: '4' }],
    ['get_events', { channelId: UNKNOWN_ID, fromSeq: '1', toSeq: String(MAX_EVENTS_PER_CALL + 1) }],
    ['get_state_at', { channelId: UNKNOWN_ID, seq: 3 }],
    ['get_state_diff', { channelId: UNKNOWN_ID, fromSeq: '4', toSeq: '3' }],
    ['get_state_diff', { channelId: UNKNOWN_ID, fromSeq: '1', toSeq: String(MAX_EVENTS_PER_CALL + 2) }],
    ['export_log', { channelId: UNKNOWN_ID, format: 'xml' }],
    ['export_log', { channelId: UNKNOWN_ID, extra: 1 }],
    ['create_app_channel', { participants: addresses, appId: TICTACTOE.appId, params: '0x02', deposits: ['1', '1'], funding: 'bank' }],
    ['create_app_channel', { participants: addresses, appId: TICTACTOE.appId, params: '0x02', deposits: ['1', '1'], moveTimeout: -1 }],
    ['close_app_channel', { channelId: '0x12' }],
    ['challenge_app_channel', {}],
  ]
  for (const [method, params] of bad) expect((await rpc(0, method, params)).error, `${method} ${JSON.stringify(params)}`).toMatchObject({ code: RpcErrorCode.invalidParams })
  const unknown: [string, unknown][] = [
    ['submit_event', { channelId: UNKNOWN_ID, event: move(0) }],
    ['get_app_state', { channelId: UNKNOWN_ID }],
    ['get_events', { channelId: UNKNOWN_ID }],
    ['get_state_at', { channelId: UNKNOWN_ID, seq: '1' }],
    ['get_state_diff', { channelId: UNKNOWN_ID, fromSeq: '1', toSeq: '2' }],
    ['export_log', { channelId: UNKNOWN_ID }],
    ['close_app_channel', { channelId: UNKNOWN_ID }],
    ['challenge_app_channel', { channelId: UNKNOWN_ID }],
  ]
  for (const [method, params] of unknown) expect((await rpc(0, method, params)).error, method).toMatchObject({ code: RpcErrorCode.notFound, data: { code: 'no_such_app_channel' } })
  // a seq past the signed log is the engine's refusal
  const id = await open()
  expect((await rpc(0, 'get_state_at', { channelId: id, seq: '9' })).error).toMatchObject({ code: RpcErrorCode.refused, data: { code: 'out_of_range' } })
  // a channel whose app is not final does not close
  expect((await rpc(1, 'close_app_channel', { channelId: id })).error).toMatchObject({ code: RpcErrorCode.refused, data: { code: 'app_not_final' } })
  // an app this node does not run
  const unknownApp = await rpc(0, 'create_app_channel', { participants: addresses, appId: UNKNOWN_ID, params: '0x02', deposits: ['1', '1'] })
  expect(unknownApp.error).toMatchObject({ code: RpcErrorCode.refused, data: { code: 'unknown_app' } })
})
