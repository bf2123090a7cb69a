// A best-of-N match of commit–reveal rounds: the part rock-paper-scissors and the dice duel share, so each of
// them only says how a round is won (its `Resolver`). The first participant to win (N + 1) / 2 rounds takes
// the whole pot; a round nobody wins (a draw) is replayed. Not revealing in time forfeits the match: after
// an EVENT_TIMEOUT, the participants who had done what the phase asked split the pot (commitReveal.ts).
//
// Params: u8 participants, u8 bestOf (odd, 1..MAX_BEST_OF). Nothing else.
// State (4 + 68 × n bytes, n = participants):
//   +0 u8 participants · +1 u8 bestOf · +2 u8 round (rounds resolved, draws included) ·
//   +3 u8 winners (bit i set: participant i shares the pot; 0 while the match goes on) ·
//   +4 u8 wins[n] · +4+n u8 shown[n] (what each showed in the last resolved round; the resolver's choice) ·
//   +4+2n commit–reveal slots[n × 66] of the current round
// Events (first byte is the kind):
//   0x01 commit:  bytes32 commitment                          (33 bytes)
//   0x02 reveal:  bytes32 secret, u8 choice                   (34 bytes)
//   0xff timeout: nothing                                     (1 byte; see EVENT_TIMEOUT)
// A match that reaches MAX_ROUNDS rounds (draws forever) ends: the participants with the most wins split.
// Outcome: the winners share equally once final; before that every weight is 0 (deposits back), since
// stalling is answered by the timeout event rather than by intermediate outcomes.
import {
  ANYONE, BAD_AUTHOR, BAD_EVENT, BAD_PARAMS, BAD_STATE, EVENT_TIMEOUT, FINISHED, NOBODY, TIMEOUT_TOO_EARLY,
  accept, newState, newWeights, participantsOf, reject, weightsOfMask,
} from './abi'
import { CommitReveal, SLOT_BYTES } from './commitReveal'

/** A revealed choice outside the app's range (0..choices-1). */
export const BAD_CHOICE: u32 = 20

export const MAX_BEST_OF: u32 = 99
/** The round counter is a byte; a match of endless draws stops here. */
export const MAX_ROUNDS: u32 = 255

export const EVENT_COMMIT: u8 = 0x01
export const EVENT_REVEAL: u8 = 0x02

/**
 * Decides a round once everyone has revealed: writes what each participant showed (one byte each) at
 * `shown` and returns the round's winner, or -1 when nobody wins it.
 */
export type Resolver = (round: CommitReveal, shown: usize) => i32

/** What an app fixes about its match. `winners` is one byte, so maxParticipants is at most 8. */
export class MatchRules {
  minParticipants: u32
  maxParticipants: u32
  /** Reveals must carry a choice below this (1 when the app only wants randomness). */
  choices: u32
  resolve: Resolver

  constructor(minParticipants: u32, maxParticipants: u32, choices: u32, resolve: Resolver) {
    this.minParticipants = minParticipants
    this.maxParticipants = maxParticipants
    this.choices = choices
    this.resolve = resolve
  }
}

const WINS: usize = 4

function stateLength(n: u32): u32 {
  return 4 + 2 * n + n * SLOT_BYTES
}

/** The participant count of a well-formed match state under `rules`, or 0. */
function participantsOfState(state: usize, stateLen: u32, rules: MatchRules): u32 {
  if (stateLen < 4) return 0
  const n = <u32>load<u8>(state)
  if (n < rules.minParticipants || n > rules.maxParticipants || stateLen != stateLength(n)) return 0
  return n
}

function slotsOf(state: usize, n: u32): usize {
  return state + WINS + 2 * <usize>n
}

export function initMatch(params: usize, paramsLen: u32, rules: MatchRules): usize {
  assert(rules.maxParticipants <= 8) // the app's own bug, not an input: trap
  const n = participantsOf(params, paramsLen, rules.minParticipants, rules.maxParticipants)
  if (n == 0 || paramsLen != 2) return reject(BAD_PARAMS)
  const bestOf = <u32>load<u8>(params, 1)
  if (bestOf == 0 || bestOf > MAX_BEST_OF || (bestOf & 1) == 0) return reject(BAD_PARAMS)
  const len = stateLength(n)
  const state = newState(len)
  memory.fill(state, 0, len)
  store<u8>(state, <u8>n)
  store<u8>(state, <u8>bestOf, 1)
  return accept(state)
}

export function applyMatch(
  state: usize, stateLen: u32, event: usize, eventLen: u32, author: u32, rules: MatchRules,
): usize {
  const n = participantsOfState(state, stateLen, rules)
  if (n == 0) return reject(BAD_STATE)
  if (author >= n) return reject(BAD_AUTHOR)
  if (load<u8>(state, 3) != 0) return reject(FINISHED)
  if (eventLen == 0) return reject(BAD_EVENT)

  const next = newState(stateLen)
  memory.copy(next, state, stateLen)
  const round = new CommitReveal(slotsOf(next, n), n, <u32>load<u8>(next, 2))
  const kind = load<u8>(event)
  let code: u32 = 0
  if (kind == EVENT_COMMIT && eventLen == 33) {
    code = round.commit(author, event + 1)
  } else if (kind == EVENT_REVEAL && eventLen == 34) {
    const choice = load<u8>(event, 33)
    code = <u32>choice >= rules.choices ? BAD_CHOICE : round.reveal(author, event + 1, choice)
    if (code == 0 && round.allRevealed()) finishRound(next, n, round, rules)
  } else if (kind == EVENT_TIMEOUT && eventLen == 1) {
    const punctual = round.punctualMask()
    if (punctual == 0) code = TIMEOUT_TOO_EARLY
    else store<u8>(next, <u8>punctual, 3)
  } else {
    code = BAD_EVENT
  }
  return code == 0 ? accept(next) : reject(code)
}

/** Scores a fully revealed round, then ends the match or clears the slots for the next round. */
function finishRound(state: usize, n: u32, round: CommitReveal, rules: MatchRules): void {
  const winner = rules.resolve(round, state + WINS + <usize>n)
  const played = round.round + 1
  store<u8>(state, <u8>played, 2)
  round.clear()
  if (winner >= 0) {
    const wins = <u32>load<u8>(state + WINS + <usize>winner) + 1
    store<u8>(state + WINS + <usize>winner, <u8>wins)
    if (wins * 2 > <u32>load<u8>(state, 1)) {
      store<u8>(state, <u8>(<u32>1 << <u32>winner), 3)
      return
    }
  }
  if (played >= MAX_ROUNDS) store<u8>(state, <u8>mostWins(state, n), 3)
}

/** Bit mask of the participants with the most round wins. */
function mostWins(state: usize, n: u32): u32 {
  let best: u32 = 0
  for (let i: u32 = 0; i < n; i++) best = max(best, <u32>load<u8>(state + WINS + <usize>i))
  let mask: u32 = 0
  for (let i: u32 = 0; i < n; i++) if (<u32>load<u8>(state + WINS + <usize>i) == best) mask |= 1 << i
  return mask
}

/** The participant count of a state the host says is valid; a malformed one traps (the ABI's failure). */
function checkedParticipants(state: usize, stateLen: u32, rules: MatchRules): u32 {
  const n = participantsOfState(state, stateLen, rules)
  if (n == 0) unreachable()
  return n
}

export function matchOutcome(state: usize, stateLen: u32, rules: MatchRules): usize {
  const n = checkedParticipants(state, stateLen, rules)
  const winners = <u32>load<u8>(state, 3)
  return winners == 0 ? newWeights(n) : weightsOfMask(n, winners)
}

export function matchIsFinal(state: usize, stateLen: u32, rules: MatchRules): i32 {
  checkedParticipants(state, stateLen, rules)
  return load<u8>(state, 3) != 0 ? 1 : 0
}

export function matchWhoseTurn(state: usize, stateLen: u32, rules: MatchRules): i32 {
  checkedParticipants(state, stateLen, rules)
  return load<u8>(state, 3) != 0 ? NOBODY : ANYONE
}
