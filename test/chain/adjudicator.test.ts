// The adjudicator on a real chain (issue 4, docs/adr/0008-contracts.md): every function's happy path with
// the events it emits and balances checked to the wei, the apps' rules through stateIsSupported, and the
// attack list of issue 4, each refused with its revert reason decoded from the error.
//
// One anvil for the file, the contracts deployed once in beforeAll; every test starts from the same
// snapshot (evm_snapshot before, evm_revert after), so tests are independent and any one runs alone.
// Transactions are sent by `relayer` (anvil's funded account 0) unless a participant sends them; then its
// balance is checked net of gas (receipt.gasUsed * receipt.effectiveGasPrice).
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createTestClient,
  createWalletClient,
  decodeErrorResult,
  encodeAbiParameters,
  encodeFunctionData,
  http,
  keccak256,
  maxUint256,
  parseEventLogs,
  recoverAddress,
  hashMessage,
  toHex,
  zeroAddress,
} from 'viem'
import type { ContractFunctionArgs, ContractFunctionName, ContractFunctionReturnType, PrivateKeyAccount, TransactionReceipt } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import type { Address, Bytes32, Hex } from '../../src/core/types.js'
import type { Allocation, Exit, SingleAssetExit } from '../../src/core/outcome.js'
import { addressToDestination, encodeOutcome, AllocationType } from '../../src/core/outcome.js'
import type { FixedPart, State } from '../../src/core/state.js'
import { channelId } from '../../src/core/channelId.js'
import { hashState } from '../../src/core/hashState.js'
import { signChallenge, signState } from '../../src/core/signState.js'
import { signHash } from '../../src/core/signatures.js'
import { signVoucher } from '../../src/core/voucher.js'
import { encodeGuaranteeMetadata } from '../../src/core/guarantee.js'
import { SECP256K1_N } from '../../src/core/limits.js'
import type { Anvil } from '../../src/chain/anvil.js'
import { startAnvil } from '../../src/chain/anvil.js'
import type { Deployment } from '../../src/chain/deploy.js'
import { ANVIL_DEPLOYER_KEY, deployContracts } from '../../src/chain/deploy.js'
import { NitroAdjudicator, ReentrantToken, TestToken } from '../../src/chain/artifacts.js'
import type { OnChainSignature } from '../../src/chain/viemChainService.js'
import { toFixedPart, toOnChainSignature, toSignedVariablePart } from '../../src/chain/viemChainService.js'
import { toAddress, toBytes32 } from '../../src/core/canonical.js'

// ---- actors: channel keys of our own, funded with 100 ETH each; the relayer is anvil's account 0 ----

interface Actor {
  readonly key: Hex
  readonly account: PrivateKeyAccount
  readonly address: Address
  readonly destination: Bytes32
}
function actor(byte: string): Actor {
  const key = `0x${byte.repeat(32)}` as Hex
  const account = privateKeyToAccount(key)
  return { key, account, address: toAddress(account.address), destination: addressToDestination(toAddress(account.address)) }
}
const alice = actor('a1')
const bob = actor('b0')
const irene = actor('1e')
const eve = actor('e5') // never a participant
const relayer = privateKeyToAccount(ANVIL_DEPLOYER_KEY)
const START_BALANCE = 100n * 10n ** 18n

const ETH: Address = toAddress(zeroAddress)
const ZERO32: Bytes32 = toBytes32(`0x${'00'.repeat(32)}`)
const DURATION = 60
const PANIC_OVERFLOW = 'Arithmetic operation resulted in underflow or overflow.'
const adjAbi = NitroAdjudicator.abi
type AdjAbi = typeof adjAbi

let anvil: Anvil
let deployment: Deployment
let adjudicator: Address
let token: Address
let reentrantToken: Address
let snapshot: Hex

const clientsOf = (url: string) => ({
  pub: createPublicClient({ chain: foundry, transport: http(url), pollingInterval: 10 }),
  wallet: createWalletClient({ chain: foundry, transport: http(url) }),
  testClient: createTestClient({ chain: foundry, transport: http(url), mode: 'anvil' }),
})
let clients: ReturnType<typeof clientsOf>

beforeAll(async () => {
  anvil = await startAnvil({ port: 0 })
  deployment = await deployContracts({ rpcUrl: anvil.url, chainId: anvil.chainId })
  clients = clientsOf(anvil.url)
  adjudicator = deployment.adjudicator
  token = deployment.testToken
  const hash = await clients.wallet.deployContract({ account: relayer, abi: ReentrantToken.abi, bytecode: ReentrantToken.bytecode })
  reentrantToken = toAddress((await clients.pub.waitForTransactionReceipt({ hash })).contractAddress!)
  for (const a of [alice, bob, irene, eve]) await clients.testClient.setBalance({ address: a.address, value: START_BALANCE })
  // The relayer holds tokens of both kinds and lets the adjudicator pull them.
  for (const t of [token, reentrantToken]) {
    await sendTo(t, TestToken.abi, 'mint', [relayer.address, 10n ** 24n])
    await sendTo(t, TestToken.abi, 'approve', [adjudicator, maxUint256])
  }
}, 60_000)
afterAll(async () => {
  await anvil?.stop()
})
beforeEach(async () => {
  snapshot = await clients.testClient.snapshot()
})
afterEach(async () => {
  await clients.testClient.revert({ id: snapshot })
})

// ---- transactions and calls ----

type Writable = ContractFunctionName<AdjAbi, 'nonpayable' | 'payable'>
type ArgsOf<F extends Writable> = ContractFunctionArgs<AdjAbi, 'nonpayable' | 'payable', F>
type Readable = ContractFunctionName<AdjAbi, 'view' | 'pure'>
interface From {
  readonly from?: PrivateKeyAccount
  readonly value?: bigint
  /** A fixed gas limit skips estimation, so a reverting transaction is mined (and reported by its receipt). */
  readonly gas?: bigint
}

/** Sends an adjudicator transaction and returns its receipt; throws unless it succeeded (or `gas` is given). */
async function send<F extends Writable>(functionName: F, args: ArgsOf<F>, { from = relayer, value, gas }: From = {}): Promise<TransactionReceipt> {
  const hash = await clients.wallet.writeContract({ account: from, address: adjudicator, abi: adjAbi, functionName, args, value, gas } as never)
  const receipt = await clients.pub.waitForTransactionReceipt({ hash })
  if (gas === undefined) expect(receipt.status).toBe('success')
  return receipt
}

/** Any contract's transaction (tokens), by the relayer unless said otherwise. */
async function sendTo(address: Address, abi: readonly unknown[], functionName: string, args: readonly unknown[], from: PrivateKeyAccount = relayer): Promise<TransactionReceipt> {
  const hash = await clients.wallet.writeContract({ account: from, address, abi, functionName, args } as never)
  const receipt = await clients.pub.waitForTransactionReceipt({ hash })
  expect(receipt.status).toBe('success')
  return receipt
}

/** The revert reason of an adjudicator call that must fail (simulated against the latest block). */
async function refusal<F extends Writable>(functionName: F, args: ArgsOf<F>, { from = relayer, value }: From = {}): Promise<string> {
  return reasonOf(clients.pub.simulateContract({ account: from, address: adjudicator, abi: adjAbi, functionName, args, value } as never))
}

async function reasonOf(call: Promise<unknown>): Promise<string> {
  try {
    await call
  } catch (error) {
    const reverted = error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : null
    if (reverted instanceof ContractFunctionRevertedError && reverted.reason !== undefined) return reverted.reason
    throw error
  }
  throw new Error('the call succeeded; expected a revert')
}

function read<F extends Readable>(functionName: F, args: ContractFunctionArgs<AdjAbi, 'view' | 'pure', F>): Promise<ContractFunctionReturnType<AdjAbi, 'view' | 'pure', F>> {
  return clients.pub.readContract({ address: adjudicator, abi: adjAbi, functionName, args } as never) as never
}

const holdings = (asset: Address, id: Bytes32) => read('holdings', [asset, id])

async function balanceOf(asset: Address, owner: Address): Promise<bigint> {
  if (asset === ETH) return clients.pub.getBalance({ address: owner })
  return clients.pub.readContract({ address: asset, abi: TestToken.abi, functionName: 'balanceOf', args: [owner] })
}
const balancesOf = (asset: Address, owners: readonly Address[]) => Promise.all(owners.map((o) => balanceOf(asset, o)))

const gasCost = (receipt: TransactionReceipt) => receipt.gasUsed * receipt.effectiveGasPrice

/** The adjudicator's events in a receipt, in order, as { eventName, args }. */
function eventsOf(receipt: TransactionReceipt) {
  const own = receipt.logs.filter((log) => log.address.toLowerCase() === adjudicator.toLowerCase())
  return parseEventLogs({ abi: adjAbi, logs: own }).map(({ eventName, args }) => ({ eventName, args }))
}

async function timestampOf(receipt: TransactionReceipt): Promise<number> {
  return Number((await clients.pub.getBlock({ blockNumber: receipt.blockNumber })).timestamp)
}

async function passTime(seconds = DURATION): Promise<void> {
  await clients.testClient.increaseTime({ seconds })
  await clients.testClient.mine({ blocks: 1 })
}

/** test.each rows as [name, row], so that a title shows the whole name ('$name' cuts it at 40 characters). */
function named<T extends { readonly name: string }>(rows: readonly T[]): (readonly [string, T])[] {
  return rows.map((row) => [row.name, row] as const)
}

// ---- channels, states, signatures ----

let nextNonce = 1n
function channel(participants: readonly Actor[], appDefinition: Address = deployment.consensusApp, challengeDuration = DURATION): FixedPart {
  return { participants: participants.map((p) => p.address), channelNonce: nextNonce++, appDefinition, challengeDuration }
}

const simple = (destination: Bytes32, amount: bigint): Allocation => ({ destination, amount, allocationType: 0, metadata: '0x' })
const guarantee = (target: Bytes32, amount: bigint, left: Actor, right: Actor): Allocation => ({
  destination: target,
  amount,
  allocationType: AllocationType.guarantee,
  metadata: encodeGuaranteeMetadata({ left: left.destination, right: right.destination }),
})
const exit = (asset: Address, allocations: readonly Allocation[]): SingleAssetExit => ({ asset, assetMetadata: { assetType: 0, metadata: '0x' }, allocations })
/** A one-asset outcome paying each actor the amount paired with it, in this order. */
const pays = (asset: Address, ...pairs: readonly (readonly [Actor, bigint])[]): Exit => [exit(asset, pairs.map(([a, amount]) => simple(a.destination, amount)))]

function state(fixed: FixedPart, turnNum: number, outcome: Exit, { isFinal = false, appData = '0x' as Hex } = {}): State {
  return { ...fixed, outcome, appData, turnNum: BigInt(turnNum), isFinal }
}

const sign = (hash: Bytes32, by: Actor): OnChainSignature => toOnChainSignature(signHash(hash, by.key))
/** The state as the adjudicator's SignedVariablePart, with the signatures of `signers` in that order. */
function signed(s: State, signers: readonly Actor[]) {
  const { variablePart } = toSignedVariablePart({ state: s, signatures: [] })
  return { variablePart, sigs: signers.map((by) => toOnChainSignature(signState(s, by.key))) }
}
const challengerSig = (s: State, by: Actor) => toOnChainSignature(signChallenge(s, by.key))
const fixedOf = (s: State) => toFixedPart({ state: s, signatures: [] })

/** The malleated twin of a low-s signature: s' = n - s, v flipped. ecrecover accepts it for the same signer. */
function highS(sig: OnChainSignature): OnChainSignature {
  return { v: sig.v === 27 ? 28 : 27, r: sig.r, s: toHex(SECP256K1_N - BigInt(sig.s), { size: 32 }) }
}

const outcomeHash = (outcome: Exit) => keccak256(encodeOutcome(outcome))
/** The status word's fingerprint: the low 160 bits of keccak256(abi.encode(stateHash, outcomeHash)). */
function fingerprintOf(stateHash: Bytes32, outcomeHash: Bytes32): bigint {
  const both = encodeAbiParameters([{ type: 'bytes32' }, { type: 'bytes32' }], [stateHash, outcomeHash])
  return BigInt(keccak256(both)) & ((1n << 160n) - 1n)
}
const fingerprint = (stateHash: Bytes32, outcome: Exit) => fingerprintOf(stateHash, toBytes32(outcomeHash(outcome)))
/** What checkpoint stores, as Nitro v2 does: the fingerprint of a zero state hash and a zero outcome hash. */
const CHECKPOINT_FINGERPRINT = fingerprintOf(ZERO32, ZERO32)
const packStatus = (turnNumRecord: number, finalizesAt: number, print: bigint): Hex =>
  toHex((BigInt(turnNumRecord) << 208n) | (BigInt(finalizesAt) << 160n) | print, { size: 32 })

// ---- scenarios ----

/** A channel between `participants` with each asset's amount deposited by the relayer. */
async function funded(participants: readonly Actor[], amounts: Partial<Record<Address, bigint>>) {
  const fixed = channel(participants)
  const id = channelId(fixed)
  for (const [asset, amount] of Object.entries(amounts) as [Address, bigint][]) {
    await send('deposit', [asset, id, await holdings(asset, id), amount], { value: asset === ETH ? amount : 0n })
  }
  return { fixed, id }
}

/** Registers a challenge with `s` signed by `signers`, `challenger` signing the challenge; returns finalizesAt. */
async function challengeWith(s: State, signers: readonly Actor[], challenger: Actor) {
  const receipt = await send('challenge', [fixedOf(s), [], signed(s, signers), challengerSig(s, challenger)])
  return { receipt, finalizesAt: (await timestampOf(receipt)) + s.challengeDuration }
}

/** A funded channel (alice, bob) finalized with `outcome`: by a challenge at turn 5 that timed out, or by conclude. */
async function finalizedChannel(amounts: Partial<Record<Address, bigint>>, outcome: Exit, how: 'challenge' | 'conclude') {
  const { fixed, id } = await funded([alice, bob], amounts)
  const s = state(fixed, how === 'challenge' ? 5 : 4, outcome, { isFinal: how === 'conclude' })
  if (how === 'challenge') {
    await challengeWith(s, [alice, bob], alice)
    await passTime()
  } else {
    await send('conclude', [fixedOf(s), signed(s, [alice, bob])])
  }
  // conclude stores the fingerprint of (0, outcomeHash), as Nitro does; a challenge the candidate's hash
  const stateHash = how === 'challenge' ? hashState(s) : ZERO32
  return { fixed, id, s, stateHash }
}

// =====================================================================================================

describe('deposit', () => {
  test('ETH: a first and a second deposit add up; each depositor pays exactly the amount plus gas', async () => {
    const id = channelId(channel([alice, bob]))
    const [aliceBefore, bobBefore] = await balancesOf(ETH, [alice.address, bob.address])

    const first = await send('deposit', [ETH, id, 0n, 3n * 10n ** 17n], { from: alice.account, value: 3n * 10n ** 17n })
    expect(eventsOf(first)).toEqual([{ eventName: 'Deposited', args: { destination: id, asset: ETH, destinationHoldings: 3n * 10n ** 17n } }])
    const second = await send('deposit', [ETH, id, 3n * 10n ** 17n, 5n * 10n ** 17n], { from: bob.account, value: 5n * 10n ** 17n })
    expect(eventsOf(second)).toEqual([{ eventName: 'Deposited', args: { destination: id, asset: ETH, destinationHoldings: 8n * 10n ** 17n } }])

    expect(await holdings(ETH, id)).toBe(8n * 10n ** 17n)
    expect(await balanceOf(ETH, adjudicator)).toBe(8n * 10n ** 17n)
    expect(await balanceOf(ETH, alice.address)).toBe(aliceBefore! - 3n * 10n ** 17n - gasCost(first))
    expect(await balanceOf(ETH, bob.address)).toBe(bobBefore! - 5n * 10n ** 17n - gasCost(second))
  })

  test('ERC20: the adjudicator pulls the approved tokens; the depositor pays only gas in ETH', async () => {
    const id = channelId(channel([alice, bob]))
    await sendTo(token, TestToken.abi, 'mint', [alice.address, 100n])
    const ethBefore = await balanceOf(ETH, alice.address)

    const approve = await sendTo(token, TestToken.abi, 'approve', [adjudicator, 80n], alice.account)
    const first = await send('deposit', [token, id, 0n, 30n], { from: alice.account })
    expect(eventsOf(first)).toEqual([{ eventName: 'Deposited', args: { destination: id, asset: token, destinationHoldings: 30n } }])
    const second = await send('deposit', [token, id, 30n, 20n], { from: alice.account })
    expect(eventsOf(second)).toEqual([{ eventName: 'Deposited', args: { destination: id, asset: token, destinationHoldings: 50n } }])

    expect(await holdings(token, id)).toBe(50n)
    expect(await holdings(ETH, id)).toBe(0n)
    expect(await balancesOf(token, [alice.address, adjudicator])).toEqual([50n, 50n])
    expect(await clients.pub.readContract({ address: token, abi: TestToken.abi, functionName: 'allowance', args: [alice.address, adjudicator] })).toBe(30n)
    expect(await balanceOf(ETH, alice.address)).toBe(ethBefore - gasCost(approve) - gasCost(first) - gasCost(second))
  })
})

describe('challenge', () => {
  test('registers a supported candidate with a participant challenger: event, status word, finalization after the duration', async () => {
    const { fixed, id } = await funded([alice, bob], { [ETH]: 10n })
    const s = state(fixed, 5, pays(ETH, [alice, 6n], [bob, 4n]))
    const candidate = signed(s, [alice, bob])

    const receipt = await send('challenge', [fixedOf(s), [], candidate, challengerSig(s, bob)])
    const finalizesAt = (await timestampOf(receipt)) + DURATION
    expect(eventsOf(receipt)).toEqual([{ eventName: 'ChallengeRegistered', args: { channelId: id, finalizesAt, proof: [], candidate } }])
    const print = fingerprint(hashState(s), s.outcome)
    expect(await read('unpackStatus', [id])).toEqual([5, finalizesAt, print])
    expect(await read('statusOf', [id])).toBe(packStatus(5, finalizesAt, print))

    // In challenge: no payout yet. Once the duration has passed: no newer state answers it, and it pays.
    expect(await refusal('transferAllAssets', [id, s.outcome, hashState(s)])).toBe('Channel not finalized.')
    await passTime()
    expect(await refusal('checkpoint', [fixedOf(s), [], signed(state(fixed, 6, s.outcome), [alice, bob])])).toBe('Channel finalized.')
    await send('transferAllAssets', [id, s.outcome, hashState(s)])
    expect(await holdings(ETH, id)).toBe(0n)
  })

  test('the challenge finalizes exactly at finalizesAt: a payout one second earlier reverts on chain, at finalizesAt it pays', async () => {
    const { fixed, id } = await funded([alice, bob], { [ETH]: 10n })
    const s = state(fixed, 5, pays(ETH, [alice, 6n], [bob, 4n]))
    const { finalizesAt } = await challengeWith(s, [alice, bob], alice)

    await clients.testClient.setNextBlockTimestamp({ timestamp: BigInt(finalizesAt - 1) })
    const early = await send('transferAllAssets', [id, s.outcome, hashState(s)], { gas: 500_000n })
    expect(early.status).toBe('reverted')
    expect(await holdings(ETH, id)).toBe(10n)

    await clients.testClient.setNextBlockTimestamp({ timestamp: BigInt(finalizesAt) })
    const onTime = await send('transferAllAssets', [id, s.outcome, hashState(s)], { gas: 500_000n })
    expect(onTime.status).toBe('success')
    expect(await holdings(ETH, id)).toBe(0n)
  })
})

describe('checkpoint', () => {
  test('of an open channel records the turn and emits Checkpointed', async () => {
    const { fixed, id } = await funded([alice, bob], { [ETH]: 10n })
    const s = state(fixed, 3, pays(ETH, [alice, 5n], [bob, 5n]))
    const receipt = await send('checkpoint', [fixedOf(s), [], signed(s, [bob, alice])])
    expect(eventsOf(receipt)).toEqual([{ eventName: 'Checkpointed', args: { channelId: id, newTurnNumRecord: 3 } }])
    expect(await read('unpackStatus', [id])).toEqual([3, 0, CHECKPOINT_FINGERPRINT])
    expect(await read('statusOf', [id])).toBe(packStatus(3, 0, CHECKPOINT_FINGERPRINT))
  })

  test('during a challenge clears it and emits ChallengeCleared; the channel is open again', async () => {
    const { fixed, id } = await funded([alice, bob], { [ETH]: 10n })
    const s5 = state(fixed, 5, pays(ETH, [alice, 6n], [bob, 4n]))
    await challengeWith(s5, [alice, bob], alice)
    const s6 = state(fixed, 6, pays(ETH, [alice, 3n], [bob, 7n]))

    const receipt = await send('checkpoint', [fixedOf(s6), [], signed(s6, [alice, bob])])
    expect(eventsOf(receipt)).toEqual([{ eventName: 'ChallengeCleared', args: { channelId: id, newTurnNumRecord: 6 } }])
    expect(await read('unpackStatus', [id])).toEqual([6, 0, CHECKPOINT_FINGERPRINT])
    await passTime()
    expect(await refusal('transferAllAssets', [id, s5.outcome, hashState(s5)])).toBe('Channel not finalized.')
  })
})

describe('conclude', () => {
  test('finalizes at once with a final state everyone signed; transferAllAssets then pays it', async () => {
    const { fixed, id } = await funded([alice, bob], { [ETH]: 10n })
    const s = state(fixed, 4, pays(ETH, [alice, 3n], [bob, 7n]), { isFinal: true })

    const receipt = await send('conclude', [fixedOf(s), signed(s, [alice, bob])])
    const now = await timestampOf(receipt)
    expect(eventsOf(receipt)).toEqual([{ eventName: 'Concluded', args: { channelId: id, finalizesAt: now } }])
    expect(await read('unpackStatus', [id])).toEqual([0, now, fingerprint(ZERO32, s.outcome)])

    const before = await balancesOf(ETH, [alice.address, bob.address])
    const payout = await send('transferAllAssets', [id, s.outcome, ZERO32])
    expect(eventsOf(payout)).toEqual([{ eventName: 'AllocationUpdated', args: { channelId: id, assetIndex: 0n, initialHoldings: 10n, finalHoldings: 0n } }])
    expect(await balancesOf(ETH, [alice.address, bob.address])).toEqual([before[0]! + 3n, before[1]! + 7n])
    expect(await read('statusOf', [id])).toBe(ZERO32)
    expect(await holdings(ETH, id)).toBe(0n)
  })

  test('answers a challenge in progress: the final outcome replaces the challenged one', async () => {
    const { fixed, id } = await funded([alice, bob], { [ETH]: 10n })
    await challengeWith(state(fixed, 5, pays(ETH, [alice, 10n], [bob, 0n])), [alice, bob], alice)
    const s = state(fixed, 9, pays(ETH, [alice, 2n], [bob, 8n]), { isFinal: true })
    const receipt = await send('conclude', [fixedOf(s), signed(s, [alice, bob])])
    expect(await read('unpackStatus', [id])).toEqual([0, await timestampOf(receipt), fingerprint(ZERO32, s.outcome)])
  })
})

describe('transfer', () => {
  test('pays only the selected allocations, each covered in priority order, and stores what is left to pay', async () => {
    const { id, s } = await finalizedChannel({ [ETH]: 7n }, pays(ETH, [alice, 5n], [bob, 5n]), 'conclude')
    const before = await balancesOf(ETH, [alice.address, bob.address])
    const [, finalizesAt] = await read('unpackStatus', [id])

    // Bob's allocation comes after Alice's 5: of 7 held, 2 cover it.
    const bobPaid = await send('transfer', [0n, id, encodeOutcome(s.outcome), ZERO32, [1n]])
    expect(eventsOf(bobPaid)).toEqual([{ eventName: 'AllocationUpdated', args: { channelId: id, assetIndex: 0n, initialHoldings: 7n, finalHoldings: 5n } }])
    expect(await balancesOf(ETH, [alice.address, bob.address])).toEqual([before[0]!, before[1]! + 2n])
    const left = pays(ETH, [alice, 5n], [bob, 3n])
    expect(await read('unpackStatus', [id])).toEqual([0, finalizesAt, fingerprint(ZERO32, left)])

    const alicePaid = await send('transfer', [0n, id, encodeOutcome(left), ZERO32, [0n]])
    expect(eventsOf(alicePaid)).toEqual([{ eventName: 'AllocationUpdated', args: { channelId: id, assetIndex: 0n, initialHoldings: 5n, finalHoldings: 0n } }])
    expect(await balancesOf(ETH, [alice.address, bob.address])).toEqual([before[0]! + 5n, before[1]! + 2n])
    expect(await read('unpackStatus', [id])).toEqual([0, finalizesAt, fingerprint(ZERO32, pays(ETH, [alice, 0n], [bob, 3n]))])
    expect(await holdings(ETH, id)).toBe(0n)
  })

  test('can select an allocation behind a guarantee (Nitro v2 checks the k-th allocation instead), never the guarantee itself', async () => {
    const target = channelId(channel([alice, irene, bob], deployment.virtualPaymentApp))
    const outcome: Exit = [exit(ETH, [guarantee(target, 2n, alice, bob), simple(bob.destination, 3n)])]
    const { id } = await finalizedChannel({ [ETH]: 5n }, outcome, 'conclude')
    const bobBefore = await balanceOf(ETH, bob.address)

    expect(await refusal('transfer', [0n, id, encodeOutcome(outcome), ZERO32, [0n]])).toBe('cannot transfer a guarantee')
    expect(await refusal('transferAllAssets', [id, outcome, ZERO32])).toBe('cannot transfer a guarantee')
    await send('transfer', [0n, id, encodeOutcome(outcome), ZERO32, [1n]])
    expect(await balanceOf(ETH, bob.address)).toBe(bobBefore + 3n)
    expect(await holdings(ETH, id)).toBe(2n)
  })

  const outcome57: Exit = pays(ETH, [alice, 5n], [bob, 5n])
  test.each(named([
    { name: 'an index past the last allocation', assetIndex: 0n, outcome: outcome57, stateHash: ZERO32, indices: [1n, 2n], reason: 'Index out of range' },
    { name: 'indices out of order', assetIndex: 0n, outcome: outcome57, stateHash: ZERO32, indices: [1n, 0n], reason: 'Indices must be sorted' },
    { name: 'an index twice', assetIndex: 0n, outcome: outcome57, stateHash: ZERO32, indices: [1n, 1n], reason: 'Indices must be sorted' },
    { name: 'an asset index past the outcome', assetIndex: 1n, outcome: outcome57, stateHash: ZERO32, indices: [0n], reason: 'assetIndex out of range' },
    { name: 'an outcome other than the finalized one', assetIndex: 0n, outcome: pays(ETH, [alice, 0n], [bob, 10n]), stateHash: ZERO32, indices: [1n], reason: 'incorrect fingerprint' },
    { name: 'a state hash other than the finalized one', assetIndex: 0n, outcome: outcome57, stateHash: `0x${'11'.repeat(32)}` as Bytes32, indices: [1n], reason: 'incorrect fingerprint' },
  ]))('refuses %s', async (_name, { assetIndex, outcome, stateHash, indices, reason }) => {
    const { id } = await finalizedChannel({ [ETH]: 7n }, outcome57, 'conclude')
    expect(await refusal('transfer', [assetIndex, id, encodeOutcome(outcome), stateHash, indices])).toBe(reason)
  })
})

describe('transferAllAssets', () => {
  test('after a challenge times out pays every allocation of every asset and clears the status; alice pays its gas', async () => {
    const outcome: Exit = [...pays(ETH, [alice, 6n], [bob, 4n]), ...pays(token, [alice, 1n], [bob, 9n])]
    const { id, s, stateHash } = await finalizedChannel({ [ETH]: 10n, [token]: 10n }, outcome, 'challenge')
    const ethBefore = await balancesOf(ETH, [alice.address, bob.address])
    const tokensBefore = await balancesOf(token, [alice.address, bob.address])

    const receipt = await send('transferAllAssets', [id, s.outcome, stateHash], { from: alice.account })
    expect(eventsOf(receipt)).toEqual([
      { eventName: 'AllocationUpdated', args: { channelId: id, assetIndex: 0n, initialHoldings: 10n, finalHoldings: 0n } },
      { eventName: 'AllocationUpdated', args: { channelId: id, assetIndex: 1n, initialHoldings: 10n, finalHoldings: 0n } },
    ])
    expect(await balancesOf(ETH, [alice.address, bob.address])).toEqual([ethBefore[0]! + 6n - gasCost(receipt), ethBefore[1]! + 4n])
    expect(await balancesOf(token, [alice.address, bob.address])).toEqual([tokensBefore[0]! + 1n, tokensBefore[1]! + 9n])
    expect(await read('statusOf', [id])).toBe(ZERO32)
    expect([await holdings(ETH, id), await holdings(token, id)]).toEqual([0n, 0n])
  })

  test('of an underfunded outcome pays in priority order, keeps the rest payable, and pays it after a top-up', async () => {
    const { id, s, stateHash } = await finalizedChannel({ [ETH]: 7n }, pays(ETH, [alice, 5n], [bob, 5n]), 'challenge')
    const [turnNumRecord, finalizesAt] = await read('unpackStatus', [id])
    const before = await balancesOf(ETH, [alice.address, bob.address])

    await send('transferAllAssets', [id, s.outcome, stateHash])
    const rest = pays(ETH, [alice, 0n], [bob, 3n])
    expect(await read('unpackStatus', [id])).toEqual([turnNumRecord, finalizesAt, fingerprint(stateHash, rest)])
    expect(await balancesOf(ETH, [alice.address, bob.address])).toEqual([before[0]! + 5n, before[1]! + 2n])

    await send('deposit', [ETH, id, 0n, 3n], { value: 3n })
    await send('transferAllAssets', [id, rest, stateHash])
    expect(await balancesOf(ETH, [alice.address, bob.address])).toEqual([before[0]! + 5n, before[1]! + 5n])
    expect(await read('statusOf', [id])).toBe(ZERO32)
  })
})

describe('concludeAndTransferAllAssets', () => {
  test('a cooperative close concludes and pays every asset in one transaction, and clears the status', async () => {
    const { fixed, id } = await funded([alice, bob], { [ETH]: 10n, [token]: 6n })
    const s = state(fixed, 4, [...pays(ETH, [alice, 4n], [bob, 6n]), ...pays(token, [bob, 6n])], { isFinal: true })
    const ethBefore = await balancesOf(ETH, [alice.address, bob.address])
    const tokensBefore = await balancesOf(token, [alice.address, bob.address])

    const receipt = await send('concludeAndTransferAllAssets', [fixedOf(s), signed(s, [alice, bob])])
    expect(eventsOf(receipt)).toEqual([
      { eventName: 'Concluded', args: { channelId: id, finalizesAt: await timestampOf(receipt) } },
      { eventName: 'AllocationUpdated', args: { channelId: id, assetIndex: 0n, initialHoldings: 10n, finalHoldings: 0n } },
      { eventName: 'AllocationUpdated', args: { channelId: id, assetIndex: 1n, initialHoldings: 6n, finalHoldings: 0n } },
    ])
    expect(await balancesOf(ETH, [alice.address, bob.address])).toEqual([ethBefore[0]! + 4n, ethBefore[1]! + 6n])
    expect(await balancesOf(token, [alice.address, bob.address])).toEqual([tokensBefore[0]!, tokensBefore[1]! + 6n])
    expect(await read('statusOf', [id])).toBe(ZERO32)
    expect([await holdings(ETH, id), await holdings(token, id)]).toEqual([0n, 0n])
  })
})

// ---- virtual channels: V = (alice, irene, bob) funded by guarantees in two ledgers ----

const VOUCHER_ABI = [
  {
    type: 'tuple',
    components: [
      { name: 'amount', type: 'uint256' },
      { name: 'signature', type: 'tuple', components: [{ name: 'v', type: 'uint8' }, { name: 'r', type: 'bytes32' }, { name: 's', type: 'bytes32' }] },
    ],
  },
] as const
/** appData of a redemption: abi.encode((amount, (v, r, s))), a voucher over keccak256(abi.encode(channelId, amount)). */
const voucherAppData = (amount: bigint, signature: OnChainSignature): Hex => encodeAbiParameters(VOUCHER_ABI, [{ amount, signature }])
const voucher = (id: Bytes32, amount: bigint, by: Actor): OnChainSignature => toOnChainSignature(signVoucher(id, amount, by.key))

/** V's postfund (alice 10, bob 0, unanimous) and bob's turn-2 redemption of alice's voucher for 3. */
function virtualChannel() {
  const fixed = channel([alice, irene, bob], deployment.virtualPaymentApp)
  const id = channelId(fixed)
  const postfund = state(fixed, 1, pays(ETH, [alice, 10n], [bob, 0n]))
  const redemption = state(fixed, 2, pays(ETH, [alice, 7n], [bob, 3n]), { appData: voucherAppData(3n, voucher(id, 3n, alice)) })
  return { fixed, id, postfund, redemption, proof: [signed(postfund, [alice, irene, bob])] }
}

describe('reclaim', () => {
  /**
   * Ledger (x, y) holding 25: x 5, y 10, and a guarantee of 10 for V naming left and right; V finalized by
   * bob's redemption (alice 7, bob 3); both challenged and timed out unless told otherwise.
   */
  async function virtualScenario(left: Actor, right: Actor, { ledgerFinal = true, virtualFinal = true } = {}) {
    const v = virtualChannel()
    const ledger = await funded([left, right], { [ETH]: 25n })
    const lState = state(ledger.fixed, 7, [exit(ETH, [simple(right.destination, 10n), simple(left.destination, 5n), guarantee(v.id, 10n, left, right)])])
    const challengeV = () => send('challenge', [v.fixed, v.proof, signed(v.redemption, [bob]), challengerSig(v.redemption, bob)])
    const challengeL = () => challengeWith(lState, [left, right], left)
    if (ledgerFinal) await challengeL()
    if (virtualFinal) await challengeV()
    await passTime()
    if (!ledgerFinal) await challengeL()
    if (!virtualFinal) await challengeV()
    const args = {
      sourceChannelId: ledger.id,
      sourceStateHash: hashState(lState),
      sourceOutcomeBytes: encodeOutcome(lState.outcome),
      sourceAssetIndex: 0n,
      indexOfTargetInSource: 2n,
      targetStateHash: hashState(v.redemption),
      targetOutcomeBytes: encodeOutcome(v.redemption.outcome),
      targetAssetIndex: 0n,
    }
    return { v, ledger, lState, args }
  }

  test.each(named([
    { name: 'the ledger of alice and irene: left alice gets alice’s 7, right irene gets bob’s 3', left: alice, right: irene },
    { name: 'the ledger of irene and bob: left irene gets alice’s 7, right bob gets bob’s 3', left: irene, right: bob },
  ]))('moves a finalized virtual outcome into %s', async (_name, { left, right }) => {
    const { ledger, lState, args } = await virtualScenario(left, right)
    const [turnNumRecord, finalizesAt] = await read('unpackStatus', [ledger.id])

    const receipt = await send('reclaim', [args])
    expect(eventsOf(receipt)).toEqual([{ eventName: 'Reclaimed', args: { channelId: ledger.id, assetIndex: 0n } }])
    const reclaimed: Exit = [exit(ETH, [simple(right.destination, 13n), simple(left.destination, 12n)])]
    expect(await read('unpackStatus', [ledger.id])).toEqual([turnNumRecord, finalizesAt, fingerprint(hashState(lState), reclaimed)])

    const before = await balancesOf(ETH, [left.address, right.address])
    await send('transferAllAssets', [ledger.id, reclaimed, hashState(lState)])
    expect(await balancesOf(ETH, [left.address, right.address])).toEqual([before[0]! + 12n, before[1]! + 13n])
    expect(await holdings(ETH, ledger.id)).toBe(0n)
    expect(await read('statusOf', [ledger.id])).toBe(ZERO32)
  })

  type Args = Awaited<ReturnType<typeof virtualScenario>>['args']
  test.each(named([
    { name: 'a source allocation that is not a guarantee', options: {}, change: (a: Args) => ({ ...a, indexOfTargetInSource: 1n }), reason: 'not a guarantee allocation' },
    { name: 'a source allocation index past the end', options: {}, change: (a: Args) => ({ ...a, indexOfTargetInSource: 3n }), reason: 'indexOfTargetInSource out of range' },
    { name: 'a source asset index past the end', options: {}, change: (a: Args) => ({ ...a, sourceAssetIndex: 1n }), reason: 'sourceAssetIndex out of range' },
    { name: 'a target asset index past the end', options: {}, change: (a: Args) => ({ ...a, targetAssetIndex: 1n }), reason: 'targetAssetIndex out of range' },
    { name: 'a virtual outcome other than the finalized one', options: {}, change: (a: Args) => ({ ...a, targetOutcomeBytes: encodeOutcome(pays(ETH, [alice, 0n], [bob, 10n])) }), reason: 'incorrect fingerprint' },
    { name: 'a ledger state hash other than the finalized one', options: {}, change: (a: Args) => ({ ...a, sourceStateHash: ZERO32 }), reason: 'incorrect fingerprint' },
    { name: 'a virtual channel still in challenge', options: { virtualFinal: false }, change: (a: Args) => a, reason: 'Channel not finalized.' },
    { name: 'a ledger still in challenge', options: { ledgerFinal: false }, change: (a: Args) => a, reason: 'Channel not finalized.' },
  ]))('refuses %s', async (_name, { options, change, reason }) => {
    const { args } = await virtualScenario(alice, irene, options)
    expect(await refusal('reclaim', [change(args)])).toBe(reason)
  })

  test('refuses to reclaim the same guarantee twice', async () => {
    const { args } = await virtualScenario(alice, irene)
    await send('reclaim', [args])
    expect(await refusal('reclaim', [args])).toBe('incorrect fingerprint')
  })
})

describe('views', () => {
  test('a channel nobody wrote to reads as open at turn 0 with nothing held', async () => {
    const id = channelId(channel([alice, bob]))
    expect(await read('statusOf', [id])).toBe(ZERO32)
    expect(await read('unpackStatus', [id])).toEqual([0, 0, 0n])
    expect([await holdings(ETH, id), await holdings(token, id)]).toEqual([0n, 0n])
  })
})

describe('ConsensusApp through stateIsSupported', () => {
  const fixed = () => channel([alice, bob])
  test.each(named([
    { name: 'signed by every participant', signers: [alice, bob], withProof: false, expected: [true, ''] },
    { name: 'signed by every participant in another order', signers: [bob, alice], withProof: false, expected: [true, ''] },
    { name: 'signed by one participant', signers: [alice], withProof: false, expected: [false, '!unanimous'] },
    { name: 'signed by nobody', signers: [], withProof: false, expected: [false, '!unanimous'] },
    { name: 'one participant’s signature twice', signers: [alice, alice], withProof: false, expected: [false, '!unanimous'] },
    { name: 'a non-participant in place of a participant', signers: [alice, eve], withProof: false, expected: [false, '!unanimous'] },
    { name: 'a unanimous state with a proof', signers: [alice, bob], withProof: true, expected: [false, '|proof|!=0'] },
  ]))('%s', async (_name, { signers, withProof, expected }) => {
    const f = fixed()
    const s = state(f, 3, pays(ETH, [alice, 1n], [bob, 1n]))
    const proof = withProof ? [signed(state(f, 2, s.outcome), [alice, bob])] : []
    expect(await read('stateIsSupported', [fixedOf(s), proof, signed(s, signers)])).toEqual(expected)
  })
})

describe('VirtualPaymentApp through stateIsSupported', () => {
  type V = ReturnType<typeof virtualChannel>
  type Case = { name: string; build: (v: V) => { proof: V['proof']; candidate: ReturnType<typeof signed> }; expected: readonly [boolean, string] }
  const redeem = (v: V, outcome: Exit, appData = v.redemption.appData, signers: readonly Actor[] = [bob]) => ({
    proof: v.proof,
    candidate: signed(state(v.fixed, 2, outcome, { appData }), signers),
  })
  test.each(named<Case>([
    { name: 'a voucher from alice for 3 moves 3 to bob, signed by bob', build: (v) => redeem(v, v.redemption.outcome), expected: [true, ''] },
    {
      name: 'a voucher from alice when bob starts with a balance: bob keeps it',
      build: (v) => {
        const postfund = state(v.fixed, 1, pays(ETH, [alice, 10n], [bob, 2n]))
        return { proof: [signed(postfund, [alice, irene, bob])], candidate: signed(state(v.fixed, 2, pays(ETH, [alice, 7n], [bob, 5n]), { appData: v.redemption.appData }), [bob]) }
      },
      expected: [true, ''],
    },
    { name: 'the unanimous postfund without proof', build: (v) => ({ proof: [], candidate: v.proof[0]! }), expected: [true, ''] },
    { name: 'a unanimous final state at turn 2 without proof', build: (v) => ({ proof: [], candidate: signed(state(v.fixed, 2, v.redemption.outcome, { isFinal: true }), [alice, irene, bob]) }), expected: [true, ''] },
    { name: 'a voucher signed by bob', build: (v) => redeem(v, v.redemption.outcome, voucherAppData(3n, voucher(v.id, 3n, bob))), expected: [false, 'invalid voucher'] },
    { name: 'a voucher signed by irene', build: (v) => redeem(v, v.redemption.outcome, voucherAppData(3n, voucher(v.id, 3n, irene))), expected: [false, 'invalid voucher'] },
    { name: 'a voucher for another channel', build: (v) => redeem(v, v.redemption.outcome, voucherAppData(3n, voucher(channelId(channel([alice, irene, bob], deployment.virtualPaymentApp)), 3n, alice))), expected: [false, 'invalid voucher'] },
    { name: 'a voucher with a high-s signature', build: (v) => redeem(v, v.redemption.outcome, voucherAppData(3n, highS(voucher(v.id, 3n, alice)))), expected: [false, 'invalid voucher'] },
    { name: 'appData that is not a voucher', build: (v) => redeem(v, v.redemption.outcome, '0x1234'), expected: [false, 'invalid voucher'] },
    { name: 'a redemption that adds to the total (bob gets 4 for 3)', build: (v) => redeem(v, pays(ETH, [alice, 7n], [bob, 4n])), expected: [false, 'Bob not adjusted correctly'] },
    { name: 'a redemption that burns part of the total (bob gets 2 for 3)', build: (v) => redeem(v, pays(ETH, [alice, 7n], [bob, 2n])), expected: [false, 'Bob not adjusted correctly'] },
    { name: 'a redemption taking more from alice than the voucher says', build: (v) => redeem(v, pays(ETH, [alice, 6n], [bob, 4n])), expected: [false, 'Alice not adjusted correctly'] },
    { name: 'a redemption that rewrites a destination', build: (v) => redeem(v, pays(ETH, [bob, 7n], [bob, 3n])), expected: [false, 'allocation changed'] },
    { name: 'a redemption signed by alice, not the payee', build: (v) => redeem(v, v.redemption.outcome, undefined, [alice]), expected: [false, 'redemption not signed by Bob'] },
    { name: 'a redemption signed by irene, not the payee', build: (v) => redeem(v, v.redemption.outcome, undefined, [irene]), expected: [false, 'redemption not signed by Bob'] },
    { name: 'a redemption with a postfund not signed by everyone', build: (v) => ({ proof: [signed(v.postfund, [alice, bob])], candidate: signed(v.redemption, [bob]) }), expected: [false, 'postfund !unanimous; |proof|=1'] },
    { name: 'a redemption at turn 3', build: (v) => ({ proof: v.proof, candidate: signed(state(v.fixed, 3, v.redemption.outcome, { appData: v.redemption.appData }), [bob]) }), expected: [false, 'bad candidate turnNum; |proof|=1'] },
    { name: 'a unanimous non-final state at turn 2 without proof', build: (v) => ({ proof: [], candidate: signed(v.redemption, [alice, irene, bob]) }), expected: [false, 'bad candidate turnNum; |proof|=0'] },
  ]))('%s', async (_name, { build, expected }) => {
    const v = virtualChannel()
    const { proof, candidate } = build(v)
    expect(await read('stateIsSupported', [v.fixed, proof, candidate])).toEqual(expected)
  })

  test('challenge refuses an unsupported redemption with the app’s reason', async () => {
    const v = virtualChannel()
    const greedy = state(v.fixed, 2, pays(ETH, [alice, 7n], [bob, 4n]), { appData: v.redemption.appData })
    expect(await refusal('challenge', [v.fixed, v.proof, signed(greedy, [bob]), challengerSig(greedy, bob)])).toBe('Bob not adjusted correctly')
  })
})

// =====================================================================================================

describe('attacks, each refused', () => {
  test.each(named([
    { name: 'expectedHeld below what is held', asset: ETH, to: 'channel', expectedHeld: 4n, amount: 1n, value: 1n, reason: 'held != expectedHeld' },
    { name: 'expectedHeld above what is held', asset: ETH, to: 'channel', expectedHeld: 6n, amount: 1n, value: 1n, reason: 'held != expectedHeld' },
    { name: 'a second depositor racing the first with the same expectedHeld', asset: ETH, to: 'channel', expectedHeld: 0n, amount: 5n, value: 5n, reason: 'held != expectedHeld' },
    { name: 'a token deposit with a stale expectedHeld', asset: 'token', to: 'channel', expectedHeld: 0n, amount: 1n, value: 0n, reason: 'held != expectedHeld' },
    { name: 'ETH to an external destination', asset: ETH, to: 'external', expectedHeld: 0n, amount: 1n, value: 1n, reason: 'Deposit to external destination' },
    { name: 'tokens to an external destination', asset: 'token', to: 'external', expectedHeld: 0n, amount: 1n, value: 0n, reason: 'Deposit to external destination' },
    { name: 'an ETH amount other than msg.value', asset: ETH, to: 'channel', expectedHeld: 5n, amount: 5n, value: 4n, reason: 'Incorrect msg.value for deposit' },
    { name: 'ETH sent along with a token deposit', asset: 'token', to: 'channel', expectedHeld: 5n, amount: 1n, value: 1n, reason: 'Incorrect msg.value for deposit' },
    { name: 'tokens the depositor has not approved', asset: 'token', to: 'channel', expectedHeld: 5n, amount: 1n, value: 0n, from: bob, reason: 'Token transfer failed' },
    { name: 'an asset address without code', asset: 'no code', to: 'channel', expectedHeld: 0n, amount: 1n, value: 0n, reason: 'Token transfer failed' },
  ]))('deposit: %s', async (_name, { asset, to, expectedHeld, amount, value, from, reason }) => {
    const { id } = await funded([alice, bob], { [ETH]: 5n, [token]: 5n })
    const assetAddress = asset === 'token' ? token : asset === 'no code' ? eve.address : (asset as Address)
    const destination = to === 'external' ? alice.destination : id
    expect(await refusal('deposit', [assetAddress, destination, expectedHeld, amount], { value, from: from?.account })).toBe(reason)
    expect([await holdings(ETH, id), await holdings(token, id)]).toEqual([5n, 5n])
  })

  describe('a stale state after a newer one was registered', () => {
    type Phase = 'checkpointed at 6' | 'challenged at 8' | 'finalized at 8'
    async function staged(phase: Phase) {
      const { fixed, id } = await funded([alice, bob], { [ETH]: 10n })
      const at = (turn: number, isFinal = false) => state(fixed, turn, pays(ETH, [alice, 5n], [bob, 5n]), { isFinal })
      await send('checkpoint', [fixed, [], signed(at(6), [alice, bob])])
      if (phase !== 'checkpointed at 6') await challengeWith(at(8), [alice, bob], alice)
      if (phase === 'finalized at 8') await passTime()
      return { id, at }
    }
    type Attempt = (at: (turn: number, isFinal?: boolean) => State) => Promise<string>
    const challengeAt: (turn: number) => Attempt = (turn) => (at) => refusal('challenge', [fixedOf(at(turn)), [], signed(at(turn), [alice, bob]), challengerSig(at(turn), bob)])
    const checkpointAt: (turn: number) => Attempt = (turn) => (at) => refusal('checkpoint', [fixedOf(at(turn)), [], signed(at(turn), [alice, bob])])
    test.each(named<{ name: string; phase: Phase; attempt: Attempt; reason: string }>([
      { name: 'a challenge with turn 5 after a checkpoint at 6', phase: 'checkpointed at 6', attempt: challengeAt(5), reason: 'turnNumRecord decreased.' },
      { name: 'a checkpoint with turn 5 after a checkpoint at 6', phase: 'checkpointed at 6', attempt: checkpointAt(5), reason: 'turnNumRecord not increased.' },
      { name: 'the same checkpoint at 6 again', phase: 'checkpointed at 6', attempt: checkpointAt(6), reason: 'turnNumRecord not increased.' },
      { name: 'a challenge with turn 7 during a challenge at 8', phase: 'challenged at 8', attempt: challengeAt(7), reason: 'turnNumRecord not increased.' },
      { name: 'a challenge with the same turn 8 during a challenge at 8', phase: 'challenged at 8', attempt: challengeAt(8), reason: 'turnNumRecord not increased.' },
      { name: 'a checkpoint with turn 7 during a challenge at 8', phase: 'challenged at 8', attempt: checkpointAt(7), reason: 'turnNumRecord not increased.' },
      { name: 'a newer challenge after the challenge finalized', phase: 'finalized at 8', attempt: challengeAt(9), reason: 'Channel finalized.' },
      { name: 'a newer checkpoint after the challenge finalized', phase: 'finalized at 8', attempt: checkpointAt(9), reason: 'Channel finalized.' },
      { name: 'a final state concluding after the challenge finalized', phase: 'finalized at 8', attempt: (at) => refusal('conclude', [fixedOf(at(9, true)), signed(at(9, true), [alice, bob])]), reason: 'Channel finalized.' },
    ]))('%s', async (_name, { phase, attempt, reason }) => {
      const { id, at } = await staged(phase)
      const before = await read('statusOf', [id])
      expect(await attempt(at)).toBe(reason)
      expect(await read('statusOf', [id])).toBe(before)
    })
  })

  describe('signatures', () => {
    /** A funded channel (alice, bob) and a final state; `sigs` rewrites alice's signature (bob's stays). */
    async function withSignatures() {
      const { fixed, id } = await funded([alice, bob], { [ETH]: 10n })
      const s = state(fixed, 5, pays(ETH, [alice, 10n], [bob, 0n]), { isFinal: true })
      const good = signed(s, [alice, bob])
      const [a, b] = good.sigs as [OnChainSignature, OnChainSignature]
      return { id, s, good, a, b }
    }
    type Ctx = Awaited<ReturnType<typeof withSignatures>>

    test('the high-s twin of alice’s signature recovers alice (so refusing it is about s alone)', async () => {
      const { s, a } = await withSignatures()
      const twin = highS(a)
      const digest = hashMessage({ raw: hashState(s) })
      expect(await recoverAddress({ hash: digest, signature: { r: twin.r, s: twin.s, v: BigInt(twin.v) } })).toBe(alice.address)
    })

    const rewrite = (c: Ctx, sigs: readonly OnChainSignature[]) => ({ variablePart: c.good.variablePart, sigs })
    const conclude = (c: Ctx, sigs: readonly OnChainSignature[]) => refusal('conclude', [fixedOf(c.s), rewrite(c, sigs)])
    const nonFinal = (c: Ctx) => state(fixedOf(c.s), 6, c.s.outcome)
    test.each(named<{ name: string; attempt: (c: Ctx) => Promise<string>; reason: string }>([
      // a state signed by a non-participant
      { name: 'conclude with eve’s signature in place of bob’s', attempt: (c) => conclude(c, [c.a, sign(hashState(c.s), eve)]), reason: '!unanimous' },
      { name: 'concludeAndTransferAllAssets with eve’s signature in place of alice’s', attempt: (c) => refusal('concludeAndTransferAllAssets', [fixedOf(c.s), rewrite(c, [sign(hashState(c.s), eve), c.b])]), reason: '!unanimous' },
      { name: 'challenge with a state eve co-signed', attempt: (c) => refusal('challenge', [fixedOf(c.s), [], signed(nonFinal(c), [alice, eve]), challengerSig(nonFinal(c), alice)]), reason: '!unanimous' },
      { name: 'checkpoint with a state eve co-signed', attempt: (c) => refusal('checkpoint', [fixedOf(c.s), [], signed(nonFinal(c), [eve, bob])]), reason: '!unanimous' },
      { name: 'conclude with alice’s signature of another state', attempt: (c) => conclude(c, [sign(hashState(nonFinal(c)), alice), c.b]), reason: '!unanimous' },
      // a high-s signature
      { name: 'conclude with alice’s high-s twin', attempt: (c) => conclude(c, [highS(c.a), c.b]), reason: 'Invalid signature' },
      { name: 'conclude with the high-s twin added to both low-s signatures', attempt: (c) => conclude(c, [c.a, c.b, highS(c.a)]), reason: 'Invalid signature' },
      { name: 'challenge with a high-s candidate signature', attempt: (c) => { const n = signed(nonFinal(c), [alice, bob]); return refusal('challenge', [fixedOf(c.s), [], { ...n, sigs: [highS(n.sigs[0]!), n.sigs[1]!] }, challengerSig(nonFinal(c), alice)]) }, reason: 'Invalid signature' },
      { name: 'challenge with a high-s challenger signature', attempt: (c) => refusal('challenge', [fixedOf(c.s), [], signed(nonFinal(c), [alice, bob]), highS(challengerSig(nonFinal(c), alice))]), reason: 'Invalid signature' },
      { name: 'checkpoint with a high-s signature', attempt: (c) => { const n = signed(nonFinal(c), [alice, bob]); return refusal('checkpoint', [fixedOf(c.s), [], { ...n, sigs: [n.sigs[0]!, highS(n.sigs[1]!)] }]) }, reason: 'Invalid signature' },
      { name: 'stateIsSupported with a high-s signature (the view reverts)', attempt: (c) => reasonOf(read('stateIsSupported', [fixedOf(c.s), [], rewrite(c, [highS(c.a), c.b])])), reason: 'Invalid signature' },
      // a wrong v
      ...[0, 1, 26, 29, 255].map((v) => ({ name: `conclude with v = ${v}`, attempt: (c: Ctx) => conclude(c, [{ ...c.a, v }, c.b]), reason: 'Invalid signature' })),
      { name: 'conclude with v flipped (27 ↔ 28): recovers someone else', attempt: (c) => conclude(c, [{ ...c.a, v: c.a.v === 27 ? 28 : 27 }, c.b]), reason: '!unanimous' },
      { name: 'challenge with a challenger signature with v = 29', attempt: (c) => refusal('challenge', [fixedOf(c.s), [], signed(nonFinal(c), [alice, bob]), { ...challengerSig(nonFinal(c), alice), v: 29 }]), reason: 'Invalid signature' },
      // a challenger who is not a participant
      { name: 'challenge by eve', attempt: (c) => refusal('challenge', [fixedOf(c.s), [], signed(nonFinal(c), [alice, bob]), challengerSig(nonFinal(c), eve)]), reason: 'Challenger is not a participant' },
      { name: 'challenge with alice’s challenger signature over another state', attempt: (c) => refusal('challenge', [fixedOf(c.s), [], signed(nonFinal(c), [alice, bob]), challengerSig(c.s, alice)]), reason: 'Challenger is not a participant' },
      { name: 'challenge with alice’s state signature as the challenger signature', attempt: (c) => refusal('challenge', [fixedOf(c.s), [], signed(nonFinal(c), [alice, bob]), signed(nonFinal(c), [alice]).sigs[0]!]), reason: 'Challenger is not a participant' },
      { name: 'challenge with the challenger signature flipped in v', attempt: (c) => { const sig = challengerSig(nonFinal(c), alice); return refusal('challenge', [fixedOf(c.s), [], signed(nonFinal(c), [alice, bob]), { ...sig, v: sig.v === 27 ? 28 : 27 }]) }, reason: 'Challenger is not a participant' },
    ]))('%s', async (_name, { attempt, reason }) => {
      const c = await withSignatures()
      expect(await attempt(c)).toBe(reason)
      expect(await read('statusOf', [c.id])).toBe(ZERO32)
      expect(await holdings(ETH, c.id)).toBe(10n)
    })
  })

  describe('withdrawing before finalization', () => {
    type Phase = 'open' | 'checkpointed' | 'in challenge' | 'challenge cleared'
    test.each(named<{ name: string; phase: Phase; via: 'transferAllAssets' | 'transfer' | 'reclaim' }>([
      { name: 'transferAllAssets of a channel never challenged', phase: 'open', via: 'transferAllAssets' },
      { name: 'transferAllAssets of a checkpointed channel', phase: 'checkpointed', via: 'transferAllAssets' },
      { name: 'transferAllAssets during a challenge', phase: 'in challenge', via: 'transferAllAssets' },
      { name: 'transfer during a challenge', phase: 'in challenge', via: 'transfer' },
      { name: 'reclaim from a ledger during a challenge', phase: 'in challenge', via: 'reclaim' },
      { name: 'transferAllAssets after a checkpoint cleared the challenge and time passed', phase: 'challenge cleared', via: 'transferAllAssets' },
    ]))('%s', async (_name, { phase, via }) => {
      const { fixed, id } = await funded([alice, bob], { [ETH]: 10n })
      const s = state(fixed, 5, pays(ETH, [alice, 10n], [bob, 0n]))
      if (phase === 'checkpointed') await send('checkpoint', [fixed, [], signed(s, [alice, bob])])
      if (phase === 'in challenge' || phase === 'challenge cleared') await challengeWith(s, [alice, bob], bob)
      if (phase === 'challenge cleared') {
        await send('checkpoint', [fixed, [], signed(state(fixed, 6, s.outcome), [alice, bob])])
        await passTime()
      }
      const stateHash = hashState(s)
      const reason = await (via === 'transferAllAssets'
        ? refusal('transferAllAssets', [id, s.outcome, stateHash])
        : via === 'transfer'
          ? refusal('transfer', [0n, id, encodeOutcome(s.outcome), stateHash, [0n]])
          : refusal('reclaim', [{ sourceChannelId: id, sourceStateHash: stateHash, sourceOutcomeBytes: encodeOutcome(s.outcome), sourceAssetIndex: 0n, indexOfTargetInSource: 0n, targetStateHash: ZERO32, targetOutcomeBytes: '0x', targetAssetIndex: 0n }]))
      expect(reason).toBe('Channel not finalized.')
      expect(await holdings(ETH, id)).toBe(10n)
    })
  })

  describe('paying out twice', () => {
    type Ctx = Awaited<ReturnType<typeof finalizedChannel>>
    const outcome: Exit = pays(ETH, [alice, 4n], [bob, 6n])
    const all = (c: Ctx) => send('transferAllAssets', [c.id, c.s.outcome, c.stateHash])
    const each = async (c: Ctx) => {
      await send('transfer', [0n, c.id, encodeOutcome(c.s.outcome), c.stateHash, [0n]])
      await send('transfer', [0n, c.id, encodeOutcome(pays(ETH, [alice, 0n], [bob, 6n])), c.stateHash, [1n]])
    }
    test.each(named<{ name: string; how: 'challenge' | 'conclude'; pay: (c: Ctx) => Promise<unknown>; again: (c: Ctx) => Promise<string>; reason: string }>([
      { name: 'transferAllAssets twice after a challenge', how: 'challenge', pay: all, again: (c) => refusal('transferAllAssets', [c.id, c.s.outcome, c.stateHash]), reason: 'Channel not finalized.' },
      { name: 'transferAllAssets twice after conclude', how: 'conclude', pay: all, again: (c) => refusal('transferAllAssets', [c.id, c.s.outcome, c.stateHash]), reason: 'Channel not finalized.' },
      { name: 'transfer of the paid outcome after transferAllAssets', how: 'challenge', pay: all, again: (c) => refusal('transfer', [0n, c.id, encodeOutcome(c.s.outcome), c.stateHash, [1n]]), reason: 'Channel not finalized.' },
      { name: 'a transfer of bob’s allocation repeated with the outcome it already paid', how: 'challenge', pay: (c) => send('transfer', [0n, c.id, encodeOutcome(c.s.outcome), c.stateHash, [1n]]).then(() => send('transfer', [0n, c.id, encodeOutcome(pays(ETH, [alice, 4n], [bob, 0n])), c.stateHash, [0n]])), again: (c) => refusal('transfer', [0n, c.id, encodeOutcome(c.s.outcome), c.stateHash, [1n]]), reason: 'incorrect fingerprint' },
      { name: 'transferAllAssets of the original outcome after paying it allocation by allocation', how: 'conclude', pay: each, again: (c) => refusal('transferAllAssets', [c.id, c.s.outcome, c.stateHash]), reason: 'incorrect fingerprint' },
    ]))('%s', async (_name, { how, pay, again, reason }) => {
      const neighbour = await funded([alice, irene], { [ETH]: 50n })
      const c = await finalizedChannel({ [ETH]: 10n }, outcome, how)
      const before = await balancesOf(ETH, [alice.address, bob.address])
      await pay(c)
      expect(await again(c)).toBe(reason)
      expect(await balancesOf(ETH, [alice.address, bob.address])).toEqual([before[0]! + 4n, before[1]! + 6n])
      expect(await holdings(ETH, c.id)).toBe(0n)
      expect(await holdings(ETH, neighbour.id)).toBe(50n)
      expect(await balanceOf(ETH, adjudicator)).toBe(50n)
    })

    test('concluding a fully paid channel again goes through but pays nothing: each party paid exactly once', async () => {
      const neighbour = await funded([alice, irene], { [ETH]: 50n })
      const { fixed, id } = await funded([alice, bob], { [ETH]: 10n })
      const s = state(fixed, 4, outcome, { isFinal: true })
      const before = await balancesOf(ETH, [alice.address, bob.address])
      await send('concludeAndTransferAllAssets', [fixedOf(s), signed(s, [alice, bob])])

      // The status was cleared, so the public final state concludes the channel again (ADR 0008): with 0 held.
      const again = await send('concludeAndTransferAllAssets', [fixedOf(s), signed(s, [alice, bob])])
      expect(eventsOf(again)).toEqual([
        { eventName: 'Concluded', args: { channelId: id, finalizesAt: await timestampOf(again) } },
        { eventName: 'AllocationUpdated', args: { channelId: id, assetIndex: 0n, initialHoldings: 0n, finalHoldings: 0n } },
      ])
      await send('transferAllAssets', [id, s.outcome, ZERO32])
      expect(await balancesOf(ETH, [alice.address, bob.address])).toEqual([before[0]! + 4n, before[1]! + 6n])
      expect(await holdings(ETH, neighbour.id)).toBe(50n)
      expect(await balanceOf(ETH, adjudicator)).toBe(50n)
    })
  })

  describe('a re-entrant ERC20 that calls back during a payout', () => {
    const rt = () => reentrantToken
    const tokenRead = <T>(functionName: string, args: readonly unknown[] = []) =>
      clients.pub.readContract({ address: reentrantToken, abi: ReentrantToken.abi, functionName, args } as never) as Promise<T>
    const arm = (data: Hex, onTransferFrom = false) => sendTo(reentrantToken, ReentrantToken.abi, 'arm', [adjudicator, data, onTransferFrom])
    const call = <F extends Writable>(functionName: F, args: ArgsOf<F>) => encodeFunctionData({ abi: adjAbi, functionName, args } as never)

    type Ctx = { fixed: FixedPart; id: Bytes32; s: State; outcome: Exit }
    test.each(named<{ name: string; held: bigint; paid: readonly [bigint, bigint]; run: (c: Ctx) => Promise<unknown>; reentryRefusedWith: string | null }>([
      {
        name: 'transferAllAssets re-entered with the same payout',
        held: 10n,
        paid: [5n, 5n],
        run: async (c) => {
          await send('conclude', [fixedOf(c.s), signed(c.s, [alice, bob])])
          await arm(call('transferAllAssets', [c.id, c.outcome, ZERO32]))
          await send('transferAllAssets', [c.id, c.outcome, ZERO32])
        },
        reentryRefusedWith: 'Channel not finalized.',
      },
      {
        name: 'an underfunded transferAllAssets re-entered with the original outcome',
        held: 8n,
        paid: [5n, 3n],
        run: async (c) => {
          await send('conclude', [fixedOf(c.s), signed(c.s, [alice, bob])])
          await arm(call('transferAllAssets', [c.id, c.outcome, ZERO32]))
          await send('transferAllAssets', [c.id, c.outcome, ZERO32])
        },
        reentryRefusedWith: 'incorrect fingerprint',
      },
      {
        name: 'transfer re-entered with the same transfer',
        held: 10n,
        paid: [5n, 0n],
        run: async (c) => {
          await send('conclude', [fixedOf(c.s), signed(c.s, [alice, bob])])
          await arm(call('transfer', [0n, c.id, encodeOutcome(c.outcome), ZERO32, [0n]]))
          await send('transfer', [0n, c.id, encodeOutcome(c.outcome), ZERO32, [0n]])
        },
        reentryRefusedWith: 'incorrect fingerprint',
      },
      {
        name: 'concludeAndTransferAllAssets re-entered with itself (re-concludes, pays 0)',
        held: 10n,
        paid: [5n, 5n],
        run: async (c) => {
          const args = [fixedOf(c.s), signed(c.s, [alice, bob])] as const
          await arm(call('concludeAndTransferAllAssets', args))
          const receipt = await send('concludeAndTransferAllAssets', args)
          // The inner call found the status cleared and nothing held: it re-concluded with nothing paid, so
          // the channel is left finalized with the whole outcome still to pay (ADR 0008's consequence).
          expect(await read('unpackStatus', [c.id])).toEqual([0, await timestampOf(receipt), fingerprint(ZERO32, c.outcome)])
        },
        reentryRefusedWith: null,
      },
    ]))('%s: everyone is paid exactly once', async (_name, { held, paid, run, reentryRefusedWith }) => {
      const neighbour = await funded([alice, irene], { [rt()]: 100n })
      const { fixed, id } = await funded([alice, bob], { [rt()]: held })
      const outcome = pays(rt(), [alice, 5n], [bob, 5n])
      const s = state(fixed, 3, outcome, { isFinal: true })
      const before = await balancesOf(rt(), [alice.address, bob.address])

      await run({ fixed, id, s, outcome })
      expect(await tokenRead<bigint>('reentryCount')).toBe(1n)
      expect(await tokenRead<boolean>('lastReentrySucceeded')).toBe(reentryRefusedWith === null)
      if (reentryRefusedWith !== null) {
        const result = decodeErrorResult({ abi: [], data: await tokenRead<Hex>('lastReentryResult') })
        expect(result.args).toEqual([reentryRefusedWith])
      }
      expect(await balancesOf(rt(), [alice.address, bob.address])).toEqual([before[0]! + paid[0], before[1]! + paid[1]])
      expect(await holdings(rt(), id)).toBe(held - paid[0] - paid[1])
      expect(await holdings(rt(), neighbour.id)).toBe(100n)
      expect(await balanceOf(rt(), adjudicator)).toBe(100n + held - paid[0] - paid[1])
    })

    test('a deposit re-entered with another deposit during transferFrom sees the first already credited', async () => {
      const id = channelId(channel([alice, bob]))
      await arm(call('deposit', [rt(), id, 0n, 1n]), true)
      const receipt = await send('deposit', [rt(), id, 0n, 5n])
      expect(eventsOf(receipt)).toEqual([{ eventName: 'Deposited', args: { destination: id, asset: rt(), destinationHoldings: 5n } }])
      expect(await tokenRead<boolean>('lastReentrySucceeded')).toBe(false)
      expect(decodeErrorResult({ abi: [], data: await tokenRead<Hex>('lastReentryResult') }).args).toEqual(['held != expectedHeld'])
      expect(await holdings(rt(), id)).toBe(5n)
      expect(await balanceOf(rt(), adjudicator)).toBe(5n)
    })
  })

  describe('amounts near 2^256', () => {
    /** A token with 2^256 - 1 minted to the relayer and approved to the adjudicator. */
    async function bigToken(): Promise<Address> {
      const hash = await clients.wallet.deployContract({ account: relayer, abi: TestToken.abi, bytecode: TestToken.bytecode, args: ['Big', 'BIG'] })
      const address = toAddress((await clients.pub.waitForTransactionReceipt({ hash })).contractAddress!)
      await sendTo(address, TestToken.abi, 'mint', [relayer.address, maxUint256])
      await sendTo(address, TestToken.abi, 'approve', [adjudicator, maxUint256])
      return address
    }

    test.each(named([
      { name: '2 onto 2^256 - 2', first: maxUint256 - 1n, second: 2n },
      { name: '2^256 - 1 onto 1', first: 1n, second: maxUint256 },
    ]))('a deposit that would overflow holdings reverts: %s', async (_name, { first, second }) => {
      const big = await bigToken()
      const id = channelId(channel([alice, bob]))
      await send('deposit', [big, id, 0n, first])
      expect(await refusal('deposit', [big, id, first, second])).toBe(PANIC_OVERFLOW)
      expect(await holdings(big, id)).toBe(first)
    })

    test('an outcome of two allocations near 2^256 pays only what is held, and the rest after a top-up', async () => {
      const big = await bigToken()
      const { fixed, id } = await funded([alice, bob], { [big]: maxUint256 - 1n })
      const s = state(fixed, 3, pays(big, [alice, maxUint256], [bob, maxUint256]), { isFinal: true })

      const receipt = await send('concludeAndTransferAllAssets', [fixedOf(s), signed(s, [alice, bob])])
      const now = await timestampOf(receipt)
      expect(await balancesOf(big, [alice.address, bob.address])).toEqual([maxUint256 - 1n, 0n])
      expect(await holdings(big, id)).toBe(0n)
      const rest = pays(big, [alice, 1n], [bob, maxUint256])
      expect(await read('unpackStatus', [id])).toEqual([0, now, fingerprint(ZERO32, rest)])

      await send('deposit', [big, id, 0n, 1n]) // the relayer's last token
      await send('transferAllAssets', [id, rest, ZERO32])
      expect(await balancesOf(big, [alice.address, bob.address])).toEqual([maxUint256, 0n])
      expect(await read('unpackStatus', [id])).toEqual([0, now, fingerprint(ZERO32, pays(big, [alice, 0n], [bob, maxUint256]))])
    })

    test('transfer of the second of two allocations near 2^256 pays nothing while the first absorbs the holdings', async () => {
      const { id, s } = await finalizedChannel({ [ETH]: 10n }, pays(ETH, [alice, maxUint256], [bob, maxUint256]), 'conclude')
      const bobBefore = await balanceOf(ETH, bob.address)
      const receipt = await send('transfer', [0n, id, encodeOutcome(s.outcome), ZERO32, [1n]])
      expect(eventsOf(receipt)).toEqual([{ eventName: 'AllocationUpdated', args: { channelId: id, assetIndex: 0n, initialHoldings: 10n, finalHoldings: 10n } }])
      expect(await balanceOf(ETH, bob.address)).toBe(bobBefore)
    })

    test('a challenge duration that would carry finalizesAt past 2^48 reverts instead of wrapping', async () => {
      const fixed = channel([alice, bob], deployment.consensusApp, 2 ** 48 - 1)
      const s = state(fixed, 5, pays(ETH, [alice, 1n], [bob, 1n]))
      expect(await refusal('challenge', [fixedOf(s), [], signed(s, [alice, bob]), challengerSig(s, alice)])).toBe(PANIC_OVERFLOW)
    })
  })
})
