// The AppRuntime interface (DESIGN §2, issue 7): an app's rules as a pure reducer over bytes. The real
// implementation runs a WebAssembly module (docs/architecture/app-abi.md); an in-memory one wraps plain
// TypeScript functions for fast protocol tests. Protocol code depends only on this interface.
import type { Bytes32 } from '../core/types.js'

/** The app refused an event or params: `code` is the app's own rejection code (≥ 1). */
export interface AppRejection {
  readonly ok: false
  readonly code: number
  /** Why, when the runtime knows (trap, out of fuel, memory): the app's own refusals have no reason text. */
  readonly reason?: string
}

export type AppResult = { readonly ok: true; readonly state: Uint8Array } | AppRejection

/** Who may submit the next event: a participant index, anyone, or nobody (the state is final). */
export type Turn = number | 'anyone' | 'nobody'

/**
 * `init` and `apply` report an app's refusal, a trap, running out of fuel or memory as an AppRejection.
 * `outcome`, `isFinal` and `whoseTurn` throw AppCallError (src/wasm/errors.ts) if the module fails on a
 * state; the protocol calls them right after `apply`, so such a state is refused with its event.
 */
export interface AppRuntime {
  /** keccak256 of the module as built: what a channel's genesis event commits to. */
  readonly appId: Bytes32
  init(params: Uint8Array): AppResult
  apply(state: Uint8Array, event: Uint8Array, author: number): AppResult
  /** One weight per participant (u64 each); see splitByWeights. */
  outcome(state: Uint8Array): readonly bigint[]
  isFinal(state: Uint8Array): boolean
  whoseTurn(state: Uint8Array): Turn
}
