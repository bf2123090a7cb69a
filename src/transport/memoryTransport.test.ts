// The in-memory network (memoryTransport.ts): FIFO per pair unless a seeded fault says otherwise, faults at
// their configured rates, manual runs that replay from their seed, bytes that are copied and always wire
// envelopes, and a network that outlives a throwing handler.
import { describe, expect, test } from 'vitest'
import { decodeEnvelope, encodeEnvelope, encodeValue } from '../core/codec.js'
import type { Address } from '../core/types.js'
import { MemoryNetwork, type NetworkStats } from './memoryTransport.js'
import type { Transport } from './transport.js'
import { toAddress } from '../core/canonical.js'

const alice: Address = toAddress('0x00000000000000000000000000000000000a11ce')
const bob: Address = toAddress('0x0000000000000000000000000000000000000b0b')
const carol: Address = toAddress('0x00000000000000000000000000000000000ca201')
const dave: Address = toAddress('0x000000000000000000000000000000000000da7e')

const message = (n: number): Uint8Array => encodeEnvelope('test', n)
const numberOf = (bytes: Uint8Array): number => decodeEnvelope(bytes).body as number

interface Received {
  readonly from: Address
  readonly n: number
}

function listen(transport: Transport): Received[] {
  const received: Received[] = []
  transport.onMessage((from, bytes) => received.push({ from, n: numberOf(bytes) }))
  return received
}

const numbersFrom = (received: readonly Received[], from: Address): number[] =>
  received.filter((r) => r.from === from).map((r) => r.n)
const range = (count: number): number[] => Array.from({ length: count }, (_, i) => i)
const isSorted = (xs: readonly number[]): boolean => xs.every((x, i) => i === 0 || xs[i - 1]! <= x)

/** Every message sent is accounted for exactly once (NetworkStats). */
function expectConserved(network: MemoryNetwork): void {
  const s: NetworkStats = network.stats
  expect(s.sent + s.duplicated).toBe(s.delivered + s.dropped + s.undeliverable + s.overflowed + network.inFlight)
}

describe('without faults', () => {
  test('auto: each sender’s messages arrive once, in order', async () => {
    const network = new MemoryNetwork({ seed: 1 })
    const [a, b, c] = [network.connect(alice), network.connect(bob), network.connect(carol)]
    const received = listen(b)
    for (const n of range(100)) {
      a.send(bob, message(n))
      c.send(bob, message(1000 + n))
    }
    await network.idle()
    expect(numbersFrom(received, alice)).toEqual(range(100))
    expect(numbersFrom(received, carol)).toEqual(range(100).map((n) => 1000 + n))
    expect(network.stats).toMatchObject({ sent: 200, delivered: 200, dropped: 0, duplicated: 0, reordered: 0 })
    expectConserved(network)
  })

  // Random delays alone would reorder; the network must keep each pair FIFO.
  test('auto with random delays: still FIFO per pair', async () => {
    const network = new MemoryNetwork({ seed: 2, maxDelayMs: 8 })
    const [a, b, c] = [network.connect(alice), network.connect(bob), network.connect(carol)]
    const received = listen(b)
    for (const n of range(60)) {
      a.send(bob, message(n))
      c.send(bob, message(n))
    }
    await network.idle()
    expect(numbersFrom(received, alice)).toEqual(range(60))
    expect(numbersFrom(received, carol)).toEqual(range(60))
  })

  test('manual: senders interleave by the seed, each pair stays FIFO', () => {
    const run = (seed: number): Received[] => {
      const network = new MemoryNetwork({ seed, mode: 'manual' })
      const [a, b, c] = [network.connect(alice), network.connect(bob), network.connect(carol)]
      const received = listen(b)
      for (const n of range(50)) {
        a.send(bob, message(n))
        c.send(bob, message(n))
      }
      expect(received).toEqual([]) // nothing moves until the test steps the network
      expect(network.deliverAll()).toBe(100)
      expect(network.deliverNext()).toBe(false)
      return received
    }
    const received = run(3)
    expect(numbersFrom(received, alice)).toEqual(range(50))
    expect(numbersFrom(received, carol)).toEqual(range(50))
    const senders = (r: readonly Received[]): string => r.map(({ from }) => from.slice(-2)).join()
    expect(senders(run(4))).not.toBe(senders(received))
  })
})

describe('faults', () => {
  test('setFaults: messages sent after it meet the new rates, those in flight keep their fate', () => {
    const network = new MemoryNetwork({ seed: 3, mode: 'manual', drop: 1 })
    const [a, b] = [network.connect(alice), network.connect(bob)]
    const received = listen(b)
    for (const n of range(10)) a.send(bob, message(n))
    network.setFaults({ drop: 0 })
    for (const n of range(10)) a.send(bob, message(10 + n))
    network.deliverAll()
    expect(received.map((r) => r.n)).toEqual(range(10).map((n) => 10 + n))
    expect(network.stats.dropped).toBe(10)
    expect(() => network.setFaults({ duplicate: 2 })).toThrow(/probability/)
    expectConserved(network)
  })

  test('drop: about the configured share of 5000 messages is lost, the rest arrives', () => {
    const network = new MemoryNetwork({ seed: 4, mode: 'manual', drop: 0.1 })
    const [a, b] = [network.connect(alice), network.connect(bob)]
    const received = listen(b)
    for (const n of range(5000)) a.send(bob, message(n))
    network.deliverAll()
    const { dropped, delivered } = network.stats
    expect(dropped).toBeGreaterThan(425) // 500 expected; σ ≈ 21
    expect(dropped).toBeLessThan(575)
    expect(delivered).toBe(5000 - dropped)
    expect(received).toHaveLength(delivered)
    expect(isSorted(received.map((r) => r.n))).toBe(true)
    expectConserved(network)
  })

  test('duplicate: every message arrives twice, as separate buffers', () => {
    const network = new MemoryNetwork({ seed: 5, mode: 'manual', duplicate: 1 })
    const [a, b] = [network.connect(alice), network.connect(bob)]
    const received: number[] = []
    b.onMessage((_from, bytes) => {
      received.push(numberOf(bytes))
      bytes.fill(0) // a receiver scribbling on its copy must not reach the duplicate
    })
    for (const n of range(50)) a.send(bob, message(n))
    network.deliverAll()
    expect(received).toEqual(range(50).flatMap((n) => [n, n]))
    expect(network.stats).toMatchObject({ sent: 50, duplicated: 50, delivered: 100 })
    expectConserved(network)
  })

  test('duplicate: about the configured share of messages is doubled', () => {
    const network = new MemoryNetwork({ seed: 6, mode: 'manual', duplicate: 0.2 })
    const [a, b] = [network.connect(alice), network.connect(bob)]
    listen(b)
    for (const n of range(5000)) a.send(bob, message(n))
    network.deliverAll()
    expect(network.stats.duplicated).toBeGreaterThan(900) // 1000 expected; σ ≈ 28
    expect(network.stats.duplicated).toBeLessThan(1100)
    expect(network.stats.delivered).toBe(5000 + network.stats.duplicated)
  })

  test.each(['manual', 'auto'] as const)('reorder (%s): messages overtake held ones, none lost or doubled', async (mode) => {
    const network = new MemoryNetwork({ seed: 7, mode, reorder: 0.3 })
    const [a, b] = [network.connect(alice), network.connect(bob)]
    const received = listen(b)
    for (const n of range(100)) a.send(bob, message(n))
    if (mode === 'manual') network.deliverAll()
    else await network.idle()
    const order = received.map((r) => r.n)
    expect(isSorted(order)).toBe(false)
    expect([...order].sort((x, y) => x - y)).toEqual(range(100))
    const overtaken = order.filter((n, i) => order.slice(i + 1).some((later) => later < n)).length
    expect(overtaken).toBeGreaterThan(0)
    expect(network.stats.reordered).toBeGreaterThan(10) // about 30 expected
  })

  test('reorder: a lone held message still arrives', () => {
    const network = new MemoryNetwork({ seed: 8, mode: 'manual', reorder: 1 })
    const [a, b] = [network.connect(alice), network.connect(bob)]
    const received = listen(b)
    a.send(bob, message(1))
    expect(network.deliverAll()).toBe(1)
    expect(received).toEqual([{ from: alice, n: 1 }])
    expect(network.stats.reordered).toBe(0) // nothing overtook it
  })

  test('partition: cuts a link both ways, in flight too, and heals', () => {
    const network = new MemoryNetwork({ seed: 9, mode: 'manual' })
    const [a, b, c] = [network.connect(alice), network.connect(bob), network.connect(carol)]
    const atAlice = listen(a)
    const atBob = listen(b)
    a.send(bob, message(1)) // in flight when the link is cut
    network.partition(bob, alice, true)
    a.send(bob, message(2))
    b.send(alice, message(3))
    c.send(bob, message(4))
    network.deliverAll()
    expect(atBob).toEqual([{ from: carol, n: 4 }])
    expect(atAlice).toEqual([])
    expect(network.stats.dropped).toBe(3)
    network.partition(alice, bob, false)
    a.send(bob, message(5))
    network.deliverAll()
    expect(atBob).toEqual([{ from: carol, n: 4 }, { from: alice, n: 5 }])
    expectConserved(network)
  })
})

describe('manual mode replays from its seed', () => {
  /** Three nodes relay a counter around with every fault on; returns the delivery log. */
  function run(seed: number): string[] {
    const network = new MemoryNetwork({ seed, mode: 'manual', drop: 0.1, duplicate: 0.1, reorder: 0.2 })
    const nodes = [alice, bob, carol]
    const log: string[] = []
    const transports = nodes.map((address) => network.connect(address))
    transports.forEach((transport, i) => {
      transport.onMessage((from, bytes) => {
        const n = numberOf(bytes)
        log.push(`${transport.address.slice(-4)}<-${from.slice(-4)}:${n}`)
        if (n < 40) transport.send(nodes[(i + 1) % 3]!, message(n + 1))
      })
    })
    for (const n of range(10)) transports[n % 3]!.send(nodes[(n + 1) % 3]!, message(n))
    network.deliverAll()
    log.push(JSON.stringify(network.stats))
    return log
  }

  test('the same seed gives the same delivery sequence; another seed another', () => {
    const first = run(42)
    expect(first.length).toBeGreaterThan(50)
    expect(run(42)).toEqual(first)
    expect(run(43)).not.toEqual(first)
  })
})

describe('the wire', () => {
  test('the receiver gets a copy: changing the sender’s buffer after send changes nothing', () => {
    const network = new MemoryNetwork({ seed: 10, mode: 'manual' })
    const [a, b] = [network.connect(alice), network.connect(bob)]
    const delivered: Uint8Array[] = []
    b.onMessage((_from, bytes) => delivered.push(bytes))
    const sent = message(77)
    const pooled = Buffer.from(message(78)) // a Buffer may live in a shared pool
    a.send(bob, sent)
    a.send(bob, pooled)
    sent.fill(0xff)
    pooled.fill(0xff)
    network.deliverAll()
    expect(delivered.map(numberOf)).toEqual([77, 78])
    expect(delivered[0]!.buffer).not.toBe(sent.buffer)
    expect(delivered[1]!.buffer).not.toBe(pooled.buffer)
  })

  test.each([
    { name: 'empty', bytes: new Uint8Array(0) },
    { name: 'not MessagePack', bytes: Uint8Array.of(0xc1) },
    { name: 'a value, not an envelope', bytes: encodeValue({ kind: 'test' }) },
    { name: 'a future wire version', bytes: encodeValue([2, 'test', null]) },
    { name: 'not bytes', bytes: 'hello' as unknown as Uint8Array },
  ])('$name is refused at send as the sender’s bug', ({ bytes }) => {
    const network = new MemoryNetwork({ seed: 11, mode: 'manual' })
    const a = network.connect(alice)
    listen(network.connect(bob))
    expect(() => a.send(bob, bytes)).toThrow(expect.objectContaining({
      code: 'invariant',
      cause: expect.objectContaining({ code: 'codec' }),
    }))
    expect(network.stats.sent).toBe(0)
    expect(network.inFlight).toBe(0)
  })
})

describe('connections', () => {
  test('connecting an address again replaces its transport', () => {
    const network = new MemoryNetwork({ seed: 12, mode: 'manual' })
    const a = network.connect(alice)
    const before = network.connect(bob)
    const atBefore = listen(before)
    a.send(bob, message(1)) // in flight across the restart: the new transport gets it
    const after = network.connect(bob)
    const atAfter = listen(after)
    a.send(bob, message(2))
    network.deliverAll()
    expect(atBefore).toEqual([])
    expect(atAfter.map((r) => r.n)).toEqual([1, 2])
    expect(() => before.send(alice, message(3))).toThrow(expect.objectContaining({ code: 'invariant' }))
  })

  test('closing a replaced transport leaves its successor connected', async () => {
    const network = new MemoryNetwork({ seed: 13, mode: 'manual' })
    const a = network.connect(alice)
    const before = network.connect(bob)
    const after = network.connect(bob)
    const received = listen(after)
    await before.close()
    a.send(bob, message(1))
    network.deliverAll()
    expect(received).toHaveLength(1)
  })

  test('messages where nobody listens are counted as undeliverable', async () => {
    const network = new MemoryNetwork({ seed: 14, mode: 'manual' })
    const a = network.connect(alice)
    const b = network.connect(bob)
    network.connect(carol) // connected, but no handler
    const atBob = listen(b)
    a.send(dave, message(1))
    a.send(carol, message(2))
    a.send(bob, message(3))
    await b.close()
    network.deliverAll()
    expect(atBob).toEqual([])
    expect(network.stats).toMatchObject({ sent: 3, delivered: 0, undeliverable: 3 })
    expect(() => b.send(alice, message(4))).toThrow(expect.objectContaining({ code: 'invariant' }))
    expectConserved(network)
  })

  test('addresses match whatever their letter case', () => {
    const network = new MemoryNetwork({ seed: 15, mode: 'manual' })
    const a = network.connect(alice)
    const received = listen(network.connect(toAddress('0x00000000000000000000000000000000000A11CE')))
    const b = network.connect(bob)
    b.send(alice, message(1))
    network.deliverAll()
    network.partition(alice.toUpperCase().replace('0X', '0x') as Address, bob, true)
    b.send(alice, message(2))
    network.deliverAll()
    expect(received.map((r) => r.n)).toEqual([1])
    expect(() => a.send(bob, message(3))).toThrow(expect.objectContaining({ code: 'invariant' })) // replaced
  })
})

describe('handler failures', () => {
  test('a throwing handler does not stop delivery, and the error is kept', async () => {
    const network = new MemoryNetwork({ seed: 16 })
    const [a, b] = [network.connect(alice), network.connect(bob)]
    const boom = new Error('handler bug')
    const received: number[] = []
    b.onMessage((_from, bytes) => {
      received.push(numberOf(bytes))
      if (numberOf(bytes) === 2) throw boom
    })
    for (const n of range(5)) a.send(bob, message(n))
    await network.idle()
    expect(received).toEqual(range(5))
    expect(network.stats).toMatchObject({ delivered: 5, handlerErrors: 1, lastHandlerError: boom })
  })

  test('a handler’s rejected promise is counted too', async () => {
    const network = new MemoryNetwork({ seed: 17, mode: 'manual' })
    const [a, b] = [network.connect(alice), network.connect(bob)]
    const boom = new Error('async handler bug')
    b.onMessage(async () => {
      throw boom
    })
    a.send(bob, message(1))
    network.deliverAll()
    await Promise.resolve() // let the rejection settle
    expect(network.stats).toMatchObject({ delivered: 1, handlerErrors: 1, lastHandlerError: boom })
  })
})

describe('bounds and misuse', () => {
  test('beyond inFlightMax the network overflows instead of growing', () => {
    const network = new MemoryNetwork({ seed: 18, mode: 'manual', inFlightMax: 3 })
    const a = network.connect(alice)
    listen(network.connect(bob))
    for (const n of range(5)) a.send(bob, message(n))
    expect(network.inFlight).toBe(3)
    expect(network.stats.overflowed).toBe(2)
    expectConserved(network)
  })

  test('deliverAll throws when handlers never stop replying (livelock)', () => {
    const network = new MemoryNetwork({ seed: 19, mode: 'manual' })
    const [a, b] = [network.connect(alice), network.connect(bob)]
    a.onMessage((from, bytes) => a.send(from, bytes))
    b.onMessage((from, bytes) => b.send(from, bytes))
    a.send(bob, message(0))
    expect(() => network.deliverAll(100)).toThrow(expect.objectContaining({ code: 'invariant' }))
  })

  test('idle() is for auto mode, deliverNext() for manual mode', async () => {
    await expect(new MemoryNetwork({ seed: 20, mode: 'manual' }).idle()).rejects.toMatchObject({ code: 'invariant' })
    expect(() => new MemoryNetwork({ seed: 20 }).deliverNext()).toThrow(expect.objectContaining({ code: 'invariant' }))
    await expect(new MemoryNetwork({ seed: 20 }).idle()).resolves.toBeUndefined()
  })

  test.each([
    { name: 'drop above 1', options: { drop: 1.5 } },
    { name: 'negative duplicate', options: { duplicate: -0.1 } },
    { name: 'reorder NaN', options: { reorder: Number.NaN } },
    { name: 'fractional maxDelayMs', options: { maxDelayMs: 0.5 } },
    { name: 'negative maxDelayMs', options: { maxDelayMs: -1 } },
    { name: 'unknown mode', options: { mode: 'fast' as 'auto' } },
    { name: 'inFlightMax 0', options: { inFlightMax: 0 } },
    { name: 'fractional seed', options: { seed: 0.5 } },
  ])('$name is refused', ({ options }) => {
    expect(() => new MemoryNetwork({ seed: 1, ...options })).toThrow(expect.objectContaining({ code: 'invariant' }))
  })
})
