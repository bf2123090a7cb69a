// Typed errors of the chain layer, shared by every ChainService implementation.
import { OperatingError } from '../core/errors.js'

/** The adjudicator's revert strings (ours where marked), stable so the viem ChainService can map to them. */
export const RevertReason = {
  externalDestination: 'Deposit to external destination',
  heldChanged: 'held != expectedHeld',
  /** Ours: the contract accepts a zero deposit. */
  zeroDeposit: 'Deposit of nothing',
  /** ETH: the node refuses the transaction; ERC20: the token's transferFrom reverts. */
  insufficientBalance: 'insufficient balance',
  channelFinalized: 'Channel finalized.',
  notFinal: 'State must be final',
  invalidSignature: 'Invalid signature',
  notUnanimous: '!unanimous',
  guarantee: 'cannot transfer a guarantee',
  /** Panic 0x11: an outcome listing one asset twice pays each entry from the same initial holdings. */
  underflow: 'arithmetic underflow',
  notFinalized: 'Channel not finalized.',
  turnNumDecreased: 'turnNumRecord decreased.',
  challengerNotParticipant: 'Challenger is not a participant',
  incorrectFingerprint: 'incorrect fingerprint',
  /** Ours: a failure injected by `failNext`. */
  injected: 'injected failure',
  turnNumNotIncreased: 'turnNumRecord not increased.',
  /** ConsensusApp. */
  proofNotEmpty: '|proof|!=0',
  /** VirtualPaymentApp (Alice: the payer, participants[0]; Bob: the payee, the last participant). */
  needPayerAndPayee: 'need a payer and a payee',
  notUnanimousWithoutProof: '!unanimous; |proof|=0',
  badTurnNumWithoutProof: 'bad candidate turnNum; |proof|=0',
  badProofLength: 'bad proof length',
  badProofTurnNum: 'bad proof[0].turnNum; |proof|=1',
  postfundNotUnanimous: 'postfund !unanimous; |proof|=1',
  badTurnNumWithProof: 'bad candidate turnNum; |proof|=1',
  redemptionNotSignedByPayee: 'redemption not signed by Bob',
  invalidVoucher: 'invalid voucher',
  onlyOneAsset: 'only one asset allowed',
  assetChanged: 'asset changed',
  needTwoAllocations: 'need two allocations',
  allocationChanged: 'allocation changed',
  payerNotAdjusted: 'Alice not adjusted correctly',
  payeeNotAdjusted: 'Bob not adjusted correctly',
  /** reclaim. */
  sourceAssetIndexOutOfRange: 'sourceAssetIndex out of range',
  indexOfTargetOutOfRange: 'indexOfTargetInSource out of range',
  notAGuarantee: 'not a guarantee allocation',
  badGuaranteeMetadata: 'bad guarantee metadata',
  targetAssetIndexOutOfRange: 'targetAssetIndex out of range',
  targetAssetMismatch: 'targetAsset != guaranteeAsset',
  targetNotTwoAllocations: 'target must have two allocations',
  reclaimAmountMismatch: 'totalReclaimed!=guarantee.amount',
  leftNotFound: 'could not find left',
  rightNotFound: 'could not find right',
} as const
export type RevertReason = (typeof RevertReason)[keyof typeof RevertReason]

/**
 * The adjudicator refused our transaction; `details.reason` is a RevertReason. An OperatingError, not a
 * RejectedInputError: nothing from outside is being refused by us; the world (the chain's state, which
 * moved under us, as with 'held != expectedHeld') refused our own output, an expected failure the engine
 * handles by re-reading and retrying, or by failing the objective with this code.
 */
export class ChainRevertedError extends OperatingError {
  readonly code = 'chain_reverted'
  constructor(readonly reason: RevertReason, details: Readonly<Record<string, unknown>> = {}, options?: { cause?: unknown }) {
    super(`transaction reverted: ${reason}`, { ...details, reason }, options)
  }
}

/** The chain node could not be reached; the transaction was not sent (STYLE §3). */
export class ChainUnavailableError extends OperatingError {
  readonly code = 'chain_unavailable'
}
