// An app's outcome weights, checked at the runtime's edge (docs/architecture/app-abi.md, "Exports"). How
// weights become amounts is the protocol's rule: src/protocols/app/appOutcome.ts.
import { MAX_PARTICIPANTS, MAX_UINT64 } from '../core/limits.js'
import { AppCallError } from './errors.js'
import { MIN_PARTICIPANTS } from './limits.js'

/**
 * Checks an app's outcome at the edge (STYLE §4): one u64 weight per participant, 2..255 of them. Whether
 * the count equals the channel's participant count is for the caller, who knows the channel.
 *
 * @throws AppCallError (`app_call`) naming the broken rule in `details.reason`
 */
export function checkWeights(weights: readonly bigint[]): void {
  if (weights.length < MIN_PARTICIPANTS || weights.length > MAX_PARTICIPANTS) {
    const reason = 'weight count out of range'
    throw new AppCallError(`app outcome: ${reason}`, { call: 'outcome', reason, count: weights.length })
  }
  for (const [index, weight] of weights.entries()) {
    if (typeof weight !== 'bigint' || weight < 0n || weight > MAX_UINT64) {
      const reason = 'weight out of range'
      throw new AppCallError(`app outcome: ${reason}`, { call: 'outcome', reason, index })
    }
  }
}
