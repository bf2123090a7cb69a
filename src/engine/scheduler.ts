// Time for the engine's shell: the clock it stamps inputs with and the timers that retransmit, flush
// acknowledgements and start a batch. Decisions never read it — time reaches the machine inside each journaled
// input — but the shell's timing is injected too, so a test or the simulator can run an engine on a clock it
// moves by hand. One real implementation and one in memory, held to the same behaviour (scheduler.test.ts).

export interface Scheduler {
  /** Milliseconds since the epoch. */
  now(): number
  /** Runs `task` once, `ms` from now; returns a function that cancels it. */
  after(ms: number, task: () => void): () => void
  /** Runs `task` every `ms`; returns a function that stops it. */
  every(ms: number, task: () => void): () => void
  /** Runs `task` after the current synchronous work (inputs queued together share one batch). */
  soon(task: () => void): void
}

export const realScheduler: Scheduler = {
  now: () => Date.now(),
  after(ms, task) {
    const timer = setTimeout(task, ms)
    return () => clearTimeout(timer)
  },
  every(ms, task) {
    const timer = setInterval(task, ms)
    return () => clearInterval(timer)
  },
  soon: (task) => queueMicrotask(task),
}

interface Timer {
  readonly id: number
  at: number
  readonly every: number | null
  readonly task: () => void
}

/**
 * A scheduler whose clock moves only when told (`advance`): timers run in the order they fall due (ties in the
 * order they were set), each at its own time. `soon` is a microtask, as in the real one: deterministic too.
 */
export class ManualScheduler implements Scheduler {
  #now: number
  #nextId = 0
  readonly #timers = new Map<number, Timer>()

  constructor(startMs = 0) {
    this.#now = startMs
  }

  now(): number {
    return this.#now
  }

  after(ms: number, task: () => void): () => void {
    return this.#add(ms, null, task)
  }

  every(ms: number, task: () => void): () => void {
    return this.#add(ms, Math.max(1, ms), task)
  }

  soon(task: () => void): void {
    queueMicrotask(task)
  }

  /** Timers set and not yet run or cancelled. */
  get pending(): number {
    return this.#timers.size
  }

  /** When the next timer falls due, if any. */
  nextDueAt(): number | undefined {
    let next: number | undefined
    for (const timer of this.#timers.values()) if (next === undefined || timer.at < next) next = timer.at
    return next
  }

  /** Moves the clock `ms` on, running every timer that falls due on the way, each with the clock at its time. */
  advance(ms: number): void {
    const until = this.#now + ms
    for (;;) {
      const timer = this.#earliest(until)
      if (!timer) break
      this.#now = timer.at
      if (timer.every === null) this.#timers.delete(timer.id)
      else timer.at += timer.every
      timer.task()
    }
    this.#now = until
  }

  #earliest(until: number): Timer | undefined {
    let found: Timer | undefined
    for (const timer of this.#timers.values()) {
      if (timer.at <= until && (!found || timer.at < found.at || (timer.at === found.at && timer.id < found.id))) found = timer
    }
    return found
  }

  #add(ms: number, every: number | null, task: () => void): () => void {
    const id = this.#nextId++
    this.#timers.set(id, { id, at: this.#now + Math.max(0, ms), every, task })
    return () => this.#timers.delete(id)
  }
}
