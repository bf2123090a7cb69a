// What objectives ask of the adjudicator and what it reports back (DESIGN §6). Pure data: the chain layer
// carries these out (src/chain/chainService.ts); objectives only describe them.
import type { Address, Bytes32, Hex } from '../core/types.js'
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
      /**
       * challenge(fixedPart, proof, candidate, challengerSig): registers a state the channel's app supports. The
       * consensus app takes a candidate signed by all and no proof; the virtual payment app's redemption state
       * (turn 2, signed by the payee) takes the postfund signed by all as its proof.
       */
      readonly kind: 'challenge'
      readonly candidate: SignedState
      /** Absent or empty: no proof. */
      readonly proof?: readonly SignedState[]
      /** signChallenge's signature by a participant on the candidate. */
      readonly challengerSignature: Signature
    }
  | {
      /** conclude(fixedPart, candidate): a final state signed by all finalizes the channel now, paying nothing. */
      readonly kind: 'conclude'
      readonly signedState: SignedState
    }
  | {
      /** checkpoint(fixedPart, proof, candidate): a later supported state clears a challenge; needs no participant's key. */
      readonly kind: 'checkpoint'
      readonly candidate: SignedState
      readonly proof?: readonly SignedState[]
    }
  | ({
      /**
       * reclaim(ReclaimArgs): both finalized, the source (a ledger)'s guarantee for the target (a channel it funds)
       * is replaced by the target's two amounts, paid to the guarantee's left and right in the source's outcome.
       */
      readonly kind: 'reclaim'
    } & ReclaimTransaction)
  | {
      /** transferAllAssets(channelId, outcome, stateHash): pays out a channel whose challenge finalized. */
      readonly kind: 'transferAllAssets'
      readonly channelId: Bytes32
      readonly outcome: Exit
      readonly stateHash: Bytes32
    }

/** NitroAdjudicator's ReclaimArgs, with outcomes as Exit values (the chain layer encodes them). */
export interface ReclaimTransaction {
  readonly sourceChannelId: Bytes32
  readonly sourceStateHash: Bytes32
  readonly sourceOutcome: Exit
  readonly sourceAssetIndex: bigint
  readonly indexOfTargetInSource: bigint
  readonly targetStateHash: Bytes32
  readonly targetOutcome: Exit
  readonly targetAssetIndex: bigint
}

/** Chain events, in the order the chain emitted them. Amounts are absolute (assigned, not added), so a replayed event is harmless. */
/** A log event, with the hash of its block when the chain layer reports it (a restart checks it is still canonical). */
export type ChainLogEvent = (
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
  | {
      /**
       * A guarantee in a finalized channel (the source, a ledger) was reclaimed: `outcome` is the source's whole
       * outcome now, which its transferAllAssets must name (the chain layer computes it from the reclaim's calldata).
       */
      readonly kind: 'reclaimed'
      readonly channelId: Bytes32
      readonly outcome: Exit
      readonly block: bigint
      readonly logIndex: number
    }
) & { readonly blockHash?: Hex }

/** What a ChainService delivers: events from logs, and notice of a re-organisation. */
export type ChainEvent =
  | ChainLogEvent
  /**
   * The chain re-organised: blocks after `forkBlock` were replaced, and their events will be delivered
   * again as the new chain has them. Consumers rewind whatever they recorded past `forkBlock`.
   */
  | { readonly kind: 'reorg'; readonly forkBlock: bigint }
