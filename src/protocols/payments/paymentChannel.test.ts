// Payments in a virtual channel (NITRO-NOTES §2.6): alice (payer, participant 0) pays bob (payee, last) in
// V through irene with vouchers on the cumulative amount. A voucher's signer is recovered with
// recoverVoucherSigner and compared with the address viem derives from the payer's key, independently of
// our signer. Refusals are tables of named cases with their error codes; a fast-check property delivers a
// payer's vouchers in any order, with duplicates, and the payee must end with the largest.
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import type { Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { Address, Bytes32 } from '../../core/types.js'
import type { State } from '../../core/state.js'
import type { Signer } from '../../core/signer.js'
import type { Voucher } from '../../core/voucher.js'
import { createSigner } from '../../core/signer.js'
import { channelId } from '../../core/channelId.js'
import { hashVoucher, recoverVoucherSigner } from '../../core/voucher.js'
import type { PaymentChannel } from './paymentChannel.js'
import { newPaymentChannel, pay, receiveVoucher, remaining } from './paymentChannel.js'
import { codeOf } from '../../../test/hostile.js'
import { toAddress, toBytes32 } from '../../core/canonical.js'

interface Actor {
  readonly address: Address
  readonly signer: Signer
}
const actor = (key: Hex): Actor => ({ address: toAddress(privateKeyToAccount(key).address), signer: createSigner(key) })
const alice = actor('0x2d999770f7b5d49b694080f987b82bbc9fc9ac2b4dcc10b0f8aba7d700f69c6d')
const bob = actor('0x0279651921cd800ac560c21ceea27aab0107b67daf436cdd25ce84cad30159b4')
const irene = actor('0xfebb3b74b0b52d0976f6571d555f4ac8b91c308dfa25c7b58d1e6a7c3f50c781')
const mallory = actor(`0x${'33'.repeat(32)}`)

const ETH: Address = toAddress('0x0000000000000000000000000000000000000000')
const VIRTUAL_PAYMENT_APP: Address = toAddress('0x1f9fb7a9e14f3fb6e5b9e8a9fd2b0cc1ce3f7a21')
const STARTING_BALANCE = 10n

const destinationOf = (a: Address): Bytes32 => toBytes32(`0x${'0'.repeat(24)}${a.slice(2)}`)
const simple = (destination: Bytes32, amount: bigint) => ({ destination, amount, allocationType: 0, metadata: '0x' as Hex })

/** V's funded state (postfund): alice puts in STARTING_BALANCE, bob nothing. */
const FUNDED: State = {
  participants: [alice.address, irene.address, bob.address],
  channelNonce: 11n,
  appDefinition: VIRTUAL_PAYMENT_APP,
  challengeDuration: 3_600,
  outcome: [{ asset: ETH, assetMetadata: { assetType: 0, metadata: '0x' }, allocations: [simple(destinationOf(alice.address), STARTING_BALANCE), simple(destinationOf(bob.address), 0n)] }],
  appData: '0x',
  turnNum: 1n,
  isFinal: false,
}
const V = channelId({ participants: FUNDED.participants, channelNonce: 11n, appDefinition: VIRTUAL_PAYMENT_APP, challengeDuration: 3_600 })

const opened = (): PaymentChannel => newPaymentChannel(FUNDED)
/** A voucher for a cumulative `amount` signed by `by` (the payer, unless a test says otherwise). */
const voucher = (amount: bigint, by: Actor = alice): Voucher => ({ channelId: V, amount, signature: by.signer.signHash(hashVoucher(V, amount)) })
const paidBy = (amounts: readonly bigint[]) => amounts.reduce((pc, amount) => pay(pc, amount, alice.signer).channel, opened())

describe('newPaymentChannel', () => {
  test('alice pays, bob is paid, the starting balance is her allocation, nothing paid yet', () => {
    expect(opened()).toEqual({ channelId: V, payer: alice.address, payee: bob.address, startingBalance: STARTING_BALANCE, paid: 0n, voucher: null, closing: false })
    expect(remaining(opened())).toBe(STARTING_BALANCE)
  })

  test("the starting balance is alice's allocation alone, whatever bob's holds", () => {
    const [a, b] = FUNDED.outcome[0]!.allocations
    const withBob = { ...FUNDED, outcome: [{ ...FUNDED.outcome[0]!, allocations: [a!, { ...b!, amount: 4n }] }] }
    expect(newPaymentChannel(withBob).startingBalance).toBe(STARTING_BALANCE)
  })
})

describe('pay', () => {
  test('signs the cumulative amount: 3 then 4 gives vouchers for 3 and 7, each recovering to alice', () => {
    const first = pay(opened(), 3n, alice.signer)
    expect(first.voucher.channelId).toBe(V)
    expect(first.voucher.amount).toBe(3n)
    expect(recoverVoucherSigner(V, 3n, first.voucher.signature)).toBe(alice.address)
    expect(first.channel).toEqual({ ...opened(), paid: 3n, voucher: first.voucher })

    const second = pay(first.channel, 4n, alice.signer)
    expect(second.voucher.amount).toBe(7n)
    expect(recoverVoucherSigner(V, 7n, second.voucher.signature)).toBe(alice.address)
    // a voucher signs its own amount: it does not recover to alice for any other
    expect(recoverVoucherSigner(V, 4n, second.voucher.signature)).not.toBe(alice.address)
    expect(second.channel.paid).toBe(7n)
    expect(remaining(second.channel)).toBe(3n)
  })

  test('may spend the whole starting balance, to the last unit', () => {
    const all = pay(paidBy([4n]), STARTING_BALANCE - 4n, alice.signer)
    expect(all.voucher.amount).toBe(STARTING_BALANCE)
    expect(remaining(all.channel)).toBe(0n)
  })

  test.each([
    { name: 'bob (the payee) pays', channel: opened, amount: 1n, signer: bob.signer, code: 'payment_refused' },
    { name: 'irene (an intermediary) pays', channel: opened, amount: 1n, signer: irene.signer, code: 'payment_refused' },
    { name: 'a stranger pays', channel: opened, amount: 1n, signer: mallory.signer, code: 'payment_refused' },
    { name: 'a zero amount', channel: opened, amount: 0n, signer: alice.signer, code: 'payment_refused' },
    { name: 'a negative amount', channel: opened, amount: -1n, signer: alice.signer, code: 'payment_refused' },
    { name: 'more than the starting balance', channel: opened, amount: STARTING_BALANCE + 1n, signer: alice.signer, code: 'payment_refused' },
    { name: 'one more than what remains (7 paid, 4 more)', channel: () => paidBy([3n, 4n]), amount: 4n, signer: alice.signer, code: 'payment_refused' },
    { name: 'anything once all is paid', channel: () => paidBy([STARTING_BALANCE]), amount: 1n, signer: alice.signer, code: 'payment_refused' },
    { name: 'a payment while the channel closes', channel: () => ({ ...paidBy([3n]), closing: true }), amount: 1n, signer: alice.signer, code: 'channel_closing' },
  ])('refuses $name with $code', ({ channel, amount, signer, code }) => {
    const before = channel()
    expect(codeOf(() => pay(before, amount, signer))).toBe(code)
  })
})

describe('receiveVoucher', () => {
  test('bob keeps the largest voucher; a smaller or equal one is a no-op', () => {
    const three = receiveVoucher(opened(), voucher(3n))
    expect(three).toEqual({ ...opened(), paid: 3n, voucher: voucher(3n) })
    const seven = receiveVoucher(three, voucher(7n))
    expect(seven).toEqual({ ...opened(), paid: 7n, voucher: voucher(7n) })
    expect(receiveVoucher(seven, voucher(3n))).toBe(seven)
    expect(receiveVoucher(seven, voucher(7n))).toBe(seven)
    expect(receiveVoucher(seven, voucher(0n))).toBe(seven)
  })

  test('accepts what alice paid, and a voucher for the whole starting balance', () => {
    const { voucher: v } = pay(paidBy([2n]), 5n, alice.signer)
    expect(receiveVoucher(opened(), v).paid).toBe(7n)
    expect(receiveVoucher(opened(), voucher(STARTING_BALANCE)).paid).toBe(STARTING_BALANCE)
  })

  test('a voucher no larger than the one held is a no-op without checking its signature (NITRO-NOTES §2.6)', () => {
    const seven = receiveVoucher(opened(), voucher(7n))
    expect(receiveVoucher(seven, voucher(5n, mallory))).toBe(seven)
  })

  const highS = `0x${'11'.repeat(32)}${'ff'.repeat(32)}1b` as Hex
  test.each([
    { name: 'more than the starting balance', v: () => voucher(STARTING_BALANCE + 1n), code: 'voucher_refused' },
    { name: 'signed by bob himself', v: () => voucher(3n, bob), code: 'voucher_refused' },
    { name: 'signed by irene', v: () => voucher(3n, irene), code: 'voucher_refused' },
    { name: 'signed by a stranger', v: () => voucher(3n, mallory), code: 'voucher_refused' },
    { name: "alice's signature of another amount", v: () => ({ ...voucher(3n), amount: 4n }), code: 'voucher_refused' },
    { name: "alice's signature for another channel", v: () => ({ channelId: V, amount: 3n, signature: alice.signer.signHash(hashVoucher(toBytes32(`0x${'ab'.repeat(32)}`), 3n)) }), code: 'voucher_refused' },
    { name: 'a malformed (high-s) signature', v: () => ({ channelId: V, amount: 3n, signature: highS }), code: 'voucher_refused' },
  ])('refuses a voucher $name with $code', ({ v, code }) => {
    expect(codeOf(() => receiveVoucher(opened(), v()))).toBe(code)
    // also when it would raise what bob holds
    expect(codeOf(() => receiveVoucher(receiveVoucher(opened(), voucher(2n)), v()))).toBe(code)
  })

  test('a voucher routed to the wrong channel is our own bug (invariant)', () => {
    const other: Voucher = { channelId: toBytes32(`0x${'ab'.repeat(32)}`), amount: 3n, signature: alice.signer.signHash(hashVoucher(toBytes32(`0x${'ab'.repeat(32)}`), 3n)) }
    expect(codeOf(() => receiveVoucher(opened(), other))).toBe('invariant')
  })

  test('property: any order and duplication of alice’s vouchers leaves bob with the largest delivered', () => {
    const increments = fc.array(fc.bigInt({ min: 1n, max: 3n }), { minLength: 1, maxLength: 5 }) // up to 15 in all: alice stops at the balance
    fc.assert(
      fc.property(increments, fc.array(fc.nat(), { minLength: 1, maxLength: 12 }), (steps, picks) => {
        // alice pays while she can; the cumulative amounts are the running sums, worked out here
        let pc = opened()
        let total = 0n
        const sentVouchers: Voucher[] = []
        for (const amount of steps) {
          if (total + amount > STARTING_BALANCE) break
          const paid = pay(pc, amount, alice.signer)
          total += amount
          expect(paid.voucher.amount).toBe(total)
          sentVouchers.push(paid.voucher)
          pc = paid.channel
        }
        const delivered = picks.map((i) => sentVouchers[i % sentVouchers.length]!)
        const bobs = delivered.reduce(receiveVoucher, opened())
        const largest = delivered.reduce((max, v) => (v.amount > max ? v.amount : max), 0n)
        expect(bobs.paid).toBe(largest)
        expect(bobs.voucher).toEqual(sentVouchers.find((v) => v.amount === largest))
      }),
      { numRuns: 100 },
    )
  })
})
