import { expect, test } from 'vitest'
import { MAX_ACKS_PER_FRAME, decodeFrame, encodeFrame } from './frames.js'
import { MAX_MESSAGE_BYTES } from '../core/limits.js'
import { addressToDestination } from '../core/outcome.js'
import { ledgerState } from '../protocols/ledger/consensusChannel.js'
import type { LedgerOutcome } from '../protocols/ledger/ledgerOutcome.js'
import { MAX_GUARANTEES, MAX_QUEUED_PROPOSALS } from '../protocols/ledger/limits.js'
import { encodeEnvelope } from '../core/codec.js'
import { toAddress, toBytes32 } from '../core/canonical.js'

const ledgerId = toBytes32(`0x${'ab'.repeat(32)}`)

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

test('the largest sync a ledger can send fits one message: MAX_GUARANTEES guarantees and a full queue of proposals, every amount 2^256 − 1', () => {
  const max = 2n ** 256n - 1n
  const address = (i: number) => toAddress(`0x${i.toString(16).padStart(40, 'f')}`)
  const target = (i: number) => toBytes32(`0x${i.toString(16).padStart(64, 'e')}`)
  const signature = `0x${'1b'.repeat(65)}` as const
  const outcome: LedgerOutcome = {
    asset: address(9),
    leader: { destination: addressToDestination(address(1)), amount: max },
    follower: { destination: addressToDestination(address(2)), amount: max },
    guarantees: Array.from({ length: MAX_GUARANTEES }, (_, i) => ({ target: target(i), amount: max, left: addressToDestination(address(1)), right: addressToDestination(address(2)) })),
  }
  const fixed = { participants: [address(1), address(2)], channelNonce: 2n ** 64n - 1n, appDefinition: address(3), challengeDuration: 2 ** 48 - 1 }
  const supported = { state: ledgerState(fixed, { turnNum: 2n ** 48n - 1n, outcome }), signatures: [signature, signature] }
  const queue = Array.from({ length: MAX_QUEUED_PROPOSALS }, (_, i) => ({
    proposal: { kind: 'add' as const, target: target(i), left: addressToDestination(address(1)), right: addressToDestination(address(2)), leftAmount: max, rightAmount: max },
    turnNum: 2n ** 48n - 1n,
    signature,
  }))
  const bytes = encodeFrame({ seq: 2n ** 64n - 1n, payloads: [{ kind: 'sync', ledgerId, supported, queue }], acks: Array.from({ length: MAX_ACKS_PER_FRAME }, () => 2n ** 64n - 1n) })
  expect(bytes.length).toBeLessThanOrEqual(MAX_MESSAGE_BYTES)
  expect(decodeFrame(bytes).payloads[0]!.kind).toBe('sync')
})

test('a frame carries its session epochs and the sender\'s lowest unacknowledged seq; one without them decodes without', () => {
  const frame = { seq: 3n, payloads: [], acks: [1n], epochs: { sender: 2n ** 64n - 1n, receiver: 0n }, base: 2n }
  expect(decodeFrame(encodeFrame(frame))).toEqual(frame)
  expect(decodeFrame(encodeFrame({ seq: 3n, payloads: [], acks: [] })).epochs).toBeUndefined()
  expect(() => decodeFrame(encodeEnvelope('frame', [3n, [], [], 2n ** 64n, 0n, 1n]))).toThrow(expect.objectContaining({ code: 'out_of_range' }))
  expect(() => decodeFrame(encodeEnvelope('frame', [3n, [], [], 1n, 1n, -1n]))).toThrow(expect.objectContaining({ code: 'out_of_range' }))
  expect(() => decodeFrame(encodeEnvelope('frame', [3n, [], [], 1n, 1n]))).toThrow(expect.objectContaining({ code: 'codec' }))
})
