// A Signer parses its key once and signs like viem's account.signMessage({ raw }).
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { privateKeyToAccount } from 'viem/accounts'
import type { Hex } from 'viem'
import { createSigner } from './signer.js'
import { recoverHashSigner } from './signatures.js'
import * as arb from '../../test/arbitraries.js'
import { codeOf } from '../../test/hostile.js'
import { toBytes32 } from './canonical.js'

describe('createSigner', () => {
  test('has viem\'s address for the key and signs as viem does', async () => {
    await fc.assert(
      fc.asyncProperty(arb.privateKey, arb.bytes32, async (k, h) => {
        const account = privateKeyToAccount(k)
        const signer = createSigner(k)
        expect(signer.address).toBe(account.address)
        const sig = signer.signHash(toBytes32(h))
        expect(sig).toBe(await account.signMessage({ message: { raw: h } }))
        expect(recoverHashSigner(toBytes32(h), sig)).toBe(signer.address)
      }),
      { numRuns: 100 },
    )
  })

  test.each([
    { name: '31 bytes', k: `0x${'11'.repeat(31)}` },
    { name: 'zero', k: `0x${'00'.repeat(32)}` },
    { name: 'the group order n', k: `0x${arb.SECP256K1_ORDER.toString(16)}` },
    { name: 'not hex', k: 'secret' },
  ])('rejects a key of $name with invalid_private_key', ({ k }) => {
    expect(codeOf(() => createSigner(k as Hex))).toBe('invalid_private_key')
  })

  test('a signer rejects a malformed hash with a code', () => {
    const signer = createSigner(`0x${'11'.repeat(32)}`)
    expect(codeOf(() => signer.signHash(toBytes32(`0x${'11'.repeat(31)}`)))).toBe('invalid_length')
  })
})
