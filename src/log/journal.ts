// The node journal (DESIGN §4.2): every input the engine accepts, appended before it is processed, in the
// same hash-chained event format as channel logs. The engine is a deterministic function of
// (journal, keys), so replaying the journal rebuilds the node's state.
import type { Address } from '../core/types.js'
import type { ChannelEvent } from './event.js'
import type { LogHead } from './channelLog.js'
import { nextEvent } from './channelLog.js'

/** Where an input came from. */
export const JournalInputKind = {
  api: 'input.api', // a request from the node's own user (author: the node's address)
  peer: 'input.peer', // a message from a peer (author: the peer's address)
  chain: 'input.chain', // a chain event (author: the adjudicator's address)
  tick: 'input.tick', // a timer tick carrying the time (author: the node's address)
} as const
export type JournalInputKind = (typeof JournalInputKind)[keyof typeof JournalInputKind]

export interface JournalInput {
  readonly kind: JournalInputKind
  readonly payload: Uint8Array
  readonly author: Address
}

/** The journal entry that records `input` after `head`. */
export function journalEntry(head: LogHead, input: JournalInput): ChannelEvent {
  return nextEvent(head, input)
}

export function isJournalInputKind(kind: string): kind is JournalInputKind {
  return (Object.values(JournalInputKind) as string[]).includes(kind)
}
