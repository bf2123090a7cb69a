// SignedState: signatures indexed by participant, each checked to recover to its slot's participant.
// Actors' addresses come from viem, their signatures from noble (independent of the code under test).
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js'
import { hexToBytes, toHex } from 'viem'
import type { Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { State } from './state.js'
import type { SignedState } from './signedState.js'
import { addSignature, isFullySigned, isSignedBy, mergeSignatures, participantIndex, signBy, unsigned } from './signedState.js'
import { hashState } from './hashState.js'
import { createSigner } from './signer.js'
import * as arb from '../../test/arbitraries.js'
import { codeOf } from '../../test/hostile.js'
import { toAddress, toBytes32 } from './canonical.js'

const digestOf = (hash: Hex): Uint8Array => keccak_256(concatBytes(utf8ToBytes('\x19Ethereum Signed Message:\n32'), hexToBytes(hash)))

/** noble's signature of a state; `entropy` gives another valid (non-RFC 6979) signature by the same key. */
function nobleSignState(state: State, key: Hex, entropy?: Uint8Array): Hex {
  const recovered = secp256k1.sign(digestOf(hashState(state)), hexToBytes(key), { prehash: false, format: 'recovered', ...(entropy ? { extraEntropy: entropy } : {}) })
  return toHex(concatBytes(recovered.subarray(1), Uint8Array.of(27 + recovered[0]!)))
}

const actor = (key: Hex) => ({ key, address: toAddress(privateKeyToAccount(key).address), signer: createSigner(key) })
const alice = actor(`0x${'a1'.repeat(32)}`)
const bob = actor(`0x${'b0'.repeat(32)}`)
const carol = actor(`0x${'c0'.repeat(32)}`)
const eve = actor(`0x${'e0'.repeat(32)}`)

const state: State = {
  participants: [alice.address, bob.address, carol.address],
  channelNonce: 7n,
  appDefinition: toAddress('0x5e29E5Ab8EF33F050c7cc10B5a0456D975C5F88d'),
  challengeDuration: 86400,
  outcome: [
    {
      asset: toAddress('0x0000000000000000000000000000000000000000'),
      assetMetadata: { assetType: 0, metadata: '0x' },
      allocations: [
        { destination: toBytes32(`0x000000000000000000000000${alice.address.slice(2)}`), amount: 5n, allocationType: 0, metadata: '0x' },
        { destination: toBytes32(`0x000000000000000000000000${bob.address.slice(2)}`), amount: 5n, allocationType: 0, metadata: '0x' },
      ],
    },
  ],
  appData: '0x',
  turnNum: 3n,
  isFinal: false,
}
const sig = { alice: nobleSignState(state, alice.key), bob: nobleSignState(state, bob.key), carol: nobleSignState(state, carol.key), eve: nobleSignState(state, eve.key) }

describe('unsigned', () => {
  test('holds one empty slot per participant', () => {
    const s = unsigned(state)
    expect(s).toEqual({ state, signatures: [null, null, null] })
    expect(isFullySigned(s)).toBe(false)
    expect([0, 1, 2].map((i) => isSignedBy(s, i))).toEqual([false, false, false])
  })
  test.each([
    { name: 'empty participants', bad: { ...state, participants: [] }, code: 'invalid_state' },
    { name: 'turnNum 2^48', bad: { ...state, turnNum: 2n ** 48n }, code: 'out_of_range' },
  ])('refuses a state with $name: $code', ({ bad, code }) => {
    expect(codeOf(() => unsigned(bad))).toBe(code)
  })
})

describe('addSignature', () => {
  test('puts a participant\'s signature in their slot', () => {
    const s = addSignature(unsigned(state), sig.bob)
    expect(s.signatures).toEqual([null, sig.bob, null])
    expect([0, 1, 2].map((i) => isSignedBy(s, i))).toEqual([false, true, false])
    expect(isFullySigned(s)).toBe(false)
  })

  test('all participants: fully signed', () => {
    const s = [sig.carol, sig.alice, sig.bob].reduce(addSignature, unsigned(state))
    expect(s.signatures).toEqual([sig.alice, sig.bob, sig.carol])
    expect(isFullySigned(s)).toBe(true)
  })

  test('a duplicate signature is a no-op (the same object comes back)', () => {
    const once = addSignature(unsigned(state), sig.alice)
    expect(addSignature(once, sig.alice)).toBe(once)
  })

  test('another valid signature by a participant already held is a no-op: the first one stays', () => {
    const once = addSignature(unsigned(state), sig.alice)
    const other = nobleSignState(state, alice.key, new Uint8Array(32).fill(9))
    expect(other).not.toBe(sig.alice)
    expect(addSignature(once, other)).toBe(once)
    expect(addSignature(once, other).signatures[0]).toBe(sig.alice)
  })

  test('does not mutate its input', () => {
    const empty = unsigned(state)
    addSignature(empty, sig.alice)
    expect(empty.signatures).toEqual([null, null, null])
  })

  const highS = (signature: Hex): Hex =>
    `${signature.slice(0, 66)}${(arb.SECP256K1_ORDER - BigInt(`0x${signature.slice(66, 130)}`)).toString(16).padStart(64, '0')}${signature.endsWith('1b') ? '1c' : '1b'}` as Hex

  test.each([
    { name: 'a non-participant\'s signature', bad: () => sig.eve, code: 'not_a_participant' },
    { name: 'a participant\'s signature of another state', bad: () => nobleSignState({ ...state, turnNum: 4n }, alice.key), code: 'not_a_participant' },
    { name: 'a participant\'s challenge-style signature of another hash', bad: () => createSigner(alice.key).signHash(toBytes32(`0x${'11'.repeat(32)}`)), code: 'not_a_participant' },
    { name: 'a high-s signature', bad: () => highS(sig.alice), code: 'invalid_signature' },
    { name: 'v = 29', bad: () => `${sig.alice.slice(0, 130)}1d` as Hex, code: 'invalid_signature' },
    { name: '64 bytes', bad: () => sig.alice.slice(0, 130) as Hex, code: 'invalid_signature' },
    { name: 'non-hex', bad: () => 'signature' as Hex, code: 'invalid_signature' },
  ])('refuses $name: $code', ({ bad, code }) => {
    expect(codeOf(() => addSignature(unsigned(state), bad()))).toBe(code)
  })

  test('property: any order, with duplicates, gives the same signed state', () => {
    const all = [sig.alice, sig.bob, sig.carol]
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 12 }), (order) => {
        const s = order.reduce((acc, i) => addSignature(acc, all[i]!), unsigned(state))
        const held = new Set(order)
        expect(s.signatures).toEqual(all.map((x, i) => (held.has(i) ? x : null)))
        expect(isFullySigned(s)).toBe(held.size === 3)
      }),
      { numRuns: 200 },
    )
  })
})

describe('signBy', () => {
  test('signs with the signer\'s key into its slot, as noble would', () => {
    const s = signBy(unsigned(state), carol.signer)
    expect(s.signatures).toEqual([null, null, sig.carol])
  })
  test('signing twice is a no-op', () => {
    const once = signBy(unsigned(state), bob.signer)
    expect(signBy(once, bob.signer)).toBe(once)
  })
  test('keeps a signature already added', () => {
    const other = nobleSignState(state, alice.key, new Uint8Array(32).fill(3))
    const s = signBy(addSignature(unsigned(state), other), alice.signer)
    expect(s.signatures[0]).toBe(other)
  })
  test('a non-participant signer is our bug: invariant', () => {
    expect(codeOf(() => signBy(unsigned(state), eve.signer))).toBe('invariant')
  })
  test('the three participants sign: fully signed, each slot recovering to its owner', () => {
    const s = [alice, bob, carol].reduce((acc, a) => signBy(acc, a.signer), unsigned(state))
    expect(isFullySigned(s)).toBe(true)
    expect(s.signatures).toEqual([sig.alice, sig.bob, sig.carol])
  })
})

describe('mergeSignatures', () => {
  const withSigs = (...sigs: Hex[]): SignedState => sigs.reduce(addSignature, unsigned(state))

  test('is the union of the signatures', () => {
    const merged = mergeSignatures(withSigs(sig.alice), withSigs(sig.carol))
    expect(merged.signatures).toEqual([sig.alice, null, sig.carol])
    expect(isFullySigned(mergeSignatures(merged, withSigs(sig.bob)))).toBe(true)
  })

  test('a\'s signature wins where both hold one', () => {
    const other = nobleSignState(state, alice.key, new Uint8Array(32).fill(5))
    expect(mergeSignatures(withSigs(sig.alice), withSigs(other)).signatures[0]).toBe(sig.alice)
    expect(mergeSignatures(withSigs(other), withSigs(sig.alice)).signatures[0]).toBe(other)
  })

  test('property: merge is the slot-wise union, commutative on which slots are held', () => {
    const all = [sig.alice, sig.bob, sig.carol]
    fc.assert(
      fc.property(fc.subarray([0, 1, 2]), fc.subarray([0, 1, 2]), (left, right) => {
        const a = withSigs(...left.map((i) => all[i]!))
        const b = withSigs(...right.map((i) => all[i]!))
        const expected = all.map((x, i) => (left.includes(i) || right.includes(i) ? x : null))
        expect(mergeSignatures(a, b).signatures).toEqual(expected)
        expect(mergeSignatures(b, a).signatures).toEqual(expected)
        expect(mergeSignatures(a, a)).toEqual(a)
      }),
      { numRuns: 100 },
    )
  })

  test.each([
    { name: 'another turn', other: { ...state, turnNum: 4n } },
    { name: 'another outcome', other: { ...state, outcome: [] } },
    { name: 'another channel', other: { ...state, channelNonce: 8n } },
    { name: 'isFinal flipped', other: { ...state, isFinal: true } },
  ])('merging signatures of different states ($name) is our bug: invariant', ({ other }) => {
    expect(codeOf(() => mergeSignatures(unsigned(state), unsigned(other)))).toBe('invariant')
  })
})

describe('participantIndex and isSignedBy', () => {
  test('finds a participant; -1 for others', () => {
    expect(participantIndex(state, bob.address)).toBe(1)
    expect(participantIndex(state, carol.address)).toBe(2)
    expect(participantIndex(state, eve.address)).toBe(-1)
  })
  test('an index outside the participants is not signed', () => {
    const s = addSignature(unsigned(state), sig.alice)
    expect(isSignedBy(s, 3)).toBe(false)
    expect(isSignedBy(s, -1)).toBe(false)
  })
})
