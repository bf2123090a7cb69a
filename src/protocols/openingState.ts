// The opening (prefund) state every channel we create starts from: turn 0, empty appData, one asset paying
// participant 0 and the last participant (a ledger's two parties; a payment channel's payer and payee).
import type { Address } from '../core/types.js'
import type { State } from '../core/state.js'
import { addressToDestination } from '../core/outcome.js'

export function openingState(p: {
  participants: readonly Address[]
  channelNonce: bigint
  appDefinition: Address
  challengeDuration: number
  asset: Address
  /** What the first and the last participant put in. */
  amounts: readonly [bigint, bigint]
}): State {
  const first = p.participants[0]!
  const last = p.participants[p.participants.length - 1]!
  return {
    participants: p.participants,
    channelNonce: p.channelNonce,
    appDefinition: p.appDefinition,
    challengeDuration: p.challengeDuration,
    appData: '0x',
    outcome: [
      {
        asset: p.asset,
        assetMetadata: { assetType: 0, metadata: '0x' },
        allocations: [
          { destination: addressToDestination(first), amount: p.amounts[0], allocationType: 0, metadata: '0x' },
          { destination: addressToDestination(last), amount: p.amounts[1], allocationType: 0, metadata: '0x' },
        ],
      },
    ],
    turnNum: 0n,
    isFinal: false,
  }
}
