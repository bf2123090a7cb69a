// The exported-log file (exportFormat.ts): logs of whole sessions and arbitrary logs come back from both
// encodings as they went in (up to hex case), the MessagePack reader agrees with the wire's strict decoder
// on valid signed states, invalid-but-well-typed content is left for verifyLog to pinpoint, and hostile or
// corrupted files are refused with CodecError only (the catalogue at every position, fuzzed bytes).
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import type { Hex } from '../../core/types.js'
import type { SignedState } from '../../core/signedState.js'
import type { ChannelEvent } from '../../log/event.js'
import { decodeValue, encodeValue } from '../../core/codec.js'
import { signedStateFromWire, signedStateToWire } from '../../core/wire.js'
import { bytesToHex } from '../../core/hex.js'
import { nextEvent } from '../../log/channelLog.js'
import * as arb from '../../../test/arbitraries.js'
import { codeOf, hostileValues, outcomeOf, walkHostile } from '../../../test/hostile.js'
import type { Path } from '../../../test/hostile.js'
import { exportLog } from './appChannel.js'
import { APP_EVENT_KIND } from './appData.js'
import type { ExportedLog } from './replay.js'
import { genesisEvent, verifyLog } from './replay.js'
import type { ExportEncoding } from './exportFormat.js'
import { EXPORT_FORMAT, decodeExportedLog, detectEncoding, encodeExportedLog } from './exportFormat.js'
import type { Actor } from './testApps.js'
import { alice, bob, carol, dave, definitionOf, move, openSession, raceApp } from './testApps.js'

const encodings: readonly ExportEncoding[] = ['msgpack', 'json']

function raceLog(actors: readonly Actor[], moves: number): ExportedLog {
  const s = openSession(raceApp, actors, definitionOf(raceApp, actors, { target: 100 }))
  for (let t = 0; t < moves; t++) move(s, t % actors.length, Uint8Array.of(1 + (t % 3)))
  return exportLog(s.channels[0]!)
}

const good = raceLog([alice, bob, carol], 5)

/** A log as plain data for comparisons: bigints and booleans as they are, bytes as hex, every hex lowercase. */
function normal(log: ExportedLog): unknown {
  return arb.lowerCaseDeep({
    events: log.events.map((e) => ({ ...e, payload: bytesToHex(e.payload) })),
    signedStates: log.signedStates,
  })
}

describe('round trips', () => {
  test.each(encodings)('a whole session\'s log comes back from %s as it went in, and verifies', (encoding) => {
    for (const log of [good, raceLog([alice, bob, carol, dave], 7)]) {
      const file = decodeExportedLog(encodeExportedLog(log, encoding))
      expect(file.encoding).toBe(encoding)
      expect(file.appId).toBe(raceApp.appId)
      expect(normal(file.log)).toEqual(normal(log))
      expect(file.log.events.every((e) => e.payload.constructor === Uint8Array)).toBe(true)
      expect(verifyLog(file.log, raceApp)).toMatchObject({ ok: true, head: { seq: BigInt(log.events.length) } })
    }
  })

  test('the two encodings hold the same log; detection looks at the first byte only', () => {
    const [packed, json] = encodings.map((e) => encodeExportedLog(good, e))
    expect(detectEncoding(packed!)).toBe('msgpack')
    expect(detectEncoding(json!)).toBe('json')
    expect(detectEncoding(Buffer.concat([Buffer.from('\ufeff \n\t', 'utf8'), json!]))).toBe('json')
    expect(normal(decodeExportedLog(packed!).log)).toEqual(normal(decodeExportedLog(json!).log))
    // JSON is readable: bigints as decimal strings, bytes as 0x hex.
    const document = JSON.parse(Buffer.from(json!).toString('utf8')) as { format: string; version: number; log: { events: Record<string, unknown>[]; signedStates: { state: Record<string, unknown> }[] } }
    expect(document).toMatchObject({ format: EXPORT_FORMAT, version: 1 })
    expect(document.log.events[1]).toMatchObject({ seq: '2', kind: APP_EVENT_KIND, payload: '0x01' })
    expect(document.log.signedStates[2]!.state).toMatchObject({ turnNum: '2', channelNonce: '7', challengeDuration: 86_400 })
  })

  /** Arbitrary well-typed logs: a real genesis, then events and signed states that need not be valid. */
  const anyEvent: fc.Arbitrary<Omit<ChannelEvent, 'seq' | 'prevHash' | 'hash'>> = fc.record({
    kind: fc.string({ minLength: 1, maxLength: 16 }),
    payload: arb.bytes(0, 300),
    author: arb.address,
  })
  const anySignedState: fc.Arbitrary<SignedState> = fc
    .tuple(arb.state, fc.array(fc.option(arb.signature, { nil: null }), { minLength: 1, maxLength: 4 }))
    .map(([state, signatures]) => ({ state, signatures }))
  const anyLog: fc.Arbitrary<ExportedLog> = fc
    .tuple(fc.array(anyEvent, { maxLength: 5 }), fc.array(anySignedState, { maxLength: 5 }))
    .map(([inputs, signedStates]) => {
      const events = [genesisEvent(definitionOf(raceApp, [alice, bob]))]
      for (const input of inputs) events.push(nextEvent(events[events.length - 1]!, input))
      return { events, signedStates }
    })

  test('decode(encode(log)) = log for arbitrary logs, in both encodings', () => {
    fc.assert(
      fc.property(anyLog, fc.constantFrom(...encodings), (log, encoding) => {
        expect(normal(decodeExportedLog(encodeExportedLog(log, encoding)).log)).toEqual(normal(log))
      }),
      { numRuns: 200 },
    )
  })

  test('on valid signed states the MessagePack reader agrees with the wire\'s strict decoder', () => {
    const validSignedState = arb.state.chain((state) =>
      fc.array(fc.option(arb.signature, { nil: null }), { minLength: state.participants.length, maxLength: state.participants.length }).map((signatures) => ({ state, signatures })),
    )
    fc.assert(
      fc.property(anyLog, fc.array(validSignedState, { maxLength: 4 }), (log, signedStates) => {
        const strict = signedStates.map((s) => signedStateFromWire(decodeValue(encodeValue(signedStateToWire(s)))))
        expect(decodeExportedLog(encodeExportedLog({ ...log, signedStates }, 'msgpack')).log.signedStates).toEqual(strict)
      }),
      { numRuns: 100 },
    )
  })
})

describe('validity is verifyLog\'s to judge', () => {
  const flip = (hex: Hex, at: number, value: number): Hex => `${hex.slice(0, 2 + 2 * at)}${value.toString(16).padStart(2, '0')}${hex.slice(4 + 2 * at)}` as Hex

  test.each([
    { name: 'a signature with v = 0', change: (s: SignedState) => ({ ...s, signatures: [flip(s.signatures[0]!, 64, 0), ...s.signatures.slice(1)] }) },
    { name: 'a signature with a high s', change: (s: SignedState) => ({ ...s, signatures: [flip(s.signatures[0]!, 32, 0xff), ...s.signatures.slice(1)] }) },
    { name: 'a turnNum past uint48', change: (s: SignedState) => ({ ...s, state: { ...s.state, turnNum: 2n ** 48n } }) },
    { name: 'a missing signature', change: (s: SignedState) => ({ ...s, signatures: [null, ...s.signatures.slice(1)] }) },
  ])('$name decodes, and verifyLog names its seq', ({ change }) => {
    const log = { ...good, signedStates: good.signedStates.map((s, i) => (i === 3 ? change(s) : s)) }
    for (const encoding of encodings) {
      const decoded = decodeExportedLog(encodeExportedLog(log, encoding)).log
      expect(verifyLog(decoded, raceApp)).toMatchObject({ ok: false, divergence: { seq: 4n } })
    }
  })

  test('an event of seq past uint64 decodes; the chain check refuses it at its place', () => {
    const events = good.events.map((e, i) => (i === 2 ? { ...e, seq: 2n ** 70n } : e))
    const decoded = decodeExportedLog(encodeExportedLog({ ...good, events }, 'json')).log
    expect(decoded.events[2]!.seq).toBe(2n ** 70n)
    expect(verifyLog(decoded, raceApp)).toMatchObject({ ok: false, divergence: { seq: 3n, kind: 'hash_chain' } })
  })
})

// ---- refusals ----

const packedValue = decodeValue(encodeExportedLog(good, 'msgpack'), Number.MAX_SAFE_INTEGER)
const jsonValue = JSON.parse(Buffer.from(encodeExportedLog(good, 'json')).toString('utf8')) as unknown
const fromValue = (value: unknown) => decodeExportedLog(encodeValue(value))
const fromJson = (value: unknown) => decodeExportedLog(Buffer.from(JSON.stringify(value), 'utf8'))
const edit = (root: unknown, change: (copy: any) => void): unknown => {
  const copy = structuredClone(root)
  change(copy)
  return copy
}

describe('refusals: CodecError naming the field', () => {
  test.each<{ name: string; decode: () => unknown; message?: RegExp }>([
    { name: 'an empty file', decode: () => decodeExportedLog(new Uint8Array(0)), message: /empty/ },
    { name: 'not bytes', decode: () => decodeExportedLog('{}' as unknown as Uint8Array) },
    { name: 'a MessagePack number', decode: () => decodeExportedLog(encodeValue(7)), message: /not a channels-app-log/ },
    { name: 'JSON text that is not JSON', decode: () => decodeExportedLog(Buffer.from('{"format": ')), message: /not valid JSON/ },
    { name: 'JSON in invalid UTF-8', decode: () => decodeExportedLog(Uint8Array.of(0x7b, 0xff, 0xfe, 0x7d)), message: /UTF-8/ },
    { name: 'JSON nested very deep', decode: () => decodeExportedLog(Buffer.from(`{"format":${'['.repeat(200_000)}`)) },
    { name: 'another format', decode: () => fromJson(edit(jsonValue, (d) => (d.format = 'channels-ledger-log'))), message: /not a channels-app-log/ },
    { name: 'version 2', decode: () => fromValue(edit(packedValue, (d) => (d.version = 2))), message: /version 2/ },
    { name: 'version "1"', decode: () => fromJson(edit(jsonValue, (d) => (d.version = '1'))), message: /version "1"/ },
    { name: 'an unknown envelope field', decode: () => fromJson(edit(jsonValue, (d) => (d.extra = 1))), message: /unknown field "extra"/ },
    { name: 'a JSON __proto__ field', decode: () => decodeExportedLog(Buffer.from(JSON.stringify(jsonValue).replace('{"format"', '{"__proto__":{"x":1},"format"'))), message: /unknown field/ },
    { name: 'no log', decode: () => fromValue(edit(packedValue, (d) => delete d.log)), message: /log is missing/ },
    { name: 'an appId of 31 bytes', decode: () => fromValue(edit(packedValue, (d) => (d.appId = d.appId.subarray(1)))), message: /appId must be 32 bytes/ },
    { name: 'events not a list', decode: () => fromJson(edit(jsonValue, (d) => (d.log.events = {}))), message: /log\.events must be a list/ },
    { name: 'an event tuple of 5', decode: () => fromValue(edit(packedValue, (d) => d.log.events[1].pop())), message: /log\.events\[1\] must be a 6-tuple/ },
    { name: 'a negative seq', decode: () => fromValue(edit(packedValue, (d) => (d.log.events[1][0] = -2n))), message: /events\[1\]\.seq/ },
    { name: 'a seq of 2^256', decode: () => fromValue(edit(packedValue, (d) => (d.log.events[1][0] = 2n ** 256n))), message: /events\[1\]\.seq/ },
    { name: 'a JSON seq with a leading zero', decode: () => fromJson(edit(jsonValue, (d) => (d.log.events[1].seq = '02'))), message: /events\[1\]\.seq/ },
    { name: 'a JSON seq in exponent form', decode: () => fromJson(edit(jsonValue, (d) => (d.log.events[1].seq = '2e0'))), message: /events\[1\]\.seq/ },
    { name: 'a JSON seq as a float', decode: () => fromJson(edit(jsonValue, (d) => (d.log.events[1].seq = 2.5))), message: /events\[1\]\.seq/ },
    { name: 'a kind over 64 bytes', decode: () => fromJson(edit(jsonValue, (d) => (d.log.events[1].kind = 'é'.repeat(33)))), message: /events\[1\]\.kind/ },
    { name: 'a payload in odd hex', decode: () => fromJson(edit(jsonValue, (d) => (d.log.events[1].payload = '0x012'))), message: /events\[1\]\.payload/ },
    { name: 'an author of 21 bytes', decode: () => fromJson(edit(jsonValue, (d) => (d.log.events[1].author += 'aa'))), message: /events\[1\]\.author/ },
    { name: 'a signature of 64 bytes', decode: () => fromValue(edit(packedValue, (d) => (d.log.signedStates[2][1][0] = d.log.signedStates[2][1][0].subarray(1)))), message: /signedStates\[2\]\.signatures\[0\] must be 65 bytes/ },
    { name: 'isFinal as a string', decode: () => fromJson(edit(jsonValue, (d) => (d.log.signedStates[2].state.isFinal = 'false'))), message: /signedStates\[2\]\.state\.isFinal/ },
    { name: 'an exit without assetMetadata', decode: () => fromJson(edit(jsonValue, (d) => delete d.log.signedStates[0].state.outcome[0].assetMetadata)), message: /outcome\[0\]\.assetMetadata is missing/ },
    { name: 'an amount as a JSON number above 2^53', decode: () => fromJson(edit(jsonValue, (d) => (d.log.signedStates[0].state.outcome[0].allocations[0].amount = 2 ** 60))), message: /allocations\[0\]\.amount/ },
    { name: '256 participants', decode: () => fromJson(edit(jsonValue, (d) => (d.log.signedStates[0].state.participants = new Array(256).fill(alice.address)))), message: /more than 255/ },
  ])('$name', ({ decode, message }) => {
    let thrown: unknown
    expect(codeOf(() => {
      try {
        return decode()
      } catch (error) {
        thrown = error
        throw error
      }
    })).toBe('codec')
    if (message) expect((thrown as Error).message).toMatch(message)
  })

  // Every hostile value at every kind of position, in both encodings: a typed refusal, never a crash.
  const packedPaths: Path[] = [
    [], ['format'], ['version'], ['appId'], ['log'], ['log', 'events'], ['log', 'signedStates'], ['log', 'events', 1],
    ...[0, 1, 2, 3, 4, 5].map((k) => ['log', 'events', 1, k]),
    ['log', 'signedStates', 1], ['log', 'signedStates', 1, 0], ['log', 'signedStates', 1, 1], ['log', 'signedStates', 1, 1, 0],
    ...[0, 1, 2, 3, 4, 5, 6, 7].map((k) => ['log', 'signedStates', 1, 0, k]),
    ['log', 'signedStates', 1, 0, 0, 0], ['log', 'signedStates', 1, 0, 4, 0], ['log', 'signedStates', 1, 0, 4, 0, 1], ['log', 'signedStates', 1, 0, 4, 0, 3, 0, 1],
  ]
  const jsonPaths: Path[] = [
    [], ['format'], ['version'], ['appId'], ['log'], ['log', 'events', 1],
    ...['seq', 'kind', 'payload', 'author', 'prevHash', 'hash'].map((k) => ['log', 'events', 1, k]),
    ['log', 'signedStates', 1, 'signatures', 0],
    ...['participants', 'channelNonce', 'appDefinition', 'challengeDuration', 'outcome', 'appData', 'turnNum', 'isFinal'].map((k) => ['log', 'signedStates', 1, 'state', k]),
    ['log', 'signedStates', 1, 'state', 'outcome', 0, 'assetMetadata', 'assetType'], ['log', 'signedStates', 1, 'state', 'outcome', 0, 'allocations', 0, 'amount'],
  ]
  // Values JSON cannot carry (bigints, symbols, functions) are the MessagePack walk's.
  const viaJson = (value: unknown) => {
    let text: string | undefined
    try {
      text = JSON.stringify(value)
    } catch {
      return 'not representable in JSON'
    }
    return text === undefined ? 'not representable in JSON' : decodeExportedLog(Buffer.from(text, 'utf8'))
  }
  // As JSON the 10^7-hole array is 50 MB of nulls, which only measures JSON.parse.
  const jsonHostile = hostileValues.filter((c) => !c.name.startsWith('huge sparse array'))

  test('the hostile catalogue at every position of the MessagePack form', () => {
    expect(packedPaths.flatMap((path) => walkHostile(packedValue, path, fromValue))).toEqual([])
  })

  test('the hostile catalogue at every position of the JSON form', () => {
    expect(jsonPaths.flatMap((path) => walkHostile(jsonValue, path, viaJson, undefined, jsonHostile))).toEqual([])
  })

  test('fuzz: arbitrary bytes, and valid files with bytes changed, cut or inserted, decode or throw CodecError', () => {
    const files = encodings.map((e) => encodeExportedLog(good, e))
    const corrupted = fc
      .tuple(fc.nat(1), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'cut', 'insert')), { minLength: 1, maxLength: 4 }))
      .map(([which, edits]) => {
        let bytes = Buffer.from(files[which]!)
        for (const [at, value, how] of edits) {
          const i = at % bytes.length
          if (how === 'set') bytes[i] = value
          else if (how === 'cut') bytes = bytes.subarray(0, i)
          else bytes = Buffer.concat([bytes.subarray(0, i), Uint8Array.of(value), bytes.subarray(i)])
          if (bytes.length === 0) break
        }
        return bytes
      })
    fc.assert(
      fc.property(fc.oneof(corrupted, fc.uint8Array({ maxLength: 200 }), fc.json().map((text) => Buffer.from(text, 'utf8'))), (bytes) => {
        const settled = outcomeOf(() => decodeExportedLog(bytes))
        if (settled.kind === 'rejected') expect(settled.code).toBe('codec')
      }),
      { numRuns: 1000 },
    )
  })
})
