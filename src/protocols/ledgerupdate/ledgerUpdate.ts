// LedgerUpdate: one change to a ledger channel (add or remove a guarantee), run by both participants.
// The leader proposes it; the follower countersigns it when it reaches the head of the ledger, and only
// because its own objective expects exactly that proposal (DESIGN §5). Either side may initiate: the
// initiator asks the counterparty to start the same objective. Flowchart: ledgerUpdate.md.
import type { Address, Bytes32 } from '../../core/types.js'
import type { Signer } from '../../core/signer.js'
import { RejectedInputError } from '../../core/errors.js'
import type { Cranked, Effect, ObjectiveBase, ObjectiveStatus } from '../objective.js'
import { fail, send } from '../objective.js'
import type { ConsensusChannel } from '../ledger/consensusChannel.js'
import { countersign, nextToCountersign, propose } from '../ledger/consensusChannel.js'
import type { Proposal } from '../ledger/proposal.js'
import { proposalsEqual } from '../ledger/proposal.js'

export type LedgerUpdateWaitingFor = 'approval' | 'countersignature' | 'proposal' | 'nothing'

export interface LedgerUpdate extends ObjectiveBase {
  readonly kind: 'ledgerUpdate'
  readonly ledgerId: Bytes32
  readonly counterparty: Address
  readonly proposal: Proposal
  /** The initiator still has to ask the counterparty to start the same objective. */
  readonly requestPending: boolean
  /** The turn at which my proposal was queued (leader) or that I countersigned (follower): a fact. */
  readonly turnNum: bigint | null
}

export function ledgerUpdateId(ledgerId: Bytes32, proposal: Proposal): string {
  return `ledgerUpdate:${ledgerId}:${proposal.kind}:${proposal.target}`
}

export function newLedgerUpdate(p: { ledgerId: Bytes32; counterparty: Address; proposal: Proposal; initiator: boolean; status: ObjectiveStatus }): LedgerUpdate {
  const proposal = p.proposal
  return {
    id: ledgerUpdateId(p.ledgerId, proposal),
    kind: 'ledgerUpdate',
    status: p.status,
    failure: null,
    ledgerId: p.ledgerId,
    counterparty: p.counterparty,
    proposal,
    requestPending: p.initiator,
    turnNum: null,
  }
}

export interface LedgerUpdateCranked extends Cranked<LedgerUpdate, LedgerUpdateWaitingFor> {
  readonly ledger: ConsensusChannel
}

export function crank(o: LedgerUpdate, ledger: ConsensusChannel, signer: Signer): LedgerUpdateCranked {
  const effects: Effect[] = []
  const pause = (objective: LedgerUpdate, waitingFor: LedgerUpdateWaitingFor, l = ledger) => ({ objective, effects, waitingFor, ledger: l })
  if (o.status === 'unapproved') return pause(o, 'approval')
  if (o.status !== 'approved') return pause(o, 'nothing')
  let next = o
  if (next.requestPending) {
    effects.push(send(o.counterparty, { kind: 'ledgerUpdateRequest', objectiveId: o.id, request: { ledgerId: o.ledgerId, proposal: o.proposal } }))
    next = { ...next, requestPending: false }
  }
  if (next.turnNum === null && ledger.closing) {
    // Once a defund began, my final state may be signed at the next turn: no proposal or countersignature
    // may take that turn as well. An update not yet signed fails, and the counterparty's learns why.
    const failure = { code: 'ledger_closing', summary: 'the ledger is being defunded' }
    effects.push(send(o.counterparty, { kind: 'objectiveRejected', objectiveId: o.id, ...failure }))
    return pause(fail(next, failure), 'nothing')
  }
  if (ledger.role === 'leader') {
    if (next.turnNum === null) {
      try {
        const { channel, signed } = propose(ledger, next.proposal, signer)
        effects.push(send(o.counterparty, { kind: 'proposal', ledgerId: o.ledgerId, signed }))
        return pause({ ...next, turnNum: signed.turnNum }, 'countersignature', channel)
      } catch (error) {
        if (!(error instanceof RejectedInputError)) throw error
        // The ledger cannot make this change: fail here and tell the follower, whose objective waits for it.
        effects.push(send(o.counterparty, { kind: 'objectiveRejected', objectiveId: o.id, code: error.code, summary: error.summary }))
        return pause(fail(next, { code: error.code, summary: error.summary }), 'nothing')
      }
    }
    if (ledger.supported.vars.turnNum < next.turnNum) return pause(next, 'countersignature')
    return pause({ ...next, status: 'completed' }, 'nothing')
  }
  if (next.turnNum === null) {
    const result = countersign(ledger, next.proposal, signer)
    if (!result) return pause(next, 'proposal')
    effects.push(send(o.counterparty, { kind: 'countersignature', ledgerId: o.ledgerId, turnNum: result.turnNum, signature: result.signature }))
    return pause({ ...next, turnNum: result.turnNum, status: 'completed' }, 'nothing', result.channel)
  }
  return pause({ ...next, status: 'completed' }, 'nothing')
}

/**
 * Whether cranking `o` against `ledger` could do anything: the engine cranks only these, instead of every
 * active update of the ledger on every message (which made a burst of n proposals cost n² cranks).
 * Mirrors `crank`'s branches; ledgerUpdate.test.ts checks that an objective that is not ready cranks to
 * itself with no effects.
 */
export function isReady(o: LedgerUpdate, ledger: ConsensusChannel): boolean {
  if (o.status !== 'approved') return false
  if (o.requestPending) return true
  if (o.turnNum === null && ledger.closing) return true // to fail it
  if (ledger.role === 'leader') return o.turnNum === null || ledger.supported.vars.turnNum >= o.turnNum
  if (o.turnNum !== null) return true
  const head = nextToCountersign(ledger)
  return head !== undefined && proposalsEqual(head.signed.proposal, o.proposal)
}

/** The peer (or the leader's ledger) refused the change. */
export function reject(o: LedgerUpdate, code: string, summary: string): LedgerUpdate {
  return o.status === 'completed' ? o : fail(o, { code, summary })
}
