// One simulated run (issue 14): boot the cluster, run the workload under faults for `steps` steps, checking the
// invariants after every step; then stop the faults (heal, restart, no more drops) and let the workload close
// everything, within a bound (liveness); then check what must hold at the end — agreement, replay, app logs, and
// every node's balance on chain to the wei. A run is a pure function of its options: the same seed gives the
// same trace hash.
import { raceApp } from '../../src/protocols/app/testApps.js'
import type { Bytes32 } from '../../src/core/types.js'
import type { SimNode } from './cluster.js'
import { decodeFrame } from '../../src/engine/frames.js'
import { Cluster, ETH, STARTING_BALANCE } from './cluster.js'
import { SignatureBook, Violation, checkAgreement, checkAppLogs, checkChain, checkLedgers, checkLiveness, checkReplay } from './invariants.js'
import { Workload } from './workload.js'
import { Mallory } from './byzantine.js'
import type { Objective } from '../../src/protocols/objectives.js'
import { kindOf } from '../../src/engine/kinds.js'

export interface Faults {
  /** Per message: lost, sent twice, held back behind later ones. */
  readonly drop: number
  readonly duplicate: number
  readonly reorder: number
  /** Per step: a node crashes (a quarter of the time between a commit and its effects). */
  readonly crash: number
  /** Per step: a link between two nodes is cut; it heals by itself 50–1,000 steps later. */
  readonly partition: number
  /** Per submitted transaction: the chain is unreachable or the transaction reverts. */
  readonly chainFailure: number
}

export const DEFAULT_FAULTS: Faults = { drop: 0.05, duplicate: 0.03, reorder: 0.05, crash: 0.004, partition: 0.004, chainFailure: 0.05 }
export const NO_FAULTS: Faults = { drop: 0, duplicate: 0, reorder: 0, crash: 0, partition: 0, chainFailure: 0 }

export interface SimulationOptions {
  readonly seed: number
  /** Steps with faults on. */
  readonly steps: number
  readonly nodes?: number
  readonly faults?: Faults
  /** Steps allowed to settle once the faults stop: more is a liveness violation. */
  readonly settleSteps?: number
  /** The chain may fail one transaction again and again (see ClusterOptions). */
  readonly repeatedChainFailures?: boolean
  /** Mallory, the byzantine participant (byzantine.ts), acts on this share of steps (default 0.02; 0: she is not there). */
  readonly byzantine?: number
}

export interface SimulationResult {
  readonly seed: number
  readonly traceHash: string
  readonly steps: number
  readonly violation?: { readonly invariant: string; readonly message: string; readonly step: number }
  readonly stats: {
    readonly objectives: number
    readonly completed: number
    /** Still running at the end (none: liveness). */
    readonly active: number
    readonly payments: number
    readonly appChannels: number
    readonly signatures: number
    readonly crashes: number
    readonly messages: number
  }
}

/** Steps the ledgers may take to open before the workload starts. */
const SETUP_STEPS_MAX = 20_000

const apps = (appId: Bytes32) => (appId.toLowerCase() === raceApp.appId.toLowerCase() ? raceApp : undefined)

export async function simulate(options: SimulationOptions): Promise<SimulationResult> {
  const faults = options.faults ?? DEFAULT_FAULTS
  const cluster = new Cluster({ seed: options.seed, nodes: options.nodes ?? 5, apps, repeatedChainFailures: options.repeatedChainFailures ?? false })
  const byzantine = options.byzantine ?? 0.02
  const mallory = byzantine > 0 ? new Mallory(cluster) : undefined
  if (mallory) cluster.outsiders.push(mallory.address)
  // Objectives Mallory takes part in may stall for good: answering a counterparty that stalls needs disputes (issue 15).
  const excused = (o: Objective) => mallory !== undefined && kindOf(o).participants(o).some((p) => p.toLowerCase() === mallory.address.toLowerCase())
  const signatures = new SignatureBook()
  cluster.onStep = ({ node, effects }) => {
    signatures.observe(node, effects)
    if (process.env.SIM_TRACE_FRAMES) for (const { to, bytes } of effects.frames) console.log(`${node.name} → ${to.slice(0, 6)}: ${describeFrame(bytes)}`)
  }
  const workload = new Workload(cluster)
  let step = 0
  try {
    for (const node of cluster.nodes) await cluster.boot(node)
    workload.setup()
    cluster.network.setFaults({ drop: faults.drop, duplicate: faults.duplicate, reorder: faults.reorder })
    // The ledgers open under faults too; the steps counted are those of the workload running over them.
    for (let counted = 0; counted < options.steps; step++) {
      if (step > options.steps + SETUP_STEPS_MAX) throw new Violation('liveness', `the ledgers did not open in ${SETUP_STEPS_MAX} steps`)
      if (mallory && cluster.random.chance(byzantine)) cluster.trace(mallory.act())
      else await act(cluster, workload, faults, step)
      await checkStep(cluster)
      if (workload.opened) counted++
    }
    cluster.network.setFaults({ drop: 0, duplicate: 0, reorder: 0 })
    for (const a of cluster.nodes) for (const b of cluster.nodes) cluster.network.partition(a.address, b.address, false)
    for (const node of cluster.nodes) if (!node.up) await cluster.boot(node)
    cluster.trace('faults stop')
    step = await settle(cluster, workload, step, options.settleSteps ?? 50_000)
    checkLiveness(cluster, excused)
    checkAgreement(cluster, excused)
    for (const node of cluster.nodes) {
      await checkReplay(node)
      await checkAppLogs(node)
    }
    checkBalances(cluster, workload)
    // The trace ends with each node's journal head: two runs with one hash ended in the same states.
    for (const node of cluster.nodes) cluster.trace(`${node.name} journal ${node.machine.journalHead.seq} ${node.machine.journalHead.hash}`)
  } catch (error) {
    const invariant = error instanceof Violation ? error.invariant : 'no exception'
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error)
    return { seed: options.seed, traceHash: cluster.traceHash, steps: step, violation: { invariant, message, step }, stats: statsOf(cluster, workload, signatures) }
  }
  return { seed: options.seed, traceHash: cluster.traceHash, steps: step, stats: statsOf(cluster, workload, signatures) }
}

/** One step of the run: the seeded scheduler picks what happens next among what can. */
async function act(cluster: Cluster, workload: Workload, faults: Faults, step: number): Promise<void> {
  const { random, nodes } = cluster
  const roll = random.int(1000)
  if (roll < faults.crash * 1000) {
    const node = random.pick(nodes.filter((n) => n.up).concat(nodes[0]!))
    if (!node.up) return
    if (node.inbox.length > 0 && random.chance(0.25)) {
      cluster.trace(`crash ${node.name} between commit and effects`)
      return cluster.process(node, true)
    }
    cluster.trace(`crash ${node.name}`)
    return cluster.crash(node)
  }
  if (roll < (faults.crash + faults.partition) * 1000) {
    const [a, b] = [random.pick(nodes), random.pick(nodes)]
    if (a === b) return
    // A partition is an outage, not a topology: it heals (a link cut for good would keep the ledgers from opening).
    const heals = step + 50 + random.int(950)
    cluster.trace(`cut ${a.name}-${b.name} until step ${heals}`)
    cluster.network.partition(a.address, b.address, true)
    cluster.cuts.push({ a, b, heals })
    return
  }
  for (const cut of cluster.cuts.filter((c) => c.heals <= step)) {
    cluster.trace(`heal ${cut.a.name}-${cut.b.name}`)
    cluster.network.partition(cut.a.address, cut.b.address, false)
    cluster.cuts.splice(cluster.cuts.indexOf(cut), 1)
  }
  const down = nodes.filter((n) => !n.up)
  if (down.length > 0 && random.chance(0.02)) {
    const node = random.pick(down)
    cluster.trace(`restart ${node.name}`)
    return cluster.boot(node)
  }
  if (!workload.opened && random.chance(0.01)) workload.setup()
  if (random.chance(0.12) && (workload.opened || workload.ready())) {
    workload.opened = true
    cluster.trace(`workload: ${workload.step()}`)
    return
  }
  await move(cluster, faults.chainFailure)
}

/** One step that moves the world on without a fault or new work: a delivery, a node's batch, the chain, time. */
export async function move(cluster: Cluster, chainFailure: number): Promise<boolean> {
  const { random, nodes, network } = cluster
  const choices: (() => Promise<void> | void)[] = []
  if (network.inFlight > 0) {
    for (let i = 0; i < 4; i++) {
      choices.push(() => {
        cluster.trace('deliver')
        network.deliverNext()
      })
    }
  }
  const busy = nodes.filter((n) => n.up && n.inbox.length > 0)
  if (busy.length > 0) {
    for (let i = 0; i < 4; i++) {
      choices.push(() => {
        const node = random.pick(busy)
        cluster.trace(`${node.name} handles ${node.inbox.length}`)
        return cluster.process(node)
      })
    }
  }
  if (cluster.chainTasks.length > 0) {
    choices.push(() => {
      cluster.trace('chain event')
      cluster.deliverChainEvent(random.int(cluster.chainTasks.length))
    })
  }
  const submittable = cluster.submittable()
  if (submittable.length > 0) {
    choices.push(() => {
      const failure = random.chance(chainFailure) ? (random.chance(0.5) ? 'unavailable' : 'reverted') : undefined
      return cluster.submit(random.pick(submittable), failure)
    })
  }
  const acking = nodes.filter((n) => n.up && n.acksPending)
  if (acking.length > 0) choices.push(() => cluster.flushAcks(random.pick(acking)))
  choices.push(() => {
    cluster.advance(random.int(60))
    const node = random.pick(nodes)
    if (cluster.tick(node)) cluster.trace(`tick ${node.name} at ${cluster.now}`)
  })
  await random.pick(choices)()
  return busy.length > 0 || network.inFlight > 0 || cluster.chainTasks.length > 0 || submittable.length > 0
}

/** Per step: every ledger conserves its funds at every node, and so does the chain. */
export async function checkStep(cluster: Cluster): Promise<void> {
  for (const node of cluster.nodes) if (node.up) checkLedgers(node)
  await checkChain(cluster)
}

/**
 * Without faults, runs until nothing moves and nothing is due, asking the workload to close what is open
 * whenever the world is quiet. More than `bound` steps is a liveness violation.
 */
async function settle(cluster: Cluster, workload: Workload, from: number, bound: number): Promise<number> {
  let step = from
  let idleRounds = 0
  for (let n = 0; n < bound; n++, step++) {
    if (cluster.isBusy()) {
      await move(cluster, 0)
      await checkStep(cluster)
      idleRounds = 0
      continue
    }
    for (const node of cluster.nodes) cluster.flushAcks(node)
    if (cluster.isBusy()) continue
    const asked = workload.finish()
    for (const line of asked) cluster.trace(`finish: ${line}`)
    if (asked.length > 0) continue
    // Nothing moves: let time pass so that retransmissions and timeouts fall due.
    cluster.advance(1_000)
    let due = false
    for (const node of cluster.nodes) due = cluster.tick(node) || due
    if (due) {
      idleRounds = 0
      continue
    }
    if (++idleRounds >= 3) return step
  }
  if (process.env.SIM_TRACE_FRAMES) for (const node of cluster.nodes) console.log(node.name, node.address, node.up, JSON.stringify(node.machine.rejections.counts), node.machine.rejections.recent.slice(-3), [...node.machine.tables.peers.values()].map((p) => ({ ...p, address: p.address.slice(0, 6) })), node.machine.meta.epoch, [...node.machine.tables.outbox.values()].length)
  const stuck = cluster.nodes.flatMap((node) => [...node.machine.tables.objectives.values()].filter((o) => o.status === 'approved' || o.status === 'unapproved').map((o) => `${node.name}:${o.id}`))
  throw new Violation('liveness', `not settled ${bound} steps after the faults stopped; active: ${stuck.slice(0, 8).join(', ')}`)
}

/** Once everything closed: every node holds on chain exactly its due, and the adjudicator holds nothing. */
function checkBalances(cluster: Cluster, workload: Workload): void {
  const expected = workload.expectedBalances(STARTING_BALANCE)
  for (const node of cluster.nodes) {
    const actual = cluster.chain.balanceOf(node.address, ETH)
    const due = expected.get(node)!
    if (actual !== due) throw new Violation('owner ends with its due', `${node.name} holds ${actual} on chain, its due is ${due} (${describe(node, workload)})`)
  }
}

function describe(node: SimNode, workload: Workload): string {
  const pays = workload.payments.filter((p) => p.payer === node || p.payee === node).length
  const apps = workload.apps.filter((a) => a.participants.includes(node)).length
  return `${pays} payment channels, ${apps} app channels`
}

function statsOf(cluster: Cluster, workload: Workload, signatures: SignatureBook): SimulationResult['stats'] {
  let objectives = 0
  let completed = 0
  let active = 0
  for (const node of cluster.nodes) {
    if (!node.machine) continue
    for (const o of node.machine.tables.objectives.values()) {
      objectives++
      if (o.status === 'completed') completed++
      if (o.status === 'approved' || o.status === 'unapproved') active++
    }
  }
  return {
    objectives,
    completed,
    active,
    payments: workload.payments.reduce((n, p) => n + (p.sent > 0n ? 1 : 0), 0),
    appChannels: workload.apps.length,
    signatures: signatures.count,
    crashes: cluster.nodes.reduce((n, node) => n + node.crashes, 0),
    messages: cluster.network.stats.delivered,
  }
}

function describeFrame(bytes: Uint8Array): string {
  const frame = decodeFrame(bytes)
  const kinds = frame.payloads.map((p) => ('objectiveId' in p ? `${p.kind}(${String(p.objectiveId).slice(0, 18)})` : 'ledgerId' in p ? `${p.kind}(${p.ledgerId.slice(0, 8)})` : p.kind))
  return `seq ${frame.seq} acks ${frame.acks.length} [${kinds.join(' ')}]`
}

/** The one-line command that replays a run. */
export function replayCommand(options: SimulationOptions): string {
  return `npm run sim -- --seed ${options.seed} --steps ${options.steps}${options.repeatedChainFailures ? ' --repeated-chain-failures' : ''}`
}
