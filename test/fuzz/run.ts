// `npm run fuzz`: every fuzz target (targets.ts), a million cases split by weight, from a fresh seed; prints a
// table and, for each failure, fast-check's report (seed, path, shrunk counterexample, error) and the command
// that replays it. Exits 1 on any failure other than a known bug's (FuzzTarget.knownBug), 2 on a usage error.
//
//   npm run fuzz                                   1,000,000 cases, a random seed (printed)
//   npm run fuzz -- --cases 20000 --seed 42        fewer cases, a chosen seed
//   npm run fuzz -- --target frame.mutated         one target (or a prefix: --target frame), all the cases
//   npm run fuzz -- --target X --seed S --path P   replays the shrunk counterexample of a failure
//   npm run fuzz -- --list                         the targets, their share and their property
//   npm run fuzz -- --strict                       known bugs fail the run too
import { parseArgs } from 'node:util'
import { TARGETS, splitCases } from './targets.js'
import type { AnyTarget, RunResult } from './target.js'
import { failureReport, isKnownBug, reproduceCommand, runTarget } from './target.js'

const DEFAULT_CASES = 1_000_000

function usage(message: string): never {
  console.error(`${message}\nusage: npm run fuzz -- [--cases N] [--seed S] [--target NAME|PREFIX] [--path P] [--strict] [--list]`)
  process.exit(2)
}

const { values } = parseArgs({
  options: {
    cases: { type: 'string' },
    seed: { type: 'string' },
    target: { type: 'string' },
    path: { type: 'string' },
    strict: { type: 'boolean', default: false },
    list: { type: 'boolean', default: false },
  },
  allowPositionals: false,
})

const cases = values.cases === undefined ? DEFAULT_CASES : Number(values.cases.replaceAll('_', ''))
if (!Number.isSafeInteger(cases) || cases < 1) usage(`--cases must be a positive integer, got ${values.cases}`)
// fast-check seeds are 32-bit integers; a fresh one from the clock when none is given.
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed)
if (!Number.isSafeInteger(seed)) usage(`--seed must be an integer, got ${values.seed}`)

const selected = values.target === undefined ? TARGETS : TARGETS.filter((t) => t.name === values.target || t.name.startsWith(`${values.target}.`))
if (selected.length === 0) usage(`no target ${values.target}; targets: ${TARGETS.map((t) => t.name).join(', ')}`)
if (values.path !== undefined && selected.length !== 1) usage('--path replays one target: name it with --target')

const split = splitCases(selected, cases)

if (values.list) {
  printTable(['target', 'share', 'cases', 'property'], selected.map((t) => [t.name, `${((split.get(t.name)! / cases) * 100).toFixed(1)}%`, String(split.get(t.name)), t.property]))
  process.exit(0)
}

console.log(`fuzzing ${selected.length} target(s), ${cases.toLocaleString('en')} cases, seed ${seed}${values.path ? `, path ${values.path}` : ''} (node ${process.version})\n`)

interface Row {
  readonly target: AnyTarget
  readonly result?: RunResult
  readonly crash?: unknown
}

const rows: Row[] = []
for (const target of selected) {
  const numRuns = split.get(target.name)!
  process.stdout.write(`${target.name}: ${numRuns.toLocaleString('en')} cases...`)
  try {
    const result = await runTarget(target, { numRuns, seed, ...(values.path !== undefined ? { path: values.path } : {}) })
    rows.push({ target, result })
    process.stdout.write(` ${result.failed ? 'FAILED' : 'ok'} in ${result.seconds.toFixed(1)} s\n`)
  } catch (crash) {
    // The target could not run (its world did not open): as much a failure as a counterexample.
    rows.push({ target, crash })
    process.stdout.write(' could not run\n')
  }
}

const statusOf = (row: Row): string => {
  if (row.crash !== undefined) return 'COULD NOT RUN'
  if (!row.result!.failed) return row.target.knownBug ? 'ok (known bug not hit: fixed, or too few cases?)' : 'ok'
  return isKnownBug(row.target, row.result!) ? 'known bug' : 'FAILED'
}
console.log()
printTable(
  ['target', 'cases', 'share', 'seconds', 'cases/s', 'failures', 'status'],
  rows.map((row) => {
    const r = row.result
    const numRuns = split.get(row.target.name)!
    return [
      row.target.name,
      (r?.cases ?? 0).toLocaleString('en'),
      `${((numRuns / cases) * 100).toFixed(1)}%`,
      r ? r.seconds.toFixed(1) : '-',
      r && r.seconds > 0 ? Math.round(r.cases / r.seconds).toLocaleString('en') : '-',
      r ? (r.failed ? '1' : '0') : '-',
      statusOf(row),
    ]
  }),
)
const total = rows.reduce((sum, row) => sum + (row.result?.cases ?? 0), 0)
const seconds = rows.reduce((sum, row) => sum + (row.result?.seconds ?? 0), 0)
console.log(`\n${total.toLocaleString('en')} cases in ${seconds.toFixed(1)} s, seed ${seed}`)

let failures = 0
for (const row of rows) {
  const known = isKnownBug(row.target, row.result ?? ({ failed: false } as RunResult)) && !values.strict
  if (row.crash !== undefined) {
    failures++
    console.log(`\n✗ ${row.target.name} could not run: ${row.crash instanceof Error ? row.crash.stack : String(row.crash)}`)
  } else if (row.result!.failed) {
    if (!known) failures++
    console.log(`\n${known ? '⚠ known bug' : '✗ FAILED'}: ${row.target.name}${known ? ` (${row.target.knownBug!.summary})` : ''}`)
    console.log(failureReport(row.result!))
    if (values.path === undefined) console.log(`replay the whole run of this target: ${reproduceCommand(row.target.name, { seed: row.result!.details.seed, counterexamplePath: null }, split.get(row.target.name))}`)
  }
}
if (failures > 0) console.log(`\n${failures} target(s) failed`)
process.exit(failures > 0 ? 1 : 0)

function printTable(header: readonly string[], body: readonly (readonly string[])[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)))
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd()
  console.log(line(header))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const row of body) console.log(line(row))
}
