// The native secp256k1 binding against @noble/curves (an independent implementation).
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { hexToBytes } from '@noble/hashes/utils.js'
import { KeccakState, secp256k1Native } from './native.js'
import { SECP256K1_ORDER, privateKey } from '../../test/arbitraries.js'

const keyBytes = (k: bigint): Uint8Array => hexToBytes(k.toString(16).padStart(64, '0'))

describe('native bindings', () => {
  test('KeccakState is a native sponge: rate 1088 / capacity 512 gives Keccak-256', () => {
    const sponge = new KeccakState()
    sponge.initialize(1088, 512)
    sponge.absorb(Buffer.from('abc'))
    expect(new Uint8Array(sponge.squeeze(32))).toEqual(keccak_256(Buffer.from('abc')))
  })

  test.each([
    { name: '0', key: 0n, valid: false },
    { name: '1', key: 1n, valid: true },
    { name: 'n - 1', key: SECP256K1_ORDER - 1n, valid: true },
    { name: 'n', key: SECP256K1_ORDER, valid: false },
    { name: '2^256 - 1', key: 2n ** 256n - 1n, valid: false },
  ])('privateKeyVerify($name) is $valid', ({ key, valid }) => {
    expect(secp256k1Native.privateKeyVerify(keyBytes(key))).toBe(valid)
  })

  test('publicKeyCreate equals noble getPublicKey (uncompressed)', () => {
    fc.assert(
      fc.property(privateKey, (key) => {
        const sk = hexToBytes(key.slice(2))
        expect(new Uint8Array(secp256k1Native.publicKeyCreate(sk, false))).toEqual(secp256k1.getPublicKey(sk, false))
      }),
      { numRuns: 100 },
    )
  })

  test('ecdsaSign equals noble (RFC 6979, low s) and ecdsaRecover inverts it', () => {
    fc.assert(
      fc.property(privateKey, fc.uint8Array({ minLength: 32, maxLength: 32 }), (key, digest) => {
        const sk = hexToBytes(key.slice(2))
        const { signature, recid } = secp256k1Native.ecdsaSign(digest, sk)
        const expected = secp256k1.sign(digest, sk, { prehash: false, format: 'recovered' })
        expect(recid).toBe(expected[0])
        expect(new Uint8Array(signature)).toEqual(expected.subarray(1))
        expect(new Uint8Array(secp256k1Native.ecdsaRecover(signature, recid, digest, false))).toEqual(secp256k1.getPublicKey(sk, false))
      }),
      { numRuns: 100 },
    )
  })
})
