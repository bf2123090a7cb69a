// Test fixtures of the app-channel module (STYLE §6): two small apps written in TypeScript that implement
// the AppRuntime interface directly (src/wasm/appRuntime.ts), named actors, and a tiny in-memory network
// that runs whole sessions (every message delivered to every participant). Used by the *.test.ts files
// beside it, test/support/appSessions.ts and bench/apps.bench.ts; never by the node.
//
// - counter: anyone adds 1..9; final when the count reaches the target (never, for target 0); the pot is split by how much each
//   participant added (nobody added anything yet: everyone gets their deposit back).
// - race: participants take turns in index order adding 1..3; whoever brings the total to the target wins
//   the whole pot.
// Params of both: [participants, target] (app-abi.md: params begin with the participant count).
import type { Address, Bytes32, Hex } from '../../core/types.js'
import type { Signer } from '../../core/signer.js'
import type { AppResult, AppRuntime, Turn } from '../../wasm/appRuntime.js'
import { createSigner } from '../../core/signer.js'
import { keccak256 } from '../../core/keccak.js'
import { RejectedInputError } from '../../core/errors.js'
import type { AppDefinition, FundingMode } from './appData.js'
import type { AppChannel, AppCountersignature, AppUpdate } from './appChannel.js'
import { newAppChannel, receiveCountersignature, receiveUpdate, submitEvent } from './appChannel.js'
import { ZERO_ADDRESS, toAddress } from '../../core/canonical.js'

export interface Actor {
  readonly name: string
  readonly signer: Signer
  readonly address: Address
}

function actor(name: string, privateKey: Hex): Actor {
  const signer = createSigner(privateKey)
  return { name, signer, address: signer.address }
}

// alice, bob and irene are go-nitro's test actors (as in src/protocols/ledger/testLedger.ts).
export const alice = actor('alice', '0x2d999770f7b5d49b694080f987b82bbc9fc9ac2b4dcc10b0f8aba7d700f69c6d')
export const bob = actor('bob', '0x0279651921cd800ac560c21ceea27aab0107b67daf436cdd25ce84cad30159b4')
export const carol = actor('carol', `0x${'c1'.repeat(32)}`)
export const dave = actor('dave', `0x${'d1'.repeat(32)}`)
export const irene = actor('irene', '0xfebb3b74b0b52d0976f6571d555f4ac8b91c308dfa25c7b58d1e6a7c3f50c781')

export const ETH: Address = ZERO_ADDRESS
export const CONSENSUS_APP: Address = toAddress('0x5e29E5Ab8EF33F050c7cc10B5a0456D975C5F88d')

/** The stand-in for src/wasm/errors.ts's AppCallError: what a module failing on a state throws. */
export class TestAppCallError extends RejectedInputError {
  readonly code = 'app_call'
}

const ok = (state: Uint8Array): AppResult => ({ ok: true, state })
const reject = (code: number): AppResult => ({ ok: false, code })

function appIdOf(name: string): Bytes32 {
  return keccak256(Buffer.from(`channels test app: ${name}`, 'utf8'))
}

// ---- counter: state = count u32 BE ‖ one u32 BE contribution per participant ----

export const CounterRejection = { badDelta: 1, badEvent: 2, badParams: 3 } as const

export const counterApp: AppRuntime = {
  appId: appIdOf('counter v1'),
  init(params) {
    if (params.length !== 2) return reject(CounterRejection.badParams)
    const state = Buffer.alloc(4 + 4 * params[0]! + 1)
    state.writeUInt8(params[1]!, state.length - 1) // the target, last
    return ok(state)
  },
  apply(state, event, author) {
    if (event.length !== 1) return reject(CounterRejection.badEvent)
    const delta = event[0]!
    if (delta < 1 || delta > 9) return reject(CounterRejection.badDelta)
    const next = Buffer.from(state)
    next.writeUInt32BE(next.readUInt32BE(0) + delta, 0)
    next.writeUInt32BE(next.readUInt32BE(4 + 4 * author) + delta, 4 + 4 * author)
    return ok(next)
  },
  outcome(state) {
    const s = Buffer.from(state)
    const n = (s.length - 5) / 4
    return Array.from({ length: n }, (_, i) => BigInt(s.readUInt32BE(4 + 4 * i)))
  },
  isFinal(state) {
    const s = Buffer.from(state)
    const target = s[s.length - 1]!
    return target > 0 && s.readUInt32BE(0) >= target
  },
  whoseTurn(state): Turn {
    return counterApp.isFinal(state) ? 'nobody' : 'anyone'
  },
}

// ---- race: state = [next, total, winner (0xff: none), participants, target] ----

export const RaceRejection = { badStep: 1, badParams: 2, notYourTurn: 3 } as const
const NO_WINNER = 0xff

export const raceApp: AppRuntime = {
  appId: appIdOf('race v1'),
  init(params) {
    if (params.length !== 2 || params[1] === 0) return reject(RaceRejection.badParams)
    return ok(Uint8Array.of(0, 0, NO_WINNER, params[0]!, params[1]!))
  },
  apply(state, event, author) {
    const [next, total, , n, target] = state as unknown as [number, number, number, number, number]
    if (author !== next) return reject(RaceRejection.notYourTurn)
    if (event.length !== 1 || event[0]! < 1 || event[0]! > 3) return reject(RaceRejection.badStep)
    const sum = total + event[0]!
    if (sum >= target) return ok(Uint8Array.of(next, target, author, n, target))
    return ok(Uint8Array.of((next + 1) % n, sum, NO_WINNER, n, target))
  },
  outcome(state) {
    const n = state[3]!
    const winner = state[2]!
    return Array.from({ length: n }, (_, i) => (i === winner ? 1n : 0n))
  },
  isFinal(state) {
    return state[2] !== NO_WINNER
  },
  whoseTurn(state): Turn {
    return state[2] !== NO_WINNER ? 'nobody' : state[0]!
  },
}

export function definitionOf(
  app: AppRuntime,
  actors: readonly Actor[],
  p: { deposits?: readonly bigint[]; target?: number; channelNonce?: bigint; funding?: FundingMode; moveTimeout?: number } = {},
): AppDefinition {
  return {
    fixed: { participants: actors.map((a) => a.address), channelNonce: p.channelNonce ?? 7n, appDefinition: CONSENSUS_APP, challengeDuration: 86_400 },
    appId: app.appId,
    params: Uint8Array.of(actors.length, p.target ?? 10),
    asset: ETH,
    deposits: p.deposits ?? actors.map(() => 100n),
    funding: p.funding ?? 'none',
    moveTimeout: p.moveTimeout ?? 0,
  }
}

// ---- a session: every participant's node, every message delivered to everyone ----

export interface Session {
  readonly app: AppRuntime
  readonly actors: readonly Actor[]
  /** channels[i] is actors[i]'s node's channel. */
  channels: AppChannel[]
}

/** Opens the channel at every node and exchanges the turn-0 signatures. */
export function openSession(app: AppRuntime, actors: readonly Actor[], definition = definitionOf(app, actors)): Session {
  const opened = actors.map((a) => newAppChannel(definition, app, a.signer))
  const session: Session = { app, actors, channels: opened.map((o) => o.channel) }
  opened.forEach((o, i) => broadcastCountersignature(session, i, o.countersignature))
  return session
}

export function broadcastCountersignature(session: Session, from: number, countersignature: AppCountersignature): void {
  session.channels = session.channels.map((ch, j) => (j === from ? ch : receiveCountersignature(ch, countersignature, session.actors[from]!.address)))
}

/** Delivers an update to one node; returns its countersignature (not yet delivered). */
export function deliverUpdate(session: Session, to: number, update: AppUpdate, from: number): AppCountersignature {
  const result = receiveUpdate(session.channels[to]!, session.app, update, session.actors[from]!.address, session.actors[to]!.signer)
  session.channels[to] = result.channel
  return result.countersignature
}

/** One whole round: `author` submits, everyone else countersigns, every countersignature reaches everyone. */
export function move(session: Session, author: number, payload: Uint8Array): AppUpdate {
  const { channel, update } = submitEvent(session.channels[author]!, session.app, payload, session.actors[author]!.signer)
  session.channels[author] = channel
  const countersignatures = session.actors.map((_, j) => (j === author ? null : deliverUpdate(session, j, update, author)))
  countersignatures.forEach((c, j) => c && broadcastCountersignature(session, j, c))
  return update
}
