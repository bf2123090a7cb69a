import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import type { Address } from '../core/types.js'
import { bumpAttempt, deliveredBelow, dueEntries, enqueue, isDelivered, markDelivered, newPeer, restartSession, retransmitDelayMs } from './outbox.js'
import { MAX_DELIVERED_ABOVE, OUTBOX_WINDOW, RETRANSMIT_BASE_MS, RETRANSMIT_CAP_MS } from './limits.js'
import { toBytes32 } from '../core/canonical.js'

const bob = '0x0000000000000000000000000000000000000b0b' as Address
const ledgerId = toBytes32(`0x${'ab'.repeat(32)}`)

describe('sending', () => {
  test('each entry takes the next sequence number and is due after the base delay', () => {
    const first = enqueue(newPeer(bob), [{ kind: 'syncRequest', ledgerId }], 1_000)
    const second = enqueue(first.peer, [{ kind: 'syncRequest', ledgerId }], 1_005)
    expect([first.entry.seq, second.entry.seq]).toEqual([1n, 2n])
    expect(second.peer.nextSeq).toBe(3n)
    expect(first.entry.nextAttemptAt).toBe(1_000 + RETRANSMIT_BASE_MS)
    expect(first.entry.attempts).toBe(1)
  })

  test('retransmission backs off exponentially up to the cap', () => {
    expect([0, 1, 2, 3].map(retransmitDelayMs)).toEqual([1, 2, 4, 8].map((k) => Math.min(RETRANSMIT_CAP_MS, RETRANSMIT_BASE_MS * k)))
    expect(retransmitDelayMs(50)).toBe(RETRANSMIT_CAP_MS)
    const { entry } = enqueue(newPeer(bob), [], 0)
    const bumped = bumpAttempt(entry, 10_000)
    expect(bumped.attempts).toBe(2)
    expect(bumped.nextAttemptAt).toBe(10_000 + retransmitDelayMs(1))
  })

  test('only entries that are due, oldest first, within the window', () => {
    let peer = newPeer(bob)
    const entries = []
    for (let i = 0; i < OUTBOX_WINDOW + 10; i++) {
      const next = enqueue(peer, [], i)
      peer = next.peer
      entries.push(next.entry)
    }
    const due = dueEntries([...entries].reverse(), RETRANSMIT_BASE_MS + 5)
    expect(due.map((e) => e.seq)).toEqual([1n, 2n, 3n, 4n, 5n, 6n])
    expect(dueEntries(entries, 1e12).length).toBe(OUTBOX_WINDOW)
  })
})

describe('receiving', () => {
  test('a duplicate is recognised whether it arrived in order or not', () => {
    let peer = newPeer(bob)
    for (const seq of [1n, 2n, 5n, 4n]) peer = markDelivered(peer, seq)!
    expect(peer.deliveredUpTo).toBe(2n)
    expect(peer.deliveredAbove).toEqual([4n, 5n])
    expect([1n, 2n, 3n, 4n, 5n, 6n].map((s) => isDelivered(peer, s))).toEqual([true, true, false, true, true, false])
    peer = markDelivered(peer, 3n)!
    expect(peer.deliveredUpTo).toBe(5n)
    expect(peer.deliveredAbove).toEqual([])
    expect(markDelivered(peer, 4n)).toBe(peer) // a duplicate changes nothing
  })

  test('any delivery order of 1..n ends with everything contiguous', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray([...Array(60).keys()].map((i) => BigInt(i + 1)), { minLength: 60 }), (order) => {
        let peer = newPeer(bob)
        for (const seq of order) peer = markDelivered(peer, seq)!
        expect(peer.deliveredUpTo).toBe(60n)
        expect(peer.deliveredAbove).toEqual([])
      }),
    )
  })

  test('the out-of-order window is bounded: beyond it a frame is refused (and will be retransmitted)', () => {
    let peer = newPeer(bob)
    for (let i = 0; i < MAX_DELIVERED_ABOVE; i++) peer = markDelivered(peer, BigInt(i + 2))!
    expect(markDelivered(peer, BigInt(MAX_DELIVERED_ABOVE + 2))).toBeUndefined()
    expect(markDelivered(peer, 1n)!.deliveredUpTo).toBe(BigInt(MAX_DELIVERED_ABOVE + 1))
  })
})

test('restartSession: a peer back with a new epoch — its seqs are forgotten, mine numbered again from 1, in order, due now (not fresh)', () => {
  const peer = { ...newPeer(bob), epoch: 5n, nextSeq: 40n, deliveredUpTo: 70n, deliveredAbove: [72n] }
  const entry = (seq: bigint) => ({ to: bob, seq, payloads: [{ kind: 'syncRequest' as const, ledgerId }], attempts: 4, nextAttemptAt: 9_000 })
  const { peer: next, entries } = restartSession(peer, 6n, [entry(39n), entry(37n)], 100)
  expect(next).toEqual({ address: bob, epoch: 6n, nextSeq: 3n, deliveredUpTo: 0n, deliveredAbove: [] })
  expect(entries.map((e) => [e.seq, e.attempts, e.nextAttemptAt])).toEqual([[1n, 4, 100], [2n, 4, 100]]) // due now, through the send window
  expect(isDelivered(next, 1n)).toBe(false)
})

test('deliveredBelow: everything under the sender\'s lowest unacknowledged seq counts delivered, closing gaps', () => {
  // 2 was refused and not remembered: 3 and 4 pile up above the gap
  const gapped = markDelivered(markDelivered(markDelivered(newPeer(bob), 1n)!, 3n)!, 4n)!
  expect([gapped.deliveredUpTo, gapped.deliveredAbove]).toEqual([1n, [3n, 4n]])
  const closed = deliveredBelow(gapped, 3n) // the sender's lowest unacknowledged is 3: 2 was acknowledged
  expect([closed.deliveredUpTo, closed.deliveredAbove]).toEqual([4n, []])
  expect(deliveredBelow(closed, 2n)).toBe(closed) // a lower base says nothing new
  expect(isDelivered(closed, 2n)).toBe(true)
})
