import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { keccak_256 } from '@noble/hashes/sha3.js'
import type { Address } from '../core/types.js'
import { ChannelLog, EMPTY_HEAD, GENESIS_HASH, nextEvent, replay, verifyChain } from './channelLog.js'
import type { ChannelEvent } from './event.js'
import { encodeEvent, hashEvent } from './event.js'
import { MAX_EVENT_PAYLOAD_BYTES } from './limits.js'
import { toAddress, toBytes32 } from '../core/canonical.js'

const alice: Address = toAddress('0x00000000000000000000000000000000000a11ce')
const bob: Address = toAddress('0x0000000000000000000000000000000000000b0b')
const id = `0x${'ab'.repeat(32)}` as const
const text = (s: string) => new TextEncoder().encode(s)

function logOf(...moves: string[]): ChannelLog {
  const log = new ChannelLog(toBytes32(id))
  moves.forEach((m, i) => log.append({ kind: 'move', payload: text(m), author: i % 2 ? bob : alice }))
  return log
}

describe('event encoding', () => {
  test('is the documented fixed layout, hashed with the previous hash (checked against noble keccak)', () => {
    const input = { kind: 'move', payload: Uint8Array.of(9, 8), author: alice }
    const bytes = encodeEvent(7n, input)
    const expected = Buffer.concat([
      Buffer.from('0000000000000007', 'hex'),
      Buffer.from([4]),
      Buffer.from('move'),
      Buffer.from(alice.slice(2), 'hex'),
      Buffer.from('00000002', 'hex'),
      Buffer.from([9, 8]),
    ])
    expect(Buffer.from(bytes).toString('hex')).toBe(expected.toString('hex'))
    const prev = `0x${'11'.repeat(32)}` as const
    const want = Buffer.from(keccak_256(Buffer.concat([Buffer.from(prev.slice(2), 'hex'), expected]))).toString('hex')
    expect(hashEvent(toBytes32(prev), 7n, input)).toBe(`0x${want}`)
  })

  test.each([
    ['empty kind', { kind: '', payload: new Uint8Array(), author: alice }, 'invalid_length'],
    ['kind over 64 bytes', { kind: 'k'.repeat(65), payload: new Uint8Array(), author: alice }, 'invalid_length'],
    ['payload over the cap', { kind: 'k', payload: new Uint8Array(MAX_EVENT_PAYLOAD_BYTES + 1), author: alice }, 'invalid_length'],
    ['author not an address', { kind: 'k', payload: new Uint8Array(), author: '0x1234' as Address }, 'invalid_address'],
  ])('refuses %s', (_name, input, code) => {
    expect(() => encodeEvent(1n, input)).toThrow(expect.objectContaining({ code }))
  })
})

describe('ChannelLog', () => {
  test('appends events with consecutive seqs, each linked to the previous hash', () => {
    const log = logOf('a', 'b', 'c')
    const events = log.slice()
    expect(events.map((e) => e.seq)).toEqual([1n, 2n, 3n])
    expect(events[0]!.prevHash).toBe(GENESIS_HASH)
    expect(events[1]!.prevHash).toBe(events[0]!.hash)
    expect(log.head).toEqual({ seq: 3n, hash: events[2]!.hash })
    expect(log.verify()).toEqual(log.head)
  })

  test('the head depends on every event: changing one payload changes the head', () => {
    expect(logOf('a', 'b', 'c').head.hash).not.toBe(logOf('a', 'x', 'c').head.hash)
    expect(logOf('a', 'b', 'c').head.hash).toBe(logOf('a', 'b', 'c').head.hash)
  })

  test('slice returns an inclusive seq range', () => {
    expect(logOf('a', 'b', 'c', 'd').slice(2n, 3n).map((e) => e.seq)).toEqual([2n, 3n])
    expect(logOf('a').slice(5n)).toEqual([])
  })

  const tamperings: [string, (e: ChannelEvent[]) => ChannelEvent[], bigint][] = [
    ['a changed payload', (e) => e.map((x) => (x.seq === 2n ? { ...x, payload: text('z') } : x)), 2n],
    ['a changed author', (e) => e.map((x) => (x.seq === 3n ? { ...x, author: bob } : x)), 3n],
    ['a dropped event', (e) => e.filter((x) => x.seq !== 2n), 3n],
    ['swapped events', (e) => [e[0]!, e[2]!, e[1]!, e[3]!], 3n],
    ['a forged hash', (e) => e.map((x) => (x.seq === 4n ? { ...x, hash: GENESIS_HASH } : x)), 4n],
  ]
  test.each(tamperings)('verifyChain pinpoints %s', (_name, tamper, seq) => {
    const events = tamper([...logOf('a', 'b', 'c', 'd').slice()])
    expect(() => verifyChain(events)).toThrow(expect.objectContaining({ code: 'broken_log', details: expect.objectContaining({ seq }) }))
  })

  test('add accepts events made elsewhere only if they link', () => {
    const source = logOf('a', 'b')
    const copy = ChannelLog.from(toBytes32(id), source.slice())
    expect(copy.head).toEqual(source.head)
    const other = logOf('x', 'y', 'z').slice()[2]!
    expect(() => copy.add(other)).toThrow(expect.objectContaining({ code: 'broken_log' }))
    expect(copy.length).toBe(2) // nothing half-added
  })
})

describe('replay', () => {
  const count = (state: Record<string, number>, e: ChannelEvent) => ({ ...state, [e.author]: (state[e.author] ?? 0) + 1 })

  test('from any snapshot gives the same state as from the start', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 4 }), { minLength: 1, maxLength: 30 }), fc.nat(), (moves, cut) => {
        const log = logOf(...moves)
        const full = log.replay({ head: EMPTY_HEAD, state: {} }, count)
        const at = BigInt(cut % (moves.length + 1))
        const partial = replay({ head: EMPTY_HEAD, state: {} }, log.slice(1n, at), count)
        const resumed = log.replay(partial, count)
        expect(resumed).toEqual(full)
        expect(full.head).toEqual(log.head)
      }),
      { numRuns: 100 },
    )
  })

  test('refuses events that do not link to the snapshot head', () => {
    const log = logOf('a', 'b', 'c')
    const wrongSnapshot = { head: { seq: 1n, hash: GENESIS_HASH }, state: {} }
    expect(() => replay(wrongSnapshot, log.slice(), count)).toThrow(expect.objectContaining({ code: 'broken_log' }))
  })

  test('nextEvent from the empty head starts at seq 1', () => {
    expect(nextEvent(EMPTY_HEAD, { kind: 'k', payload: new Uint8Array(), author: bob }).seq).toBe(1n)
  })
})
