// An app channel (DESIGN §4.1 and §5, issue 7): 2..N participants drive a shared app, a module run as a
// pure reducer (src/wasm/appRuntime.ts), by appending events to the channel's hash-chained log. Every
// state is settled through the ConsensusApp (fixed.appDefinition), so a state counts only once ALL
// participants signed it; a stalled or cheating participant leaves the others with the latest fully
// signed state, which they can enforce on chain. Flowchart and message flow: appChannel.md.
//
// - Turn 0 is the genesis: every participant builds the channel from the same definition (newAppChannel),
//   signs turn 0 and sends the signature to everyone else. No event is proposed before turn 0 is signed by
//   all. (Funding on chain is the engine's business, after turn 0 and before the first event.)
// - Turn t ≥ 1 is made by the event at seq t + 1. Its author applies it, signs the resulting state and
//   sends the update to everyone (submitEvent); each other participant replays it through the same module,
//   checks that it reproduces exactly the state the author signed, countersigns it and sends the
//   countersignature to everyone (receiveUpdate); everyone adds the countersignatures it receives
//   (receiveCountersignature). A turn is final when all participants signed it.
// - One update in flight: nobody proposes while a turn is partly signed, so at most one partly signed turn
//   exists and every proposal builds on a fully signed one.
// - Never two states at one turn (DESIGN §5): a node never signs two different states for one turn. Its
//   pending turn always carries its signature (its own proposal or its countersignature), so any other
//   update for that turn is refused (conflicting_update), and one for a turn signed by all is stale
//   (stale_update); nothing replaces a pending turn. Two proposals racing for one turn (the app lets
//   'anyone' move) go to whichever each node received first; if both authors signed their own, neither
//   can be signed by all: the turn is contested and stays pending everywhere, each author told of the
//   refusals, until the channel is settled from its latest state signed by all (appChannel.md,
//   "Contention"). signAppState, the only place this node signs an app state, asserts the rule against
//   `mySignedTurn`, the record of what it signed last, kept apart from the pending turn.
// Pure (STYLE §2): every function returns a new channel value; a refusal throws a typed error
// (./errors.ts) and returns nothing, so nothing is signed and the caller's channel value stays as it was.
import type { Address, Bytes32, Signature } from '../../core/types.js'
import type { SignedState } from '../../core/signedState.js'
import type { Signer } from '../../core/signer.js'
import type { AppRuntime } from '../../wasm/appRuntime.js'
import type { ChannelEvent } from '../../log/event.js'
import { hashEvent } from '../../log/event.js'
import { nextEvent } from '../../log/channelLog.js'
import { checkState } from '../../core/state.js'
import { RejectedInputError, assert } from '../../core/errors.js'
import { NotAParticipantInputError } from '../errors.js'
import type { AppDefinition } from './appData.js'
import { APP_EVENT_KIND, checkDefinition } from './appData.js'
import type { AppContext, AppStep, ExportedLog } from './replay.js'
import { appContext, checkRuntime, checkSignatureOf, genesisEvent, genesisStep, participantIndexOf, replayEvent, stateDifferences } from './replay.js'
import {
  BadLogLinkError,
  ConflictingUpdateError,
  InvalidEventError,
  MalformedUpdateError,
  ReplayMismatchError,
  StaleUpdateError,
  UnexpectedSeqError,
  UnexpectedTurnError,
  UnsupportedBaseError,
  UpdateInFlightError,
  WrongAuthorError,
} from './errors.js'
import { MAX_APP_EVENT_BYTES } from './limits.js'

/** One turn: the event that made it, the app state after it, and the signed state that commits to both. */
export interface AppTurn {
  readonly event: ChannelEvent
  readonly appState: Uint8Array
  readonly signed: SignedState
  readonly stateHash: Bytes32
}

/** An earlier fully signed turn, linked to the one before it: appending is O(1) on an immutable list. */
export interface SignedTurn {
  readonly event: ChannelEvent
  readonly signed: SignedState
  readonly previous: SignedTurn | null
}

/** A countersignature that arrived before the update it signs (other peers' messages are not ordered). */
export interface HeldCountersignature {
  readonly turnNum: bigint
  readonly index: number
  readonly stateHash: Bytes32
  readonly signature: Signature
}

export interface AppChannel {
  /** The definition (fixed part, appId, params, asset, deposits), channel id and derived funding. */
  readonly context: AppContext
  /** The latest turn signed by all; null until turn 0 is. */
  readonly latest: AppTurn | null
  /** The turn after `latest` (or turn 0), signed by some participants. */
  readonly pending: AppTurn | null
  /** Fully signed turns before `latest`, newest first. */
  readonly earlier: SignedTurn | null
  /** At most one per participant, for the pending turn or the one after my head. */
  readonly held: readonly HeldCountersignature[]
  /**
   * The newest state this node signed in the channel (DESIGN §5: never two different states at one turn):
   * its turn and hash, recorded with the turn that carries the signature and checked before every new one
   * (signAppState). It is the pending turn, or the latest when none is pending; kept apart so that a bug
   * dropping or replacing the pending turn is caught. Absent in channels stored before it existed: then the
   * pending turn, else the latest, stands for it.
   */
  readonly mySignedTurn?: MySignedTurn
  /**
   * Kept by the engine, carried along by every function here (they copy the channel): when this node first
   * held `latest` signed by all, on its own clock (ms) — where the next move's deadline starts — and the
   * peers' timeout updates that arrived before that deadline here (one per sender), to countersign once it
   * passes.
   */
  readonly latestSignedAt?: number
  readonly earlyTimeouts?: readonly { readonly from: Address; readonly update: AppUpdate }[]
  /**
   * Kept by the engine too: the notices of participants who refused a proposal of this channel, one per
   * participant; only those about the proposal pending now mean anything (see the engine's apps.ts).
   */
  readonly refusals?: readonly AppRefusal[]
}

/** A state this node signed: its turn and hash. */
export interface MySignedTurn {
  readonly turnNum: bigint
  readonly stateHash: Bytes32
}

/** A participant's word that it refused the proposal of turn `turnNum` made by event `eventHash`, and why. */
export interface AppRefusal {
  readonly index: number
  readonly turnNum: bigint
  readonly eventHash: Bytes32
  readonly code: string
}

/** What a proposer sends to every other participant. */
export interface AppUpdate {
  readonly event: ChannelEvent
  /** The state the event makes, with only the author's signature. */
  readonly signedState: SignedState
  /**
   * All signatures on the turn the update builds on (the author proposes only on a fully signed turn): a
   * receiver that missed a countersignature of that turn completes it from here.
   */
  readonly baseSignatures: readonly Signature[]
}

/** What each signer of a turn sends to every other participant. */
export interface AppCountersignature {
  readonly turnNum: bigint
  readonly stateHash: Bytes32
  readonly signature: Signature
}

/**
 * The channel at its genesis, turn 0 signed by me. Every participant calls this with the same definition
 * (the engine carries it) and sends the returned countersignature to every other participant.
 * Errors: invalid_definition, not_a_participant (I am not in it), app_mismatch, app_rejected.
 */
export function newAppChannel(
  definition: AppDefinition,
  runtime: AppRuntime,
  signer: Signer,
): { channel: AppChannel; countersignature: AppCountersignature } {
  checkDefinition(definition)
  const context = appContext(definition)
  const me = participantIndexOf(context, signer.address)
  if (me < 0) throw new NotAParticipantInputError('I am not a participant of this app channel', { signer: signer.address })
  const genesis = genesisEvent(definition)
  const step = genesisStep(context, runtime, genesis)
  const empty: AppChannel = { context, latest: null, pending: null, earlier: null, held: [] }
  const signature = signAppState(empty, step, signer)
  return { channel: withPending(empty, genesis, step, signatures(context, [[me, signature]]), me), countersignature: { turnNum: 0n, stateHash: step.stateHash, signature } }
}

/**
 * Proposes an event of mine: applies it to the latest fully signed app state, signs the next state and
 * returns the update to send to every other participant.
 * Errors: app_mismatch, update_in_flight, invalid_event, channel_final, wrong_turn, app_rejected,
 * invalid_app_outcome.
 */
export function submitEvent(
  channel: AppChannel,
  runtime: AppRuntime,
  payload: Uint8Array,
  signer: Signer,
): { channel: AppChannel; update: AppUpdate } {
  const ctx = channel.context
  checkRuntime(ctx, runtime)
  const me = myIndex(ctx, signer)
  if (channel.pending) {
    throw new UpdateInFlightError('a turn is still being signed', { turnNum: channel.pending.signed.state.turnNum })
  }
  const base = channel.latest
  assert(base !== null, 'a channel without a pending turn has a fully signed one')
  if (payload.length > MAX_APP_EVENT_BYTES) throw new InvalidEventError(`an app event is at most ${MAX_APP_EVENT_BYTES} bytes`, { actual: payload.length })
  // A copy: the channel is a value, and the caller may reuse its buffer.
  const event = nextEvent(headOf(base), { kind: APP_EVENT_KIND, payload: payload.slice(), author: signer.address })
  const step = replayEvent(ctx, runtime, base.appState, event)
  const mine = signatures(ctx, [[me, signAppState(channel, step, signer)]])
  const update: AppUpdate = { event, signedState: { state: step.state, signatures: mine }, baseSignatures: fullSignatures(base) }
  return { channel: withPending(channel, event, step, mine, me), update }
}

/**
 * Checks a peer's update and countersigns it: the author is the sender, the update is well formed, the
 * event is the next in my log and links to my head, it replays through the module to exactly the state
 * the author signed, and the author's signature is theirs. An identical update already applied is a
 * no-op that returns my countersignature again; any other update for a turn I signed is refused, and
 * nothing I signed is replaced (never two states at one turn, see the file comment).
 * Errors: app_mismatch, not_a_participant, wrong_author, malformed_update, stale_update,
 * conflicting_update, unexpected_seq, bad_log_link, unsupported_base, invalid_event, channel_final,
 * wrong_turn, app_rejected, invalid_app_outcome, replay_mismatch, bad_signature.
 */
export function receiveUpdate(
  channel: AppChannel,
  runtime: AppRuntime,
  update: AppUpdate,
  from: Address,
  signer: Signer,
): { channel: AppChannel; countersignature: AppCountersignature } {
  const ctx = channel.context
  checkRuntime(ctx, runtime)
  const me = myIndex(ctx, signer)
  const sender = participantIndexOf(ctx, from)
  if (sender < 0) throw new NotAParticipantInputError('the update is not from a participant', { from })
  assert(sender !== me, 'a node does not receive its own update')
  const { event } = update
  if (participantIndexOf(ctx, event.author) !== sender) throw new WrongAuthorError('the event author is not the sender', { author: event.author, from })
  checkUpdateShape(ctx, update, sender)
  const head = channel.pending ?? channel.latest
  assert(head !== null, 'a channel always has a turn')
  if (event.seq <= head.event.seq) return receiveKnownTurn(channel, update, me)
  if (event.seq > head.event.seq + 1n) throw new UnexpectedSeqError(`expected event ${head.event.seq + 1n}`, { expected: head.event.seq + 1n, actual: event.seq })
  checkLink(head.event, event)
  const based = channel.pending ? completeBase(channel, update.baseSignatures) : channel
  return accept(based, runtime, update, sender, me, signer)
}

/**
 * Adds a participant's countersignature. One for a fully signed turn is a no-op; one for a turn I have not
 * received yet (the pending turn's rival or the next one) is held until its update arrives.
 * Errors: not_a_participant, bad_signature, unexpected_turn.
 */
export function receiveCountersignature(channel: AppChannel, countersignature: AppCountersignature, from: Address): AppChannel {
  const ctx = channel.context
  const index = participantIndexOf(ctx, from)
  if (index < 0) throw new NotAParticipantInputError('the countersignature is not from a participant', { from })
  const { turnNum, signature } = countersignature
  const latestTurn = channel.latest?.signed.state.turnNum ?? -1n
  if (turnNum <= latestTurn) return channel // that turn is signed by all already: a duplicate or a late copy
  checkSignatureOf(ctx, countersignature.stateHash, signature, index, 'countersignature')
  const stateHash = countersignature.stateHash
  const { pending } = channel
  if (pending && turnNum === pending.signed.state.turnNum && stateHash === pending.stateHash) {
    if (pending.signed.signatures[index] !== null) return channel // a duplicate
    return promoteIfComplete({ ...channel, pending: addSignature(pending, index, signature) })
  }
  const headTurn = pending ? pending.signed.state.turnNum : latestTurn
  if (turnNum !== headTurn && turnNum !== headTurn + 1n) {
    throw new UnexpectedTurnError(`a countersignature for turn ${turnNum} is too far ahead`, { turnNum, headTurn })
  }
  if (channel.held.some((h) => h.index === index && h.turnNum === turnNum && h.stateHash === stateHash)) return channel // a duplicate
  const held = [...channel.held.filter((h) => h.index !== index), { turnNum, index, stateHash, signature }]
  return { ...channel, held }
}

// ---- reading a channel ----

/** The latest state signed by all participants, with their signatures; null until turn 0 is. */
export function latestSignedState(channel: AppChannel): SignedState | null {
  return channel.latest?.signed ?? null
}

/** The participant indexes whose signature the pending turn still lacks (empty when none is pending). */
export function missingSignatures(channel: AppChannel): number[] {
  const sigs = channel.pending?.signed.signatures ?? []
  return sigs.flatMap((sig, i) => (sig === null ? [i] : []))
}

/** The fully signed history: every event and the state it made, in seq order (excludes a pending turn). */
export function exportLog(channel: AppChannel): ExportedLog {
  const events: ChannelEvent[] = []
  const signedStates: SignedState[] = []
  if (channel.latest) {
    events.push(channel.latest.event)
    signedStates.push(channel.latest.signed)
  }
  for (let turn = channel.earlier; turn !== null; turn = turn.previous) {
    events.push(turn.event)
    signedStates.push(turn.signed)
  }
  return { events: events.reverse(), signedStates: signedStates.reverse() }
}

// ---- steps ----

function myIndex(ctx: AppContext, signer: Signer): number {
  const index = participantIndexOf(ctx, signer.address)
  assert(index >= 0, 'I sign for a channel I am a participant of', { signer: signer.address })
  return index
}

function headOf(turn: AppTurn): { seq: bigint; hash: Bytes32 } {
  return { seq: turn.event.seq, hash: turn.event.hash }
}

function signatures(ctx: AppContext, entries: readonly (readonly [number, Signature])[]): (Signature | null)[] {
  const sigs: (Signature | null)[] = ctx.members.map(() => null)
  for (const [index, sig] of entries) sigs[index] = sig
  return sigs
}

function fullSignatures(turn: AppTurn): Signature[] {
  return turn.signed.signatures.map((sig) => {
    assert(sig !== null, 'a fully signed turn has every signature')
    return sig
  })
}

function addSignature(turn: AppTurn, index: number, signature: Signature): AppTurn {
  if (turn.signed.signatures[index] !== null) return turn
  const sigs = [...turn.signed.signatures]
  sigs[index] = signature
  return { ...turn, signed: { state: turn.signed.state, signatures: sigs } }
}

/**
 * What this node signed last (see AppChannel.mySignedTurn): the record, or for a channel stored before it
 * existed, the pending turn, else the latest (both carry my signature).
 */
function mySignedTurnOf(channel: AppChannel): MySignedTurn | null {
  if (channel.mySignedTurn) return channel.mySignedTurn
  const turn = channel.pending ?? channel.latest
  return turn && { turnNum: turn.signed.state.turnNum, stateHash: turn.stateHash }
}

/**
 * The only place this node signs an app state. DESIGN §5: a node never signs two different states at one
 * turn. The protocol keeps it (I sign only with no turn pending, the turn after my latest; a pending turn
 * carries my signature and nothing replaces it); this checks it against the record of what I signed last.
 * Paired with recordMySignature, which keeps that record.
 */
function signAppState(channel: AppChannel, step: AppStep, signer: Signer): Signature {
  const last = mySignedTurnOf(channel)
  const turnNum = step.state.turnNum
  const details = { turnNum, stateHash: step.stateHash, signed: last }
  if (last !== null && last.turnNum === turnNum) assert(last.stateHash === step.stateHash, 'a node never signs two different states at one turn', details)
  assert(last === null || turnNum >= last.turnNum, 'the turns a node signs only grow', details)
  return signer.signHash(step.stateHash)
}

/** Records that I signed `turn` (the paired check of signAppState): it carries my signature, and is the only state I signed at its turn. */
function recordMySignature(channel: AppChannel, turn: AppTurn, me: number): AppChannel {
  assert(turn.signed.signatures[me] != null, 'a turn recorded as signed by me carries my signature')
  const last = mySignedTurnOf(channel)
  const turnNum = turn.signed.state.turnNum
  const details = { turnNum, stateHash: turn.stateHash, signed: last }
  assert(last === null || turnNum >= last.turnNum, 'the turns a node signs only grow', details)
  if (last !== null && last.turnNum === turnNum) assert(last.stateHash === turn.stateHash, 'a node records one signed state per turn', details)
  return { ...channel, mySignedTurn: { turnNum, stateHash: turn.stateHash } }
}

/**
 * Makes `step`, signed by me (index `me`), the pending turn, with the held countersignatures that sign it;
 * records my signature; promotes it if complete.
 */
function withPending(channel: AppChannel, event: ChannelEvent, step: AppStep, sigs: readonly (Signature | null)[], me: number): AppChannel {
  assert(channel.pending === null, 'one turn in flight')
  const turnNum = step.state.turnNum
  let pending: AppTurn = { event, appState: step.appState, signed: { state: step.state, signatures: sigs }, stateHash: step.stateHash }
  for (const h of channel.held) if (h.turnNum === turnNum && h.stateHash === step.stateHash) pending = addSignature(pending, h.index, h.signature)
  const held = channel.held.filter((h) => h.turnNum >= turnNum && pending.signed.signatures[h.index] === null)
  return promoteIfComplete({ ...recordMySignature(channel, pending, me), pending, held })
}

function promoteIfComplete(channel: AppChannel): AppChannel {
  const { pending, latest } = channel
  if (!pending || pending.signed.signatures.some((sig) => sig === null)) return channel
  if (latest) assert(pending.signed.state.turnNum === latest.signed.state.turnNum + 1n, 'turns grow one at a time')
  const earlier = latest ? { event: latest.event, signed: latest.signed, previous: channel.earlier } : channel.earlier
  const turnNum = pending.signed.state.turnNum
  return { ...channel, latest: pending, pending: null, earlier, held: channel.held.filter((h) => h.turnNum > turnNum) }
}

function checkUpdateShape(ctx: AppContext, update: AppUpdate, sender: number): void {
  const n = ctx.members.length
  const { signatures: sigs } = update.signedState
  if (!Array.isArray(sigs) || sigs.length !== n || sigs.some((sig, i) => (i === sender) !== (sig !== null))) {
    throw new MalformedUpdateError('an update carries exactly its author\'s signature', { participants: n })
  }
  if (!Array.isArray(update.baseSignatures) || update.baseSignatures.length !== n || update.baseSignatures.some((sig) => typeof sig !== 'string')) {
    throw new MalformedUpdateError('an update carries every signature of the turn it builds on', { participants: n })
  }
  try {
    checkState(update.signedState.state)
  } catch (cause) {
    if (cause instanceof RejectedInputError) throw new MalformedUpdateError(`the update's state: ${cause.summary}`, { ...cause.details }, { cause })
    throw cause
  }
}

function checkLink(head: ChannelEvent, event: ChannelEvent): void {
  if (event.prevHash !== head.hash) throw new BadLogLinkError('the event does not link to my log head', { seq: event.seq, head: head.hash, prevHash: event.prevHash })
  let hash: Bytes32
  try {
    hash = hashEvent(event.prevHash, event.seq, event)
  } catch (cause) {
    if (cause instanceof RejectedInputError) throw new BadLogLinkError(`the event cannot be hashed: ${cause.summary}`, { seq: event.seq }, { cause })
    throw cause
  }
  if (hash !== event.hash) throw new BadLogLinkError('the event hash does not match its contents', { seq: event.seq })
}

/** The pending turn, completed with the update's base signatures (checked) and promoted. */
function completeBase(channel: AppChannel, baseSignatures: readonly Signature[]): AppChannel {
  let pending = channel.pending!
  for (let i = 0; i < baseSignatures.length; i++) {
    if (pending.signed.signatures[i] !== null) continue
    try {
      checkSignatureOf(channel.context, pending.stateHash, baseSignatures[i]!, i, `baseSignatures[${i}]`)
    } catch (cause) {
      if (cause instanceof RejectedInputError) throw new UnsupportedBaseError('the update builds on a turn it cannot show signed by all', { index: i }, { cause })
      throw cause
    }
    pending = addSignature(pending, i, baseSignatures[i]!)
  }
  const promoted = promoteIfComplete({ ...channel, pending })
  assert(promoted.pending === null, 'a checked full set of base signatures completes the pending turn')
  return promoted
}

/** Replays the update on my latest fully signed turn, checks it against what the author signed, countersigns. */
function accept(
  channel: AppChannel,
  runtime: AppRuntime,
  update: AppUpdate,
  sender: number,
  me: number,
  signer: Signer,
): { channel: AppChannel; countersignature: AppCountersignature } {
  const base = channel.latest
  assert(base !== null && channel.pending === null, 'an update is accepted on a fully signed turn')
  const ctx = channel.context
  const step = replayEvent(ctx, runtime, base.appState, update.event)
  const fields = stateDifferences(step.state, update.signedState.state)
  if (fields.length > 0) {
    throw new ReplayMismatchError(`the event replays to another state (${fields.join(', ')})`, { seq: update.event.seq, fields })
  }
  const theirs = update.signedState.signatures[sender]!
  checkSignatureOf(ctx, step.stateHash, theirs, sender, 'the author\'s signature')
  const mine = signAppState(channel, step, signer)
  const next = withPending(channel, update.event, step, signatures(ctx, [[sender, theirs], [me, mine]]), me)
  return { channel: next, countersignature: { turnNum: step.state.turnNum, stateHash: step.stateHash, signature: mine } }
}

/**
 * An update for a turn I already hold, which I signed (DESIGN §5: never two states at one turn): the same
 * update again is a no-op that returns my countersignature; any other is refused and replaces nothing —
 * stale_update when that turn is signed by all (the rival lost), conflicting_update while it is pending
 * (the turn is contested: if the rival's author signed it, my pending turn can no longer be signed by all
 * either; appChannel.md, "Contention").
 */
function receiveKnownTurn(channel: AppChannel, update: AppUpdate, me: number): { channel: AppChannel; countersignature: AppCountersignature } {
  const { event } = update
  const { pending, latest } = channel
  const known = pending?.event.seq === event.seq ? pending : latest?.event.seq === event.seq ? latest : null
  if (!known) throw new StaleUpdateError(`event ${event.seq} is older than my latest signed turn`, { seq: event.seq })
  const mine = known.signed.signatures[me]
  assert(mine != null, 'I signed every turn I hold')
  const turnNum = known.signed.state.turnNum
  if (isSameUpdate(known, update)) return { channel, countersignature: { turnNum, stateHash: known.stateHash, signature: mine } }
  const details = { seq: event.seq, turnNum, signed: known.stateHash, signedAuthor: known.event.author }
  if (known === latest) throw new StaleUpdateError(`turn ${turnNum} is signed by all already, with another state`, details)
  throw new ConflictingUpdateError(`I signed another state at turn ${turnNum}, and sign no other at that turn`, details)
}

function isSameUpdate(known: AppTurn, update: AppUpdate): boolean {
  return update.event.hash === known.event.hash && stateDifferences(known.signed.state, update.signedState.state).length === 0
}
