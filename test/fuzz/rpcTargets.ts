// Fuzz targets of the JSON-RPC edge (src/rpc/methods.ts, src/rpc/schemas.ts): for every method, valid params
// with edited fields (hostile or arbitrary values, fields removed or added, '__proto__' keys, numbers for
// decimal strings) and arbitrary values, through the method's `invoke`; and whole request texts (calls, batches,
// broken JSON) through `handleText`. The node behind them is a stub whose engine throws a typed marker error on
// first use: reaching it means the params were accepted.
// Properties: params are accepted, or refused with -32602 invalid params naming at most MAX_REPORTED_ISSUES
// issues — never an untyped exception; accepted params decode, encode and decode again to the same values;
// every answer is JSON-RPC 2.0 with a known error code and never -32603 (an internal error is our bug).
import assert from 'node:assert/strict'
import { ZERO_ADDRESS } from '../../src/core/canonical.js'
import fc from 'fast-check'
import type { z } from 'zod'
import { RejectedInputError } from '../../src/core/errors.js'
import type { CallContext, RpcLogger } from '../../src/rpc/methods.js'
import { METHOD_TABLE, handleText } from '../../src/rpc/methods.js'
import type { MethodName } from '../../src/rpc/schemas.js'
import { RPC_METHODS, TOPICS } from '../../src/rpc/schemas.js'
import { RpcErrorCode, RpcMethodError } from '../../src/rpc/errors.js'
import { MAX_INTERMEDIARIES, MAX_OBJECTIVE_ID_LENGTH, MAX_SUBSCRIPTION_ID_LENGTH } from '../../src/rpc/limits.js'
import { hostileValues } from '../hostile.js'
import * as arb from '../arbitraries.js'
import { applyByteEdits, byteEdit } from './mutate.js'
import type { AnyTarget } from './target.js'
import { assertSameData, defineTarget, describeThrown } from './target.js'

/** What the stub engine throws on any use: a typed refusal, so the RPC layer answers it as -32003 refused. */
class HandlerReachedError extends RejectedInputError {
  readonly code = 'fuzz_handler_reached'
}

const stubEngine = new Proxy(
  {},
  {
    get: (_target, property) => {
      throw new HandlerReachedError('the handler used the engine (params accepted)', { property: String(property) })
    },
  },
)

/** Internal errors are logged at `error`: the property requires there are none. */
const logged: { level: string; obj: object }[] = []
const logger: RpcLogger = {
  info: () => undefined,
  debug: () => undefined,
  warn: () => undefined,
  error: (obj) => void logged.push({ level: 'error', obj }),
}
const context: CallContext = { node: { engine: stubEngine as never, version: '0.0.0-fuzz', chainId: 31337, contracts: { adjudicator: ZERO_ADDRESS, virtualPaymentApp: ZERO_ADDRESS }, newNonce: () => 1n }, socket: undefined }

// ---- valid params, from each field's name ----

const address = fc.oneof(arb.address, fc.constant('0xF5A1BB5607C9D079E46d1B3Dc33f257d937b43Bd'))
const decimal = (max: bigint) => fc.oneof(fc.constantFrom(0n, 1n, max, max + 1n), fc.bigInt({ min: 0n, max })).map(String)
const seq = fc.oneof(fc.bigInt({ min: 0n, max: 600n }), fc.bigInt({ min: 0n, max: arb.UINT64_MAX })).map(String)
const voucher = fc.record({ channelId: arb.bytes32, amount: decimal(arb.UINT256_MAX), signature: arb.signature })

/** One arbitrary per params field of any method; a field missing here fails at load, so new fields get fuzzed. */
const FIELDS: Readonly<Record<string, fc.Arbitrary<unknown>>> = {
  counterparty: address,
  asset: address,
  participants: fc.array(address, { minLength: 2, maxLength: 4 }),
  intermediaries: fc.array(address, { maxLength: Math.min(3, MAX_INTERMEDIARIES) }),
  myDeposit: decimal(arb.UINT256_MAX),
  theirDeposit: decimal(arb.UINT256_MAX),
  amount: decimal(arb.UINT256_MAX),
  deposits: fc.array(decimal(arb.UINT256_MAX), { minLength: 2, maxLength: 4 }),
  nonce: decimal(arb.UINT64_MAX),
  seq,
  fromSeq: seq,
  toSeq: seq,
  challengeDuration: fc.oneof(fc.constantFrom(1, 60, 86_400, 2 ** 48 - 1), fc.integer({ min: 1, max: 2 ** 48 - 1 })),
  moveTimeout: fc.oneof(fc.constantFrom(0, 300), fc.integer({ min: 0, max: 2 ** 48 - 1 })),
  channelId: arb.bytes32,
  ledgerId: arb.bytes32,
  appId: arb.bytes32,
  voucher,
  objectiveId: fc.string({ minLength: 1, maxLength: MAX_OBJECTIVE_ID_LENGTH }),
  subscription: fc.string({ minLength: 1, maxLength: MAX_SUBSCRIPTION_ID_LENGTH }),
  topics: fc.shuffledSubarray([...TOPICS], { minLength: 1 }),
  params: arb.hexBytes(0, 64),
  event: arb.hexBytes(0, 64),
  funding: fc.constantFrom('none', 'direct', 'ledger'),
  format: fc.constantFrom('json', 'msgpack'),
}

const ALL_METHODS = Object.keys(RPC_METHODS) as MethodName[]

function paramsSchema(method: MethodName): z.ZodObject {
  return RPC_METHODS[method].params as unknown as z.ZodObject
}

/** Params a client would send to `method`: every required field, some optional ones. */
function validParams(method: MethodName): fc.Arbitrary<Record<string, unknown>> {
  const shape = paramsSchema(method).shape as Record<string, z.ZodType>
  const fields: Record<string, fc.Arbitrary<unknown>> = {}
  const required: string[] = []
  for (const [field, schema] of Object.entries(shape)) {
    const arbitrary = FIELDS[field]
    if (arbitrary === undefined) throw new Error(`test/fuzz/rpcTargets.ts: no arbitrary for params field ${method}.${field}`)
    fields[field] = arbitrary
    if (!schema.safeParse(undefined).success) required.push(field)
  }
  return fc.record(fields, { requiredKeys: required }) as fc.Arbitrary<Record<string, unknown>>
}

type ParamsEdit =
  | { readonly op: 'set'; readonly key: string | number; readonly value: unknown }
  | { readonly op: 'delete'; readonly key: number }
  | { readonly op: 'asNumber'; readonly key: number }
  | { readonly op: 'reshape'; readonly key: number; readonly how: 'upper' | 'append0' | 'dropLast' | 'space' | 'wrap' }

const EXTRA_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'extra', '']

function paramsEdit(values: fc.Arbitrary<unknown>): fc.Arbitrary<ParamsEdit> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ op: fc.constant('set' as const), key: fc.oneof(fc.nat(), fc.constantFrom(...EXTRA_KEYS), fc.string({ maxLength: 8 })), value: values }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), key: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('asNumber' as const), key: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('reshape' as const), key: fc.nat(), how: fc.constantFrom('upper' as const, 'append0' as const, 'dropLast' as const, 'space' as const, 'wrap' as const) }) },
  )
}

/** `params` with `edit` made; a numeric key picks one of its fields. Own properties only: '__proto__' stays a key. */
function applyParamsEdit(params: Record<string, unknown>, edit: ParamsEdit): Record<string, unknown> {
  const keys = Object.keys(params)
  const pick = (i: number): string | undefined => (keys.length === 0 ? undefined : keys[i % keys.length])
  const out: Record<string, unknown> = {}
  for (const k of keys) Object.defineProperty(out, k, { value: params[k], enumerable: true, writable: true, configurable: true })
  const put = (k: string, value: unknown) => Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true })
  const key = typeof edit.key === 'number' ? pick(edit.key) : edit.key
  if (key === undefined) return out
  const current = out[key]
  switch (edit.op) {
    case 'set':
      put(key, (edit as { value: unknown }).value)
      break
    case 'delete':
      delete out[key]
      break
    case 'asNumber':
      put(key, typeof current === 'string' ? Number(current) : typeof current === 'number' ? String(current) : current)
      break
    case 'reshape': {
      const how = (edit as { how: string }).how
      if (typeof current === 'string') {
        put(key, how === 'upper' ? current.toUpperCase() : how === 'append0' ? `${current}0` : how === 'dropLast' ? current.slice(0, -1) : how === 'space' ? ` ${current}` : [current])
      } else if (Array.isArray(current)) {
        put(key, how === 'dropLast' ? current.slice(0, -1) : how === 'append0' ? [...current, current[0]] : how === 'wrap' ? [current] : current)
      } else put(key, [current])
      break
    }
  }
  return out
}

/** Params for a method: valid ones, edited valid ones, or anything at all. */
function paramsFor(method: MethodName, values: fc.Arbitrary<unknown>, anything: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 2, arbitrary: validParams(method) },
    { weight: 5, arbitrary: fc.tuple(validParams(method), fc.array(paramsEdit(values), { minLength: 1, maxLength: 3 })).map(([p, edits]) => edits.reduce(applyParamsEdit, p)) },
    { weight: 1, arbitrary: anything },
  )
}

const jsValues: fc.Arbitrary<unknown> = fc.oneof(fc.constantFrom(...hostileValues.filter((h) => !/huge|large|1 MB|coercion trap/.test(h.name)).map((h) => h.value)), fc.anything())
const jsonValues: fc.Arbitrary<unknown> = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom(-1, 1.5, 2 ** 53 + 2, 1e300, '', '0x', '-1', '1e18', 'null', true, null, [], {}))

const callOf = (methods: readonly MethodName[]) =>
  fc.constantFrom(...methods).chain((method) => fc.record({ method: fc.constant(method), params: paramsFor(method, jsValues, fc.anything()) }))

/** `invoke` of one method: params accepted (the stub engine reached, or the WebSocket-only refusal) or invalid params. */
async function checkInvoke({ method, params }: { method: MethodName; params: unknown }): Promise<void> {
  const entry = METHOD_TABLE.get(method)!
  let settled: { ok: true } | { ok: false; error: unknown }
  try {
    await entry.invoke(context, params)
    settled = { ok: true }
  } catch (error) {
    settled = { ok: false, error }
  }
  const refusedAsInvalid = !settled.ok && settled.error instanceof RpcMethodError && settled.error.code === RpcErrorCode.invalidParams
  const accepted = settled.ok || settled.error instanceof HandlerReachedError || (settled.error instanceof RpcMethodError && settled.error.code === RpcErrorCode.wrongTransport)
  if (!refusedAsInvalid && !accepted) {
    const error = (settled as { error: unknown }).error
    assert.fail(`${method}: expected the params accepted or refused as invalid params, got ${settled.ok ? 'a result' : describeThrown(error)}\n${error instanceof Error ? error.stack : ''}`)
  }
  const schema = paramsSchema(method)
  const raw = params === undefined || (Array.isArray(params) && params.length === 0) ? {} : params
  const parsed = Array.isArray(raw) ? undefined : schema.safeParse(raw)
  if (refusedAsInvalid) {
    assert.ok(!parsed?.success, `${method}: refused params its schema accepts`)
    const issues = ((settled as { error: RpcMethodError }).error.data as { issues?: unknown[] } | undefined)?.issues
    assert.ok(Array.isArray(issues) && issues.length >= 1 && issues.length <= 20, `${method}: invalid params names 1..20 issues`)
    return
  }
  assert.ok(parsed?.success, `${method}: accepted params its schema refuses`)
  // The codec both ways (schemas.ts): what the server decoded, the client encodes to params that decode the same.
  const encoded = schema.encode(parsed.data as never)
  assertSameData(schema.parse(JSON.parse(JSON.stringify(encoded))), parsed.data, `${method}: decode(encode(params)) = params`)
}

// ---- whole requests ----

const KNOWN_CODES: ReadonlySet<number> = new Set(Object.values(RpcErrorCode))

const request: fc.Arbitrary<unknown> = fc.constantFrom(...ALL_METHODS, 'nope', '__proto__', 'rpc.nope').chain((method) =>
  fc.record(
    {
      jsonrpc: fc.oneof({ weight: 6, arbitrary: fc.constant('2.0') }, { weight: 1, arbitrary: jsonValues }),
      id: fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.constant(null), jsonValues),
      method: fc.oneof({ weight: 8, arbitrary: fc.constant(method) }, { weight: 1, arbitrary: jsonValues }),
      params: Object.hasOwn(RPC_METHODS, method) ? paramsFor(method as MethodName, jsonValues, fc.jsonValue({ maxDepth: 2 })) : fc.jsonValue({ maxDepth: 2 }),
    },
    { requiredKeys: ['jsonrpc', 'method'] },
  ),
)

const requestText: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: request.map((r) => JSON.stringify(r)) },
  { weight: 2, arbitrary: fc.array(request, { minLength: 0, maxLength: 4 }).map((r) => JSON.stringify(r)) },
  { weight: 2, arbitrary: fc.tuple(request, fc.array(byteEdit, { minLength: 1, maxLength: 3 })).map(([r, edits]) => Buffer.from(applyByteEdits(Buffer.from(JSON.stringify(r)), edits)).toString('utf8')) },
  { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
)

/** One response object: JSON-RPC 2.0, a result or an error with a known code, never an internal error. */
function checkResponse(response: unknown, text: string): void {
  assert.ok(response !== null && typeof response === 'object' && !Array.isArray(response), 'a response is an object')
  const r = response as Record<string, unknown>
  assert.equal(r.jsonrpc, '2.0')
  if ('error' in r) {
    const error = r.error as { code: number; message: string }
    assert.ok(KNOWN_CODES.has(error.code), `unknown error code ${error.code}`)
    assert.notEqual(error.code, RpcErrorCode.internalError, `an internal error (our bug) for ${text.slice(0, 300)}: ${JSON.stringify(r).slice(0, 500)}`)
    assert.equal(typeof error.message, 'string')
  } else assert.ok('result' in r, 'a response has a result or an error')
}

async function checkText(text: string): Promise<void> {
  logged.length = 0
  let answer: string | undefined
  try {
    answer = await handleText(text, context, logger)
  } catch (error) {
    assert.fail(`handleText threw ${describeThrown(error)}\n${error instanceof Error ? error.stack : ''}`)
  }
  assert.deepEqual(logged, [], 'nothing logged as an internal error')
  if (answer === undefined) return
  const parsed: unknown = JSON.parse(answer)
  if (Array.isArray(parsed)) parsed.forEach((r) => checkResponse(r, text))
  else checkResponse(parsed, text)
}

export const rpcTargets: readonly AnyTarget[] = [
  defineTarget({
    name: 'rpc.params',
    property: 'every method\'s invoke, given valid, edited or arbitrary params, accepts them (and they survive decode, encode, decode) or refuses them with -32602 invalid params',
    weight: 60,
    ciRuns: 2000,
    async: true,
    arbitrary: callOf(ALL_METHODS),
    check: checkInvoke,
  }),
  defineTarget({
    name: 'rpc.seqRange',
    property: 'the same, more often, for get_events and get_state_diff, whose fromSeq/toSeq refinements run on seqs that failed their own check (a TypeError once)',
    weight: 5,
    ciRuns: 300,
    async: true,
    arbitrary: callOf(['get_events', 'get_state_diff']),
    check: checkInvoke,
  }),
  defineTarget({
    name: 'rpc.envelope',
    property: 'handleText, given calls, batches and broken JSON, answers JSON-RPC 2.0 with known error codes, never an internal error and nothing logged as one',
    weight: 40,
    ciRuns: 1000,
    async: true,
    arbitrary: requestText,
    check: checkText,
  }),
]
