// The engine's one loop (DESIGN §4.2, §5): inputs are queued; each batch is handled by the machine, written to
// the store as ONE fsync'd batch (group commit), and only then committed in the machine, whose side effects
// the engine carries out and whose answers reach the callers. After a crash the store is exactly the state
// after the last write.
import type { Store } from '../store/store.js'
import type { TimedInput } from './inputs.js'
import type { Effects, NodeMachine } from './machine.js'
import type { Scheduler } from './scheduler.js'
import { EngineStoppedError } from './errors.js'
import { MAX_INPUTS_PER_COMMIT } from './limits.js'

interface Pending {
  readonly timed: TimedInput
  readonly resolve: (result: unknown) => void
  readonly reject: (error: unknown) => void
}

export class InputLoop {
  readonly #queue: Pending[] = []
  #running = false
  #stopped: Error | undefined
  #idleWaiters: (() => void)[] = []

  constructor(
    private readonly machine: NodeMachine,
    private readonly store: Store,
    private readonly scheduler: Scheduler,
    /** Carries out a committed step's effects; what it throws is the engine's to record, never the caller's. */
    private readonly afterCommit: (effects: Effects) => void,
  ) {}

  /** Why the loop stopped (closed, or a write failed), if it did. */
  get stopped(): Error | undefined {
    return this.#stopped
  }

  /** Queues an input; resolves to its answer once the batch holding it is durable (an API refusal rejects). */
  submit(timed: TimedInput): Promise<unknown> {
    if (this.#stopped) return Promise.reject(this.#stopped)
    return new Promise((resolve, reject) => {
      this.#queue.push({ timed, resolve, reject })
      if (!this.#running) {
        // Start soon, not now: inputs queued in the same turn of the event loop (a burst of API calls) share one commit.
        this.#running = true
        this.scheduler.soon(() => void this.#drain())
      }
    })
  }

  /** Resolves when no input is queued or being handled. */
  idle(): Promise<void> {
    if (!this.#running && this.#queue.length === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idleWaiters.push(resolve))
  }

  /** Takes no more inputs; the batch in hand finishes, queued ones are refused with `reason`. */
  stop(reason: Error): void {
    this.#stopped ??= reason
  }

  async #drain(): Promise<void> {
    this.#running = true
    try {
      while (this.#queue.length > 0 && !this.#stopped) await this.#step(this.#queue.splice(0, MAX_INPUTS_PER_COMMIT))
    } finally {
      this.#running = false
      for (const pending of this.#queue.splice(0)) pending.reject(this.#stopped)
      for (const resolve of this.#idleWaiters.splice(0)) resolve()
    }
  }

  async #step(batch: Pending[]): Promise<void> {
    const prepared = this.machine.prepare(batch.map((p) => p.timed))
    try {
      await this.store.commit(prepared.ops, { sync: prepared.sync })
    } catch (error) {
      this.#stopped = error instanceof Error ? error : new EngineStoppedError('commit failed', {}, { cause: error })
      for (const pending of batch) pending.reject(this.#stopped)
      return
    }
    this.afterCommit(this.machine.commit(prepared))
    for (const [i, { result, error }] of prepared.results.entries()) {
      const pending = batch[i]!
      // API callers learn why their request was refused; other inputs' refusals are in `rejections`.
      if (error !== undefined && pending.timed.input.kind === 'api') pending.reject(error)
      else pending.resolve(result)
    }
  }
}
