// The ABI glue every app shares (docs/architecture/app-abi.md, THE contract between the runtime in src/wasm/
// and this SDK). AssemblyScript, compiled by scripts/buildApps.ts with `--runtime stub`: allocation is a bump
// pointer that `reset()` puts back to the heap base before each top-level call, so an app never frees and
// never keeps anything on the heap between calls. Everything here is integer-only (the contract bans floats).
//
// Results are little-endian, in linear memory:
//   init, apply: u32 status (0 = ok, else a rejection code ≥ 1 and nothing follows), u32 len, len bytes of state
//   outcome:     u32 n, then n × u64 weights (one per participant; Σw = 0 returns everyone's deposit)

/** Room for `len` input bytes; the host writes params, states and events there. Exported by every app. */
export function alloc(len: u32): usize {
  return __alloc(<usize>len)
}

/** Forgets every allocation (the stub runtime's `__reset`). The host calls it before each top-level call. */
export function reset(): void {
  __reset()
}

// ---- rejection codes shared by every app: 1..15 here, 16..31 in commitReveal.ts, an app's own from 32 ----

/** `params` are malformed: wrong participant count or app parameters out of range. */
export const BAD_PARAMS: u32 = 1
/** The state bytes are not a state this app produced (wrong length or impossible values). */
export const BAD_STATE: u32 = 2
/** The event is malformed: unknown kind, wrong length, a value out of range. */
export const BAD_EVENT: u32 = 3
/** `author` is not a participant index of this channel. */
export const BAD_AUTHOR: u32 = 4
/** It is another participant's turn, or this participant has already acted in this phase. */
export const NOT_YOUR_TURN: u32 = 5
/** The state is final: no event can follow. */
export const FINISHED: u32 = 6
/** A `timeout` event came when nobody is late (see EVENT_TIMEOUT). */
export const TIMEOUT_TOO_EARLY: u32 = 7

// ---- whoseTurn results ----

/** whoseTurn: any participant may submit the next event. */
export const ANYONE: i32 = -1
/** whoseTurn: nobody may (the state is final). */
export const NOBODY: i32 = -2

/**
 * The event kind (first event byte) every app uses for "the participant(s) we wait for did not act in time".
 * An app has no clock, so lateness is an event: the protocol layer admits it only after a deadline, from any
 * participant, whatever whoseTurn says; the app then checks that someone is indeed waited for and applies
 * its forfeit rule. One kind for all apps lets the protocol recognise it without knowing the app.
 */
export const EVENT_TIMEOUT: u8 = 0xff

// ---- params ----

/** The participant count from `params` (its first byte, ABI), or 0 when it is outside min..max. */
export function participantsOf(params: usize, paramsLen: u32, min: u32, max: u32): u32 {
  if (paramsLen < 1) return 0
  const n = <u32>load<u8>(params)
  return n >= min && n <= max ? n : 0
}

// ---- results ----

/** A rejection result: status `code` (≥ 1) and nothing else. */
export function reject(code: u32): usize {
  const out = __alloc(4)
  store<u32>(out, code)
  return out
}

/**
 * Room for a new state of `len` bytes inside an ok result. Write the state at the returned pointer (its
 * bytes are not zeroed), then return `accept(pointer)` from init or apply.
 */
export function newState(len: u32): usize {
  const out = __alloc(8 + <usize>len)
  store<u32>(out, 0)
  store<u32>(out, len, 4)
  return out + 8
}

/** The ok result around a state made by `newState`. */
export function accept(state: usize): usize {
  return state - 8
}

/** An outcome result with `n` weights, all zero; fill them with `setWeight`. */
export function newWeights(n: u32): usize {
  const out = __alloc(4 + 8 * <usize>n)
  store<u32>(out, n)
  memory.fill(out + 4, 0, 8 * <usize>n)
  return out
}

export function setWeight(weights: usize, participant: u32, weight: u64): void {
  store<u64>(weights + 4 + 8 * <usize>participant, weight)
}

/** One weight per participant whose bit is set in `mask` (an equal split among them); zeros when mask = 0. */
export function weightsOfMask(n: u32, mask: u32): usize {
  const out = newWeights(n)
  for (let i: u32 = 0; i < n; i++) if ((mask >> i) & 1) setWeight(out, i, 1)
  return out
}
