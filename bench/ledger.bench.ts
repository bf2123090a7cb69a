// Ledger proposals end to end (issue 3): 100 guarantees proposed by the leader, countersigned by the
// follower, supported at the leader — two engines on RocksDB stores (fsync'd group commits) over the
// in-memory transport. Budget: ≤ 50 ms for 100 (DESIGN §8).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import type { Benchmark } from './harness.js'
import { round } from './harness.js'
import type { Bytes32 } from '../src/core/types.js'
import { createSigner } from '../src/core/signer.js'
import { addressToDestination } from '../src/core/outcome.js'
import { RocksStore } from '../src/store/rocksStore.js'
import { MemoryNetwork } from '../src/transport/memoryTransport.js'
import { MemoryChain, MEMORY_CONSENSUS_APP } from '../src/chain/memoryChain.js'
import { Engine } from '../src/engine/engine.js'
import type { ConsensusChannel } from '../src/protocols/ledger/consensusChannel.js'
import { ledgerState } from '../src/protocols/ledger/consensusChannel.js'
import { hashStateOfChannel } from '../src/core/hashState.js'
import { recoverHashSigner } from '../src/core/signatures.js'
import { ACCEPT_ANY_PEER } from '../src/engine/policy.js'
import { toAddress } from '../src/core/canonical.js'

const PROPOSALS = 100
const ROUNDS = 5
const ETH = toAddress('0x0000000000000000000000000000000000000000')

function waitUntil(condition: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const poll = () => (condition() ? resolve() : setImmediate(poll))
    poll()
  })
}

const ledgerIdOf = (fundId: string) => fundId.slice('directfund:'.length) as Bytes32

/**
 * The signature work of 100 proposals, timed alone on a ledger like the one the rounds grew: per
 * proposal each side hashes the new ledger state once, the leader signs it and recovers the
 * countersignature, the follower recovers the leader's signature and countersigns.
 */
function cryptoFloorMs(ledger: ConsensusChannel): number {
  const signer = createSigner(`0x${'11'.repeat(32)}`)
  const states = Array.from({ length: PROPOSALS }, (_, i) => {
    const guarantees = ledger.supported.vars.outcome.guarantees.slice(0, i)
    return ledgerState(ledger.fixed, { turnNum: BigInt(i + 1), outcome: { ...ledger.supported.vars.outcome, guarantees } })
  })
  const start = performance.now()
  for (const state of states) {
    for (let side = 0; side < 2; side++) {
      const hash = hashStateOfChannel(ledger.id, state)
      const signature = signer.signHash(hash)
      recoverHashSigner(hash, signature)
    }
  }
  return performance.now() - start
}

const benchmark: Benchmark = {
  estimate: 'per proposal 2 hashes + 2 signs + 2 recovers (~0.35 ms, both engines share this thread) + group commits: ~45 ms for 100',
  async run() {
    const root = mkdtempSync(path.join(tmpdir(), 'channels-ledger-bench-'))
    const network = new MemoryNetwork({ seed: 1 })
    const chain = new MemoryChain()
    const [alice, bob] = [createSigner(`0x${'11'.repeat(32)}`), createSigner(`0x${'22'.repeat(32)}`)]
    const stores = [await RocksStore.open(path.join(root, 'alice')), await RocksStore.open(path.join(root, 'bob'))] as const
    const engines = await Promise.all(
      [alice, bob].map((signer, i) => {
        chain.fund(signer.address, ETH, 10n ** 20n)
        return Engine.open({ store: stores[i]!, signer, transport: network.connect(signer.address), chain: chain.connect(signer.address), consensusApp: MEMORY_CONSENSUS_APP, policy: ACCEPT_ANY_PEER })
      }),
    )
    const [leader, follower] = engines as [Engine, Engine]
    try {
      const timesMs: number[] = []
      const fundIds: string[] = []
      for (let r = 0; r < ROUNDS; r++) {
        // a fresh ledger per round: each round measures 100 proposals growing a ledger from 0 to 100 guarantees
        const fundId = await leader.directFund({ counterparty: bob.address, myDeposit: 10n ** 18n, theirDeposit: 10n ** 18n, nonce: BigInt(r + 1) })
        await leader.waitForObjective(fundId)
        fundIds.push(fundId)
        const ledgerId = ledgerIdOf(fundId)
        await waitUntil(() => follower.getLedger(ledgerId) !== undefined)
        const [left, right] = [addressToDestination(alice.address), addressToDestination(bob.address)]
        const startTurn = leader.getLedger(ledgerId)!.supported.vars.turnNum
        const proposals = Array.from({ length: PROPOSALS }, (_, i) => ({ kind: 'add' as const, target: `0x${(i + 1).toString(16).padStart(8, '0')}${'cd'.repeat(28)}` as Bytes32, left, right, leftAmount: 1n, rightAmount: 1n }))
        // the follower's owner agrees to them first, untimed (ADR 0015)
        await Promise.all(proposals.map((proposal) => follower.agreeLedgerUpdate(ledgerId, proposal)))
        const start = performance.now()
        const ids = await Promise.all(proposals.map((proposal) => leader.updateLedger(ledgerId, proposal)))
        // the leader's objective completes when the follower's countersignature makes its turn supported
        await Promise.all(ids.map((id) => leader.waitForObjective(id)))
        if (leader.getLedger(ledgerId)!.supported.vars.turnNum !== startTurn + BigInt(PROPOSALS)) throw new Error('not every proposal landed')
        timesMs.push(performance.now() - start)
      }
      timesMs.sort((a, b) => a - b)
      const median = timesMs[Math.floor(ROUNDS / 2)]!
      const floor = cryptoFloorMs(leader.getLedger(ledgerIdOf(fundIds.at(-1)!))!)
      return [
        { name: `${PROPOSALS} proposals end to end, median of ${ROUNDS}`, value: round(median, 1), unit: 'ms' },
        { name: `${PROPOSALS} proposals end to end, best`, value: round(timesMs[0]!, 1), unit: 'ms' },
        { name: 'throughput (median round)', value: round((PROPOSALS / median) * 1000), unit: 'proposals/s' },
        { name: 'budget (DESIGN §8)', value: 50, unit: 'ms' },
        { name: 'crypto floor, both sides on this thread (same run)', value: round(floor, 1), unit: 'ms' },
        { name: 'median / crypto floor', value: round(median / floor, 2), unit: 'x' },
      ]
    } finally {
      for (const engine of engines) await engine.close()
      for (const store of stores) await store.close()
      rmSync(root, { recursive: true, force: true })
    }
  },
}
export default benchmark
