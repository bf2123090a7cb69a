// Wire forms (ADR 0003): round trips through the MessagePack envelope, every rejection with its code, the
// hostile catalogue at every position, and fuzzed encodings. Decoders are edges: typed errors only.
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { getAddress } from 'viem'
import type { Hex } from 'viem'
import type { State } from './state.js'
import type { SignedState } from './signedState.js'
import type { Voucher } from './voucher.js'
import { signedStateFromWire, signedStateToWire, stateFromWire, stateToWire, voucherFromWire, voucherToWire } from './wire.js'
import { decodeEnvelope, encodeEnvelope } from './codec.js'
import { hashState } from './hashState.js'
import { hashVoucher } from './voucher.js'
import { parseSignature } from './signatures.js'
import * as arb from '../../test/arbitraries.js'
import { codeOf, outcomeOf, replaceAt, walkHostile } from '../../test/hostile.js'
import type { Path } from '../../test/hostile.js'
import { toAddress, toBytes32 } from './canonical.js'

const N = arb.SECP256K1_ORDER
const word = (n: bigint): string => n.toString(16).padStart(64, '0')
const bytesOf = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex.replace(/^0x/, ''), 'hex'))

/** x → toWire → envelope bytes → decodeEnvelope → fromWire: what a peer receives. */
function viaWire<T>(kind: string, toWire: (x: T) => unknown, fromWire: (v: unknown) => T, x: T): T {
  return fromWire(decodeEnvelope(encodeEnvelope(kind, toWire(x))).body)
}
/** A wire value sent through the envelope, then decoded by `fromWire`. */
const throughEnvelope = (fromWire: (v: unknown) => unknown, value: unknown) => () => fromWire(decodeEnvelope(encodeEnvelope('k', value)).body)

const alice = toAddress('0xF5A1BB5607C9D079E46d1B3Dc33f257d937b43BD')
const bob = toAddress('0x760bf27cd45036a6C486802D30B5D90CfFBE31FE')
const state: State = {
  participants: [alice, bob],
  channelNonce: 37140676580n,
  appDefinition: toAddress('0x5e29E5Ab8EF33F050c7cc10B5a0456D975C5F88d'),
  challengeDuration: 60,
  outcome: [
    {
      asset: toAddress('0x0000000000000000000000000000000000000000'),
      assetMetadata: { assetType: 0, metadata: '0x' },
      allocations: [{ destination: toBytes32(`0x000000000000000000000000${alice.slice(2).toLowerCase()}`), amount: 5n, allocationType: 0, metadata: '0xab' }],
    },
  ],
  appData: '0x1234',
  turnNum: 5n,
  isFinal: false,
}
const goodSig = `0x${word(1234567n)}${word(7654321n)}1b` as Hex
const channelId = toBytes32('0x3f9dfeabcc41d1618dd0711102018ab6c1a1d7c25111a425401c2e524eb073a2')
const W = stateToWire(state)
const SW = signedStateToWire({ state, signatures: [goodSig, null] })
const VW = voucherToWire({ channelId, amount: 10n, signature: goodSig })

const signedState: fc.Arbitrary<SignedState> = fc
  .tuple(arb.state, fc.array(fc.option(arb.signature, { nil: null }), { minLength: 4, maxLength: 4 }))
  .map(([s, sigs]) => ({ state: s, signatures: sigs.slice(0, s.participants.length) }))
const voucher: fc.Arbitrary<Voucher> = fc.record({ channelId: arb.channelId, amount: arb.amount, signature: arb.signature })

describe('round trips through the envelope', () => {
  test('stateFromWire(stateToWire(s)) = s up to hex case; addresses come back checksummed', () => {
    fc.assert(
      fc.property(arb.state, (s) => {
        const back = viaWire('state', stateToWire, stateFromWire, s)
        expect(arb.lowerCaseDeep(back)).toEqual(arb.lowerCaseDeep(s))
        for (const a of [...back.participants, back.appDefinition, ...back.outcome.map((e) => e.asset)]) expect(a).toBe(getAddress(a))
        expect(hashState(back)).toBe(hashState(s))
      }),
      { numRuns: 500 },
    )
  })

  test('signedStateFromWire(signedStateToWire(x)) = x up to hex case', () => {
    fc.assert(
      fc.property(signedState, (x) => {
        expect(arb.lowerCaseDeep(viaWire('signedState', signedStateToWire, signedStateFromWire, x))).toEqual(arb.lowerCaseDeep(x))
      }),
      { numRuns: 300 },
    )
  })

  test('voucherFromWire(voucherToWire(v)) = v up to hex case', () => {
    fc.assert(
      fc.property(voucher, (v) => {
        expect(viaWire('voucher', voucherToWire, voucherFromWire, v)).toEqual(arb.lowerCaseDeep(v))
      }),
      { numRuns: 500 },
    )
  })

  test('byte strings travel as bin: a state with 2 participants fits in a few hundred bytes', () => {
    expect(encodeEnvelope('state', W).length).toBeLessThan(300)
  })
})

describe('stateFromWire rejections', () => {
  const at = (path: Path, value: unknown): unknown => replaceAt(W, path, value)
  test.each([
    { name: 'a map, not a tuple', value: {}, code: 'codec' },
    { name: 'a 7-tuple', value: (W as unknown[]).slice(0, 7), code: 'codec' },
    { name: 'a 9-tuple', value: [...(W as unknown[]), 0], code: 'codec' },
    { name: 'participants not a list', value: at([0], bytesOf(alice)), code: 'codec' },
    { name: 'a participant as a hex string', value: at([0, 0], alice), code: 'codec' },
    { name: 'a participant of 19 bytes', value: at([0, 0], new Uint8Array(19)), code: 'invalid_length' },
    { name: 'a participant of 21 bytes', value: at([0, 0], new Uint8Array(21)), code: 'invalid_length' },
    { name: 'no participants', value: at([0], []), code: 'invalid_state' },
    { name: '256 participants', value: at([0], Array.from({ length: 256 }, () => bytesOf(alice))), code: 'invalid_length' },
    { name: 'channelNonce 2^64', value: at([1], 2n ** 64n), code: 'out_of_range' },
    { name: 'channelNonce as a number', value: at([1], 7), code: 'out_of_range' },
    { name: 'appDefinition of 21 bytes', value: at([2], new Uint8Array(21)), code: 'invalid_length' },
    { name: 'challengeDuration 1.5', value: at([3], 1.5), code: 'out_of_range' },
    { name: 'challengeDuration -1', value: at([3], -1), code: 'out_of_range' },
    { name: 'challengeDuration as a bigint', value: at([3], 60n), code: 'out_of_range' },
    { name: 'challengeDuration 2^48', value: at([3], 2 ** 48), code: 'out_of_range' },
    { name: 'outcome not a list', value: at([4], {}), code: 'codec' },
    { name: 'an exit as a 3-tuple', value: at([4, 0], [new Uint8Array(20), 0, new Uint8Array(0)]), code: 'codec' },
    { name: 'an asset of 19 bytes', value: at([4, 0, 0], new Uint8Array(19)), code: 'invalid_length' },
    { name: 'assetType 256', value: at([4, 0, 1], 256), code: 'out_of_range' },
    { name: 'asset metadata as a hex string', value: at([4, 0, 2], '0x'), code: 'codec' },
    { name: 'allocations not a list', value: at([4, 0, 3], 1), code: 'codec' },
    { name: 'an allocation as a 3-tuple', value: at([4, 0, 3, 0], [new Uint8Array(32), 1n, 0]), code: 'codec' },
    { name: 'a destination of 31 bytes', value: at([4, 0, 3, 0, 0], new Uint8Array(31)), code: 'invalid_length' },
    { name: 'amount -1', value: at([4, 0, 3, 0, 1], -1n), code: 'out_of_range' },
    { name: 'amount 2^256', value: at([4, 0, 3, 0, 1], 2n ** 256n), code: 'out_of_range' },
    { name: 'amount as a number', value: at([4, 0, 3, 0, 1], 5), code: 'out_of_range' },
    { name: 'allocationType as a string', value: at([4, 0, 3, 0, 2], '0'), code: 'out_of_range' },
    { name: 'allocation metadata over 4 KiB', value: at([4, 0, 3, 0, 3], new Uint8Array(4097)), code: 'invalid_length' },
    { name: '65 assets', value: at([4], Array.from({ length: 65 }, () => (W as any)[4][0])), code: 'invalid_length' },
    { name: 'appData as a hex string', value: at([5], '0x'), code: 'codec' },
    { name: 'appData over 64 KiB', value: at([5], new Uint8Array(64 * 1024 + 1)), code: 'invalid_length' },
    { name: 'turnNum 2^48', value: at([6], 2n ** 48n), code: 'out_of_range' },
    { name: 'turnNum as a number', value: at([6], 5), code: 'out_of_range' },
    { name: 'isFinal as 1', value: at([7], 1), code: 'invalid_state' },
    { name: 'isFinal null', value: at([7], null), code: 'invalid_state' },
  ])('refuses $name with $code (directly and through the envelope)', ({ value, code }) => {
    expect(codeOf(() => stateFromWire(value))).toBe(code)
    expect(codeOf(throughEnvelope(stateFromWire, value))).toBe(code)
  })

  // STYLE §4: check the size caps first, then parse. Parsing an entry costs a keccak (checksumAddress):
  // a 1 MB message of ~47,000 participants costs ~0.75 s of CPU before it is refused.
  test('a participants list over the cap is refused by its length before any entry is parsed', () => {
    const over = at([0], Array.from({ length: 300 }, () => 'not bytes'))
    expect(codeOf(() => stateFromWire(over))).toBe('invalid_length')
  })
})

describe('signedStateFromWire rejections', () => {
  const at = (path: Path, value: unknown): unknown => replaceAt(SW, path, value)
  test.each([
    { name: 'a 1-tuple', value: [W], code: 'codec' },
    { name: 'a 3-tuple', value: [W, [null, null], null], code: 'codec' },
    { name: 'an invalid state', value: at([0, 6], 2n ** 48n), code: 'out_of_range' },
    { name: 'signatures not a list', value: at([1], null), code: 'codec' },
    { name: 'one slot too few', value: at([1], [null]), code: 'invalid_length' },
    { name: 'one slot too many', value: at([1], [null, null, null]), code: 'invalid_length' },
    { name: 'a signature as a hex string', value: at([1, 0], goodSig), code: 'codec' },
    { name: 'a signature of 64 bytes', value: at([1, 0], bytesOf(goodSig).subarray(0, 64)), code: 'invalid_length' },
    { name: 'a signature of 66 bytes', value: at([1, 0], Uint8Array.from([...bytesOf(goodSig), 0])), code: 'invalid_length' },
    { name: 'a high-s signature', value: at([1, 0], bytesOf(`${word(1234567n)}${word(N - 7654321n)}1c`)), code: 'invalid_signature' },
    { name: 'v = 29', value: at([1, 0], bytesOf(`${word(1234567n)}${word(7654321n)}1d`)), code: 'invalid_signature' },
    { name: 'v = 0', value: at([1, 0], bytesOf(`${word(1234567n)}${word(7654321n)}00`)), code: 'invalid_signature' },
    { name: 'r = 0', value: at([1, 0], bytesOf(`${word(0n)}${word(7654321n)}1b`)), code: 'invalid_signature' },
    { name: 's = 0', value: at([1, 0], bytesOf(`${word(1n)}${word(0n)}1b`)), code: 'invalid_signature' },
    { name: 'r = n', value: at([1, 0], bytesOf(`${word(N)}${word(1n)}1b`)), code: 'invalid_signature' },
  ])('refuses $name with $code (directly and through the envelope)', ({ value, code }) => {
    expect(codeOf(() => signedStateFromWire(value))).toBe(code)
    expect(codeOf(throughEnvelope(signedStateFromWire, value))).toBe(code)
  })

  test('accepts no signatures at all', () => {
    expect(signedStateFromWire(at([1], [null, null])).signatures).toEqual([null, null])
  })
})

describe('voucherFromWire rejections', () => {
  const at = (path: Path, value: unknown): unknown => replaceAt(VW, path, value)
  test.each([
    { name: 'a 2-tuple', value: (VW as unknown[]).slice(0, 2), code: 'codec' },
    { name: 'a 4-tuple', value: [...(VW as unknown[]), null], code: 'codec' },
    { name: 'a map', value: { channelId, amount: 1n, signature: goodSig }, code: 'codec' },
    { name: 'a channel id that looks external', value: at([0], bytesOf(`${'00'.repeat(12)}${'11'.repeat(20)}`)), code: 'invalid_channel_id' },
    { name: 'an all-zero channel id', value: at([0], new Uint8Array(32)), code: 'invalid_channel_id' },
    { name: 'a channel id of 31 bytes', value: at([0], new Uint8Array(31).fill(1)), code: 'invalid_length' },
    { name: 'a channel id of 33 bytes', value: at([0], new Uint8Array(33).fill(1)), code: 'invalid_length' },
    { name: 'a channel id as a hex string', value: at([0], channelId), code: 'codec' },
    { name: 'amount -1', value: at([1], -1n), code: 'out_of_range' },
    { name: 'amount 2^256', value: at([1], 2n ** 256n), code: 'out_of_range' },
    { name: 'amount as a number', value: at([1], 10), code: 'out_of_range' },
    { name: 'amount as a decimal string', value: at([1], '10'), code: 'out_of_range' },
    { name: 'a signature of 64 bytes', value: at([2], bytesOf(goodSig).subarray(0, 64)), code: 'invalid_length' },
    { name: 'a signature as a hex string', value: at([2], goodSig), code: 'codec' },
    { name: 'a high-s signature', value: at([2], bytesOf(`${word(1234567n)}${word(N - 7654321n)}1c`)), code: 'invalid_signature' },
    { name: 'v = 1', value: at([2], bytesOf(`${word(1234567n)}${word(7654321n)}01`)), code: 'invalid_signature' },
    { name: 'v = 26', value: at([2], bytesOf(`${word(1234567n)}${word(7654321n)}1a`)), code: 'invalid_signature' },
  ])('refuses $name with $code (directly and through the envelope)', ({ value, code }) => {
    expect(codeOf(() => voucherFromWire(value))).toBe(code)
    expect(codeOf(throughEnvelope(voucherFromWire, value))).toBe(code)
  })
})

describe('hostile walk through the wire decoders', () => {
  const statePaths: Path[] = [[], [0], [0, 0], [0, 1], [1], [2], [3], [4], [4, 0], [4, 0, 0], [4, 0, 1], [4, 0, 2], [4, 0, 3], [4, 0, 3, 0], [4, 0, 3, 0, 0], [4, 0, 3, 0, 1], [4, 0, 3, 0, 2], [4, 0, 3, 0, 3], [5], [6], [7]]
  const cases = [
    ...statePaths.map((path) => ({ decoder: 'stateFromWire', path, base: W, decode: stateFromWire, use: (s: unknown) => hashState(s as State) })),
    ...[[], [0], [1], [1, 0], [1, 1], [0, 0, 0], [0, 4, 0, 3, 0, 1]].map((path) => ({
      decoder: 'signedStateFromWire',
      path,
      base: SW,
      decode: signedStateFromWire,
      use: (s: unknown) => hashState((s as SignedState).state),
    })),
    ...[[], [0], [1], [2]].map((path) => ({
      decoder: 'voucherFromWire',
      path,
      base: VW,
      decode: voucherFromWire,
      use: (v: unknown) => [hashVoucher((v as Voucher).channelId, (v as Voucher).amount), parseSignature((v as Voucher).signature)],
    })),
  ].map((c) => ({ ...c, at: c.path.join('.') || '(root)' }))

  test.each(cases)('$decoder at $at: a typed error, or accepted and usable', ({ base, path, decode, use }) => {
    expect(walkHostile(base, path, decode, use)).toEqual([])
  })
})

describe('fuzz: mutated wire encodings', () => {
  const mutation = fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), cut: fc.option(fc.nat(), { freq: 4 }) })
  function mutate(bytes: Uint8Array, mutations: readonly { at: number; byte: number; cut: number | null }[]): Uint8Array {
    let out = Uint8Array.from(bytes)
    for (const m of mutations) {
      out[m.at % out.length] = m.byte
      if (m.cut !== null) out = out.subarray(0, m.cut % (out.length + 1))
      if (out.length === 0) break
    }
    return out
  }
  const run = (bytes: Uint8Array, decode: (v: unknown) => unknown, use: (x: unknown) => unknown): void => {
    const decoded = outcomeOf(() => decode(decodeEnvelope(bytes).body))
    if (decoded.kind === 'value') use(decoded.value)
  }

  test('state: a value or a typed rejection', () => {
    fc.assert(
      fc.property(arb.state, fc.array(mutation, { minLength: 1, maxLength: 3 }), (s, ms) => {
        run(mutate(encodeEnvelope('state', stateToWire(s)), ms), stateFromWire, (x) => hashState(x as State))
      }),
      { numRuns: 1000 },
    )
  })

  test('signed state: a value or a typed rejection', () => {
    fc.assert(
      fc.property(signedState, fc.array(mutation, { minLength: 1, maxLength: 3 }), (x, ms) => {
        run(mutate(encodeEnvelope('signedState', signedStateToWire(x)), ms), signedStateFromWire, (y) => hashState((y as SignedState).state))
      }),
      { numRuns: 1000 },
    )
  })

  test('voucher: a value or a typed rejection', () => {
    fc.assert(
      fc.property(voucher, fc.array(mutation, { minLength: 1, maxLength: 3 }), (v, ms) => {
        run(mutate(encodeEnvelope('voucher', voucherToWire(v)), ms), voucherFromWire, (y) => hashVoucher((y as Voucher).channelId, (y as Voucher).amount))
      }),
      { numRuns: 1000 },
    )
  })
})
