// Tic-tac-toe with a stake, for two participants: participant 0 plays X and moves first, turns alternate,
// three in a row takes the whole pot, a full board without a line splits it. The state is 11 fixed bytes
// and apply allocates only its result, so a replay runs at millions of events per second.
//
// Params: u8 participants = 2 (nothing else).
// State (11 bytes): u8 board[9] (row by row; 0 empty, 1 X, 2 O) · u8 next (the participant on turn) ·
//   u8 winners (0 while playing; bit i set: participant i shares the pot; 1 X won, 2 O won, 3 draw).
// Events (first byte is the kind):
//   0x01 move: u8 cell (0..8)                                      (2 bytes)
//   0xff timeout: nothing (the participant on turn did not move in time and forfeits; the protocol admits
//        it only after a deadline, from either participant — see EVENT_TIMEOUT in apps/sdk/abi.ts)
// Outcome: the winners share the pot once final; before that both weights are 0 (deposits back).
// whoseTurn: `next` while playing, -2 once final.
// Rejection codes: 1 BAD_PARAMS, 2 BAD_STATE, 3 BAD_EVENT, 4 BAD_AUTHOR, 5 NOT_YOUR_TURN, 6 FINISHED,
//   32 CELL_TAKEN.
import {
  BAD_AUTHOR, BAD_EVENT, BAD_PARAMS, BAD_STATE, EVENT_TIMEOUT, FINISHED, NOBODY, NOT_YOUR_TURN,
  accept, newState, newWeights, participantsOf, reject, weightsOfMask,
} from '../sdk/index'

export { alloc, reset } from '../sdk/index'

/** The cell already holds a mark. */
const CELL_TAKEN: u32 = 32

const EVENT_MOVE: u8 = 0x01
const STATE_BYTES: u32 = 11
const NEXT: usize = 9
const WINNERS: usize = 10
const DRAW: u8 = 3

/** The eight lines, three cells each. */
const LINES = memory.data<u8>([0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 3, 6, 1, 4, 7, 2, 5, 8, 0, 4, 8, 2, 4, 6])

function isWellFormed(state: usize, stateLen: u32): bool {
  if (stateLen != STATE_BYTES || load<u8>(state, NEXT) > 1 || load<u8>(state, WINNERS) > DRAW) return false
  for (let cell: usize = 0; cell < 9; cell++) if (load<u8>(state + cell) > 2) return false
  return true
}

function hasLine(board: usize, mark: u8): bool {
  for (let line: usize = 0; line < 24; line += 3) {
    if (load<u8>(board + <usize>load<u8>(LINES + line)) == mark &&
      load<u8>(board + <usize>load<u8>(LINES + line + 1)) == mark &&
      load<u8>(board + <usize>load<u8>(LINES + line + 2)) == mark) return true
  }
  return false
}

function isFull(board: usize): bool {
  for (let cell: usize = 0; cell < 9; cell++) if (load<u8>(board + cell) == 0) return false
  return true
}

export function init(params: usize, paramsLen: u32): usize {
  if (participantsOf(params, paramsLen, 2, 2) == 0 || paramsLen != 1) return reject(BAD_PARAMS)
  const state = newState(STATE_BYTES)
  memory.fill(state, 0, STATE_BYTES)
  return accept(state)
}

export function apply(state: usize, stateLen: u32, event: usize, eventLen: u32, author: u32): usize {
  if (!isWellFormed(state, stateLen)) return reject(BAD_STATE)
  if (author > 1) return reject(BAD_AUTHOR)
  if (load<u8>(state, WINNERS) != 0) return reject(FINISHED)
  const player = <u32>load<u8>(state, NEXT)
  if (eventLen == 1 && load<u8>(event) == EVENT_TIMEOUT) {
    const next = newState(STATE_BYTES)
    memory.copy(next, state, STATE_BYTES)
    store<u8>(next, <u8>(<u32>1 << (1 - player)), WINNERS)
    return accept(next)
  }
  if (eventLen != 2 || load<u8>(event) != EVENT_MOVE || load<u8>(event, 1) > 8) return reject(BAD_EVENT)
  if (author != player) return reject(NOT_YOUR_TURN)
  const cell = <usize>load<u8>(event, 1)
  if (load<u8>(state + cell) != 0) return reject(CELL_TAKEN)

  const next = newState(STATE_BYTES)
  memory.copy(next, state, STATE_BYTES)
  const mark = <u8>(player + 1)
  store<u8>(next + cell, mark)
  store<u8>(next, <u8>(1 - player), NEXT)
  if (hasLine(next, mark)) store<u8>(next, <u8>(<u32>1 << player), WINNERS)
  else if (isFull(next)) store<u8>(next, DRAW, WINNERS)
  return accept(next)
}

export function outcome(state: usize, stateLen: u32): usize {
  if (!isWellFormed(state, stateLen)) unreachable()
  const winners = <u32>load<u8>(state, WINNERS)
  return winners == 0 ? newWeights(2) : weightsOfMask(2, winners)
}

export function isFinal(state: usize, stateLen: u32): i32 {
  if (!isWellFormed(state, stateLen)) unreachable()
  return load<u8>(state, WINNERS) != 0 ? 1 : 0
}

export function whoseTurn(state: usize, stateLen: u32): i32 {
  if (!isWellFormed(state, stateLen)) unreachable()
  return load<u8>(state, WINNERS) != 0 ? NOBODY : <i32>load<u8>(state, NEXT)
}
