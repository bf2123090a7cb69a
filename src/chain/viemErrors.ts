// viem's errors as the chain layer's typed errors (src/chain/errors.ts), for every part that talks to a node
// through viem: the chain service, its transaction sender, the deployer and the watchtower.
import { BaseError, ContractFunctionRevertedError, HttpRequestError, InsufficientFundsError, TimeoutError, WaitForTransactionReceiptTimeoutError } from 'viem'
import { ChannelsError, OperatingError } from '../core/errors.js'
import { ChainRevertedError, ChainUnavailableError, RevertReason } from './errors.js'

/** Too many submissions already wait for the transaction queue. */
export class ChainBusyError extends OperatingError {
  readonly code = 'chain_busy'
}
/** The node refused or lost a transaction for a reason other than a revert (nonce, fees, receipt timeout). */
export class ChainTransactionError extends OperatingError {
  readonly code = 'chain_transaction'
}

const PANIC_UNDERFLOW = 0x11n
/** ERC20 refusals that mean "not enough tokens": OpenZeppelin 4's string, OpenZeppelin 5's custom error. */
const TOKEN_BALANCE_RE = /exceeds balance|insufficient balance|ERC20InsufficientBalance/i

// ---- errors ----

/** viem's error → ChainRevertedError (decoded reason), ChainUnavailableError (unreachable) or ChainTransactionError. */
export function toChainError(error: unknown, details: Record<string, unknown> = {}): ChannelsError {
  if (error instanceof ChannelsError) return error
  if (!(error instanceof BaseError)) return new ChainTransactionError(`chain request failed: ${String(error)}`, details, { cause: error })
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError)
  if (reverted instanceof ContractFunctionRevertedError) {
    const raw = reverted.data?.errorName === 'Panic' ? (reverted.data.args?.[0] === PANIC_UNDERFLOW ? RevertReason.underflow : reverted.reason) : (reverted.reason ?? reverted.data?.errorName ?? reverted.signature)
    return new ChainRevertedError(revertReasonOf(raw), { ...details, rawReason: raw }, { cause: error })
  }
  if (error.walk((e) => e instanceof InsufficientFundsError) instanceof InsufficientFundsError) {
    return new ChainRevertedError(RevertReason.insufficientBalance, details, { cause: error })
  }
  if (error.walk((e) => e instanceof WaitForTransactionReceiptTimeoutError) instanceof WaitForTransactionReceiptTimeoutError) {
    return new ChainTransactionError('transaction not mined in time', details, { cause: error })
  }
  if (error.walk((e) => e instanceof HttpRequestError || e instanceof TimeoutError) !== null) {
    return new ChainUnavailableError(`chain node unreachable: ${error.shortMessage}`, details, { cause: error })
  }
  return new ChainTransactionError(`chain refused the request: ${error.shortMessage}`, details, { cause: error })
}

/** The adjudicator's string when it is one we know; token balance failures in their several spellings. */
function revertReasonOf(raw: string | undefined): RevertReason {
  if (raw === undefined) return 'transaction reverted' as RevertReason
  if (TOKEN_BALANCE_RE.test(raw)) return RevertReason.insufficientBalance
  // Strings outside RevertReason pass through as they are (errors.ts's type lists the ones we map on).
  return raw as RevertReason
}
