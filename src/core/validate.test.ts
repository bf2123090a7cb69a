// Shape and range checks (STYLE §4): ranges are the Solidity types of DESIGN §3.
import { describe, expect, test } from 'vitest'
import { checkAddress, checkArray, checkBytes, checkBytes32, checkSmallUint, checkUint } from './validate.js'
import { codeOf, hostileValues, settle } from '../../test/hostile.js'

const a40 = 'a'.repeat(40)

describe('checkAddress', () => {
  test.each([
    { name: 'lowercase', value: `0x${a40}` },
    { name: 'EIP-55 checksummed', value: '0xF5A1BB5607C9D079E46d1B3Dc33f257d937b43BD' },
    { name: 'zero address', value: `0x${'0'.repeat(40)}` },
  ])('accepts $name', ({ value }) => {
    expect(() => checkAddress(value, 'a')).not.toThrow()
  })
  test.each([
    { name: '19 bytes', value: `0x${'a'.repeat(38)}` },
    { name: '21 bytes', value: `0x${'a'.repeat(42)}` },
    { name: 'no prefix', value: a40 },
    { name: 'non-hex', value: `0x${'g'.repeat(40)}` },
    { name: 'bytes32', value: `0x${'a'.repeat(64)}` },
    { name: 'number', value: 1 },
    { name: 'null', value: null },
    { name: 'Uint8Array(20)', value: new Uint8Array(20) },
  ])('rejects $name with invalid_address', ({ value }) => {
    expect(codeOf(() => checkAddress(value, 'a'))).toBe('invalid_address')
  })
})

describe('checkBytes32', () => {
  test.each([
    { name: '31 bytes', value: `0x${'11'.repeat(31)}`, code: 'invalid_length' },
    { name: '33 bytes', value: `0x${'11'.repeat(33)}`, code: 'invalid_length' },
    { name: 'empty hex', value: '0x', code: 'invalid_length' },
    { name: 'odd length', value: `0x${'1'.repeat(63)}`, code: 'invalid_hex' },
    { name: 'non-hex', value: `0x${'z'.repeat(64)}`, code: 'invalid_hex' },
    { name: 'bigint', value: 1n, code: 'invalid_hex' },
    { name: 'undefined', value: undefined, code: 'invalid_hex' },
  ])('rejects $name with $code', ({ value, code }) => {
    expect(codeOf(() => checkBytes32(value, 'b'))).toBe(code)
  })
  test('accepts 32 bytes in any case', () => {
    expect(() => checkBytes32(`0x${'aB'.repeat(32)}`, 'b')).not.toThrow()
  })
})

describe('checkBytes', () => {
  test('accepts up to the cap, rejects one byte more with invalid_length', () => {
    expect(() => checkBytes(`0x${'00'.repeat(10)}`, 'b', 10)).not.toThrow()
    expect(() => checkBytes('0x', 'b', 0)).not.toThrow()
    expect(codeOf(() => checkBytes(`0x${'00'.repeat(11)}`, 'b', 10))).toBe('invalid_length')
  })
  test.each([
    { name: 'odd', value: '0x0' },
    { name: 'no prefix', value: '00' },
    { name: 'number', value: 0 },
  ])('rejects $name with invalid_hex', ({ value }) => {
    expect(codeOf(() => checkBytes(value, 'b', 10))).toBe('invalid_hex')
  })
})

describe('checkUint', () => {
  const max = 2n ** 48n - 1n
  test.each([
    { name: '0n', value: 0n },
    { name: 'max', value: max },
  ])('accepts $name', ({ value }) => {
    expect(() => checkUint(value, 'n', max)).not.toThrow()
  })
  test.each([
    { name: '-1n', value: -1n },
    { name: 'max + 1', value: max + 1n },
    { name: 'number 5', value: 5 },
    { name: 'decimal string', value: '5' },
    { name: 'NaN', value: Number.NaN },
    { name: 'null', value: null },
  ])('rejects $name with out_of_range', ({ value }) => {
    expect(codeOf(() => checkUint(value, 'n', max))).toBe('out_of_range')
  })
})

describe('checkSmallUint', () => {
  test.each([
    { name: '0', value: 0 },
    { name: 'max', value: 255 },
  ])('accepts $name', ({ value }) => {
    expect(() => checkSmallUint(value, 'n', 255)).not.toThrow()
  })
  test.each([
    { name: '-1', value: -1 },
    { name: 'max + 1', value: 256 },
    { name: '1.5', value: 1.5 },
    { name: 'NaN', value: Number.NaN },
    { name: 'Infinity', value: Number.POSITIVE_INFINITY },
    { name: 'bigint', value: 1n },
    { name: 'string', value: '1' },
  ])('rejects $name with out_of_range', ({ value }) => {
    expect(codeOf(() => checkSmallUint(value, 'n', 255))).toBe('out_of_range')
  })
})

describe('checkArray', () => {
  test('accepts up to the cap, rejects one more or a non-array with invalid_length', () => {
    expect(() => checkArray([1, 2], 'a', 2)).not.toThrow()
    expect(codeOf(() => checkArray([1, 2, 3], 'a', 2))).toBe('invalid_length')
    expect(codeOf(() => checkArray({ length: 1 }, 'a', 2))).toBe('invalid_length')
  })
})

describe('hostile values', () => {
  test.each([
    { name: 'checkAddress', check: (v: unknown) => checkAddress(v, 'f') },
    { name: 'checkBytes32', check: (v: unknown) => checkBytes32(v, 'f') },
    { name: 'checkBytes', check: (v: unknown) => checkBytes(v, 'f', 64) },
    { name: 'checkUint', check: (v: unknown) => checkUint(v, 'f', 2n ** 256n - 1n) },
    { name: 'checkSmallUint', check: (v: unknown) => checkSmallUint(v, 'f', 255) },
    { name: 'checkArray', check: (v: unknown) => checkArray(v, 'f', 255) },
  ])('$name passes or throws a typed error for every hostile value', ({ check }) => {
    const untyped = hostileValues.flatMap(({ name, value }) => {
      const settled = settle(() => check(value))
      return settled.kind === 'untyped' ? [`${name}: ${settled.error}`] : []
    })
    expect(untyped).toEqual([])
  })
})
