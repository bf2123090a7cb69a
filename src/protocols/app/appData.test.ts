// The app channel's commitments (appData.ts): appData is exactly abi.encode(bytes32, uint64, bytes32) and
// the genesis payload the ABI encoding of the definition. Expected bytes are laid out by hand from the
// Solidity ABI spec (static types: one 32-byte word each, uint left-padded), not produced by our encoder.
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { decodeAbiParameters } from 'viem'
import type { Address, Bytes32, Hex } from '../../core/types.js'
import { RejectedInputError } from '../../core/errors.js'
import { bytesToHex } from '../../core/hex.js'
import { hostileValues, codeOf } from '../../../test/hostile.js'
import type { AppDefinition } from './appData.js'
import { checkDefinition, decodeAppData, decodeGenesis, encodeAppData, encodeGenesis, totalDeposits } from './appData.js'
import { alice, bob, carol, counterApp, dave, definitionOf } from './testApps.js'
import { toAddress, toBytes32 } from '../../core/canonical.js'

const head = `0x${'ab'.repeat(32)}` as Bytes32
const stateHash = `0x${'cd'.repeat(32)}` as Bytes32

describe('appData', () => {
  test('is three words: the log head, the event count left-padded to 32 bytes, the app state hash', () => {
    const expected = `0x${'ab'.repeat(32)}${'00'.repeat(31)}05${'cd'.repeat(32)}`
    expect(encodeAppData({ logHead: toBytes32(head), eventCount: 5n, appStateHash: toBytes32(stateHash) })).toBe(expected)
    expect(decodeAppData(expected as Hex)).toEqual({ logHead: head, eventCount: 5n, appStateHash: stateHash })
  })

  test('the largest event count is 2^64 - 1 in the low 8 bytes', () => {
    const max = 2n ** 64n - 1n
    const encoded = encodeAppData({ logHead: toBytes32(head), eventCount: max, appStateHash: toBytes32(stateHash) })
    expect(encoded.slice(66, 130)).toBe(`${'00'.repeat(24)}${'ff'.repeat(8)}`)
    expect(decodeAppData(encoded).eventCount).toBe(max)
  })

  test('decode(encode(x)) = x, in lowercase, and uppercase hex decodes to the same value', () => {
    const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => toBytes32(bytesToHex(b)))
    fc.assert(
      fc.property(bytes32, fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), bytes32, (logHead, eventCount, appStateHash) => {
        const data = { logHead, eventCount, appStateHash }
        const encoded = encodeAppData(data)
        expect(decodeAppData(encoded)).toEqual(data)
        expect(decodeAppData(`0x${encoded.slice(2).toUpperCase()}`)).toEqual(data)
        // An independent decoder (viem's) agrees with the layout.
        expect(decodeAbiParameters([{ type: 'bytes32' }, { type: 'uint64' }, { type: 'bytes32' }], encoded)).toEqual([logHead, eventCount, appStateHash])
      }),
    )
  })

  const good = encodeAppData({ logHead: toBytes32(head), eventCount: 5n, appStateHash: toBytes32(stateHash) })
  test.each([
    { name: 'empty', bytes: '0x' },
    { name: 'one byte short', bytes: good.slice(0, -2) },
    { name: 'one byte over', bytes: `${good}00` },
    { name: 'odd length', bytes: good.slice(0, -1) },
    { name: 'not hex', bytes: `0x${'zz'.repeat(96)}` },
    { name: 'no prefix', bytes: good.slice(2) },
    { name: 'dirty padding above the uint64', bytes: `${good.slice(0, 66)}01${good.slice(68)}` },
    { name: 'a count of 2^64', bytes: `${good.slice(0, 66)}${'00'.repeat(23)}01${'00'.repeat(8)}${good.slice(130)}` },
  ])('decode refuses $name (invalid_app_data)', ({ bytes }) => {
    expect(codeOf(() => decodeAppData(bytes as Hex))).toBe('invalid_app_data')
  })

  test.each([
    { name: 'a negative count', data: { logHead: head, eventCount: -1n, appStateHash: stateHash } },
    { name: 'a count of 2^64', data: { logHead: head, eventCount: 2n ** 64n, appStateHash: stateHash } },
    { name: 'a short log head', data: { logHead: '0xab' as Bytes32, eventCount: 1n, appStateHash: stateHash } },
    { name: 'a state hash that is not hex', data: { logHead: head, eventCount: 1n, appStateHash: 'nope' as Bytes32 } },
  ])('encode refuses $name (invalid_app_data)', ({ data }) => {
    expect(codeOf(() => encodeAppData(data))).toBe('invalid_app_data')
  })

  test('every hostile value is refused with a typed error', () => {
    for (const { name, value } of hostileValues) {
      let error: unknown
      try {
        decodeAppData(value as Hex)
      } catch (e) {
        error = e
      }
      expect(error, name).toBeInstanceOf(RejectedInputError)
    }
  })
})

describe('genesis payload', () => {
  const definition = definitionOf(counterApp, [alice, bob, carol, dave], { deposits: [1n, 2n, 3n, 2n ** 255n], funding: 'direct', moveTimeout: 2 ** 48 - 1 })

  test('decode(encode(d)) = d, and the payload is the ABI encoding of the definition field by field', () => {
    const payload = encodeGenesis(definition)
    const decoded = decodeGenesis(payload)
    expect(decoded).toEqual({ ...definition, params: Buffer.from(definition.params) })
    const fields = decodeAbiParameters(
      [{ type: 'address[]' }, { type: 'uint64' }, { type: 'address' }, { type: 'uint48' }, { type: 'bytes32' }, { type: 'address' }, { type: 'uint256[]' }, { type: 'bytes' }, { type: 'uint8' }, { type: 'uint48' }],
      bytesToHex(payload),
    )
    expect(fields).toEqual([
      definition.fixed.participants,
      definition.fixed.channelNonce,
      definition.fixed.appDefinition,
      definition.fixed.challengeDuration,
      definition.appId,
      definition.asset,
      definition.deposits,
      bytesToHex(definition.params),
      1,
      2 ** 48 - 1,
    ])
    expect(totalDeposits(decoded)).toBe(6n + 2n ** 255n)
  })

  test('addresses in any case encode to the same payload', () => {
    const lower: AppDefinition = { ...definition, fixed: { ...definition.fixed, participants: definition.fixed.participants.map((p) => p.toLowerCase() as Address) } }
    expect(encodeGenesis(lower)).toEqual(encodeGenesis(definition))
  })

  const n = (count: number) => Array.from({ length: count }, (_, i) => toAddress(`0x${(i + 1).toString(16).padStart(40, '0')}`))
  const withFixed = (fixed: Partial<AppDefinition['fixed']>): AppDefinition => ({ ...definition, fixed: { ...definition.fixed, ...fixed } })
  test.each([
    { name: 'one participant', d: { ...withFixed({ participants: n(1) }), deposits: [1n], params: Uint8Array.of(1, 5) } },
    { name: '17 participants', d: { ...withFixed({ participants: n(17) }), deposits: n(17).map(() => 1n), params: Uint8Array.of(17, 5) } },
    { name: 'a participant twice', d: withFixed({ participants: [alice.address, bob.address, carol.address, alice.address] }) },
    { name: 'a bad participant address', d: withFixed({ participants: [alice.address, bob.address, carol.address, '0x12' as Address] }) },
    { name: 'a nonce of 2^64', d: withFixed({ channelNonce: 2n ** 64n }) },
    { name: 'three deposits for four', d: { ...definition, deposits: [1n, 2n, 3n] } },
    { name: 'a negative deposit', d: { ...definition, deposits: [1n, 2n, 3n, -1n] } },
    { name: 'deposits over 2^256 in total', d: { ...definition, deposits: [2n ** 255n, 2n ** 255n, 0n, 0n] } },
    { name: 'empty params', d: { ...definition, params: new Uint8Array(0) } },
    { name: 'params for another participant count', d: { ...definition, params: Uint8Array.of(2, 10) } },
    { name: 'params over the limit', d: { ...definition, params: Uint8Array.from([4, ...new Uint8Array(64 * 1024)]) } },
    { name: 'params that are not bytes', d: { ...definition, params: [4, 10] as unknown as Uint8Array } },
    { name: 'an unknown funding', d: { ...definition, funding: 'bank' as unknown as AppDefinition['funding'] } },
    { name: 'ledger funding for four participants', d: { ...definition, funding: 'ledger' as const } },
    { name: 'a negative move timeout', d: { ...definition, moveTimeout: -1 } },
    { name: 'a move timeout of 2^48 seconds', d: { ...definition, moveTimeout: 2 ** 48 } },
    { name: 'a fractional move timeout', d: { ...definition, moveTimeout: 1.5 } },
    { name: 'a short app id', d: { ...definition, appId: '0x01' as Bytes32 } },
    { name: 'a bad asset', d: { ...definition, asset: '0xnope' as Address } },
  ])('refuses a definition with $name (invalid_definition)', ({ d }) => {
    expect(codeOf(() => checkDefinition(d))).toBe('invalid_definition')
    expect(codeOf(() => encodeGenesis(d))).toBe('invalid_definition')
  })

  const payload = encodeGenesis(definition)
  test.each([
    { name: 'no bytes', bytes: new Uint8Array(0) },
    { name: 'a truncated payload', bytes: payload.subarray(0, payload.length - 1) },
    { name: 'a trailing byte', bytes: Uint8Array.from([...payload, 0]) },
    { name: 'dirty padding of the uint64 nonce', bytes: Uint8Array.from(payload).fill(1, 32, 33) },
    { name: 'a nonce word over uint64', bytes: Uint8Array.from(payload).fill(1, 32 + 23, 32 + 24) },
    { name: 'an offset that points elsewhere', bytes: Uint8Array.from(payload).fill(0, 0, 32) },
    { name: 'funding 3 (there are three kinds)', bytes: Uint8Array.from(payload).fill(3, 8 * 32 + 31, 8 * 32 + 32) },
  ])('decode refuses $name (invalid_definition)', ({ bytes }) => {
    expect(codeOf(() => decodeGenesis(bytes))).toBe('invalid_definition')
  })

  test('random bytes decode to a valid definition or are refused with invalid_definition', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 700 }), fc.nat(payload.length - 1), fc.integer({ min: 1, max: 255 }), (noise, at, xor) => {
        for (const bytes of [noise, Uint8Array.from(payload, (b, i) => (i === at ? b ^ xor : b))]) {
          try {
            const d = decodeGenesis(bytes)
            expect(encodeGenesis(d)).toEqual(Buffer.from(bytes))
          } catch (error) {
            expect((error as { code?: string }).code).toBe('invalid_definition')
          }
        }
      }),
    )
  })
})
