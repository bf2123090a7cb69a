// The server over real HTTP and WebSocket on 127.0.0.1 (JSON-RPC 2.0 §4-§6): authentication on both
// transports, the envelope (parse errors, invalid requests, batches, notifications), limits, bad params
// for every method family, and survival of random garbage. Engines are in-memory (test/support).
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import fc from 'fast-check'
import WebSocket from 'ws'
import type { Bytes32, Hex } from '../core/types.js'
import type { Engine } from '../engine/engine.js'
import type { TestNetwork, TestNode } from '../../test/support/ledgerNetwork.js'
import { createTestNetwork } from '../../test/support/ledgerNetwork.js'
import { RpcErrorCode } from './errors.js'
import { MAX_BATCH_SIZE, MAX_BODY_BYTES, MAX_SUBSCRIPTIONS_PER_SOCKET } from './limits.js'
import type { RpcLogger } from './server.js'
import { RpcServer } from './server.js'
import { METHOD_TABLE } from './methods.js'

const SECRET = 'test-secret-0123456789abcdef'
const AUTH = { Authorization: `Bearer ${SECRET}` }
const UNKNOWN_ID = `0x${'12'.repeat(32)}` as Bytes32
const key = (i: number) => `0x${(i + 1).toString(16).padStart(2, '0').repeat(32)}` as Hex

let net: TestNetwork
let alice: TestNode
let bob: TestNode
let server: RpcServer
let nonce = 0n

beforeAll(async () => {
  net = await createTestNetwork({ network: { seed: 7 } })
  alice = await net.node('alice', key(0))
  bob = await net.node('bob', key(1))
  server = await RpcServer.start({ node: { engine: alice.engine, version: '1.2.3', newNonce: () => ++nonce }, secret: SECRET, logger: silent() })
})

afterAll(async () => {
  await server?.close()
  await net?.close()
})

function silent(lines: { level: string; obj: object; msg?: string }[] = []): RpcLogger {
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj, msg })
  return { info: at('info'), warn: at('warn'), debug: at('debug'), error: at('error') }
}

async function post(body: unknown, headers: Record<string, string> = AUTH, url = server.url): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) })
  const text = await response.text()
  return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) }
}

const call = (method: string, params?: unknown, id: unknown = 1) => ({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) })

/** A WebSocket with the given headers: open, or the HTTP status it was refused with. */
function openSocket(headers: Record<string, string>): Promise<{ ws: WebSocket } | { status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(server.wsUrl, { headers })
    ws.once('open', () => resolve({ ws }))
    ws.once('unexpected-response', (req, res) => {
      let text = ''
      res.on('data', (chunk: Buffer) => (text += chunk.toString()))
      res.on('end', () => {
        req.destroy()
        resolve({ status: res.statusCode!, body: JSON.parse(text) })
      })
    })
    ws.once('error', reject)
  })
}

/** Sends one message; resolves with the next message that is not a notification. */
function exchange(ws: WebSocket, message: unknown): Promise<any> {
  return new Promise((resolve) => {
    const onMessage = (data: WebSocket.RawData) => {
      const parsed = JSON.parse(data.toString())
      if (!Array.isArray(parsed) && parsed.method !== undefined && parsed.id === undefined) return
      ws.off('message', onMessage)
      resolve(parsed)
    }
    ws.on('message', onMessage)
    ws.send(typeof message === 'string' ? message : JSON.stringify(message))
  })
}

describe('authentication', () => {
  test.each<{ name: string; headers: Record<string, string> }>([
    { name: 'no Authorization header', headers: {} },
    { name: 'a wrong secret', headers: { Authorization: 'Bearer not-the-secret-at-all' } },
    { name: 'the secret with a suffix', headers: { Authorization: `Bearer ${SECRET}x` } },
    { name: 'the Basic scheme', headers: { Authorization: `Basic ${SECRET}` } },
    { name: 'an empty bearer', headers: { Authorization: 'Bearer ' } },
  ])('HTTP: $name → 401 with -32001', async ({ headers }) => {
    const response = await post(call('get_address'), headers)
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toBe('Bearer')
    expect(response.body).toEqual({ jsonrpc: '2.0', id: null, error: { code: RpcErrorCode.unauthorized, message: expect.stringMatching(/^unauthorized/) } })
  })

  test('HTTP: the right secret (any case of "Bearer") is served', async () => {
    expect((await post(call('get_address'), { Authorization: `bearer ${SECRET}` })).body).toEqual({ jsonrpc: '2.0', id: 1, result: alice.address })
  })

  test.each<{ name: string; headers: Record<string, string> }>([
    { name: 'no Authorization header', headers: {} },
    { name: 'a wrong secret', headers: { Authorization: 'Bearer not-the-secret-at-all' } },
  ])('WebSocket: the upgrade with $name is refused with 401', async ({ headers }) => {
    const result = await openSocket(headers)
    expect(result).toEqual({ status: 401, body: { jsonrpc: '2.0', id: null, error: expect.objectContaining({ code: RpcErrorCode.unauthorized }) } })
  })

  test('WebSocket: the upgrade with the secret opens a socket that answers', async () => {
    const result = await openSocket(AUTH)
    if (!('ws' in result)) return expect.fail(`refused with ${result.status}`)
    expect(await exchange(result.ws, call('version'))).toEqual({ jsonrpc: '2.0', id: 1, result: '1.2.3' })
    result.ws.close()
  })

  test('a secret shorter than 16 characters is refused at start', async () => {
    await expect(RpcServer.start({ node: { engine: alice.engine, version: 'x', newNonce: () => 1n }, secret: 'short' })).rejects.toMatchObject({ code: 'weak_secret' })
  })
})

describe('the JSON-RPC envelope', () => {
  test('malformed JSON → -32700 with id null', async () => {
    const response = await post('{"jsonrpc": "2.0", "id": 1, "method": ')
    expect(response.status).toBe(200)
    expect(response.body).toEqual({ jsonrpc: '2.0', id: null, error: { code: RpcErrorCode.parseError, message: expect.any(String) } })
  })

  test.each([
    { name: 'jsonrpc 1.0', body: { jsonrpc: '1.0', id: 3, method: 'version' }, id: 3 },
    { name: 'no jsonrpc', body: { id: 3, method: 'version' }, id: 3 },
    { name: 'a numeric method', body: { jsonrpc: '2.0', id: 3, method: 5 }, id: 3 },
    { name: 'string params', body: { jsonrpc: '2.0', id: 3, method: 'version', params: 'x' }, id: 3 },
    { name: 'an object id', body: { jsonrpc: '2.0', id: { a: 1 }, method: 'version' }, id: null },
    { name: 'a bare number', body: 5, id: null },
    { name: 'null', body: null, id: null },
  ])('$name → -32600', async ({ body, id }) => {
    expect((await post(body)).body).toEqual({ jsonrpc: '2.0', id, error: { code: RpcErrorCode.invalidRequest, message: expect.any(String) } })
  })

  test('an unknown method → -32601 naming it; prototype keys are not methods', async () => {
    expect((await post(call('no_such_method'))).body.error).toEqual({ code: RpcErrorCode.methodNotFound, message: 'method not found', data: { method: 'no_such_method' } })
    for (const method of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      expect((await post(call(method))).body.error.code).toBe(RpcErrorCode.methodNotFound)
    }
  })

  test('ids come back as sent: strings, numbers, null', async () => {
    for (const id of ['abc', 0, -1.5, null]) expect((await post(call('version', undefined, id))).body).toEqual({ jsonrpc: '2.0', id, result: '1.2.3' })
  })

  test('a notification (no id) is executed and gets no answer: 204', async () => {
    const response = await post({ jsonrpc: '2.0', method: 'version' })
    expect(response.status).toBe(204)
    expect(response.body).toBeUndefined()
    expect((await post({ jsonrpc: '2.0', method: 'no_such_method' })).status).toBe(204)
  })

  test('a batch: answers in order, notifications left out, each call on its own', async () => {
    const response = await post([call('version', undefined, 'a'), { jsonrpc: '2.0', method: 'version' }, call('nope', undefined, 'b'), 7, call('get_address', undefined, 'c')])
    expect(response.body).toEqual([
      { jsonrpc: '2.0', id: 'a', result: '1.2.3' },
      { jsonrpc: '2.0', id: 'b', error: expect.objectContaining({ code: RpcErrorCode.methodNotFound }) },
      { jsonrpc: '2.0', id: null, error: expect.objectContaining({ code: RpcErrorCode.invalidRequest }) },
      { jsonrpc: '2.0', id: 'c', result: alice.address },
    ])
  })

  test('an empty batch → -32600; a batch of notifications → 204; an oversize batch → -32004', async () => {
    expect((await post([])).body).toEqual({ jsonrpc: '2.0', id: null, error: expect.objectContaining({ code: RpcErrorCode.invalidRequest }) })
    expect((await post([{ jsonrpc: '2.0', method: 'version' }])).status).toBe(204)
    const big = await post(Array.from({ length: MAX_BATCH_SIZE + 1 }, (_, i) => call('version', undefined, i)))
    expect(big.body.error).toMatchObject({ code: RpcErrorCode.limitExceeded, data: { limit: 'batch', max: MAX_BATCH_SIZE } })
    expect((await post(Array.from({ length: MAX_BATCH_SIZE }, (_, i) => call('version', undefined, i)))).body).toHaveLength(MAX_BATCH_SIZE)
  })

  test('a body over the limit → 413 with -32004', async () => {
    const padding = ' '.repeat(MAX_BODY_BYTES)
    const response = await post(`${JSON.stringify(call('version'))}${padding}`)
    expect(response.status).toBe(413)
    expect(response.body.error).toMatchObject({ code: RpcErrorCode.limitExceeded, data: { limit: 'body', maxBytes: MAX_BODY_BYTES } })
    expect((await post(call('version'))).body.result).toBe('1.2.3') // still serving
  })

  test('only POST to /', async () => {
    const get = await fetch(server.url, { headers: AUTH })
    expect(get.status).toBe(405)
    expect(get.headers.get('allow')).toBe('POST')
    expect((await post(call('version'), AUTH, `${server.url}/rpc`)).status).toBe(404)
  })

  test('params go by name; [] counts as none', async () => {
    expect((await post(call('version', []))).body.result).toBe('1.2.3')
    expect((await post(call('get_objective', ['directfund:0x']))).body.error.code).toBe(RpcErrorCode.invalidParams)
  })

  test('subscribe and unsubscribe over HTTP → -32006 saying to use the WebSocket', async () => {
    for (const [method, params] of [['subscribe', { topics: ['objective_completed'] }], ['unsubscribe', { subscription: '0x1' }]] as const) {
      expect((await post(call(method, params))).body.error).toEqual({ code: RpcErrorCode.wrongTransport, message: expect.stringMatching(/WebSocket/) })
    }
  })
})

describe('bad params, per method family', () => {
  const counterparty = () => bob.address
  const voucher = { channelId: UNKNOWN_ID, amount: '1', signature: `0x${'11'.repeat(64)}1b` }

  test.each([
    // amounts and nonces: strings only
    { name: 'a deposit as a JSON number', method: 'create_ledger_channel', params: () => ({ counterparty: counterparty(), myDeposit: 5, theirDeposit: '5' }), path: 'myDeposit' },
    { name: 'a deposit of 2**53+1 as a number', method: 'create_ledger_channel', params: () => ({ counterparty: counterparty(), myDeposit: '5', theirDeposit: 2 ** 53 + 1 }), path: 'theirDeposit' },
    { name: 'a negative deposit', method: 'create_ledger_channel', params: () => ({ counterparty: counterparty(), myDeposit: '-5', theirDeposit: '5' }), path: 'myDeposit' },
    { name: 'a malformed counterparty', method: 'create_ledger_channel', params: () => ({ counterparty: '0x1234', myDeposit: '5', theirDeposit: '5' }), path: 'counterparty' },
    { name: 'a missing deposit', method: 'create_ledger_channel', params: () => ({ counterparty: counterparty(), myDeposit: '5' }), path: 'theirDeposit' },
    { name: 'a nonce as a number', method: 'create_ledger_channel', params: () => ({ counterparty: counterparty(), myDeposit: '5', theirDeposit: '5', nonce: 1 }), path: 'nonce' },
    { name: 'a misspelt field', method: 'create_ledger_channel', params: () => ({ counterparty: counterparty(), myDeposit: '5', theirDeposit: '5', nonse: '1' }), path: '' },
    { name: 'an amount as a number', method: 'create_payment_channel', params: () => ({ counterparty: counterparty(), amount: 10 }), path: 'amount' },
    { name: 'a malformed intermediary', method: 'create_payment_channel', params: () => ({ counterparty: counterparty(), intermediaries: ['0xzz'], amount: '10' }), path: 'intermediaries[0]' },
    { name: 'a fractional challenge duration', method: 'create_payment_channel', params: () => ({ counterparty: counterparty(), amount: '10', challengeDuration: 1.5 }), path: 'challengeDuration' },
    { name: 'a short channel id', method: 'close_ledger_channel', params: () => ({ channelId: '0x1234' }), path: 'channelId' },
    { name: 'a channel id as a number', method: 'get_ledger_channel', params: () => ({ channelId: 1 }), path: 'channelId' },
    { name: 'a zero payment', method: 'pay', params: () => ({ channelId: UNKNOWN_ID, amount: '0' }), path: 'amount' },
    { name: 'a fractional payment', method: 'pay', params: () => ({ channelId: UNKNOWN_ID, amount: 1.5 }), path: 'amount' },
    { name: 'a negative voucher amount', method: 'create_voucher', params: () => ({ channelId: UNKNOWN_ID, amount: '-1' }), path: 'amount' },
    { name: 'a voucher without signature', method: 'receive_voucher', params: () => ({ voucher: { channelId: UNKNOWN_ID, amount: '1' } }), path: 'voucher.signature' },
    { name: 'a voucher amount as a number', method: 'receive_voucher', params: () => ({ voucher: { ...voucher, amount: 1 } }), path: 'voucher.amount' },
    { name: 'an objective id as a number', method: 'get_objective', params: () => ({ objectiveId: 5 }), path: 'objectiveId' },
    { name: 'a malformed ledger id', method: 'get_payment_channels_by_ledger', params: () => ({ ledgerId: 'ledger' }), path: 'ledgerId' },
    { name: 'no params at all', method: 'get_payment_channel', params: () => undefined, path: 'channelId' },
  ])('$method: $name → -32602 naming $path', async ({ method, params, path }) => {
    const { error } = (await post(call(method, params()))).body
    expect(error.code).toBe(RpcErrorCode.invalidParams)
    expect(error.data.issues.map((i: { path: string }) => i.path)).toContain(path)
    expect(error.message).toMatch(/^invalid params: /)
  })

  test.each([
    { method: 'close_ledger_channel', params: { channelId: UNKNOWN_ID }, code: 'no_such_ledger' },
    { method: 'get_ledger_channel', params: { channelId: UNKNOWN_ID }, code: 'no_such_ledger' },
    { method: 'get_payment_channels_by_ledger', params: { ledgerId: UNKNOWN_ID }, code: 'no_such_ledger' },
    { method: 'get_payment_channel', params: { channelId: UNKNOWN_ID }, code: 'unknown_channel' },
    { method: 'close_payment_channel', params: { channelId: UNKNOWN_ID }, code: 'unknown_channel' },
    { method: 'pay', params: { channelId: UNKNOWN_ID, amount: '1' }, code: 'unknown_channel' },
    { method: 'create_voucher', params: { channelId: UNKNOWN_ID, amount: '1' }, code: 'unknown_channel' },
    { method: 'receive_voucher', params: { voucher }, code: 'unknown_channel' },
    { method: 'get_objective', params: { objectiveId: 'directfund:0x12' }, code: 'no_such_objective' },
    { method: 'create_payment_channel', params: { counterparty: `0x${'34'.repeat(20)}`, amount: '1' }, code: 'no_such_ledger' },
  ])('$method on an unknown channel → -32002 ($code)', async ({ method, params, code }) => {
    expect((await post(call(method, params))).body.error).toMatchObject({ code: RpcErrorCode.notFound, data: { code, summary: expect.any(String) } })
  })

  test('get_rejections: what a peer sent that the node refused, by code and with the peer', async () => {
    const before = (await post(call('get_rejections'))).body.result
    await alice.engine.receive(bob.address, Uint8Array.of(0xc1)) // not even a frame
    const after = (await post(call('get_rejections'))).body.result
    expect(after.counts.codec).toBe((before.counts.codec ?? 0) + 1)
    expect(after.recent.at(-1)).toMatchObject({ code: 'codec', from: bob.address })
  })

  test('a request the engine refuses → -32003 with its code and summary', async () => {
    const { error } = (await post(call('create_ledger_channel', { counterparty: alice.address, myDeposit: '1', theirDeposit: '1' }))).body
    expect(error).toEqual({ code: RpcErrorCode.refused, message: expect.any(String), data: { code: 'unsupported_channel', summary: error.message } })
  })

  test('an engine failure that is not typed → -32603, generic, logged', async () => {
    const lines: { level: string; obj: object }[] = []
    const broken = {
      address: alice.address,
      getObjective: () => {
        throw new TypeError('cannot read properties of undefined (internal path)')
      },
      onObjectiveChange: () => () => true,
      onChange: () => () => true,
    } as unknown as Engine
    const other = await RpcServer.start({ node: { engine: broken, version: 'x', newNonce: () => 1n }, secret: SECRET, logger: silent(lines) })
    try {
      const { body } = await post(call('get_objective', { objectiveId: 'x' }), AUTH, other.url)
      expect(body.error).toEqual({ code: RpcErrorCode.internalError, message: 'internal error' })
      expect(lines).toContainEqual(expect.objectContaining({ level: 'error', obj: expect.objectContaining({ method: 'get_objective' }) }))
    } finally {
      await other.close()
    }
  })
})

describe('WebSocket', () => {
  async function socket(): Promise<WebSocket> {
    const result = await openSocket(AUTH)
    if (!('ws' in result)) throw new Error(`refused: ${result.status}`)
    return result.ws
  }

  test('batches, parse errors and subscription limits', async () => {
    const ws = await socket()
    expect(await exchange(ws, [call('version', undefined, 1), call('get_address', undefined, 2)])).toEqual([
      { jsonrpc: '2.0', id: 1, result: '1.2.3' },
      { jsonrpc: '2.0', id: 2, result: alice.address },
    ])
    expect((await exchange(ws, '{oops')).error.code).toBe(RpcErrorCode.parseError)
    const ids = new Set<string>()
    for (let i = 0; i < MAX_SUBSCRIPTIONS_PER_SOCKET; i++) ids.add((await exchange(ws, call('subscribe', { topics: ['objective_completed'] }))).result)
    expect(ids.size).toBe(MAX_SUBSCRIPTIONS_PER_SOCKET)
    expect((await exchange(ws, call('subscribe', { topics: ['objective_failed'] }))).error).toMatchObject({ code: RpcErrorCode.limitExceeded, data: { limit: 'subscriptions' } })
    expect((await exchange(ws, call('unsubscribe', { subscription: [...ids][0] }))).result).toBe(true)
    expect((await exchange(ws, call('unsubscribe', { subscription: [...ids][0] }))).result).toBe(false)
    expect((await exchange(ws, call('subscribe', { topics: ['objective_failed', 'objective_failed'] }))).error.code).toBe(RpcErrorCode.invalidParams)
    expect((await exchange(ws, call('subscribe', { topics: ['everything'] }))).error.code).toBe(RpcErrorCode.invalidParams)
    ws.close()
  })

  test('a message over the limit closes that socket (1009); the server goes on', async () => {
    const ws = await socket()
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)))
    ws.send(' '.repeat(MAX_BODY_BYTES + 1))
    expect(await closed).toBe(1009)
    const other = await socket()
    expect((await exchange(other, call('version'))).result).toBe('1.2.3')
    other.close()
  })

  test('a subscriber is told when an objective completes, with its info', async () => {
    const ws = await socket()
    const subscription = (await exchange(ws, call('subscribe', { topics: ['objective_completed', 'ledger_channel_updated'] }))).result
    const seen: any[] = []
    ws.on('message', (data) => seen.push(JSON.parse(data.toString())))
    const { result } = (await post(call('create_ledger_channel', { counterparty: bob.address, myDeposit: '10', theirDeposit: '10' }))).body
    await new Promise<void>((resolve) => {
      const check = () => seen.some((n) => n.method === 'objective_completed' && n.params.result.id === result.objectiveId) && resolve()
      ws.on('message', check)
      check()
    })
    const completed = seen.find((n) => n.method === 'objective_completed')
    expect(completed).toEqual({ jsonrpc: '2.0', method: 'objective_completed', params: { subscription, result: expect.objectContaining({ id: result.objectiveId, kind: 'directfund', status: 'completed', failure: null }) } })
    // the ledger's view after the commit that completed it: open, balances as decimal strings
    const ledgerUpdate = seen.filter((n) => n.method === 'ledger_channel_updated').at(-1)
    expect(ledgerUpdate.params.result).toMatchObject({ channelId: result.channelId, status: 'open', myBalance: '10', theirBalance: '10' })
    ws.close()
  })
})

test('the server survives 200 random garbage requests and still answers', async () => {
  const methods = [...METHOD_TABLE.keys()].filter((m) => !m.startsWith('create_') && !m.startsWith('close_'))
  const garbage = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.json({ maxDepth: 4 }),
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    fc.record({ jsonrpc: fc.constantFrom('2.0', '1.0', 2), id: fc.oneof(fc.integer(), fc.string(), fc.constant(null)), method: fc.constantFrom(...methods, 'x'), params: fc.jsonValue({ maxDepth: 3 }) }).map((v) => JSON.stringify(v)),
    fc.array(fc.record({ jsonrpc: fc.constant('2.0'), id: fc.nat(), method: fc.constantFrom(...methods), params: fc.object({ maxDepth: 2 }) }), { maxLength: 5 }).map((v) => JSON.stringify(v)),
  )
  await fc.assert(
    fc.asyncProperty(garbage, async (body) => {
      const response = await fetch(server.url, { method: 'POST', headers: AUTH, body })
      const text = await response.text()
      expect([200, 204]).toContain(response.status)
      if (response.status === 200) {
        const answer = JSON.parse(text)
        for (const item of Array.isArray(answer) ? answer : [answer]) {
          expect(item.jsonrpc).toBe('2.0')
          if (item.error) expect(item.error.code).not.toBe(RpcErrorCode.internalError)
        }
      }
    }),
    { numRuns: 200 },
  )
  expect((await post(call('version'))).body.result).toBe('1.2.3')
})

test('close() stops serving', async () => {
  const other = await RpcServer.start({ node: { engine: alice.engine, version: 'x', newNonce: () => 1n }, secret: SECRET, logger: silent() })
  const url = other.url
  expect((await post(call('version'), AUTH, url)).body.result).toBe('x')
  await other.close()
  await expect(fetch(url, { method: 'POST', headers: AUTH, body: '{}' })).rejects.toThrow()
})
