// Vouchers (DESIGN §3): hash against viem's abi.encode(bytes32, uint256) + noble keccak; signatures against viem.
import type { Bytes32 } from './types.js'
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { encodeAbiParameters, hexToBytes, parseAbiParameters, toHex } from 'viem'
import type { Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { hashVoucher, recoverVoucherSigner, signVoucher } from './voucher.js'
import * as arb from '../../test/arbitraries.js'
import { codeOf } from '../../test/hostile.js'
import { toBytes32 } from './canonical.js'

const referenceVoucherHash = (id: Hex, amount: bigint): Hex =>
  toHex(keccak_256(hexToBytes(encodeAbiParameters(parseAbiParameters('bytes32 channelId, uint256 amount'), [id, amount]))))

const id = '0x3f9dfeabcc41d1618dd0711102018ab6c1a1d7c25111a425401c2e524eb073a2' as Hex
const key = '0xcaab404f975b4620747174a75f08d98b4e5a7053b691b41bcfc0d839d48b7634' as Hex
const external = `0x${'00'.repeat(12)}${'11'.repeat(20)}` as Hex

describe('hashVoucher', () => {
  test('equals keccak256 of viem\'s abi.encode(bytes32 channelId, uint256 amount)', () => {
    fc.assert(
      fc.property(arb.channelId, arb.amount, (c, a) => {
        expect(hashVoucher(toBytes32(c), a)).toBe(referenceVoucherHash(c, a))
      }),
      { numRuns: 1000 },
    )
  })

  test.each([
    { name: 'a channel id that looks external', c: external, a: 1n, code: 'invalid_channel_id' },
    { name: 'an all-zero channel id', c: `0x${'00'.repeat(32)}`, a: 1n, code: 'invalid_channel_id' },
    { name: 'a channel id of 31 bytes', c: `0x${'11'.repeat(31)}`, a: 1n, code: 'invalid_length' },
    { name: 'a channel id of 33 bytes', c: `0x${'11'.repeat(33)}`, a: 1n, code: 'invalid_length' },
    { name: 'a non-hex channel id', c: '0xzz', a: 1n, code: 'invalid_hex' },
    { name: 'amount -1', c: id, a: -1n, code: 'out_of_range' },
    { name: 'amount 2^256', c: id, a: 2n ** 256n, code: 'out_of_range' },
    { name: 'amount as a number', c: id, a: 1, code: 'out_of_range' },
  ])('rejects $name with $code (hash, sign and recover alike)', ({ c, a, code }) => {
    expect(codeOf(() => hashVoucher(c as Bytes32, a as bigint))).toBe(code)
    expect(codeOf(() => signVoucher(c as Bytes32, a as bigint, key))).toBe(code)
    expect(codeOf(() => recoverVoucherSigner(c as Bytes32, a as bigint, `0x${'11'.repeat(64)}1b`))).toBe(code)
  })

  test('accepts the limits: amount 0 and 2^256 − 1', () => {
    expect(hashVoucher(toBytes32(id), 0n)).toBe(referenceVoucherHash(id, 0n))
    expect(hashVoucher(toBytes32(id), arb.UINT256_MAX)).toBe(referenceVoucherHash(id, arb.UINT256_MAX))
  })
})

describe('signVoucher and recoverVoucherSigner', () => {
  test('sign as viem\'s signMessage({ raw: voucherHash }) does, and recover the payer', async () => {
    await fc.assert(
      fc.asyncProperty(arb.channelId, arb.amount, arb.privateKey, async (c, a, k) => {
        const account = privateKeyToAccount(k)
        const sig = signVoucher(toBytes32(c), a, k)
        expect(sig).toBe(await account.signMessage({ message: { raw: referenceVoucherHash(c, a) } }))
        expect(recoverVoucherSigner(toBytes32(c), a, sig)).toBe(account.address)
      }),
      { numRuns: 100 },
    )
  })

  test('a voucher for a different amount recovers to someone else', () => {
    const sig = signVoucher(toBytes32(id), 10n, key)
    expect(recoverVoucherSigner(toBytes32(id), 11n, sig)).not.toBe(privateKeyToAccount(key).address)
  })

  test('a high-s voucher signature is refused', () => {
    const sig = signVoucher(toBytes32(id), 10n, key)
    const s = BigInt(`0x${sig.slice(66, 130)}`)
    const twin = `${sig.slice(0, 66)}${(arb.SECP256K1_ORDER - s).toString(16).padStart(64, '0')}${sig.endsWith('1b') ? '1c' : '1b'}` as Hex
    expect(codeOf(() => recoverVoucherSigner(toBytes32(id), 10n, twin))).toBe('invalid_signature')
  })
})
