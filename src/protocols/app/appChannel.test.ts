// App channels (appChannel.ts, issue 7): whole sessions of 2 and 4 participants with the TypeScript test
// apps, turn 0, every refusal by its code with nothing signed, idempotence, countersignatures and updates
// arriving out of order, never two states at one turn (issue 13: rivals refused, contested turns, any
// interleaving of proposals), and a seeded random network. Signatures are checked with the core's
// recoverStateSigner on the states the nodes hold, not with the module's helpers.
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import type { Bytes32, Hex, Signature } from '../../core/types.js'
import type { State } from '../../core/state.js'
import { hashState } from '../../core/hashState.js'
import { recoverStateSigner } from '../../core/signState.js'
import { keccak256 } from '../../core/keccak.js'
import { nextEvent } from '../../log/channelLog.js'
import { hashEvent } from '../../log/event.js'
import { createRandom } from '../../core/seededRandom.js'
import { codeOf } from '../../../test/hostile.js'
import type { AppRuntime } from '../../wasm/appRuntime.js'
import type { AppChannel, AppCountersignature, AppUpdate } from './appChannel.js'
import { exportLog, latestSignedState, missingSignatures, newAppChannel, receiveCountersignature, receiveUpdate, submitEvent } from './appChannel.js'
import { APP_EVENT_KIND, decodeAppData } from './appData.js'
import { replayEvent, verifyLog } from './replay.js'
import type { Actor, Session } from './testApps.js'
import {
  TestAppCallError,
  alice,
  bob,
  broadcastCountersignature,
  carol,
  counterApp,
  dave,
  definitionOf,
  deliverUpdate,
  irene,
  move,
  openSession,
  raceApp,
} from './testApps.js'
import { toBytes32 } from '../../core/canonical.js'

const step = (k: number) => Uint8Array.of(k)
const two = [alice, bob]
const three = [alice, bob, carol]
const four = [alice, bob, carol, dave]

/** Every node holds the same latest state, signed by every participant, and nothing pending. */
function expectAgreed(session: Session): State {
  const [first, ...rest] = session.channels.map((ch) => latestSignedState(ch)!)
  for (const other of rest) {
    expect(hashState(other.state)).toBe(hashState(first!.state))
    expect(other.signatures).toEqual(first!.signatures)
  }
  session.actors.forEach((a, i) => expect(recoverStateSigner(first!.state, first!.signatures[i]!)).toBe(a.address))
  for (const ch of session.channels) expect(ch.pending).toBeNull()
  return first!.state
}

function amounts(state: State): bigint[] {
  return state.outcome[0]!.allocations.map((a) => a.amount)
}

/** The update `author` would send for `payload` from its node in `session`, without changing the session. */
function proposal(session: Session, author: number, payload: Uint8Array): AppUpdate {
  return submitEvent(session.channels[author]!, session.app, payload, session.actors[author]!.signer).update
}

/**
 * An update no honest node would send: `author` signs `state` (by default the latest state with the next
 * turn number) for an event of `payload` on the latest turn of node `at`.
 */
function forged(session: Session, at: number, author: Actor, payload: Uint8Array, stateOf?: (event: AppUpdate['event']) => State): AppUpdate {
  const latest = session.channels[at]!.latest!
  const event = nextEvent({ seq: latest.event.seq, hash: latest.event.hash }, { kind: APP_EVENT_KIND, payload, author: author.address })
  const state = stateOf?.(event) ?? { ...latest.signed.state, turnNum: latest.signed.state.turnNum + 1n }
  const signatures = session.actors.map((a) => (a === author ? author.signer.signHash(hashState(state)) : null))
  return { event, signedState: { state, signatures }, baseSignatures: latest.signed.signatures as Signature[] }
}

describe('a whole session', () => {
  test.each([
    { n: 2, actors: two },
    { n: 4, actors: four },
  ])('race with $n participants: turns in index order, every turn signed by all, the winner takes the pot', ({ actors }) => {
    const s = openSession(raceApp, actors, definitionOf(raceApp, actors, { target: 10, deposits: actors.map((_, i) => BigInt(10 * (i + 1))) }))
    const total = actors.reduce((sum, _, i) => sum + BigInt(10 * (i + 1)), 0n)
    expect(amounts(expectAgreed(s))).toEqual(actors.map((_, i) => BigInt(10 * (i + 1)))) // turn 0: deposits back
    const steps = [3, 3, 3, 1] // totals 3, 6, 9, 10: the fourth mover wins
    steps.forEach((k, t) => {
      move(s, t % actors.length, step(k))
      const state = expectAgreed(s)
      expect(state.turnNum).toBe(BigInt(t + 1))
      expect(amounts(state).reduce((a, b) => a + b, 0n)).toBe(total)
    })
    const winner = 3 % actors.length
    expect(amounts(expectAgreed(s))).toEqual(actors.map((_, i) => (i === winner ? total : 0n)))
    expect(codeOf(() => submitEvent(s.channels[0]!, raceApp, step(1), alice.signer))).toBe('channel_final')
  })

  test('every signed state commits to the log head, the event count and the app state', () => {
    const s = openSession(counterApp, three)
    move(s, 1, step(4))
    move(s, 1, step(2))
    for (const ch of s.channels) {
      const latest = ch.latest!
      expect(decodeAppData(latest.signed.state.appData)).toEqual({ logHead: latest.event.hash, eventCount: 3n, appStateHash: keccak256(latest.appState) })
      expect(latest.signed.state.turnNum).toBe(2n)
      expect(latest.signed.state.isFinal).toBe(false)
      expect(latest.signed.state.appDefinition).toBe(definitionOf(counterApp, three).fixed.appDefinition)
    }
    expect(amounts(expectAgreed(s))).toEqual([0n, 300n, 0n]) // bob added everything
  })

  test('each node exports the same log, and it verifies', () => {
    const s = openSession(raceApp, four)
    for (let t = 0; t < 5; t++) move(s, t % 4, step(1))
    const exports = s.channels.map(exportLog)
    for (const log of exports) {
      expect(log).toEqual(exports[0])
      expect(log.events).toHaveLength(6)
      expect(verifyLog(log, raceApp)).toMatchObject({ ok: true, head: { seq: 6n } })
    }
  })

  test('counter with 4 participants and any order of authors: the pot is split by contributions', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(3), fc.integer({ min: 1, max: 9 })), { minLength: 1, maxLength: 6 }), (moves) => {
        const s = openSession(counterApp, four, definitionOf(counterApp, four, { target: 255, deposits: [1000n, 0n, 0n, 1n] }))
        const added = [0n, 0n, 0n, 0n]
        for (const [author, k] of moves) {
          move(s, author, step(k))
          added[author]! += BigInt(k)
        }
        const sum = added.reduce((a, b) => a + b, 0n)
        const got = amounts(expectAgreed(s))
        expect(got.reduce((a, b) => a + b, 0n)).toBe(1001n)
        got.forEach((amount, i) => expect(amount - (1001n * added[i]!) / sum).toBeLessThanOrEqual(1n))
      }),
      { numRuns: 15 },
    )
  })
})

describe('turn 0', () => {
  test('is the genesis, signed by me; events wait until all signed it', () => {
    const definition = definitionOf(counterApp, three)
    const { channel, countersignature } = newAppChannel(definition, counterApp, bob.signer)
    expect(channel.latest).toBeNull()
    expect(channel.pending!.event).toMatchObject({ seq: 1n, kind: 'app.genesis', author: alice.address })
    expect(countersignature.turnNum).toBe(0n)
    expect(recoverStateSigner(channel.pending!.signed.state, countersignature.signature)).toBe(bob.address)
    expect(missingSignatures(channel)).toEqual([0, 2])
    expect(codeOf(() => submitEvent(channel, counterApp, step(1), bob.signer))).toBe('update_in_flight')

    const others = [alice, carol].map((a) => newAppChannel(definition, counterApp, a.signer).countersignature)
    const signed = receiveCountersignature(receiveCountersignature(channel, others[0]!, alice.address), others[1]!, carol.address)
    expect(missingSignatures(signed)).toEqual([])
    const state = latestSignedState(signed)!.state
    expect(state.turnNum).toBe(0n)
    expect(decodeAppData(state.appData)).toMatchObject({ logHead: channel.pending!.event.hash, eventCount: 1n })
    expect(amounts(state)).toEqual([100n, 100n, 100n])
  })

  test.each([
    { name: 'a definition without me', make: () => newAppChannel(definitionOf(counterApp, three), counterApp, irene.signer), code: 'not_a_participant' },
    { name: 'another module', make: () => newAppChannel(definitionOf(counterApp, three), raceApp, alice.signer), code: 'app_mismatch' },
    { name: 'params the app refuses', make: () => newAppChannel({ ...definitionOf(counterApp, three), params: Uint8Array.of(3) }, counterApp, alice.signer), code: 'app_rejected' },
    { name: 'a bad definition', make: () => newAppChannel({ ...definitionOf(counterApp, three), deposits: [1n] }, counterApp, alice.signer), code: 'invalid_definition' },
  ])('refuses $name ($code)', ({ make, code }) => {
    expect(codeOf(make)).toBe(code)
  })
})

/** A runtime that behaves like `app` except for `overrides` (same appId: the channel accepts it). */
const faulty = (app: AppRuntime, overrides: Partial<AppRuntime>): AppRuntime => ({ ...app, ...overrides })
const throwsAppCall = () => {
  throw new TestAppCallError('trap: unreachable')
}

describe('submitEvent refuses, and signs nothing', () => {
  test.each([
    { name: 'a second event while one is in flight', code: 'update_in_flight', run: (s: Session) => submitEvent(submitEvent(s.channels[0]!, raceApp, step(1), alice.signer).channel, raceApp, step(1), alice.signer) },
    { name: 'an event out of turn', code: 'wrong_turn', run: (s: Session) => submitEvent(s.channels[1]!, raceApp, step(1), bob.signer) },
    { name: 'an event the app refuses', code: 'app_rejected', run: (s: Session) => submitEvent(s.channels[0]!, raceApp, step(4), alice.signer) },
    { name: 'an event over the size limit', code: 'invalid_event', run: (s: Session) => submitEvent(s.channels[0]!, raceApp, new Uint8Array(64 * 1024 + 1), alice.signer) },
    { name: 'another module', code: 'app_mismatch', run: (s: Session) => submitEvent(s.channels[0]!, counterApp, step(1), alice.signer) },
    { name: 'an outcome of the wrong length', code: 'invalid_app_outcome', run: (s: Session) => submitEvent(s.channels[0]!, faulty(raceApp, { outcome: () => [1n] }), step(1), alice.signer) },
    { name: 'an app that fails on its new state', code: 'app_rejected', run: (s: Session) => submitEvent(s.channels[0]!, faulty(raceApp, { outcome: throwsAppCall }), step(1), alice.signer) },
    { name: 'an app that fails on whoseTurn', code: 'app_rejected', run: (s: Session) => submitEvent(s.channels[0]!, faulty(raceApp, { whoseTurn: throwsAppCall }), step(1), alice.signer) },
    { name: 'an app state over the size limit', code: 'app_rejected', run: (s: Session) => submitEvent(s.channels[0]!, faulty(raceApp, { apply: () => ({ ok: true, state: new Uint8Array(256 * 1024 + 1) }) }), step(1), alice.signer) },
    { name: 'a key that is not a participant\'s (our bug)', code: 'invariant', run: (s: Session) => submitEvent(s.channels[0]!, raceApp, step(1), irene.signer) },
  ])('$name ($code)', ({ run, code }) => {
    const s = openSession(raceApp, two)
    const before = s.channels[0]!
    expect(codeOf(() => run(s))).toBe(code)
    expect(s.channels[0]).toBe(before)
    // The refusal left nothing behind: the next valid event goes through as turn 1.
    move(s, 0, step(1))
    expect(expectAgreed(s).turnNum).toBe(1n)
  })

  test('an app that throws something untyped is a bug, not a refusal', () => {
    const s = openSession(raceApp, two)
    const broken = faulty(raceApp, { isFinal: () => { throw new TypeError('boom') } })
    expect(() => submitEvent(s.channels[0]!, broken, step(1), alice.signer)).toThrow(TypeError)
  })
})

describe('receiveUpdate refuses, and countersigns nothing', () => {
  // Three participants (race): alice moves first. bob (node 1) receives everything.
  const cases: { name: string; code: string; make: (s: Session) => { update: AppUpdate; from?: Actor; runtime?: AppRuntime } }[] = [
    { name: 'an update from a stranger', code: 'not_a_participant', make: (s) => ({ update: proposal(s, 0, step(1)), from: irene }) },
    { name: 'an event authored by someone else than the sender', code: 'wrong_author', make: (s) => ({ update: proposal(s, 0, step(1)), from: carol }) },
    { name: 'another module', code: 'app_mismatch', make: (s) => ({ update: proposal(s, 0, step(1)), runtime: counterApp }) },
    {
      name: 'an update carrying another signature than the author\'s',
      code: 'malformed_update',
      make: (s) => {
        const u = proposal(s, 0, step(1))
        return { update: { ...u, signedState: { ...u.signedState, signatures: [u.signedState.signatures[0]!, null, u.signedState.signatures[0]!] } } }
      },
    },
    {
      name: 'an update without the author\'s signature',
      code: 'malformed_update',
      make: (s) => {
        const u = proposal(s, 0, step(1))
        return { update: { ...u, signedState: { ...u.signedState, signatures: [null, null, null] } } }
      },
    },
    { name: 'too few base signatures', code: 'malformed_update', make: (s) => { const u = proposal(s, 0, step(1)); return { update: { ...u, baseSignatures: u.baseSignatures.slice(1) } } } },
    {
      name: 'a state out of range',
      code: 'malformed_update',
      make: (s) => {
        const u = proposal(s, 0, step(1))
        return { update: { ...u, signedState: { ...u.signedState, state: { ...u.signedState.state, turnNum: -1n } } } }
      },
    },
    { name: 'an event out of turn', code: 'wrong_turn', make: (s) => ({ update: forged(s, 0, carol, step(1)), from: carol }) },
    { name: 'an event the app refuses', code: 'app_rejected', make: (s) => ({ update: forged(s, 0, alice, step(7)) }) },
    { name: 'an event of another kind', code: 'invalid_event', make: (s) => ({ update: withEvent(forged(s, 0, alice, step(1)), { kind: 'app.other' }) }) },
    {
      name: 'an event linked to another head',
      code: 'bad_log_link',
      make: (s) => ({ update: withEvent(proposal(s, 0, step(1)), { prevHash: toBytes32(`0x${'11'.repeat(32)}`) }) }),
    },
    {
      name: 'an event whose hash does not match its contents',
      code: 'bad_log_link',
      make: (s) => {
        const u = proposal(s, 0, step(1))
        return { update: { ...u, event: { ...u.event, payload: step(2) } } }
      },
    },
    {
      name: 'an event that cannot be hashed (a kind over 64 bytes)',
      code: 'bad_log_link',
      make: (s) => {
        const u = proposal(s, 0, step(1))
        return { update: { ...u, event: { ...u.event, kind: 'x'.repeat(65) } } }
      },
    },
    { name: 'an event beyond the next seq', code: 'unexpected_seq', make: (s) => ({ update: withEvent(proposal(s, 0, step(1)), { seq: 4n }) }) },
    {
      name: 'a state other than the event makes (outcome)',
      code: 'replay_mismatch',
      make: (s) =>
        ({
          update: forged(s, 0, alice, step(1), (event) => {
            const honest = replayEvent(s.channels[0]!.context, raceApp, s.channels[0]!.latest!.appState, event).state
            const [first, ...rest] = honest.outcome[0]!.allocations
            return { ...honest, outcome: [{ ...honest.outcome[0]!, allocations: [...rest, first!] }] }
          }),
        }),
    },
    {
      name: 'a state other than the event makes (appData)',
      code: 'replay_mismatch',
      make: (s) => ({ update: forged(s, 0, alice, step(1), (event) => ({ ...replayEvent(s.channels[0]!.context, raceApp, s.channels[0]!.latest!.appState, event).state, appData: '0x' as Hex })) }),
    },
    {
      name: 'the right state signed by someone else',
      code: 'bad_signature',
      make: (s) => {
        const u = proposal(s, 0, step(1))
        const theirs = carol.signer.signHash(hashState(u.signedState.state))
        return { update: { ...u, signedState: { ...u.signedState, signatures: [theirs, null, null] } } }
      },
    },
    {
      name: 'a signature that does not parse',
      code: 'bad_signature',
      make: (s) => {
        const u = proposal(s, 0, step(1))
        return { update: { ...u, signedState: { ...u.signedState, signatures: [`0x${'ff'.repeat(65)}` as Signature, null, null] } } }
      },
    },
  ]

  test.each(cases)('$name ($code)', ({ make, code }) => {
    const s = openSession(raceApp, three)
    const { update, from = alice, runtime = raceApp } = make(s)
    const before = s.channels[1]!
    expect(codeOf(() => receiveUpdate(before, runtime, update, from.address, bob.signer))).toBe(code)
    // Nothing was signed or kept: the honest update still goes through at every node.
    move(s, 0, step(1))
    expect(expectAgreed(s).turnNum).toBe(1n)
  })

  test('an update from my own address is our bug (invariant)', () => {
    const s = openSession(raceApp, two)
    expect(codeOf(() => receiveUpdate(s.channels[0]!, raceApp, proposal(s, 0, step(1)), alice.address, alice.signer))).toBe('invariant')
  })

  test('a final state takes no event (channel_final)', () => {
    const s = openSession(raceApp, two, definitionOf(raceApp, two, { target: 2 }))
    move(s, 0, step(3))
    expect(codeOf(() => receiveUpdate(s.channels[0]!, raceApp, forged(s, 1, bob, step(1)), bob.address, alice.signer))).toBe('channel_final')
  })
})

function withEvent(update: AppUpdate, change: Partial<AppUpdate['event']>): AppUpdate {
  const event = { ...update.event, ...change }
  return { ...update, event: { ...event, hash: hashEvent(event.prevHash, event.seq, event) } }
}

describe('duplicates, stale and conflicting updates', () => {
  test('the same update twice: the second is a no-op that returns the same countersignature', () => {
    const s = openSession(raceApp, three)
    const { channel: mine, update } = submitEvent(s.channels[0]!, raceApp, step(2), alice.signer)
    s.channels[0] = mine
    const first = receiveUpdate(s.channels[1]!, raceApp, update, alice.address, bob.signer)
    const again = receiveUpdate(first.channel, raceApp, update, alice.address, bob.signer)
    expect(again.channel).toBe(first.channel)
    expect(again.countersignature).toEqual(first.countersignature)
    // Still a no-op once the turn is signed by all.
    s.channels[1] = first.channel
    broadcastCountersignature(s, 1, first.countersignature)
    broadcastCountersignature(s, 2, deliverUpdate(s, 2, update, 0))
    expectAgreed(s)
    const late = receiveUpdate(s.channels[1]!, raceApp, update, alice.address, bob.signer)
    expect(late.channel).toBe(s.channels[1])
    expect(late.countersignature).toEqual(first.countersignature)
  })

  test('a countersignature twice, or for a turn signed by all, is a no-op', () => {
    const s = openSession(raceApp, three)
    const { channel, update } = submitEvent(s.channels[0]!, raceApp, step(2), alice.signer)
    const bobs = receiveUpdate(s.channels[1]!, raceApp, update, alice.address, bob.signer).countersignature
    const once = receiveCountersignature(channel, bobs, bob.address)
    expect(receiveCountersignature(once, bobs, bob.address)).toBe(once)
    const stale = { ...bobs, turnNum: 0n }
    expect(receiveCountersignature(once, stale, bob.address)).toBe(once)
  })

  test('an older update is stale, and so is another event for a turn signed by all', () => {
    const s = openSession(raceApp, two)
    const first = move(s, 0, step(1))
    move(s, 1, step(1))
    expect(codeOf(() => receiveUpdate(s.channels[1]!, raceApp, first, alice.address, bob.signer))).toBe('stale_update')
    // bob's node holds turn 2 (made by bob): alice's node sends a rival turn 2 from alice.
    const rival = forged(s, 1, alice, step(2), () => s.channels[1]!.latest!.signed.state)
    const atTurn2 = withEvent(rival, { seq: 3n, prevHash: s.channels[1]!.earlier!.event.hash })
    expect(codeOf(() => receiveUpdate(s.channels[1]!, raceApp, atTurn2, alice.address, bob.signer))).toBe('stale_update')
  })
})

describe('countersignatures', () => {
  test.each([
    { name: 'from a stranger', code: 'not_a_participant', make: (c: AppCountersignature) => ({ c, from: irene }) },
    { name: 'signed by someone else', code: 'bad_signature', make: (c: AppCountersignature) => ({ c, from: carol }) },
    { name: 'over a hash that is not 32 bytes', code: 'bad_signature', make: (c: AppCountersignature) => ({ c: { ...c, stateHash: '0x01' as Bytes32 }, from: bob }) },
    { name: 'for a turn too far ahead', code: 'unexpected_turn', make: (c: AppCountersignature) => ({ c: { ...c, turnNum: 3n }, from: bob }) },
  ])('refuses one $name ($code)', ({ make, code }) => {
    const s = openSession(raceApp, three)
    const { channel, update } = submitEvent(s.channels[0]!, raceApp, step(2), alice.signer)
    const { c, from } = make(receiveUpdate(s.channels[1]!, raceApp, update, alice.address, bob.signer).countersignature)
    expect(codeOf(() => receiveCountersignature(channel, c, from.address))).toBe(code)
  })

  test('one that arrives before its update is held, then counted when the update comes', () => {
    const s = openSession(raceApp, three)
    const { channel, update } = submitEvent(s.channels[0]!, raceApp, step(2), alice.signer)
    s.channels[0] = channel
    const bobs = deliverUpdate(s, 1, update, 0)
    // carol gets bob's countersignature first (bob → carol is faster than alice → carol).
    const held = receiveCountersignature(s.channels[2]!, bobs, bob.address)
    expect(held.held).toHaveLength(1)
    const { channel: carols, countersignature } = receiveUpdate(held, raceApp, update, alice.address, carol.signer)
    expect(carols.pending).toBeNull() // alice's (update), bob's (held), carol's: all three
    expect(carols.held).toEqual([])
    s.channels[2] = carols
    broadcastCountersignature(s, 1, bobs)
    broadcastCountersignature(s, 2, countersignature)
    expectAgreed(s)
  })

  test('an update on a turn I hold partly signed completes it from its base signatures', () => {
    const s = openSession(raceApp, four)
    const { channel, update } = submitEvent(s.channels[0]!, raceApp, step(1), alice.signer)
    s.channels[0] = channel
    const sigs = [1, 2, 3].map((j) => deliverUpdate(s, j, update, 0))
    // Everyone but dave gets every countersignature; dave misses carol's.
    broadcastTo(s, 1, sigs[0]!, [0, 2, 3])
    broadcastTo(s, 2, sigs[1]!, [0, 1])
    broadcastTo(s, 3, sigs[2]!, [0, 1, 2])
    expect(missingSignatures(s.channels[3]!)).toEqual([2])
    // bob moves on turn 1, fully signed at his node; his update carries its signatures.
    const next = proposal(s, 1, step(1))
    const bad = { ...next, baseSignatures: next.baseSignatures.map((sig, i) => (i === 2 ? next.baseSignatures[0]! : sig)) }
    expect(codeOf(() => receiveUpdate(s.channels[3]!, raceApp, bad, bob.address, dave.signer))).toBe('unsupported_base')
    const daves = receiveUpdate(s.channels[3]!, raceApp, next, bob.address, dave.signer).channel
    expect(daves.latest!.signed.state.turnNum).toBe(1n)
    expect(daves.pending!.signed.state.turnNum).toBe(2n)
    expect(exportLog(daves).signedStates[1]!.signatures.every((sig) => sig !== null)).toBe(true)
  })
})

function broadcastTo(session: Session, from: number, c: AppCountersignature, to: readonly number[]): void {
  for (const j of to) session.channels[j] = receiveCountersignature(session.channels[j]!, c, session.actors[from]!.address)
}

/** The states node `at` signed, by turn, as found in what it holds (pending, latest and earlier turns). */
function statesSignedBy(channel: AppChannel, at: number): Map<bigint, Set<string>> {
  const signed = new Map<bigint, Set<string>>()
  const note = (state: State, signatures: readonly (Signature | null)[]) => {
    if (signatures[at] == null) return
    signed.set(state.turnNum, new Set([...(signed.get(state.turnNum) ?? []), hashState(state)]))
  }
  for (const turn of [channel.pending, channel.latest]) if (turn) note(turn.signed.state, turn.signed.signatures)
  for (let turn = channel.earlier; turn !== null; turn = turn.previous) note(turn.signed.state, turn.signed.signatures)
  return signed
}

describe('never two states at one turn (DESIGN §5)', () => {
  // Three participants of the counter app (anyone may move), all at turn 0. Each case leaves one node
  // holding something it signed at turn 1 (or turn 1 signed by all), then hands it another update.
  interface Case {
    readonly name: string
    readonly expected: string
    /** Sets the session up; returns the node (`at`) and the update it then receives, with its sender. */
    readonly make: (s: Session) => { at: number; update: AppUpdate; from: number }
  }
  const submitted = (s: Session, author: number, k: number) => {
    const { channel, update } = submitEvent(s.channels[author]!, counterApp, step(k), s.actors[author]!.signer)
    s.channels[author] = channel
    return update
  }
  const cases: Case[] = [
    {
      name: 'a rival for the turn I proposed, from a higher index',
      expected: 'conflicting_update',
      make: (s) => { submitted(s, 0, 1); return { at: 0, update: proposal(s, 2, step(5)), from: 2 } },
    },
    {
      name: 'a rival for the turn I proposed, from a lower index',
      expected: 'conflicting_update',
      make: (s) => { submitted(s, 2, 5); return { at: 2, update: proposal(s, 0, step(1)), from: 0 } },
    },
    {
      name: 'a rival for the turn I countersigned, from a higher index',
      expected: 'conflicting_update',
      make: (s) => { deliverUpdate(s, 1, proposal(s, 0, step(1)), 0); return { at: 1, update: proposal(s, 2, step(5)), from: 2 } },
    },
    {
      // The attack of issue 13: the old race rule switched to a lower-indexed author's proposal.
      name: 'a rival for the turn I countersigned, from a lower index',
      expected: 'conflicting_update',
      make: (s) => { deliverUpdate(s, 1, proposal(s, 2, step(5)), 2); return { at: 1, update: proposal(s, 0, step(1)), from: 0 } },
    },
    {
      name: 'a rival for a turn signed by all',
      expected: 'stale_update',
      make: (s) => { const rival = proposal(s, 2, step(5)); move(s, 0, step(1)); return { at: 1, update: rival, from: 2 } },
    },
    {
      name: 'the same proposal twice',
      expected: 'no-op',
      make: (s) => { const update = proposal(s, 0, step(1)); deliverUpdate(s, 1, update, 0); return { at: 1, update, from: 0 } },
    },
  ]

  test.each(cases)('$name: $expected', ({ make, expected }) => {
    const s = openSession(counterApp, three)
    const { at, update, from } = make(s)
    const before = s.channels[at]!
    const signedBefore = statesSignedBy(before, at)
    expect(signedBefore.get(1n)?.size).toBe(1)
    const receive = () => receiveUpdate(before, counterApp, update, s.actors[from]!.address, s.actors[at]!.signer)
    if (expected === 'no-op') {
      const again = receive()
      expect(again.channel).toBe(before)
      expect(again.countersignature.stateHash).toBe([...signedBefore.get(1n)!][0])
    } else {
      expect(codeOf(receive)).toBe(expected)
    }
    // What the node signed at turn 1 is what it held before: nothing replaced, nothing signed besides.
    expect(before.mySignedTurn).toEqual({ turnNum: 1n, stateHash: [...signedBefore.get(1n)!][0] })
  })

  test('mySignedTurn follows every state a node signs: its proposals, countersignatures and turn 0', () => {
    const s = openSession(counterApp, three)
    s.channels.forEach((ch, i) => expect(ch.mySignedTurn, `node ${i}`).toEqual({ turnNum: 0n, stateHash: hashState(ch.latest!.signed.state) }))
    move(s, 1, step(2))
    move(s, 0, step(3))
    for (const ch of s.channels) expect(ch.mySignedTurn).toEqual({ turnNum: 2n, stateHash: hashState(ch.latest!.signed.state) })
  })

  test('a bug that drops my pending turn cannot make me sign a rival at its turn (invariant), nor can one that rewinds it', () => {
    const s = openSession(counterApp, three)
    deliverUpdate(s, 1, proposal(s, 0, step(1)), 0)
    const rival = proposal(s, 2, step(5))
    const dropped: AppChannel = { ...s.channels[1]!, pending: null }
    expect(codeOf(() => receiveUpdate(dropped, counterApp, rival, carol.address, bob.signer))).toBe('invariant')
    expect(codeOf(() => submitEvent(dropped, counterApp, step(7), bob.signer))).toBe('invariant')
    // Signing an older turn than the record is refused as well.
    const rewound: AppChannel = { ...s.channels[1]!, mySignedTurn: { turnNum: 2n, stateHash: s.channels[1]!.pending!.stateHash } }
    expect(codeOf(() => submitEvent({ ...rewound, pending: null }, counterApp, step(7), bob.signer))).toBe('invariant')
  })

  test('a proposal made after receiving another waits: update_in_flight, then the next turn', () => {
    const s = openSession(counterApp, three)
    const update = submitted(s, 0, 1)
    const carols = deliverUpdate(s, 2, update, 0)
    expect(codeOf(() => submitEvent(s.channels[2]!, counterApp, step(5), carol.signer))).toBe('update_in_flight')
    broadcastCountersignature(s, 1, deliverUpdate(s, 1, update, 0))
    broadcastCountersignature(s, 2, carols)
    expect(expectAgreed(s).turnNum).toBe(1n)
    move(s, 2, step(5))
    expect(amounts(expectAgreed(s))).toEqual([50n, 0n, 250n])
  })

  test('two authors at once: the turn is contested, signed by all nowhere, and stays pending everywhere', () => {
    const s = openSession(counterApp, three)
    const a = submitted(s, 0, 1)
    const c = submitted(s, 2, 5)
    // bob gets carol's first and countersigns it; alice's then conflicts there, as each does at the other author.
    const bobs = deliverUpdate(s, 1, c, 2)
    expect(codeOf(() => deliverUpdate(s, 1, a, 0))).toBe('conflicting_update')
    expect(codeOf(() => deliverUpdate(s, 0, c, 2))).toBe('conflicting_update')
    expect(codeOf(() => deliverUpdate(s, 2, a, 0))).toBe('conflicting_update')
    broadcastCountersignature(s, 1, bobs)
    // carol's proposal lacks alice's signature, and alice's lacks bob's and carol's: neither can complete.
    expect(s.channels.map(missingSignatures)).toEqual([[1, 2], [0], [0]])
    s.channels.forEach((ch, i) => {
      expect(ch.latest!.signed.state.turnNum).toBe(0n)
      expect(ch.pending!.signed.state.turnNum).toBe(1n)
      expect(codeOf(() => submitEvent(ch, counterApp, step(1), s.actors[i]!.signer))).toBe('update_in_flight')
      for (const hashes of statesSignedBy(ch, i).values()) expect(hashes.size).toBe(1)
    })
  })

  // One node (`at`) receives, in any order and any number of times, proposals for turn 1 from the other
  // participants (an author may equivocate: two proposals), countersignatures of them, and may propose
  // itself. Whatever it accepts or refuses, it never signs two different states at one turn.
  test('any interleaving of proposals for one turn: a node never signs two states at it', () => {
    const input = fc.record({
      n: fc.integer({ min: 2, max: 4 }),
      at: fc.nat(3),
      payloads: fc.array(fc.record({ author: fc.nat(3), k: fc.integer({ min: 1, max: 9 }) }), { minLength: 1, maxLength: 6 }),
      order: fc.array(fc.nat(100), { minLength: 1, maxLength: 30 }),
    })
    const allowed = new Set(['conflicting_update', 'stale_update', 'update_in_flight'])
    fc.assert(
      fc.property(input, ({ n, at: atRaw, payloads, order }) => {
        const actors = four.slice(0, n)
        const at = atRaw % n
        const s = openSession(counterApp, actors, definitionOf(counterApp, actors, { target: 0 }))
        const base = s.channels.map((ch) => ch)
        // Everything the node may be handed: proposals built on turn 0 at their authors' nodes, the other
        // participants' countersignatures of each, and "propose now" for the node itself.
        type Input = { kind: 'update'; update: AppUpdate; from: number } | { kind: 'countersignature'; c: AppCountersignature; from: number } | { kind: 'propose'; k: number }
        const inputs: Input[] = []
        for (const { author: a, k } of payloads) {
          const author = a % n
          if (author === at) { inputs.push({ kind: 'propose', k }); continue }
          const made = submitEvent(base[author]!, counterApp, step(k), actors[author]!.signer)
          const { stateHash } = made.channel.pending!
          inputs.push({ kind: 'update', update: made.update, from: author })
          for (let j = 0; j < n; j++) if (j !== at && j !== author) inputs.push({ kind: 'countersignature', c: { turnNum: 1n, stateHash, signature: actors[j]!.signer.signHash(stateHash) }, from: j })
        }
        const signedAt = new Map<bigint, Set<string>>()
        const note = (turnNum: bigint, stateHash: string) => signedAt.set(turnNum, new Set([...(signedAt.get(turnNum) ?? []), stateHash]))
        let channel = s.channels[at]!
        for (const i of order) {
          const next = inputs[i % inputs.length]!
          try {
            if (next.kind === 'update') {
              const result = receiveUpdate(channel, counterApp, next.update, actors[next.from]!.address, actors[at]!.signer)
              note(result.countersignature.turnNum, result.countersignature.stateHash)
              channel = result.channel
            } else if (next.kind === 'countersignature') {
              channel = receiveCountersignature(channel, next.c, actors[next.from]!.address)
            } else {
              const result = submitEvent(channel, counterApp, step(next.k), actors[at]!.signer)
              note(result.update.signedState.state.turnNum, hashState(result.update.signedState.state))
              channel = result.channel
            }
          } catch (error) {
            if (!allowed.has((error as { code?: string }).code ?? '')) throw error
          }
        }
        for (const hashes of signedAt.values()) expect(hashes.size).toBe(1)
        for (const hashes of statesSignedBy(channel, at).values()) expect(hashes.size).toBe(1)
        // The record is the newest state the node signed.
        const newest = [...signedAt.keys()].reduce((a, b) => (a > b ? a : b), 0n)
        expect(channel.mySignedTurn).toEqual({ turnNum: newest, stateHash: newest === 0n ? hashState(channel.latest!.signed.state) : [...signedAt.get(newest)!][0] })
      }),
      { numRuns: 200 },
    )
  })
})

type Message = { readonly kind: 'update'; readonly update: AppUpdate } | { readonly kind: 'countersignature'; readonly countersignature: AppCountersignature }

describe('a seeded random network', () => {
  // Each pair of nodes has an ordered link (DESIGN §5: per-peer ordered delivery); links are served in a
  // random order. With `racing`, anyone may propose whenever its node has no turn in flight, so proposals
  // race; without, a proposal is made only once every link is drained. The only refusals an honest network
  // produces are losing proposals (conflicting or stale). No node ever signs two states at one turn; every
  // node ends with the same log, and either nothing pending (every proposal settled) or the turn after it
  // contested: pending at every node, with at least two different proposals, and signed by all nowhere.
  function run(seed: number, n: number, racing: boolean): { stalled: boolean; refused: number } {
    const random = createRandom(seed)
    const actors = four.slice(0, n)
    const s = openSession(counterApp, actors, definitionOf(counterApp, actors, { target: 30 }))
    const links = new Map<string, Message[]>()
    const signed = actors.map(() => new Map<bigint, Set<string>>())
    const send = (from: number, message: Message) => {
      const [turnNum, stateHash] = message.kind === 'update'
        ? [message.update.signedState.state.turnNum, hashState(message.update.signedState.state)]
        : [message.countersignature.turnNum, message.countersignature.stateHash]
      signed[from]!.set(turnNum, new Set([...(signed[from]!.get(turnNum) ?? []), stateHash]))
      for (let to = 0; to < n; to++) if (to !== from) links.set(`${from}>${to}`, [...(links.get(`${from}>${to}`) ?? []), message])
    }
    let refused = 0
    const deliver = (from: number, to: number, message: Message) => {
      const sender = actors[from]!.address
      try {
        if (message.kind === 'countersignature') {
          s.channels[to] = receiveCountersignature(s.channels[to]!, message.countersignature, sender)
          return
        }
        const result = receiveUpdate(s.channels[to]!, counterApp, message.update, sender, actors[to]!.signer)
        if (result.channel === s.channels[to]) return // a duplicate
        s.channels[to] = result.channel
        send(to, { kind: 'countersignature', countersignature: result.countersignature })
      } catch (error) {
        const code = (error as { code?: string }).code ?? String(error)
        if (code !== 'conflicting_update' && code !== 'stale_update') throw error
        refused++
      }
    }
    let proposals = 0
    for (let steps = 0; steps < 5000; steps++) {
      const busy = [...links.entries()].filter(([, queue]) => queue.length > 0)
      if (proposals < 10 && (busy.length === 0 || (racing && random.chance(0.25)))) {
        const author = random.int(n)
        const ch = s.channels[author]!
        if (ch.pending || counterApp.isFinal(ch.latest!.appState)) {
          if (busy.length === 0) break // every node holds the same contested turn: nobody can propose
          continue
        }
        const { channel, update } = submitEvent(ch, counterApp, step(1 + random.int(9)), actors[author]!.signer)
        s.channels[author] = channel
        send(author, { kind: 'update', update })
        proposals++
        continue
      }
      if (busy.length === 0) break
      const [link, queue] = random.pick(busy)
      const [from, to] = link.split('>').map(Number) as [number, number]
      links.set(link, queue.slice(1))
      deliver(from, to, queue[0]!)
    }
    expect([...links.values()].every((queue) => queue.length === 0)).toBe(true)
    // Never two states at one turn, in what each node sent and in what it holds.
    signed.forEach((byTurn) => { for (const hashes of byTurn.values()) expect(hashes.size).toBe(1) })
    s.channels.forEach((ch, i) => { for (const hashes of statesSignedBy(ch, i).values()) expect(hashes.size).toBe(1) })
    const log = exportLog(s.channels[0]!)
    expect(verifyLog(log, counterApp).ok).toBe(true)
    for (const ch of s.channels) expect(exportLog(ch)).toEqual(log)
    const stalled = s.channels.some((ch) => ch.pending !== null)
    if (!stalled) {
      expectAgreed(s)
    } else {
      const turnNum = s.channels[0]!.latest!.signed.state.turnNum + 1n
      for (const ch of s.channels) {
        expect(ch.pending?.signed.state.turnNum).toBe(turnNum)
        expect(missingSignatures(ch).length).toBeGreaterThan(0)
      }
      expect(new Set(s.channels.map((ch) => ch.pending!.stateHash)).size).toBeGreaterThan(1)
    }
    return { stalled, refused }
  }

  test('without races, every node converges on every proposal', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 2, max: 4 }), (seed, n) => {
        const { stalled, refused } = run(seed, n, false)
        expect(stalled).toBe(false)
        expect(refused).toBe(0)
      }),
      { numRuns: 25 },
    )
  })

  test('with races, no node signs two states at one turn; every node agrees, or holds the same contested turn', () => {
    let stalls = 0
    let refusals = 0
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 2, max: 4 }), (seed, n) => {
        const { stalled, refused } = run(seed, n, true)
        if (stalled) stalls++
        refusals += refused
      }),
      { numRuns: 25 },
    )
    // The runs did race: some turns were contested (and the losing proposals refused).
    expect(stalls).toBeGreaterThan(0)
    expect(refusals).toBeGreaterThan(0)
  })
})
