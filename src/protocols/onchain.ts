// What objectives ask of the adjudicator and what it reports back (DESIGN §6). Pure data: the chain layer
// carries these out (src/chain/chainService.ts); objectives only describe them.
import type { Address, Bytes32 } from '../core/types.js'
import type { SignedState } from '../core/signedState.js'
import type { Signature } from '../core/types.js'
import type { Exit } from '../core/outcome.js'
import type { VariablePart } from '../core/state.js'

/** What the engine asks the chain to do. Each carries an id so the engine can match its outcome. */
export type ChainTransaction =
  | {
      readonly kind: 'deposit'
      readonly channelId: Bytes32
      readonly asset: Address
      /** The holdings the depositor saw: the adjudicator refuses the deposit if they changed (re-org, race). */
      readonly expectedHeld: bigint
      readonly amount: bigint
    }
  | {
      /** concludeAndTransferAllAssets: a final state signed by every participant pays out every asset. */
      readonly kind: 'concludeAndWithdraw'
      readonly signedState: SignedState
    }
  | {
      /** challenge(fixedPart, [], candidate, challengerSig): registers a state signed by all (no proof: the consensus app). */
      readonly kind: 'challenge'
      readonly candidate: SignedState
      /** signChallenge's signature by a participant on the candidate. */
      readonly challengerSignature: Signature
    }
  | {
      /** transferAllAssets(channelId, outcome, stateHash): pays out a channel whose challenge finalized. */
      readonly kind: 'transferAllAssets'
      readonly channelId: Bytes32
      readonly outcome: Exit
      readonly stateHash: Bytes32
    }

/** Chain events, in the order the chain emitted them. Amounts are absolute (assigned, not added), so a replayed event is harmless. */
export type ChainLogEvent =
  | { readonly kind: 'deposited'; readonly channelId: Bytes32; readonly asset: Address; readonly nowHeld: bigint; readonly block: bigint; readonly logIndex: number }
  | {
      readonly kind: 'allocationUpdated'
      readonly channelId: Bytes32
      readonly asset: Address
      readonly finalHoldings: bigint
      readonly block: bigint
      readonly logIndex: number
    }
  | { readonly kind: 'concluded'; readonly channelId: Bytes32; readonly finalizesAt: bigint; readonly block: bigint; readonly logIndex: number }
  | {
      /** A challenge was registered: the channel finalizes with the candidate at `finalizesAt` (chain time, seconds) unless cleared. */
      readonly kind: 'challenged'
      readonly channelId: Bytes32
      readonly turnNumRecord: bigint
      readonly finalizesAt: bigint
      /**
       * The registered state's variable part (its fixed part is the channel's): a defender compares the state,
       * not only its turn. Absent from events journaled before the chain layer reported it.
       */
      readonly candidate?: VariablePart
      readonly block: bigint
      readonly logIndex: number
    }

/** What a ChainService delivers: events from logs, and notice of a re-organisation. */
export type ChainEvent =
  | ChainLogEvent
  /**
   * The chain re-organised: blocks after `forkBlock` were replaced, and their events will be delivered
   * again as the new chain has them. Consumers rewind whatever they recorded past `forkBlock`.
   */
  | { readonly kind: 'reorg'; readonly forkBlock: bigint }
