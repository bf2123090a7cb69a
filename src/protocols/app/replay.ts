// Replaying an app channel's log through its module (DESIGN §4.1, docs/architecture/app-abi.md). One
// transition serves every path: proposing an event, checking a peer's, verifying an exported log. It
// yields the app state after the event and the Nitro state that commits to it, so "replaying the log
// reproduces every signed state exactly" is checked by the same code that produced the states.
// - replayEvent / genesisStep: one event → { appState, state, stateHash }.
// - verifyLog: an exported log (events + every fully signed state) → ok, or its FIRST divergence.
// - stateAt / snapshotEvery: the app state at any seq, replayed from the nearest snapshot ≤ seq.
// Pure: the runtime is a deterministic reducer over bytes (src/wasm/appRuntime.ts).
import type { Address, Bytes32, Signature } from '../../core/types.js'
import type { State } from '../../core/state.js'
import type { SignedState } from '../../core/signedState.js'
import type { AppRuntime } from '../../wasm/appRuntime.js'
import type { ChannelEvent } from '../../log/event.js'
import type { LogHead } from '../../log/channelLog.js'
import { EMPTY_HEAD, nextEvent, verifyChain } from '../../log/channelLog.js'
import { channelId } from '../../core/channelId.js'
import { hashStateOfChannel } from '../../core/hashState.js'
import { checkState } from '../../core/state.js'
import { addressToDestination, encodeOutcome } from '../../core/outcome.js'
import { recoverHashSigner } from '../../core/signatures.js'
import { keccak256 } from '../../core/keccak.js'
import { ChannelsError, InvariantError, OutOfRangeError, RejectedInputError, assert } from '../../core/errors.js'
import { MAX_UINT48 } from '../../core/limits.js'
import { NotAParticipantInputError } from '../errors.js'
import type { AppDefinition } from './appData.js'
import { APP_EVENT_KIND, GENESIS_EVENT_KIND, decodeGenesis, encodeAppData, encodeGenesis, moveTimeoutOf } from './appData.js'
import type { AppFunding } from './appOutcome.js'
import { appOutcome } from './appOutcome.js'
import {
  AppMismatchError,
  AppRejectedError,
  BadSignatureError,
  ChannelFinalError,
  InvalidDefinitionError,
  InvalidEventError,
  WrongTurnError,
} from './errors.js'
import { DEFAULT_SNAPSHOT_INTERVAL_EVENTS, MAX_APP_EVENT_BYTES, MAX_APP_STATE_BYTES, MAX_SNAPSHOT_INTERVAL_EVENTS } from './limits.js'

/** A channel's definition with what follows from it, computed once. */
export interface AppContext {
  readonly id: Bytes32
  readonly definition: AppDefinition
  /** Lowercase participant addresses, for comparisons. */
  readonly members: readonly Address[]
  readonly funding: AppFunding
}

/** One turn as the app produced it: its state bytes and the Nitro state that commits to them. */
export interface AppStep {
  readonly appState: Uint8Array
  readonly state: State
  readonly stateHash: Bytes32
}

export function appContext(definition: AppDefinition): AppContext {
  const { participants } = definition.fixed
  return {
    id: channelId(definition.fixed),
    definition,
    members: participants,
    funding: { asset: definition.asset, deposits: definition.deposits, destinations: participants.map(addressToDestination) },
  }
}

export function checkRuntime(ctx: AppContext, runtime: AppRuntime): void {
  if (runtime.appId !== ctx.definition.appId) {
    throw new AppMismatchError('the runtime runs another module than the channel committed to', { expected: ctx.definition.appId, actual: runtime.appId })
  }
}

export function participantIndexOf(ctx: AppContext, address: Address): number {
  return ctx.members.indexOf(address)
}

/** The event kind every app uses for "the participant(s) waited for did not act in time" (apps/sdk/abi.ts EVENT_TIMEOUT). */
export const TIMEOUT_EVENT = 0xff

export function isTimeoutEvent(payload: Uint8Array): boolean {
  return payload.length === 1 && payload[0] === TIMEOUT_EVENT
}

/** The first event of the channel's log: its definition, authored by participant 0. */
export function genesisEvent(definition: AppDefinition): ChannelEvent {
  return nextEvent(EMPTY_HEAD, { kind: GENESIS_EVENT_KIND, payload: encodeGenesis(definition), author: definition.fixed.participants[0]! })
}

/** Turn 0: the app's initial state from the params, committing to the genesis event. */
export function genesisStep(ctx: AppContext, runtime: AppRuntime, genesis: ChannelEvent): AppStep {
  checkRuntime(ctx, runtime)
  assert(genesis.seq === 1n, 'the genesis is the first event')
  const result = runtime.init(ctx.definition.params)
  if (!result.ok) throw new AppRejectedError('the app refused the params', { appCode: result.code, reason: result.reason })
  return commit(ctx, runtime, checkAppState(result.state), genesis)
}

/**
 * The turn that `event` makes from `appState`: checks the event's kind and size, that its author is a
 * participant whose turn it is and that the app is not final, applies it, and builds the state that
 * commits to it (turnNum = seq − 1, appData, the app's outcome). Every refusal is a typed error.
 */
export function replayEvent(ctx: AppContext, runtime: AppRuntime, appState: Uint8Array, event: ChannelEvent): AppStep {
  if (event.kind !== APP_EVENT_KIND) throw new InvalidEventError(`an app event has kind ${APP_EVENT_KIND}`, { seq: event.seq, kind: event.kind })
  if (event.payload.length > MAX_APP_EVENT_BYTES) {
    throw new InvalidEventError(`an app event is at most ${MAX_APP_EVENT_BYTES} bytes`, { seq: event.seq, actual: event.payload.length })
  }
  const author = participantIndexOf(ctx, event.author)
  if (author < 0) throw new NotAParticipantInputError('the event author is not a participant', { seq: event.seq, author: event.author })
  const turn = callApp(() => runtime.whoseTurn(appState), 'whoseTurn')
  if (turn === 'nobody' || callApp(() => runtime.isFinal(appState), 'isFinal')) {
    throw new ChannelFinalError('the app state is final: no event can follow', { seq: event.seq })
  }
  if (isTimeoutEvent(event.payload)) {
    // Lateness is an event (app-abi.md): any participant may claim it, whatever whoseTurn says; the app then
    // checks that someone is waited for. When is the nodes' business (engine/apps.ts), whether at all the definition's.
    if (moveTimeoutOf(ctx.definition) === 0) throw new InvalidEventError('this channel admits no timeout events (moveTimeout 0)', { seq: event.seq })
  } else if (turn !== 'anyone' && turn !== author) {
    throw new WrongTurnError(`it is participant ${turn}'s turn`, { seq: event.seq, turn, author })
  }
  const result = runtime.apply(appState, event.payload, author)
  if (!result.ok) throw new AppRejectedError('the app refused the event', { seq: event.seq, appCode: result.code, reason: result.reason })
  return commit(ctx, runtime, checkAppState(result.state), event)
}

function checkAppState(appState: Uint8Array): Uint8Array {
  if (appState.length > MAX_APP_STATE_BYTES) {
    throw new AppRejectedError(`the app produced a state over ${MAX_APP_STATE_BYTES} bytes`, { actual: appState.length })
  }
  return appState
}

/** The signed-state content after `event`: appData commits to the log head, the event count and the app state. */
function commit(ctx: AppContext, runtime: AppRuntime, appState: Uint8Array, event: ChannelEvent): AppStep {
  const turnNum = event.seq - 1n
  assert(turnNum >= 0n && turnNum <= MAX_UINT48, 'turnNum fits uint48', { seq: event.seq })
  const weights = callApp(() => runtime.outcome(appState), 'outcome')
  const appData = encodeAppData({ logHead: event.hash, eventCount: event.seq, appStateHash: keccak256(appState) })
  const state: State = { ...ctx.definition.fixed, appData, outcome: appOutcome(ctx.funding, weights), turnNum, isFinal: false }
  return { appState, state, stateHash: hashStateOfChannel(ctx.id, state) }
}

/**
 * Calls one of the runtime's state queries. They throw AppCallError (src/wasm/errors.ts) when the module
 * fails on a state; any refusal the runtime raises becomes this event's rejection. Our own bugs
 * (InvariantError) and anything untyped pass through.
 */
function callApp<T>(call: () => T, what: string): T {
  try {
    return call()
  } catch (cause) {
    if (cause instanceof ChannelsError && !(cause instanceof InvariantError)) {
      throw new AppRejectedError(`the app failed in ${what}: ${cause.summary}`, { call: what, appCode: cause.code }, { cause })
    }
    throw cause
  }
}

/** The fields in which `actual` differs from `expected` (empty when their hashes agree). */
export function stateDifferences(expected: State, actual: State): string[] {
  const fields: string[] = []
  const sameMembers =
    expected.participants.length === actual.participants.length &&
    expected.participants.every((p, i) => p === actual.participants[i])
  if (!sameMembers || expected.channelNonce !== actual.channelNonce || expected.challengeDuration !== actual.challengeDuration ||
    expected.appDefinition !== actual.appDefinition) fields.push('fixedPart')
  if (expected.turnNum !== actual.turnNum) fields.push('turnNum')
  if (expected.appData.toLowerCase() !== actual.appData.toLowerCase()) fields.push('appData')
  if (encodeOutcome(expected.outcome) !== encodeOutcome(actual.outcome)) fields.push('outcome')
  if (expected.isFinal !== actual.isFinal) fields.push('isFinal')
  return fields
}

/** Checks that `signature` recovers to participant `index` on `stateHash`. */
export function checkSignatureOf(ctx: AppContext, stateHash: Bytes32, signature: Signature, index: number, field: string): void {
  let signer: Address
  try {
    signer = recoverHashSigner(stateHash, signature)
  } catch (cause) {
    throw new BadSignatureError(`${field} does not recover`, { field, index }, { cause })
  }
  if (signer !== ctx.members[index]) throw new BadSignatureError(`${field} is not participant ${index}'s`, { field, index, signer })
}

// ---- verifying an exported log ----

/** A channel's history as anyone can check it: every event, and for each the fully signed state it made. */
export interface ExportedLog {
  /** events[i] has seq i + 1; events[0] is the genesis. */
  readonly events: readonly ChannelEvent[]
  /** signedStates[i] is the state at turn i (made by events[i]), signed by every participant. */
  readonly signedStates: readonly SignedState[]
}

export type DivergenceKind =
  | 'empty'
  | 'hash_chain'
  | 'genesis'
  | 'invalid_event'
  | 'not_a_participant'
  | 'channel_final'
  | 'wrong_turn'
  | 'app_rejected'
  | 'missing_state'
  | 'replay'
  | 'signature'
  | 'extra_state'

export interface Divergence {
  /** The seq of the first event whose link, replay or signed state fails (one past the end for extra states). */
  readonly seq: bigint
  readonly kind: DivergenceKind
  readonly detail: string
  /** The code of the refusal that found it, when one did. */
  readonly code?: string
}

export type VerifyResult =
  | { readonly ok: true; readonly head: LogHead; readonly latest: SignedState; readonly appState: Uint8Array }
  | { readonly ok: false; readonly divergence: Divergence }

const kindOfCode: Readonly<Record<string, DivergenceKind>> = {
  invalid_definition: 'genesis',
  app_mismatch: 'genesis',
  invalid_event: 'invalid_event',
  not_a_participant: 'not_a_participant',
  channel_final: 'channel_final',
  wrong_turn: 'wrong_turn',
  app_rejected: 'app_rejected',
  invalid_app_outcome: 'app_rejected',
}

class Diverged extends Error {
  constructor(readonly divergence: Divergence) {
    super(divergence.detail)
  }
}

/** Runs `check`; a refusal (a RejectedInputError) becomes the divergence at `seq`, of `kind` or by its code. */
function at<T>(seq: bigint, kind: DivergenceKind | 'byCode', check: () => T): T {
  try {
    return check()
  } catch (error) {
    if (!(error instanceof RejectedInputError)) throw error
    const mapped = kind === 'byCode' ? kindOfCode[error.code] : kind
    assert(mapped !== undefined, 'every refusal of a replay step maps to a divergence kind', { code: error.code })
    throw new Diverged({ seq, kind: mapped, detail: error.summary, code: error.code })
  }
}

/**
 * Verifies an exported log: the hash chain, the genesis (its definition and module), the replay of every
 * event through `runtime` reproducing each signed state exactly (turnNum, appData, outcome, fixed part),
 * and every participant's signature on each. Checks run event by event in seq order, so the divergence
 * returned is the first one: a change to any byte of an event, a state or a signature, or to the order,
 * is reported at that seq or earlier.
 */
export function verifyLog(log: ExportedLog, runtime: AppRuntime): VerifyResult {
  try {
    return { ok: true, ...walkLog(log, runtime) }
  } catch (error) {
    if (error instanceof Diverged) return { ok: false, divergence: error.divergence }
    throw error
  }
}

function walkLog(log: ExportedLog, runtime: AppRuntime): { head: LogHead; latest: SignedState; appState: Uint8Array } {
  const { events, signedStates } = log
  const genesis = events[0]
  if (!genesis) throw new Diverged({ seq: 1n, kind: 'empty', detail: 'the log has no genesis event' })
  let head = at(1n, 'hash_chain', () => verifyChain([genesis]))
  const ctx = at(1n, 'genesis', () => contextOfGenesis(genesis, runtime))
  let step = at(1n, 'byCode', () => genesisStep(ctx, runtime, genesis))
  checkSignedState(ctx, step, signedStates[0], 1n)
  for (let i = 1; i < events.length; i++) {
    const event = events[i]!
    const seq = BigInt(i + 1)
    head = at(seq, 'hash_chain', () => verifyChain([event], head))
    const appState = step.appState
    step = at(seq, 'byCode', () => replayEvent(ctx, runtime, appState, event))
    checkSignedState(ctx, step, signedStates[i], seq)
  }
  if (signedStates.length > events.length) {
    throw new Diverged({ seq: head.seq + 1n, kind: 'extra_state', detail: `${signedStates.length - events.length} signed states follow the last event` })
  }
  return { head, latest: signedStates[events.length - 1]!, appState: step.appState }
}

/** The definition a genesis event carries, refused unless it is well formed and names this runtime's module. */
export function contextOfGenesis(genesis: ChannelEvent, runtime: AppRuntime): AppContext {
  if (genesis.kind !== GENESIS_EVENT_KIND) throw new InvalidDefinitionError(`the first event has kind ${GENESIS_EVENT_KIND}`, { kind: genesis.kind })
  const ctx = appContext(decodeGenesis(genesis.payload))
  if (participantIndexOf(ctx, genesis.author) !== 0) throw new InvalidDefinitionError('the genesis is authored by participant 0', { author: genesis.author })
  checkRuntime(ctx, runtime)
  return ctx
}

function checkSignedState(ctx: AppContext, step: AppStep, signed: SignedState | undefined, seq: bigint): void {
  if (!signed) throw new Diverged({ seq, kind: 'missing_state', detail: `no signed state for turn ${seq - 1n}` })
  const theirs = at(seq, 'replay', () => {
    checkState(signed.state)
    return signed.state
  })
  const fields = stateDifferences(step.state, theirs)
  if (fields.length > 0) throw new Diverged({ seq, kind: 'replay', detail: `the replayed state differs in ${fields.join(', ')}` })
  assert(hashStateOfChannel(ctx.id, theirs) === step.stateHash, 'states that agree field by field hash alike')
  const n = ctx.members.length
  if (!Array.isArray(signed.signatures) || signed.signatures.length !== n) {
    throw new Diverged({ seq, kind: 'signature', detail: `turn ${seq - 1n} needs ${n} signature slots` })
  }
  for (let i = 0; i < n; i++) {
    const signature = signed.signatures[i]
    if (!signature) throw new Diverged({ seq, kind: 'signature', detail: `turn ${seq - 1n} lacks participant ${i}'s signature` })
    at(seq, 'signature', () => checkSignatureOf(ctx, step.stateHash, signature, i, `signatures[${i}]`))
  }
}

// ---- state at any seq ----

/** The app state after the event at `seq` (seq 1 is the genesis: the initial state), and that event's hash. */
export interface AppSnapshot {
  readonly seq: bigint
  readonly hash: Bytes32
  readonly appState: Uint8Array
}

/**
 * Snapshots of a (verified) log's app state every `intervalEvents` events (at seq K, 2K, ...), from one
 * full replay. The engine takes the same snapshots as it goes: `isSnapshotDue(seq, K)`.
 */
export function snapshotEvery(events: readonly ChannelEvent[], runtime: AppRuntime, intervalEvents = DEFAULT_SNAPSHOT_INTERVAL_EVENTS): AppSnapshot[] {
  checkInterval(intervalEvents)
  const snapshots: AppSnapshot[] = []
  foldLog(events, runtime, null, BigInt(events.length), (snapshot) => {
    if (isSnapshotDue(snapshot.seq, intervalEvents)) snapshots.push(snapshot)
  })
  return snapshots
}

export function isSnapshotDue(seq: bigint, intervalEvents = DEFAULT_SNAPSHOT_INTERVAL_EVENTS): boolean {
  checkInterval(intervalEvents)
  return seq > 0n && seq % BigInt(intervalEvents) === 0n
}

function checkInterval(intervalEvents: number): void {
  if (!Number.isSafeInteger(intervalEvents) || intervalEvents < 1 || intervalEvents > MAX_SNAPSHOT_INTERVAL_EVENTS) {
    throw new OutOfRangeError(`a snapshot interval is 1..${MAX_SNAPSHOT_INTERVAL_EVENTS} events`, { intervalEvents })
  }
}

/**
 * The app state after event `seq` of a log verified before (verifyLog, or our own store): replays from
 * the nearest snapshot at or below `seq`, rechecking the hash chain on the way (paired with the check on
 * append) but not the turn rules or signed states, which verification covered.
 */
export function stateAt(events: readonly ChannelEvent[], runtime: AppRuntime, seq: bigint, snapshots: readonly AppSnapshot[] = []): AppSnapshot {
  if (seq < 1n || seq > BigInt(events.length)) throw new OutOfRangeError(`seq must be 1..${events.length}`, { seq })
  return foldLog(events, runtime, nearestSnapshot(snapshots, seq), seq)
}

/** The last snapshot with seq ≤ `seq` (snapshots sorted by seq ascending), by binary search. */
function nearestSnapshot(snapshots: readonly AppSnapshot[], seq: bigint): AppSnapshot | null {
  let low = 0
  let high = snapshots.length
  while (low < high) {
    const mid = (low + high) >>> 1
    if (snapshots[mid]!.seq <= seq) low = mid + 1
    else high = mid
  }
  return low === 0 ? null : snapshots[low - 1]!
}

function foldLog(
  events: readonly ChannelEvent[],
  runtime: AppRuntime,
  from: AppSnapshot | null,
  toSeq: bigint,
  visit?: (snapshot: AppSnapshot) => void,
): AppSnapshot {
  const genesis = events[0]
  if (!genesis) throw new OutOfRangeError('the log is empty')
  verifyChain([genesis])
  const ctx = contextOfGenesis(genesis, runtime)
  let snapshot = from
  if (snapshot === null) {
    snapshot = { seq: 1n, hash: genesis.hash, appState: genesisStep(ctx, runtime, genesis).appState }
    visit?.(snapshot)
  } else {
    const event = events[Number(snapshot.seq) - 1]
    assert(event !== undefined && event.hash === snapshot.hash, 'a snapshot belongs to this log', { seq: snapshot.seq })
  }
  let head: LogHead = { seq: snapshot.seq, hash: snapshot.hash }
  let appState = snapshot.appState
  for (let i = Number(snapshot.seq); i < Number(toSeq); i++) {
    const event = events[i]!
    head = verifyChain([event], head)
    const author = participantIndexOf(ctx, event.author)
    if (author < 0) throw new NotAParticipantInputError('the event author is not a participant', { seq: event.seq, author: event.author })
    const result = runtime.apply(appState, event.payload, author)
    if (!result.ok) throw new AppRejectedError('the app refused an event of a verified log', { seq: event.seq, appCode: result.code })
    appState = result.state
    visit?.({ seq: head.seq, hash: head.hash, appState })
  }
  return { seq: head.seq, hash: head.hash, appState }
}
