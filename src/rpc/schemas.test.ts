// The wire codecs (STYLE §4, §6): what each primitive accepts and refuses, every hostile value refused
// without a throw, and decode(encode(x)) = x for the views.
import type { Address } from '../core/types.js'
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { z } from 'zod'
import { hostileValues } from '../../test/hostile.js'
import {
  RPC_METHODS,
  addressSchema,
  amountSchema,
  bytes32Schema,
  challengeDurationSchema,
  ledgerChannelInfoSchema,
  nonceSchema,
  paymentChannelInfoSchema,
  signatureSchema,
  voucherSchema,
} from './schemas.js'
import { toAddress, toBytes32 } from '../core/canonical.js'

const MAX_UINT256 = 2n ** 256n - 1n
const CHECKSUMMED = toAddress('0xF5A1BB5607C9D079E46d1B3Dc33f257d937b43BD')

describe('amounts are decimal strings, never JSON numbers', () => {
  test.each([
    { input: '0', value: 0n },
    { input: '1', value: 1n },
    { input: '9007199254740993', value: 2n ** 53n + 1n },
    { input: MAX_UINT256.toString(), value: MAX_UINT256 },
  ])('accepts $input', ({ input, value }) => {
    expect(amountSchema.parse(input)).toBe(value)
  })

  test.each([
    { name: 'a JSON number', input: 5, message: /JSON number/ },
    { name: '2**53+1 as a number', input: 2 ** 53 + 1, message: /JSON number/ },
    { name: 'negative', input: '-1', message: /digits only/ },
    { name: 'a fraction', input: '1.5', message: /digits only/ },
    { name: 'an exponent', input: '1e18', message: /digits only/ },
    { name: 'hex', input: '0x10', message: /digits only/ },
    { name: 'a leading zero', input: '01', message: /leading zeros/ },
    { name: 'a sign', input: '+1', message: /digits only/ },
    { name: 'whitespace', input: ' 1', message: /digits only/ },
    { name: 'empty', input: '', message: /digits only/ },
    { name: '2^256', input: (MAX_UINT256 + 1n).toString(), message: /at most/ },
    { name: 'overlong', input: '1'.repeat(100), message: /more than 78 digits/ },
    { name: 'a bigint', input: 5n, message: /expected a decimal string/ },
    { name: 'missing', input: undefined, message: /required/ },
  ])('refuses $name', ({ input, message }) => {
    const result = amountSchema.safeParse(input)
    expect(result.success).toBe(false)
    expect(result.error!.issues.map((i) => i.message).join('; ')).toMatch(message)
  })

  test('a nonce is at most 2^64 - 1', () => {
    expect(nonceSchema.parse((2n ** 64n - 1n).toString())).toBe(2n ** 64n - 1n)
    expect(nonceSchema.safeParse((2n ** 64n).toString()).success).toBe(false)
  })

  test('decode(encode(n)) = n for any uint256', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_UINT256 }), (n) => {
        const wire = z.encode(amountSchema, n)
        expect(wire).toBe(n.toString())
        expect(amountSchema.parse(wire)).toBe(n)
      }),
    )
  })

  test('encoding refuses what the wire could not carry', () => {
    expect(() => z.encode(amountSchema, -1n)).toThrow()
    expect(() => z.encode(amountSchema, MAX_UINT256 + 1n)).toThrow()
  })
})

describe('hex values', () => {
  test('addresses: lowercase or checksummed in, checksummed out', () => {
    expect(addressSchema.parse(CHECKSUMMED.toLowerCase())).toBe(CHECKSUMMED)
    expect(addressSchema.parse(CHECKSUMMED)).toBe(CHECKSUMMED)
    expect(z.encode(addressSchema, CHECKSUMMED.toLowerCase() as Address)).toBe(CHECKSUMMED)
  })

  test.each([
    { name: 'a bad checksum', input: '0xF5A1BB5607C9D079E46d1B3Dc33f257d937b43Bd', message: /checksum/ },
    { name: '19 bytes', input: `0x${'a'.repeat(38)}`, message: /20-byte/ },
    { name: 'no prefix', input: 'a'.repeat(40), message: /20-byte/ },
    { name: 'a number', input: 1, message: /JSON number/ },
  ])('addresses: refuses $name', ({ input, message }) => {
    const result = addressSchema.safeParse(input)
    expect(result.success).toBe(false)
    expect(result.error!.issues[0]!.message).toMatch(message)
  })

  test('channel ids and signatures: exact length, lowercase out', () => {
    expect(bytes32Schema.parse(`0x${'AB'.repeat(32)}`)).toBe(`0x${'ab'.repeat(32)}`)
    expect(bytes32Schema.safeParse(`0x${'ab'.repeat(31)}`).success).toBe(false)
    expect(bytes32Schema.safeParse(`0x${'ab'.repeat(20)}`).success).toBe(false)
    expect(signatureSchema.parse(`0x${'11'.repeat(64)}1B`)).toBe(`0x${'11'.repeat(64)}1b`)
    expect(signatureSchema.safeParse(`0x${'11'.repeat(64)}`).success).toBe(false)
  })

  test('challengeDuration: whole seconds, at least one, below 2^48', () => {
    expect(challengeDurationSchema.parse(60)).toBe(60)
    for (const bad of [0, -1, 1.5, 2 ** 48, '60', Number.NaN]) expect(challengeDurationSchema.safeParse(bad).success).toBe(false)
  })
})

describe('hostile values', () => {
  // Every params schema, every field: each hostile value is refused without a throw, except the few that
  // are well-formed for the field (absent for an optional field, '5' for an amount, 256 seconds, no
  // intermediaries, any short string for an id the node looks up).
  const fields = Object.entries(RPC_METHODS).flatMap(([method, { params }]) =>
    Object.entries(params.shape as Record<string, z.ZodType>).map(([field, schema]) => ({ method, field, params, schema })),
  )
  const FREE_TEXT = new Set(['objectiveId', 'subscription'])
  const DECIMAL = new Set(['amount', 'myDeposit', 'theirDeposit', 'nonce', 'seq', 'fromSeq', 'toSeq'])
  /** App params and events are any bytes: every 0x hex string with an even number of digits is one. */
  const HEX_BYTES = new Set(['params', 'event'])

  test.each(fields)('$method: $field', ({ params, field, schema }) => {
    const failures: string[] = []
    for (const { name, value } of hostileValues) {
      try {
        const result = params.safeParse({ [field]: value })
        const reported = !result.success && result.error.issues.some((i) => i.path[0] === field)
        const wellFormed =
          (value === undefined && schema.safeParse(undefined).success) ||
          (DECIMAL.has(field) && name === 'decimal string') ||
          (FREE_TEXT.has(field) && typeof value === 'string' && value.length > 0 && value.length <= 256) ||
          ((field === 'challengeDuration' || field === 'moveTimeout') && name === 'number 256') ||
          (field === 'intermediaries' && name === '[]') ||
          (HEX_BYTES.has(field) && typeof value === 'string' && /^0x(?:[0-9a-fA-F]{2})*$/.test(value))
        if (!reported && !wellFormed) failures.push(`${name}: accepted`)
      } catch (error) {
        failures.push(`${name}: threw ${String(error)}`)
      }
    }
    expect(failures).toEqual([])
  })

  test('unknown fields are refused, __proto__ included', () => {
    const params = RPC_METHODS.get_ledger_channel.params
    const channelId = `0x${'ab'.repeat(32)}`
    expect(params.safeParse({ channelId, extra: 1 }).success).toBe(false)
    expect(params.safeParse(JSON.parse(`{"channelId":"${channelId}","__proto__":{"polluted":true}}`)).success).toBe(false)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})

describe('views round-trip', () => {
  const voucher = { channelId: toBytes32(`0x${'ab'.repeat(32)}`), amount: 2n ** 200n, signature: `0x${'11'.repeat(64)}1b` as const }

  test('a voucher', () => {
    const wire = z.encode(voucherSchema, voucher)
    expect(wire).toEqual({ ...voucher, amount: (2n ** 200n).toString() })
    expect(voucherSchema.parse(JSON.parse(JSON.stringify(wire)))).toEqual(voucher)
  })

  test('a ledger and a payment channel', () => {
    const address = CHECKSUMMED
    const ledger = {
      channelId: voucher.channelId,
      status: 'open' as const,
      participants: [address, address],
      leader: address,
      follower: address,
      myRole: 'leader' as const,
      counterparty: address,
      asset: address,
      nonce: 2n ** 63n,
      challengeDuration: 60,
      turnNum: 7n,
      myBalance: MAX_UINT256,
      theirBalance: 0n,
      guarantees: [{ target: voucher.channelId, amount: 3n, left: voucher.channelId, right: voucher.channelId }],
      holdings: 10n,
    }
    expect(ledgerChannelInfoSchema.parse(JSON.parse(JSON.stringify(z.encode(ledgerChannelInfoSchema, ledger))))).toEqual(ledger)
    const payment = {
      channelId: voucher.channelId,
      status: 'closing' as const,
      role: 'payee' as const,
      payer: address,
      payee: address,
      intermediaries: [address],
      asset: address,
      startingBalance: 10n,
      paid: 4n,
      remaining: 6n,
      voucher,
    }
    expect(paymentChannelInfoSchema.parse(JSON.parse(JSON.stringify(z.encode(paymentChannelInfoSchema, payment))))).toEqual(payment)
  })
})
