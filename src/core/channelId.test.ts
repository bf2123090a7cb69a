// channelId = keccak256(abi.encode(address[], uint256, address, uint256)) (DESIGN §3), against viem + noble.
import type { Address } from './types.js'
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { encodeAbiParameters, hexToBytes, parseAbiParameters, toHex } from 'viem'
import type { Hex } from 'viem'
import { keccak_256 } from '@noble/hashes/sha3.js'
import type { FixedPart } from './state.js'
import { channelId, checkChannelId } from './channelId.js'
import * as arb from '../../test/arbitraries.js'
import { codeOf, hostileValues, outcomeOf, settle } from '../../test/hostile.js'
import { toAddress } from './canonical.js'

const referenceChannelId = (f: FixedPart): Hex =>
  toHex(
    keccak_256(
      hexToBytes(
        encodeAbiParameters(parseAbiParameters('address[] participants, uint256 channelNonce, address appDefinition, uint256 challengeDuration'), [
          f.participants,
          f.channelNonce,
          f.appDefinition,
          BigInt(f.challengeDuration),
        ]),
      ),
    ),
  )

const fixed: FixedPart = {
  participants: [toAddress('0xF5A1BB5607C9D079E46d1B3Dc33f257d937b43BD'), toAddress('0x760bf27cd45036a6C486802D30B5D90CfFBE31FE')],
  channelNonce: 37140676580n,
  appDefinition: toAddress('0x5e29E5Ab8EF33F050c7cc10B5a0456D975C5F88d'),
  challengeDuration: 60,
}

describe('channelId', () => {
  test('equals keccak256 of viem\'s abi.encode of the fixed part', () => {
    fc.assert(
      fc.property(arb.fixedPart, (f) => {
        expect(channelId(f)).toBe(referenceChannelId(f))
      }),
      { numRuns: 500 },
    )
  })

  test('DESIGN §3 vector', () => {
    expect(channelId(fixed)).toBe('0x3f9dfeabcc41d1618dd0711102018ab6c1a1d7c25111a425401c2e524eb073a2')
  })

  test('does not depend on the address case', () => {
    const lower = { ...fixed, participants: fixed.participants.map((p) => p.toLowerCase() as Address), appDefinition: fixed.appDefinition.toLowerCase() as Address }
    expect(channelId(lower)).toBe(channelId(fixed))
  })

  test.each([
    { name: 'empty participants', f: { ...fixed, participants: [] }, code: 'invalid_state' },
    { name: '256 participants', f: { ...fixed, participants: Array.from({ length: 256 }, () => fixed.participants[0]!) }, code: 'invalid_length' },
    { name: 'channelNonce 2^64', f: { ...fixed, channelNonce: 2n ** 64n }, code: 'out_of_range' },
    { name: 'challengeDuration 0.5', f: { ...fixed, challengeDuration: 0.5 }, code: 'out_of_range' },
    { name: 'challengeDuration -60', f: { ...fixed, challengeDuration: -60 }, code: 'out_of_range' },
    { name: 'appDefinition of 21 bytes', f: { ...fixed, appDefinition: `0x${'11'.repeat(21)}` }, code: 'invalid_address' },
  ])('rejects $name with $code', ({ f, code }) => {
    expect(codeOf(() => channelId(f as FixedPart))).toBe(code)
  })

  test.each([
    { name: 'bad EIP-55 checksum', participant: '0xF5A1BB5607C9D079E46d1B3Dc33f257d937b43Bd' },
    { name: 'all-uppercase hex', participant: `0x${'AB'.repeat(20)}` },
  ])('a participant with a $name gets an id or a typed error, never a viem error', ({ participant }) => {
    outcomeOf(() => channelId({ ...fixed, participants: [participant as Address] }))
  })
})

describe('checkChannelId', () => {
  test('accepts every channel id and every computed id', () => {
    fc.assert(fc.property(arb.channelId, (id) => void checkChannelId(id)))
    fc.assert(fc.property(arb.fixedPart, (f) => void checkChannelId(channelId(f))), { numRuns: 100 })
  })

  test.each([
    { name: 'an external destination (12 zero bytes then an address)', id: `0x${'00'.repeat(12)}${'11'.repeat(20)}`, code: 'invalid_channel_id' },
    { name: 'all zero', id: `0x${'00'.repeat(32)}`, code: 'invalid_channel_id' },
    { name: '31 bytes', id: `0x${'11'.repeat(31)}`, code: 'invalid_length' },
    { name: '33 bytes', id: `0x${'11'.repeat(33)}`, code: 'invalid_length' },
    { name: 'non-hex', id: `0x${'zz'.repeat(32)}`, code: 'invalid_hex' },
    { name: 'null', id: null, code: 'invalid_hex' },
  ])('rejects $name with $code', ({ id, code }) => {
    expect(codeOf(() => checkChannelId(id))).toBe(code)
  })

  test('any external destination looks external', () => {
    fc.assert(fc.property(arb.externalDestination, (d) => void expect(codeOf(() => checkChannelId(d))).toBe('invalid_channel_id')))
  })

  test('11 zero bytes then anything non-zero is a channel id', () => {
    expect(() => checkChannelId(`0x${'00'.repeat(11)}01${'00'.repeat(20)}`)).not.toThrow()
  })

  test('hostile values are refused with a code', () => {
    const untyped = hostileValues.flatMap(({ name, value }) => {
      const s = settle(() => checkChannelId(value))
      return s.kind === 'untyped' ? [`${name}: ${s.error}`] : []
    })
    expect(untyped).toEqual([])
  })
})
