// The seeded workload of a simulated run: ledgers between neighbouring nodes of a line n0 — n1 — … , payment
// channels between any two nodes with 0–3 intermediaries, app channels (the race app, whose turns are taken in
// order) of 2–4 participants, funded by nobody or directly on chain. While faults run it does random things;
// afterwards `finish` closes everything, so that every node's money ends on chain and can be checked to the wei.
import type { Bytes32 } from '../../src/core/types.js'
import { raceApp } from '../../src/protocols/app/testApps.js'
import type { FundingMode } from '../../src/protocols/app/appData.js'
import { fundingOf } from '../../src/protocols/app/appData.js'
import { isActive } from '../../src/protocols/objective.js'
import { virtualDefundId } from '../../src/protocols/virtualdefund/virtualdefund.js'
import { directDefundId } from '../../src/protocols/directdefund/directdefund.js'
import { appFundId } from '../../src/protocols/app/appFund.js'
import { appDefundId } from '../../src/protocols/app/appDefund.js'
import type { Cluster, SimNode } from './cluster.js'
import { ETH } from './cluster.js'
import { Violation } from './invariants.js'

export const LEDGER_DEPOSIT = 1_000n
const CHALLENGE_DURATION = 86_400

interface PaymentPlan {
  readonly payer: SimNode
  readonly payee: SimNode
  readonly channelId: Bytes32
  /** What the payer's node accepted to pay (its `pay` calls that succeeded): the owner's own payments. */
  sent: bigint
}

interface AppPlan {
  readonly channelId: Bytes32
  readonly participants: readonly SimNode[]
  readonly funding: FundingMode
  readonly deposits: readonly bigint[]
}

export class Workload {
  readonly payments: PaymentPlan[] = []
  readonly apps: AppPlan[] = []
  #nonce = 1n
  /** Set once the ledgers were first all open: from then on the workload runs whatever happens to them. */
  opened = false
  /** Leaders whose call for a ledger is not answered yet. */
  readonly #asking = new Set<SimNode>()

  constructor(private readonly cluster: Cluster) {}

  /**
   * Asks for a ledger between each pair of neighbours that has none and is not opening one, the left one leading.
   * Called again until the ledgers are open: a crash or a refusal loses the call, and its owner calls again.
   */
  setup(): void {
    const { nodes } = this.cluster
    for (let i = 0; i + 1 < nodes.length; i++) {
      const [leader, follower] = [nodes[i]!, nodes[i + 1]!]
      if (this.#asking.has(leader) || !leader.up) continue
      const objectives = [...leader.machine.tables.objectives.values()]
      if (objectives.some((o) => o.kind === 'directfund' && o.status !== 'failed' && o.prefund.state.participants.some((p) => p.toLowerCase() === follower.address.toLowerCase()))) continue
      this.#asking.add(leader)
      const nonce = this.#nonce++
      this.cluster.call(leader, { op: 'directFund', counterparty: follower.address, asset: ETH, myDeposit: LEDGER_DEPOSIT, theirDeposit: LEDGER_DEPOSIT, nonce, challengeDuration: CHALLENGE_DURATION }, () => this.#asking.delete(leader))
    }
  }

  /** Whether every pair of neighbours shares an open ledger: the rest of the workload runs over them. */
  ready(): boolean {
    const { nodes } = this.cluster
    for (let i = 0; i + 1 < nodes.length; i++) {
      const [a, b] = [nodes[i]!, nodes[i + 1]!]
      if (!a.up || !b.up) return false
      if (![...a.machine.tables.ledgers.keys()].some((id) => b.machine.tables.ledgers.get(id) !== undefined)) return false
    }
    return true
  }

  /** One random operation at a random node (refusals are part of the run: a closed channel, a node down). */
  step(): string {
    const r = this.cluster.random
    const roll = r.int(100)
    if (roll < 15) return this.#openPayment()
    if (roll < 60) return this.#pay()
    if (roll < 68) return this.#closePayment()
    if (roll < 78) return this.#openApp()
    return this.#moveApp()
  }

  #openPayment(): string {
    const { nodes, random } = this.cluster
    const hops = random.int(Math.min(4, nodes.length - 1)) + 1 // 1..4 ledgers: 0–3 intermediaries
    const start = random.int(nodes.length - hops)
    const path = nodes.slice(start, start + hops + 1)
    if (random.chance(0.5)) path.reverse()
    const [payer, payee] = [path[0]!, path[path.length - 1]!]
    const amount = BigInt(20 + random.int(80))
    const nonce = this.#nonce++
    this.cluster.call(
      payer,
      { op: 'createPaymentChannel', counterparty: payee.address, intermediaries: path.slice(1, -1).map((n) => n.address), asset: ETH, amount, nonce, challengeDuration: CHALLENGE_DURATION },
      ({ result }) => {
        if (typeof result === 'string') this.payments.push({ payer, payee, channelId: result.slice('virtualfund:'.length) as Bytes32, sent: 0n })
      },
    )
    return `open payment ${payer.name}→${payee.name} via ${hops - 1}`
  }

  #pay(): string {
    const { random } = this.cluster
    if (this.payments.length === 0) return 'pay: none'
    const plan = random.pick(this.payments)
    const amount = BigInt(1 + random.int(5))
    this.cluster.call(plan.payer, { op: 'pay', channelId: plan.channelId, amount, send: true }, ({ error }) => {
      if (error === undefined) plan.sent += amount
    })
    return `pay ${plan.payer.name}→${plan.payee.name} ${amount}`
  }

  #closePayment(): string {
    const { random } = this.cluster
    if (this.payments.length === 0) return 'close payment: none'
    const plan = random.pick(this.payments)
    const by = random.chance(0.5) ? plan.payer : plan.payee
    this.cluster.call(by, { op: 'closePaymentChannel', channelId: plan.channelId })
    return `close payment by ${by.name}`
  }

  #openApp(): string {
    const { nodes, random } = this.cluster
    const size = 2 + random.int(Math.min(3, nodes.length - 1))
    const pool = [...nodes]
    const participants: SimNode[] = []
    while (participants.length < size) participants.push(pool.splice(random.int(pool.length), 1)[0]!)
    const funding: FundingMode = random.chance(0.3) ? 'direct' : 'none'
    // The race pays its winner the pot: each participant puts in a little, when funded.
    const deposits = participants.map(() => (funding === 'direct' ? BigInt(1 + random.int(10)) : 0n))
    const creator = random.pick(participants)
    const nonce = this.#nonce++
    this.cluster.call(
      creator,
      {
        op: 'createAppChannel',
        participants: participants.map((p) => p.address),
        appId: raceApp.appId,
        params: Uint8Array.of(size, 3 + random.int(10)),
        asset: ETH,
        deposits,
        funding,
        moveTimeout: 0,
        nonce,
        challengeDuration: CHALLENGE_DURATION,
      },
      ({ result }) => {
        if (typeof result === 'string') this.apps.push({ channelId: result as Bytes32, participants, funding, deposits })
      },
    )
    return `open app of ${participants.map((p) => p.name).join(',')} (${funding})`
  }

  #moveApp(): string {
    if (this.apps.length === 0) return 'move: none'
    const plan = this.cluster.random.pick(this.apps)
    return this.#move(plan) ?? 'move: not now'
  }

  /** The participant whose turn it is (as its own node sees it) moves, if its node can. */
  #move(plan: { readonly channelId: Bytes32; readonly participants: readonly SimNode[] }): string | undefined {
    for (const node of plan.participants) {
      if (!node.up) continue
      const channel = node.machine.tables.apps.get(plan.channelId.toLowerCase())
      const latest = channel?.latest
      if (!channel || !latest || channel.pending) continue
      const turn = raceApp.whoseTurn(latest.appState)
      if (turn === 'nobody' || turn === 'anyone' || plan.participants[turn] !== node) continue
      this.cluster.call(node, { op: 'submitAppEvent', channelId: plan.channelId, payload: Uint8Array.of(1 + this.cluster.random.int(3)) })
      return `move ${node.name} in ${plan.channelId.slice(0, 8)}`
    }
    return undefined
  }

  // ---- finishing ----
  // What exists is read from the nodes, not from the answers to the calls: a crash between a commit and its
  // effects loses the answer, never what was committed (the owner would find it by listing).

  /** Every payment channel, as its payer's node holds it. */
  #paymentChannels(): { payer: SimNode; payee: SimNode; channelId: Bytes32; paid: bigint }[] {
    const found = []
    for (const payer of this.cluster.nodes) {
      for (const channel of payer.machine.tables.payments.values()) {
        if (channel.payer.toLowerCase() !== payer.address.toLowerCase()) continue
        found.push({ payer, payee: this.#node(channel.payee), channelId: channel.channelId, paid: channel.paid })
      }
    }
    return found
  }

  /** Every app channel, with its definition, from the first node that holds it. */
  #appChannels(): { channelId: Bytes32; participants: SimNode[]; funding: FundingMode; deposits: readonly bigint[] }[] {
    const found = new Map<string, { channelId: Bytes32; participants: SimNode[]; funding: FundingMode; deposits: readonly bigint[] }>()
    for (const node of this.cluster.nodes) {
      for (const channel of node.machine.tables.apps.values()) {
        const { definition, id } = channel.context
        if (found.has(id.toLowerCase())) continue
        found.set(id.toLowerCase(), { channelId: id, participants: definition.fixed.participants.map((a) => this.#node(a)), funding: fundingOf(definition), deposits: definition.deposits })
      }
    }
    return [...found.values()]
  }

  #node(address: string): SimNode {
    return this.cluster.nodes.find((n) => n.address.toLowerCase() === address.toLowerCase())!
  }

  /**
   * With the faults over: asks for what closes everything — payment channels, then app turns to the end, then the
   * ledgers once nothing is routed through them. Returns what it asked for (empty: nothing left to ask).
   */
  finish(): string[] {
    const asked: string[] = []
    for (const { payer, channelId } of this.#paymentChannels()) {
      const defund = objective(payer, virtualDefundId(channelId))
      if (defund && defund.status !== 'failed') continue
      this.cluster.call(payer, { op: 'closePaymentChannel', channelId })
      asked.push(`close payment ${channelId.slice(0, 8)}`)
    }
    for (const plan of this.#appChannels()) {
      const moved = this.#move(plan)
      if (moved) asked.push(moved)
    }
    if (asked.length > 0 || this.#routing()) return asked
    for (const leader of this.cluster.nodes) {
      for (const ledger of leader.machine.tables.ledgers.values()) {
        if (ledger.role !== 'leader') continue
        const defund = objective(leader, directDefundId(ledger.id))
        if (defund && defund.status !== 'failed') continue
        this.cluster.call(leader, { op: 'directDefund', ledgerId: ledger.id })
        asked.push(`defund ${ledger.id.slice(0, 8)}`)
      }
    }
    return asked
  }

  /** Whether a payment channel or a ledger-funded objective may still need the ledgers (defunding waits for it). */
  #routing(): boolean {
    for (const node of this.cluster.nodes) {
      for (const o of node.machine.tables.objectives.values()) {
        if ((o.kind === 'virtualfund' || o.kind === 'virtualdefund') && isActive(o)) return true
      }
      for (const ledger of node.machine.tables.ledgers.values()) if (ledger.supported.vars.outcome.guarantees.length > 0) return true
    }
    return false
  }

  /**
   * What each node must hold on chain once everything closed: its start, plus what it was paid, minus what it
   * paid, plus what it won in funded apps minus what it put in. Checks on the way that each payment channel
   * settled at exactly what its payer's node paid — at least every payment its owner was told succeeded — and
   * never below what the payee was told.
   */
  expectedBalances(start: bigint): Map<SimNode, bigint> {
    const expected = new Map(this.cluster.nodes.map((n) => [n, start]))
    const add = (node: SimNode, amount: bigint) => expected.set(node, expected.get(node)! + amount)
    for (const { payer, payee, channelId, paid: recorded } of this.#paymentChannels()) {
      const defund = objective(payer, virtualDefundId(channelId))
      if (defund?.kind !== 'virtualdefund' || defund.status !== 'completed' || !defund.final) {
        throw new Violation('liveness', `payment channel ${channelId} never closed at its payer (${defund?.status ?? 'no close'})`)
      }
      const paid = defund.funded.outcome[0]!.allocations[0]!.amount - defund.final.state.outcome[0]!.allocations[0]!.amount
      if (paid !== recorded) throw new Violation('owner paid its own payments', `${channelId} settled at ${paid}, its payer's node paid ${recorded}`)
      const told = this.payments.find((p) => p.channelId.toLowerCase() === channelId.toLowerCase())?.sent ?? 0n
      if (told > paid) throw new Violation('owner paid its own payments', `${channelId} settled at ${paid}, below the ${told} its payer was told it paid`)
      const received = payee.machine.tables.payments.get(channelId.toLowerCase())?.paid ?? 0n
      if (received > paid) throw new Violation('owner paid its own payments', `${channelId} settled at ${paid}, below the ${received} its payee was paid`)
      add(payer, -paid)
      add(payee, paid)
    }
    for (const plan of this.#appChannels()) {
      if (plan.funding !== 'direct') continue
      const node = plan.participants[0]!
      const fund = objective(node, appFundId(plan.channelId))
      if (!fund) continue
      const defund = objective(node, appDefundId(plan.channelId))
      if (defund?.kind !== 'appdefund' || defund.status !== 'completed') {
        throw new Violation('liveness', `${plan.channelId}: the app was funded (${fund.status}) but not paid out (${defund?.status ?? 'no close'})`)
      }
      const allocations = defund.final.state.outcome[0]!.allocations
      plan.participants.forEach((p, i) => add(p, allocations[i]!.amount - plan.deposits[i]!))
    }
    return expected
  }
}

function objective(node: SimNode, id: string) {
  return node.machine.tables.objectives.get(id)
}
