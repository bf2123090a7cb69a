// The dice duel (apps/dice/dice.ts over apps/sdk/match.ts and commitReveal.ts), played through the built module
// with 2 and 4 participants. Every round's dice are recomputed here from the reveals with the node's keccak256
// (seed = keccak256 of the reveals, die i = u64 LE at seed[8i..] mod 6 + 1), so the app's seed, dice and
// scoring are checked against an independent implementation round by round.
import { beforeAll, describe, expect, test } from 'vitest'
import { accepted, bytes, codeOf, loadApp, start } from './harness.js'
import type { HarnessApp } from './harness.js'
import {
  commitEvent, commitmentOf, decodeMatch, playRound, revealEvent, secretOf, seedOf, timeoutEvent,
} from './commitReveal.js'

// Rejection codes, from apps/dice/dice.ts.
const BAD_PARAMS = 1
const TIMEOUT_TOO_EARLY = 7
const REVEAL_TOO_EARLY = 17
const BAD_CHOICE = 20

let app: HarnessApp
beforeAll(async () => {
  app = await loadApp('dice')
})

/** The dice a round shows, from the secrets playRound uses (choice 0 for all). */
function diceOf(label: string, round: number, participants: number): number[] {
  const seed = seedOf(Array.from({ length: participants }, (_, i) => ({ secret: secretOf(`${label}/${round}/${i}`), choice: 0 })))
  const view = new DataView(seed.buffer, seed.byteOffset, 32)
  return Array.from({ length: participants }, (_, i) => Number(view.getBigUint64(8 * i, true) % 6n) + 1)
}

/** The single highest die's owner, or -1 on a tie at the top. */
function roundWinner(dice: readonly number[]): number {
  const best = Math.max(...dice)
  return dice.filter((die) => die === best).length === 1 ? dice.indexOf(best) : -1
}

/** Plays rounds until the match ends, checking each against the host's dice; returns the final state. */
function playMatch(participants: number, bestOf: number, label: string): Uint8Array {
  let state = start(app, bytes(participants, bestOf))
  const wins = Array<number>(participants).fill(0)
  for (let round = 0; !app.isFinal(state); round++) {
    expect(round).toBeLessThan(255)
    expect(app.outcome(state)).toEqual(Array(participants).fill(0n))
    const dice = diceOf(label, round, participants)
    state = playRound(app, state, Array(participants).fill(0), label)
    const winner = roundWinner(dice)
    if (winner >= 0) wins[winner]! += 1
    expect(decodeMatch(state)).toMatchObject({ round: round + 1, shown: dice, wins })
  }
  const champion = wins.findIndex((count) => count * 2 > bestOf)
  expect(champion).toBeGreaterThanOrEqual(0)
  expect(decodeMatch(state).winners).toBe(1 << champion)
  expect(app.outcome(state)).toEqual(wins.map((_, i) => (i === champion ? 1n : 0n)))
  expect(app.whoseTurn(state)).toBe('nobody')
  return state
}

describe('dice duel sessions', () => {
  test.each(['duel-a', 'duel-b', 'duel-c'])('two players, best of five (%s)', (label) => {
    playMatch(2, 5, label)
  })

  test.each(['table-a', 'table-b'])('four players, best of three (%s)', (label) => {
    playMatch(4, 3, label)
  })

  test('a round with a tie at the top is replayed', () => {
    // Search labels (deterministically) for a first round whose two dice are equal, then play it.
    const label = Array.from({ length: 100 }, (_, i) => `tie-${i}`).find((candidate) => {
      const [a, b] = diceOf(candidate, 0, 2)
      return a === b
    })
    expect(label).toBeDefined()
    const state = playRound(app, start(app, bytes(2, 3)), [0, 0], label!)
    expect(decodeMatch(state)).toMatchObject({ round: 1, wins: [0, 0], winners: 0 })
  })
})

describe('dice duel forfeits and refusals', () => {
  const secrets = [0, 1, 2, 3].map((i) => secretOf(`forfeit/${i}`))
  const commit = (state: Uint8Array, who: number): Uint8Array =>
    accepted(app.apply(state, commitEvent(commitmentOf(secrets[who]!, 0, who, 0)), who))
  const reveal = (state: Uint8Array, who: number): Uint8Array =>
    accepted(app.apply(state, revealEvent(secrets[who]!, 0), who))

  test('of four players, the one who does not reveal forfeits; the three others split the pot', () => {
    let state = start(app, bytes(4, 3))
    for (const who of [0, 1, 2, 3]) state = commit(state, who)
    for (const who of [3, 0, 2]) state = reveal(state, who)
    expect(app.whoseTurn(state)).toBe('anyone')
    const final = accepted(app.apply(state, timeoutEvent, 3))
    expect(app.isFinal(final)).toBe(true)
    expect(app.outcome(final)).toEqual([1n, 0n, 1n, 1n])
  })

  test('of four players, the two who do not commit forfeit to the two who did', () => {
    let state = start(app, bytes(4, 3))
    state = commit(commit(state, 2), 1)
    expect(codeOf(app.apply(state, revealEvent(secrets[1]!, 0), 1))).toBe(REVEAL_TOO_EARLY)
    const final = accepted(app.apply(state, timeoutEvent, 0))
    expect(app.outcome(final)).toEqual([0n, 1n, 1n, 0n])
  })

  test('nobody is late until someone has acted in the phase', () => {
    let state = start(app, bytes(2, 1))
    expect(codeOf(app.apply(state, timeoutEvent, 0))).toBe(TIMEOUT_TOO_EARLY)
    state = commit(commit(state, 0), 1)
    expect(codeOf(app.apply(state, timeoutEvent, 0))).toBe(TIMEOUT_TOO_EARLY)
  })

  test('a reveal with a choice other than 0', () => {
    let state = start(app, bytes(2, 1))
    state = accepted(app.apply(state, commitEvent(commitmentOf(secrets[0]!, 1, 0, 0)), 0))
    state = commit(state, 1)
    expect(codeOf(app.apply(state, revealEvent(secrets[0]!, 1), 0))).toBe(BAD_CHOICE)
  })

  test.each([
    ['one player', bytes(1, 3)],
    ['five players', bytes(5, 3)],
    ['an even best-of', bytes(2, 4)],
  ])('params with %s', (_name, params) => {
    expect(codeOf(app.init(params))).toBe(BAD_PARAMS)
  })
})
