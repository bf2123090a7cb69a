// What every objective shares (DESIGN §5, Objective/Crank): a status, a failure reason when it failed,
// and the effects a crank asks the engine to carry out after it has committed the step.
import type { Address } from '../core/types.js'
import type { ChainTransaction } from './onchain.js'
import type { Payload } from './messages.js'
import type { Proposal } from './ledger/proposal.js'

export type ObjectiveStatus = 'unapproved' | 'approved' | 'completed' | 'rejected' | 'failed'

export interface Failure {
  readonly code: string
  readonly summary: string
}

export interface ObjectiveBase {
  readonly id: string
  readonly status: ObjectiveStatus
  readonly failure: Failure | null
}

export type Effect =
  | { readonly kind: 'send'; readonly to: Address; readonly payload: Payload }
  | { readonly kind: 'submit'; readonly tx: ChainTransaction }
  /** Run this change on my ledger with `counterparty` (the engine starts a LedgerUpdate objective). */
  | { readonly kind: 'updateLedger'; readonly counterparty: Address; readonly proposal: Proposal }

export interface Cranked<O, W extends string> {
  readonly objective: O
  readonly effects: readonly Effect[]
  readonly waitingFor: W
}

export function send(to: Address, payload: Payload): Effect {
  return { kind: 'send', to, payload }
}

export function isActive(o: ObjectiveBase): boolean {
  return o.status === 'approved' || o.status === 'unapproved'
}

export function fail<O extends ObjectiveBase>(o: O, failure: Failure): O {
  return { ...o, status: 'failed', failure }
}
