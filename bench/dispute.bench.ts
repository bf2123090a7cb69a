// How fast a node answers a stale challenge on a ledger (issue 15), on anvil with automine: mallory (the adversary
// harness's attacker) opens a ledger with the honest node, moves one share to it in two agreed updates, then
// registers the postfund on chain. Measured per round, from the block of mallory's challenge to the block of the
// node's answer (the supported state registered): blocks and wall-clock seconds, with the node's chain poll at
// 20 ms, and the gas of the answer. Median of the rounds.
import { performance } from 'node:perf_hooks'
import type { BenchResult, Benchmark } from './harness.js'
import { round } from './harness.js'
import { ACCEPT_ANY_PEER } from '../src/engine/policy.js'
import { hashState } from '../src/core/hashState.js'
import { hashChallenge } from '../src/core/signState.js'
import { adjudicatorAbi } from '../src/chain/abi.js'
import { appDisputeId } from '../src/protocols/app/appDispute.js'
import { until } from '../test/adversary/harness.js'
import { createAnvilWorld, ledgerThatPaidHonest, startAnvilChain } from '../test/adversary/anvilWorld.js'
import { decodeEventLog } from 'viem'

const ROUNDS = 5
const SHARE = 10n ** 17n

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const bench: Benchmark = {
  estimate: 'the answer in the next block or two after the node sees the challenge (a 20 ms poll, one transaction): ~0.1 s, ~120k gas as Nitro\'s challenge',
  async run(): Promise<BenchResult[]> {
    const chain = await startAnvilChain()
    const blocks: number[] = []
    const seconds: number[] = []
    const gas: number[] = []
    try {
      for (let i = 0; i < ROUNDS; i++) {
        const policy = { ...ACCEPT_ANY_PEER, challengeDurationSec: { min: 0, max: ACCEPT_ANY_PEER.challengeDurationSec.max } }
        const w = await createAnvilWorld(chain, { label: `dispute-bench-${i}`, policy })
        try {
          const mallory = await w.attacker('mallory')
          const { ledger, postfund } = await ledgerThatPaidHonest(w, mallory, { amounts: [3n * SHARE, 2n * SHARE], paid: SHARE, nonce: BigInt(100 + i), challengeDuration: 3_600 })
          const challengedAt = await chain.client.getBlockNumber()
          const start = performance.now()
          await mallory.viem.submit({ kind: 'challenge', candidate: postfund, challengerSignature: mallory.signHash(hashChallenge(hashState(postfund.state))) })
          await until('the answer is on chain', () => w.honest.engine.getObjective(appDisputeId(ledger.id))?.waitingFor === 'finalization', 30_000)
          const answeredIn = performance.now() - start
          // The answer: the honest node's transaction that registered turn 3.
          const head = await chain.client.getBlockNumber()
          for (let n = challengedAt + 1n; n <= head; n++) {
            const block = await chain.client.getBlock({ blockNumber: n, includeTransactions: true })
            for (const tx of block.transactions) {
              if (tx.from.toLowerCase() !== w.honest.txAccount.toLowerCase()) continue
              const receipt = await chain.client.getTransactionReceipt({ hash: tx.hash })
              const registered = receipt.logs.some((log) => {
                try {
                  const event = decodeEventLog({ abi: adjudicatorAbi, topics: log.topics as never, data: log.data })
                  return event.eventName === 'ChallengeRegistered'
                } catch {
                  return false
                }
              })
              if (!registered) continue
              blocks.push(Number(n - (challengedAt + 1n)))
              gas.push(Number(receipt.gasUsed))
            }
          }
          seconds.push(answeredIn / 1000)
        } finally {
          await w.close()
        }
      }
    } finally {
      await chain.stop()
    }
    return [
      { name: 'blocks from the stale challenge to the answer (median)', value: median(blocks), unit: 'blocks' },
      { name: 'seconds from the stale challenge mined to the answer registered (median)', value: round(median(seconds), 3), unit: 's' },
      { name: 'gas of the answer (challenge with the supported state)', value: median(gas), unit: 'gas' },
      { name: 'rounds', value: ROUNDS, unit: 'rounds' },
    ]
  },
}

export default bench
