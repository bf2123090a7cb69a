// The method table and the envelope without a transport: every contract method has a handler, defaults
// come from the node (fresh nonces), WebSocket-only methods reach the socket's session, and a handler that
// answers outside the contract is our bug (-32603, logged), never a malformed answer.
import { supportedSignedState } from '../protocols/ledger/consensusChannel.js'
import { decodeHandover } from '../watchtower/handover.js'
import { toAddress } from '../core/canonical.js'
import { afterAll, beforeAll, expect, test } from 'vitest'
import type { Bytes32, Hex } from '../core/types.js'
import type { TestNetwork, TestNode } from '../../test/support/ledgerNetwork.js'
import { MEMORY_VIRTUAL_PAYMENT_APP, createTestNetwork } from '../../test/support/ledgerNetwork.js'
import type { CallContext, RpcLogger, RpcNode, SocketSession } from './methods.js'
import { METHOD_TABLE, handleText } from './methods.js'
import { RPC_METHODS } from './schemas.js'
import type { Topic } from './schemas.js'
import { RpcErrorCode } from './errors.js'

let net: TestNetwork
let alice: TestNode
let bob: TestNode
const lines: { level: string; obj: object }[] = []
const logger: RpcLogger = {
  info: () => undefined,
  debug: () => undefined,
  warn: (obj) => void lines.push({ level: 'warn', obj }),
  error: (obj) => void lines.push({ level: 'error', obj }),
}
const key = (i: number) => `0x${(i + 1).toString(16).padStart(2, '0').repeat(32)}` as Hex

beforeAll(async () => {
  net = await createTestNetwork({ network: { seed: 5 } })
  alice = await net.node('alice', key(0))
  bob = await net.node('bob', key(1))
})
afterAll(async () => net?.close())

function context(node: Partial<RpcNode> = {}, socket?: SocketSession): CallContext {
  return { node: { engine: alice.engine, version: '1', newNonce: () => 42n, ...node }, socket }
}

async function answer(ctx: CallContext, method: string, params?: unknown): Promise<any> {
  return JSON.parse((await handleText(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }), ctx, logger))!)
}

test('every method of the contract has a handler, and only those', () => {
  expect([...METHOD_TABLE.keys()].sort()).toEqual(Object.keys(RPC_METHODS).sort())
})

test('a ledger without a nonce gets a fresh one from the node; a given nonce is used as is', async () => {
  const fresh = await answer(context(), 'create_ledger_channel', { counterparty: bob.address, myDeposit: '1', theirDeposit: '1' })
  expect((await answer(context(), 'get_ledger_channel', { channelId: fresh.result.channelId })).result.nonce).toBe('42')
  const given = await answer(context(), 'create_ledger_channel', { counterparty: bob.address, myDeposit: '1', theirDeposit: '1', nonce: '18446744073709551615' })
  expect((await answer(context(), 'get_ledger_channel', { channelId: given.result.channelId })).result.nonce).toBe('18446744073709551615')
  // the same nonce again is the same channel: refused by the engine
  const again = await answer(context(), 'create_ledger_channel', { counterparty: bob.address, myDeposit: '1', theirDeposit: '1', nonce: '42' })
  expect(again.error).toMatchObject({ code: RpcErrorCode.refused, data: { code: 'objective_exists' } })
})

test('subscribe and unsubscribe reach the socket session with decoded params', async () => {
  const calls: unknown[] = []
  const session: SocketSession = {
    subscribe: (topics: readonly Topic[]) => (calls.push(topics), '0xabc'),
    unsubscribe: (id: string) => (calls.push(id), true),
  }
  expect((await answer(context({}, session), 'subscribe', { topics: ['payment_channel_updated'] })).result).toBe('0xabc')
  expect((await answer(context({}, session), 'unsubscribe', { subscription: '0xabc' })).result).toBe(true)
  expect(calls).toEqual([['payment_channel_updated'], '0xabc'])
})

test('an answer outside the contract is an internal error, logged, not sent', async () => {
  lines.length = 0
  const broken = context({ version: 5 as unknown as string, chainId: 1.5 })
  expect((await answer(broken, 'version')).error).toEqual({ code: RpcErrorCode.internalError, message: 'internal error' })
  expect((await answer(broken, 'get_node_info')).error.code).toBe(RpcErrorCode.internalError)
  expect(lines.filter((l) => l.level === 'error')).toHaveLength(2)
})

test('notifications are answered with nothing, whatever happens to them', async () => {
  expect(await handleText(JSON.stringify({ jsonrpc: '2.0', method: 'get_objective', params: { objectiveId: 'nope' } }), context(), logger)).toBeUndefined()
  expect(await handleText(JSON.stringify([{ jsonrpc: '2.0', method: 'pay', params: {} }]), context(), logger)).toBeUndefined()
})

test('ids are echoed as given in a batch, each with its own outcome', async () => {
  const text = await handleText(
    JSON.stringify([
      { jsonrpc: '2.0', id: 'x', method: 'get_payment_channel', params: { channelId: `0x${'00'.repeat(32)}` as Bytes32 } },
      { jsonrpc: '2.0', id: 2, method: 'get_address' },
    ]),
    context(),
    logger,
  )
  expect(JSON.parse(text!)).toEqual([
    { jsonrpc: '2.0', id: 'x', error: expect.objectContaining({ code: RpcErrorCode.notFound }) },
    { jsonrpc: '2.0', id: 2, result: alice.address },
  ])
})

test('a ledger the operator challenges is listed as a dispute: the turn it registers, where it stands', async () => {
  const created = await answer(context(), 'create_ledger_channel', { counterparty: bob.address, myDeposit: '5', theirDeposit: '5', nonce: '7' })
  expect((await alice.engine.waitForObjective(created.result.objectiveId)).status).toBe('completed')
  expect((await answer(context(), 'list_disputes')).result).toEqual([])
  const started = await answer(context(), 'challenge_ledger_channel', { channelId: created.result.channelId })
  expect(started.result).toEqual({ objectiveId: `appdispute:${created.result.channelId}` })
  const [dispute, ...others] = (await answer(context(), 'list_disputes')).result
  expect(others).toEqual([])
  expect(dispute).toMatchObject({ objectiveId: started.result.objectiveId, channelId: created.result.channelId, channel: 'ledger', status: 'approved', turnNum: '1', paidOut: false, failure: null })
  expect((await answer(context(), 'get_ledger_channel', { channelId: created.result.channelId })).result.status).toBe('closing') // no more updates
  expect((await answer(context(), 'challenge_ledger_channel', { channelId: `0x${'77'.repeat(32)}` })).error).toMatchObject({ data: { code: 'no_such_ledger' } })
  // a payment channel the node does not take part in is refused; so is a ledger id given as one
  expect((await answer(context(), 'challenge_payment_channel', { channelId: `0x${'77'.repeat(32)}` })).error).toMatchObject({ data: { code: 'unknown_channel' } })
  expect((await answer(context(), 'challenge_payment_channel', { channelId: created.result.channelId })).error).toMatchObject({ data: { code: 'unknown_channel' } })
  expect((await answer(context(), 'challenge_payment_channel', { channelId: 'not hex' })).error).toMatchObject({ code: RpcErrorCode.invalidParams })
})

test('export_watchtower_handover: a file a watchtower takes, holding the supported state of each open ledger; refused without a chain', async () => {
  const created = await answer(context(), 'create_ledger_channel', { counterparty: bob.address, myDeposit: '5', theirDeposit: '5', nonce: '8' })
  expect((await alice.engine.waitForObjective(created.result.objectiveId)).status).toBe('completed')
  const contracts = { adjudicator: toAddress(`0x${'ad'.repeat(20)}`), virtualPaymentApp: MEMORY_VIRTUAL_PAYMENT_APP }
  const exported = await answer(context({ chainId: 31337, contracts }), 'export_watchtower_handover')
  const handover = decodeHandover(exported.result.document)
  expect(handover).toMatchObject({ chainId: 31337, ...contracts })
  expect(exported.result.channels).toBe(handover.channels.length)
  const entry = handover.channels.find((e) => e.channelId === created.result.channelId)!
  expect(entry.proof).toEqual([])
  expect(entry.candidate).toEqual(supportedSignedState(alice.engine.getLedger(created.result.channelId)!))
  expect((await answer(context(), 'export_watchtower_handover')).error).toMatchObject({ code: RpcErrorCode.refused, data: { code: 'not_configured' } })
})
