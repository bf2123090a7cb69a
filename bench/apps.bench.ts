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
// (c) App-move finality between two node processes over libp2p with durable stores (the real daemon,
//     bench/networkNode.ts, on anvil): document edits one at a time, each from submit until both signatures
//     are held at the author, p50/p99 against the budget p50 ≤ 1 ms, p99 ≤ 5 ms; beside it, measured in this
//     process in the same run, the crypto of one move (sign and recover, each side), a durable commit and a
//     libp2p round trip (bench/probes.ts), and the floor they make: three commits, one round trip, the crypto.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { performance } from 'node:perf_hooks'
import type { Bytes32 } from '../src/core/types.js'
import { createSigner } from '../src/core/signer.js'
import { keccak256 } from '../src/core/keccak.js'
import { recoverHashSigner } from '../src/core/signatures.js'
import { startAnvil } from '../src/chain/anvil.js'
import { ANVIL_DEV_KEYS, deployContracts } from '../src/chain/deploy.js'
import { launchLocalNetwork } from '../src/node/localNetwork.js'
import type { LocalNetwork } from '../src/node/localNetwork.js'
import { askNode } from './nodeIpc.js'
import { commitLatency, percentile, transportRoundTrip } from './probes.js'
import type { Benchmark, BenchResult } from './harness.js'
import { opsPerSecond, round } from './harness.js'
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

const MOVES = 1_000
const WARMUP_MOVES = 100

/** (c): two node processes, one document channel, MOVES sequential edits timed inside the author's node. */
async function finalityRows(): Promise<BenchResult[]> {
  const root = mkdtempSync(path.join(tmpdir(), 'channels-apps-bench-'))
  const anvil = await startAnvil({ port: 0 })
  let network: LocalNetwork | undefined
  try {
    const deployment = await deployContracts({ rpcUrl: anvil.url, chainId: 31337 })
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
    network = await launchLocalNetwork({
      dataDir: root,
      names: ['alice', 'bob'],
      chainKeys: ANVIL_DEV_KEYS,
      chain: { url: anvil.url, chainId: 31337, local: true, deployment, pollingIntervalMs: 200 },
      logLevel: 'warn',
      command: [process.execPath, '--import', tsx, path.join(import.meta.dirname, 'networkNode.ts')],
    })
    const author = network.node('alice').child
    const participants = ['alice', 'bob'].map((n) => network!.prepared.get(n)!.address)
    const appId = loadBuiltApp('document').appId
    const channelId = await askNode<Bytes32>(author, { kind: 'appOpen', participants, appId, params: [2], deposits: ['1000', '1000'], nonce: '1' })
    await askNode(author, { kind: 'appMoves', channelId, count: WARMUP_MOVES })
    const times = (await askNode<number[]>(author, { kind: 'appMoves', channelId, count: MOVES })).sort((a, b) => a - b)
    const at = (p: number) => percentile(times, p)
    const signer = createSigner(`0x${'42'.repeat(32)}`)
    const hash = keccak256(Uint8Array.of(1, 2, 3))
    const perMove = 1000 / (await opsPerSecond(() => {
      for (let side = 0; side < 2; side++) recoverHashSigner(hash, signer.signHash(hash))
    }))
    // The floor of one durable move: the author, the other node and the author again each commit (fsync)
    // before they act, the frames cross there and back, and each side signs and recovers once.
    const fsync = await commitLatency(root)
    const rtt = await transportRoundTrip()
    const floor = 3 * fsync + rtt + perMove
    return [
      { name: `app-move finality p50 (${MOVES} document edits, 2 node processes)`, value: round(at(50), 3), unit: 'ms' },
      { name: 'app-move finality p99', value: round(at(99), 3), unit: 'ms' },
      { name: 'budget p50 / p99', value: 1, unit: 'ms / 5 ms' },
      { name: 'crypto of one move, both sides (sign + recover ×2), same run', value: round(perMove, 3), unit: 'ms' },
      { name: 'RocksDB commit with fsync p50, this process (same run)', value: round(fsync, 3), unit: 'ms' },
      { name: 'libp2p round trip p50, 300 B, this process (same run)', value: round(rtt, 3), unit: 'ms' },
      { name: 'floor: 3 fsyncs + 1 round trip + crypto', value: round(floor, 3), unit: 'ms' },
      { name: 'finality p50 / floor', value: round(at(50) / floor, 2), unit: 'x' },
    ]
  } finally {
    await network?.stop()
    await anvil.stop()
    rmSync(root, { recursive: true, force: true })
  }
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
      ...(await finalityRows()),
    ]
  },
}
export default benchmark
