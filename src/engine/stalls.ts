// Stalled counterparties (issue 15): an objective that waits on its peers — a countersignature, a final state, a
// guarantee's removal — for longer than the operator's deadline is settled on chain from the latest supported
// state (`challengeStalled`, appDisputes.ts). Deciding that a peer stalled takes the shell's clock and its
// configuration, so the shell decides (StallWatch) and journals the decision as an API input: a replay takes the
// same decision from the journal. How long each objective has waited is kept in memory: after a restart the wait
// starts again, which only gives the peers more time.
import type { Objective } from '../protocols/objectives.js'

/** What each kind of objective waits for that only its peers can give (its `waitingFor` values). */
const PEER_WAITS: { readonly [K in Objective['kind']]?: readonly string[] } = {
  ledgerUpdate: ['countersignature', 'proposal'],
  directdefund: ['finalState'],
  virtualfund: ['funding', 'postfund'],
  virtualdefund: ['finalStateFromAlice', 'finalState', 'defunding'],
  appfund: ['funding', 'guarantee'],
  appdefund: ['finalState', 'release'],
}

/** Whether an objective of `kind` that waits for `waitingFor` waits on its peers (a stall the chain can end). */
export function waitsOnPeers(kind: Objective['kind'], waitingFor: string | undefined): boolean {
  return waitingFor !== undefined && (PEER_WAITS[kind]?.includes(waitingFor) ?? false)
}

export interface Stall {
  readonly objectiveId: string
  readonly waitingFor: string
  readonly waitedMs: number
}

/** Since when each objective has waited on its peers, and which ones the shell has acted on. */
export class StallWatch {
  readonly #since = new Map<string, { readonly waitingFor: string; readonly since: number }>()
  readonly #acted = new Set<string>()

  constructor(readonly timeoutMs: number) {}

  /**
   * The objectives that have waited on their peers for `timeoutMs` or more at `now` and were not reported yet,
   * after noting each active objective's wait (`waits`: id → its kind and waitingFor).
   */
  stalled(waits: Iterable<readonly [string, { readonly kind: Objective['kind']; readonly waitingFor: string | undefined }]>, now: number): Stall[] {
    const seen = new Set<string>()
    const due: Stall[] = []
    for (const [id, { kind, waitingFor }] of waits) {
      if (!waitsOnPeers(kind, waitingFor)) continue
      seen.add(id)
      const known = this.#since.get(id)
      if (!known || known.waitingFor !== waitingFor) {
        this.#since.set(id, { waitingFor: waitingFor!, since: now })
        this.#acted.delete(id)
        continue
      }
      if (now - known.since >= this.timeoutMs && !this.#acted.has(id)) {
        this.#acted.add(id)
        due.push({ objectiveId: id, waitingFor: known.waitingFor, waitedMs: now - known.since })
      }
    }
    for (const id of this.#since.keys()) {
      if (!seen.has(id)) {
        this.#since.delete(id)
        this.#acted.delete(id)
      }
    }
    return due
  }
}
