// The watchtower's decision, pure (STYLE §2): given the state it holds for a channel, one fact about the
// channel on chain, and the chain's time, whether to answer with checkpoint(fixedPart, proof, candidate).
//
// A challenge registered at a turn below the held one, that has not finalized, is answered: the adjudicator's
// checkpoint takes any later supported state (turnNum > turnNumRecord, not finalized) and clears the
// challenge, with no participant's signature (NITRO-NOTES §5.1). Nothing else is answered: a challenge at the
// held turn or above (the held state would be refused: nothing newer to say), one finalized (too late), a
// channel not held, a channel with no challenge (checkpointing it protects nothing and costs gas), and the
// events that end a challenge (cleared, checkpointed, concluded).
//
// The same rule serves a chain event as it arrives and the channel's status read back from the chain (at
// start, before each attempt, after a re-org), so the shell never sends on an event that a later one undid.
import type { Bytes32 } from '../core/types.js'
import type { SignedState } from '../core/signedState.js'
import type { WatchedEvent } from '../chain/eventWatcher.js'
import type { HandoverEntry } from './handover.js'
import { turnOf } from './handover.js'

/** What the watchtower learns about a channel on chain. */
export type ChannelFact =
  | { readonly kind: 'challengeRegistered'; readonly channelId: Bytes32; readonly turnNum: bigint; readonly finalizesAt: bigint }
  | { readonly kind: 'challengeCleared'; readonly channelId: Bytes32; readonly newTurnNumRecord: bigint }
  | { readonly kind: 'checkpointed'; readonly channelId: Bytes32; readonly newTurnNumRecord: bigint }
  | { readonly kind: 'concluded'; readonly channelId: Bytes32; readonly finalizesAt: bigint }
  /** unpackStatus(channelId): finalizesAt 0 means no challenge is open. */
  | { readonly kind: 'status'; readonly channelId: Bytes32; readonly turnNumRecord: bigint; readonly finalizesAt: bigint }

/** checkpoint(fixedPart, proof, candidate) with the held state, answering a challenge at `registeredTurnNum`. */
export interface CheckpointAction {
  readonly kind: 'checkpoint'
  readonly channelId: Bytes32
  readonly candidate: SignedState
  readonly proof: readonly SignedState[]
  readonly registeredTurnNum: bigint
  /** When the challenge finalizes (chain time, seconds): the answer must land before. */
  readonly finalizesAt: bigint
}

/**
 * @param held what the watchtower holds for the fact's channel (undefined: nothing)
 * @param fact an adjudicator event about the channel, or its status
 * @param nowSec the chain's time (the latest block's timestamp)
 * @returns one checkpoint, or nothing
 */
export function decide(held: HandoverEntry | undefined, fact: ChannelFact, nowSec: bigint): readonly CheckpointAction[] {
  if (held === undefined || held.channelId !== fact.channelId) return []
  switch (fact.kind) {
    case 'challengeRegistered':
      return answer(held, fact.turnNum, fact.finalizesAt, nowSec)
    case 'status':
      // finalizesAt 0: open, no challenge to answer.
      return fact.finalizesAt === 0n ? [] : answer(held, fact.turnNumRecord, fact.finalizesAt, nowSec)
    case 'challengeCleared':
    case 'checkpointed':
    case 'concluded':
      return []
  }
}

function answer(held: HandoverEntry, registeredTurnNum: bigint, finalizesAt: bigint, nowSec: bigint): readonly CheckpointAction[] {
  // Finalized once block.timestamp >= finalizesAt (the adjudicator's _isFinalized).
  if (finalizesAt <= nowSec) return []
  if (turnOf(held) <= registeredTurnNum) return []
  return [{ kind: 'checkpoint', channelId: held.channelId, candidate: held.candidate, proof: held.proof, registeredTurnNum, finalizesAt }]
}

/** The fact in an adjudicator event, for the events the watchtower reads; undefined for the others (deposits, payouts). */
export function factOf(event: WatchedEvent): ChannelFact | undefined {
  switch (event.kind) {
    case 'challengeRegistered':
      return { kind: 'challengeRegistered', channelId: event.channelId, turnNum: event.candidate.variablePart.turnNum, finalizesAt: event.finalizesAt }
    case 'challengeCleared':
      return { kind: 'challengeCleared', channelId: event.channelId, newTurnNumRecord: event.newTurnNumRecord }
    case 'checkpointed':
      return { kind: 'checkpointed', channelId: event.channelId, newTurnNumRecord: event.newTurnNumRecord }
    case 'concluded':
      return { kind: 'concluded', channelId: event.channelId, finalizesAt: event.finalizesAt }
    default:
      return undefined
  }
}
