// Nitro's gas-benchmark scenarios (go-nitro packages/nitro-protocol/gas-benchmarks: fixtures.ts and
// benchmark.test.ts) rebuilt on our core and run against our adjudicator on anvil (issue 4), so that
// bench/gas.bench.ts compares like with like. The fixtures are Nitro's: the same three participant keys
// (public test keys from Nitro's repository, so every address and thus the calldata's zero bytes match
// Nitro's run), channels X and Y (Alice 10, Bob 0), the virtual payment channel V (Alice, Ingrid, Bob) and
// the ledger LforV (Bob, Ingrid) guaranteeing it, challengeDuration 600, turn 6, and each scenario starts
// from the same chain state (Nitro's executeAndRevert: evm_snapshot before, evm_revert after).
import { createPublicClient, createTestClient, createWalletClient, encodeAbiParameters, getContract, http, zeroAddress } from 'viem'
import type { Chain, Hash, Hex } from 'viem'
import type { Address } from '../src/core/types.js'
import { privateKeyToAccount } from 'viem/accounts'
import { NitroAdjudicator, TestToken } from '../src/chain/artifacts.js'
import type { Deployment } from '../src/chain/deploy.js'
import { ANVIL_DEPLOYER_KEY } from '../src/chain/deploy.js'
import { toFixedPart, toOnChainSignature, toSignedVariablePart } from '../src/chain/viemChainService.js'
import type { Bytes32 } from '../src/core/types.js'
import { channelId } from '../src/core/channelId.js'
import { hashState } from '../src/core/hashState.js'
import type { Allocation, Exit } from '../src/core/outcome.js'
import { AllocationType, addressToDestination, encodeOutcome } from '../src/core/outcome.js'
import { encodeGuaranteeMetadata } from '../src/core/guarantee.js'
import { privateKeyToAddress } from '../src/core/signatures.js'
import { signChallenge, signState } from '../src/core/signState.js'
import type { SignedState } from '../src/core/signedState.js'
import type { FixedPart, State } from '../src/core/state.js'
import { signVoucher } from '../src/core/voucher.js'
import { toAddress } from '../src/core/canonical.js'

/** Nitro's fixture wallets (gas-benchmarks/fixtures.ts). Fresh accounts on anvil: no ETH, no tokens. */
export const NITRO_KEYS = {
  alice: '0x277fb9e0ad81dc836c60294e385b10dfcc0a9586eeb0b1d31da92e384a0d2efa',
  bob: '0xc8774aa98410b3e3281ff1ec40ea2637d2b9280328c4d1ff00d06cd95dd42cbd',
  ingrid: '0x558789345da13a7ac1d6d6ac9275ba66836eb4a088efc1920db0f5d092d6ee71',
} as const satisfies Record<string, Hex>

const ETH: Address = toAddress(zeroAddress)
const CHALLENGE_DURATION = 600
const AMOUNT_FOR_ALICE = 10n
const PAYMENT = 1n

interface TestChannel {
  readonly fixed: FixedPart
  readonly id: Bytes32
  /** Signing keys in participant order. */
  readonly keys: readonly Hex[]
  readonly allocations: readonly Allocation[]
}

function testChannel(nonce: bigint, keys: readonly Hex[], appDefinition: Address, allocations: readonly Allocation[]): TestChannel {
  const fixed: FixedPart = { participants: keys.map(privateKeyToAddress), channelNonce: nonce, appDefinition, challengeDuration: CHALLENGE_DURATION }
  return { fixed, id: channelId(fixed), keys, allocations }
}

const simple = (key: Hex, amount: bigint): Allocation => ({ destination: addressToDestination(privateKeyToAddress(key)), amount, allocationType: AllocationType.simple, metadata: '0x' })
const outcomeOf = (allocations: readonly Allocation[], asset: Address): Exit => [{ asset, assetMetadata: { assetType: 0, metadata: '0x' }, allocations }]

/** Nitro's `someState`: turn 6, not final, empty appData, the channel's allocations in `asset`. */
function someState(channel: TestChannel, asset: Address, changes: Partial<State> = {}): State {
  return { ...channel.fixed, turnNum: 6n, isFinal: false, appData: '0x', outcome: outcomeOf(channel.allocations, asset), ...changes }
}

/** Signed by the participants whose keys are given (null: not signed), in participant order. */
function signedBy(state: State, keys: readonly (Hex | null)[]): SignedState {
  return { state, signatures: keys.map((key) => (key === null ? null : signState(state, key))) }
}

export interface Fixtures {
  readonly alice: Address
  readonly bob: Address
  readonly ingrid: Address
  readonly X: TestChannel
  readonly Y: TestChannel
  readonly V: TestChannel
  readonly LforV: TestChannel
}

/** Nitro's channels, with our deployment's app addresses. */
export function nitroFixtures(deployment: Deployment): Fixtures {
  const { alice, bob, ingrid } = NITRO_KEYS
  const aliceAndBob = [simple(alice, AMOUNT_FOR_ALICE), simple(bob, 0n)]
  const V = testChannel(5n, [alice, ingrid, bob], deployment.virtualPaymentApp, aliceAndBob)
  const guarantee: Allocation = {
    destination: V.id,
    amount: AMOUNT_FOR_ALICE,
    allocationType: AllocationType.guarantee,
    metadata: encodeGuaranteeMetadata({ left: addressToDestination(privateKeyToAddress(ingrid)), right: addressToDestination(privateKeyToAddress(bob)) }),
  }
  return {
    alice: privateKeyToAddress(alice),
    bob: privateKeyToAddress(bob),
    ingrid: privateKeyToAddress(ingrid),
    X: testChannel(2n, [alice, bob], deployment.consensusApp, aliceAndBob),
    Y: testChannel(3n, [alice, bob], deployment.consensusApp, aliceAndBob),
    V,
    LforV: testChannel(7n, [bob, ingrid], deployment.consensusApp, [simple(bob, 0n), simple(ingrid, 0n), guarantee]),
  }
}

/** The chain side: clients from anvil's deployer (Nitro sends every transaction from its deployer too). */
export function openRig(p: { rpcUrl: string; chainId: number; deployment: Deployment }) {
  const chain: Chain = { id: p.chainId, name: 'anvil', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [p.rpcUrl] } } }
  const transport = http(p.rpcUrl)
  const publicClient = createPublicClient({ chain, transport })
  const wallet = createWalletClient({ account: privateKeyToAccount(ANVIL_DEPLOYER_KEY), chain, transport })
  const testClient = createTestClient({ chain, transport, mode: 'anvil' })
  const client = { public: publicClient, wallet }
  return {
    account: wallet.account.address,
    adjudicator: getContract({ address: p.deployment.adjudicator, abi: NitroAdjudicator.abi, client }),
    token: getContract({ address: p.deployment.testToken, abi: TestToken.abi, client }),
    /** Waits for the transaction; returns its receipt's gasUsed (after refunds, as Nitro's figures are). */
    async gasOf(sent: Promise<Hash>): Promise<bigint> {
      const receipt = await publicClient.waitForTransactionReceipt({ hash: await sent })
      if (receipt.status !== 'success') throw new Error(`transaction ${receipt.transactionHash} reverted`)
      return receipt.gasUsed
    },
    /** Runs `scenario` and then puts the chain back as it was (anvil's evm_revert consumes the snapshot). */
    async isolated<T>(scenario: () => Promise<T>): Promise<T> {
      const snapshot = await testClient.snapshot()
      try {
        return await scenario()
      } finally {
        await testClient.revert({ id: snapshot })
      }
    },
    /** Moves the chain's clock past a challenge's finalizesAt and mines a block there. */
    async passTime(seconds: number): Promise<void> {
      await testClient.increaseTime({ seconds })
      await testClient.mine({ blocks: 1 })
    },
    ethBalance: (address: Address) => publicClient.getBalance({ address }),
  }
}
export type Rig = ReturnType<typeof openRig>

function expectEqual(what: string, actual: bigint, expected: bigint): void {
  if (actual !== expected) throw new Error(`${what}: ${actual}, expected ${expected}`)
}

/** Nitro's challengeChannel: the turn-6 state signed by all, challenged by participant 0. */
function challengeArgs(channel: TestChannel, state: State) {
  const signed = signedBy(state, channel.keys)
  return [toFixedPart(signed), [], toSignedVariablePart(signed), toOnChainSignature(signChallenge(state, channel.keys[0]!))] as const
}

// ---- the scenarios; each runs inside rig.isolated ----

export async function ethDeposits(rig: Rig, fx: Fixtures) {
  const first = await rig.gasOf(rig.adjudicator.write.deposit([ETH, fx.X.id, 0n, 5n], { value: 5n }))
  const second = await rig.gasOf(rig.adjudicator.write.deposit([ETH, fx.X.id, 5n, 5n], { value: 5n }))
  expectEqual('X holds', await rig.adjudicator.read.holdings([ETH, fx.X.id]), 10n)
  return { first, second }
}

/** The adjudicator already holds some of the token (for other channels), as in Nitro's setup. */
export async function erc20Deposits(rig: Rig, fx: Fixtures) {
  const token = rig.token.address
  await rig.gasOf(rig.token.write.transfer([rig.adjudicator.address, 1n]))
  const approve = await rig.gasOf(rig.token.write.approve([rig.adjudicator.address, 100n]))
  const first = await rig.gasOf(rig.adjudicator.write.deposit([token, fx.X.id, 0n, 5n]))
  // Nitro resets the allowance to zero and raises it again before the second deposit.
  await rig.gasOf(rig.token.write.approve([rig.adjudicator.address, 0n]))
  await rig.gasOf(rig.token.write.approve([rig.adjudicator.address, 100n]))
  const second = await rig.gasOf(rig.adjudicator.write.deposit([token, fx.X.id, 5n, 5n]))
  expectEqual('X holds', await rig.adjudicator.read.holdings([token, fx.X.id]), 10n)
  return { approve, first, second }
}

/** concludeAndTransferAllAssets on X's final turn-6 state, Alice 10 (a fresh account) and Bob 0. */
export async function cooperativeExitEth(rig: Rig, fx: Fixtures): Promise<bigint> {
  await rig.gasOf(rig.adjudicator.write.deposit([ETH, fx.X.id, 0n, 10n], { value: 10n }))
  const signed = signedBy(someState(fx.X, ETH, { isFinal: true }), fx.X.keys)
  const gas = await rig.gasOf(rig.adjudicator.write.concludeAndTransferAllAssets([toFixedPart(signed), toSignedVariablePart(signed)]))
  expectEqual('Alice ETH after exit', await rig.ethBalance(fx.alice), AMOUNT_FOR_ALICE)
  return gas
}

/** As cooperativeExitEth in the token, with Y also funded so the adjudicator's token balance stays non-zero. */
export async function cooperativeExitErc20(rig: Rig, fx: Fixtures): Promise<bigint> {
  const token = rig.token.address
  await rig.gasOf(rig.token.write.approve([rig.adjudicator.address, 100n]))
  await rig.gasOf(rig.adjudicator.write.deposit([token, fx.X.id, 0n, 10n]))
  await rig.gasOf(rig.adjudicator.write.deposit([token, fx.Y.id, 0n, 1n]))
  const signed = signedBy(someState(fx.X, token, { isFinal: true }), fx.X.keys)
  const gas = await rig.gasOf(rig.adjudicator.write.concludeAndTransferAllAssets([toFixedPart(signed), toSignedVariablePart(signed)]))
  expectEqual('Alice tokens after exit', await rig.token.read.balanceOf([fx.alice]), AMOUNT_FOR_ALICE)
  return gas
}

/** Nitro's ETHexitSad: Bob is gone; Alice challenges X, waits out the challenge, transfers. */
export async function sadExitDirect(rig: Rig, fx: Fixtures) {
  await rig.gasOf(rig.adjudicator.write.deposit([ETH, fx.X.id, 0n, 10n], { value: 10n }))
  const state = someState(fx.X, ETH)
  const challenge = await rig.gasOf(rig.adjudicator.write.challenge(challengeArgs(fx.X, state)))
  await rig.passTime(CHALLENGE_DURATION + 1)
  const transferAllAssets = await rig.gasOf(rig.adjudicator.write.transferAllAssets([fx.X.id, state.outcome, hashState(state)]))
  expectEqual('Alice ETH after sad exit', await rig.ethBalance(fx.alice), AMOUNT_FOR_ALICE)
  return { challenge, transferAllAssets }
}

/** Nitro's ETHClearChallenge checkpointX: X is challenged at turn 6; a turn-7 state signed by both clears it. */
export async function checkpointClearingChallenge(rig: Rig, fx: Fixtures): Promise<bigint> {
  await rig.gasOf(rig.adjudicator.write.deposit([ETH, fx.X.id, 0n, 10n], { value: 10n }))
  await rig.gasOf(rig.adjudicator.write.challenge(challengeArgs(fx.X, someState(fx.X, ETH))))
  const signed = signedBy(someState(fx.X, ETH, { turnNum: 7n }), fx.X.keys)
  const gas = await rig.gasOf(rig.adjudicator.write.checkpoint([toFixedPart(signed), [], toSignedVariablePart(signed)]))
  const [turnNumRecord, finalizesAt] = await rig.adjudicator.read.unpackStatus([fx.X.id])
  if (turnNumRecord !== 7 || finalizesAt !== 0) throw new Error(`checkpoint left turnNumRecord ${turnNumRecord}, finalizesAt ${finalizesAt}`)
  return gas
}

/**
 * Nitro's ETHexitSadVirtualFunded: Ingrid is gone. Bob challenges the ledger LforV and (with Alice's
 * voucher for 1) the virtual channel V; after both time out, reclaim moves V's outcome into the ledger's
 * guarantee and transferAllAssets pays Bob 1 and Ingrid 9.
 */
export async function sadExitVirtual(rig: Rig, fx: Fixtures) {
  const { V, LforV } = fx
  const { alice, bob } = NITRO_KEYS
  // One deposit stands for Bob's and Ingrid's (as in Nitro).
  await rig.gasOf(rig.adjudicator.write.deposit([ETH, LforV.id, 0n, AMOUNT_FOR_ALICE], { value: AMOUNT_FOR_ALICE }))
  const ledgerState = someState(LforV, ETH)
  const challengeLedger = await rig.gasOf(rig.adjudicator.write.challenge(challengeArgs(LforV, ledgerState)))

  const postfund = signedBy(someState(V, ETH, { turnNum: 1n }), V.keys)
  const voucher = toOnChainSignature(signVoucher(V.id, PAYMENT, alice), 'voucher')
  // VirtualPaymentApp's appData: abi.encode(uint256 amount, (uint8 v, bytes32 r, bytes32 s)).
  const appData = encodeAbiParameters([{ type: 'uint256' }, { type: 'uint8' }, { type: 'bytes32' }, { type: 'bytes32' }], [PAYMENT, voucher.v, voucher.r, voucher.s])
  const redeemed = outcomeOf([simple(alice, AMOUNT_FOR_ALICE - PAYMENT), simple(bob, PAYMENT)], ETH)
  const redemption = someState(V, ETH, { turnNum: 2n, appData, outcome: redeemed })
  const byBob = signedBy(redemption, [null, null, bob])
  const challengeVirtual = await rig.gasOf(
    rig.adjudicator.write.challenge([toFixedPart(byBob), [toSignedVariablePart(postfund)], toSignedVariablePart(byBob), toOnChainSignature(signChallenge(redemption, bob))]),
  )

  await rig.passTime(CHALLENGE_DURATION + 1)
  const reclaim = await rig.gasOf(
    rig.adjudicator.write.reclaim([
      {
        sourceChannelId: LforV.id,
        sourceStateHash: hashState(ledgerState),
        sourceOutcomeBytes: encodeOutcome(ledgerState.outcome),
        sourceAssetIndex: 0n,
        indexOfTargetInSource: 2n,
        targetStateHash: hashState(redemption),
        targetOutcomeBytes: encodeOutcome(redemption.outcome),
        targetAssetIndex: 0n,
      },
    ]),
  )
  // reclaim's effect on the ledger (Nitro's computeReclaimEffects): the guarantee is gone, its left
  // (Ingrid) gets Alice's remainder and its right (Bob) the payment; the stored state hash is unchanged.
  const [toBob, toIngrid] = LforV.allocations as [Allocation, Allocation, Allocation]
  const reclaimed = outcomeOf([{ ...toBob, amount: PAYMENT }, { ...toIngrid, amount: AMOUNT_FOR_ALICE - PAYMENT }], ETH)
  const transferLedger = await rig.gasOf(rig.adjudicator.write.transferAllAssets([LforV.id, reclaimed, hashState(ledgerState)]))
  expectEqual('Bob ETH after virtual sad exit', await rig.ethBalance(fx.bob), PAYMENT)
  expectEqual('Ingrid ETH after virtual sad exit', await rig.ethBalance(fx.ingrid), AMOUNT_FOR_ALICE - PAYMENT)
  return { challengeLedger, challengeVirtual, reclaim, transferLedger }
}
