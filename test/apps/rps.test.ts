// Rock-paper-scissors best of N (apps/rps/rps.ts over apps/sdk/match.ts and commitReveal.ts), played through the
// built module: whole matches, replayed draws, every commit–reveal abuse with its rejection code, and a
// participant who does not reveal (or commit) in time forfeiting the pot through the timeout event.
import { beforeAll, describe, expect, test } from 'vitest'
import { accepted, bytes, codeOf, loadApp, start } from './harness.js'
import type { HarnessApp } from './harness.js'
import {
  commitEvent, commitmentOf, decodeMatch, playRound, revealEvent, secretOf, timeoutEvent,
} from './commitReveal.js'

// Rejection codes, from apps/rps/rps.ts.
const BAD_PARAMS = 1
const BAD_STATE = 2
const BAD_EVENT = 3
const BAD_AUTHOR = 4
const FINISHED = 6
const TIMEOUT_TOO_EARLY = 7
const ALREADY_COMMITTED = 16
const REVEAL_TOO_EARLY = 17
const ALREADY_REVEALED = 18
const REVEAL_MISMATCH = 19
const BAD_CHOICE = 20

const ROCK = 0
const PAPER = 1
const SCISSORS = 2
const alice = 0
const bob = 1
const bestOf = (n: number): Uint8Array => bytes(2, n)

let app: HarnessApp
beforeAll(async () => {
  app = await loadApp('rps')
})

describe('rock-paper-scissors sessions', () => {
  test('best of three: alice wins two rounds to one and takes the pot', () => {
    let state = start(app, bestOf(3))
    expect(decodeMatch(state)).toEqual({ participants: 2, bestOf: 3, round: 0, winners: 0, wins: [0, 0], shown: [0, 0] })
    expect(app.whoseTurn(state)).toBe('anyone')
    state = playRound(app, state, [PAPER, ROCK], 'bo3')
    expect(decodeMatch(state)).toMatchObject({ round: 1, wins: [1, 0], shown: [PAPER, ROCK], winners: 0 })
    expect(app.outcome(state)).toEqual([0n, 0n]) // deposits back until the match is decided
    state = playRound(app, state, [PAPER, SCISSORS], 'bo3')
    expect(decodeMatch(state)).toMatchObject({ round: 2, wins: [1, 1], shown: [PAPER, SCISSORS] })
    expect(app.isFinal(state)).toBe(false)
    state = playRound(app, state, [ROCK, SCISSORS], 'bo3')
    expect(decodeMatch(state)).toMatchObject({ round: 3, wins: [2, 1], winners: 0b01 })
    expect(app.isFinal(state)).toBe(true)
    expect(app.whoseTurn(state)).toBe('nobody')
    expect(app.outcome(state)).toEqual([1n, 0n])
  })

  test('a drawn round is replayed and counts towards no one', () => {
    let state = start(app, bestOf(1))
    state = playRound(app, state, [SCISSORS, SCISSORS], 'draw')
    expect(decodeMatch(state)).toMatchObject({ round: 1, wins: [0, 0], winners: 0 })
    state = playRound(app, state, [SCISSORS, ROCK], 'draw')
    expect(decodeMatch(state)).toMatchObject({ round: 2, wins: [0, 1], winners: 0b10 })
    expect(app.outcome(state)).toEqual([0n, 1n])
  })

  test('a match of nothing but draws stops after 255 rounds and splits the pot', () => {
    let state = start(app, bestOf(99))
    for (let round = 0; round < 255; round++) state = playRound(app, state, [ROCK, ROCK], 'endless')
    expect(decodeMatch(state)).toMatchObject({ round: 255, wins: [0, 0], winners: 0b11 })
    expect(app.outcome(state)).toEqual([1n, 1n])
  })

  test('each reveal is checked against its own commitment, whoever commits first', () => {
    const secretA = secretOf('order/a')
    const secretB = secretOf('order/b')
    let state = start(app, bestOf(1))
    state = accepted(app.apply(state, commitEvent(commitmentOf(secretB, PAPER, bob, 0)), bob))
    state = accepted(app.apply(state, commitEvent(commitmentOf(secretA, SCISSORS, alice, 0)), alice))
    state = accepted(app.apply(state, revealEvent(secretB, PAPER), bob))
    state = accepted(app.apply(state, revealEvent(secretA, SCISSORS), alice))
    expect(decodeMatch(state)).toMatchObject({ shown: [SCISSORS, PAPER], winners: 0b01 })
  })
})

describe('rock-paper-scissors refuses', () => {
  const secretA = secretOf('refuse/a')
  const secretB = secretOf('refuse/b')
  const commitA = commitEvent(commitmentOf(secretA, ROCK, alice, 0))
  const commitB = commitEvent(commitmentOf(secretB, PAPER, bob, 0))
  const committedByAlice = (): Uint8Array => accepted(app.apply(start(app, bestOf(3)), commitA, alice))
  const committedByBoth = (): Uint8Array => accepted(app.apply(committedByAlice(), commitB, bob))
  const revealedByAlice = (): Uint8Array => accepted(app.apply(committedByBoth(), revealEvent(secretA, ROCK), alice))

  test.each([
    ['a second commitment', committedByAlice, alice, commitA, ALREADY_COMMITTED],
    ['a reveal before the other has committed', committedByAlice, alice, revealEvent(secretA, ROCK), REVEAL_TOO_EARLY],
    ['a second reveal', revealedByAlice, alice, revealEvent(secretA, ROCK), ALREADY_REVEALED],
    ['a reveal with another move than committed', committedByBoth, alice, revealEvent(secretA, PAPER), REVEAL_MISMATCH],
    ['a reveal with another secret', committedByBoth, alice, revealEvent(secretB, ROCK), REVEAL_MISMATCH],
    ["a reveal of the other's secret and move", committedByBoth, bob, revealEvent(secretA, ROCK), REVEAL_MISMATCH],
    ['a move that is not rock, paper or scissors', committedByBoth, alice, revealEvent(secretA, 3), BAD_CHOICE],
    ['a timeout before anyone committed', () => start(app, bestOf(3)), bob, timeoutEvent, TIMEOUT_TOO_EARLY],
    ['a timeout when both committed and nobody revealed', committedByBoth, alice, timeoutEvent, TIMEOUT_TOO_EARLY],
    ['a third participant', committedByAlice, 2, commitB, BAD_AUTHOR],
    ['a commitment of 31 bytes', committedByAlice, bob, commitB.subarray(0, 32), BAD_EVENT],
    ['a reveal without its move', committedByBoth, alice, revealEvent(secretA, ROCK).subarray(0, 33), BAD_EVENT],
    ['an unknown event kind', committedByAlice, bob, bytes(0x07), BAD_EVENT],
    ['an empty event', committedByAlice, bob, bytes(), BAD_EVENT],
    ['a state of the wrong length', () => committedByAlice().subarray(1), bob, commitB, BAD_STATE],
  ] as const)('%s', (_name, state, author, event, code) => {
    expect(codeOf(app.apply(state(), event, author))).toBe(code)
  })

  test('a copied commitment cannot be revealed by the copier', () => {
    // Bob commits to exactly what alice committed to, hoping to replay her reveal and always draw.
    const copied = accepted(app.apply(committedByAlice(), commitA, bob))
    const revealed = accepted(app.apply(copied, revealEvent(secretA, ROCK), alice))
    expect(codeOf(app.apply(revealed, revealEvent(secretA, ROCK), bob))).toBe(REVEAL_MISMATCH)
  })

  test("last round's commitment does not open in this round", () => {
    const afterRound = playRound(app, start(app, bestOf(3)), [ROCK, PAPER], 'replay')
    const secret = secretOf('replay/0/0') // alice's secret in round 0, reused
    let state = accepted(app.apply(afterRound, commitEvent(commitmentOf(secret, ROCK, alice, 0)), alice))
    state = accepted(app.apply(state, commitEvent(commitmentOf(secretB, ROCK, bob, 1)), bob))
    expect(codeOf(app.apply(state, revealEvent(secret, ROCK), alice))).toBe(REVEAL_MISMATCH)
  })

  test('params', () => {
    expect(codeOf(app.init(bestOf(2)))).toBe(BAD_PARAMS)
    expect(codeOf(app.init(bestOf(0)))).toBe(BAD_PARAMS)
    expect(codeOf(app.init(bestOf(101)))).toBe(BAD_PARAMS)
    expect(codeOf(app.init(bytes(3, 3)))).toBe(BAD_PARAMS)
    expect(codeOf(app.init(bytes(2)))).toBe(BAD_PARAMS)
    expect(codeOf(app.init(bytes(2, 3, 0)))).toBe(BAD_PARAMS)
    expect(decodeMatch(start(app, bestOf(99))).bestOf).toBe(99)
  })

  test('nothing after the match is decided', () => {
    const decided = playRound(app, start(app, bestOf(1)), [ROCK, SCISSORS], 'decided')
    expect(codeOf(app.apply(decided, commitA, alice))).toBe(FINISHED)
    expect(codeOf(app.apply(decided, timeoutEvent, bob))).toBe(FINISHED)
  })
})

describe('rock-paper-scissors timeouts', () => {
  test('bob, leading, does not reveal in time and forfeits the whole pot', () => {
    let state = playRound(app, start(app, bestOf(3)), [ROCK, PAPER], 'stall') // bob leads 1-0
    const round = decodeMatch(state).round
    const secretA = secretOf('stall/a')
    const secretB = secretOf('stall/b')
    state = accepted(app.apply(state, commitEvent(commitmentOf(secretA, PAPER, alice, round)), alice))
    state = accepted(app.apply(state, commitEvent(commitmentOf(secretB, SCISSORS, bob, round)), bob))
    state = accepted(app.apply(state, revealEvent(secretA, PAPER), alice))
    // Bob sees he would lose the round and goes quiet; after the deadline either may submit the timeout.
    const byAlice = app.apply(state, timeoutEvent, alice)
    const byBob = app.apply(state, timeoutEvent, bob)
    expect(byAlice).toEqual(byBob)
    const final = accepted(byAlice)
    expect(decodeMatch(final)).toMatchObject({ winners: 0b01, wins: [0, 1] })
    expect(app.isFinal(final)).toBe(true)
    expect(app.outcome(final)).toEqual([1n, 0n])
    expect(codeOf(app.apply(final, revealEvent(secretB, SCISSORS), bob))).toBe(FINISHED)
  })

  test('a participant who never commits forfeits to the one who did', () => {
    const state = accepted(app.apply(start(app, bestOf(3)), commitEvent(commitmentOf(secretOf('x'), ROCK, bob, 0)), bob))
    const final = accepted(app.apply(state, timeoutEvent, bob))
    expect(app.outcome(final)).toEqual([0n, 1n])
  })
})
