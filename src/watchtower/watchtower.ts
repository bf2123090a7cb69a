// The watchtower's shell (issue 15, ADR 0021): holds channels it does not own (custody.ts) and answers a
// stale challenge on any of them with checkpoint(fixedPart, proof, candidate), which needs no participant's
// key. Every decision is decide.ts's; this file reads the chain, sends, waits and logs.
//
// - Events: the adjudicator's, through subscribeAll from the saved cursor. A fact about a held channel is
//   decided against the chain's time; an answer starts if the decision says so.
// - An answer re-reads the channel's status before each attempt and decides again, so an event that a later
//   one undid (replayed during catch-up, or cleared by someone else) sends nothing. A refused checkpoint (the
//   chain node down, fees, a race) is tried again with a doubling delay while the challenge is open; past
//   its deadline the watchtower says so loudly (`answer_too_late`). One answer per channel at a time.
// - At start, after a re-org, and for every channel handed over while running, the status of the channel
//   is read and decided on: a challenge registered while the watchtower was down, or whose events it had
//   passed, is answered while still open. The cursor only saves re-scanning; this check is what is relied on.
import type { Address, Bytes32 } from '../core/types.js'
import { ChannelsError, StoreError } from '../core/errors.js'
import type { WatchedEvent } from '../chain/eventWatcher.js'
import type { ChainCursor, Custody } from './custody.js'
import type { HandoverEntry, HandoverTarget } from './handover.js'
import { turnOf } from './handover.js'
import type { WatchtowerChain } from './watchtowerChain.js'
import type { ChannelFact } from './decide.js'
import { decide, factOf } from './decide.js'
import { CustodyMismatchError } from './errors.js'
import { CURSOR_FLUSH_MS, CUSTODY_REFRESH_MS, RETRY_FIRST_DELAY_MS, RETRY_MAX_DELAY_MS, STATUS_CHECK_CONCURRENCY } from './limits.js'

/** A pino logger fits. Every entry carries `event`, a stable name to grep or match on. */
export interface WatchtowerLog {
  debug(facts: object, message: string): void
  info(facts: object, message: string): void
  warn(facts: object, message: string): void
  error(facts: object, message: string): void
}

export interface WatchtowerOptions {
  readonly custody: Custody
  readonly chain: WatchtowerChain
  readonly log: WatchtowerLog
  /** The chain id the chain answers and the adjudicator `run` was given: a custody for others is not served. */
  readonly serves: { readonly chainId: number; readonly adjudicator: Address }
  /** Checks the custody's contracts on chain before serving it (chainCheck.ts); skipped if absent. */
  readonly checkTarget?: (target: HandoverTarget) => Promise<void>
  readonly retryFirstDelayMs?: number
  readonly retryMaxDelayMs?: number
  readonly refreshIntervalMs?: number
  readonly cursorFlushMs?: number
}

export class Watchtower {
  readonly #o: WatchtowerOptions
  readonly #held = new Map<Bytes32, HandoverEntry>()
  /** Channels with an answer running; a new reason to answer meanwhile is queued in #again (with its deadline). */
  readonly #answering = new Set<Bytes32>()
  readonly #again = new Map<Bytes32, bigint>()
  readonly #work = new Set<Promise<void>>()
  /** Channels whose status check failed (the chain unreachable): checked again at every refresh until it works. */
  readonly #unchecked = new Set<Bytes32>()
  readonly #stop = new AbortController()
  #servedTarget: HandoverTarget | undefined
  #refusedTarget: string | undefined
  #cursor: ChainCursor | undefined
  #cursorSaved = true
  #flushTimer: ReturnType<typeof setTimeout> | undefined
  #refreshTimer: ReturnType<typeof setInterval> | undefined
  #unsubscribe: (() => void) | undefined

  private constructor(options: WatchtowerOptions) {
    this.#o = options
  }

  /**
   * Loads the custody (refusing to start on one for another chain or adjudicator), checks the status of every
   * held channel, and follows the adjudicator's events from the saved cursor.
   * @throws CustodyMismatchError (`custody_mismatch`), ContractCodeError (`contract_code`), StoreError (`store`)
   */
  static async start(options: WatchtowerOptions): Promise<Watchtower> {
    const w = new Watchtower(options)
    const target = options.custody.target()
    if (target !== undefined) await w.#serve(target) // throws: at start a wrong custody is the operator's to fix
    w.#absorb(options.custody.entries(), false)
    w.#cursor = w.#readCursor()
    w.#unsubscribe = options.chain.subscribeAll(
      (event) => w.#onEvent(event),
      w.#cursor,
      (reorg) => w.#onReorg(reorg.forkBlock),
    )
    w.#checkAll([...w.#held.keys()])
    w.#refreshTimer = setInterval(() => w.#track(w.#refresh()), options.refreshIntervalMs ?? CUSTODY_REFRESH_MS)
    options.log.info({ event: 'watchtower_started', held: w.#held.size, cursor: w.#cursor ? { block: w.#cursor.block.toString(), logIndex: w.#cursor.logIndex } : null }, `watching ${w.#held.size} channels`)
    return w
  }

  /** How many channels are held. */
  get heldCount(): number {
    return this.#held.size
  }

  /** The last chain event handled. */
  get cursor(): ChainCursor | undefined {
    return this.#cursor
  }

  /** Resolves once no check or answer is running (tests wait on it). */
  async idle(): Promise<void> {
    while (this.#work.size > 0) await Promise.allSettled([...this.#work])
  }

  /** Stops following the chain and retrying; waits for transactions in flight; saves the cursor. */
  async stop(): Promise<void> {
    this.#stop.abort()
    this.#unsubscribe?.()
    clearInterval(this.#refreshTimer)
    await this.idle()
    this.#flushCursor()
  }

  // ---- custody ----

  /** Serves `target` if it is this watchtower's chain and adjudicator and its contracts check out. */
  async #serve(target: HandoverTarget): Promise<void> {
    const { chainId, adjudicator } = this.#o.serves
    if (target.chainId !== chainId || target.adjudicator !== adjudicator) {
      throw new CustodyMismatchError(`the custody in ${this.#o.custody.dir} holds states for chain ${target.chainId} and adjudicator ${target.adjudicator}; this watchtower runs on chain ${chainId} with adjudicator ${adjudicator}`, { custody: target, served: this.#o.serves })
    }
    await this.#o.checkTarget?.(target)
    this.#servedTarget = target
  }

  /** Picks up what `add` wrote meanwhile: a custody created since start, new channels, higher turns. */
  async #refresh(): Promise<void> {
    if (this.#servedTarget === undefined) {
      const target = this.#o.custody.target()
      if (target === undefined) return
      const key = JSON.stringify(target)
      if (this.#refusedTarget === key) return
      try {
        await this.#serve(target)
      } catch (error) {
        // Logged once per target, and nothing of it held: the process keeps running for the operator to fix it.
        this.#refusedTarget = key
        this.#o.log.error({ event: 'custody_refused', code: codeOf(error), details: detailsOf(error) }, describe(error))
        return
      }
    }
    this.#absorb(this.#o.custody.refresh(), true)
    const unchecked = [...this.#unchecked]
    this.#unchecked.clear()
    this.#checkAll(unchecked)
  }

  /** Holds what the custody read (a turn only ever rises), logs what it refused, and checks what changed. */
  #absorb(read: ReturnType<Custody['refresh']>, check: boolean): void {
    if (this.#servedTarget === undefined) return
    for (const { file, error } of read.refused) this.#o.log.warn({ event: 'custody_file_refused', file, code: error.code, details: error.details }, error.summary)
    const changed: Bytes32[] = []
    for (const entry of read.held) {
      const held = this.#held.get(entry.channelId)
      if (held !== undefined && turnOf(held) >= turnOf(entry)) continue
      this.#held.set(entry.channelId, entry)
      changed.push(entry.channelId)
      if (check) this.#o.log.info({ event: 'channel_held', channelId: entry.channelId, turnNum: turnOf(entry).toString() }, 'holding a new state')
    }
    if (check) this.#checkAll(changed)
  }

  // ---- chain ----

  #onEvent(event: WatchedEvent): void {
    this.#advanceCursor({ block: event.block, logIndex: event.logIndex })
    const fact = factOf(event)
    if (fact === undefined || !this.#held.has(fact.channelId)) return
    this.#track(this.#consider(fact))
  }

  #onReorg(forkBlock: bigint): void {
    this.#o.log.warn({ event: 'reorg', forkBlock: forkBlock.toString() }, 'the chain re-organised: checking every held channel again')
    if (this.#cursor !== undefined && this.#cursor.block > forkBlock) this.#setCursor({ block: forkBlock, logIndex: Number.MAX_SAFE_INTEGER })
    // An answer that landed in a dropped block is gone; the status says whether one is needed again.
    this.#checkAll([...this.#held.keys()])
  }

  /** A chain event about a held channel: decided against the chain's time. */
  async #consider(fact: ChannelFact): Promise<void> {
    const held = this.#held.get(fact.channelId)
    let now: bigint
    try {
      now = await this.#o.chain.chainTime()
    } catch (error) {
      this.#o.log.warn({ event: 'chain_time_failed', channelId: fact.channelId, code: codeOf(error) }, `cannot read the chain's time: ${describe(error)}`)
      // The answer decides from the status and retries while the chain is unreachable: the event is not lost.
      if (fact.kind === 'challengeRegistered') this.#answer(fact.channelId, fact.finalizesAt)
      return
    }
    const [action] = decide(held, fact, now)
    if (fact.kind === 'challengeRegistered') {
      const facts = { event: 'challenge_seen', channelId: fact.channelId, registeredTurnNum: fact.turnNum.toString(), heldTurnNum: held ? turnOf(held).toString() : null, finalizesAt: fact.finalizesAt.toString(), answer: action !== undefined }
      this.#o.log.info(facts, action ? 'a challenge older than the held state: answering with checkpoint' : 'a challenge the held state does not supersede: nothing to answer')
    } else {
      this.#o.log.debug({ event: fact.kind, channelId: fact.channelId }, 'chain event on a held channel')
    }
    if (action) this.#answer(fact.channelId, action.finalizesAt)
  }

  /** Reads the status of each channel (a few at a time) and answers the ones with an open, older challenge. */
  #checkAll(ids: readonly Bytes32[]): void {
    if (ids.length === 0) return
    const queue = [...ids]
    const worker = async () => {
      for (let id = queue.shift(); id !== undefined && !this.#stop.signal.aborted; id = queue.shift()) {
        try {
          const [status, now] = await Promise.all([this.#o.chain.status(id), this.#o.chain.chainTime()])
          const [action] = decide(this.#held.get(id), { kind: 'status', channelId: id, ...status }, now)
          if (action) this.#answer(id, action.finalizesAt)
        } catch (error) {
          // Checked again at the next refresh: a challenge registered while we were down may be behind it.
          this.#unchecked.add(id)
          this.#o.log.warn({ event: 'status_failed', channelId: id, code: codeOf(error) }, `cannot read the channel's status: ${describe(error)}`)
        }
      }
    }
    for (let i = 0; i < Math.min(STATUS_CHECK_CONCURRENCY, queue.length); i++) this.#track(worker())
  }

  /** Starts answering a channel's challenge, unless an answer runs already (which is told to look again). */
  #answer(id: Bytes32, finalizesAt: bigint): void {
    if (this.#answering.has(id)) {
      this.#again.set(id, finalizesAt)
      return
    }
    this.#answering.add(id)
    this.#track(
      this.#answerLoop(id, finalizesAt).finally(() => {
        this.#answering.delete(id)
        const again = this.#again.get(id)
        this.#again.delete(id)
        if (again !== undefined && !this.#stop.signal.aborted) this.#answer(id, again)
      }),
    )
  }

  /**
   * Checkpoints with the held state until the status says nothing is left to answer: the challenge cleared
   * (by us or anyone), finalized, or superseded by a turn the held state does not pass. Refusals are retried
   * with a doubling delay while the challenge is open, the deadline judged on the chain's clock as last read.
   */
  async #answerLoop(id: Bytes32, firstDeadline: bigint): Promise<void> {
    const { chain, log } = this.#o
    const maxDelayMs = this.#o.retryMaxDelayMs ?? RETRY_MAX_DELAY_MS
    let delayMs = this.#o.retryFirstDelayMs ?? RETRY_FIRST_DELAY_MS
    let deadline = firstDeadline
    // The chain's clock as last read, moved on at the wall clock's pace (block timestamps follow it, though
    // not necessarily at its offset). Until it is read, the challenge duration bounds the wait: the challenge
    // was registered before this loop started, so it finalizes within that many seconds of the start.
    let clock: { chainSec: bigint; atMs: number } | undefined
    const startedAtMs = Date.now()
    const durationSec = BigInt(this.#held.get(id)?.candidate.state.challengeDuration ?? 0)
    let refusals = 0
    for (let attempt = 1; !this.#stop.signal.aborted; attempt++) {
      try {
        const [status, now] = await Promise.all([chain.status(id), chain.chainTime()])
        clock = { chainSec: now, atMs: Date.now() }
        const held = this.#held.get(id)
        const [action] = decide(held, { kind: 'status', channelId: id, ...status }, now)
        if (action === undefined) {
          const facts = { channelId: id, turnNumRecord: status.turnNumRecord.toString(), finalizesAt: status.finalizesAt.toString() }
          // Finalized at an older turn after our refused attempts: the loss this process exists to prevent.
          const lost = refusals > 0 && held !== undefined && status.finalizesAt !== 0n && status.finalizesAt <= now && status.turnNumRecord < turnOf(held)
          if (lost) log.error({ event: 'answer_too_late', ...facts, attempts: refusals }, 'the challenge finalized before a checkpoint landed: the held state was not registered')
          else log.debug({ event: 'nothing_to_answer', ...facts }, 'no open challenge older than the held state')
          return
        }
        deadline = action.finalizesAt
        const facts = { channelId: id, turnNum: turnOf(action).toString(), registeredTurnNum: action.registeredTurnNum.toString(), finalizesAt: action.finalizesAt.toString(), attempt }
        log.info({ event: 'checkpoint_sending', ...facts }, 'checkpointing the held state')
        const transactionHash = await chain.checkpoint({ candidate: action.candidate, proof: action.proof })
        log.info({ event: 'checkpointed', ...facts, transactionHash }, 'checkpoint mined: the challenge is cleared')
        continue // the status read next confirms it, or shows what is still open
      } catch (error) {
        refusals++
        log.warn({ event: 'checkpoint_refused', channelId: id, attempt, code: codeOf(error), details: detailsOf(error), retryInMs: delayMs }, `answer refused: ${describe(error)}`)
      }
      // Chain time moves on between reads at about wall-clock pace: stop once the next try could only be late.
      const late = clock !== undefined ? clock.chainSec + seconds(Date.now() - clock.atMs + delayMs) >= deadline : seconds(Date.now() - startedAtMs + delayMs) >= durationSec
      if (late) {
        log.error({ event: 'answer_too_late', channelId: id, finalizesAt: deadline.toString(), attempts: refusals }, 'the challenge finalizes before another checkpoint could land: the held state was not registered')
        return
      }
      await sleep(delayMs, this.#stop.signal)
      delayMs = Math.min(delayMs * 2, maxDelayMs)
    }
  }

  // ---- cursor ----

  #readCursor(): ChainCursor | undefined {
    try {
      return this.#o.custody.readCursor()
    } catch (error) {
      // Without it the watcher scans from the adjudicator's first block: slower, never less safe.
      this.#o.log.warn({ event: 'cursor_refused', code: codeOf(error) }, `${describe(error)}; scanning the chain from the start`)
      return undefined
    }
  }

  #advanceCursor(cursor: ChainCursor): void {
    const c = this.#cursor
    if (c !== undefined && (cursor.block < c.block || (cursor.block === c.block && cursor.logIndex <= c.logIndex))) return
    this.#setCursor(cursor)
  }

  #setCursor(cursor: ChainCursor): void {
    this.#cursor = cursor
    this.#cursorSaved = false
    // Written at most once per flush interval: one fsync per event would bound catch-up by the disk.
    this.#flushTimer ??= setTimeout(() => {
      this.#flushTimer = undefined
      this.#flushCursor()
    }, this.#o.cursorFlushMs ?? CURSOR_FLUSH_MS)
  }

  #flushCursor(): void {
    clearTimeout(this.#flushTimer)
    this.#flushTimer = undefined
    if (this.#cursorSaved || this.#cursor === undefined) return
    try {
      this.#o.custody.writeCursor(this.#cursor)
      this.#cursorSaved = true
    } catch (error) {
      this.#o.log.error({ event: 'cursor_not_saved', code: codeOf(error) }, describe(error))
    }
  }

  /** Keeps a promise for idle(); its failure is logged, never lost. */
  #track(work: Promise<void>): void {
    const tracked = work
      .catch((error: unknown) => {
        this.#o.log.error({ event: 'watchtower_failure', code: codeOf(error), details: detailsOf(error) }, describe(error))
      })
      .finally(() => this.#work.delete(tracked))
    this.#work.add(tracked)
  }
}

/** Whole seconds in `ms` milliseconds. */
function seconds(ms: number): bigint {
  return BigInt(Math.floor(ms / 1000))
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const done = () => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done)
  })
}

function codeOf(error: unknown): string | undefined {
  return error instanceof ChannelsError ? error.code : undefined
}

function detailsOf(error: unknown): Readonly<Record<string, unknown>> | undefined {
  if (!(error instanceof ChannelsError)) return undefined
  // Details may hold bigints, which a JSON logger cannot write.
  return Object.fromEntries(Object.entries(error.details).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v]))
}

function describe(error: unknown): string {
  if (error instanceof StoreError && error.cause instanceof Error) return `${error.summary}: ${error.cause.message}`
  return error instanceof ChannelsError ? `${error.summary} (${error.code})` : error instanceof Error ? error.message : String(error)
}
