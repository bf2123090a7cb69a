// Ledger proposals (DESIGN §5): add a guarantee (divert funds from the left and right balances into it)
// or remove one (return its funds to left and right). Applying a proposal advances the turn by one.
import type { Bytes32, Destination, Signature } from '../../core/types.js'
import type { Balance, Guarantee, LedgerOutcome } from './ledgerOutcome.js'
import { findGuarantee, totalOf } from './ledgerOutcome.js'
import { DuplicateGuaranteeError, InsufficientFundsError, InvalidProposalError, UnknownGuaranteeError } from './errors.js'
import { MAX_GUARANTEES } from './limits.js'
import { assert } from '../../core/errors.js'

export type Proposal =
  | {
      readonly kind: 'add'
      readonly target: Bytes32
      readonly left: Destination
      readonly right: Destination
      /** Diverted from the left balance; the right balance gives `rightAmount`. The guarantee holds the sum. */
      readonly leftAmount: bigint
      readonly rightAmount: bigint
    }
  | {
      readonly kind: 'remove'
      readonly target: Bytes32
      /** Returned to the left balance; the rest of the guarantee returns to the right. */
      readonly leftAmount: bigint
    }

/** A proposal with the leader's signature on the ledger state that results from applying it at `turnNum`. */
export interface SignedProposal {
  readonly proposal: Proposal
  readonly turnNum: bigint
  readonly signature: Signature
}

export interface LedgerVars {
  readonly turnNum: bigint
  readonly outcome: LedgerOutcome
}

export function proposalsEqual(a: Proposal, b: Proposal): boolean {
  if (a.kind === 'add' && b.kind === 'add') {
    return a.target === b.target && a.left === b.left && a.right === b.right && a.leftAmount === b.leftAmount && a.rightAmount === b.rightAmount
  }
  if (a.kind === 'remove' && b.kind === 'remove') return a.target === b.target && a.leftAmount === b.leftAmount
  return false
}

/** Which of the two balances a destination names. */
function side(o: LedgerOutcome, destination: Destination): 'leader' | 'follower' {
  if (o.leader.destination === destination) return 'leader'
  if (o.follower.destination === destination) return 'follower'
  throw new InvalidProposalError('guarantee side is neither the leader nor the follower', { destination })
}

function adjust(balance: Balance, delta: bigint): Balance {
  return { destination: balance.destination, amount: balance.amount + delta }
}

/** Applies `p` to `vars`, giving the next turn. Throws a typed error if the ledger cannot do it. */
export function applyProposal(vars: LedgerVars, proposal: Proposal): LedgerVars {
  const p = proposal
  const o = vars.outcome
  const next = p.kind === 'add' ? divertToGuarantee(o, p) : releaseGuarantee(o, p)
  assert(totalOf(next) === totalOf(o), 'a proposal must conserve the ledger total')
  return { turnNum: vars.turnNum + 1n, outcome: next }
}

/** Moves leftAmount from left's balance and rightAmount from right's into a new guarantee for target. */
export function divertToGuarantee(o: LedgerOutcome, p: Extract<Proposal, { kind: 'add' }>): LedgerOutcome {
  if (p.leftAmount < 0n || p.rightAmount < 0n) throw new InvalidProposalError('guarantee amounts must not be negative')
  if (p.left === p.right) throw new InvalidProposalError('left and right must be different sides')
  if (findGuarantee(o, p.target)) throw new DuplicateGuaranteeError('the ledger already guarantees this target', { target: p.target })
  if (o.guarantees.length >= MAX_GUARANTEES) throw new InvalidProposalError(`a ledger holds at most ${MAX_GUARANTEES} guarantees`)
  const leftSide = side(o, p.left)
  const rightSide = side(o, p.right)
  const debit = { leader: 0n, follower: 0n }
  debit[leftSide] += p.leftAmount
  debit[rightSide] += p.rightAmount
  for (const s of ['leader', 'follower'] as const) {
    if (o[s].amount < debit[s]) throw new InsufficientFundsError(`the ${s} cannot afford the guarantee`, { side: s, has: o[s].amount, needs: debit[s] })
  }
  const guarantee: Guarantee = { target: p.target, amount: p.leftAmount + p.rightAmount, left: p.left, right: p.right }
  const guarantees = [...o.guarantees, guarantee].sort((a, b) => (a.target < b.target ? -1 : 1))
  return { ...o, leader: adjust(o.leader, -debit.leader), follower: adjust(o.follower, -debit.follower), guarantees }
}

/** Removes target's guarantee, paying leftAmount to its left side and the rest to its right side. */
export function releaseGuarantee(o: LedgerOutcome, p: Extract<Proposal, { kind: 'remove' }>): LedgerOutcome {
  const guarantee = findGuarantee(o, p.target)
  if (!guarantee) throw new UnknownGuaranteeError('the ledger has no guarantee for this target', { target: p.target })
  if (p.leftAmount < 0n || p.leftAmount > guarantee.amount) {
    throw new InvalidProposalError('leftAmount must be within the guarantee', { leftAmount: p.leftAmount, guarantee: guarantee.amount })
  }
  const credit = { leader: 0n, follower: 0n }
  credit[side(o, guarantee.left)] += p.leftAmount
  credit[side(o, guarantee.right)] += guarantee.amount - p.leftAmount
  return {
    ...o,
    leader: adjust(o.leader, credit.leader),
    follower: adjust(o.follower, credit.follower),
    guarantees: o.guarantees.filter((g) => g.target !== guarantee.target),
  }
}
