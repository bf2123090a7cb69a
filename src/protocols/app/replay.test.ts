// Replay (replay.ts): verifyLog accepts the logs whole sessions export and reports the FIRST divergence of a
// tampered one at the seq of the tampered item (any single byte of an event, a state or a signature, or
// the order); stateAt from snapshots equals a full replay done here with the app alone.
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import type { Address, Bytes32, Hex } from '../../core/types.js'
import type { SignedState } from '../../core/signedState.js'
import type { ChannelEvent } from '../../log/event.js'
import { nextEvent } from '../../log/channelLog.js'
import { bytesToHex, trustedHexToBytes } from '../../core/hex.js'
import { codeOf } from '../../../test/hostile.js'
import type { AppRuntime } from '../../wasm/appRuntime.js'
import { exportLog } from './appChannel.js'
import { APP_EVENT_KIND, GENESIS_EVENT_KIND } from './appData.js'
import type { DivergenceKind, ExportedLog } from './replay.js'
import { genesisEvent, isSnapshotDue, snapshotEvery, stateAt, verifyLog } from './replay.js'
import type { Actor } from './testApps.js'
import { DEFAULT_SNAPSHOT_INTERVAL_EVENTS } from './limits.js'
import { alice, bob, carol, counterApp, dave, definitionOf, irene, move, openSession, raceApp } from './testApps.js'
import { toBytes32 } from '../../core/canonical.js'

const step = (k: number) => Uint8Array.of(k)

/** The log a whole race session of `actors` exports after `moves` turns (each adding 1). */
function raceLog(actors: readonly Actor[], moves: number): ExportedLog {
  const s = openSession(raceApp, actors, definitionOf(raceApp, actors, { target: 100 }))
  for (let t = 0; t < moves; t++) move(s, t % actors.length, step(1 + (t % 3)))
  return exportLog(s.channels[0]!)
}

const three = [alice, bob, carol]
const good = raceLog(three, 6) // 7 events: the genesis and six moves

function divergenceOf(log: ExportedLog, runtime: AppRuntime = raceApp): { seq: bigint; kind: DivergenceKind } {
  const result = verifyLog(log, runtime)
  if (result.ok) return expect.fail('expected a divergence')
  return { seq: result.divergence.seq, kind: result.divergence.kind }
}

/** The good log up to event `upTo` (inclusive), then `event` (with any signed state). */
function withEventAfter(upTo: number, event: (head: ChannelEvent) => ChannelEvent): ExportedLog {
  const events = good.events.slice(0, upTo)
  const signedStates = good.signedStates.slice(0, upTo)
  return { events: [...events, event(events[events.length - 1]!)], signedStates: [...signedStates, good.signedStates[upTo]!] }
}

const appEvent = (author: Actor, payload: Uint8Array) => (head: ChannelEvent) =>
  nextEvent({ seq: head.seq, hash: head.hash }, { kind: APP_EVENT_KIND, payload, author: author.address })

describe('verifyLog', () => {
  test.each([
    { n: 2, actors: [alice, bob] },
    { n: 4, actors: [alice, bob, carol, dave] },
  ])('accepts the log a session of $n exports, and returns its head, latest state and app state', ({ actors }) => {
    const log = raceLog(actors, 5)
    const result = verifyLog(log, raceApp)
    expect(result).toMatchObject({ ok: true, head: { seq: 6n, hash: log.events[5]!.hash }, latest: log.signedStates[5] })
    expect(result.ok && result.appState).toEqual(Uint8Array.of(5 % actors.length, 1 + 2 + 3 + 1 + 2, 0xff, actors.length, 100))
  })

  test('accepts any prefix, down to the genesis alone (turn 0 signed by all): the head says how far it goes', () => {
    for (let k = 1; k <= good.events.length; k++) {
      expect(verifyLog({ events: good.events.slice(0, k), signedStates: good.signedStates.slice(0, k) }, raceApp)).toMatchObject({ ok: true, head: { seq: BigInt(k) } })
    }
  })

  // Each case breaks the log at one seq; verifyLog names that seq and what broke.
  test.each<{ name: string; log: () => ExportedLog; runtime?: AppRuntime; seq: bigint; kind: DivergenceKind }>([
    { name: 'no events', log: () => ({ events: [], signedStates: [] }), seq: 1n, kind: 'empty' },
    { name: 'another module', log: () => good, runtime: counterApp, seq: 1n, kind: 'genesis' },
    {
      name: 'a first event of another kind',
      log: () => ({ ...good, events: [nextEvent({ seq: 0n, hash: toBytes32(`0x${'00'.repeat(32)}`) }, { ...good.events[0]!, kind: 'app.other' }), ...good.events.slice(1)] }),
      seq: 1n,
      kind: 'genesis',
    },
    {
      name: 'a genesis authored by participant 1',
      log: () => ({ ...good, events: [nextEvent({ seq: 0n, hash: toBytes32(`0x${'00'.repeat(32)}`) }, { ...good.events[0]!, author: bob.address }), ...good.events.slice(1)] }),
      seq: 1n,
      kind: 'genesis',
    },
    {
      name: 'params the app refuses',
      log: () => {
        const definition = { ...definitionOf(raceApp, three), params: Uint8Array.of(3) }
        return { events: [genesisEvent(definition)], signedStates: [] }
      },
      seq: 1n,
      kind: 'app_rejected',
    },
    { name: 'an event out of turn', log: () => withEventAfter(3, appEvent(alice, step(1))), seq: 4n, kind: 'wrong_turn' },
    { name: 'an event the app refuses', log: () => withEventAfter(3, appEvent(carol, step(9))), seq: 4n, kind: 'app_rejected' },
    { name: 'an event by a stranger', log: () => withEventAfter(3, appEvent(irene, step(1))), seq: 4n, kind: 'not_a_participant' },
    {
      name: 'an event of another kind',
      log: () => withEventAfter(3, (head) => nextEvent({ seq: head.seq, hash: head.hash }, { kind: GENESIS_EVENT_KIND, payload: step(1), author: carol.address })),
      seq: 4n,
      kind: 'invalid_event',
    },
    { name: 'a missing signed state', log: () => ({ ...good, signedStates: good.signedStates.slice(0, 4) }), seq: 5n, kind: 'missing_state' },
    { name: 'an extra signed state', log: () => ({ ...good, signedStates: [...good.signedStates, good.signedStates[6]!] }), seq: 8n, kind: 'extra_state' },
    {
      name: 'a state missing a signature',
      log: () => ({ ...good, signedStates: good.signedStates.map((s, i) => (i === 2 ? { ...s, signatures: [s.signatures[0]!, null, s.signatures[2]!] } : s)) }),
      seq: 3n,
      kind: 'signature',
    },
    {
      name: 'a state with too few signature slots',
      log: () => ({ ...good, signedStates: good.signedStates.map((s, i) => (i === 2 ? { ...s, signatures: s.signatures.slice(1) } : s)) }),
      seq: 3n,
      kind: 'signature',
    },
    {
      name: 'two signatures swapped',
      log: () => ({ ...good, signedStates: good.signedStates.map((s, i) => (i === 5 ? { ...s, signatures: [s.signatures[1]!, s.signatures[0]!, s.signatures[2]!] } : s)) }),
      seq: 6n,
      kind: 'signature',
    },
    {
      name: 'a state out of range',
      log: () => ({ ...good, signedStates: good.signedStates.map((s, i) => (i === 1 ? { ...s, state: { ...s.state, turnNum: -1n } } : s)) }),
      seq: 2n,
      kind: 'replay',
    },
    {
      name: 'the last event of a final game followed by another',
      log: () => {
        const s = openSession(raceApp, three, definitionOf(raceApp, three, { target: 2 }))
        move(s, 0, step(2))
        const log = exportLog(s.channels[0]!)
        const event = appEvent(bob, step(1))(log.events[1]!)
        return { events: [...log.events, event], signedStates: [...log.signedStates, log.signedStates[1]!] }
      },
      seq: 3n,
      kind: 'channel_final',
    },
  ])('reports $name at seq $seq ($kind)', ({ log, runtime, seq, kind }) => {
    expect(divergenceOf(log(), runtime)).toEqual({ seq, kind })
  })

  test('the divergence carries the refusal\'s code and a readable detail', () => {
    const result = verifyLog(withEventAfter(3, appEvent(alice, step(1))), raceApp)
    expect(result).toMatchObject({ ok: false, divergence: { seq: 4n, kind: 'wrong_turn', code: 'wrong_turn', detail: expect.stringContaining('turn') } })
  })

  // ---- one change anywhere: the first divergence is at the changed item's seq ----

  const flipHex = (hex: Hex, at: number, xor: number): Hex => {
    const bytes = trustedHexToBytes(hex)
    bytes[at % bytes.length]! ^= xor
    return bytesToHex(bytes)
  }
  const flipBytes = (bytes: Uint8Array, at: number, xor: number): Uint8Array => {
    const copy = Uint8Array.from(bytes)
    if (copy.length > 0) copy[at % copy.length]! ^= xor
    else return Uint8Array.of(xor)
    return copy
  }
  type Mutation = (log: ExportedLog, i: number, at: number, xor: number) => ExportedLog
  const onEvent = (change: (e: ChannelEvent, at: number, xor: number) => ChannelEvent): Mutation => (log, i, at, xor) => ({
    ...log,
    events: log.events.map((e, j) => (j === i ? change(e, at, xor) : e)),
  })
  const onState = (change: (s: SignedState, at: number, xor: number) => SignedState): Mutation => (log, i, at, xor) => ({
    ...log,
    signedStates: log.signedStates.map((s, j) => (j === i ? change(s, at, xor) : s)),
  })
  const mutations: Record<string, Mutation> = {
    'event payload': onEvent((e, at, xor) => ({ ...e, payload: flipBytes(e.payload, at, xor) })),
    'event author': onEvent((e, at, xor) => ({ ...e, author: flipHex(e.author, at, xor) as Address })),
    'event prevHash': onEvent((e, at, xor) => ({ ...e, prevHash: toBytes32(flipHex(e.prevHash, at, xor)) })),
    'event hash': onEvent((e, at, xor) => ({ ...e, hash: toBytes32(flipHex(e.hash, at, xor)) })),
    'event kind': onEvent((e, at, xor) => ({ ...e, kind: Buffer.from(flipBytes(Buffer.from(e.kind), at, xor & 0x3f || 1)).toString('latin1') })),
    'event seq': onEvent((e, _at, xor) => ({ ...e, seq: e.seq ^ BigInt(xor) })),
    'a signature': onState((s, at, xor) => ({ ...s, signatures: s.signatures.map((sig, k) => (k === at % s.signatures.length ? flipHex(sig!, at, xor) : sig)) })),
    'state appData': onState((s, at, xor) => ({ ...s, state: { ...s.state, appData: flipHex(s.state.appData, at, xor) } })),
    'state amount': onState((s, at, xor) => ({
      ...s,
      state: { ...s.state, outcome: [{ ...s.state.outcome[0]!, allocations: s.state.outcome[0]!.allocations.map((a, k) => (k === at % 3 ? { ...a, amount: a.amount ^ BigInt(xor) } : a)) }] },
    })),
    'state destination': onState((s, at, xor) => ({
      ...s,
      state: { ...s.state, outcome: [{ ...s.state.outcome[0]!, allocations: s.state.outcome[0]!.allocations.map((a, k) => (k === at % 3 ? { ...a, destination: flipHex(a.destination, at, xor) as Bytes32 } : a)) }] },
    })),
    'state turnNum': onState((s, _at, xor) => ({ ...s, state: { ...s.state, turnNum: s.state.turnNum ^ BigInt(xor) } })),
    'state isFinal': onState((s) => ({ ...s, state: { ...s.state, isFinal: !s.state.isFinal } })),
    'state channelNonce': onState((s, _at, xor) => ({ ...s, state: { ...s.state, channelNonce: s.state.channelNonce ^ BigInt(xor) } })),
    'state participant': onState((s, at, xor) => ({ ...s, state: { ...s.state, participants: s.state.participants.map((p, k) => (k === at % 3 ? (flipHex(p, at, xor) as Address) : p)) } })),
  }

  test('one changed byte anywhere: verification fails exactly at that seq', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(mutations)),
        fc.nat(good.events.length - 1),
        fc.nat(1000),
        fc.integer({ min: 1, max: 255 }),
        (name, i, at, xor) => {
          const divergence = divergenceOf(mutations[name]!(good, i, at, xor))
          expect(divergence.seq).toBe(BigInt(i + 1))
        },
      ),
      { numRuns: 300 },
    )
  })

  test('a changed order (two events or two states swapped, one dropped) fails at the first changed seq', () => {
    const swap = <T>(items: readonly T[], i: number, j: number): T[] => items.map((x, k) => (k === i ? items[j]! : k === j ? items[i]! : x))
    fc.assert(
      fc.property(fc.nat(good.events.length - 1), fc.nat(good.events.length - 1), fc.constantFrom('events', 'states', 'both', 'drop'), (i, j, what) => {
        // Dropping the last event and its state leaves a shorter valid log: a prefix verifies, and its head
        // (returned) tells the caller how far it goes.
        fc.pre(what === 'drop' ? i < good.events.length - 1 : i !== j)
        const first = Math.min(i, j)
        const log: ExportedLog =
          what === 'drop'
            ? { events: good.events.filter((_, k) => k !== i), signedStates: good.signedStates.filter((_, k) => k !== i) }
            : {
                events: what === 'states' ? good.events : swap(good.events, i, j),
                signedStates: what === 'events' ? good.signedStates : swap(good.signedStates, i, j),
              }
        const expected = what === 'drop' ? i : first
        expect(divergenceOf(log).seq).toBe(BigInt(expected + 1))
      }),
    )
  })
})

// ---- state at any seq ----

/** A log of `count` counter events by random authors, built without signatures (stateAt trusts the log). */
function counterEvents(actors: readonly Actor[], deltas: readonly (readonly [number, number])[]): ChannelEvent[] {
  const genesis = genesisEvent(definitionOf(counterApp, actors, { target: 0 }))
  const events = [genesis]
  for (const [author, delta] of deltas) events.push(appEvent(actors[author]!, step(delta))(events[events.length - 1]!))
  return events
}

/** The app state after every seq, replayed here with the app alone: [seq 1 = init, seq 2, ...]. */
function replayedByHand(actors: readonly Actor[], deltas: readonly (readonly [number, number])[]): Uint8Array[] {
  const init = counterApp.init(Uint8Array.of(actors.length, 0))
  if (!init.ok) throw new Error('init')
  const states = [init.state]
  for (const [author, delta] of deltas) {
    const next = counterApp.apply(states[states.length - 1]!, step(delta), author)
    if (!next.ok) throw new Error('apply')
    states.push(next.state)
  }
  return states
}

describe('stateAt and snapshots', () => {
  const four = [alice, bob, carol, dave]

  test('stateAt from snapshots every K equals a full replay, at any seq', () => {
    const moves = fc.array(fc.tuple(fc.nat(3), fc.integer({ min: 1, max: 9 })), { minLength: 1, maxLength: 80 })
    fc.assert(
      fc.property(moves, fc.integer({ min: 1, max: 12 }), fc.nat(), (deltas, k, pick) => {
        const events = counterEvents(four, deltas)
        const expected = replayedByHand(four, deltas)
        const snapshots = snapshotEvery(events, counterApp, k)
        expect(snapshots.map((s) => s.seq)).toEqual(expected.map((_, i) => BigInt(i + 1)).filter((seq) => seq % BigInt(k) === 0n))
        const seq = BigInt(1 + (pick % events.length))
        const at = stateAt(events, counterApp, seq, snapshots)
        expect(at).toEqual({ seq, hash: events[Number(seq) - 1]!.hash, appState: expected[Number(seq) - 1] })
        expect(stateAt(events, counterApp, seq)).toEqual(at)
      }),
    )
  })

  test('on a 100k-event log, stateAt replays at most K − 1 events after the nearest snapshot', () => {
    const deltas = Array.from({ length: 100_000 }, (_, i) => [i % 4, 1 + (i % 9)] as const)
    const events = counterEvents(four, deltas)
    const snapshots = snapshotEvery(events, counterApp)
    expect(snapshots).toHaveLength(Math.floor(100_001 / DEFAULT_SNAPSHOT_INTERVAL_EVENTS))
    let applied = 0
    const counting: AppRuntime = { ...counterApp, apply: (s, e, a) => (applied++, counterApp.apply(s, e, a)) }
    const at = stateAt(events, counting, 100_001n, snapshots)
    expect(applied).toBe(100_001 % DEFAULT_SNAPSHOT_INTERVAL_EVENTS)
    expect(Buffer.from(at.appState).readUInt32BE(0)).toBe(deltas.reduce((sum, [, d]) => sum + d, 0))
  })

  test.each([
    { name: 'seq 0', run: (events: ChannelEvent[]) => stateAt(events, counterApp, 0n), code: 'out_of_range' },
    { name: 'a seq past the end', run: (events: ChannelEvent[]) => stateAt(events, counterApp, 5n), code: 'out_of_range' },
    { name: 'an empty log', run: () => stateAt([], counterApp, 1n), code: 'out_of_range' },
    { name: 'another module', run: (events: ChannelEvent[]) => stateAt(events, raceApp, 2n), code: 'app_mismatch' },
    {
      name: 'a snapshot of another log (our bug)',
      run: (events: ChannelEvent[]) => stateAt(events, counterApp, 3n, [{ seq: 2n, hash: toBytes32(`0x${'12'.repeat(32)}`), appState: new Uint8Array(0) }]),
      code: 'invariant',
    },
    {
      name: 'a broken link',
      run: (events: ChannelEvent[]) => stateAt(events.map((e, i) => (i === 2 ? { ...e, payload: step(3) } : e)), counterApp, 4n),
      code: 'broken_log',
    },
    { name: 'an interval of 0', run: (events: ChannelEvent[]) => snapshotEvery(events, counterApp, 0), code: 'out_of_range' },
    { name: 'an interval of 2^21', run: (events: ChannelEvent[]) => snapshotEvery(events, counterApp, 2 ** 21), code: 'out_of_range' },
  ])('refuses $name ($code)', ({ run, code }) => {
    expect(codeOf(() => run(counterEvents(four, [[0, 1], [1, 2], [2, 3]])))).toBe(code)
  })

  test('an event a verified log could not hold is refused on replay', () => {
    const events = counterEvents(four, [[0, 1]])
    const stranger = appEvent(irene, step(1))(events[1]!)
    const refused = appEvent(alice, step(0))(events[1]!)
    expect(codeOf(() => stateAt([...events, stranger], counterApp, 3n))).toBe('not_a_participant')
    expect(codeOf(() => stateAt([...events, refused], counterApp, 3n))).toBe('app_rejected')
  })

  test('isSnapshotDue at multiples of K only', () => {
    const k = BigInt(DEFAULT_SNAPSHOT_INTERVAL_EVENTS)
    expect([0n, 1n, k - 1n, k, 2n * k].map((seq) => isSnapshotDue(seq))).toEqual([false, false, false, true, true])
    expect([3n, 4n, 6n].map((seq) => isSnapshotDue(seq, 3))).toEqual([true, false, true])
  })
})
