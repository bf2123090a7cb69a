// Ethereum signatures (DESIGN §3) on the native binding against @noble/curves and viem: same 65 bytes,
// same recovered address, and every malformed signature refused with code invalid_signature.
import type { Bytes32 } from './types.js'
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js'
import { getAddress, hashMessage, hexToBytes, toHex } from 'viem'
import type { Address, Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import {
  addressOfPublicKey,
  ethSignedMessageDigest,
  parsePrivateKey,
  parseSignature,
  privateKeyToAddress,
  recoverHashSigner,
  signHash,
} from './signatures.js'
import * as arb from '../../test/arbitraries.js'
import { codeOf, hostileValues, settle } from '../../test/hostile.js'
import { toBytes32 } from './canonical.js'

const N = arb.SECP256K1_ORDER
const word = (n: bigint): string => n.toString(16).padStart(64, '0')

/** EIP-191 digest of a 32-byte hash, built here from the spec with noble. */
const digestOf = (hash: Hex): Uint8Array => keccak_256(concatBytes(utf8ToBytes('\x19Ethereum Signed Message:\n32'), hexToBytes(hash)))

/** noble's signature of the EIP-191 digest as r ‖ s ‖ v, v = 27 + recovery id. */
function nobleSign(hash: Hex, key: Hex): Hex {
  const recovered = secp256k1.sign(digestOf(hash), hexToBytes(key), { prehash: false, format: 'recovered' })
  return toHex(concatBytes(recovered.subarray(1), Uint8Array.of(27 + recovered[0]!)))
}

function nobleRecover(hash: Hex, signature: Hex): Address {
  const bytes = hexToBytes(signature)
  const recovered = Uint8Array.from([bytes[64]! - 27, ...bytes.subarray(0, 64)])
  const publicKey = secp256k1.Point.fromBytes(secp256k1.recoverPublicKey(recovered, digestOf(hash), { prehash: false })).toBytes(false)
  return getAddress(toHex(keccak_256(publicKey.subarray(1)).subarray(12)))
}

/** The same signature with s → n − s and v flipped: still valid ECDSA for the same key, but malleable. */
function highS(signature: Hex): Hex {
  const s = BigInt(`0x${signature.slice(66, 130)}`)
  const v = parseInt(signature.slice(130), 16)
  return `${signature.slice(0, 66)}${word(N - s)}${(v === 27 ? 28 : 27).toString(16)}` as Hex
}

const key = '0xcaab404f975b4620747174a75f08d98b4e5a7053b691b41bcfc0d839d48b7634' as Hex
const hash = `0x${'ab'.repeat(32)}` as Hex
const good = signHash(toBytes32(hash), key)
const r = good.slice(2, 66)
const s = good.slice(66, 130)
const v = good.slice(130)

describe('ethSignedMessageDigest', () => {
  test('equals viem\'s hashMessage({ raw }) and the spec built with noble', () => {
    fc.assert(
      fc.property(arb.bytes32, (h) => {
        const digest = ethSignedMessageDigest(toBytes32(h))
        expect(toHex(digest)).toBe(hashMessage({ raw: h }))
        expect(new Uint8Array(digest)).toEqual(digestOf(h))
      }),
      { numRuns: 500 },
    )
  })
  test.each([
    { name: '31 bytes', h: `0x${'11'.repeat(31)}`, code: 'invalid_length' },
    { name: 'non-hex', h: '0xzz', code: 'invalid_hex' },
  ])('rejects a hash of $name with $code', ({ h, code }) => {
    expect(codeOf(() => ethSignedMessageDigest(h as Bytes32))).toBe(code)
  })
})

describe('signHash', () => {
  test('produces the same 65 bytes as noble (RFC 6979, low s, v = 27 + recid)', () => {
    fc.assert(
      fc.property(arb.bytes32, arb.privateKey, (h, k) => {
        expect(signHash(toBytes32(h), k)).toBe(nobleSign(h, k))
      }),
      { numRuns: 200 },
    )
  })
  test('is deterministic, low-s, with v in {27, 28}', () => {
    fc.assert(
      fc.property(arb.bytes32, arb.privateKey, (h, k) => {
        const sig = signHash(toBytes32(h), k)
        expect(signHash(toBytes32(h), k)).toBe(sig)
        expect(BigInt(`0x${sig.slice(66, 130)}`) <= N / 2n).toBe(true)
        expect(['1b', '1c']).toContain(sig.slice(130))
      }),
      { numRuns: 100 },
    )
  })
})

describe('recoverHashSigner', () => {
  test('equals noble\'s recovered address and viem\'s address of the key', () => {
    fc.assert(
      fc.property(arb.bytes32, arb.privateKey, (h, k) => {
        const sig = nobleSign(h, k)
        const signer = recoverHashSigner(toBytes32(h), sig)
        expect(signer).toBe(nobleRecover(h, sig))
        expect(signer).toBe(privateKeyToAccount(k).address)
      }),
      { numRuns: 200 },
    )
  })

  test('a signature of another hash recovers to someone else', () => {
    const other = `0x${'cd'.repeat(32)}` as Hex
    expect(recoverHashSigner(toBytes32(other), good)).not.toBe(privateKeyToAccount(key).address)
    expect(recoverHashSigner(toBytes32(other), good)).toBe(nobleRecover(other, good))
  })

  test('the high-s twin is a valid ECDSA signature (noble, lowS: false) but is refused', () => {
    const twin = highS(good)
    const compact = hexToBytes(twin).subarray(0, 64)
    expect(secp256k1.verify(compact, digestOf(hash), secp256k1.getPublicKey(hexToBytes(key)), { prehash: false, lowS: false })).toBe(true)
    expect(codeOf(() => recoverHashSigner(toBytes32(hash), twin))).toBe('invalid_signature')
  })

  test('an r that is no point\'s x-coordinate recovers nothing: invalid_signature', () => {
    let x = 1n
    for (;; x++) {
      try {
        secp256k1.Point.fromHex(`02${word(x)}`)
      } catch {
        break
      }
    }
    expect(codeOf(() => recoverHashSigner(toBytes32(hash), `0x${word(x)}${s}1b` as Hex))).toBe('invalid_signature')
  })
})

describe('parseSignature', () => {
  test('accepts a good signature, returning r ‖ s and the recovery id', () => {
    const parsed = parseSignature(good)
    expect(toHex(parsed.compact)).toBe(good.slice(0, 130))
    expect(parsed.recid).toBe(parseInt(v, 16) - 27)
  })

  test.each([
    { name: 's = n/2 (the highest low s)', sig: `0x${r}${word(N / 2n)}1b` },
    { name: 'r = n − 1', sig: `0x${word(N - 1n)}${s}1c` },
    { name: 'uppercase hex', sig: `0x${r.toUpperCase()}${s.toUpperCase()}1B` },
  ])('accepts the boundary: $name', ({ sig }) => {
    expect(() => parseSignature(sig)).not.toThrow()
  })

  test.each([
    { name: 'high s (s → n − s, v flipped)', sig: highS(good) },
    { name: 's = n/2 + 1', sig: `0x${r}${word(N / 2n + 1n)}1b` },
    { name: 's = n − 1', sig: `0x${r}${word(N - 1n)}1b` },
    { name: 'r = 0', sig: `0x${word(0n)}${s}${v}` },
    { name: 's = 0', sig: `0x${r}${word(0n)}${v}` },
    { name: 'r = n', sig: `0x${word(N)}${s}${v}` },
    { name: 'r > n', sig: `0x${word(N + 1n)}${s}${v}` },
    { name: 'r = 2^256 − 1', sig: `0x${'ff'.repeat(32)}${s}${v}` },
    { name: 'v = 0', sig: `0x${r}${s}00` },
    { name: 'v = 1', sig: `0x${r}${s}01` },
    { name: 'v = 26', sig: `0x${r}${s}1a` },
    { name: 'v = 29', sig: `0x${r}${s}1d` },
    { name: 'v = 255', sig: `0x${r}${s}ff` },
    { name: '64 bytes (no v)', sig: `0x${r}${s}` },
    { name: '66 bytes', sig: `${good}00` },
    { name: 'empty', sig: '0x' },
    { name: 'odd length', sig: `${good}0` },
    { name: 'non-hex', sig: `0x${'zz'.repeat(65)}` },
    { name: 'no prefix', sig: good.slice(2) },
    { name: 'bytes, not hex', sig: hexToBytes(good) },
    { name: 'null', sig: null },
  ])('rejects $name with invalid_signature', ({ sig }) => {
    expect(codeOf(() => parseSignature(sig))).toBe('invalid_signature')
    expect(codeOf(() => recoverHashSigner(toBytes32(hash), sig as Hex))).toBe('invalid_signature')
  })

  test('hostile values are refused with invalid_signature', () => {
    const failures = hostileValues.flatMap(({ name, value }) => {
      const settled = settle(() => parseSignature(value))
      return settled.kind === 'rejected' && settled.code === 'invalid_signature' ? [] : [`${name}: ${JSON.stringify(settled)}`]
    })
    expect(failures).toEqual([])
  })

  test('accepts every well-formed signature', () => {
    fc.assert(fc.property(arb.signature, (sig) => void parseSignature(sig)), { numRuns: 500 })
  })
})

describe('private keys', () => {
  test('privateKeyToAddress equals viem\'s privateKeyToAccount', () => {
    fc.assert(
      fc.property(arb.privateKey, (k) => {
        expect(privateKeyToAddress(k)).toBe(privateKeyToAccount(k).address)
      }),
      { numRuns: 200 },
    )
  })

  test('addressOfPublicKey is the checksummed keccak of the uncompressed key', () => {
    fc.assert(
      fc.property(arb.privateKey, (k) => {
        const publicKey = secp256k1.getPublicKey(hexToBytes(k), false)
        expect(addressOfPublicKey(publicKey)).toBe(getAddress(toHex(keccak_256(publicKey.subarray(1)).subarray(12))))
      }),
      { numRuns: 100 },
    )
  })

  test.each([
    { name: '31 bytes', k: `0x${'11'.repeat(31)}` },
    { name: '33 bytes', k: `0x${'11'.repeat(33)}` },
    { name: 'zero', k: `0x${word(0n)}` },
    { name: 'n', k: `0x${word(N)}` },
    { name: 'n + 1', k: `0x${word(N + 1n)}` },
    { name: '2^256 − 1', k: `0x${'ff'.repeat(32)}` },
    { name: 'non-hex', k: `0x${'zz'.repeat(32)}` },
    { name: 'empty', k: '' },
    { name: 'a number', k: 1 },
  ])('rejects a key of $name with invalid_private_key', ({ k }) => {
    expect(codeOf(() => parsePrivateKey(k as Hex))).toBe('invalid_private_key')
    expect(codeOf(() => signHash(toBytes32(hash), k as Hex))).toBe('invalid_private_key')
    expect(codeOf(() => privateKeyToAddress(k as Hex))).toBe('invalid_private_key')
  })

  test.each([
    { name: '1', k: `0x${word(1n)}` },
    { name: 'n − 1', k: `0x${word(N - 1n)}` },
  ])('accepts the boundary key $name', ({ k }) => {
    expect(privateKeyToAddress(k as Hex)).toBe(privateKeyToAccount(k as Hex).address)
  })
})
