// Payments in a virtual channel (DESIGN §5, NITRO-NOTES §2.6): the payer (participant 0) sends vouchers,
// signatures on the CUMULATIVE amount paid; the payee (the last participant) keeps the largest. Vouchers
// touch nobody else and no objective. Simplex: only the payer pays.
import type { Address, Bytes32 } from '../../core/types.js'
import type { State } from '../../core/state.js'
import type { Signer } from '../../core/signer.js'
import type { Voucher } from '../../core/voucher.js'
import { hashVoucher, recoverVoucherSigner } from '../../core/voucher.js'
import { channelId } from '../../core/channelId.js'
import { fixedPart } from '../../core/state.js'
import { RejectedInputError, assert } from '../../core/errors.js'

export class PaymentRefusedError extends RejectedInputError {
  readonly code = 'payment_refused'
}
export class VoucherRefusedError extends RejectedInputError {
  readonly code = 'voucher_refused'
}
export class ChannelClosingError extends RejectedInputError {
  readonly code = 'channel_closing'
}

export interface PaymentChannel {
  readonly channelId: Bytes32
  readonly payer: Address
  readonly payee: Address
  /** What the payer put in (V's first allocation): the most the vouchers can add up to. */
  readonly startingBalance: bigint
  /** The largest cumulative amount: sent (payer) or received (payee). */
  readonly paid: bigint
  readonly voucher: Voucher | null
  /** Set when a defund starts: no more payments. */
  readonly closing: boolean
}

/** A payment channel from V's funded state (the postfund). */
export function newPaymentChannel(v: State): PaymentChannel {
  const n = v.participants.length
  return {
    channelId: channelId(fixedPart(v)),
    payer: v.participants[0]!,
    payee: v.participants[n - 1]!,
    startingBalance: v.outcome[0]!.allocations[0]!.amount,
    paid: 0n,
    voucher: null,
    closing: false,
  }
}

/** Payer: a voucher for `paid + amount`. */
export function pay(pc: PaymentChannel, amount: bigint, signer: Signer): { channel: PaymentChannel; voucher: Voucher } {
  if (signer.address !== pc.payer) throw new PaymentRefusedError('only the payer (participant 0) pays in a payment channel')
  if (pc.closing) throw new ChannelClosingError('the channel is closing', { channelId: pc.channelId })
  if (amount <= 0n) throw new PaymentRefusedError('a payment must be positive', { amount })
  const total = pc.paid + amount
  if (total > pc.startingBalance) throw new PaymentRefusedError('the channel cannot afford this payment', { remaining: pc.startingBalance - pc.paid, amount })
  const voucher: Voucher = { channelId: pc.channelId, amount: total, signature: signer.signHash(hashVoucher(pc.channelId, total)) }
  return { channel: { ...pc, paid: total, voucher }, voucher }
}

/**
 * Payee: keeps a voucher larger than the largest held; a smaller or equal one is a no-op (duplicates and
 * reordering are harmless). Refuses vouchers above the starting balance or not signed by the payer.
 */
export function receiveVoucher(pc: PaymentChannel, voucher: Voucher): PaymentChannel {
  assert(voucher.channelId === pc.channelId, 'voucher routed to its channel')
  if (voucher.amount <= pc.paid) return pc
  if (voucher.amount > pc.startingBalance) throw new VoucherRefusedError('the voucher exceeds what the payer put in', { amount: voucher.amount, startingBalance: pc.startingBalance })
  let signer: string
  try {
    signer = recoverVoucherSigner(voucher.channelId, voucher.amount, voucher.signature)
  } catch (cause) {
    throw new VoucherRefusedError('the voucher signature does not recover', {}, { cause })
  }
  if (signer !== pc.payer) throw new VoucherRefusedError('the voucher is not signed by the payer', { signer })
  return { ...pc, paid: voucher.amount, voucher }
}

export function remaining(pc: PaymentChannel): bigint {
  return pc.startingBalance - pc.paid
}
