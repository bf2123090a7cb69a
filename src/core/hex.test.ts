// Hex <-> bytes against viem's independent converters; strict rejection of everything else.
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { bytesToHex as viemBytesToHex, hexToBytes as viemHexToBytes } from 'viem'
import { asBuffer, bytesToHex, hexToBytes, isHex, preview } from './hex.js'
import { codeOf, hostileValues } from '../../test/hostile.js'

describe('bytesToHex', () => {
  test('equals viem on random bytes, lowercase', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(bytesToHex(bytes)).toBe(viemBytesToHex(bytes))
      }),
      { numRuns: 1000 },
    )
  })
  test('honours a view\'s offset and length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 100 }), fc.nat(), fc.nat(), (bytes, a, b) => {
        const start = a % bytes.length
        const end = start + (b % (bytes.length - start + 1))
        expect(bytesToHex(bytes.subarray(start, end))).toBe(viemBytesToHex(bytes.slice(start, end)))
      }),
    )
  })
})

describe('hexToBytes', () => {
  test('inverts viem in any case', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, upper) => {
        const hex = viemBytesToHex(bytes)
        const text = upper ? `0x${hex.slice(2).toUpperCase()}` : hex
        expect(new Uint8Array(hexToBytes(text, 'x'))).toEqual(viemHexToBytes(hex))
      }),
      { numRuns: 1000 },
    )
  })

  test.each([
    { name: "''", value: '', code: 'invalid_hex' },
    { name: 'no prefix', value: 'abcd', code: 'invalid_hex' },
    { name: 'uppercase prefix', value: '0XABCD', code: 'invalid_hex' },
    { name: 'odd length', value: '0xabc', code: 'invalid_hex' },
    { name: 'one digit', value: '0x0', code: 'invalid_hex' },
    { name: 'non-hex digit', value: '0xzz', code: 'invalid_hex' },
    { name: 'whitespace', value: '0x ab', code: 'invalid_hex' },
    { name: 'trailing newline', value: '0xab\n', code: 'invalid_hex' },
    { name: 'number', value: 12, code: 'invalid_hex' },
    { name: 'null', value: null, code: 'invalid_hex' },
    { name: 'bytes', value: new Uint8Array(2), code: 'invalid_hex' },
  ])('rejects $name with $code', ({ value, code }) => {
    expect(codeOf(() => hexToBytes(value, 'field'))).toBe(code)
  })

  test.each([
    { name: '31 of 32', length: 32, value: `0x${'11'.repeat(31)}` },
    { name: '33 of 32', length: 32, value: `0x${'11'.repeat(33)}` },
    { name: '0 of 1', length: 1, value: '0x' },
  ])('rejects a length of $name bytes with invalid_length', ({ value, length }) => {
    expect(codeOf(() => hexToBytes(value, 'field', length))).toBe('invalid_length')
  })

  test('every hostile value is refused with a code, never a TypeError', () => {
    for (const { name, value } of hostileValues) {
      if (typeof value === 'string' && /^0x(?:[0-9a-fA-F]{2})*$/.test(value)) continue
      expect([name, codeOf(() => hexToBytes(value, 'field'))]).toEqual([name, 'invalid_hex'])
    }
  })
})

describe('isHex', () => {
  test.each([
    { value: '0x', expected: true },
    { value: '0x00', expected: true },
    { value: '0xAbCd', expected: true },
    { value: '0x0', expected: false },
    { value: '0X00', expected: false },
    { value: 'x00', expected: false },
    { value: '0x0g', expected: false },
    { value: 0, expected: false },
    { value: undefined, expected: false },
  ])('isHex($value) is $expected', ({ value, expected }) => {
    expect(isHex(value)).toBe(expected)
  })
})

describe('asBuffer', () => {
  test('views the same memory without copying', () => {
    const bytes = new Uint8Array([1, 2, 3, 4]).subarray(1, 3)
    const buffer = asBuffer(bytes)
    expect([...buffer]).toEqual([2, 3])
    bytes[0] = 9
    expect(buffer[0]).toBe(9)
  })
})

describe('preview', () => {
  test.each([
    { name: 'bigint', value: -1n, expected: '-1n' },
    { name: 'short string', value: '0xzz', expected: '0xzz' },
    { name: 'null', value: null, expected: 'object' },
    { name: 'symbol', value: Symbol('s'), expected: 'symbol' },
    { name: 'number', value: Number.NaN, expected: 'number' },
  ])('renders $name safely', ({ value, expected }) => {
    expect(preview(value)).toBe(expected)
  })
  test('truncates long strings to 80 characters', () => {
    const text = preview('a'.repeat(1000))
    expect(text).toHaveLength(80)
    expect(text.endsWith('...')).toBe(true)
  })
})
