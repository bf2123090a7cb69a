// Both schedulers keep the same promises: a timer runs once after its delay, a repeating one every period,
// cancelling stops either, and `soon` runs after the current synchronous work.
import { describe, expect, test } from 'vitest'
import type { Scheduler } from './scheduler.js'
import { ManualScheduler, realScheduler } from './scheduler.js'

interface Harness {
  readonly scheduler: Scheduler
  /** Lets `ms` of the scheduler's time pass. */
  pass(ms: number): Promise<void>
}

const implementations: [string, () => Harness][] = [
  ['realScheduler', () => ({ scheduler: realScheduler, pass: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) })],
  [
    'ManualScheduler',
    () => {
      const scheduler = new ManualScheduler(1_000)
      return { scheduler, pass: async (ms) => scheduler.advance(ms) }
    },
  ],
]

describe.each(implementations)('%s', (_name, make) => {
  test('a timer runs once after its delay; a cancelled one never runs', async () => {
    const { scheduler, pass } = make()
    const ran: string[] = []
    scheduler.after(20, () => ran.push('a'))
    const cancel = scheduler.after(20, () => ran.push('b'))
    cancel()
    expect(ran).toEqual([])
    await pass(80)
    expect(ran).toEqual(['a'])
    await pass(80)
    expect(ran).toEqual(['a'])
  })

  test('a repeating timer runs every period until stopped', async () => {
    const { scheduler, pass } = make()
    let runs = 0
    const stop = scheduler.every(10, () => runs++)
    await pass(65)
    stop()
    const seen = runs
    expect(seen).toBeGreaterThanOrEqual(2)
    await pass(50)
    expect(runs).toBe(seen)
  })

  test('soon runs after the current synchronous work', async () => {
    const { scheduler } = make()
    const order: string[] = []
    scheduler.soon(() => order.push('soon'))
    order.push('sync')
    await Promise.resolve()
    expect(order).toEqual(['sync', 'soon'])
  })
})

describe('ManualScheduler', () => {
  test('runs due timers in time order, each with the clock at its own time, and ties in the order set', () => {
    const scheduler = new ManualScheduler(0)
    const seen: [string, number][] = []
    scheduler.after(30, () => seen.push(['c', scheduler.now()]))
    scheduler.after(10, () => seen.push(['a', scheduler.now()]))
    scheduler.after(10, () => seen.push(['b', scheduler.now()]))
    scheduler.every(25, () => seen.push(['r', scheduler.now()]))
    scheduler.advance(50)
    expect(seen).toEqual([['a', 10], ['b', 10], ['r', 25], ['c', 30], ['r', 50]])
    expect(scheduler.now()).toBe(50)
    expect(scheduler.nextDueAt()).toBe(75)
  })
})
