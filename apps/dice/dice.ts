// A dice duel, best of N, for 2 to 4 participants: each round everyone commits to a fresh secret and then
// reveals it (apps/sdk/commitReveal.ts); the round's seed is keccak256 of the reveals, and participant i's
// die is the seed's i-th little-endian u64 mod 6, plus 1 (the bias of a 64-bit value mod 6 is below 2^-61).
// The single highest die wins the round; a tie at the top wins nothing and the round is replayed. The match
// rules, encodings and codes are apps/sdk/match.ts's; this file only says how a round is won.
//
// Params: u8 participants (2..4), u8 bestOf (odd, 1..99).
// State, events, outcome: match.ts (4 + 68 × n bytes); `shown` holds the last round's dice, 1..6.
// Reveals carry choice 0 (the secret alone is the randomness).
// Rejection codes: 1 BAD_PARAMS, 2 BAD_STATE, 3 BAD_EVENT, 4 BAD_AUTHOR, 6 FINISHED, 7 TIMEOUT_TOO_EARLY,
// 16 ALREADY_COMMITTED, 17 REVEAL_TOO_EARLY, 18 ALREADY_REVEALED, 19 REVEAL_MISMATCH, 20 BAD_CHOICE.
import {
  CommitReveal, MatchRules, applyMatch, initMatch, matchIsFinal, matchOutcome, matchWhoseTurn,
} from '../sdk/index'

export { alloc, reset } from '../sdk/index'

/** A 32-byte seed holds four u64 dice. */
const MAX_PARTICIPANTS: u32 = 4

function resolve(round: CommitReveal, shown: usize): i32 {
  const seed = __alloc(32)
  round.seed(seed)
  let best: u32 = 0
  let winner: i32 = -1
  for (let i: u32 = 0; i < round.participants; i++) {
    const die = <u32>(load<u64>(seed + 8 * <usize>i) % 6) + 1
    store<u8>(shown + <usize>i, <u8>die)
    if (die > best) {
      best = die
      winner = i
    } else if (die == best) {
      winner = -1
    }
  }
  return winner
}

// Built per call, never kept in a global: reset() reclaims the heap before every call.
function rules(): MatchRules {
  return new MatchRules(2, MAX_PARTICIPANTS, 1, resolve)
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
