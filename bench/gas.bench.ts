// Gas of our adjudicator (issue 4), side by side with Nitro v2's published figures: each row is gasUsed
// from a receipt on anvil, then Nitro's figure for the same scenario and ours / Nitro. The scenarios are
// Nitro's own gas benchmarks rebuilt on our code (bench/gasScenarios.ts), each from the same chain state.
// Gas is deterministic for given calldata and chain state, so each transaction is sent once.
//
// Nitro's figures: the table (Nitro's published gas results); the steps of the two sad exits,
// the ERC20 approve and the second ERC20 deposit from the matching gas-benchmarks/gasResults.json, whose
// steps add up to the published totals. Nitro's token is OpenZeppelin's ERC20 (we use our TestToken), so
// the ERC20 rows also compare token contracts; its approve is increaseAllowance.
import type { BenchResult, Benchmark } from './harness.js'
import { round } from './harness.js'
import { startAnvil } from '../src/chain/anvil.js'
import { deployContracts } from '../src/chain/deploy.js'
import {
  checkpointClearingChallenge,
  cooperativeExitErc20,
  cooperativeExitEth,
  erc20Deposits,
  ethDeposits,
  nitroFixtures,
  openRig,
  sadExitDirect,
  sadExitVirtual,
} from './gasScenarios.js'

const NITRO = {
  ethDepositFirst: 46_496,
  ethDepositSecond: 29_408,
  erc20Approve: 46_193,
  erc20DepositFirst: 69_866,
  erc20DepositSecond: 52_778,
  cooperativeExitEth: 111_514,
  cooperativeExitErc20: 112_690,
  challenge: 113_146,
  checkpoint: 73_936,
  sadDirectTransfer: 82_026,
  sadDirect: 195_172,
  sadVirtualChallengeLedger: 122_389,
  sadVirtualChallengeVirtual: 172_692,
  sadVirtualReclaim: 61_713,
  sadVirtualTransferLedger: 113_726,
  sadVirtual: 470_520,
} as const

/** Our figure, Nitro's, and ours / Nitro (STYLE §7: quote ratios). */
function compare(name: string, ours: bigint, nitro: number): BenchResult[] {
  return [
    { name, value: Number(ours), unit: 'gas' },
    { name: `${name}: Nitro v2`, value: nitro, unit: 'gas' },
    { name: `${name}: ours / Nitro`, value: round(Number(ours) / nitro, 3), unit: 'x' },
  ]
}

const benchmark: Benchmark = {
  estimate:
    'per transaction 21k base + calldata (~16 gas a non-zero byte) + 2.1k/20k per cold/new storage slot + ~3k per ecrecover: ' +
    'ETH deposit ~46k first (new holdings slot), ~29k second; ERC20 deposit +~23k for transferFrom; ' +
    'cooperative exit ~110k (2 signatures, status slot, a new account paid); challenge ~110k (3 signatures, status slot, event with the state); ' +
    'checkpoint ~70k; sad exit direct ~190k; sad exit virtual ~470k: each within a few % of Nitro',
  async run() {
    const anvil = await startAnvil({ port: 0 })
    try {
      const deployment = await deployContracts({ rpcUrl: anvil.url, chainId: anvil.chainId })
      const rig = openRig({ rpcUrl: anvil.url, chainId: anvil.chainId, deployment })
      const fx = nitroFixtures(deployment)
      await rig.gasOf(rig.token.write.mint([rig.account, 10n ** 24n]))

      const eth = await rig.isolated(() => ethDeposits(rig, fx))
      const erc20 = await rig.isolated(() => erc20Deposits(rig, fx))
      const exitEth = await rig.isolated(() => cooperativeExitEth(rig, fx))
      const exitErc20 = await rig.isolated(() => cooperativeExitErc20(rig, fx))
      const direct = await rig.isolated(() => sadExitDirect(rig, fx))
      const checkpoint = await rig.isolated(() => checkpointClearingChallenge(rig, fx))
      const virtual = await rig.isolated(() => sadExitVirtual(rig, fx))

      return [
        ...compare('ETH deposit, first', eth.first, NITRO.ethDepositFirst),
        ...compare('ETH deposit, second', eth.second, NITRO.ethDepositSecond),
        ...compare('ERC20 approve (before a deposit)', erc20.approve, NITRO.erc20Approve),
        ...compare('ERC20 deposit, first', erc20.first, NITRO.erc20DepositFirst),
        ...compare('ERC20 deposit, second', erc20.second, NITRO.erc20DepositSecond),
        ...compare('cooperative exit ETH (concludeAndTransferAllAssets)', exitEth, NITRO.cooperativeExitEth),
        ...compare('cooperative exit ERC20 (concludeAndTransferAllAssets)', exitErc20, NITRO.cooperativeExitErc20),
        ...compare('challenge', direct.challenge, NITRO.challenge),
        ...compare('checkpoint (clearing a challenge)', checkpoint, NITRO.checkpoint),
        ...compare('sad exit direct, step: transferAllAssets after the timeout', direct.transferAllAssets, NITRO.sadDirectTransfer),
        ...compare('sad exit direct (challenge + transferAllAssets)', direct.challenge + direct.transferAllAssets, NITRO.sadDirect),
        ...compare('sad exit virtual, step: challenge ledger', virtual.challengeLedger, NITRO.sadVirtualChallengeLedger),
        ...compare('sad exit virtual, step: challenge virtual (voucher)', virtual.challengeVirtual, NITRO.sadVirtualChallengeVirtual),
        ...compare('sad exit virtual, step: reclaim', virtual.reclaim, NITRO.sadVirtualReclaim),
        ...compare('sad exit virtual, step: transferAllAssets ledger', virtual.transferLedger, NITRO.sadVirtualTransferLedger),
        ...compare(
          'sad exit virtual (total of the 4 steps)',
          virtual.challengeLedger + virtual.challengeVirtual + virtual.reclaim + virtual.transferLedger,
          NITRO.sadVirtual,
        ),
      ]
    } finally {
      await anvil.stop()
    }
  },
}
export default benchmark
