// The payee's claim on chain (NITRO-NOTES §2.6): VirtualPaymentApp supports turn 2 when the proof is the postfund
// signed by all and the candidate, signed by the payee alone, carries a voucher of the payer in its appData and
// moves exactly the voucher's amount from the payer's allocation to the payee's (which starts at 0). The payee
// registers it to answer a challenge with an older state (the payer's postfund, which pays the payer back all).
import { encodeAbiParameters } from 'viem'
import type { Hex } from '../../core/types.js'
import type { State } from '../../core/state.js'
import type { Voucher } from '../../core/voucher.js'
import { assert } from '../../core/errors.js'

export const REDEMPTION_TURN = 2n

const VOUCHER_ABI = [
  {
    type: 'tuple',
    components: [
      { name: 'amount', type: 'uint256' },
      { name: 'signature', type: 'tuple', components: [{ name: 'v', type: 'uint8' }, { name: 'r', type: 'bytes32' }, { name: 's', type: 'bytes32' }] },
    ],
  },
] as const

/** abi.encode(VoucherAmountAndSignature): the redemption state's appData. Signatures are r ‖ s ‖ v (DESIGN §3). */
export function voucherAppData(voucher: Voucher): Hex {
  const sig = voucher.signature
  const signature = { r: `0x${sig.slice(2, 66)}` as Hex, s: `0x${sig.slice(66, 130)}` as Hex, v: Number.parseInt(sig.slice(130, 132), 16) }
  return encodeAbiParameters(VOUCHER_ABI, [{ amount: voucher.amount, signature }]) as Hex
}

/** Turn 2 from the postfund: the voucher's amount moved from the payer (allocation 0) to the payee (allocation 1). */
export function redemptionState(postfund: State, voucher: Voucher): State {
  assert(postfund.turnNum === 1n, 'a redemption follows the postfund')
  const exit = postfund.outcome[0]!
  const [payer, payee] = exit.allocations
  assert(payer !== undefined && payee !== undefined && exit.allocations.length === 2, 'a payment channel has two allocations')
  assert(voucher.amount <= payer.amount, 'a voucher pays at most what the payer put in')
  return {
    ...postfund,
    turnNum: REDEMPTION_TURN,
    isFinal: false,
    appData: voucherAppData(voucher),
    outcome: [{ ...exit, allocations: [{ ...payer, amount: payer.amount - voucher.amount }, { ...payee, amount: payee.amount + voucher.amount }] }],
  }
}
