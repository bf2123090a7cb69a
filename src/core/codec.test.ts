// The wire codec (DESIGN §3, ADR 0003): decoding arbitrary bytes returns a value or throws code 'codec',
// nothing else, and leaves the decoder working; the envelope is [version, kind, body].
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { WIRE_VERSION, decodeEnvelope, decodeValue, encodeEnvelope, encodeValue } from './codec.js'
import { MAX_MESSAGE_BYTES } from './limits.js'
import { codeOf, hostileMessages, hostileValues, outcomeOf, settle } from '../../test/hostile.js'

/** Buffers (what msgpackr returns for bin) as plain Uint8Arrays, for deep comparison. */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return new Uint8Array(value)
  if (Array.isArray(value)) return value.map(plain)
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]))
  return value
}

// The codec refuses these keys (msgpackr renames '__proto__' to '__proto_' while decoding, so both are refused).
const FORBIDDEN_KEYS = new Set(['__proto__', '__proto_', 'constructor', 'prototype'])
const key = fc.string({ unit: 'binary', maxLength: 12 }).filter((k) => !FORBIDDEN_KEYS.has(k))
const leaf = fc.oneof(
  fc.integer(),
  fc.double().map((d) => (Object.is(d, -0) ? 0 : d)),
  fc.bigInt({ min: -(2n ** 300n), max: 2n ** 300n }),
  fc.constantFrom(0n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 63n, 2n ** 64n - 1n, 2n ** 64n, 2n ** 256n - 1n),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.boolean(),
  fc.constant(null),
  fc.uint8Array({ maxLength: 70 }),
)
/** Values the wire carries: JSON-like with bigints and byte strings, nesting well under the depth cap. */
const wireValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small', maxDepth: 5 }, leaf, fc.array(tie('node'), { maxLength: 5 }), fc.dictionary(key, tie('node'), { maxKeys: 5, noNullPrototype: true })),
})).node
const kind = fc.string({ minLength: 1, maxLength: 64 })

const referenceMessage = encodeEnvelope('state', [[Uint8Array.of(1, 2, 3)], 2n ** 200n, -5n, 'text', { a: [true, null] }])
const referenceEnvelope = { version: 1, kind: 'state', body: [[Uint8Array.of(1, 2, 3)], 2n ** 200n, -5n, 'text', { a: [true, null] }] }
/** After any hostile input the decoder must still decode a valid message correctly. */
const expectDecoderHealthy = (): void => {
  expect(plain(decodeEnvelope(referenceMessage))).toEqual(referenceEnvelope)
}

function nested(depth: number): unknown {
  let value: unknown = 1
  for (let i = 0; i < depth; i++) value = [value]
  return value
}

describe('encodeValue / decodeValue', () => {
  test('round trip: decode(encode(x)) = x, bigints stay bigints, bytes stay bytes', () => {
    fc.assert(
      fc.property(wireValue, (value) => {
        expect(plain(decodeValue(encodeValue(value)))).toEqual(plain(value))
      }),
      { numRuns: 1000 },
    )
  })

  test.each([
    { name: '0n', value: 0n },
    { name: '2^64 − 1', value: 2n ** 64n - 1n },
    { name: '2^256 − 1', value: 2n ** 256n - 1n },
    { name: '−2^255', value: -(2n ** 255n) },
  ])('a bigint ($name) decodes as a bigint, not a number', ({ value }) => {
    expect(decodeValue(encodeValue(value))).toBe(value)
  })

  test('refuses a value it cannot encode with code codec', () => {
    expect(codeOf(() => encodeValue(Symbol('s')))).toBe('codec')
  })

  // Whatever encodeValue accepts must decode back: a sender must not emit what every receiver refuses.
  test.each([
    { name: 'undefined', value: undefined },
    { name: '{ a: undefined }', value: { a: undefined } },
    { name: '[undefined]', value: [undefined] },
    { name: 'a function', value: () => 0 },
    { name: 'a Date', value: new Date(0) },
  ])('$name is refused at encode time, or decodes back', ({ value }) => {
    const encoded = outcomeOf(() => encodeValue(value))
    if (encoded.kind === 'value') expect(settle(() => decodeValue(encoded.value as Uint8Array)).kind).toBe('value')
    else expect(encoded.code).toBe('codec')
  })

  test.each([
    { name: 'empty', bytes: new Uint8Array(0) },
    { name: 'a string', bytes: 'deadbeef' },
    { name: 'an array of numbers', bytes: [0x93, 1, 2, 3] },
    { name: 'an ArrayBuffer', bytes: new ArrayBuffer(4) },
    { name: 'null', bytes: null },
  ])('refuses $name with codec', ({ bytes }) => {
    expect(codeOf(() => decodeValue(bytes as Uint8Array))).toBe('codec')
  })

  test('nesting: 16 levels decode, 17 are refused with codec', () => {
    expect(decodeValue(encodeValue(nested(16)))).toEqual(nested(16))
    expect(codeOf(() => decodeValue(encodeValue(nested(17))))).toBe('codec')
    expect(codeOf(() => decodeValue(new Uint8Array(200_000).fill(0x91)))).toBe('codec')
    expectDecoderHealthy()
  })

  test('size cap: a message of exactly the cap decodes, one byte more is refused before decoding', () => {
    const overhead = encodeEnvelope('k', new Uint8Array(70_000)).length - 70_000
    const atCap = encodeEnvelope('k', new Uint8Array(MAX_MESSAGE_BYTES - overhead))
    expect(atCap.length).toBe(MAX_MESSAGE_BYTES)
    expect(decodeEnvelope(atCap).kind).toBe('k')
    const over = encodeEnvelope('k', new Uint8Array(MAX_MESSAGE_BYTES - overhead + 1))
    expect(codeOf(() => decodeEnvelope(over))).toBe('codec')
    expect(codeOf(() => decodeValue(new Uint8Array(MAX_MESSAGE_BYTES + 1)))).toBe('codec')
    expect(codeOf(() => decodeValue(encodeValue('x'.repeat(100)), 50))).toBe('codec')
  })

  test('trailing bytes after one value are refused', () => {
    expect(codeOf(() => decodeValue(Uint8Array.from([...encodeValue([1, 2]), 0x00])))).toBe('codec')
  })
})

describe('prototype pollution', () => {
  const map = (k: string, inner: number[]): Uint8Array => Uint8Array.from([0x81, 0xa0 + k.length, ...Buffer.from(k), ...inner])
  test.each([
    { name: "{'__proto__': {polluted: 1}}", bytes: map('__proto__', [0x81, 0xa8, ...Buffer.from('polluted'), 0x01]) },
    { name: "{'__proto__': 1}", bytes: map('__proto__', [0x01]) },
    { name: "{'__proto__': null}", bytes: map('__proto__', [0xc0]) },
    { name: "{'__proto__': []}", bytes: map('__proto__', [0x90]) },
    { name: "nested {x: {'__proto__': 1}}", bytes: Uint8Array.from([0x81, 0xa1, 0x78, ...map('__proto__', [0x01])]) },
    { name: "record with key '__proto__'", bytes: Uint8Array.from([0xd4, 0x72, 0x40, 0x91, 0xa9, ...Buffer.from('__proto__'), 0x01]) },
    { name: "{'constructor': {prototype: 1}}", bytes: map('constructor', [0x81, 0xa9, ...Buffer.from('prototype'), 0x01]) },
    { name: "{'constructor': 1}", bytes: map('constructor', [0x01]) },
    { name: "{'prototype': 1}", bytes: map('prototype', [0x01]) },
  ])('a map with key $name is refused with codec, and nothing is polluted', ({ bytes }) => {
    const settled = settle(() => decodeValue(bytes))
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.prototype).not.toHaveProperty('polluted')
    expect(settled).toEqual({ kind: 'rejected', code: 'codec' })
    expectDecoderHealthy()
  })
})

describe('envelope', () => {
  test('round trip: [version, kind, body]', () => {
    fc.assert(
      fc.property(kind, wireValue, (k, body) => {
        expect(plain(decodeEnvelope(encodeEnvelope(k, body)))).toEqual({ version: WIRE_VERSION, kind: k, body: plain(body) })
      }),
      { numRuns: 500 },
    )
  })

  test('the version is 1 on the wire, first', () => {
    expect(decodeValue(encodeEnvelope('k', null))).toEqual([1, 'k', null])
  })

  test.each([
    { name: 'version 0', value: [0, 'k', null] },
    { name: 'version 2', value: [2, 'k', null] },
    { name: "version '1'", value: ['1', 'k', null] },
    { name: 'version 1n (uint64 on the wire)', value: [1n, 'k', null] },
    { name: 'version 1.5', value: [1.5, 'k', null] },
    { name: 'version null', value: [null, 'k', null] },
    { name: 'arity 2', value: [1, 'k'] },
    { name: 'arity 4', value: [1, 'k', null, null] },
    { name: 'arity 0', value: [] },
    { name: 'a map, not a tuple', value: { version: 1, kind: 'k', body: null } },
    { name: 'a bare string', value: 'k' },
    { name: 'kind empty', value: [1, '', null] },
    { name: 'kind of 65 characters', value: [1, 'k'.repeat(65), null] },
    { name: 'kind a number', value: [1, 5, null] },
    { name: 'kind bytes', value: [1, Uint8Array.of(0x6b), null] },
    { name: 'kind null', value: [1, null, null] },
  ])('refuses $name with codec', ({ value }) => {
    expect(codeOf(() => decodeEnvelope(encodeValue(value)))).toBe('codec')
  })

  test('a kind of 64 characters is accepted', () => {
    expect(decodeEnvelope(encodeEnvelope('k'.repeat(64), 1)).kind).toBe('k'.repeat(64))
  })
})

describe('hostile input', () => {
  test.each(hostileMessages.map((m) => ({ ...m })))('hostile message $name: a value or codec, and the decoder still works', ({ value }) => {
    const settled = outcomeOf(() => decodeEnvelope(value as Uint8Array))
    if (settled.kind === 'rejected') expect(settled.code).toBe('codec')
    expectDecoderHealthy()
  })

  test('every hostile value passed as the message is refused with codec', () => {
    const failures = hostileValues.flatMap(({ name, value }) => {
      const settled = settle(() => decodeEnvelope(value as Uint8Array))
      return settled.kind === 'rejected' && settled.code === 'codec' ? [] : [`${name}: ${JSON.stringify(settled)}`]
    })
    expect(failures).toEqual([])
    expectDecoderHealthy()
  })

  test('fuzz: arbitrary bytes give a value or codec, nothing else escapes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const settled = outcomeOf(() => decodeEnvelope(bytes))
        if (settled.kind === 'rejected') expect(settled.code).toBe('codec')
        expectDecoderHealthy()
      }),
      { numRuns: 3000 },
    )
  })

  // Bytes that make MessagePack headers (lengths, extensions, records) so mutations reach deep code paths.
  const interesting = fc.constantFrom(0x00, 0x40, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc4, 0xc6, 0xc7, 0xc9, 0xcb, 0xcf, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xff, 0x42, 0x72, 0x74, 0x78, 0x65)
  const mutation = fc.oneof(
    fc.record({ op: fc.constant('set' as const), at: fc.nat(), byte: fc.oneof(interesting, fc.integer({ min: 0, max: 255 })) }),
    fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.array(fc.oneof(interesting, fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 9 }) }),
    fc.record({ op: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 9 }) }),
    fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  )
  type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never
  function mutate(bytes: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
    let out = [...bytes]
    for (const m of mutations) {
      const at = out.length === 0 ? 0 : m.at % (out.length + 1)
      if (m.op === 'set' && out.length > 0) out[at % out.length] = m.byte
      if (m.op === 'insert') out.splice(at, 0, ...m.bytes)
      if (m.op === 'delete') out.splice(at, m.count)
      if (m.op === 'truncate') out = out.slice(0, at)
    }
    return Uint8Array.from(out)
  }

  test('fuzz: mutated valid envelopes give a value or codec, and the decoder still works', () => {
    fc.assert(
      fc.property(kind, wireValue, fc.array(mutation, { minLength: 1, maxLength: 4 }), (k, body, mutations) => {
        const bytes = mutate(encodeEnvelope(k, body), mutations)
        const settled = outcomeOf(() => decodeEnvelope(bytes))
        if (settled.kind === 'rejected') expect(settled.code).toBe('codec')
        expectDecoderHealthy()
      }),
      { numRuns: 3000 },
    )
  })
})
