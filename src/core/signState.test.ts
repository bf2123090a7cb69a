// Signing states and challenges (DESIGN §3): the native path against noble and viem on random states and keys.
import type { Bytes32 } from './types.js'
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js'
import { encodeAbiParameters, getAddress, hexToBytes, parseAbiParameters, toHex } from 'viem'
import type { Address, Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { State } from './state.js'
import { hashState } from './hashState.js'
import { hashChallenge, recoverChallengeSigner, recoverStateSigner, signChallenge, signState } from './signState.js'
import * as arb from '../../test/arbitraries.js'
import { codeOf } from '../../test/hostile.js'
import { toBytes32 } from './canonical.js'

const N = arb.SECP256K1_ORDER
const digestOf = (hash: Hex): Uint8Array => keccak_256(concatBytes(utf8ToBytes('\x19Ethereum Signed Message:\n32'), hexToBytes(hash)))

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

const referenceChallengeHash = (stateHash: Hex): Hex =>
  toHex(keccak_256(hexToBytes(encodeAbiParameters(parseAbiParameters('bytes32 stateHash, string what'), [stateHash, 'forceMove']))))

const someState: State = { ...fc.sample(arb.state, { numRuns: 1, seed: 42 })[0]!, turnNum: 5n }
const key = '0xcaab404f975b4620747174a75f08d98b4e5a7053b691b41bcfc0d839d48b7634' as Hex

describe('signState', () => {
  test('produces the same 65 bytes as noble over keccak256("\\x19Ethereum Signed Message:\\n32" ‖ hashState)', () => {
    fc.assert(
      fc.property(arb.state, arb.privateKey, (s, k) => {
        expect(signState(s, k)).toBe(nobleSign(hashState(s), k))
      }),
      { numRuns: 200 },
    )
  })

  test('recoverStateSigner equals noble\'s recovered address and viem\'s privateKeyToAccount', () => {
    fc.assert(
      fc.property(arb.state, arb.privateKey, (s, k) => {
        const sig = signState(s, k)
        const signer = recoverStateSigner(s, sig)
        expect(signer).toBe(nobleRecover(hashState(s), sig))
        expect(signer).toBe(privateKeyToAccount(k).address)
      }),
      { numRuns: 200 },
    )
  })

  test('a signature does not carry over to the next turn', () => {
    const sig = signState(someState, key)
    const next: State = { ...someState, turnNum: someState.turnNum + 1n }
    expect(recoverStateSigner(next, sig)).not.toBe(privateKeyToAccount(key).address)
  })

  test.each([
    { name: 'high s (s → n − s, v flipped)', tamper: (sig: Hex) => `${sig.slice(0, 66)}${(N - BigInt(`0x${sig.slice(66, 130)}`)).toString(16).padStart(64, '0')}${sig.endsWith('1b') ? '1c' : '1b'}` },
    { name: 'v = 0', tamper: (sig: Hex) => `${sig.slice(0, 130)}00` },
    { name: 'v = 1', tamper: (sig: Hex) => `${sig.slice(0, 130)}01` },
    { name: 'v = 26', tamper: (sig: Hex) => `${sig.slice(0, 130)}1a` },
    { name: 'v = 29', tamper: (sig: Hex) => `${sig.slice(0, 130)}1d` },
    { name: 'truncated', tamper: (sig: Hex) => sig.slice(0, -2) },
  ])('recoverStateSigner refuses $name with invalid_signature', ({ tamper }) => {
    expect(codeOf(() => recoverStateSigner(someState, tamper(signState(someState, key)) as Hex))).toBe('invalid_signature')
  })

  test.each([
    { name: 'an invalid key', run: () => signState(someState, `0x${'00'.repeat(32)}`), code: 'invalid_private_key' },
    { name: 'an invalid state', run: () => signState({ ...someState, turnNum: 2n ** 48n }, key), code: 'out_of_range' },
    { name: 'recovery on an invalid state', run: () => recoverStateSigner({ ...someState, participants: [] }, signState(someState, key)), code: 'invalid_state' },
  ])('$name: $code', ({ run, code }) => {
    expect(codeOf(run)).toBe(code)
  })
})

describe('challenges', () => {
  test('hashChallenge equals keccak256 of viem\'s abi.encode(bytes32, string "forceMove")', () => {
    fc.assert(
      fc.property(arb.bytes32, (h) => {
        expect(hashChallenge(toBytes32(h))).toBe(referenceChallengeHash(h))
      }),
      { numRuns: 300 },
    )
  })

  test('signChallenge equals noble, and recoverChallengeSigner gives the key\'s address', () => {
    fc.assert(
      fc.property(arb.state, arb.privateKey, (s, k) => {
        const sig = signChallenge(s, k)
        expect(sig).toBe(nobleSign(referenceChallengeHash(hashState(s)), k))
        expect(recoverChallengeSigner(s, sig)).toBe(privateKeyToAccount(k).address)
      }),
      { numRuns: 100 },
    )
  })

  test('a state signature is not a challenge signature', () => {
    expect(recoverChallengeSigner(someState, signState(someState, key))).not.toBe(privateKeyToAccount(key).address)
  })

  test.each([
    { name: '31 bytes', h: `0x${'11'.repeat(31)}`, code: 'invalid_length' },
    { name: 'non-hex', h: 'forceMove', code: 'invalid_hex' },
  ])('hashChallenge rejects $name with $code', ({ h, code }) => {
    expect(codeOf(() => hashChallenge(h as Bytes32))).toBe(code)
  })
})
