// The custody: held states survive a reopen, a turn only rises, the bound refuses a hand-over whole, a
// hand-over for another chain is refused, and a file damaged on disk is refused when read, never trusted.
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, expect, test } from 'vitest'
import { Custody } from './custody.js'
import { decodeHandover, encodeHandover, watchtowerEntry } from './handover.js'
import { ADJUDICATOR, alice, bob, handoverOf, ledgerState, signedBy } from './testHandover.js'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'channels-custody-'))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

const ledgerAt = (turnNum: bigint, nonce = 7n) => watchtowerEntry(signedBy(ledgerState(turnNum, { nonce }), [alice, bob]))

test('a channel is added, replaced by a higher turn, kept against a lower or equal one; all of it survives a reopen', () => {
  const custody = Custody.open(dir)
  expect(custody.target()).toBeUndefined()
  expect(custody.hold(handoverOf([ledgerAt(3n)]))).toMatchObject([{ result: 'added', turnNum: 3n, previousTurnNum: null }])
  expect(custody.hold(handoverOf([ledgerAt(5n)]))).toMatchObject([{ result: 'replaced', turnNum: 5n, previousTurnNum: 3n }])
  expect(custody.hold(handoverOf([ledgerAt(4n)]))).toMatchObject([{ result: 'kept', turnNum: 4n, previousTurnNum: 5n }])
  expect(custody.hold(handoverOf([ledgerAt(5n)]))).toMatchObject([{ result: 'kept', previousTurnNum: 5n }])

  const reopened = Custody.open(dir)
  expect(reopened.target()).toEqual({ chainId: handoverOf([]).chainId, adjudicator: ADJUDICATOR, virtualPaymentApp: handoverOf([]).virtualPaymentApp })
  expect(reopened.entries()).toEqual({ held: [ledgerAt(5n)], refused: [] })
})

test('files are private to the owner: the states tell balances', () => {
  Custody.open(dir).hold(handoverOf([ledgerAt(3n)]))
  const file = path.join(dir, 'channels', `${ledgerAt(3n).channelId}.json`)
  expect(statSync(file).mode & 0o077).toBe(0)
  expect(statSync(dir).mode & 0o077).toBe(0)
  // A held channel's file is itself a hand-over of that channel.
  expect(decodeHandover(readFileSync(file))).toEqual(handoverOf([ledgerAt(3n)]))
  expect(readdirSync(path.join(dir, 'channels'))).toEqual([`${ledgerAt(3n).channelId}.json`]) // no temporary left
})

test('at most maxChannels: a hand-over that would pass it is refused whole (custody_full); replacing held ones still works', () => {
  const custody = Custody.open(dir, { maxChannels: 2 })
  custody.hold(handoverOf([ledgerAt(3n, 1n)]))
  expect(() => custody.hold(handoverOf([ledgerAt(3n, 2n), ledgerAt(3n, 3n)]))).toThrow(expect.objectContaining({ code: 'custody_full' }))
  expect(custody.entries().held.map((e) => e.channelId)).toEqual([ledgerAt(3n, 1n).channelId]) // nothing of it written
  expect(custody.hold(handoverOf([ledgerAt(4n, 1n), ledgerAt(3n, 2n)])).map((r) => r.result)).toEqual(['replaced', 'added'])
  expect(() => custody.hold(handoverOf([ledgerAt(3n, 3n)]))).toThrow(expect.objectContaining({ code: 'custody_full' }))
})

test('a hand-over for another adjudicator, chain or payment app than the custody\'s is refused (custody_mismatch)', () => {
  const custody = Custody.open(dir)
  custody.hold(handoverOf([ledgerAt(3n)]))
  for (const other of [{ chainId: 1 }, { adjudicator: alice.address }, { virtualPaymentApp: bob.address }]) {
    expect(() => custody.hold({ ...handoverOf([ledgerAt(9n)]), ...other })).toThrow(expect.objectContaining({ code: 'custody_mismatch' }))
  }
  expect(custody.entries().held).toEqual([ledgerAt(3n)])
})

test('a held file edited on disk is refused when read; a later hand-over replaces it', () => {
  const custody = Custody.open(dir)
  custody.hold(handoverOf([ledgerAt(3n)]))
  const file = path.join(dir, 'channels', `${ledgerAt(3n).channelId}.json`)
  // Someone raises the turn in the file: the signatures no longer match the state.
  writeFileSync(file, readFileSync(file, 'utf8').replace('"turnNum":"3"', '"turnNum":"9"'))
  const read = Custody.open(dir).entries()
  expect(read.held).toEqual([])
  expect(read.refused.map((r) => [r.file, r.error.code])).toEqual([[file, 'invalid_signature']])
  expect(custody.hold(handoverOf([ledgerAt(2n)]))).toMatchObject([{ result: 'replaced', previousTurnNum: null }])
})

test('a file named for one channel holding another is refused', () => {
  const custody = Custody.open(dir)
  custody.hold(handoverOf([ledgerAt(3n, 1n), ledgerAt(3n, 2n)]))
  const [a, b] = [ledgerAt(3n, 1n).channelId, ledgerAt(3n, 2n).channelId].map((id) => path.join(dir, 'channels', `${id}.json`)) as [string, string]
  writeFileSync(a, readFileSync(b))
  expect(Custody.open(dir).entries().refused.map((r) => r.error.code)).toEqual(['codec'])
})

test('refresh reads only what changed since the last read', () => {
  const custody = Custody.open(dir)
  custody.hold(handoverOf([ledgerAt(3n, 1n)]))
  const watcher = Custody.open(dir)
  expect(watcher.refresh().held.map((e) => e.channelId)).toEqual([ledgerAt(3n, 1n).channelId])
  expect(watcher.refresh().held).toEqual([])
  custody.hold(handoverOf([ledgerAt(3n, 2n), ledgerAt(5n, 1n)]))
  expect(watcher.refresh().held.map((e) => [e.channelId, e.candidate.state.turnNum]).sort()).toEqual([[ledgerAt(3n, 2n).channelId, 3n], [ledgerAt(5n, 1n).channelId, 5n]].sort())
})

test('the cursor round-trips; a damaged one is refused with a typed error', () => {
  const custody = Custody.open(dir)
  expect(custody.readCursor()).toBeUndefined()
  custody.writeCursor({ block: 2n ** 64n + 1n, logIndex: 3 })
  expect(Custody.open(dir).readCursor()).toEqual({ block: 2n ** 64n + 1n, logIndex: 3 })
  writeFileSync(path.join(dir, 'cursor.json'), '{"block": 12, "logIndex": 0}')
  expect(() => custody.readCursor()).toThrow(expect.objectContaining({ code: 'codec' }))
})

test('encodeHandover of a held entry is what add wrote (one format on disk and on the wire)', () => {
  Custody.open(dir).hold(handoverOf([ledgerAt(3n)]))
  expect(readFileSync(path.join(dir, 'channels', `${ledgerAt(3n).channelId}.json`), 'utf8')).toBe(encodeHandover(handoverOf([ledgerAt(3n)])))
})

test('more files than the bound (copied in by hand): the surplus is refused when read, once', () => {
  Custody.open(dir).hold(handoverOf([ledgerAt(3n, 1n), ledgerAt(3n, 2n), ledgerAt(3n, 3n)]))
  const bounded = Custody.open(dir, { maxChannels: 2 })
  const read = bounded.entries()
  expect([read.held.length, read.refused.map((r) => r.error.code)]).toEqual([2, ['custody_full']])
  expect(bounded.refresh()).toEqual({ held: [], refused: [] })
})
