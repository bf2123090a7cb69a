// The prepared path (preparedRuntime.ts): a module metered ahead of time (apps/build/<name>.metered.wasm)
// runs exactly as WasmAppRuntime.load runs the module itself — same states, rejections, failures and fuel on
// sessions of every sample app — it refuses bytes that do not match their hashes or lack what metering adds,
// and nothing it imports loads binaryen.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { appsBuildDir } from '../../scripts/buildApps.js'
import { commitEvent, commitmentOf, revealEvent, secretOf, timeoutEvent } from '../../test/apps/commitReveal.js'
import { DOCUMENT_FINISH, documentEdits, ticTacToeGame } from '../../test/support/appSessions.js'
import { createRandom } from '../core/seededRandom.js'
import type { Random } from '../core/seededRandom.js'
import type { Bytes32 } from '../core/types.js'
import type { AppResult, AppRuntime, Turn } from './appRuntime.js'
import { MeteredAppRuntime, PREPARED_METERING } from './preparedRuntime.js'
import { WasmAppRuntime, prepareAppModule } from './wasmRuntime.js'

interface ManifestApp {
  readonly file: string
  readonly appId: Bytes32
  readonly meteredFile: string
  readonly meteredHash: Bytes32
}
const manifest = JSON.parse(readFileSync(path.join(appsBuildDir, 'manifest.json'), 'utf8')) as { apps: Record<string, ManifestApp> }
const read = (file: string) => new Uint8Array(readFileSync(path.join(appsBuildDir, file)))
const NAMES = ['dice', 'document', 'rps', 'tictactoe'] as const

function prepared(name: string): MeteredAppRuntime {
  const app = manifest.apps[name]!
  return MeteredAppRuntime.fromPrepared(read(app.file), read(app.meteredFile), { appId: app.appId, meteredHash: app.meteredHash })
}

type Observed<T> = { readonly value: T; readonly fuel: number } | { readonly error: unknown; readonly fuel: number }

/** What a call returned or threw, and the fuel it used. */
function observe<T>(runtime: MeteredAppRuntime, call: () => T): Observed<T> {
  try {
    return { value: call(), fuel: runtime.lastFuelUsed }
  } catch (error) {
    return { error, fuel: runtime.lastFuelUsed }
  }
}

/** What must be equal on both paths: the result, or the error's code and details, and the fuel. */
function comparable<T>(observed: Observed<T>): unknown {
  if ('value' in observed) return observed
  const e = observed.error as { code?: string; details?: unknown }
  return { code: e.code, details: e.details, fuel: observed.fuel }
}

/**
 * Runs every call on both runtimes and fails the test on the first difference (result, error or fuel);
 * answers (or throws) as the load path did. Counts the calls, so a test can tell it exercised something.
 */
class Twin implements AppRuntime {
  calls = 0
  failures = 0
  constructor(
    readonly loaded: MeteredAppRuntime,
    readonly fromPrepared: MeteredAppRuntime,
  ) {}
  get appId(): Bytes32 {
    return this.loaded.appId
  }
  private both<T>(what: string, call: (runtime: MeteredAppRuntime) => T): T {
    this.calls++
    const expected = observe(this.loaded, () => call(this.loaded))
    expect(comparable(observe(this.fromPrepared, () => call(this.fromPrepared))), what).toEqual(comparable(expected))
    if ('value' in expected) return expected.value
    this.failures++
    throw expected.error
  }
  init(params: Uint8Array): AppResult {
    return this.both('init', (r) => r.init(params))
  }
  apply(state: Uint8Array, event: Uint8Array, author: number): AppResult {
    const result = this.both('apply', (r) => r.apply(state, event, author))
    // Ask everything about each new state, so all five calls are compared along the session.
    if (result.ok) for (const call of ['outcome', 'isFinal', 'whoseTurn'] as const) attempt(() => this[call](result.state))
    return result
  }
  outcome(state: Uint8Array): readonly bigint[] {
    return this.both('outcome', (r) => r.outcome(state))
  }
  isFinal(state: Uint8Array): boolean {
    return this.both('isFinal', (r) => r.isFinal(state))
  }
  whoseTurn(state: Uint8Array): Turn {
    return this.both('whoseTurn', (r) => r.whoseTurn(state))
  }
}

/** Calls `call`, ignoring what it throws (a Twin has already compared it). */
function attempt(call: () => unknown): void {
  try {
    call()
  } catch {
    // compared already
  }
}

function twin(name: string): Twin {
  const app = manifest.apps[name]!
  return new Twin(WasmAppRuntime.load(read(app.file)), prepared(name))
}

/** Applies the event whatever the answer; keeps the new state when accepted. */
function step(app: AppRuntime, state: Uint8Array, event: Uint8Array, author: number): Uint8Array {
  const result = app.apply(state, event, author)
  return result.ok ? result.state : state
}

/** Random bytes and mutations of a valid event: rejections, bad lengths, failed calls. */
function junk(app: AppRuntime, state: Uint8Array, random: Random, like: Uint8Array, participants: number): void {
  for (let i = 0; i < 4; i++) {
    const event = random.chance(0.5) ? Uint8Array.from({ length: random.int(40) }, () => random.int(256)) : like.map((b) => (random.chance(0.2) ? random.int(256) : b))
    app.apply(state, event, random.int(participants))
  }
  app.apply(state.subarray(0, random.int(state.length + 1)), like, 0) // a truncated state
  attempt(() => app.isFinal(Uint8Array.from({ length: random.int(8) }, () => random.int(256))))
}

function commitReveal(app: AppRuntime, params: Uint8Array, participants: number, choices: number, random: Random): void {
  const init = app.init(params)
  if (!init.ok) throw new Error('init refused')
  let state = init.state
  for (let round = 0; round < 40 && !app.isFinal(state); round++) {
    const picks = Array.from({ length: participants }, () => random.int(choices))
    const secrets = picks.map((_, i) => secretOf(`${random.int(1000)}/${round}/${i}`))
    for (let i = 0; i < participants; i++) {
      const event = commitEvent(commitmentOf(secrets[i]!, picks[i]!, i, round))
      junk(app, state, random, event, participants)
      state = step(app, state, event, i)
      state = step(app, state, timeoutEvent, (i + 1) % participants) // too early, mostly
    }
    for (let i = 0; i < participants; i++) {
      const event = revealEvent(secrets[i]!, picks[i]!)
      junk(app, state, random, event, participants)
      state = step(app, state, event, i)
    }
  }
}

const sessions: Record<(typeof NAMES)[number], (app: AppRuntime, random: Random) => void> = {
  tictactoe: (app, random) => {
    const init = app.init(Uint8Array.of(2))
    if (!init.ok) throw new Error('init refused')
    let state = init.state
    for (const move of ticTacToeGame(random)) {
      junk(app, state, random, move.payload, 2)
      state = step(app, state, move.payload, move.author)
    }
    app.apply(state, Uint8Array.of(0x01, 4), 0) // after the end
  },
  document: (app, random) => {
    const participants = 2 + random.int(3)
    const init = app.init(Uint8Array.of(participants))
    if (!init.ok) throw new Error('init refused')
    let state = init.state
    for (const move of documentEdits(random, { participants, count: 60 })) {
      if (random.chance(0.2)) junk(app, state, random, move.payload, participants)
      state = step(app, state, move.payload, move.author)
    }
    step(app, state, DOCUMENT_FINISH, 0)
  },
  rps: (app, random) => commitReveal(app, Uint8Array.of(2, 1 + 2 * random.int(3)), 2, 3, random),
  dice: (app, random) => {
    const participants = 2 + random.int(3)
    commitReveal(app, Uint8Array.of(participants, 1 + 2 * random.int(2)), participants, 1, random)
  },
}

describe('a prepared module runs exactly as WasmAppRuntime.load runs the module', () => {
  test.each(NAMES)('%s: same states, rejections, failures and fuel on seeded sessions', (name) => {
    const app = twin(name)
    for (let seed = 1; seed <= 4; seed++) sessions[name](app, createRandom(seed * 1000 + name.length))
    expect(app.calls).toBeGreaterThan(100)
    expect(app.failures).toBeGreaterThan(0) // outcome before the end, garbage states
    expect(app.fromPrepared).toMatchObject({ appId: app.loaded.appId, fuelPerCall: app.loaded.fuelPerCall, memoryPages: app.loaded.memoryPages })
  })

  test.each(NAMES)('%s: the committed metered module is what prepareAppModule makes with PREPARED_METERING', (name) => {
    const app = manifest.apps[name]!
    expect(Buffer.from(prepareAppModule(read(app.file), PREPARED_METERING)).equals(Buffer.from(read(app.meteredFile)))).toBe(true)
  })
})

describe('fromPrepared refuses', () => {
  const app = manifest.apps['tictactoe']!
  const moduleBytes = read(app.file)
  const metered = read(app.meteredFile)
  const refused = (reason: string) => expect.objectContaining({ code: 'app_module', details: expect.objectContaining({ reason }) })

  test('a module that is not the appId, or metered bytes that are not the hash', () => {
    const other = manifest.apps['dice']!
    expect(() => MeteredAppRuntime.fromPrepared(moduleBytes, metered, { appId: other.appId })).toThrow(refused('module does not match its appId'))
    expect(() => MeteredAppRuntime.fromPrepared(moduleBytes, read(other.meteredFile), { meteredHash: app.meteredHash })).toThrow(
      refused('metered module does not match its hash'),
    )
  })

  test('a module that was not metered: the exports metering adds are missing', () => {
    expect(() => MeteredAppRuntime.fromPrepared(moduleBytes, moduleBytes)).toThrow(refused('metered module lacks an export'))
  })

  test('bytes V8 does not compile', () => {
    expect(() => MeteredAppRuntime.fromPrepared(moduleBytes, metered.subarray(0, 100))).toThrow(refused('metering failed'))
  })

  test('options out of range, as load does', () => {
    expect(() => MeteredAppRuntime.fromPrepared(moduleBytes, metered, { fuel: 0 })).toThrow(expect.objectContaining({ code: 'out_of_range' }))
    expect(() => MeteredAppRuntime.fromPrepared(moduleBytes, metered, { memoryPages: 1000 })).toThrow(expect.objectContaining({ code: 'out_of_range' }))
  })

  test('accepts hashes in upper case', () => {
    const upper = (h: Bytes32) => `0x${h.slice(2).toUpperCase()}` as Bytes32
    expect(MeteredAppRuntime.fromPrepared(moduleBytes, metered, { appId: upper(app.appId), meteredHash: upper(app.meteredHash) }).appId).toBe(app.appId)
  })
})

/** Relative imports of a TypeScript file, resolved to .ts paths, and its bare imports. */
function importsOf(file: string): { local: string[]; bare: string[] } {
  const source = readFileSync(file, 'utf8')
  const specifiers = [...source.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'|\bimport\(\s*'([^']+)'\s*\)/g)].map((m) => m[1] ?? m[2]!)
  const local = specifiers.filter((s) => s.startsWith('.')).map((s) => path.resolve(path.dirname(file), s.replace(/\.js$/, '.ts')))
  return { local, bare: specifiers.filter((s) => !s.startsWith('.')) }
}

test('nothing the prepared path imports loads binaryen, validate.ts, metering.ts or wasmRuntime.ts', () => {
  const roots = [path.join(import.meta.dirname, 'preparedRuntime.ts'), path.join(import.meta.dirname, '..', 'node', 'appRegistry.ts')]
  const seen = new Set<string>()
  const bare = new Set<string>()
  for (const pending = [...roots]; pending.length > 0; ) {
    const file = pending.pop()!
    if (seen.has(file)) continue
    seen.add(file)
    const found = importsOf(file)
    found.bare.forEach((s) => bare.add(s))
    pending.push(...found.local)
  }
  expect(seen.size).toBeGreaterThan(5)
  expect([...bare].filter((s) => s.includes('binaryen'))).toEqual([])
  expect([...seen].filter((f) => path.dirname(f) === import.meta.dirname).map((f) => path.basename(f)).filter((f) => ['validate.ts', 'metering.ts', 'wasmRuntime.ts'].includes(f))).toEqual([])
  expect(seen.has(path.join(import.meta.dirname, 'abi.ts'))).toBe(true)
})
