// Tic-tac-toe (apps/tictactoe/tictactoe.ts) played through the built module: whole games to a win, a loss and a
// draw, every illegal move with its rejection code, the timeout forfeit, and random games against a reference
// written here from the app's documented rules.
import fc from 'fast-check'
import { beforeAll, describe, expect, test } from 'vitest'
import { bytes, codeOf, loadApp, play, start, trapOf, webAssembly } from './harness.js'
import type { HarnessApp, Move } from './harness.js'

// Rejection codes, from the app's header comment.
const BAD_PARAMS = 1
const BAD_STATE = 2
const BAD_EVENT = 3
const BAD_AUTHOR = 4
const NOT_YOUR_TURN = 5
const FINISHED = 6
const CELL_TAKEN = 32

const X = 0
const O = 1
const params = bytes(2)
const move = (author: number, cell: number): Move => ({ author, event: bytes(0x01, cell) })
const timeout = bytes(0xff)

/** Alternating moves from X: cells[0] by X, cells[1] by O, … */
const moves = (...cells: number[]): Move[] => cells.map((cell, i) => move(i % 2 === 0 ? X : O, cell))

let app: HarnessApp
beforeAll(async () => {
  app = await loadApp('tictactoe')
})

/** The state's fields, from the documented 11-byte layout. */
function decode(state: Uint8Array): { board: number[]; next: number; winners: number } {
  expect(state.length).toBe(11)
  return { board: [...state.subarray(0, 9)], next: state[9]!, winners: state[10]! }
}

describe('tic-tac-toe sessions', () => {
  test('X takes the top row and the pot', () => {
    let state = start(app, params)
    expect(app.whoseTurn(state)).toBe(X)
    expect(app.isFinal(state)).toBe(false)
    expect(app.outcome(state)).toEqual([0n, 0n]) // deposits back while nothing is decided
    state = play(app, state, moves(0, 4, 1))
    expect(app.whoseTurn(state)).toBe(O)
    expect(decode(state)).toEqual({ board: [1, 1, 0, 0, 2, 0, 0, 0, 0], next: O, winners: 0 })
    state = play(app, state, [move(O, 8), move(X, 2)])
    expect(decode(state).winners).toBe(0b01)
    expect(app.isFinal(state)).toBe(true)
    expect(app.whoseTurn(state)).toBe('nobody')
    expect(app.outcome(state)).toEqual([1n, 0n])
  })

  test('O wins down the middle column', () => {
    const state = play(app, start(app, params), moves(0, 1, 2, 4, 8, 7))
    expect(decode(state).winners).toBe(0b10)
    expect(app.outcome(state)).toEqual([0n, 1n])
  })

  test('a full board without a line is a draw that splits the pot', () => {
    // X O X / X O O / O X X
    const state = play(app, start(app, params), moves(0, 1, 2, 4, 3, 5, 7, 6, 8))
    expect(decode(state)).toEqual({ board: [1, 2, 1, 1, 2, 2, 2, 1, 1], next: O, winners: 0b11 })
    expect(app.isFinal(state)).toBe(true)
    expect(app.outcome(state)).toEqual([1n, 1n])
  })

  test('a win on the last cell is a win, not a draw', () => {
    // X O X / O X O / O X X: X's ninth move completes the diagonal 0-4-8.
    const state = play(app, start(app, params), moves(0, 1, 2, 3, 4, 5, 7, 6, 8))
    expect(decode(state).winners).toBe(0b01)
  })

  test('the player on turn who times out forfeits, whoever submits the timeout', () => {
    const midGame = play(app, start(app, params), moves(0, 4, 8)) // O to move
    const byX = app.apply(midGame, timeout, X)
    const byO = app.apply(midGame, timeout, O)
    expect(byX).toEqual(byO)
    const state = byX.ok ? byX.state : new Uint8Array()
    expect(app.isFinal(state)).toBe(true)
    expect(app.outcome(state)).toEqual([1n, 0n])
    expect(app.whoseTurn(state)).toBe('nobody')
    // Before the first move it is X who forfeits.
    const early = app.apply(start(app, params), timeout, O)
    expect(early.ok && app.outcome(early.state)).toEqual([0n, 1n])
  })
})

describe('tic-tac-toe refuses', () => {
  const opening = (): Uint8Array => play(app, start(app, params), moves(4)) // X in the centre, O to move
  const finished = (): Uint8Array => play(app, start(app, params), moves(0, 4, 1, 8, 2))

  test.each([
    ['a move out of turn', () => opening(), move(X, 0), NOT_YOUR_TURN],
    ['the first move by O', () => start(app, params), move(O, 0), NOT_YOUR_TURN],
    ['a taken cell', () => opening(), move(O, 4), CELL_TAKEN],
    ['cell 9', () => opening(), move(O, 9), BAD_EVENT],
    ['cell 255', () => opening(), move(O, 255), BAD_EVENT],
    ['an unknown event kind', () => opening(), { author: O, event: bytes(0x02, 0) }, BAD_EVENT],
    ['a move without its cell', () => opening(), { author: O, event: bytes(0x01) }, BAD_EVENT],
    ['a move with a trailing byte', () => opening(), { author: O, event: bytes(0x01, 0, 0) }, BAD_EVENT],
    ['an empty event', () => opening(), { author: O, event: bytes() }, BAD_EVENT],
    ['a timeout with a payload', () => opening(), { author: O, event: bytes(0xff, 0) }, BAD_EVENT],
    ['a third participant', () => opening(), move(2, 0), BAD_AUTHOR],
    ['a move after the game ended', () => finished(), move(O, 5), FINISHED],
    ['a timeout after the game ended', () => finished(), { author: X, event: timeout }, FINISHED],
    ['a state of the wrong length', () => opening().subarray(0, 10), move(O, 0), BAD_STATE],
    ['a state with a cell value 3', () => Uint8Array.from([3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), move(X, 1), BAD_STATE],
    ['a state whose next player is 2', () => Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0]), move(X, 1), BAD_STATE],
  ] as const)('%s', (_name, state, { author, event }, code) => {
    expect(codeOf(app.apply(state(), event, author))).toBe(code)
  })

  test.each([
    ['three participants', bytes(3)],
    ['one participant', bytes(1)],
    ['no params', bytes()],
    ['extra params', bytes(2, 0)],
  ])('params with %s', (_name, bad) => {
    expect(codeOf(app.init(bad))).toBe(BAD_PARAMS)
  })

  test('outcome, isFinal and whoseTurn trap on a malformed state', () => {
    const bad = new Uint8Array(5)
    expect(trapOf(() => app.outcome(bad))).toBeInstanceOf(webAssembly.RuntimeError)
    expect(trapOf(() => app.isFinal(bad))).toBeInstanceOf(webAssembly.RuntimeError)
    expect(trapOf(() => app.whoseTurn(bad))).toBeInstanceOf(webAssembly.RuntimeError)
  })
})

// ---- a reference model, from the documented rules only ----

interface Model {
  board: number[]
  next: number
  winners: number
}

const lines = [[0, 1, 2], [3, 4, 5], [6, 7, 8], [0, 3, 6], [1, 4, 7], [2, 5, 8], [0, 4, 8], [2, 4, 6]]

function modelMove(m: Model, author: number, cell: number): Model | number {
  if (author > 1) return BAD_AUTHOR
  if (m.winners !== 0) return FINISHED
  if (cell > 8) return BAD_EVENT
  if (author !== m.next) return NOT_YOUR_TURN
  if (m.board[cell] !== 0) return CELL_TAKEN
  const board = m.board.map((value, i) => (i === cell ? author + 1 : value))
  const won = lines.some((line) => line.every((i) => board[i] === author + 1))
  const winners = won ? 1 << author : board.every((value) => value !== 0) ? 3 : 0
  return { board, next: 1 - author, winners }
}

test('random games agree with the reference model, move by move', () => {
  const attempt = fc.record({ author: fc.integer({ min: 0, max: 2 }), cell: fc.integer({ min: 0, max: 10 }) })
  fc.assert(fc.property(fc.array(attempt, { maxLength: 30 }), (attempts) => {
    let model: Model = { board: Array(9).fill(0), next: 0, winners: 0 }
    let state = start(app, params)
    for (const { author, cell } of attempts) {
      const expected = modelMove(model, author, cell)
      const result = app.apply(state, bytes(0x01, cell), author)
      if (typeof expected === 'number') {
        expect(codeOf(result)).toBe(expected)
        continue
      }
      expect(result.ok).toBe(true)
      if (!result.ok) return
      model = expected
      state = result.state
      expect(decode(state)).toEqual(model)
    }
  }))
})
