// `npm run sim -- --seeds N [--steps M] [--from S]` runs N seeded simulations (seeds S … S+N−1) and prints a table;
// `npm run sim -- --seed S [--steps M]` runs one and prints its trace hash. A violation prints the seed, the step
// and the command that replays it, and the run exits non-zero.
import { parseArgs } from 'node:util'
import { cpus } from 'node:os'
import { simulate, replayCommand } from './simulate.js'
import type { SimulationResult } from './simulate.js'

const { values } = parseArgs({
  options: {
    seeds: { type: 'string' },
    seed: { type: 'string' },
    from: { type: 'string', default: '1' },
    steps: { type: 'string', default: '600' },
    verbose: { type: 'boolean', default: false },
    'repeated-chain-failures': { type: 'boolean', default: false },
  },
})
const steps = Number(values.steps)
const seeds = values.seed !== undefined ? [Number(values.seed)] : Array.from({ length: Number(values.seeds ?? 100) }, (_, i) => Number(values.from) + i)

const started = performance.now()
const failures: SimulationResult[] = []
const totals = { objectives: 0, completed: 0, active: 0, payments: 0, appChannels: 0, signatures: 0, crashes: 0, messages: 0 }
for (const [i, seed] of seeds.entries()) {
  const options = { seed, steps, repeatedChainFailures: values['repeated-chain-failures'] }
  const result = await simulate(options)
  for (const key of Object.keys(result.stats) as (keyof SimulationResult['stats'])[]) totals[key] += result.stats[key]
  if (result.violation) {
    failures.push(result)
    console.log(`\nseed ${seed}: ${result.violation.invariant} violated at step ${result.violation.step}\n${result.violation.message}\nreplay: ${replayCommand(options)}\n`)
  } else if (values.verbose || seeds.length === 1) {
    console.log(`seed ${seed}: ok, trace ${result.traceHash}, ${result.steps} steps, ${JSON.stringify(result.stats)}`)
  }
  if (seeds.length > 1 && (i + 1) % 100 === 0) console.log(`… ${i + 1}/${seeds.length} seeds, ${failures.length} failed, ${((performance.now() - started) / 1000).toFixed(0)} s`)
}
const seconds = (performance.now() - started) / 1000
console.table({
  seeds: seeds.length,
  'steps with faults': steps,
  failed: failures.length,
  seconds: Number(seconds.toFixed(1)),
  'seeds per second': Number((seeds.length / seconds).toFixed(2)),
  'objectives (all nodes)': totals.objectives,
  completed: totals.completed,
  'payment channels paid': totals.payments,
  'app channels': totals.appChannels,
  'signatures checked': totals.signatures,
  crashes: totals.crashes,
  'messages delivered': totals.messages,
})
console.log(`machine: ${cpus()[0]?.model ?? 'unknown'}, ${cpus().length} cores, node ${process.version}`)
process.exitCode = failures.length > 0 ? 1 : 0
