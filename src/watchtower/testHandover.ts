// Test fixtures of the watchtower (STYLE §6): the ledger module's actors (go-nitro's test keys), a ledger of
// alice and bob at a given turn signed by whom a test says, and a payment channel alice → irene → bob with
// its postfund and bob's redemption of alice's voucher, built as VirtualPaymentApp.sol reads them. Used by
// the *.test.ts files beside it; never by the watchtower.
import { encodeAbiParameters } from 'viem'
import type { Address, Hex } from '../core/types.js'
import type { State } from '../core/state.js'
import type { SignedState } from '../core/signedState.js'
import type { Actor } from '../protocols/ledger/testLedger.js'
import { alice, bob, irene, CONSENSUS_APP, ETH } from '../protocols/ledger/testLedger.js'
import { signBy, unsigned } from '../core/signedState.js'
import { addressToDestination } from '../core/outcome.js'
import { channelId } from '../core/channelId.js'
import { fixedPart } from '../core/state.js'
import { signVoucher } from '../core/voucher.js'
import { toAddress } from '../core/canonical.js'
import type { Handover, HandoverEntry } from './handover.js'

export { alice, bob, irene, CONSENSUS_APP, ETH }
export const PAYMENT_APP: Address = toAddress('0x00000000000000000000000000000000000000a9')
export const ADJUDICATOR: Address = toAddress('0x00000000000000000000000000000000000000ad')
export const CHAIN_ID = 31337

/** Alice and bob's ledger at `turnNum`, alice 5 − moved, bob 5 + moved. */
export function ledgerState(turnNum: bigint, p: { readonly nonce?: bigint; readonly moved?: bigint; readonly appDefinition?: Address } = {}): State {
  const moved = p.moved ?? turnNum
  return {
    participants: [alice.address, bob.address],
    channelNonce: p.nonce ?? 7n,
    appDefinition: p.appDefinition ?? CONSENSUS_APP,
    challengeDuration: 600,
    outcome: [{ asset: ETH, assetMetadata: { assetType: 0, metadata: '0x' }, allocations: [allocation(alice, 100n - moved), allocation(bob, 100n + moved)] }],
    appData: '0x',
    turnNum,
    isFinal: false,
  }
}

function allocation(who: Actor, amount: bigint) {
  return { destination: addressToDestination(who.address), amount, allocationType: 0, metadata: '0x' as Hex }
}

export function signedBy(state: State, signers: readonly Actor[]): SignedState {
  return signers.reduce((signed, who) => signBy(signed, who.signer), unsigned(state))
}

/** A payment channel alice → irene → bob: its postfund (alice 10, bob 0). */
export function paymentPostfund(nonce = 9n): State {
  return {
    participants: [alice.address, irene.address, bob.address],
    channelNonce: nonce,
    appDefinition: PAYMENT_APP,
    challengeDuration: 600,
    outcome: [{ asset: ETH, assetMetadata: { assetType: 0, metadata: '0x' }, allocations: [allocation(alice, 10n), allocation(bob, 0n)] }],
    appData: '0x',
    turnNum: 1n,
    isFinal: false,
  }
}

/** Bob's redemption of alice's voucher for `amount` (appData abi.encode(amount, (v, r, s))), outcome moved by `moved`. */
export function redemption(postfund: State, amount: bigint, p: { readonly moved?: bigint; readonly voucherBy?: Actor } = {}): State {
  const sig = signVoucher(channelId(fixedPart(postfund)), amount, (p.voucherBy ?? alice).privateKey)
  const appData = encodeAbiParameters([{ type: 'uint256' }, { type: 'uint8' }, { type: 'bytes32' }, { type: 'bytes32' }], [amount, Number.parseInt(sig.slice(130, 132), 16), `0x${sig.slice(2, 66)}`, `0x${sig.slice(66, 130)}`])
  const moved = p.moved ?? amount
  const [payer, payee] = postfund.outcome[0]!.allocations
  return { ...postfund, turnNum: 2n, appData, outcome: [{ ...postfund.outcome[0]!, allocations: [{ ...payer!, amount: payer!.amount - moved }, { ...payee!, amount: payee!.amount + moved }] }] }
}

/** A hand-over of `channels` for the fixtures' chain. */
export function handoverOf(channels: readonly HandoverEntry[]): Handover {
  return { chainId: CHAIN_ID, adjudicator: ADJUDICATOR, virtualPaymentApp: PAYMENT_APP, channels }
}
