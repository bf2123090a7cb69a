// Shared by every benchmark: how to time an operation, and the shape of a result row.
import { performance } from 'node:perf_hooks'

export interface BenchResult {
  readonly name: string
  readonly value: number
  readonly unit: string
}

export interface Benchmark {
  /** Rough estimate written before measuring (STYLE §7), printed beside the table. */
  readonly estimate: string
  run(): Promise<BenchResult[]>
}

/** Runs `op` in rounds until `minMs` has passed (after a warm-up) and returns operations per second. */
export async function opsPerSecond(op: (i: number) => unknown, minMs = 1000): Promise<number> {
  for (let i = 0; i < 200; i++) await op(i)
  let count = 0
  let batch = 16
  const start = performance.now()
  let elapsed = 0
  while (elapsed < minMs) {
    for (let i = 0; i < batch; i++) await op(count + i)
    count += batch
    elapsed = performance.now() - start
    if (elapsed < minMs / 10) batch *= 2
  }
  return (count / elapsed) * 1000
}

export const round = (x: number, digits = 0) => Number(x.toFixed(digits))
