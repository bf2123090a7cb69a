// Every fuzz target (docs/fuzzing.md), in the order `npm run fuzz` runs and prints them. `weight` is each one's
// share of a run's cases, in thousandths: a million cases give the cheap decoder targets most of them and the
// engine, which handles every frame through a real store, a few thousand.
import { appTargets } from './appTargets.js'
import { engineTarget } from './engineTarget.js'
import { frameTargets } from './frameTargets.js'
import { payloadTargets } from './payloadTargets.js'
import { rpcTargets } from './rpcTargets.js'
import type { AnyTarget } from './target.js'

export const TARGETS: readonly AnyTarget[] = [...frameTargets, ...payloadTargets, ...rpcTargets, ...appTargets, engineTarget]

/** The cases of a run of `total` split by weight (at least one each). */
export function splitCases(targets: readonly AnyTarget[], total: number): Map<string, number> {
  const weights = targets.reduce((sum, t) => sum + t.weight, 0)
  return new Map(targets.map((t) => [t.name, Math.max(1, Math.round((total * t.weight) / weights))]))
}
