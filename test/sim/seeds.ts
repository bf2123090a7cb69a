// Runs a range of seeds as one vitest test each batch: a violation fails with the seed, the step, what broke and
// the command that replays it. CI runs 300 seeds across the seeds-*.test.ts files (one per core).
import { expect, test } from 'vitest'
import { replayCommand, simulate } from './simulate.js'

/** Steps with faults per seed in CI: enough for every kind of fault to strike in most runs, 300 seeds in about a minute per core. */
export const CI_STEPS = 400

export function seedRange(from: number, count: number): void {
  test(`seeds ${from}…${from + count - 1}: every invariant holds after every step, and everything settles once faults stop`, async () => {
    const failures: string[] = []
    for (let seed = from; seed < from + count; seed++) {
      const result = await simulate({ seed, steps: CI_STEPS })
      if (result.violation) failures.push(`seed ${seed}, step ${result.violation.step}: ${result.violation.message.split('\n')[0]}\n  replay: ${replayCommand({ seed, steps: CI_STEPS })}`)
    }
    expect(failures, failures.join('\n')).toEqual([])
  }, 600_000)
}
