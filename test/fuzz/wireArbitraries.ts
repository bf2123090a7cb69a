// Valid peer payloads of every kind (src/protocols/messages.ts) and valid frames (src/engine/frames.ts), in the
// canonical form the decoders return (addresses EIP-55 checksummed, byte strings lowercase hex), so that a
// round trip compares exactly. The values come from pools that a caller may narrow: the engine target draws
// channel ids, addresses and signed states from a real ledger and real keys, so that its payloads reach the
// handlers instead of stopping at "unknown channel".
import fc from 'fast-check'

import type { Address, Bytes32, Signature } from '../../src/core/types.js'
import type { State } from '../../src/core/state.js'
import type { SignedState } from '../../src/core/signedState.js'
import type { Frame } from '../../src/engine/frames.js'
import type { Payload } from '../../src/protocols/messages.js'
import type { Proposal, SignedProposal } from '../../src/protocols/ledger/proposal.js'
import type { AppDefinition } from '../../src/protocols/app/appData.js'
import type { ChannelEvent } from '../../src/log/event.js'
import * as arb from '../arbitraries.js'
import { toAddress, toBytes32 } from '../../src/core/canonical.js'

const lower = <T extends string>(hex: T): T => hex.toLowerCase() as T

/** Where payload fields come from. Every arbitrary yields canonical values. */
export interface Pools {
  readonly channelId: fc.Arbitrary<Bytes32>
  readonly address: fc.Arbitrary<Address>
  readonly signature: fc.Arbitrary<Signature>
  readonly signedState: fc.Arbitrary<SignedState>
  readonly objectiveId: fc.Arbitrary<string>
  readonly turnNum: fc.Arbitrary<bigint>
  readonly amount: fc.Arbitrary<bigint>
  /** Objective ids that fit a signed state (its channel's directfund or directdefund), for signedState payloads. */
  readonly objectiveIdFor?: (state: State) => fc.Arbitrary<string>
  /** How often each payload kind comes (default 1 each). */
  readonly kindWeights?: Partial<Record<Payload['kind'], number>>
}

/** Strings of 1..max UTF-16 units (the decoders count units), mostly short, sometimes exactly the longest. */
export function text(max: number): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: Math.min(max, 24) }).filter((s) => s.length >= 1 && s.length <= max) },
    { weight: 1, arbitrary: fc.constantFrom('x'.repeat(max), 'é'.repeat(max)) },
  )
}

/** An error code as the node's typed errors spell them (messages.ts ERROR_CODE). */
export const errorCode: fc.Arbitrary<string> = fc.stringMatching(/^[a-z][a-z0-9_]{0,63}$/)

export const canonicalAddress: fc.Arbitrary<Address> = arb.address.map((a) => toAddress(a))
export const canonicalChannelId: fc.Arbitrary<Bytes32> = arb.channelId.map(toBytes32)
export const canonicalBytes32: fc.Arbitrary<Bytes32> = arb.bytes32.map(toBytes32)

/** A state as stateFromWire returns it: addresses checksummed, every byte string lowercase. */
export function canonicalState(s: State): State {
  return {
    ...s,
    participants: s.participants.map((p) => toAddress(p)),
    appDefinition: toAddress(s.appDefinition),
    appData: lower(s.appData),
    outcome: s.outcome.map((exit) => ({
      asset: toAddress(exit.asset),
      assetMetadata: { assetType: exit.assetMetadata.assetType, metadata: lower(exit.assetMetadata.metadata) },
      allocations: exit.allocations.map((a) => ({ ...a, destination: lower(a.destination), metadata: lower(a.metadata) })),
    })),
  }
}

/** A signed state with a signature slot per participant, each empty or a well-formed signature. */
export function signedStateOf(states: fc.Arbitrary<State>, signature: fc.Arbitrary<Signature>): fc.Arbitrary<SignedState> {
  return states.chain((state) =>
    fc.array(fc.option(signature, { nil: null }), { minLength: state.participants.length, maxLength: state.participants.length }).map((signatures) => ({ state, signatures })),
  )
}

export const DEFAULT_POOLS: Pools = {
  channelId: canonicalChannelId,
  address: canonicalAddress,
  signature: arb.signature,
  signedState: signedStateOf(arb.state.map(canonicalState), arb.signature),
  objectiveId: text(200),
  turnNum: arb.turnNum,
  amount: arb.amount,
}

/** A definition as decodeGenesis returns it (funding and moveTimeout always present). */
export function appDefinition(pools: Pools): fc.Arbitrary<AppDefinition> {
  return fc
    .record({
      participants: fc.uniqueArray(pools.address, { minLength: 2, maxLength: 5, selector: (a) => a.toLowerCase() }),
      channelNonce: arb.channelNonce,
      appDefinition: pools.address,
      challengeDuration: arb.challengeDuration,
      appId: canonicalBytes32,
      paramsTail: fc.uint8Array({ maxLength: 40 }),
      asset: pools.address,
      deposit: fc.bigInt({ min: 0n, max: 2n ** 128n }),
      funding: fc.constantFrom('none' as const, 'direct' as const, 'ledger' as const),
      moveTimeout: arb.challengeDuration,
    })
    .map((d) => ({
      fixed: { participants: d.participants, channelNonce: d.channelNonce, appDefinition: d.appDefinition, challengeDuration: d.challengeDuration },
      appId: d.appId,
      params: Uint8Array.from([d.participants.length, ...d.paramsTail]),
      asset: d.asset,
      deposits: d.participants.map((_, i) => d.deposit + BigInt(i)),
      // ledger funding needs exactly the ledger's two participants
      funding: d.funding === 'ledger' && d.participants.length !== 2 ? 'direct' : d.funding,
      moveTimeout: d.moveTimeout,
    }))
}

function proposal(pools: Pools): fc.Arbitrary<Proposal> {
  return fc.oneof(
    fc.record({ kind: fc.constant('add' as const), target: pools.channelId, left: canonicalBytes32, right: canonicalBytes32, leftAmount: pools.amount, rightAmount: pools.amount }),
    fc.record({ kind: fc.constant('remove' as const), target: pools.channelId, leftAmount: pools.amount }),
  )
}

function signedProposal(pools: Pools): fc.Arbitrary<SignedProposal> {
  return fc.record({ proposal: proposal(pools), turnNum: pools.turnNum, signature: pools.signature })
}

/** An app event with any hashes (whether it links to a log is the app core's check, not the decoder's). */
function appEvent(pools: Pools): fc.Arbitrary<ChannelEvent> {
  return fc.record({
    seq: fc.oneof(fc.constantFrom(1n, 2n, arb.UINT64_MAX), fc.bigInt({ min: 1n, max: arb.UINT64_MAX })),
    kind: fc.oneof(fc.constantFrom('app.event', 'app.genesis'), text(64).filter((k) => Buffer.byteLength(k, 'utf8') <= 64)),
    payload: fc.uint8Array({ maxLength: 64 }),
    author: pools.address,
    prevHash: canonicalBytes32,
    hash: canonicalBytes32,
  })
}

/** Every payload kind, valid; `kinds` narrows the choice (notices only, for a frame without a seq). */
export function payloadArbitrary(pools: Pools = DEFAULT_POOLS, kinds?: readonly Payload['kind'][]): fc.Arbitrary<Payload> {
  const all: Record<Payload['kind'], fc.Arbitrary<Payload>> = {
    signedState: pools.signedState.chain((signedState) =>
      fc.record({
        kind: fc.constant('signedState' as const),
        objectiveId: pools.objectiveIdFor ? fc.oneof({ weight: 3, arbitrary: pools.objectiveIdFor(signedState.state) }, { weight: 1, arbitrary: pools.objectiveId }) : pools.objectiveId,
        signedState: fc.constant(signedState),
      }),
    ),
    ledgerUpdateRequest: fc.record({ kind: fc.constant('ledgerUpdateRequest' as const), objectiveId: pools.objectiveId, request: fc.record({ ledgerId: pools.channelId, proposal: proposal(pools) }) }),
    proposal: fc.record({ kind: fc.constant('proposal' as const), ledgerId: pools.channelId, signed: signedProposal(pools) }),
    countersignature: fc.record({ kind: fc.constant('countersignature' as const), ledgerId: pools.channelId, turnNum: pools.turnNum, signature: pools.signature }),
    syncRequest: fc.record({ kind: fc.constant('syncRequest' as const), ledgerId: pools.channelId }),
    sync: fc.record({ kind: fc.constant('sync' as const), ledgerId: pools.channelId, supported: pools.signedState, queue: fc.array(signedProposal(pools), { maxLength: 3 }) }),
    objectiveRejected: fc.record({ kind: fc.constant('objectiveRejected' as const), objectiveId: pools.objectiveId, code: text(64), summary: text(1000) }),
    finalStateRequest: fc.record({ kind: fc.constant('finalStateRequest' as const), channelId: pools.channelId }),
    voucher: fc.record({ kind: fc.constant('voucher' as const), voucher: fc.record({ channelId: pools.channelId, amount: pools.amount, signature: pools.signature }) }),
    appOpen: fc.record({ kind: fc.constant('appOpen' as const), definition: appDefinition(pools), stateHash: canonicalBytes32, signature: pools.signature }),
    appUpdate: fc.record({
      kind: fc.constant('appUpdate' as const),
      channelId: pools.channelId,
      update: fc.record({ event: appEvent(pools), signedState: pools.signedState, baseSignatures: fc.array(pools.signature, { maxLength: 4 }) }),
    }),
    appCountersignature: fc.record({
      kind: fc.constant('appCountersignature' as const),
      channelId: pools.channelId,
      countersignature: fc.record({ turnNum: pools.turnNum, stateHash: canonicalBytes32, signature: pools.signature }),
    }),
    appRefusal: fc.record({ kind: fc.constant('appRefusal' as const), channelId: pools.channelId, turnNum: pools.turnNum, eventHash: canonicalBytes32, code: errorCode }),
  }
  const chosen = kinds ?? (Object.keys(all) as Payload['kind'][])
  return fc.oneof(...chosen.map((kind) => ({ weight: pools.kindWeights?.[kind] ?? 1, arbitrary: all[kind] })))
}

/** Every payload kind, for tests that must cover them all. */
export const PAYLOAD_KINDS: readonly Payload['kind'][] = [
  'signedState', 'ledgerUpdateRequest', 'proposal', 'countersignature', 'syncRequest', 'sync', 'objectiveRejected',
  'finalStateRequest', 'voucher', 'appOpen', 'appUpdate', 'appCountersignature', 'appRefusal',
]

/** The kinds that may travel without a seq (frames.ts NOTICE_KINDS). */
export const NOTICE_KINDS: readonly Payload['kind'][] = ['appRefusal', 'objectiveRejected']

const uint64 = fc.oneof(fc.constantFrom(0n, 1n, arb.UINT64_MAX), fc.bigInt({ min: 0n, max: arb.UINT64_MAX }))

export interface FrameSession {
  readonly epochs: { readonly sender: bigint; readonly receiver: bigint }
  readonly base: bigint
}

const anySession: fc.Arbitrary<FrameSession | undefined> = fc.option(fc.record({ epochs: fc.record({ sender: uint64, receiver: uint64 }), base: uint64 }), { nil: undefined })

export interface FrameOptions {
  readonly maxPayloads?: number
  /** The session a frame carries, or undefined for none (default: either, any epochs). */
  readonly session?: fc.Arbitrary<FrameSession | undefined>
  /** Sequence numbers (default: any uint64, the edges often). */
  readonly seq?: fc.Arbitrary<bigint>
}

/** A valid frame: a seq and any payloads, or no seq and notices only; acks; with or without its session. */
export function frameArbitrary(pools: Pools = DEFAULT_POOLS, options: FrameOptions = {}): fc.Arbitrary<Frame> {
  const maxPayloads = options.maxPayloads ?? 3
  const sequenced = fc.record({ seq: options.seq ?? uint64, payloads: fc.array(payloadArbitrary(pools), { maxLength: maxPayloads }) })
  const notices = fc.record({ seq: fc.constant(null), payloads: fc.array(payloadArbitrary(pools, NOTICE_KINDS), { maxLength: maxPayloads }) })
  return fc
    .record({
      body: fc.oneof({ weight: 3, arbitrary: sequenced }, { weight: 1, arbitrary: notices }),
      acks: fc.array(uint64, { maxLength: 5 }),
      session: options.session ?? anySession,
    })
    .map(({ body, acks, session }): Frame => ({ seq: body.seq, payloads: body.payloads, acks, ...(session ?? {}) }))
}
