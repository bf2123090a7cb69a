// Which held states the adjudicator would accept as supported (NITRO-NOTES §2.6, §5.1), checked before the
// watchtower holds them. A held state replaces an older one (custody.ts), so one that the chain would refuse
// must never get in: it would push out the state that could have answered a challenge. The checks are the
// adjudicator's own, done here with our native crypto:
//   - every signature recovers to the participant at its index (SignedState's invariant, signedState.ts);
//   - without proof, the candidate is signed by every participant (the consensus app; the payment app at
//     turn 0 or 1, or a final state);
//   - with a proof, only for the payment app (contracts/VirtualPaymentApp.sol): the proof is the postfund
//     (turn 1) signed by all, the candidate the redemption (turn 2) signed by the payee (the last participant),
//     holding a voucher by the payer (participant 0) whose amount moves from the payer's allocation to the
//     payee's, nothing else changed.
// Which app a channel runs is the caller's to say (`virtualPaymentApp`): the entry alone does not know it.
import type { Address, Bytes32, Signature } from '../core/types.js'
import type { SignedState } from '../core/signedState.js'
import type { State } from '../core/state.js'
import { fixedPart } from '../core/state.js'
import { channelId } from '../core/channelId.js'
import { recoverStateSigner } from '../core/signState.js'
import { recoverVoucherSigner } from '../core/voucher.js'
import { parseSignature } from '../core/signatures.js'
import { bytesToHex, trustedHexToBytes } from '../core/hex.js'
import { InvalidSignatureError } from '../core/errors.js'
import { MAX_PROOF_STATES } from './limits.js'
import { UnsupportedStateError } from './errors.js'

/** How a candidate is supported: signed by all, or the payment app's redemption of a voucher. */
export type SupportKind = 'unanimous' | 'redemption'

const POSTFUND_TURN = 1n
const REDEMPTION_TURN = 2n

/**
 * Checks that the candidate (with its proof) is supported whatever the app: signatures, and one of the two
 * shapes above. Returns which one, and the channel's id.
 * @throws InvalidSignatureError (`invalid_signature`) for a signature that is not its participant's;
 *   UnsupportedStateError (`unsupported_state`) for anything but the two shapes.
 */
export function checkSupport(candidate: SignedState, proof: readonly SignedState[], field: string): { readonly kind: SupportKind; readonly channelId: Bytes32 } {
  const id = channelId(fixedPart(candidate.state))
  if (proof.length > MAX_PROOF_STATES) throw new UnsupportedStateError(`${field}.proof has ${proof.length} states; the adjudicator's apps take at most ${MAX_PROOF_STATES}`, { field: `${field}.proof` })
  proof.forEach((signed, i) => {
    if (channelId(fixedPart(signed.state)) !== id) throw new UnsupportedStateError(`${field}.proof[${i}] is a state of another channel than the candidate`, { field: `${field}.proof[${i}]`, channelId: id })
  })
  checkSignatures(candidate, `${field}.candidate`)
  proof.forEach((signed, i) => checkSignatures(signed, `${field}.proof[${i}]`))

  const postfund = proof[0]
  if (postfund === undefined) {
    if (!isSignedByAll(candidate)) throw new UnsupportedStateError(`${field}.candidate is not signed by every participant, and there is no proof`, { field: `${field}.candidate`, channelId: id, signatureCount: signatureCount(candidate) })
    return { kind: 'unanimous', channelId: id }
  }
  if (postfund.state.turnNum !== POSTFUND_TURN || !isSignedByAll(postfund)) {
    throw new UnsupportedStateError(`${field}.proof[0] must be the postfund (turn 1) signed by every participant`, { field: `${field}.proof[0]`, channelId: id, turnNum: postfund.state.turnNum })
  }
  const payee = candidate.state.participants.length - 1
  if (candidate.state.turnNum !== REDEMPTION_TURN || payee < 1 || candidate.signatures[payee] === null) {
    throw new UnsupportedStateError(`${field}.candidate must be the redemption (turn 2) signed by the last participant`, { field: `${field}.candidate`, channelId: id, turnNum: candidate.state.turnNum })
  }
  checkRedemption(id, postfund.state, candidate.state, `${field}.candidate`)
  return { kind: 'redemption', channelId: id }
}

/**
 * What the app itself adds: the payment app supports a unanimous state only at turn 0 or 1 or when final,
 * and only the payment app takes a proof.
 * @throws UnsupportedStateError (`unsupported_state`)
 */
export function checkAppSupport(kind: SupportKind, candidate: State, virtualPaymentApp: Address, field: string): void {
  const paymentApp = candidate.appDefinition === virtualPaymentApp
  if (kind === 'redemption' && !paymentApp) {
    throw new UnsupportedStateError(`${field} has a proof, which only the payment app (${virtualPaymentApp}) takes; this channel's app is ${candidate.appDefinition}`, { field, appDefinition: candidate.appDefinition })
  }
  if (kind === 'unanimous' && paymentApp && candidate.turnNum > POSTFUND_TURN && !candidate.isFinal) {
    throw new UnsupportedStateError(`${field} is a payment channel state at turn ${candidate.turnNum}: the payment app supports a state signed by all only at turn 0 or 1, or final`, { field, turnNum: candidate.turnNum })
  }
}

/** Every signature present must recover to the participant at its index. */
function checkSignatures(signed: SignedState, field: string): void {
  signed.signatures.forEach((signature, i) => {
    if (signature === null) return
    const signer = recoverStateSigner(signed.state, signature)
    const participant = signed.state.participants[i]
    if (signer !== participant) {
      throw new InvalidSignatureError(`${field}.signatures[${i}] is not a signature of participant ${i} (${participant ?? 'none'}) on this state`, { field: `${field}.signatures[${i}]`, recovered: signer, participant })
    }
  })
}

function isSignedByAll(signed: SignedState): boolean {
  return signed.signatures.length === signed.state.participants.length && signed.signatures.every((s) => s !== null)
}

function signatureCount(signed: SignedState): number {
  return signed.signatures.filter((s) => s !== null).length
}

/**
 * The payment app's redemption rule (VirtualPaymentApp.sol `_voucherAmount`, `_checkRedemption`): appData is
 * abi.encode(uint256 amount, (uint8 v, bytes32 r, bytes32 s)), a voucher by participant 0 for this channel;
 * one asset, two allocations, only their amounts changed: the payer's down by `amount`, the payee's up by it.
 */
function checkRedemption(id: Bytes32, postfund: State, redemption: State, field: string): void {
  const refuse = (why: string) => {
    throw new UnsupportedStateError(`${field} is not a valid redemption: ${why}`, { field, channelId: id })
  }
  const appData = trustedHexToBytes(redemption.appData)
  if (appData.length !== 128) return refuse('appData is not a voucher (amount, v, r, s)')
  const amount = BigInt(bytesToHex(appData.subarray(0, 32)))
  const v = BigInt(bytesToHex(appData.subarray(32, 64)))
  if (v !== 27n && v !== 28n) return refuse(`the voucher's v is ${v}`)
  const signature: Signature = `${bytesToHex(appData.subarray(64, 128))}${v.toString(16)}`
  try {
    parseSignature(signature, `${field}.appData`)
    if (recoverVoucherSigner(id, amount, signature) !== redemption.participants[0]) return refuse('the voucher is not signed by the payer (participant 0)')
  } catch (error) {
    if (error instanceof InvalidSignatureError) return refuse(`the voucher's signature is malformed (${error.summary})`)
    throw error
  }
  const [before, after] = [postfund.outcome, redemption.outcome]
  if (before.length !== 1 || after.length !== 1) return refuse('a payment channel has one asset')
  const [was, now] = [before[0]!, after[0]!]
  if (was.asset !== now.asset || was.assetMetadata.assetType !== now.assetMetadata.assetType || was.assetMetadata.metadata !== now.assetMetadata.metadata) return refuse('the asset changed')
  if (was.allocations.length !== 2 || now.allocations.length !== 2) return refuse('a payment channel has two allocations')
  const [payerWas, payeeWas] = [was.allocations[0]!, was.allocations[1]!]
  const [payerNow, payeeNow] = [now.allocations[0]!, now.allocations[1]!]
  for (const [a, b] of [[payerWas, payerNow], [payeeWas, payeeNow]] as const) {
    if (a.destination !== b.destination || a.allocationType !== b.allocationType || a.metadata !== b.metadata) return refuse('an allocation changed other than its amount')
  }
  if (payerWas.amount < amount || payerNow.amount !== payerWas.amount - amount) return refuse('the payer\'s allocation is not reduced by the voucher\'s amount')
  if (payeeNow.amount !== payeeWas.amount + amount) return refuse('the payee\'s allocation is not increased by the voucher\'s amount')
}
