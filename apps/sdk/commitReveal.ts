// Fair randomness and hidden simultaneous choices by commit–reveal (issue 7). In each round every participant
// first commits to a fresh 32-byte secret and a one-byte choice, then, once all have committed, reveals them;
// the app checks each reveal against its commitment. Nobody can change a choice after seeing another's, and
// the round's seed, keccak256 of all reveals, is unpredictable while at least one participant keeps its secret
// secret and fresh.
//
//   commitment = keccak256(secret[32] ‖ u8 choice ‖ u8 participant ‖ u32 round, little-endian)   (38 bytes)
//   seed       = keccak256(secret_0 ‖ choice_0 ‖ secret_1 ‖ choice_1 ‖ … ), in participant order  (33 × n bytes)
//
// The participant index and the round are inside the commitment so nobody can copy another's commitment (or
// one from an earlier round) and then reveal it once the owner has. Apps that only want randomness use
// choice 0.
//
// Time is not available to an app. "Did not reveal in time" is therefore the shared EVENT_TIMEOUT event, which
// the protocol admits only after a deadline; `punctualMask()` says who has done what the current phase asks,
// and the app's rules decide what the others forfeit (match.ts: the whole pot).
//
// The round lives inside the app's state as n consecutive slots of SLOT_BYTES:
//   +0 u8 progress (0 nothing yet, 1 committed, 2 revealed) · +1 bytes32 commitment · +33 bytes32 secret ·
//   +65 u8 choice  (secret and choice stay zero until revealed)
import { keccak256 } from './keccak'

export const SLOT_BYTES: u32 = 66

/** A second commitment in the same round. */
export const ALREADY_COMMITTED: u32 = 16
/** A reveal before every participant has committed (it would let the others choose after seeing it). */
export const REVEAL_TOO_EARLY: u32 = 17
/** A second reveal in the same round. */
export const ALREADY_REVEALED: u32 = 18
/** The secret and choice do not hash to this participant's commitment for this round. */
export const REVEAL_MISMATCH: u32 = 19

const NOTHING: u8 = 0
const COMMITTED: u8 = 1
const REVEALED: u8 = 2

const PREIMAGE_BYTES: u32 = 38

/** Writes keccak256(secret ‖ choice ‖ participant ‖ round) to `out` (32 bytes). */
export function commitmentOf(secret: usize, choice: u8, participant: u32, round: u32, out: usize): void {
  const preimage = __alloc(PREIMAGE_BYTES)
  memory.copy(preimage, secret, 32)
  store<u8>(preimage, choice, 32)
  store<u8>(preimage, <u8>participant, 33)
  store<u32>(preimage, round, 34)
  keccak256(preimage, PREIMAGE_BYTES, out)
}

function equal32(a: usize, b: usize): bool {
  return load<u64>(a) == load<u64>(b) && load<u64>(a, 8) == load<u64>(b, 8) &&
    load<u64>(a, 16) == load<u64>(b, 16) && load<u64>(a, 24) == load<u64>(b, 24)
}

/** One commit–reveal round over slots inside a state being built (the new state, so writes stick); masks are
 * u32, so at most 32 participants. */
export class CommitReveal {
  private base: usize
  participants: u32
  round: u32

  constructor(slots: usize, participants: u32, round: u32) {
    this.base = slots
    this.participants = participants
    this.round = round
  }

  private slot(participant: u32): usize {
    return this.base + <usize>(participant * SLOT_BYTES)
  }

  /** 0 nothing yet, 1 committed, 2 revealed. */
  progressOf(participant: u32): u8 {
    return load<u8>(this.slot(participant))
  }

  /** True when every slot's progress is at least `progress`. */
  private everyoneAt(progress: u8): bool {
    for (let i: u32 = 0; i < this.participants; i++) if (this.progressOf(i) < progress) return false
    return true
  }

  allCommitted(): bool {
    return this.everyoneAt(COMMITTED)
  }

  allRevealed(): bool {
    return this.everyoneAt(REVEALED)
  }

  /** Records a 32-byte commitment; 0 or a rejection code. */
  commit(participant: u32, commitment: usize): u32 {
    const slot = this.slot(participant)
    if (load<u8>(slot) != NOTHING) return ALREADY_COMMITTED
    store<u8>(slot, COMMITTED)
    memory.copy(slot + 1, commitment, 32)
    return 0
  }

  /** Checks and records a reveal; 0 or a rejection code. */
  reveal(participant: u32, secret: usize, choice: u8): u32 {
    if (!this.allCommitted()) return REVEAL_TOO_EARLY
    const slot = this.slot(participant)
    if (load<u8>(slot) == REVEALED) return ALREADY_REVEALED
    const expected = __alloc(32)
    commitmentOf(secret, choice, participant, this.round, expected)
    if (!equal32(expected, slot + 1)) return REVEAL_MISMATCH
    store<u8>(slot, REVEALED)
    memory.copy(slot + 33, secret, 32)
    store<u8>(slot, choice, 65)
    return 0
  }

  /** What `participant` revealed (0 before the reveal). */
  choiceOf(participant: u32): u8 {
    return load<u8>(this.slot(participant), 65)
  }

  /**
   * Who has done what the current phase asks (committed, or once all have committed, revealed), as a bit
   * mask, when at least one has and at least one has not. 0 otherwise: a timeout then would punish nobody
   * or everybody, so it is refused.
   */
  punctualMask(): u32 {
    const wanted = this.allCommitted() ? REVEALED : COMMITTED
    let mask: u32 = 0
    for (let i: u32 = 0; i < this.participants; i++) if (this.progressOf(i) >= wanted) mask |= 1 << i
    const everyone: u32 = (1 << this.participants) - 1
    return mask == everyone ? 0 : mask
  }

  /** The round's seed, keccak256 of every (secret ‖ choice) in participant order, into `out` (32 bytes). */
  seed(out: usize): void {
    const reveals = __alloc(33 * <usize>this.participants)
    for (let i: u32 = 0; i < this.participants; i++) memory.copy(reveals + 33 * <usize>i, this.slot(i) + 33, 33)
    keccak256(reveals, 33 * this.participants, out)
  }

  /** Empties every slot for the next round. */
  clear(): void {
    memory.fill(this.base, 0, <usize>(this.participants * SLOT_BYTES))
  }
}
