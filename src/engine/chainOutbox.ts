// What to do with a transaction of the chain outbox after a restart (issue 15): it was decided and not known mined
// or refused, so it may have landed just before the crash. Sending a deposit again would then revert (the holdings
// moved on from its expectedHeld) and count as a failure of its objective, which gives up after a few: the shell
// first reads the holdings. Other transactions are sent again as they are: a challenge or payout that already
// landed is refused harmlessly, and the chain's events tell the objective what happened.
import type { ChainTransaction } from '../protocols/onchain.js'

export type Resend = 'send' | 'mined' | 'stale'

/** For a deposit, from the channel's holdings now: still to send, already mined, or overtaken by others' deposits. */
export function resendDecision(tx: ChainTransaction, held: bigint | undefined): Resend {
  if (tx.kind !== 'deposit' || held === undefined) return 'send'
  if (held === tx.expectedHeld) return 'send'
  if (held >= tx.expectedHeld + tx.amount) return 'mined'
  return 'stale'
}

/** The refusal a stale deposit is reported with: its objective decides again from the holdings it sees. */
export const STALE_DEPOSIT = { code: 'deposit_stale', summary: 'the holdings moved while the node was down: the deposit as decided would revert' } as const
