// Fuzz targets of app events (issue 7, docs/architecture/app-abi.md): arbitrary and near-valid event bytes, by
// any author, applied one after another to the states of the sample apps (apps/build/*.metered.wasm, run as
// the node runs them: src/node/appRegistry.ts, src/wasm/preparedRuntime.ts), to the in-memory runtime's test
// apps (src/wasm/memoryRuntime.ts), and proposed in an app channel (src/protocols/app/appChannel.ts).
// Properties:
// - the runtime: `init` and `apply` never throw — they return a state or a rejection (an app code ≥ 1, or 0 with
//   the runtime's reason); the input state is not written to; the same call gives the same answer again (a trap
//   leaves nothing behind); `outcome`, `isFinal` and `whoseTurn` on an accepted state answer or throw the typed
//   AppCallError (`app_call`);
// - the channel: `submitEvent` returns an update or throws a typed refusal (app_rejected, wrong_turn,
//   channel_final, invalid_event...), and a refused event leaves the channel exactly as it was; an accepted one,
//   countersigned, advances both participants to the same turn.
import assert from 'node:assert/strict'
import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import { hashState } from '../../src/core/hashState.js'
import { keccak256Bytes } from '../../src/core/keccak.js'
import { MAX_PARTICIPANTS } from '../../src/core/limits.js'
import type { AppResult, AppRuntime } from '../../src/wasm/appRuntime.js'
import { MemoryAppRuntime } from '../../src/wasm/memoryRuntime.js'
import { MAX_STATE_BYTES } from '../../src/wasm/limits.js'
import { loadAppRegistry } from '../../src/node/appRegistry.js'
import type { AppChannel } from '../../src/protocols/app/appChannel.js'
import { submitEvent } from '../../src/protocols/app/appChannel.js'
import type { Session } from '../../src/protocols/app/testApps.js'
import { alice, bob, broadcastCountersignature, counterApp, definitionOf, deliverUpdate, openSession, raceApp } from '../../src/protocols/app/testApps.js'
import type { AnyTarget } from './target.js'
import { defineTarget, describeThrown, plain, valueOrRejection } from './target.js'

// ---- the apps and their inputs ----

type AppName = 'tictactoe' | 'rps' | 'dice' | 'document'

const registry = loadAppRegistry()
function builtApp(name: AppName): AppRuntime {
  const appId = registry.names.get(name)
  assert.ok(appId !== undefined, `apps/build/manifest.json has no ${name} (npm run build:apps)`)
  return registry.apps(appId)!
}

/**
 * How an event is made: raw bytes; a kind byte the apps know followed by any bytes; or, for the commit–reveal
 * apps, a commitment to (secret, choice) for the author and round the state is at, and later the reveal of the
 * author's last commitment — so matches get past their first round.
 */
type EventSpec =
  | { readonly make: 'raw'; readonly bytes: Uint8Array }
  | { readonly make: 'kind'; readonly kind: number; readonly tail: Uint8Array }
  | { readonly make: 'commit'; readonly secret: Uint8Array; readonly choice: number }
  | { readonly make: 'reveal' }

interface Step {
  readonly author: number
  readonly event: EventSpec
}

/** The event kinds the sample apps define (tictactoe, match.ts, document), and a few they do not. */
const KINDS = [0x00, 0x01, 0x02, 0x03, 0x04, 0x7f, 0x80, 0xfe, 0xff]

const u16le = (n: number): number[] => [n & 0xff, n >>> 8]
const raw = (bytes: fc.Arbitrary<Uint8Array>): fc.Arbitrary<EventSpec> => bytes.map((b) => ({ make: 'raw' as const, bytes: b }))

/** Events of any app: any bytes, or a known kind byte and any bytes after it. */
const anyEvent: fc.Arbitrary<EventSpec> = fc.oneof(
  raw(fc.uint8Array({ maxLength: 48 })),
  fc.record({ make: fc.constant('kind' as const), kind: fc.constantFrom(...KINDS), tail: fc.uint8Array({ maxLength: 40 }) }),
)

/** Commit–reveal (match.ts): commitments and reveals of them, now and then a timeout. */
const matchEvent: fc.Arbitrary<EventSpec> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ make: fc.constant('commit' as const), secret: fc.uint8Array({ minLength: 32, maxLength: 32 }), choice: fc.nat({ max: 3 }) }) },
  { weight: 3, arbitrary: fc.constant({ make: 'reveal' as const }) },
  { weight: 1, arbitrary: raw(fc.constant(Uint8Array.of(0xff))) },
)

/** Events close to each app's encoding (the header comment of apps/<name>/<name>.ts), so games get played. */
const APP_EVENTS: Readonly<Record<AppName, fc.Arbitrary<EventSpec>>> = {
  tictactoe: fc.oneof(
    { weight: 8, arbitrary: raw(fc.nat({ max: 9 }).map((cell) => Uint8Array.of(0x01, cell))) },
    { weight: 1, arbitrary: raw(fc.constant(Uint8Array.of(0xff))) },
  ),
  rps: matchEvent,
  dice: matchEvent,
  document: fc.oneof(
    {
      weight: 5,
      arbitrary: raw(
        fc.tuple(fc.nat({ max: 24 }), fc.uint8Array({ minLength: 1, maxLength: 12 }), fc.integer({ min: -1, max: 1 })).map(([at, text, skew]) =>
          Uint8Array.from([0x01, ...u16le(at), ...u16le(text.length + skew), ...text]),
        ),
      ),
    },
    { weight: 3, arbitrary: raw(fc.tuple(fc.nat({ max: 24 }), fc.nat({ max: 12 })).map(([at, count]) => Uint8Array.from([0x02, ...u16le(at), ...u16le(count)]))) },
    { weight: 1, arbitrary: raw(fc.constant(Uint8Array.of(0x03))) },
  ),
}

/** The test apps' events are one byte: counter adds 1..9, race 1..3. */
const oneByte: fc.Arbitrary<EventSpec> = raw(fc.nat({ max: 10 }).map((b) => Uint8Array.of(b)))

function eventsOf(name: AppName | 'memory'): fc.Arbitrary<EventSpec> {
  return fc.oneof({ weight: 1, arbitrary: anyEvent }, { weight: 4, arbitrary: name === 'memory' ? oneByte : APP_EVENTS[name] })
}

function stepsFor(participants: number, events: fc.Arbitrary<EventSpec>): fc.Arbitrary<Step[]> {
  const author = fc.oneof({ weight: 9, arbitrary: fc.nat({ max: participants - 1 }) }, { weight: 1, arbitrary: fc.nat({ max: MAX_PARTICIPANTS - 1 }) })
  return fc.array(fc.record({ author, event: events }), { minLength: 1, maxLength: 32 })
}

/** Turns specs into bytes, remembering each author's last commitment (match.ts: keccak(secret ‖ choice ‖ author ‖ round u32 LE)). */
class EventMaker {
  readonly #committed = new Map<number, { secret: Uint8Array; choice: number }>()

  bytes(spec: EventSpec, author: number, state: Uint8Array): Uint8Array {
    switch (spec.make) {
      case 'raw':
        return spec.bytes
      case 'kind':
        return Uint8Array.from([spec.kind, ...spec.tail])
      case 'commit': {
        const round = new Uint8Array(4)
        new DataView(round.buffer).setUint32(0, state[2] ?? 0, true)
        this.#committed.set(author, { secret: spec.secret, choice: spec.choice })
        return Uint8Array.from([0x01, ...keccak256Bytes(spec.secret, Uint8Array.of(spec.choice, author), round)])
      }
      case 'reveal': {
        const committed = this.#committed.get(author)
        return committed ? Uint8Array.from([0x02, ...committed.secret, committed.choice]) : Uint8Array.of(0x02)
      }
    }
  }
}

// ---- the runtime ----

function checkResult(result: AppResult, what: string): void {
  if (result.ok) {
    assert.ok(result.state instanceof Uint8Array && result.state.length <= MAX_STATE_BYTES, `${what}: a state of at most ${MAX_STATE_BYTES} bytes`)
    return
  }
  assert.ok(Number.isInteger(result.code) && result.code >= 0 && result.code <= 0xffff_ffff, `${what}: a rejection code is a u32, got ${result.code}`)
  if (result.code === 0) assert.equal(typeof result.reason, 'string', `${what}: the runtime's own rejection (code 0) says why`)
}

const APP_CALL: ReadonlySet<string> = new Set(['app_call'])

/** The queries the protocol makes on an accepted state: each answers or throws AppCallError. */
function checkQueries(app: AppRuntime, state: Uint8Array): void {
  valueOrRejection(() => app.outcome(state), APP_CALL)
  valueOrRejection(() => app.isFinal(state), APP_CALL)
  valueOrRejection(() => app.whoseTurn(state), APP_CALL)
}

/** Calls `run`, which must not throw, and checks its answer is the same when asked again. */
function callTwice(run: () => AppResult, what: string): AppResult {
  let first: AppResult
  try {
    first = run()
  } catch (error) {
    assert.fail(`${what} threw ${describeThrown(error)}\n${error instanceof Error ? error.stack : ''}`)
  }
  checkResult(first, what)
  assert.ok(isDeepStrictEqual(run(), first), `${what}: the same call answered differently`)
  return first
}

/** How many events the runtime targets applied and how many the apps accepted (a fuzzer that never gets past BAD_EVENT tests little). */
export const runtimeStats = { applied: 0, accepted: 0 }

interface RuntimeCase {
  readonly params: Uint8Array
  readonly steps: readonly Step[]
}

function checkRuntime(app: AppRuntime, { params, steps }: RuntimeCase): void {
  const initial = callTwice(() => app.init(params.slice()), 'init')
  if (!initial.ok) return
  let state = initial.state
  checkQueries(app, state)
  const maker = new EventMaker()
  steps.forEach(({ author, event: spec }, i) => {
    const event = maker.bytes(spec, author, state)
    const before = state.slice()
    const result = callTwice(() => app.apply(state, event, author), `apply #${i} (author ${author}, event ${Buffer.from(event).toString('hex')})`)
    assert.ok(isDeepStrictEqual(state, before), `apply #${i} wrote to its input state`)
    if (result.ok) {
      state = result.state
      checkQueries(app, state)
      runtimeStats.accepted++
    }
    runtimeStats.applied++
  })
  // An author outside 0..MAX_PARTICIPANTS-1 is the caller's mistake: a typed out_of_range, not a trap.
  assert.equal(valueOrRejection(() => app.apply(state, Uint8Array.of(1), MAX_PARTICIPANTS), new Set(['out_of_range'])).kind, 'rejected')
}

/** Params: mostly valid ones for `app`, sometimes any bytes. */
function paramsArbitrary(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.oneof({ weight: 8, arbitrary: valid }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 8 }) })
}

const u8s = (...values: fc.Arbitrary<number>[]) => fc.tuple(...values).map((v) => Uint8Array.from(v))
const VALID_PARAMS: Readonly<Record<AppName, fc.Arbitrary<Uint8Array>>> = {
  tictactoe: fc.constant(Uint8Array.of(2)),
  rps: u8s(fc.constant(2), fc.constantFrom(1, 3, 5, 99)),
  dice: u8s(fc.integer({ min: 2, max: 4 }), fc.constantFrom(1, 3, 5)),
  document: u8s(fc.integer({ min: 2, max: 5 })),
}

function runtimeCase(params: fc.Arbitrary<Uint8Array>, events: fc.Arbitrary<EventSpec>): fc.Arbitrary<RuntimeCase> {
  return paramsArbitrary(params).chain((p) => fc.record({ params: fc.constant(p), steps: stepsFor(Math.max(2, Math.min(p[0] ?? 2, 5)), events) }))
}

/** The test apps of src/protocols/app/testApps.ts through the in-memory runtime (its copying, limits and checks). */
const memoryApps = [counterApp, raceApp].map((app) => new MemoryAppRuntime(app))

// ---- the channel ----

const SUBMIT_REFUSALS: ReadonlySet<string> = new Set(['update_in_flight', 'invalid_event', 'channel_final', 'wrong_turn', 'app_rejected', 'invalid_app_outcome'])

/** A two-party channel of `name` at turn 0, signed by both (alice and bob of testApps.ts). */
function openChannel(name: AppName, params: Uint8Array): Session {
  const app = builtApp(name)
  return openSession(app, [alice, bob], { ...definitionOf(app, [alice, bob]), params })
}

function checkChannel(name: AppName, params: Uint8Array, steps: readonly Step[]): void {
  const session = openChannel(name, params)
  const maker = new EventMaker()
  for (const { author: anyAuthor, event: spec } of steps) {
    const author = anyAuthor % 2
    const channel: AppChannel = session.channels[author]!
    const snapshot = plain(channel)
    const payload = maker.bytes(spec, author, channel.latest!.appState)
    const turn = channel.latest!.signed.state.turnNum
    const proposed = valueOrRejection(() => submitEvent(channel, session.app, payload, session.actors[author]!.signer), SUBMIT_REFUSALS)
    assert.deepStrictEqual(plain(channel), snapshot, 'submitEvent changed the channel value it was given')
    if (proposed.kind === 'rejected') continue
    // Accepted: the other participant replays and countersigns it, and both hold the next turn, signed by both.
    session.channels[author] = proposed.value.channel
    const other = 1 - author
    const countersignature = deliverUpdate(session, other, proposed.value.update, author)
    broadcastCountersignature(session, other, countersignature)
    const [a, b] = session.channels.map((c) => c.latest!)
    assert.equal(a!.signed.state.turnNum, turn + 1n, 'an accepted event makes the next turn')
    assert.equal(hashState(a!.signed.state), hashState(b!.signed.state), 'both participants hold the same state')
    assert.ok(session.channels.every((c) => c.pending === null), 'nothing stays pending after the countersignature')
  }
}

const channelCase = fc.constantFrom<AppName>('tictactoe', 'document', 'rps').chain((name) =>
  fc.record({
    name: fc.constant(name),
    steps: fc.array(fc.record({ author: fc.nat({ max: 1 }), event: eventsOf(name) }), { minLength: 1, maxLength: 12 }),
    bestOf: fc.constantFrom(1, 3),
  }),
)

const CHANNEL_PARAMS: Readonly<Record<AppName, (bestOf: number) => Uint8Array>> = {
  tictactoe: () => Uint8Array.of(2),
  rps: (bestOf) => Uint8Array.of(2, bestOf),
  dice: (bestOf) => Uint8Array.of(2, bestOf),
  document: () => Uint8Array.of(2),
}

export const appTargets: readonly AnyTarget[] = [
  ...(['tictactoe', 'rps', 'dice', 'document'] as const).map((name) =>
    defineTarget({
      name: `app.${name}`,
      property: `${name}.wasm: init and apply on arbitrary and near-valid events, any author, never throw, answer the same twice, leave their input alone; queries answer or throw app_call`,
      weight: 15,
      ciRuns: 400,
      arbitrary: runtimeCase(VALID_PARAMS[name], eventsOf(name)),
      check: (c: RuntimeCase) => checkRuntime(builtApp(name), c),
    }),
  ),
  defineTarget({
    name: 'app.memory',
    property: 'the in-memory runtime (counter and race test apps): the same',
    weight: 10,
    ciRuns: 400,
    arbitrary: fc.record({ app: fc.nat({ max: 1 }), c: runtimeCase(u8s(fc.integer({ min: 2, max: 4 }), fc.integer({ min: 0, max: 12 })), eventsOf('memory')) }),
    check: ({ app, c }) => checkRuntime(memoryApps[app]!, c),
  }),
  defineTarget({
    name: 'app.channel',
    property: 'submitEvent in a two-party channel (tictactoe, document, rps): an update or a typed refusal that leaves the channel as it was; accepted events reach the same next turn at both',
    weight: 5,
    ciRuns: 100,
    arbitrary: channelCase,
    check: ({ name, steps, bestOf }) => checkChannel(name, CHANNEL_PARAMS[name](bestOf), steps),
  }),
]

