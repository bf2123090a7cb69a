// App channels in the engine (issue 7; DESIGN §4.1, §5): the handlers that run the pure core
// (src/protocols/app/appChannel.ts, flow for N participants in appChannel.md) against a step's drafts,
// route what it returns to the other participants through the reliable outbox, and persist the channel.
//
// Persistence (docs/architecture/engine.md, "App channels"):
// - the compact channel (definition, latest and pending turn, held countersignatures, the turn and hash of
//   the state I signed last) in the `apps` table; the core's in-memory history (`earlier`) is dropped
//   before it is stored, so a commit writes O(1) bytes per event however long the channel is;
// - each turn, once signed by every participant, appends its event to the channel's hash-chained log
//   (log id = channel id) and puts its fully signed state under its own key, in the same atomic batch;
// - the app state every K events (isSnapshotDue) as a snapshot, for appStateAt.
// Every refusal of the core is a typed RejectedInputError: the caller (handleIsolated, or the API) records
// it and drops this input's drafts, so nothing is signed, stored or sent.
import type { Address, Bytes32, Signature } from '../core/types.js'
import type { AppRuntime } from '../wasm/appRuntime.js'
import type { AppChannel, AppRefusal, AppTurn } from '../protocols/app/appChannel.js'
import * as appChannel from '../protocols/app/appChannel.js'
import type { AppDefinition, FundingMode } from '../protocols/app/appData.js'
import { checkDefinition, decodeGenesis, encodeGenesis, moveTimeoutOf } from '../protocols/app/appData.js'
import type { AppSnapshot } from '../protocols/app/replay.js'
import { appContext, genesisEvent, isSnapshotDue, isTimeoutEvent, participantIndexOf } from '../protocols/app/replay.js'
import type { AppCountersignature, AppUpdate } from '../protocols/app/appChannel.js'
import type { ChannelEvent } from '../log/event.js'
import type { SignedState } from '../core/signedState.js'
import { EMPTY_HEAD } from '../log/channelLog.js'
import { assert } from '../core/errors.js'
import { encodeValue } from '../core/codec.js'
import { NotAParticipantInputError } from '../protocols/errors.js'
import type { StepContext } from './context.js'
import type { Payload } from '../protocols/messages.js'
import type { HandlerDeps } from './step.js'
import { runtimeFor } from './step.js'
import { appSnapshotKey, signedTurnKey } from './records.js'
import { afterAppTurn, requireFunded } from './appFunding.js'
import { requireUndisputed } from './appDisputes.js'
import { checkCommitment } from './policy.js'
import { appCommitment, peerLoad, policyOf } from './commitments.js'
import { AppDeclinedError, ConflictingDefinitionError, NoSuchAppChannelError, TimeoutTooEarlyError } from './errors.js'

export interface CreateAppChannelRequest {
  readonly participants: readonly Address[]
  readonly appId: Bytes32
  readonly params: Uint8Array
  readonly asset: Address
  readonly deposits: readonly bigint[]
  readonly funding: FundingMode
  readonly moveTimeout: number
  readonly nonce: bigint
  readonly challengeDuration: number
}

export function requireAppChannel(ctx: { apps: { get(key: string): AppChannel | undefined } }, channelId: Bytes32): AppChannel {
  const channel = ctx.apps.get(channelId)
  if (!channel) throw new NoSuchAppChannelError('no such app channel', { channelId })
  return channel
}

/** Canonical form (checksummed addresses, lowercase hex), so every node stores the same definition. */
function canonical(definition: AppDefinition): AppDefinition {
  checkDefinition(definition)
  return decodeGenesis(encodeGenesis(definition))
}

function sameDefinition(a: AppDefinition, b: AppDefinition): boolean {
  return Buffer.from(encodeGenesis(a)).equals(Buffer.from(encodeGenesis(b)))
}

// ---- API ----

/**
 * Opens an app channel: turn 0 signed by me, the definition and my signature sent to every other
 * participant (each joins on receipt, if it runs the app). Creating a channel that a peer's open already
 * created here, with the same definition, is a no-op. Resolves to the channel id.
 */
export function createAppChannel(ctx: StepContext, request: CreateAppChannelRequest, deps: HandlerDeps): Bytes32 {
  const definition = canonical({
    fixed: { participants: request.participants, channelNonce: request.nonce, appDefinition: deps.consensusApp, challengeDuration: request.challengeDuration },
    appId: request.appId,
    params: request.params,
    asset: request.asset,
    deposits: request.deposits,
    funding: request.funding,
    moveTimeout: request.moveTimeout,
  })
  const runtime = runtimeFor(deps, definition.appId)
  const id = appContext(definition).id
  const existing = ctx.apps.get(id)
  if (existing) {
    if (!sameDefinition(existing.context.definition, definition)) throw new ConflictingDefinitionError('an app channel with this id has another definition', { channelId: id })
    return id
  }
  open(ctx, definition, runtime, deps)
  return id
}

/** Proposes my event; resolves once the update (signed by me) is committed and queued to every other participant. */
export function submitAppEvent(ctx: StepContext, channelId: Bytes32, payload: Uint8Array, deps: HandlerDeps): { seq: bigint; turnNum: bigint } {
  const channel = requireAppChannel(ctx, channelId)
  const runtime = runtimeFor(deps, channel.context.definition.appId)
  requireFunded(ctx, channel)
  requireUndisputed(ctx, channel)
  if (isTimeoutEvent(payload)) {
    const due = timeoutDueAt(channel)
    if (due !== null && ctx.now < due) throw new TimeoutTooEarlyError(`a timeout may be claimed ${due - ctx.now} ms from now`, { channelId, dueAt: due })
  }
  const { channel: next, update } = appChannel.submitEvent(channel, runtime, payload, deps.signer)
  save(ctx, channel, next, deps)
  sendToOthers(ctx, next, deps, { kind: 'appUpdate', channelId: next.context.id, update })
  return { seq: update.event.seq, turnNum: update.signedState.state.turnNum }
}

// ---- peer payloads ----

/** A participant's open: join the channel (if new here and I run its app), then count its turn-0 signature. */
export function receiveAppOpen(ctx: StepContext, from: Address, p: { definition: AppDefinition; stateHash: Bytes32; signature: Signature }, deps: HandlerDeps): void {
  const appCtx = appContext(p.definition)
  if (participantIndexOf(appCtx, from) < 0) throw new NotAParticipantInputError('the sender is not a participant of this app channel', { from })
  if (participantIndexOf(appCtx, deps.signer.address) < 0) throw new NotAParticipantInputError('I am not a participant of this app channel', { channelId: appCtx.id })
  let channel = ctx.apps.get(appCtx.id)
  if (channel && !sameDefinition(channel.context.definition, p.definition)) {
    throw new ConflictingDefinitionError('an app channel with this id has another definition', { channelId: appCtx.id })
  }
  if (!channel) {
    const runtime = runtimeFor(deps, p.definition.appId)
    if (!deps.appPolicy(p.definition, from)) throw new AppDeclinedError('this node declines the app channel', { channelId: appCtx.id, from })
    // What my deposit commits passes the node's policy like any objective another starts (ADR 0015).
    const commitment = appCommitment(p.definition, deps.signer.address, from)
    checkCommitment(policyOf(ctx, deps), commitment, () => peerLoad(ctx, deps.signer.address, commitment))
    channel = open(ctx, p.definition, runtime, deps)
  }
  const countersignature: AppCountersignature = { turnNum: 0n, stateHash: p.stateHash, signature: p.signature }
  const next = appChannel.receiveCountersignature(channel, countersignature, from)
  if (next !== channel) save(ctx, channel, next, deps)
}

/** Checks a peer's update (the core replays it), countersigns it and sends the countersignature to every other participant. */
export function receiveAppUpdate(ctx: StepContext, from: Address, channelId: Bytes32, update: AppUpdate, deps: HandlerDeps): void {
  const channel = requireAppChannel(ctx, channelId)
  if (holdEarlyTimeout(ctx, channel, from, update)) return
  const runtime = runtimeFor(deps, channel.context.definition.appId)
  const { channel: next, countersignature } = appChannel.receiveUpdate(channel, runtime, update, from, deps.signer)
  // The same update again: my countersignature went out with the first copy and the outbox delivers it.
  if (next === channel) return
  save(ctx, channel, next, deps)
  sendToOthers(ctx, next, deps, { kind: 'appCountersignature', channelId: next.context.id, countersignature })
}

export function receiveAppCountersignature(ctx: StepContext, from: Address, channelId: Bytes32, countersignature: AppCountersignature, deps: HandlerDeps): void {
  const channel = requireAppChannel(ctx, channelId)
  const next = appChannel.receiveCountersignature(channel, countersignature, from)
  if (next !== channel) save(ctx, channel, next, deps)
}

// ---- refusal notices (ADR 0014) ----

/**
 * After I refused a participant's opening or update of an app channel: tells its author which proposal and
 * why, so that its node can show it. A notice: sent once after the commit, unsequenced, and lost if the
 * connection drops. Nothing for a stranger, for an opening whose definition does not even derive a channel,
 * for an update of a channel I do not have, or for one the sender did not author.
 */
export function noticeRefusal(ctx: StepContext, from: Address, payload: Payload, code: string, deps: HandlerDeps): void {
  if (from === deps.signer.address) return
  if (payload.kind === 'appOpen') {
    let refusal: Payload
    try {
      const opened = appContext(payload.definition)
      if (participantIndexOf(opened, from) < 0) return
      refusal = { kind: 'appRefusal', channelId: opened.id, turnNum: 0n, eventHash: genesisEvent(payload.definition).hash, code }
    } catch {
      return // an invalid definition: refused already, and there is no channel to name
    }
    ctx.tell(from, refusal)
  } else if (payload.kind === 'appUpdate') {
    const channel = ctx.apps.get(payload.channelId)
    const { event, signedState } = payload.update
    if (!channel || participantIndexOf(channel.context, from) < 0 || event.author !== from) return
    ctx.tell(from, { kind: 'appRefusal', channelId: channel.context.id, turnNum: signedState.state.turnNum, eventHash: event.hash, code })
  }
}

/**
 * A participant says it refused a proposal of this channel. Kept (one per participant) when it is about the
 * proposal pending here and that participant has not signed it; a notice about an earlier proposal (the
 * turn moved on, or it is not the one held here) says nothing now and is dropped. It changes no signature: the
 * pending turn stays pending, and its author decides what to do (challenge, for a channel funded on chain).
 */
export function receiveAppRefusal(ctx: StepContext, from: Address, p: { channelId: Bytes32; turnNum: bigint; eventHash: Bytes32; code: string }): void {
  const channel = requireAppChannel(ctx, p.channelId)
  const index = participantIndexOf(channel.context, from)
  if (index < 0) throw new NotAParticipantInputError('the sender is not a participant of this app channel', { from })
  const { pending } = channel
  if (!pending || !isAbout(pending, p) || pending.signed.signatures[index] !== null) return
  const kept = (channel.refusals ?? []).filter((r) => r.index !== index && isAbout(pending, r))
  ctx.apps.set(channel.context.id, { ...channel, refusals: [...kept, { index, turnNum: p.turnNum, eventHash: p.eventHash, code: p.code }] })
}

/** The refusals of the proposal pending now, by participant index. */
export function refusalsOfPending(channel: AppChannel): readonly AppRefusal[] {
  const { pending } = channel
  return pending ? (channel.refusals ?? []).filter((r) => isAbout(pending, r)) : []
}

function isAbout(turn: AppTurn, r: { turnNum: bigint; eventHash: Bytes32 }): boolean {
  return turn.signed.state.turnNum === r.turnNum && turn.event.hash === r.eventHash
}

/**
 * When my latest turn signed by all was reached here plus the channel's moveTimeout: from then on a timeout
 * event may be claimed against whoever the app waits for. null when the channel admits none (the core
 * refuses them) or has no signed turn yet.
 */
export function timeoutDueAt(channel: AppChannel): number | null {
  const seconds = moveTimeoutOf(channel.context.definition)
  if (seconds === 0 || !channel.latest) return null
  return (channel.latestSignedAt ?? 0) + seconds * 1000
}

/**
 * A peer's timeout update for the next turn that came before its deadline by my clock (clocks and delivery
 * differ): kept, one per sender, and countersigned on the first tick after the deadline (handleDueTimeouts),
 * unless the turn is taken meanwhile. Returns whether it was kept.
 */
function holdEarlyTimeout(ctx: StepContext, channel: AppChannel, from: Address, update: AppUpdate): boolean {
  const due = timeoutDueAt(channel)
  const latest = channel.latest
  if (due === null || !latest || ctx.now >= due || !isTimeoutEvent(update.event.payload)) return false
  if (update.event.seq !== latest.event.seq + 1n) return false // a duplicate or a stale one: the core answers it
  if (participantIndexOf(channel.context, from) < 0 || update.event.author !== from) return false // refused by the core
  const kept = (channel.earlyTimeouts ?? []).filter((t) => t.from !== from)
  ctx.apps.set(channel.context.id, { ...channel, earlyTimeouts: [...kept, { from, update }] })
  return true
}

/** On a tick: the held timeout updates whose deadline passed go through the core as if they arrived now. */
export function handleDueTimeouts(ctx: StepContext, deps: HandlerDeps, handle: (run: (c: StepContext) => void, from: Address) => void): void {
  for (const channel of ctx.apps.values()) {
    if (!channel.earlyTimeouts?.length) continue
    const due = timeoutDueAt(channel)
    if (due === null || ctx.now < due) continue
    const id = channel.context.id
    ctx.apps.set(id, { ...channel, earlyTimeouts: [] })
    for (const { from, update } of channel.earlyTimeouts) handle((c) => receiveAppUpdate(c, from, id, update, deps), from)
  }
}

/** Whether a held timeout update is due at `now` (the engine journals a tick for it). */
export function hasDueTimeout(channel: AppChannel, now: number): boolean {
  if (!channel.earlyTimeouts?.length) return false
  const due = timeoutDueAt(channel)
  return due !== null && now >= due
}

// ---- steps ----

function open(ctx: StepContext, definition: AppDefinition, runtime: AppRuntime, deps: HandlerDeps): AppChannel {
  const { channel, countersignature } = appChannel.newAppChannel(definition, runtime, deps.signer)
  save(ctx, null, channel, deps)
  sendToOthers(ctx, channel, deps, { kind: 'appOpen', definition, stateHash: countersignature.stateHash, signature: countersignature.signature })
  return ctx.apps.get(channel.context.id)!
}

function sendToOthers(ctx: StepContext, channel: AppChannel, deps: HandlerDeps, payload: Payload): void {
  const me = deps.signer.address
  for (const p of channel.context.definition.fixed.participants) if (p !== me) ctx.send(p, payload)
}

interface NewTurn {
  readonly event: ChannelEvent
  readonly signed: SignedState
  readonly appState: Uint8Array
}

/**
 * Stores the channel after a core call: the turns it newly holds signed by all (usually one; two when an
 * update's base signatures completed my pending turn first) go to the log, the signed-turn records and,
 * when due, the snapshots; the compact channel goes to the table without the core's history.
 */
function save(ctx: StepContext, before: AppChannel | null, after: AppChannel, deps: HandlerDeps): void {
  const id = after.context.id
  const beforeTurn = before?.latest?.signed.state.turnNum ?? -1n
  const fresh: NewTurn[] = []
  const latest = after.latest
  if (latest && latest.signed.state.turnNum > beforeTurn) {
    fresh.push({ event: latest.event, signed: latest.signed, appState: latest.appState })
    for (let turn = after.earlier; turn !== null && turn.signed.state.turnNum > beforeTurn; turn = turn.previous) {
      // Only my pending turn can have been completed on the way (the core proposes on fully signed turns).
      const pending = before?.pending
      assert(pending != null && pending.event.hash === turn.event.hash, 'a turn promoted on the way was my pending turn', { turnNum: turn.signed.state.turnNum })
      fresh.push({ event: turn.event, signed: turn.signed, appState: pending.appState })
    }
    fresh.reverse()
  }
  // Paired with verifyChain on every read: the appended events extend the stored head.
  let head = before?.latest ? { seq: before.latest.event.seq, hash: before.latest.event.hash } : EMPTY_HEAD
  for (const turn of fresh) {
    assert(turn.event.seq === head.seq + 1n && turn.event.prevHash === head.hash, 'a signed turn extends the stored log', { seq: turn.event.seq })
    assert(turn.signed.state.turnNum === turn.event.seq - 1n, 'turn t is made by event t + 1')
    head = { seq: turn.event.seq, hash: turn.event.hash }
    ctx.logAppends.push({ logId: id, event: turn.event })
    ctx.records.push({ key: signedTurnKey(id, turn.signed.state.turnNum), value: encodeValue(turn.signed) })
    if (isSnapshotDue(turn.event.seq, deps.appSnapshotIntervalEvents)) {
      const snapshot: AppSnapshot = { seq: turn.event.seq, hash: turn.event.hash, appState: turn.appState }
      ctx.records.push({ key: appSnapshotKey(id, turn.event.seq), value: encodeValue(snapshot) })
    }
  }
  let stored: AppChannel = after.earlier === null ? after : { ...after, earlier: null }
  if (fresh.length > 0) {
    // The next move's deadline starts now; held timeouts for a turn now taken are moot.
    const nextSeq = stored.latest!.event.seq + 1n
    stored = { ...stored, latestSignedAt: ctx.now, earlyTimeouts: (stored.earlyTimeouts ?? []).filter((t) => t.update.event.seq === nextSeq) }
  }
  // Refusals of a proposal no longer pending are moot.
  if (stored.refusals?.length) stored = { ...stored, refusals: refusalsOfPending(stored) }
  ctx.apps.set(id, stored)
  afterAppTurn(ctx, before, stored, deps)
}
