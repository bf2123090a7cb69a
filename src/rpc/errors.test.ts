// From anything a handler throws to a JSON-RPC error object (STYLE §3): typed errors keep their code and
// details, bigints become decimal strings, untyped ones leak nothing and are logged.
import { describe, expect, test } from 'vitest'
import { z } from 'zod'
import { InvalidAddressError, InvariantError } from '../core/errors.js'
import { EngineStoppedError, NoSuchLedgerError, NoSuchObjectiveError } from '../engine/errors.js'
import { UnknownChannelError } from '../engine/virtual.js'
import { PaymentRefusedError } from '../protocols/payments/paymentChannel.js'
import { RpcErrorCode, RpcMethodError, formatPath, invalidParams, toJsonValue, toRpcError } from './errors.js'

function capture() {
  const lines: { level: string; obj: object; msg?: string }[] = []
  const at = (level: string) => (obj: object, msg?: string) => lines.push({ level, obj, msg })
  return { lines, logger: { warn: at('warn'), error: at('error') } }
}

describe('toRpcError', () => {
  test.each([
    { name: 'a refusal', error: new PaymentRefusedError('the channel cannot afford this payment', { remaining: 3n, amount: 5n }), code: RpcErrorCode.refused },
    { name: 'a bad input', error: new InvalidAddressError('bad', { field: 'x' }), code: RpcErrorCode.refused },
    { name: 'an unknown channel', error: new UnknownChannelError('no such payment channel'), code: RpcErrorCode.notFound },
    { name: 'an unknown ledger', error: new NoSuchLedgerError('no such ledger channel'), code: RpcErrorCode.notFound },
    { name: 'an unknown objective', error: new NoSuchObjectiveError('no such objective'), code: RpcErrorCode.notFound },
    { name: 'a stopped engine', error: new EngineStoppedError('the engine is closed'), code: RpcErrorCode.unavailable },
  ])('$name → $code with { code, summary, details }', ({ error, code }) => {
    const mapped = toRpcError(error, capture().logger)
    expect(mapped.code).toBe(code)
    expect(mapped.message).toBe(error.summary)
    expect(mapped.data).toMatchObject({ code: error.code, summary: error.summary })
  })

  test('details carry bigints as decimal strings', () => {
    const mapped = toRpcError(new PaymentRefusedError('too much', { remaining: 2n ** 255n, amount: 5n }), capture().logger)
    expect(mapped.data).toEqual({ code: 'payment_refused', summary: 'too much', details: { remaining: (2n ** 255n).toString(), amount: '5' } })
    expect(() => JSON.stringify(mapped)).not.toThrow()
  })

  test('an untyped error is -32603 with a generic message, and logged', () => {
    const { lines, logger } = capture()
    const mapped = toRpcError(new TypeError('secret internals at /home/x'), logger, 'pay')
    expect(mapped).toEqual({ code: RpcErrorCode.internalError, message: 'internal error' })
    expect(lines).toEqual([expect.objectContaining({ level: 'error', obj: expect.objectContaining({ method: 'pay' }) })])
  })

  test('a broken invariant is internal but keeps its code, and is logged', () => {
    const { lines, logger } = capture()
    const mapped = toRpcError(new InvariantError('funds conserved'), logger)
    expect(mapped).toMatchObject({ code: RpcErrorCode.internalError, data: { code: 'invariant' } })
    expect(lines.map((l) => l.level)).toEqual(['error'])
  })

  test('an RpcMethodError passes through', () => {
    expect(toRpcError(new RpcMethodError(RpcErrorCode.limitExceeded, 'too many', { max: 1 }), capture().logger)).toEqual({ code: -32004, message: 'too many', data: { max: 1 } })
  })
})

test('invalidParams names each field', () => {
  const result = z.strictObject({ voucher: z.object({ amount: z.string() }), list: z.array(z.string()) }).safeParse({ voucher: { amount: 1 }, list: ['a', 2] })
  const error = invalidParams(result.error!)
  expect(error.code).toBe(RpcErrorCode.invalidParams)
  expect(error.message).toMatch(/^invalid params: voucher\.amount: .*; list\[1\]: /)
  expect(error.data).toEqual({ issues: [expect.objectContaining({ path: 'voucher.amount' }), expect.objectContaining({ path: 'list[1]' })] })
})

test('formatPath', () => {
  expect(formatPath([])).toBe('')
  expect(formatPath(['a', 0, 'b'])).toBe('a[0].b')
  expect(formatPath([Symbol('s')])).toBe('Symbol(s)')
})

describe('toJsonValue', () => {
  test('bigints, bytes, errors, non-finite numbers', () => {
    expect(toJsonValue({ a: 1n, b: Uint8Array.of(1, 255), c: new Error('boom'), d: Number.NaN, e: undefined, f: [2n] })).toEqual({
      a: '1',
      b: '0x01ff',
      c: 'boom',
      d: 'NaN',
      e: null,
      f: ['2'],
    })
  })

  test('cycles and depth are cut, __proto__ stays a key', () => {
    const cyclic: Record<string, unknown> = { name: 'x' }
    cyclic.self = cyclic
    expect(toJsonValue(cyclic)).toEqual({ name: 'x', self: '…' })
    expect(toJsonValue({ a: { b: { c: { d: { e: 1 } } } } })).toEqual({ a: { b: { c: { d: '…' } } } })
    const out = toJsonValue(JSON.parse('{"__proto__": {"polluted": 1}}')) as Record<string, unknown>
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype)
    expect(Object.hasOwn(out, '__proto__')).toBe(true)
  })
})
