// The simulator itself: a run is a function of its seed, and its checks can fail.
import { describe, expect, test } from 'vitest'
import { simulate } from './simulate.js'
import { SignatureBook, Violation } from './invariants.js'
import { Cluster } from './cluster.js'
import { encodeFrame } from '../../src/engine/frames.js'
import type { Effects } from '../../src/engine/machine.js'
import type { Bytes32, Signature } from '../../src/core/types.js'

describe('the simulator', () => {
  test('replays exactly: one seed, one trace hash; another seed, another', async () => {
    const [a, b, c] = [await simulate({ seed: 7, steps: 300 }), await simulate({ seed: 7, steps: 300 }), await simulate({ seed: 8, steps: 300 })]
    expect(a.violation).toBeUndefined()
    expect(b.traceHash).toBe(a.traceHash)
    expect(b.stats).toEqual(a.stats)
    expect(c.traceHash).not.toBe(a.traceHash)
    expect(a.stats.completed).toBeGreaterThan(0)
  })

  test('a crash between deciding a transaction and sending it loses nothing: the chain outbox sends it after the restart (issue 15)', async () => {
    // Heavy crashes, a quarter of them between a commit and its effects: transactions decided and never handed to
    // the chain client. Every run still settles, each node paid its due to the wei (simulate's end checks).
    let crashes = 0
    for (let seed = 1; seed <= 6; seed++) {
      const result = await simulate({ seed, steps: 400, faults: { drop: 0.05, duplicate: 0.03, reorder: 0.05, crash: 0.05, partition: 0, chainFailure: 0 } })
      expect(result.violation, `seed ${seed}: ${result.violation?.message}`).toBeUndefined()
      crashes += result.stats.crashes
    }
    expect(crashes).toBeGreaterThan(50)
  })

  test('the signature book refuses a second, different signature by one key at one turn of one channel', () => {
    const cluster = new Cluster({ seed: 1, nodes: 2, apps: () => undefined })
    const node = cluster.nodes[0]!
    const book = new SignatureBook()
    const ledgerId = `0x${'ab'.repeat(32)}` as Bytes32
    const frame = (signature: Signature): Effects => ({
      frames: [{ to: cluster.nodes[1]!.address, bytes: encodeFrame({ seq: 1n, payloads: [{ kind: 'countersignature', ledgerId, turnNum: 3n, signature }], acks: [] }) }],
      transactions: [],
      objectives: [],
      changes: [],
      acksPending: false,
    })
    const signature = (r: string) => `0x${r.repeat(32)}${'00'.repeat(31)}01${'1b'}` as Signature
    const first = signature('11')
    book.observe(node, frame(first))
    book.observe(node, frame(first)) // the same again: a retransmission
    expect(() => book.observe(node, frame(signature('22')))).toThrow(Violation)
  })
})
