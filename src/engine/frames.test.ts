import { expect, test } from 'vitest'
import { decodeFrame, encodeFrame } from './frames.js'
import { encodeEnvelope } from '../core/codec.js'

const ledgerId = `0x${'ab'.repeat(32)}` as const

test('a frame round-trips: sequence number, payloads and acks', () => {
  const frame = { seq: 7n, payloads: [{ kind: 'syncRequest' as const, ledgerId }], acks: [1n, 2n] }
  expect(decodeFrame(encodeFrame(frame))).toEqual(frame)
  expect(decodeFrame(encodeFrame({ seq: null, payloads: [], acks: [3n] }))).toEqual({ seq: null, payloads: [], acks: [3n] })
})

test('a frame without a sequence number carries acks and notices only', () => {
  const notice = { kind: 'appRefusal' as const, channelId: ledgerId, turnNum: 2n, eventHash: ledgerId, code: 'app_rejected' }
  expect(decodeFrame(encodeFrame({ seq: null, payloads: [notice], acks: [] }))).toEqual({ seq: null, payloads: [notice], acks: [] })
  const refused = { kind: 'objectiveRejected' as const, objectiveId: `directfund:${ledgerId}`, code: 'peer_not_allowed', summary: 'no' }
  expect(decodeFrame(encodeFrame({ seq: null, payloads: [refused], acks: [] })).payloads).toEqual([refused])
  const mixed = encodeFrame({ seq: null, payloads: [notice, { kind: 'syncRequest', ledgerId }], acks: [] })
  expect(() => decodeFrame(mixed)).toThrow(expect.objectContaining({ code: 'codec' }))
})

test.each([
  ['another envelope kind', encodeEnvelope('hello', [1n, [], []])],
  ['a body that is not a triple', encodeEnvelope('frame', [1n, []])],
  ['payloads without a sequence number', encodeEnvelope('frame', [null, [['syncRequest', Buffer.alloc(32, 0xab)]], []])],
  ['a negative sequence number', encodeEnvelope('frame', [-1n, [], []])],
  ['an ack that is not a bigint', encodeEnvelope('frame', [null, [], ['1']])],
  ['too many acks', encodeEnvelope('frame', [null, [], Array(5000).fill(1n)])],
  ['an unknown payload kind', encodeEnvelope('frame', [1n, [['gossip']], []])],
  ['garbage bytes', Uint8Array.of(0xc1)],
])('refuses %s with a typed error', (_name, bytes) => {
  expect(() => decodeFrame(bytes)).toThrow(expect.objectContaining({ code: expect.stringMatching(/^(codec|out_of_range|invalid_length)$/) }))
})
