// Native keccak256 against @noble/hashes' keccak_256 (as noble-hashes' test/keccak.test.ts checks node:crypto).
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { keccak_256, sha3_256 } from '@noble/hashes/sha3.js'
import { bytesToHex as nobleHex, concatBytes, utf8ToBytes } from '@noble/hashes/utils.js'
import { keccak256, keccak256Bytes } from './keccak.js'

const hex = (bytes: Uint8Array): string => `0x${nobleHex(bytes)}`

describe('keccak256', () => {
  // Published Keccak-256 (not SHA3-256) digests, as used by Ethereum (e.g. the empty code hash).
  test.each([
    { name: "''", input: '', digest: '0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470' },
    { name: "'abc'", input: 'abc', digest: '0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45' },
  ])('known digest of $name', ({ input, digest }) => {
    expect(keccak256(utf8ToBytes(input))).toBe(digest)
  })

  test('is Keccak padding, not SHA3-256', () => {
    expect(keccak256(new Uint8Array(0))).not.toBe(hex(sha3_256(new Uint8Array(0))))
  })

  test('equals noble keccak_256 on random bytes, across the 136-byte rate boundary', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }), fc.integer({ min: 130, max: 420 }).map((n) => new Uint8Array(n).fill(7))), (bytes) => {
        expect(keccak256(bytes)).toBe(hex(keccak_256(bytes)))
        expect(new Uint8Array(keccak256Bytes(bytes))).toEqual(keccak_256(bytes))
      }),
      { numRuns: 2000 },
    )
  })

  test('several parts hash as their concatenation', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 6 }), (parts) => {
        expect(keccak256(...parts)).toBe(hex(keccak_256(concatBytes(...parts))))
      }),
      { numRuns: 500 },
    )
  })

  test('hashes a view, not its whole buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 2, maxLength: 300 }), fc.nat(), (bytes, n) => {
        const start = 1 + (n % (bytes.length - 1))
        expect(keccak256(bytes.subarray(start))).toBe(hex(keccak_256(bytes.slice(start))))
      }),
    )
  })

  test('a digest is not overwritten by the next hash (the sponge is reused)', () => {
    const first = keccak256Bytes(utf8ToBytes('first'))
    const copy = Uint8Array.from(first)
    keccak256Bytes(utf8ToBytes('second'))
    expect(new Uint8Array(first)).toEqual(copy)
    expect(copy).toEqual(keccak_256(utf8ToBytes('first')))
  })

  test('large input (1 MiB)', () => {
    const bytes = new Uint8Array(1024 * 1024).map((_, i) => i & 0xff)
    expect(keccak256(bytes)).toBe(hex(keccak_256(bytes)))
  })
})
