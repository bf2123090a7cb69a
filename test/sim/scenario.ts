// Hand-written protocol scenarios on the simulator (issue 14): the tests that drove engines on a wall clock and
// polled (`eventually`) now run on the cluster's seeded scheduler. A scenario calls the API at a node and waits
// for a condition; waiting moves the world one seeded step at a time — a delivery, a node's batch, the chain,
// time — under the scenario's faults, with the per-step invariants checked. No timer, no sleep: a seed replays.
import type { Bytes32 } from '../../src/core/types.js'
import type { ApiRequest } from '../../src/engine/inputs.js'
import type { Objective } from '../../src/protocols/objectives.js'
import type { AppRuntime } from '../../src/wasm/appRuntime.js'
import { Cluster } from './cluster.js'
import type { SimNode } from './cluster.js'
import type { Faults } from './simulate.js'
import { NO_FAULTS, checkStep, move } from './simulate.js'
import { Violation, checkReplay } from './invariants.js'
import { StallWatch } from '../../src/engine/stalls.js'

export interface ScenarioOptions {
  readonly seed: number
  readonly nodes: number
  /** Message faults, and crashes and restarts of the nodes in `crashable` (default: none). */
  readonly faults?: Partial<Faults>
  readonly crashable?: readonly number[]
  readonly apps?: (appId: Bytes32) => AppRuntime | undefined
  /**
   * As the daemon's shell does with `stallTimeoutMs` (src/engine/stalls.ts): each node's objectives that wait on
   * their peers this long on the cluster's clock are reported as `challengeStalled` (default: never).
   */
  readonly stallTimeoutMs?: number
}

/** Steps a wait may take before it is a liveness failure. */
const WAIT_STEPS_MAX = 200_000

export class Scenario {
  readonly cluster: Cluster
  readonly faults: Faults
  #crashable: SimNode[]
  /** Nodes stopped for good (`stop`): never restarted. */
  readonly #stopped = new Set<SimNode>()
  /** Each node's watch for stalled peers, new at each boot (a restart forgets how long objectives waited). */
  readonly #stalls = new Map<SimNode, { readonly machine: SimNode['machine']; readonly watch: StallWatch }>()
  restarts = 0

  private constructor(readonly options: ScenarioOptions) {
    this.cluster = new Cluster({ seed: options.seed, nodes: options.nodes, apps: options.apps ?? (() => undefined) })
    this.faults = { ...NO_FAULTS, ...options.faults }
    this.#crashable = (options.crashable ?? []).map((i) => this.cluster.nodes[i]!)
  }

  static async start(options: ScenarioOptions): Promise<Scenario> {
    const scenario = new Scenario(options)
    for (const node of scenario.cluster.nodes) await scenario.cluster.boot(node)
    const { drop, duplicate, reorder } = scenario.faults
    scenario.cluster.network.setFaults({ drop, duplicate, reorder })
    return scenario
  }

  get nodes(): readonly SimNode[] {
    return this.cluster.nodes
  }

  /** Calls the API at `node` and moves the world until the node answers; the refusal is thrown. */
  async call<R = string>(node: SimNode, request: ApiRequest): Promise<R> {
    let outcome: { result?: unknown; error?: unknown } | undefined
    await this.#bootIfDown(node)
    this.cluster.call(node, request, (o) => (outcome = o))
    await this.until(`${node.name} answers ${request.op}`, () => outcome !== undefined)
    if (outcome!.error !== undefined) {
      // A crash lost the call before the node handled it: the caller asks again, as a client would.
      if (outcome!.error instanceof Error && outcome!.error.message === 'crashed') return this.call(node, request)
      throw outcome!.error
    }
    return outcome!.result as R
  }

  /** Moves the world one seeded step at a time until `condition` holds; more than the bound fails. */
  async until(what: string, condition: () => boolean): Promise<void> {
    for (let steps = 0; !condition(); steps++) {
      if (steps >= WAIT_STEPS_MAX) throw new Violation('liveness', `${what}: not reached in ${WAIT_STEPS_MAX} steps`)
      await this.#step()
      await checkStep(this.cluster)
    }
  }

  /** Lets the world run without faults until nothing moves: every retransmission and timer has had its turn. */
  async quiesce(): Promise<void> {
    const { cluster } = this
    cluster.network.setFaults({ drop: 0, duplicate: 0, reorder: 0 })
    for (const node of cluster.nodes) if (!this.#stopped.has(node)) await this.#bootIfDown(node)
    let quiet = 0
    for (let steps = 0; quiet < 3; steps++) {
      if (steps >= WAIT_STEPS_MAX) throw new Violation('liveness', `not quiet in ${WAIT_STEPS_MAX} steps`)
      if (cluster.isBusy()) {
        await move(cluster, 0)
        await checkStep(cluster)
        quiet = 0
        continue
      }
      for (const node of cluster.nodes) cluster.flushAcks(node)
      if (cluster.isBusy()) continue
      cluster.advance(1_000)
      let due = false
      for (const node of cluster.nodes) due = cluster.tick(node) || due
      quiet = due ? 0 : quiet + 1
    }
    const { drop, duplicate, reorder } = this.faults
    cluster.network.setFaults({ drop, duplicate, reorder })
  }

  /** The process dies (losing what it had not synced) and comes back from its store at once. */
  async restart(node: SimNode): Promise<void> {
    this.cluster.trace(`crash ${node.name}`)
    this.cluster.crash(node)
    await this.#bootIfDown(node)
  }

  /** The node's process is gone for good: it is not restarted, and what is sent to it is lost. */
  stop(node: SimNode): void {
    this.cluster.trace(`stop ${node.name}`)
    this.#stopped.add(node)
    this.cluster.crash(node)
  }

  /** An objective as `node` holds it now. */
  objective(node: SimNode, id: string): Objective | undefined {
    return node.up ? node.machine.tables.objectives.get(id) : undefined
  }

  /** Waits until the objective is terminal at `node`, and returns it. */
  async settled(node: SimNode, id: string): Promise<Objective> {
    await this.until(`${id} ends at ${node.name}`, () => {
      const o = this.objective(node, id)
      return o !== undefined && (o.status === 'completed' || o.status === 'failed')
    })
    return this.objective(node, id)!
  }

  /** Every node's journal replays to the state it holds (call at the end). */
  async checkReplays(): Promise<void> {
    for (const node of this.cluster.nodes) if (node.up) await checkReplay(node)
  }

  async #step(): Promise<void> {
    const { cluster, faults } = this
    const { random } = cluster
    const crashable = this.#crashable.filter((n) => n.up)
    if (crashable.length > 0 && random.chance(faults.crash)) {
      const node = random.pick(crashable)
      if (node.inbox.length > 0 && random.chance(0.25)) {
        cluster.trace(`crash ${node.name} between commit and effects`)
        return cluster.process(node, true)
      }
      cluster.trace(`crash ${node.name}`)
      return cluster.crash(node)
    }
    const down = cluster.nodes.filter((n) => !n.up && !this.#stopped.has(n))
    if (down.length > 0 && random.chance(0.05)) return this.#bootIfDown(random.pick(down))
    await move(cluster, faults.chainFailure)
    this.#reportStalls()
  }

  #reportStalls(): void {
    const timeout = this.options.stallTimeoutMs
    if (timeout === undefined) return
    for (const node of this.cluster.nodes) {
      if (!node.up) continue
      let entry = this.#stalls.get(node)
      if (entry?.machine !== node.machine) this.#stalls.set(node, (entry = { machine: node.machine, watch: new StallWatch(timeout) }))
      const waits = [...node.machine.waitingFor].flatMap(([id, waitingFor]) => {
        const o = node.machine.tables.objectives.get(id)
        return o && (o.status === 'approved' || o.status === 'unapproved') ? [[id, { kind: o.kind, waitingFor }] as const] : []
      })
      for (const stall of entry.watch.stalled(waits, this.cluster.now)) {
        this.cluster.trace(`${node.name}: ${stall.objectiveId} stalled`)
        this.cluster.call(node, { op: 'challengeStalled', ...stall })
      }
    }
  }

  async #bootIfDown(node: SimNode): Promise<void> {
    if (node.up) return
    this.cluster.trace(`restart ${node.name}`)
    this.restarts++
    await this.cluster.boot(node)
  }
}
