// The side effects of committed steps, carried out: frames to peers, transactions to the chain, the timers
// that flush lone acknowledgements and check for due work. A transaction the chain service refuses comes back
// to the engine as an input (`chainResult`), so its consequence is decided, journaled and replayed like any;
// one it mined comes back as `chainMined`, which takes it out of the chain outbox (sent again after a restart).
import type { Transport } from '../transport/transport.js'
import type { ChainService, ChainTransaction } from '../chain/chainService.js'
import { ChannelsError } from '../core/errors.js'
import type { EngineInput } from './inputs.js'
import type { Effects, NodeMachine, OutgoingFrame } from './machine.js'
import type { Scheduler } from './scheduler.js'
import { ACK_DELAY_MS } from './limits.js'
import { STALE_DEPOSIT, resendDecision } from './chainOutbox.js'

export class EffectRunner {
  #cancelAckFlush: (() => void) | undefined

  constructor(
    private readonly machine: NodeMachine,
    private readonly scheduler: Scheduler,
    private readonly offer: (input: EngineInput) => void,
    private readonly transport?: Transport,
    private readonly chain?: ChainService,
  ) {}

  run(effects: Effects): void {
    this.#send(effects.frames)
    // An ack with nothing to ride on waits a little: the next frame to that peer (the next update of a busy
    // channel) usually carries it, which saves the peer a step and a frame per update.
    if (effects.acksPending && this.transport) this.#cancelAckFlush ??= this.scheduler.after(ACK_DELAY_MS, () => this.flushAcks())
    if (!this.chain) return
    for (const { objectiveId, tx } of effects.transactions) this.#submit(objectiveId, tx)
  }

  /** After a restart: every transaction of the chain outbox again (decided, and not known mined or refused; chainOutbox.ts). */
  resubmitAll(): void {
    const chain = this.chain
    if (!chain) return
    for (const { objectiveId, tx } of this.machine.pendingTransactions()) {
      const held = tx.kind === 'deposit' ? chain.holdings(tx.channelId, tx.asset).catch(() => undefined) : Promise.resolve(undefined)
      void held.then((amount) => {
        const decision = resendDecision(tx, amount)
        if (decision === 'send') this.#submit(objectiveId, tx)
        else if (decision === 'mined') this.offer({ kind: 'chainMined', objectiveId, txKind: tx.kind })
        else this.offer({ kind: 'chainResult', objectiveId, ...STALE_DEPOSIT })
      })
    }
  }

  #submit(objectiveId: string, tx: ChainTransaction): void {
    this.chain!.submit(tx).then(
      () => this.offer({ kind: 'chainMined', objectiveId, txKind: tx.kind }),
      (error: unknown) => {
        const code = error instanceof ChannelsError ? error.code : 'chain_error'
        const summary = error instanceof ChannelsError ? error.summary : String(error)
        this.offer({ kind: 'chainResult', objectiveId, code, summary })
      },
    )
  }

  /** Sends the acknowledgements still waiting, each peer's in one frame. */
  flushAcks(): void {
    this.#cancelAckFlush?.()
    this.#cancelAckFlush = undefined
    const frames = this.machine.flushAcks()
    if (this.transport) this.#send(frames)
  }

  /** After a restart: every unacknowledged frame again. */
  resendAll(): void {
    this.#send(this.machine.resendAll())
  }

  #send(frames: readonly OutgoingFrame[]): void {
    for (const { to, bytes } of frames) this.transport?.send(to, bytes)
  }
}
