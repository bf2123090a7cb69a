// Guarantee metadata = abi.encode((bytes32 left, bytes32 right)) (DESIGN §3), against viem.
import type { Bytes32 } from './types.js'
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { encodeAbiParameters, parseAbiParameters } from 'viem'
import type { Hex } from 'viem'
import { decodeGuaranteeMetadata, encodeGuaranteeMetadata } from './guarantee.js'
import * as arb from '../../test/arbitraries.js'
import { codeOf, hostileValues, settle } from '../../test/hostile.js'

const reference = (left: Hex, right: Hex): Hex =>
  encodeAbiParameters(parseAbiParameters('(bytes32 left, bytes32 right)'), [{ left, right }]).toLowerCase() as Hex

describe('guarantee metadata', () => {
  test('encodes as viem\'s abi.encode((bytes32, bytes32)): 64 bytes, left then right', () => {
    fc.assert(
      fc.property(arb.destination, arb.destination, (left, right) => {
        const encoded = encodeGuaranteeMetadata({ left, right })
        expect(encoded).toBe(reference(left, right))
        expect(encoded).toBe(`0x${left.slice(2)}${right.slice(2)}`.toLowerCase())
      }),
      { numRuns: 500 },
    )
  })

  test('decodes back, lowercase', () => {
    fc.assert(
      fc.property(arb.destination, arb.destination, (left, right) => {
        expect(decodeGuaranteeMetadata(encodeGuaranteeMetadata({ left, right }))).toEqual({ left: left.toLowerCase(), right: right.toLowerCase() })
        expect(decodeGuaranteeMetadata(reference(left, right))).toEqual({ left: left.toLowerCase(), right: right.toLowerCase() })
      }),
      { numRuns: 500 },
    )
  })

  test.each([
    { name: '63 bytes', m: `0x${'11'.repeat(63)}`, code: 'invalid_length' },
    { name: '65 bytes', m: `0x${'11'.repeat(65)}`, code: 'invalid_length' },
    { name: 'empty', m: '0x', code: 'invalid_length' },
    { name: 'odd length', m: `0x${'1'.repeat(127)}`, code: 'invalid_hex' },
    { name: 'non-hex', m: `0x${'zz'.repeat(64)}`, code: 'invalid_hex' },
  ])('decode rejects $name with $code', ({ m, code }) => {
    expect(codeOf(() => decodeGuaranteeMetadata(m as Hex))).toBe(code)
  })

  test.each([
    { name: 'left of 31 bytes', left: `0x${'11'.repeat(31)}`, right: `0x${'22'.repeat(32)}`, code: 'invalid_length' },
    { name: 'right of 33 bytes', left: `0x${'11'.repeat(32)}`, right: `0x${'22'.repeat(33)}`, code: 'invalid_length' },
    { name: 'left non-hex', left: 'left', right: `0x${'22'.repeat(32)}`, code: 'invalid_hex' },
    { name: 'right an address', left: `0x${'11'.repeat(32)}`, right: `0x${'22'.repeat(20)}`, code: 'invalid_length' },
  ])('encode rejects $name with $code', ({ left, right, code }) => {
    expect(codeOf(() => encodeGuaranteeMetadata({ left: left as Bytes32, right: right as Bytes32 }))).toBe(code)
  })

  test('decode refuses hostile values with a code', () => {
    const untyped = hostileValues.flatMap(({ name, value }) => {
      const s = settle(() => decodeGuaranteeMetadata(value as Hex))
      return s.kind === 'untyped' ? [`${name}: ${s.error}`] : []
    })
    expect(untyped).toEqual([])
  })
})
