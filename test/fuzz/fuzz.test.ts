// The fuzz targets under CI (docs/fuzzing.md): every target of targets.ts on a fixed seed and its small
// `ciRuns` share, so a red run replays exactly (`npm run fuzz -- --target <name> --seed <seed> --path <path>`,
// printed with the counterexample). A target with a known bug is expected to fail until the bug is fixed.
import { expect, test } from 'vitest'
import { TARGETS } from './targets.js'
import type { AnyTarget } from './target.js'
import { failureReport, isKnownBug, runTarget } from './target.js'

/** The CI seed: changing it explores other cases, and must keep the suite green. */
const SEED = 20_261_121

async function fuzz(target: AnyTarget): Promise<void> {
  const result = await runTarget(target, { numRuns: target.ciRuns, seed: SEED })
  if (result.failed) expect.fail(failureReport(result))
  expect(result.cases).toBe(target.ciRuns)
}

/**
 * A target with a known bug must fail, and fail by that bug: `test.fails` turns its expected failure green, and
 * any other failure (or none: the bug was fixed, so drop `knownBug` from the target) red.
 */
async function fuzzKnownBug(target: AnyTarget): Promise<void> {
  const result = await runTarget(target, { numRuns: target.ciRuns, seed: SEED })
  if (isKnownBug(target, result)) expect.fail(`known bug, as expected: ${target.knownBug!.summary}\n${failureReport(result)}`)
  if (result.failed) console.error(`${target.name} failed, but not by its known bug:\n${failureReport(result)}`)
  else console.error(`${target.name} no longer finds its known bug (${target.knownBug!.summary}): remove knownBug from the target`)
}

for (const target of TARGETS) {
  if (target.knownBug) {
    // KNOWN BUG, expected to fail until it is fixed: see the target's knownBug and docs/fuzzing.md.
    test.fails(`${target.name} (known bug: ${target.knownBug.summary})`, () => fuzzKnownBug(target))
  } else {
    test(target.name, () => fuzz(target))
  }
}

test('every payload kind, every RPC method and every sample app has a target', () => {
  const names = TARGETS.map((t) => t.name)
  expect(names).toEqual(expect.arrayContaining(['frame.bytes', 'frame.mutated', 'frame.roundtrip', 'payload.roundtrip', 'payload.edited', 'rpc.params', 'rpc.envelope', 'app.tictactoe', 'app.rps', 'app.dice', 'app.document', 'app.memory', 'app.channel', 'engine.receive']))
  expect(new Set(names).size).toBe(names.length)
})
