// Admission (admission.ts): what a peer can make the node queue, refused before the journal.
import { describe, expect, test } from 'vitest'
import type { Address } from '../core/types.js'
import { Admission } from './admission.js'
import { encodeFrame } from './frames.js'
import { MAX_MESSAGE_BYTES } from '../core/limits.js'
import { MAX_QUEUED_INPUTS_PER_PEER, MAX_TRACKED_PEERS, PEER_BYTES_BURST, PEER_PAYLOADS_BURST, PEER_PAYLOADS_PER_SECOND } from './limits.js'
import { toBytes32 } from '../core/canonical.js'

const peer = (i: number) => `0x${i.toString(16).padStart(40, '0')}` as Address
const mallory = peer(0xbad)
const frame = encodeFrame({ seq: 1n, payloads: [], acks: [] })
const codeOf = (e: { code: string } | undefined) => e?.code

describe('what is refused before it is queued', () => {
  test.each([
    { name: 'a message over the wire\'s bound', bytes: new Uint8Array(MAX_MESSAGE_BYTES + 1), code: 'message_too_large' },
    { name: 'bytes that are no envelope', bytes: Uint8Array.of(1, 2, 3), code: 'codec' },
    { name: 'an envelope cut short', bytes: encodeFrame({ seq: 1n, payloads: [], acks: [] }).subarray(0, 5), code: 'codec' },
  ])('$name → $code', ({ bytes, code }) => {
    expect(codeOf(new Admission().admit(mallory, bytes, 0))).toBe(code)
  })

  test('a well-formed frame is admitted', () => {
    expect(new Admission().admit(mallory, frame, 0)).toBeUndefined()
  })
})

describe('quotas', () => {
  test('a peer spends its burst of payloads (an empty frame counts one), then gets PEER_PAYLOADS_PER_SECOND back per second; others are unaffected', () => {
    const admission = new Admission()
    for (let i = 0; i < PEER_PAYLOADS_BURST; i++) {
      expect(admission.admit(mallory, frame, 0)).toBeUndefined()
      admission.done(mallory, frame.length)
    }
    expect(codeOf(admission.admit(mallory, frame, 0))).toBe('peer_over_quota')
    expect(admission.admit(peer(1), frame, 0)).toBeUndefined()
    // 1 ms later: PEER_PAYLOADS_PER_SECOND / 1000 frames more, and no more than that
    const refill = PEER_PAYLOADS_PER_SECOND / 1000
    for (let i = 0; i < refill; i++) {
      expect(admission.admit(mallory, frame, 1)).toBeUndefined()
      admission.done(mallory, frame.length)
    }
    expect(codeOf(admission.admit(mallory, frame, 1))).toBe('peer_over_quota')
  })

  test('a frame costs its payloads: a full frame spends 4,096', () => {
    const admission = new Admission()
    const ledgerId = toBytes32(`0x${'ab'.repeat(32)}`)
    const big = encodeFrame({ seq: 1n, payloads: Array.from({ length: 4096 }, () => ({ kind: 'syncRequest' as const, ledgerId })), acks: [] })
    expect(big.length).toBeLessThanOrEqual(MAX_MESSAGE_BYTES)
    let admitted = 0
    while (!admission.admit(mallory, big, 0)) {
      admission.done(mallory, big.length)
      admitted++
    }
    // each frame carries 4,096 payloads: the payload budget runs out first, after PEER_PAYLOADS_BURST / 4,096
    expect(admitted).toBe(Math.min(Math.floor(PEER_PAYLOADS_BURST / 4096), Math.floor(PEER_BYTES_BURST / big.length)))
    expect(codeOf(admission.admit(mallory, big, 0))).toBe('peer_over_quota')
  })

  test('garbage is charged its bytes before it is decoded: a peer cannot make the node decode without bound', () => {
    const admission = new Admission()
    const junk = new Uint8Array(MAX_MESSAGE_BYTES).fill(0xc1)
    let refusedAsCodec = 0
    while (codeOf(admission.admit(mallory, junk, 0)) === 'codec') refusedAsCodec++
    expect(refusedAsCodec).toBe(Math.floor(PEER_BYTES_BURST / MAX_MESSAGE_BYTES))
    expect(codeOf(admission.admit(mallory, junk, 0))).toBe('peer_over_quota')
    expect(admission.admit(peer(1), frame, 0)).toBeUndefined()
  })

  test('a peer whose messages wait unhandled is refused (backpressure) until the engine handles some', () => {
    const admission = new Admission()
    for (let i = 0; i < MAX_QUEUED_INPUTS_PER_PEER; i++) expect(admission.admit(mallory, frame, 0)).toBeUndefined()
    expect(codeOf(admission.admit(mallory, frame, 0))).toBe('engine_busy')
    expect(admission.admit(peer(1), frame, 0)).toBeUndefined() // its queue is its own
    admission.done(mallory, frame.length)
    expect(admission.admit(mallory, frame, 0)).toBeUndefined()
  })

  test('the peers it remembers are bounded: idle ones are forgotten, least recently heard first', () => {
    const admission = new Admission()
    for (let i = 0; i < MAX_TRACKED_PEERS + 500; i++) {
      expect(admission.admit(peer(i + 1), frame, 0)).toBeUndefined()
      admission.done(peer(i + 1), frame.length)
    }
    expect(admission.trackedPeers).toBeLessThanOrEqual(MAX_TRACKED_PEERS)
  })
})
