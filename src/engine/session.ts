// The reliable-messaging side of a step (outbox.ts holds the pure rules): where a peer's frame stands in our
// session, retransmissions on a tick, and turning a step's outgoing payloads into outbox entries.
import type { Address, Bytes32 } from '../core/types.js'
import { supportedSignedState } from '../protocols/ledger/consensusChannel.js'
import type { StepContext } from './context.js'
import { bumpAttempt, dueEntries, enqueue, newPeer, peerKey, restartSession } from './outbox.js'
import type { OutboxEntry, PeerState } from './outbox.js'
import { outboxKey } from './step.js'

/**
 * Where a frame stands in the session between the peer's epoch and mine (outbox.ts). Returns 'same', the peer's
 * state for a session that starts now, or 'stale' for a frame to leave unhandled and unacknowledged:
 * - a sender epoch lower than the one I know is from the peer's earlier life (a frame delayed on the wire);
 * - a receiver epoch that is not mine was numbered for my earlier life: the sender has not heard of my new
 *   epoch yet, so I answer with a frame that carries it (an empty acknowledgement), and it numbers again;
 * - a higher sender epoch: the peer started again from an empty store. Both sides' numbering starts again
 *   (restartSession), and I offer it my view of every ledger we share (a sync), which is all it can recover
 *   from me.
 */
export function checkSession(ctx: StepContext, peer: PeerState, epochs: { sender: bigint; receiver: bigint }): PeerState | 'same' | 'stale' {
  const from = peer.address
  const mine = ctx.meta.get('meta')!.epoch
  if (peer.epoch !== undefined && epochs.sender < peer.epoch) {
    ctx.rejections.push({ code: 'stale_epoch', summary: 'a frame from the peer\'s earlier epoch', from })
    return 'stale'
  }
  if (epochs.receiver !== 0n && mine !== undefined && epochs.receiver !== mine) {
    ctx.rejections.push({ code: 'stale_epoch', summary: 'a frame numbered for my earlier epoch', from })
    ctx.ack(from) // an empty acknowledgement: it carries my epoch
    return 'stale'
  }
  if (epochs.sender === 0n || epochs.sender === peer.epoch) return 'same'
  if (peer.epoch === undefined) return { ...peer, epoch: epochs.sender }
  const unacknowledged = [...ctx.outbox.values()].filter((e) => e.to === from)
  for (const entry of unacknowledged) ctx.outbox.delete(outboxKey(from, entry.seq))
  const { peer: restarted, entries } = restartSession(peer, epochs.sender, unacknowledged, ctx.now)
  for (const entry of entries) ctx.outbox.set(outboxKey(from, entry.seq), entry) // attempt 1: sent after the commit
  for (const ledger of ctx.ledgers.values()) {
    // One sync per ledger in flight (as for syncRequest): a peer bumping its epoch again and again gets its
    // outbox renumbered, never grown.
    if (ledger.fixed.participants.some((p) => p === from) && !hasQueuedSync(ctx, from, ledger.id)) {
      ctx.send(from, { kind: 'sync', ledgerId: ledger.id, supported: supportedSignedState(ledger), queue: ledger.role === 'leader' ? ledger.queue : [] })
    }
  }
  return restarted
}

/** Whether my outbox holds a sync reply for this ledger to `peer` that it has not acknowledged. */
export function hasQueuedSync(ctx: StepContext, peer: Address, ledgerId: Bytes32): boolean {
  for (const entry of ctx.outbox.values()) {
    if (entry.to === peer && entry.payloads.some((p) => p.kind === 'sync' && p.ledgerId === ledgerId)) return true
  }
  const pending = ctx.outgoing.get(peer)
  return pending?.payloads.some((p) => p.kind === 'sync' && p.ledgerId === ledgerId) ?? false
}

/** Retransmits each peer's due outbox entries (the window is per peer) and schedules their next attempt. */
export function retransmitDue(ctx: StepContext): void {
  const byPeer = new Map<string, OutboxEntry[]>()
  for (const entry of ctx.outbox.values()) {
    const list = byPeer.get(entry.to)
    if (list) list.push(entry)
    else byPeer.set(entry.to, [entry])
  }
  for (const entries of byPeer.values()) {
    for (const entry of dueEntries(entries, ctx.now)) {
      const bumped = bumpAttempt(entry, ctx.now)
      ctx.outbox.set(outboxKey(entry.to, entry.seq), bumped)
      ctx.retransmit.push(bumped)
    }
  }
}

/** Turns the step's outgoing payloads into one new outbox entry per peer (called once per input). */
export function flushOutgoing(ctx: StepContext): void {
  for (const { to, payloads } of ctx.outgoing.values()) {
    const peer = ctx.peers.get(peerKey(to)) ?? newPeer(to)
    const { peer: next, entry } = enqueue(peer, payloads, ctx.now)
    ctx.peers.set(peerKey(to), next)
    ctx.outbox.set(outboxKey(to, entry.seq), entry)
  }
  ctx.outgoing.clear()
}
