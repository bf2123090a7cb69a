// The host side of the SDK's commit–reveal (apps/sdk/commitReveal.ts) and best-of-N match (apps/sdk/match.ts),
// written from their documented encodings with the node's keccak256 (src/core/keccak.ts), so the tests check
// the app's in-module keccak against an independent one on every reveal.
import { keccak256Bytes } from '../../src/core/keccak.js'
import { accepted, bytes, concatBytes } from './harness.js'
import type { AppRuntime } from '../../src/wasm/appRuntime.js'

/** A deterministic 32-byte secret per label (tests only: real secrets are fresh random bytes). */
export function secretOf(label: string): Uint8Array {
  return keccak256Bytes(new TextEncoder().encode(label))
}

function u32le(value: number): Uint8Array {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, value, true)
  return out
}

/** keccak256(secret ‖ u8 choice ‖ u8 participant ‖ u32 round LE). */
export function commitmentOf(secret: Uint8Array, choice: number, participant: number, round: number): Uint8Array {
  return keccak256Bytes(secret, bytes(choice, participant), u32le(round))
}

/** keccak256 of every (secret ‖ choice), in participant order. */
export function seedOf(reveals: ReadonlyArray<{ secret: Uint8Array; choice: number }>): Uint8Array {
  return keccak256Bytes(...reveals.map(({ secret, choice }) => concatBytes(secret, bytes(choice))))
}

export const commitEvent = (commitment: Uint8Array): Uint8Array => concatBytes(bytes(0x01), commitment)
export const revealEvent = (secret: Uint8Array, choice: number): Uint8Array => concatBytes(bytes(0x02), secret, bytes(choice))
export const timeoutEvent = bytes(0xff)

/** match.ts's state, read from its documented layout. */
export interface MatchState {
  readonly participants: number
  readonly bestOf: number
  readonly round: number
  readonly winners: number
  readonly wins: number[]
  readonly shown: number[]
}

export function decodeMatch(state: Uint8Array): MatchState {
  const n = state[0]!
  return {
    participants: n,
    bestOf: state[1]!,
    round: state[2]!,
    winners: state[3]!,
    wins: [...state.subarray(4, 4 + n)],
    shown: [...state.subarray(4 + n, 4 + 2 * n)],
  }
}

/** Everyone commits (in index order), then everyone reveals; returns the state after the round. */
export function playRound(app: AppRuntime, state: Uint8Array, choices: readonly number[], label: string): Uint8Array {
  const round = decodeMatch(state).round
  const secrets = choices.map((_, i) => secretOf(`${label}/${round}/${i}`))
  let current = state
  choices.forEach((choice, i) => {
    current = accepted(app.apply(current, commitEvent(commitmentOf(secrets[i]!, choice, i, round)), i), `commit ${i}`)
  })
  choices.forEach((choice, i) => {
    current = accepted(app.apply(current, revealEvent(secrets[i]!, choice), i), `reveal ${i}`)
  })
  return current
}
