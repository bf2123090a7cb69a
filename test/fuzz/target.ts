// What a fuzz target is, and how one is run (docs/fuzzing.md): an arbitrary of inputs and a property checked on
// each, run by fast-check under a seed. The CI suite (fuzz.test.ts) runs every target on a fixed seed and a
// small share; `npm run fuzz` (run.ts) runs a million cases split by weight. A failure names the seed and the
// shrunk counterexample's path, which replay it exactly (fast-check's `seed` and `path` options).
import assert from 'node:assert/strict'
import { performance } from 'node:perf_hooks'
import fc from 'fast-check'
import { REJECTION_CODES } from '../hostile.js'

export interface FuzzTarget<T> {
  readonly name: string
  /** The property, in one sentence (printed by `npm run fuzz`, listed in docs/fuzzing.md). */
  readonly property: string
  /** Relative share of `npm run fuzz`'s cases: cheap decoder targets get most. */
  readonly weight: number
  /** Cases run by the CI suite, on its fixed seed; small enough that the whole file takes seconds. */
  readonly ciRuns: number
  readonly arbitrary: fc.Arbitrary<T>
  /** Throws when the property fails for `value`; may be async (then every case is awaited). */
  readonly check: (value: T) => void | Promise<void>
  /** Resources a run shares across its cases (an engine world): made before the first, released after the last. */
  readonly open?: () => Promise<void>
  readonly close?: () => Promise<void>
  /**
   * A bug this target is known to find, not fixed yet: what it is and where, and what its failure report matches.
   * The CI suite expects exactly that failure; `npm run fuzz` reports it without failing the run (unless --strict).
   */
  readonly knownBug?: { readonly summary: string; readonly match: RegExp }
}

/** A target with its input type erased, so targets of different inputs share one list. */
export type AnyTarget = FuzzTarget<unknown> & { readonly async: boolean }

export function defineTarget<T>(target: FuzzTarget<T> & { readonly async?: boolean }): AnyTarget {
  return { ...(target as unknown as FuzzTarget<unknown>), async: target.async ?? false }
}

export interface RunOptions {
  readonly numRuns: number
  readonly seed: number
  /** A counterexample's path from an earlier failure: replays it (and only it) directly. */
  readonly path?: string
}

export interface RunResult {
  readonly target: string
  readonly cases: number
  readonly seconds: number
  readonly failed: boolean
  readonly details: fc.RunDetails<[unknown]>
}

/** Runs `target` for `numRuns` cases from `seed`; opens and closes its shared resources around the run. */
export async function runTarget(target: AnyTarget, options: RunOptions): Promise<RunResult> {
  const parameters: fc.Parameters<[unknown]> = {
    numRuns: options.numRuns,
    seed: options.seed,
    ...(options.path !== undefined ? { path: options.path } : {}),
    // The report names the error of the shrunk counterexample (its class, message and stack).
    includeErrorInReport: true,
  }
  await target.open?.()
  const start = performance.now()
  try {
    const details = target.async
      ? await fc.check(fc.asyncProperty(target.arbitrary, async (value) => { await target.check(value) }), parameters)
      : fc.check(fc.property(target.arbitrary, (value) => { void target.check(value) }), parameters)
    return { target: target.name, cases: details.numRuns, seconds: (performance.now() - start) / 1000, failed: details.failed, details }
  } finally {
    await target.close?.()
  }
}

/** One line to replay a failure: the whole run from its seed, or (with `path`) just the shrunk counterexample. */
export function reproduceCommand(target: string, details: Pick<fc.RunDetails<[unknown]>, 'seed' | 'counterexamplePath'>, cases?: number): string {
  const path = details.counterexamplePath === null ? '' : ` --path ${details.counterexamplePath}`
  return `npm run fuzz -- --target ${target} --seed ${details.seed}${cases === undefined ? '' : ` --cases ${cases}`}${path}`
}

/** Whether a failed run failed the way the target's known bug makes it fail. */
export function isKnownBug(target: AnyTarget, result: RunResult): boolean {
  return result.failed && target.knownBug !== undefined && target.knownBug.match.test(fc.defaultReportMessage(result.details) ?? '')
}

/** fast-check's report (seed, path, counterexample, error) plus the command that replays it. */
export function failureReport(result: RunResult): string {
  const report = fc.defaultReportMessage(result.details) ?? 'failed'
  return `${result.target}: ${report}\nreproduce: ${reproduceCommand(result.target, result.details)}`
}

// ---- what the properties assert ----

/** A short description of a thrown value: its class, code and first line. */
export function describeThrown(error: unknown): string {
  if (!(error instanceof Error)) return `a thrown ${typeof error}`
  const code = (error as { code?: unknown }).code
  return `${error.constructor.name}${typeof code === 'string' ? ` [${code}]` : ''}: ${error.message.split('\n')[0]!.slice(0, 200)}`
}

export type Outcome<T> = { readonly kind: 'value'; readonly value: T } | { readonly kind: 'rejected'; readonly code: string }

/**
 * Runs `f`: its value, or the code of the typed rejection it threw when that code is in `codes` (default: the
 * core's REJECTION_CODES, test/hostile.ts). Anything else thrown — a TypeError, a RangeError, a library's
 * error, one of our errors with another code — fails the property, with its stack.
 */
export function valueOrRejection<T>(f: () => T, codes: ReadonlySet<string> = REJECTION_CODES): Outcome<T> {
  try {
    return { kind: 'value', value: f() }
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code
    if (typeof code === 'string' && codes.has(code)) return { kind: 'rejected', code }
    throw new assert.AssertionError({ message: `expected a value or a typed rejection (${[...codes].join(', ')}), got ${describeThrown(error)}\n${error instanceof Error ? error.stack : ''}` })
  }
}

/**
 * A plain, comparable form of a decoded value: byte strings of any class (Buffer, Uint8Array) as hex, bigints
 * tagged, keys holding undefined left out (as absent ones), so that deepStrictEqual compares what was carried
 * and not how it was held.
 */
export function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return `bytes:${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`
  if (typeof value === 'bigint') return `${value}n`
  if (Array.isArray(value)) return value.map(plain)
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, plain(v)]))
  return value
}

/** Whether `a` and `b` carry the same data (see `plain`); fails with a diff otherwise. */
export function assertSameData(actual: unknown, expected: unknown, message: string): void {
  assert.deepStrictEqual(plain(actual), plain(expected), message)
}

export function assertSameBytes(actual: Uint8Array, expected: Uint8Array, message: string): void {
  if (!Buffer.from(actual).equals(Buffer.from(expected))) {
    assert.fail(`${message}: ${Buffer.from(actual).toString('hex').slice(0, 400)} != ${Buffer.from(expected).toString('hex').slice(0, 400)}`)
  }
}
