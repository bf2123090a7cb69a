import { expect, test } from 'vitest'
import { EMPTY_HEAD, verifyChain } from './channelLog.js'
import { JournalInputKind, isJournalInputKind, journalEntry } from './journal.js'
import { toAddress } from '../core/canonical.js'

test('journal entries chain like channel events and keep their input kind', () => {
  const author = toAddress('0x0000000000000000000000000000000000000001')
  const first = journalEntry(EMPTY_HEAD, { kind: JournalInputKind.api, payload: Uint8Array.of(1), author })
  const second = journalEntry(first, { kind: JournalInputKind.tick, payload: Uint8Array.of(2), author })
  expect(verifyChain([first, second])).toEqual({ seq: 2n, hash: second.hash })
  expect(second.kind).toBe('input.tick')
})

test('only the four input kinds are journal kinds', () => {
  expect(Object.values(JournalInputKind).every(isJournalInputKind)).toBe(true)
  expect(isJournalInputKind('move')).toBe(false)
})
