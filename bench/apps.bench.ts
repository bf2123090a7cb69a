// App channels (issue 7): how fast an app-channel log replays through the production WebAssembly runtime
// (src/wasm/wasmRuntime.ts) with the built sample apps (apps/build/), and how fast the state at any seq of a long
// channel comes back (src/protocols/app/replay.ts).
//
// (a) Replay events/s on one thread (= per core) through tic-tac-toe (many whole random games back to back)
//     and the document (4 authors, random edits, text ≤ 1 KiB: states of ~2 KiB), at four depths, so each
//     figure says what it includes:
//       apply only            runtime.apply per event: the app itself through the runtime;
//       runtime calls         the four calls the protocol makes per event (whoseTurn, isFinal, apply, outcome);
//       protocol replay       replayEvent per event: the turn rules, those calls, the app-state hash, appData,
//                             the outcome split and the Nitro state hash — verifyLog without signatures;
//       verifyLog             the same plus the hash chain and every participant's signature recovered,
//                             on logs of sessions played with real signers.
//     The budget (issue 7, apps/README.md) is 200k events/s per core through the runtime: the first two
//     depths are compared with it. The last two add per event the hashing and ECDSA work every signed state
//     costs whatever the app (state hash ≈ 50 µs, recovery ≈ 80 µs per signer: bench/core.bench.ts).
// (b) stateAt on a 100k-event document channel with snapshots every K events (K = 64, 256 = the default, 1024):
//     p50/p99 over random seqs, against 10 ms.
// Not measured here: the finality of an app move between node processes (proposal, replay and
// countersignatures over the network). It needs app channels in the engine, which does not exist yet.
import { performance } from 'node:perf_hooks'
import type { Benchmark, BenchResult } from './harness.js'
import { round } from './harness.js'
import { createRandom } from '../src/core/seededRandom.js'
import type { Random } from '../src/core/seededRandom.js'
import type { AppRuntime } from '../src/wasm/appRuntime.js'
import type { ChannelEvent } from '../src/log/event.js'
import { nextEvent } from '../src/log/channelLog.js'
import { APP_EVENT_KIND } from '../src/protocols/app/appData.js'
import type { ExportedLog } from '../src/protocols/app/replay.js'
import { appContext, genesisEvent, genesisStep, replayEvent, snapshotEvery, stateAt, verifyLog } from '../src/protocols/app/replay.js'
import { alice, bob, carol, dave } from '../src/protocols/app/testApps.js'
import type { Actor } from '../src/protocols/app/testApps.js'
import type { AppMove } from '../test/support/appSessions.js'
import { documentEdits, loadBuiltApp, playSession, sampleDefinition, ticTacToeGame } from '../test/support/appSessions.js'

const SEED = 7
const REPLAY_BUDGET_EVENTS_PER_SECOND = 200_000
const STATE_AT_BUDGET_MS = 10
const STATE_AT_EVENTS = 100_000
const STATE_AT_QUERIES = 1000
const MIN_MS = 1500

/** A workload: sessions of moves, each replayed from the app's initial state. */
interface Workload {
  readonly runtime: AppRuntime
  readonly actors: readonly Actor[]
  readonly sessions: readonly (readonly AppMove[])[]
}

/** Runs `pass` (which returns how many events it replayed) until MIN_MS have passed, after one warm-up pass. */
function eventsPerSecond(pass: () => number): number {
  pass()
  let events = 0
  const start = performance.now()
  let elapsed = 0
  while (elapsed < MIN_MS) {
    events += pass()
    elapsed = performance.now() - start
  }
  return (events / elapsed) * 1000
}

function initialState(w: Workload): Uint8Array {
  const result = w.runtime.init(Uint8Array.of(w.actors.length))
  if (!result.ok) throw new Error(`init refused: ${result.code}`)
  return result.state
}

function applyOnly(w: Workload): number {
  const start = initialState(w)
  return eventsPerSecond(() => {
    let events = 0
    for (const moves of w.sessions) {
      let state = start
      for (const m of moves) {
        const result = w.runtime.apply(state, m.payload, m.author)
        if (!result.ok) throw new Error(`apply refused: ${result.code}`)
        state = result.state
      }
      events += moves.length
    }
    return events
  })
}

/** The runtime calls replayEvent makes per event, in its order: whoseTurn and isFinal on the state, apply, outcome on the next. */
function runtimeCalls(w: Workload): number {
  const start = initialState(w)
  let sink = 0
  const rate = eventsPerSecond(() => {
    let events = 0
    for (const moves of w.sessions) {
      let state = start
      for (const m of moves) {
        const turn = w.runtime.whoseTurn(state)
        if (turn === 'nobody' || w.runtime.isFinal(state)) throw new Error('final')
        const result = w.runtime.apply(state, m.payload, m.author)
        if (!result.ok) throw new Error(`apply refused: ${result.code}`)
        state = result.state
        sink += w.runtime.outcome(state).length
      }
      events += moves.length
    }
    return events
  })
  if (sink === 0) throw new Error('outcome never called')
  return rate
}

/** The sessions as log events (genesis first), built once: replay reads them as a verifier would. */
function logsOf(w: Workload): ChannelEvent[][] {
  const genesis = genesisEvent(sampleDefinition(w.runtime, w.actors))
  return w.sessions.map((moves) => {
    const events = [genesis]
    for (const m of moves) events.push(nextEvent(events[events.length - 1]!, { kind: APP_EVENT_KIND, payload: m.payload, author: w.actors[m.author]!.address }))
    return events
  })
}

/** replayEvent per event from the genesis step: verifyLog's replay without the chain and signature checks. */
function protocolReplay(w: Workload): number {
  const logs = logsOf(w)
  const ctx = appContext(sampleDefinition(w.runtime, w.actors))
  return eventsPerSecond(() => {
    let events = 0
    for (const log of logs) {
      let step = genesisStep(ctx, w.runtime, log[0]!)
      for (let i = 1; i < log.length; i++) step = replayEvent(ctx, w.runtime, step.appState, log[i]!)
      events += log.length - 1
    }
    return events
  })
}

function verifyLogs(w: Workload, logs: readonly ExportedLog[]): number {
  return eventsPerSecond(() => {
    let events = 0
    for (const log of logs) {
      const result = verifyLog(log, w.runtime)
      if (!result.ok) throw new Error(`diverged: ${result.divergence.detail}`)
      events += log.events.length - 1
    }
    return events
  })
}

/** The mean size of the states a workload's events produce: what each call copies in and out. */
function meanStateBytes(w: Workload): number {
  let bytes = 0
  let count = 0
  for (const moves of w.sessions) {
    let state = initialState(w)
    for (const m of moves) {
      const result = w.runtime.apply(state, m.payload, m.author)
      if (!result.ok) throw new Error(`apply refused: ${result.code}`)
      state = result.state
      bytes += state.length
      count++
    }
  }
  return bytes / count
}

function percentile(sortedMs: readonly number[], p: number): number {
  return sortedMs[Math.min(sortedMs.length - 1, Math.floor((p / 100) * sortedMs.length))]!
}

function stateAtRows(random: Random): BenchResult[] {
  const runtime = loadBuiltApp('document')
  const actors = [alice, bob, carol, dave]
  const moves = documentEdits(random, { participants: 4, count: STATE_AT_EVENTS })
  const events = [genesisEvent(sampleDefinition(runtime, actors))]
  for (const m of moves) events.push(nextEvent(events[events.length - 1]!, { kind: APP_EVENT_KIND, payload: m.payload, author: actors[m.author]!.address }))
  const seqs = Array.from({ length: STATE_AT_QUERIES }, () => BigInt(1 + random.int(events.length)))
  const rows: BenchResult[] = []
  for (const k of [64, 256, 1024]) {
    const built = performance.now()
    const snapshots = snapshotEvery(events, runtime, k)
    const buildMs = performance.now() - built
    for (const seq of seqs.slice(0, 20)) stateAt(events, runtime, seq, snapshots) // warm-up
    const times = seqs.map((seq) => {
      const start = performance.now()
      stateAt(events, runtime, seq, snapshots)
      return performance.now() - start
    }).sort((a, b) => a - b)
    const p99 = percentile(times, 99)
    const label = `document stateAt, 100k events, K=${k}${k === 256 ? ' (default)' : ''}`
    rows.push(
      { name: `${label}: p50`, value: round(percentile(times, 50), 2), unit: 'ms' },
      { name: `${label}: p99`, value: round(p99, 2), unit: 'ms' },
      { name: `${label}: 10 ms / p99`, value: round(STATE_AT_BUDGET_MS / p99, 1), unit: 'x' },
      { name: `${label}: taking the snapshots (one replay)`, value: round(buildMs), unit: 'ms' },
    )
  }
  return rows
}

function replayRows(name: string, w: Workload, signedLogs: readonly ExportedLog[]): BenchResult[] {
  const apply = applyOnly(w)
  const calls = runtimeCalls(w)
  const protocol = protocolReplay(w)
  const verified = verifyLogs(w, signedLogs)
  const vsBudget = (rate: number) => round(rate / REPLAY_BUDGET_EVENTS_PER_SECOND, 2)
  return [
    { name: `${name}: mean state size`, value: round(meanStateBytes(w)), unit: 'bytes' },
    { name: `${name}: apply only`, value: round(apply), unit: 'events/s/core' },
    { name: `${name}: apply only / 200k budget`, value: vsBudget(apply), unit: 'x' },
    { name: `${name}: runtime calls (4 per event)`, value: round(calls), unit: 'events/s/core' },
    { name: `${name}: runtime calls / 200k budget`, value: vsBudget(calls), unit: 'x' },
    { name: `${name}: protocol replay (no signatures)`, value: round(protocol), unit: 'events/s/core' },
    { name: `${name}: verifyLog (chain + ${w.actors.length} signatures per event)`, value: round(verified), unit: 'events/s/core' },
  ]
}

const benchmark: Benchmark = {
  estimate:
    'tic-tac-toe apply ~1.5 µs through the runtime (~600k/s), 4 calls/event ~200k/s; protocol replay adds ~50 µs of hashing (~20k/s); ' +
    'verifyLog adds ~65 µs per signer (~5k/s for 2); document ~2x slower per call (2 KiB states); stateAt K=256 ≤ 255 applies + hashes ≈ 1–3 ms',
  async run() {
    const random = createRandom(SEED)
    const tictactoe = loadBuiltApp('tictactoe')
    const document = loadBuiltApp('document')
    const two = [alice, bob]
    const four = [alice, bob, carol, dave]
    const games: Workload = { runtime: tictactoe, actors: two, sessions: Array.from({ length: 2000 }, () => ticTacToeGame(random)) }
    const edits: Workload = { runtime: document, actors: four, sessions: Array.from({ length: 20 }, () => documentEdits(random, { participants: 4, count: 500 })) }
    const signedGames = Array.from({ length: 100 }, () => playSession(tictactoe, two, ticTacToeGame(random)))
    const signedDocument = [playSession(document, four, documentEdits(random, { participants: 4, count: 300 }))]
    const averageMoves = games.sessions.reduce((sum, g) => sum + g.length, 0) / games.sessions.length
    return [
      { name: 'tic-tac-toe: moves per game (2000 random games)', value: round(averageMoves, 1), unit: 'events' },
      ...replayRows('tic-tac-toe', games, signedGames),
      ...replayRows('document', edits, signedDocument),
      ...stateAtRows(random),
    ]
  },
}
export default benchmark
