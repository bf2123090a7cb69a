// What must hold in every simulated run (issue 14). Each check throws a Violation naming the invariant; the
// simulation adds the seed, the step and the command that replays it.
import type { Address, Bytes32, Signature } from '../../src/core/types.js'
import type { State } from '../../src/core/state.js'
import { fixedPart } from '../../src/core/state.js'
import { channelId } from '../../src/core/channelId.js'
import type { SignedState } from '../../src/core/signedState.js'
import { decodeFrame } from '../../src/engine/frames.js'
import type { Effects } from '../../src/engine/machine.js'
import { NodeMachine } from '../../src/engine/machine.js'
import { decodeInput } from '../../src/engine/inputs.js'
import { readJournal } from '../../src/engine/engine.js'
import { signedTurnRange } from '../../src/engine/records.js'
import type { Payload } from '../../src/protocols/messages.js'
import type { Objective } from '../../src/protocols/objectives.js'
import { isActive } from '../../src/protocols/objective.js'
import { directFundId } from '../../src/protocols/directfund/directfund.js'
import { appContext, verifyLog } from '../../src/protocols/app/replay.js'
import { decodeValue } from '../../src/core/codec.js'
import { loadVerifiedEvents } from '../../src/store/eventStore.js'
import { MemoryStore } from '../../src/store/memoryStore.js'
import type { Store } from '../../src/store/store.js'
import type { Cluster, SimNode } from './cluster.js'
import { ETH, STARTING_BALANCE } from './cluster.js'

export class Violation extends Error {
  constructor(
    readonly invariant: string,
    detail: string,
  ) {
    super(`${invariant}: ${detail}`)
  }
}

const lower = (a: string) => a.toLowerCase()

/**
 * No honest node signs two different states at one turn of a channel. Signing is deterministic (RFC 6979), so
 * two signatures by one key at one (channel, turn) differ exactly when the states do. Every signature a node
 * sends — in frames to peers and in transactions to the chain — is recorded.
 */
export class SignatureBook {
  readonly #seen = new Map<string, { signature: Signature; where: string }>()
  count = 0

  observe(node: SimNode, effects: Effects): void {
    for (const { bytes, to } of effects.frames) {
      for (const payload of decodeFrame(bytes).payloads) this.#payload(node, payload, `frame to ${to}`)
    }
    for (const { tx, objectiveId } of effects.transactions) {
      if (tx.kind === 'concludeAndWithdraw') this.#signedState(node, tx.signedState, `concludeAndWithdraw for ${objectiveId}`)
      if (tx.kind === 'challenge') this.#signedState(node, tx.candidate, `challenge for ${objectiveId}`)
    }
  }

  #payload(node: SimNode, p: Payload, where: string): void {
    const me = node.address
    switch (p.kind) {
      case 'signedState':
        return this.#signedState(node, p.signedState, `${where} (${p.objectiveId})`)
      case 'proposal':
        return this.#record(me, p.ledgerId, p.signed.turnNum, p.signed.signature, `${where} (proposal)`)
      case 'countersignature':
        return this.#record(me, p.ledgerId, p.turnNum, p.signature, `${where} (countersignature)`)
      case 'sync':
        this.#signedState(node, p.supported, `${where} (sync)`)
        for (const q of p.queue) this.#record(me, p.ledgerId, q.turnNum, q.signature, `${where} (sync queue)`)
        return
      case 'appOpen':
        return this.#record(me, appContext(p.definition).id, 0n, p.signature, `${where} (appOpen)`)
      case 'appUpdate':
        return this.#signedState(node, p.update.signedState, `${where} (appUpdate)`)
      case 'appCountersignature':
        return this.#record(me, p.channelId, p.countersignature.turnNum, p.countersignature.signature, `${where} (appCountersignature)`)
      default:
        return
    }
  }

  #signedState(node: SimNode, signed: SignedState, where: string): void {
    const index = signed.state.participants.findIndex((p) => lower(p) === lower(node.address))
    const signature = index >= 0 ? signed.signatures[index] : null
    if (signature) this.#record(node.address, idOf(signed.state), signed.state.turnNum, signature, where)
  }

  #record(signer: Address, channel: Bytes32, turnNum: bigint, signature: Signature, where: string): void {
    const key = `${lower(signer)}:${lower(channel)}:${turnNum}`
    const before = this.#seen.get(key)
    this.count++
    if (!before) {
      this.#seen.set(key, { signature, where })
      return
    }
    if (lower(before.signature) !== lower(signature)) {
      throw new Violation('one state per turn', `${signer} signed two different states of ${channel} at turn ${turnNum}: first ${before.where}, then ${where}`)
    }
  }
}

function idOf(state: State): Bytes32 {
  return channelId(fixedPart(state))
}

/** In every ledger a node holds, its supported outcome adds up to what was deposited: no funds made or lost. */
export function checkLedgers(node: SimNode): void {
  const { ledgers, objectives } = node.machine.tables
  for (const ledger of ledgers.values()) {
    const fund = objectives.get(directFundId(ledger.id))
    if (fund?.kind !== 'directfund') throw new Violation('funds conserved', `${node.name} holds ledger ${ledger.id} without its DirectFund`)
    const deposited = fund.prefund.state.outcome[0]!.allocations.reduce((sum, a) => sum + a.amount, 0n)
    const { leader, follower, guarantees } = ledger.supported.vars.outcome
    const held = leader.amount + follower.amount + guarantees.reduce((sum, g) => sum + g.amount, 0n)
    if (held !== deposited) throw new Violation('funds conserved', `${node.name}'s ledger ${ledger.id} at turn ${ledger.supported.vars.turnNum} holds ${held}, ${deposited} deposited`)
  }
}

/** On chain, per asset: what the accounts hold plus what the adjudicator holds is what was minted. */
export async function checkChain(cluster: Cluster): Promise<void> {
  const channels = new Set<string>()
  for (const event of cluster.chain.events()) if ('channelId' in event) channels.add(lower(event.channelId))
  let total = 0n
  for (const account of [...cluster.nodes.map((n) => n.address), ...cluster.outsiders]) total += cluster.chain.balanceOf(account, ETH)
  for (const id of channels) total += await cluster.chain.holdings(id as Bytes32, ETH)
  const minted = STARTING_BALANCE * BigInt(cluster.nodes.length + cluster.outsiders.length)
  if (total !== minted) throw new Violation('funds conserved', `the chain holds ${total} in accounts and channels, ${minted} was minted`)
}

/** Once the network healed and everything settled: every objective at every node is completed, failed or rejected. */
export function checkLiveness(cluster: Cluster, excused: (o: Objective) => boolean): void {
  for (const node of cluster.nodes) {
    for (const o of node.machine.tables.objectives.values()) {
      if (!isActive(o) || excused(o)) continue
      if (process.env.SIM_DEBUG) {
        for (const other of cluster.nodes) {
          const mine = other.machine.tables.objectives.get(o.id)
          console.log(`DBG ${other.name}: ${mine ? `${mine.status} ${JSON.stringify(mine.failure)} waiting ${other.machine.waitingFor.get(o.id)}` : 'none'}`, JSON.stringify(other.machine.rejections.counts))
        }
      }
      throw new Violation('liveness', `${node.name}'s ${o.id} is still ${o.status}, waiting for ${node.machine.waitingFor.get(o.id) ?? '?'}`)
    }
  }
}

/** An objective that completed at one node completed at every other node that has it, or failed there for the same reason. */
export function checkAgreement(cluster: Cluster, excused: (o: Objective) => boolean): void {
  const byId = new Map<string, { node: SimNode; o: Objective }[]>()
  for (const node of cluster.nodes) {
    for (const o of node.machine.tables.objectives.values()) {
      if (excused(o)) continue
      byId.set(o.id, [...(byId.get(o.id) ?? []), { node, o }])
    }
  }
  for (const [id, seen] of byId) {
    const completed = seen.find((s) => s.o.status === 'completed')
    if (!completed) continue
    const other = seen.find((s) => s.o.status !== 'completed')
    if (other) {
      if (process.env.SIM_DEBUG) {
        const channel = id.slice(id.indexOf(':') + 1)
        for (const node of cluster.nodes) {
          const related = [...node.machine.tables.objectives.values()].filter((o) => o.id.includes(channel))
          console.log(`DBG ${node.name}: ${related.map((o) => `${o.id.slice(0, 16)} ${o.status} ${o.failure?.code ?? ''}`).join('; ')} payment ${JSON.stringify(node.machine.tables.payments.get(channel), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))?.slice(0, 200)}`)
        }
      }
      throw new Violation('agreement', `${id} completed at ${completed.node.name} but is ${other.o.status} (${other.o.failure?.code ?? '-'}: ${other.o.failure?.summary ?? ''}) at ${other.node.name}`)
    }
  }
}

/** Replaying a node's journal on an empty store reproduces its store byte for byte. */
export async function checkReplay(node: SimNode): Promise<void> {
  const store = new MemoryStore()
  const machine = await NodeMachine.load(store, node.deps, 0)
  for await (const entry of readJournal(node.store)) {
    const prepared = machine.prepare([decodeInput(entry.payload)])
    await store.commit(prepared.ops, { sync: prepared.sync })
    machine.commit(prepared)
  }
  const [mine, replayed] = [await dump(node.store), await dump(store)]
  if (mine.length !== replayed.length) throw new Violation('replay', `${node.name}'s journal replays to ${replayed.length} records, the store holds ${mine.length}`)
  for (const [i, [key, value]] of mine.entries()) {
    const [otherKey, otherValue] = replayed[i]!
    if (key !== otherKey || value !== otherValue) throw new Violation('replay', `${node.name}'s journal replays to a different record at ${key} (replayed: ${otherKey})`)
  }
}

async function dump(store: Store): Promise<[string, string][]> {
  const out: [string, string][] = []
  for await (const [k, v] of store.scan({})) out.push([Buffer.from(k).toString('hex'), Buffer.from(v).toString('hex')])
  return out
}

/** Every app channel's log, as a node stores it, verifies: hash chain, signatures, and the app's replay. */
export async function checkAppLogs(node: SimNode): Promise<number> {
  let verified = 0
  for (const channel of node.machine.tables.apps.values()) {
    const id = channel.context.id
    const events = await loadVerifiedEvents(node.store, id)
    const signedStates: SignedState[] = []
    for await (const [, value] of node.store.scan(signedTurnRange(id))) signedStates.push(decodeValue(value, Number.MAX_SAFE_INTEGER) as SignedState)
    if (events.length === 0) continue
    const runtime = node.deps.apps(channel.context.definition.appId)!
    const result = verifyLog({ events, signedStates }, runtime)
    if (!result.ok) throw new Violation('app log verifies', `${node.name}'s log of ${id}: ${JSON.stringify(result, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`)
    verified++
  }
  return verified
}
