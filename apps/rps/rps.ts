// Rock-paper-scissors, best of N, for two participants: each round both commit to a move, then both reveal
// (apps/sdk/commitReveal.ts), so neither can answer the other's move. The match rules, encodings and codes
// are apps/sdk/match.ts's; this file only says how a round is won.
//
// Params: u8 participants = 2, u8 bestOf (odd, 1..99).
// State, events, outcome: match.ts (4 + 68 × 2 = 140 bytes). Choices: 0 rock, 1 paper, 2 scissors.
// Rejection codes: 1 BAD_PARAMS, 2 BAD_STATE, 3 BAD_EVENT, 4 BAD_AUTHOR, 6 FINISHED, 7 TIMEOUT_TOO_EARLY,
// 16 ALREADY_COMMITTED, 17 REVEAL_TOO_EARLY, 18 ALREADY_REVEALED, 19 REVEAL_MISMATCH, 20 BAD_CHOICE.
import {
  CommitReveal, MatchRules, applyMatch, initMatch, matchIsFinal, matchOutcome, matchWhoseTurn,
} from '../sdk/index'

export { alloc, reset } from '../sdk/index'

const CHOICES: u32 = 3

/** Paper (1) beats rock (0), scissors (2) beat paper, rock beats scissors: (a − b) mod 3 = 1 means a wins. */
function resolve(round: CommitReveal, shown: usize): i32 {
  const a = <u32>round.choiceOf(0)
  const b = <u32>round.choiceOf(1)
  store<u8>(shown, <u8>a)
  store<u8>(shown, <u8>b, 1)
  const difference = (a + CHOICES - b) % CHOICES
  return difference == 0 ? -1 : difference == 1 ? 0 : 1
}

// Built per call, never kept in a global: reset() reclaims the heap before every call.
function rules(): MatchRules {
  return new MatchRules(2, 2, CHOICES, resolve)
}

export function init(params: usize, paramsLen: u32): usize {
  return initMatch(params, paramsLen, rules())
}

export function apply(state: usize, stateLen: u32, event: usize, eventLen: u32, author: u32): usize {
  return applyMatch(state, stateLen, event, eventLen, author, rules())
}

export function outcome(state: usize, stateLen: u32): usize {
  return matchOutcome(state, stateLen, rules())
}

export function isFinal(state: usize, stateLen: u32): i32 {
  return matchIsFinal(state, stateLen, rules())
}

export function whoseTurn(state: usize, stateLen: u32): i32 {
  return matchWhoseTurn(state, stateLen, rules())
}
