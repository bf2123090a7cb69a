// `npm run bench` runs every bench/*.bench.ts; `npm run bench -- <name>` runs one. Each prints a table
// and writes bench/results/<name>.json as { benchmark, date, node, cpu, results: [{ name, value, unit }] }.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import path from 'node:path'
import type { Benchmark } from './harness.js'

const dir = import.meta.dirname
const available = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace(/\.bench\.ts$/, ''))
  .sort()
const wanted = process.argv.slice(2).filter((a) => a !== '--')
const unknown = wanted.filter((w) => !available.includes(w))
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; available: ${available.join(', ')}`)
  process.exit(2)
}

mkdirSync(path.join(dir, 'results'), { recursive: true })
const cpu = `${cpus()[0]?.model ?? 'unknown'} x${cpus().length}`
for (const name of wanted.length > 0 ? wanted : available) {
  const bench = (await import(path.join(dir, `${name}.bench.ts`))).default as Benchmark
  console.log(`\n## ${name}  (${cpu}, node ${process.version})\nestimate: ${bench.estimate}`)
  const results = await bench.run()
  console.table(results.map((r) => ({ name: r.name, value: r.value, unit: r.unit })))
  const report = { benchmark: name, date: new Date().toISOString(), node: process.version, cpu, results }
  writeFileSync(path.join(dir, 'results', `${name}.json`), `${JSON.stringify(report, null, 2)}\n`)
}
