// A consensus (ledger) channel (DESIGN §5, P8 plan): two participants, one writer. The leader
// (participants[0]) proposes changes; each proposal carries the leader's signature on the ledger state
// that results from applying it. The follower countersigns proposals strictly in turn order, and only a
// proposal its own objective expects. Unlike go-nitro, the follower buffers future-turn proposals (a
// lost or reordered one no longer stalls the ledger) and either side can adopt a newer supported state
// from a sync message.
import type { Address, Bytes32, Signature } from '../../core/types.js'
import type { FixedPart, State } from '../../core/state.js'
import type { SignedState } from '../../core/signedState.js'
import type { Signer } from '../../core/signer.js'
import { channelId } from '../../core/channelId.js'
import { hashStateOfChannel } from '../../core/hashState.js'
import { recoverHashSigner } from '../../core/signatures.js'
import { assert, InvalidSignatureError, InvalidStateError, RejectedInputError } from '../../core/errors.js'
import type { LedgerOutcome } from './ledgerOutcome.js'
import { ledgerOutcomeFromExit, ledgerOutcomeToExit } from './ledgerOutcome.js'
import type { LedgerVars, Proposal, SignedProposal } from './proposal.js'
import { applyProposal, proposalsEqual } from './proposal.js'
import {
  BadCountersignatureError,
  BadProposalSignatureError,
  ConflictingProposalError,
  InvalidProposalError,
  LedgerClosingError,
  ProposalBufferFullError,
  UnknownTurnError,
  WrongRoleError,
} from './errors.js'
import { MAX_BUFFERED_PROPOSALS, MAX_QUEUED_PROPOSALS } from './limits.js'

export interface SupportedVars {
  readonly vars: LedgerVars
  /** [leader's, follower's] signatures on the state of `vars`. */
  readonly signatures: readonly [Signature, Signature]
}

interface LedgerBase {
  readonly id: Bytes32
  readonly fixed: FixedPart
  readonly supported: SupportedVars
  /** Set once a defund has begun: no new proposals. */
  readonly closing: boolean
}

export interface LeaderChannel extends LedgerBase {
  readonly role: 'leader'
  /** Proposals not yet countersigned, at consecutive turns from supported + 1. */
  readonly queue: readonly SignedProposal[]
}

/** A proposal the follower holds; `vars` is set once its leader signature was checked (needs its predecessor). */
export interface ReceivedProposal {
  readonly signed: SignedProposal
  readonly vars: LedgerVars | null
}

export interface FollowerChannel extends LedgerBase {
  readonly role: 'follower'
  /**
   * Received proposals above the supported turn, sorted by turn; gaps allowed (future turns are buffered).
   * A turn not yet verified may hold several candidates, in the order they arrived.
   */
  readonly received: readonly ReceivedProposal[]
}

export type ConsensusChannel = LeaderChannel | FollowerChannel

export function ledgerState(fixed: FixedPart, vars: LedgerVars): State {
  return { ...fixed, appData: '0x', outcome: ledgerOutcomeToExit(vars.outcome), turnNum: vars.turnNum, isFinal: false }
}

// Memoisation, invisible to callers (records are immutable, results deterministic): a ledger state's hash
// covers every guarantee, so each vars object is hashed once, and the leader remembers the vars its own
// proposals produced instead of replaying its queue. After a restart the caches start empty and the
// values are recomputed.
const hashOfVars = new WeakMap<LedgerVars, Bytes32>()
const varsOfProposal = new WeakMap<SignedProposal, LedgerVars>()

function hashVars(ch: { id: Bytes32; fixed: FixedPart }, vars: LedgerVars): Bytes32 {
  const cached = hashOfVars.get(vars)
  if (cached) return cached
  const hash = computeHashVars(ch, vars)
  hashOfVars.set(vars, hash)
  return hash
}

/** The vars after the queue up to and including `index`, from the memo or by replay. */
function queuedVars(ch: LeaderChannel, index: number): LedgerVars {
  const memo = varsOfProposal.get(ch.queue[index]!)
  if (memo) return memo
  let vars = ch.supported.vars
  for (const sp of ch.queue.slice(0, index + 1)) vars = applyProposal(vars, sp.proposal)
  return vars
}

function computeHashVars(ch: { id: Bytes32; fixed: FixedPart }, vars: LedgerVars): Bytes32 {
  return hashStateOfChannel(ch.id, ledgerState(ch.fixed, vars))
}

function signerOf(ch: { fixed: FixedPart }, index: 0 | 1): Address {
  return ch.fixed.participants[index]!
}

/** A consensus channel from a fully signed postfund state; my role follows my index (0 leads). */
export function createConsensusChannel(postfund: SignedState, me: Address): ConsensusChannel {
  const fixed: FixedPart = {
    participants: postfund.state.participants,
    channelNonce: postfund.state.channelNonce,
    appDefinition: postfund.state.appDefinition,
    challengeDuration: postfund.state.challengeDuration,
  }
  assert(fixed.participants.length === 2, 'a ledger has two participants')
  const [leaderSig, followerSig] = postfund.signatures
  assert(leaderSig && followerSig, 'a ledger starts from a fully signed state')
  // The ledger keeps only its vars and rebuilds the signed state from them (ledgerState): a postfund state
  // of another shape would leave us holding signatures on a state we cannot show.
  if (postfund.state.appData !== '0x' || postfund.state.isFinal) {
    throw new InvalidStateError('a ledger state has no app data and is not final', { appData: postfund.state.appData, isFinal: postfund.state.isFinal })
  }
  const vars: LedgerVars = { turnNum: postfund.state.turnNum, outcome: ledgerOutcomeFromExit(postfund.state.outcome) }
  const id = channelId(fixed)
  assert(hashVars({ id, fixed }, vars) === hashStateOfChannel(id, postfund.state), 'the ledger state rebuilt from its vars is the signed postfund state')
  const base = { id, fixed, supported: { vars, signatures: [leaderSig, followerSig] as const }, closing: false }
  const index = fixed.participants.findIndex((p) => p === me)
  assert(index === 0 || index === 1, 'I am a participant of the ledger')
  return index === 0 ? { ...base, role: 'leader', queue: [] } : { ...base, role: 'follower', received: [] }
}

/** The supported (both-signed) ledger state. */
export function supportedSignedState(ch: ConsensusChannel): SignedState {
  return { state: ledgerState(ch.fixed, ch.supported.vars), signatures: [...ch.supported.signatures] }
}

export function supportedOutcome(ch: ConsensusChannel): LedgerOutcome {
  return ch.supported.vars.outcome
}

// ---- leader ----

/** The vars after the supported state and every queued proposal. */
export function latestProposedVars(ch: LeaderChannel): LedgerVars {
  return ch.queue.length === 0 ? ch.supported.vars : queuedVars(ch, ch.queue.length - 1)
}

/** Leader: applies `proposal` on top of the queue, signs the resulting state, and queues it. */
export function propose(ch: ConsensusChannel, proposal: Proposal, signer: Signer): { channel: LeaderChannel; signed: SignedProposal } {
  if (ch.role !== 'leader') throw new WrongRoleError('only the leader proposes')
  if (ch.closing) throw new LedgerClosingError('the ledger is being defunded')
  if (ch.queue.length >= MAX_QUEUED_PROPOSALS) throw new ProposalBufferFullError(`at most ${MAX_QUEUED_PROPOSALS} proposals may be outstanding`)
  assert(signer.address === signerOf(ch, 0), 'the leader signs with the leader key')
  const p = proposal
  const vars = applyProposal(latestProposedVars(ch), p)
  const signed: SignedProposal = { proposal: p, turnNum: vars.turnNum, signature: signer.signHash(hashVars(ch, vars)) }
  varsOfProposal.set(signed, vars)
  return { channel: { ...ch, queue: [...ch.queue, signed] }, signed }
}

/** Leader: the follower countersigned `turnNum`; everything queued up to it becomes supported. */
export function receiveCountersignature(ch: ConsensusChannel, turnNum: bigint, signature: Signature): LeaderChannel {
  if (ch.role !== 'leader') throw new WrongRoleError('only the leader receives countersignatures')
  if (turnNum <= ch.supported.vars.turnNum) return ch // stale or duplicate
  const index = ch.queue.findIndex((sp) => sp.turnNum === turnNum)
  if (index < 0) throw new UnknownTurnError(`no queued proposal at turn ${turnNum}`, { turnNum })
  const vars = queuedVars(ch, index)
  assert(vars.turnNum === turnNum, 'queued proposals sit at consecutive turns')
  const signer = recoverOrReject(hashVars(ch, vars), signature, BadCountersignatureError)
  if (signer !== signerOf(ch, 1)) throw new BadCountersignatureError('countersignature is not the follower\'s', { signer })
  const leaderSig = ch.queue[index]!.signature
  return { ...ch, supported: { vars, signatures: [leaderSig, signature] }, queue: ch.queue.slice(index + 1) }
}

// ---- follower ----

/**
 * Follower: stores a proposal (verifying every one that now follows a known state); duplicates are no-ops.
 * Only a verified proposal settles its turn: one still waiting for its predecessor may be a bad copy, so a
 * different proposal for that turn waits beside it, and the first of them that verifies wins.
 */
export function receiveProposal(ch: ConsensusChannel, signed: SignedProposal): FollowerChannel {
  if (ch.role !== 'follower') throw new WrongRoleError('only the follower receives proposals')
  if (signed.turnNum <= ch.supported.vars.turnNum) return ch // already countersigned: stale or duplicate
  const sp = signed
  const sameTurn = ch.received.filter((r) => r.signed.turnNum === sp.turnNum)
  if (sameTurn.some((r) => proposalsEqual(r.signed.proposal, sp.proposal) && r.signed.signature === sp.signature)) return ch
  if (sameTurn.some((r) => r.vars !== null)) {
    throw new ConflictingProposalError(`a different proposal for turn ${sp.turnNum} was already received`, { turnNum: sp.turnNum })
  }
  if (ch.received.length >= MAX_BUFFERED_PROPOSALS) throw new ProposalBufferFullError('too many buffered proposals')
  const mine: ReceivedProposal = { signed: sp, vars: null }
  // A stable sort: candidates for one turn stay in the order they arrived.
  const received = [...ch.received, mine].sort((a, b) => compareTurns(a.signed.turnNum, b.signed.turnNum))
  const { channel, rejected } = verifyContiguous({ ...ch, received })
  const error = rejected.get(mine)
  if (error) throw error
  return channel
}

function compareTurns(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/**
 * Checks the leader's signature on each buffered proposal that now follows a verified state. A proposal
 * that fails is dropped (the leader retransmits the real one) and its error returned; so is any other
 * candidate for a turn once one of them verified.
 */
function verifyContiguous(ch: FollowerChannel): { channel: FollowerChannel; rejected: Map<ReceivedProposal, RejectedInputError> } {
  let vars = ch.supported.vars
  const received: ReceivedProposal[] = []
  const rejected = new Map<ReceivedProposal, RejectedInputError>()
  for (const r of ch.received) {
    if (r.signed.turnNum <= vars.turnNum) continue // another candidate for this turn verified first
    if (r.signed.turnNum !== vars.turnNum + 1n) {
      received.push(r)
      continue
    }
    if (r.vars !== null) {
      vars = r.vars
      received.push(r)
      continue
    }
    try {
      const next = applyOrReject(vars, r.signed.proposal)
      const signer = recoverOrReject(hashVars(ch, next), r.signed.signature, BadProposalSignatureError)
      if (signer !== signerOf(ch, 0)) throw new BadProposalSignatureError('proposal is not signed by the leader', { signer })
      vars = next
      received.push({ signed: r.signed, vars: next })
    } catch (error) {
      if (!(error instanceof RejectedInputError)) throw error
      rejected.set(r, error)
    }
  }
  return { channel: { ...ch, received }, rejected }
}

/** The proposal the follower may countersign next, if it has arrived and verified. */
export function nextToCountersign(ch: FollowerChannel): ReceivedProposal | undefined {
  const head = ch.received[0]
  return head && head.vars && head.signed.turnNum === ch.supported.vars.turnNum + 1n ? head : undefined
}

/**
 * Follower: countersigns the next proposal if it equals `expected` (what my own objective computed).
 * Returns undefined if the next proposal is not (yet) that one.
 */
export function countersign(
  ch: ConsensusChannel,
  expected: Proposal,
  signer: Signer,
): { channel: FollowerChannel; turnNum: bigint; signature: Signature } | undefined {
  if (ch.role !== 'follower') throw new WrongRoleError('only the follower countersigns')
  // A closing ledger may have my signature on its final state, one turn on from the supported one: the turn a
  // countersignature would sign too. Never two states at one turn (DESIGN §5).
  if (ch.closing) return undefined
  const head = nextToCountersign(ch)
  if (!head || !proposalsEqual(head.signed.proposal, expected)) return undefined
  assert(signer.address === signerOf(ch, 1), 'the follower signs with the follower key')
  const vars = head.vars!
  const signature = signer.signHash(hashVars(ch, vars))
  const channel: FollowerChannel = { ...ch, supported: { vars, signatures: [head.signed.signature, signature] }, received: ch.received.slice(1) }
  return { channel, turnNum: vars.turnNum, signature }
}

// ---- both ----

/**
 * Adopts a newer supported state sent by the counterparty (resync): it must be signed by both
 * participants. Queued or buffered proposals at or below its turn are dropped.
 */
export function adoptSupported(ch: ConsensusChannel, vars: LedgerVars, signatures: readonly [Signature, Signature]): ConsensusChannel {
  if (vars.turnNum <= ch.supported.vars.turnNum) return ch
  const hash = hashVars(ch, vars)
  for (const index of [0, 1] as const) {
    const signer = recoverOrReject(hash, signatures[index], InvalidSignatureError)
    if (signer !== signerOf(ch, index)) throw new InvalidSignatureError('sync state is not signed by both participants', { index })
  }
  const supported = { vars, signatures }
  if (ch.role === 'leader') return { ...ch, supported, queue: queueAfter(ch, vars, hash) }
  // A buffered proposal was verified against its predecessor, which the adopted state may replace: verify
  // every kept one again, from the adopted state.
  const received = ch.received.filter((r) => r.signed.turnNum > vars.turnNum).map((r) => ({ signed: r.signed, vars: null }))
  return verifyContiguous({ ...ch, supported, received }).channel
}

/**
 * The queued proposals that follow an adopted state. We are the only writer, so our queue normally leads
 * to it and we keep what follows. After a restore from old data it may not: the proposals we queued since
 * were signed on a history the follower never saw and will never be countersigned, so none is kept.
 */
function queueAfter(ch: LeaderChannel, adopted: LedgerVars, adoptedHash: Bytes32): readonly SignedProposal[] {
  let vars = ch.supported.vars
  for (const [index, sp] of ch.queue.entries()) {
    vars = applyProposal(vars, sp.proposal)
    if (vars.turnNum === adopted.turnNum) return hashVars(ch, vars) === adoptedHash ? ch.queue.slice(index + 1) : []
  }
  return []
}

export function markClosing(ch: ConsensusChannel): ConsensusChannel {
  return { ...ch, closing: true }
}

function applyOrReject(vars: LedgerVars, proposal: Proposal): LedgerVars {
  try {
    return applyProposal(vars, proposal)
  } catch (cause) {
    if (cause instanceof RejectedInputError) throw new InvalidProposalError(`proposal cannot apply: ${cause.summary}`, cause.details, { cause })
    throw cause
  }
}

function recoverOrReject(hash: Bytes32, signature: Signature, ErrorClass: new (summary: string, details?: Record<string, unknown>, options?: { cause?: unknown }) => Error): Address {
  try {
    return recoverHashSigner(hash, signature)
  } catch (cause) {
    throw new ErrorClass('signature does not recover', {}, { cause })
  }
}
