// The one door (ADR 0018): whatever case a value arrives in, the node holds one form of it, and the decoders that
// take values from outside give that form.
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { getAddress } from 'viem'
import { ZERO_ADDRESS, parseAddress, parseBytes32, toAddress, toBytes32 } from './canonical.js'
import { stateFromWire, stateToWire } from './wire.js'
import * as arb from '../../test/arbitraries.js'
import { codeOf } from '../../test/hostile.js'

const CHECKSUMMED = '0xF5A1BB5607C9D079E46d1B3Dc33f257d937b43BD'
const isCanonicalAddress = (a: string) => a === getAddress(a)
const isCanonicalBytes32 = (h: string) => h === h.toLowerCase()

describe('addresses', () => {
  test('lowercase, uppercase digits and checksummed forms become the checksummed one', () => {
    for (const form of [CHECKSUMMED.toLowerCase(), `0x${CHECKSUMMED.slice(2).toUpperCase()}`, CHECKSUMMED]) expect(toAddress(form)).toBe(CHECKSUMMED)
    expect(ZERO_ADDRESS).toBe(`0x${'0'.repeat(40)}`)
  })

  test.each([
    { name: 'a wrong checksum', value: '0xF5A1BB5607C9D079E46d1B3Dc33f257d937b43Bd' },
    { name: '19 bytes', value: `0x${'a'.repeat(38)}` },
    { name: 'a number', value: 1 },
  ])('parseAddress refuses $name (invalid_address)', ({ value }) => {
    expect(codeOf(() => parseAddress(value, 'a'))).toBe('invalid_address')
  })
})

describe('32-byte values', () => {
  test('any case becomes lowercase; parseBytes32 refuses what is not 32 bytes of hex', () => {
    expect(toBytes32(`0x${'AB'.repeat(32)}`)).toBe(`0x${'ab'.repeat(32)}`)
    expect(parseBytes32(`0x${'Cd'.repeat(32)}`, 'id')).toBe(`0x${'cd'.repeat(32)}`)
    expect(codeOf(() => parseBytes32(`0x${'ab'.repeat(31)}`, 'id'))).toBe('invalid_length')
    expect(codeOf(() => parseBytes32('0xnope', 'id'))).toBe('invalid_hex')
  })
})

describe('decoders give the canonical form whatever the input case', () => {
  test('a state from the wire: participants, app definition and assets checksummed; destinations lowercase', () => {
    fc.assert(
      fc.property(arb.state, (s) => {
        const back = stateFromWire(stateToWire(s))
        expect(back.participants.every(isCanonicalAddress)).toBe(true)
        expect(isCanonicalAddress(back.appDefinition)).toBe(true)
        for (const exit of back.outcome) {
          expect(isCanonicalAddress(exit.asset)).toBe(true)
          expect(exit.allocations.every((a) => isCanonicalBytes32(a.destination))).toBe(true)
        }
      }),
      { numRuns: 200 },
    )
  })
})
