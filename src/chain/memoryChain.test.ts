// MemoryChain: the adjudicator's deposit and concludeAndTransferAllAssets, modelled in memory. The deposit
// table is transcribed from Nitro's contract tests (statechannels/go-nitro,
// packages/nitro-protocol/test/contracts/MultiAssetHolder/deposit.test.ts, cases 0–7); revert strings are
// the contract's (NITRO-NOTES §5.1). Actors' addresses come from viem, independent of the signer under test.
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { encodeAbiParameters, hexToBigInt, keccak256 } from 'viem'
import type { Hex } from 'viem'
import type { Address, Bytes32 } from '../core/types.js'
import { privateKeyToAccount } from 'viem/accounts'
import type { ChainLogEvent as ChainEvent, ReclaimTransaction } from '../protocols/onchain.js'
import type { State } from '../core/state.js'
import type { SignedState } from '../core/signedState.js'
import type { Allocation, Exit, SingleAssetExit } from '../core/outcome.js'
import { ChainRevertedError, MEMORY_CONSENSUS_APP, MemoryChain, RevertReason } from './memoryChain.js'
import { OperatingError } from '../core/errors.js'
import { channelId } from '../core/channelId.js'
import { fixedPart, variablePart } from '../core/state.js'
import { signBy, unsigned } from '../core/signedState.js'
import { createSigner } from '../core/signer.js'
import { encodeGuaranteeMetadata } from '../core/guarantee.js'
import { hashState } from '../core/hashState.js'
import { hashChallenge } from '../core/signState.js'
import { toAddress, toBytes32 } from '../core/canonical.js'
import { AllocationType, encodeOutcome } from '../core/outcome.js'
import { MAX_UINT256, MAX_UINT48, SECP256K1_N } from '../core/limits.js'

const actor = (key: Hex) => ({ address: toAddress(privateKeyToAccount(key).address), signer: createSigner(key) })
const alice = actor(`0x${'a1'.repeat(32)}`)
const bob = actor(`0x${'b0'.repeat(32)}`)
const eve = actor(`0x${'e0'.repeat(32)}`)
const irene = actor(`0x${'1e'.repeat(32)}`)
const ETH: Address = toAddress('0x0000000000000000000000000000000000000000')
const TOKEN: Address = toAddress('0x5e29E5Ab8EF33F050c7cc10B5a0456D975C5F88d')
const toDestination = (address: Address): Bytes32 => toBytes32(`0x${'0'.repeat(24)}${address.slice(2)}`)
const V = toBytes32(`0x${'5a'.repeat(32)}`) // another channel, credited internally
const ZERO32 = toBytes32(`0x${'00'.repeat(32)}`)

const exitOf = (asset: Address, ...rows: readonly [Bytes32, bigint, number?][]): SingleAssetExit => ({
  asset,
  assetMetadata: { assetType: 0, metadata: '0x' },
  allocations: rows.map(([destination, amount, allocationType = 0]) => ({ destination, amount, allocationType, metadata: '0x' })),
})

let nonce = 0n
/** A fresh two-party channel's final state (turn 3), paying alice and bob `split` of ETH. */
function finalState(outcome = [exitOf(ETH, [toDestination(alice.address), 5n], [toDestination(bob.address), 5n])]): State {
  return {
    participants: [alice.address, bob.address],
    channelNonce: ++nonce,
    appDefinition: MEMORY_CONSENSUS_APP,
    challengeDuration: 60,
    outcome,
    appData: '0x',
    turnNum: 3n,
    isFinal: true,
  }
}
const signedByBoth = (state: State): SignedState => signBy(signBy(unsigned(state), alice.signer), bob.signer)
const idOf = (state: State): Bytes32 => channelId(fixedPart(state))
/** A challenge of `signed` (default: signed by alice and bob) by `who`, with no proof. */
const challengeOf = (state: State, who: typeof alice, signed = signedByBoth(state)) => ({
  kind: 'challenge' as const,
  candidate: signed,
  challengerSignature: who.signer.signHash(hashChallenge(hashState(state))),
})

/** The code and revert reason a promise rejects with; fails the test if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<{ code: string; reason?: unknown }> {
  try {
    await promise
  } catch (error) {
    const { code, details } = error as { code?: unknown; details?: { reason?: unknown } }
    if (typeof code !== 'string') return expect.fail(`rejected without a code: ${String(error)}`)
    return { code, reason: details?.reason }
  }
  return expect.fail('expected a rejection')
}

/** Everything of `asset` the chain holds: accounts' balances plus channels' holdings. */
async function totalOf(chain: MemoryChain, asset: Address, accounts: readonly Address[], channels: readonly Bytes32[]): Promise<bigint> {
  let total = 0n
  for (const account of accounts) total += chain.balanceOf(account, asset)
  for (const id of channels) total += await chain.holdings(id, asset)
  return total
}

/** A chain where alice and bob each own 100 ETH and 100 TOKEN. */
function setup() {
  const chain = new MemoryChain()
  for (const who of [alice, bob]) for (const asset of [ETH, TOKEN]) chain.fund(who.address, asset, 100n)
  return { chain, asAlice: chain.connect(alice.address), asBob: chain.connect(bob.address) }
}

describe('deposit', () => {
  test.each([
    { name: '0. tokens, expectedHeld = 0', asset: TOKEN, held: 0n, expectedHeld: 0n, amount: 1n, heldAfter: 1n },
    { name: '1. tokens, expectedHeld = 1', asset: TOKEN, held: 1n, expectedHeld: 1n, amount: 1n, heldAfter: 2n },
    { name: '2. tokens, expectedHeld > holdings', asset: TOKEN, held: 0n, expectedHeld: 1n, amount: 2n, reason: RevertReason.heldChanged },
    { name: '3. tokens, expectedHeld < holdings', asset: TOKEN, held: 1n, expectedHeld: 0n, amount: 2n, reason: RevertReason.heldChanged },
    { name: '4. ETH, expectedHeld = 0', asset: ETH, held: 0n, expectedHeld: 0n, amount: 1n, heldAfter: 1n },
    { name: '5. ETH, expectedHeld = 1', asset: ETH, held: 1n, expectedHeld: 1n, amount: 1n, heldAfter: 2n },
    { name: '6. ETH, expectedHeld > holdings', asset: ETH, held: 0n, expectedHeld: 1n, amount: 2n, reason: RevertReason.heldChanged },
    { name: '7. ETH, expectedHeld < holdings', asset: ETH, held: 1n, expectedHeld: 0n, amount: 2n, reason: RevertReason.heldChanged },
  ])('$name', async ({ asset, held, expectedHeld, amount, heldAfter, reason }) => {
    const { chain, asAlice } = setup()
    const id = idOf(finalState())
    if (held > 0n) await asAlice.submit({ kind: 'deposit', channelId: id, asset, expectedHeld: 0n, amount: held })
    const balanceBefore = chain.balanceOf(alice.address, asset)
    const deposit = asAlice.submit({ kind: 'deposit', channelId: id, asset, expectedHeld, amount })
    if (reason !== undefined) {
      expect(await rejection(deposit)).toEqual({ code: 'chain_reverted', reason })
      expect(await chain.holdings(id, asset)).toBe(held)
      expect(chain.balanceOf(alice.address, asset)).toBe(balanceBefore)
    } else {
      await deposit
      expect(await chain.holdings(id, asset)).toBe(heldAfter)
      expect(chain.balanceOf(alice.address, asset)).toBe(balanceBefore - amount)
      expect(chain.events().at(-1)).toMatchObject({ kind: 'deposited', channelId: id, nowHeld: heldAfter })
    }
  })

  test('alice then bob, each seeing the other: holdings add up, one block and one event per deposit', async () => {
    const { chain, asAlice, asBob } = setup()
    const id = idOf(finalState())
    await asAlice.submit({ kind: 'deposit', channelId: id, asset: ETH, expectedHeld: 0n, amount: 5n })
    await asBob.submit({ kind: 'deposit', channelId: id, asset: ETH, expectedHeld: 5n, amount: 5n })
    expect(await asBob.holdings(id, ETH)).toBe(10n)
    expect(chain.blockNumber()).toBe(2n)
    expect(chain.events()).toEqual([
      { kind: 'deposited', channelId: id, asset: ETH, nowHeld: 5n, block: 1n, logIndex: 0 },
      { kind: 'deposited', channelId: id, asset: ETH, nowHeld: 10n, block: 2n, logIndex: 0 },
    ])
    expect([chain.balanceOf(alice.address, ETH), chain.balanceOf(bob.address, ETH)]).toEqual([95n, 95n])
  })

  test('a race: two deposits expecting the same holdings, the second is refused and costs nothing', async () => {
    const { chain, asAlice, asBob } = setup()
    const id = idOf(finalState())
    const [first, second] = await Promise.allSettled([
      asAlice.submit({ kind: 'deposit', channelId: id, asset: ETH, expectedHeld: 0n, amount: 5n }),
      asBob.submit({ kind: 'deposit', channelId: id, asset: ETH, expectedHeld: 0n, amount: 5n }),
    ])
    expect(first.status).toBe('fulfilled')
    expect(second.status).toBe('rejected')
    const error = (second as PromiseRejectedResult).reason as ChainRevertedError
    expect(error).toBeInstanceOf(OperatingError)
    expect([error.code, error.reason, error.details]).toEqual(['chain_reverted', RevertReason.heldChanged, { channelId: id, expectedHeld: 0n, held: 5n, reason: RevertReason.heldChanged }])
    expect(chain.balanceOf(bob.address, ETH)).toBe(100n)
    expect(chain.blockNumber()).toBe(1n)
  })

  test('holdings are per asset and per channel, and any hex case names the same channel', async () => {
    const { chain, asAlice } = setup()
    const id = idOf(finalState())
    await asAlice.submit({ kind: 'deposit', channelId: id.toUpperCase().replace('0X', '0x') as Bytes32, asset: TOKEN.toLowerCase() as Address, expectedHeld: 0n, amount: 3n })
    expect(await chain.holdings(id, TOKEN)).toBe(3n)
    expect(await chain.holdings(id, ETH)).toBe(0n)
    expect(await chain.holdings(idOf(finalState()), TOKEN)).toBe(0n)
    // Events carry the id in lowercase and the asset checksummed, as viem decodes logs.
    expect(chain.events()[0]).toMatchObject({ channelId: id, asset: TOKEN })
  })

  const channel = idOf(finalState())
  test.each([
    { name: 'to an external destination', tx: { channelId: toDestination(alice.address) }, code: 'chain_reverted', reason: RevertReason.externalDestination },
    { name: 'of nothing', tx: { amount: 0n }, code: 'chain_reverted', reason: RevertReason.zeroDeposit },
    { name: 'more than the sender owns', tx: { amount: 101n }, code: 'chain_reverted', reason: RevertReason.insufficientBalance },
    { name: 'a negative amount', tx: { amount: -1n }, code: 'out_of_range' },
    { name: 'an amount past uint256', tx: { amount: 2n ** 256n }, code: 'out_of_range' },
    { name: 'a negative expectedHeld', tx: { expectedHeld: -1n }, code: 'out_of_range' },
    { name: 'a 31-byte channel id', tx: { channelId: `0x${'11'.repeat(31)}` }, code: 'invalid_length' },
    { name: 'a malformed asset', tx: { asset: '0x1234' }, code: 'invalid_address' },
  ])('a deposit $name → $code $reason', async ({ tx, code, reason }) => {
    const { chain, asAlice } = setup()
    const deposit = { kind: 'deposit' as const, channelId: channel, asset: ETH, expectedHeld: 0n, amount: 1n, ...tx } as Parameters<typeof asAlice.submit>[0]
    expect(await rejection(asAlice.submit(deposit))).toEqual({ code, reason })
    expect(chain.events()).toEqual([])
    expect(chain.balanceOf(alice.address, ETH)).toBe(100n)
  })

  test('a deposit needs a sender: the chain itself has no account', async () => {
    const { chain } = setup()
    expect(await rejection(chain.submit({ kind: 'deposit', channelId: toBytes32(channel), asset: ETH, expectedHeld: 0n, amount: 1n }))).toEqual({ code: 'invariant', reason: undefined })
  })

  test('failNext: unavailable, then reverted, then through; failures change nothing', async () => {
    const { chain, asAlice } = setup()
    const tx = { kind: 'deposit' as const, channelId: channel, asset: ETH, expectedHeld: 0n, amount: 1n }
    chain.failNext(1)
    chain.failNext(0, 'reverted')
    chain.failNext(2, 'reverted')
    expect(await rejection(asAlice.submit(tx))).toEqual({ code: 'chain_unavailable', reason: undefined })
    expect(await rejection(asAlice.submit(tx))).toEqual({ code: 'chain_reverted', reason: RevertReason.injected })
    expect(await rejection(asAlice.submit(tx))).toEqual({ code: 'chain_reverted', reason: RevertReason.injected })
    expect([chain.blockNumber(), await chain.holdings(toBytes32(channel), ETH)]).toEqual([0n, 0n])
    await asAlice.submit(tx)
    expect(await chain.holdings(toBytes32(channel), ETH)).toBe(1n)
    expect(() => chain.failNext(-1)).toThrow(expect.objectContaining({ code: 'out_of_range' }))
  })
})

describe('concludeAndWithdraw', () => {
  async function funded(state: State, amounts: { alice?: bigint; bob?: bigint } = { alice: 5n, bob: 5n }) {
    const s = setup()
    const id = idOf(state)
    let held = 0n
    for (const [who, amount] of [[s.asAlice, amounts.alice], [s.asBob, amounts.bob]] as const) {
      if (amount === undefined) continue
      await who.submit({ kind: 'deposit', channelId: id, asset: ETH, expectedHeld: held, amount })
      held += amount
    }
    return { ...s, id }
  }

  test('a fully funded channel pays everyone, emits concluded then allocationUpdated, and reads as open again', async () => {
    const state = finalState()
    const { chain, asBob, id } = await funded(state)
    await asBob.submit({ kind: 'concludeAndWithdraw', signedState: signedByBoth(state) })
    expect([chain.balanceOf(alice.address, ETH), chain.balanceOf(bob.address, ETH)]).toEqual([100n, 100n])
    expect(await chain.holdings(id, ETH)).toBe(0n)
    expect(chain.events().slice(2)).toEqual([
      { kind: 'concluded', channelId: id, finalizesAt: 1_700_000_000n + 3n * 12n, block: 3n, logIndex: 0 },
      { kind: 'allocationUpdated', channelId: id, asset: ETH, finalHoldings: 0n, block: 3n, logIndex: 1 },
    ])
    // Every allocation is now zero: the contract deletes the status.
    expect(chain.isFinalized(id)).toBe(false)
  })

  test('an underfunded channel pays in priority order and stays finalized: concluding again reverts', async () => {
    const state = finalState()
    const { chain, asAlice, id } = await funded(state, { bob: 7n })
    await asAlice.submit({ kind: 'concludeAndWithdraw', signedState: signedByBoth(state) })
    // alice's 5 come first, bob gets the 2 left of his own 7.
    expect([chain.balanceOf(alice.address, ETH), chain.balanceOf(bob.address, ETH)]).toEqual([105n, 95n])
    expect(chain.isFinalized(id)).toBe(true)
    expect(await rejection(asAlice.submit({ kind: 'concludeAndWithdraw', signedState: signedByBoth(state) }))).toEqual({
      code: 'chain_reverted',
      reason: RevertReason.channelFinalized,
    })
  })

  test('an overfunded channel keeps the surplus', async () => {
    const state = finalState()
    const { chain, asAlice, id } = await funded(state, { alice: 6n, bob: 5n })
    await asAlice.submit({ kind: 'concludeAndWithdraw', signedState: signedByBoth(state) })
    expect(await chain.holdings(id, ETH)).toBe(1n)
    expect(chain.events().at(-1)).toMatchObject({ kind: 'allocationUpdated', finalHoldings: 1n })
  })

  const state = finalState()
  const both = signedByBoth(state)
  const aliceSignature = both.signatures[0]!
  const bobSignature = both.signatures[1]!
  const eveSignature = eve.signer.signHash(toBytes32(`0x${'00'.repeat(32)}`))
  const otherStateSignature = signBy(unsigned({ ...state, turnNum: 4n }), bob.signer).signatures[1]!
  const badV = `${bobSignature.slice(0, -2)}1d` as Hex
  test.each([
    { name: 'bob has not signed', signed: { state, signatures: [aliceSignature, null] }, reason: RevertReason.notUnanimous },
    { name: 'nobody has signed', signed: unsigned(state), reason: RevertReason.notUnanimous },
    { name: 'alice signed twice', signed: { state, signatures: [aliceSignature, aliceSignature] }, reason: RevertReason.notUnanimous },
    { name: 'a non-participant signed in bob\'s place', signed: { state, signatures: [aliceSignature, eveSignature] }, reason: RevertReason.notUnanimous },
    { name: 'bob signed another state', signed: { state, signatures: [aliceSignature, otherStateSignature] }, reason: RevertReason.notUnanimous },
    { name: 'a signature with v = 29', signed: { state, signatures: [aliceSignature, badV] }, reason: RevertReason.invalidSignature },
    { name: 'the state is not final', signed: signedByBoth({ ...state, isFinal: false }), reason: RevertReason.notFinal },
  ])('refused when $name: nothing changes', async ({ signed, reason }) => {
    const { chain, asAlice, id } = await funded(signed.state)
    const before = { events: chain.events(), block: chain.blockNumber(), alice: chain.balanceOf(alice.address, ETH) }
    expect(await rejection(asAlice.submit({ kind: 'concludeAndWithdraw', signedState: signed as SignedState }))).toEqual({ code: 'chain_reverted', reason })
    expect({ events: chain.events(), block: chain.blockNumber(), alice: chain.balanceOf(alice.address, ETH) }).toEqual(before)
    expect([await chain.holdings(id, ETH), chain.isFinalized(id)]).toEqual([10n, false])
  })

  test('signatures are counted by who signed, not by slot (as the contract sets one bit per signer)', async () => {
    const { chain, asAlice } = await funded(state)
    await asAlice.submit({ kind: 'concludeAndWithdraw', signedState: { state, signatures: [bobSignature, aliceSignature] } })
    expect(chain.balanceOf(alice.address, ETH)).toBe(100n)
  })

  test('a guarantee in the outcome reverts the whole transaction: not even concluded', async () => {
    const metadata = encodeGuaranteeMetadata({ left: toBytes32(toDestination(alice.address)), right: toBytes32(toDestination(bob.address)) })
    const withGuarantee = finalState([
      { ...exitOf(ETH, [toDestination(alice.address), 5n]), allocations: [...exitOf(ETH, [toDestination(alice.address), 5n]).allocations, { destination: toBytes32(V), amount: 5n, allocationType: AllocationType.guarantee, metadata }] },
    ])
    const { chain, asAlice, id } = await funded(withGuarantee)
    expect(await rejection(asAlice.submit({ kind: 'concludeAndWithdraw', signedState: signedByBoth(withGuarantee) }))).toEqual({
      code: 'chain_reverted',
      reason: RevertReason.guarantee,
    })
    expect(chain.isFinalized(id)).toBe(false)
    expect(chain.events().some((e) => e.kind === 'concluded')).toBe(false)
  })

  test('paying a channel credits its holdings without any event for it (as the contract does)', async () => {
    const toChannel = finalState([exitOf(ETH, [toDestination(alice.address), 4n], [V, 6n])])
    const { chain, asAlice, id } = await funded(toChannel)
    await asAlice.submit({ kind: 'concludeAndWithdraw', signedState: signedByBoth(toChannel) })
    expect(await chain.holdings(toBytes32(V), ETH)).toBe(6n)
    expect(chain.balanceOf(alice.address, ETH)).toBe(99n)
    expect(chain.events().filter((e) => e.channelId === V)).toEqual([])
    expect(await totalOf(chain, ETH, [alice.address, bob.address], [id, V])).toBe(200n)
  })

  test('several assets: one allocationUpdated per asset, in outcome order', async () => {
    const twoAssets = finalState([exitOf(TOKEN, [toDestination(bob.address), 2n]), exitOf(ETH, [toDestination(alice.address), 3n])])
    const { chain, asAlice, asBob, id } = await funded(twoAssets, { alice: 3n })
    await asBob.submit({ kind: 'deposit', channelId: id, asset: TOKEN, expectedHeld: 0n, amount: 2n })
    await asAlice.submit({ kind: 'concludeAndWithdraw', signedState: signedByBoth(twoAssets) })
    expect(chain.events().slice(-3).map(({ kind, asset, logIndex }: ChainEvent & { asset?: Address }) => ({ kind, asset, logIndex }))).toEqual([
      { kind: 'concluded', asset: undefined, logIndex: 0 },
      { kind: 'allocationUpdated', asset: TOKEN, logIndex: 1 },
      { kind: 'allocationUpdated', asset: ETH, logIndex: 2 },
    ])
    expect([chain.balanceOf(bob.address, TOKEN), chain.balanceOf(alice.address, ETH)]).toEqual([100n, 100n])
  })

  test.each([
    { name: 'holdings cover both listings', held: 10n, paid: [95n, 105n], heldAfter: 0n },
    { name: 'the second listing gets what the first left', held: 6n, paid: [99n, 101n], heldAfter: 0n },
  ])('an asset listed twice pays its entries one after the other (our contract; Nitro v2 reverts): $name', async ({ held, paid, heldAfter }) => {
    const twice = finalState([exitOf(ETH, [toDestination(alice.address), 5n]), exitOf(ETH, [toDestination(bob.address), 5n])])
    const { chain, asAlice, id } = await funded(twice, { alice: held })
    await asAlice.submit({ kind: 'concludeAndWithdraw', signedState: signedByBoth(twice) })
    expect([chain.balanceOf(alice.address, ETH), chain.balanceOf(bob.address, ETH)]).toEqual(paid)
    expect(await chain.holdings(id, ETH)).toBe(heldAfter)
    expect(chain.events().slice(-2).map((e) => (e.kind === 'allocationUpdated' ? e.finalHoldings : undefined))).toEqual([held - 5n, 0n])
  })

  test('what an underfunded conclusion leaves is registered (zero state hash, reduced outcome): paid after a top-up', async () => {
    const state = finalState()
    const { chain, asAlice, asBob, id } = await funded(state, { bob: 7n })
    await asAlice.submit({ kind: 'concludeAndWithdraw', signedState: signedByBoth(state) })
    await asBob.submit({ kind: 'deposit', channelId: id, asset: ETH, expectedHeld: 0n, amount: 3n })
    const rest = [exitOf(ETH, [toDestination(alice.address), 0n], [toDestination(bob.address), 3n])]
    for (const [outcome, stateHash] of [[state.outcome, ZERO32], [rest, hashState(state)]] as const) {
      expect(await rejection(asBob.submit({ kind: 'transferAllAssets', channelId: id, outcome, stateHash }))).toEqual({ code: 'chain_reverted', reason: RevertReason.incorrectFingerprint })
    }
    expect(chain.unpackStatus(id).turnNumRecord).toBe(0n)
    await asBob.submit({ kind: 'transferAllAssets', channelId: id, outcome: rest, stateHash: ZERO32 })
    expect([chain.balanceOf(alice.address, ETH), chain.balanceOf(bob.address, ETH)]).toEqual([105n, 95n])
    expect(chain.unpackStatus(id)).toEqual({ turnNumRecord: 0n, finalizesAt: 0n, fingerprint: 0n })
  })

  test('a malformed state is refused with the core\'s own code before reaching the chain', async () => {
    const { asAlice } = setup()
    const bad = { state: { ...state, turnNum: -1n }, signatures: [null, null] } as SignedState
    expect(await rejection(asAlice.submit({ kind: 'concludeAndWithdraw', signedState: bad }))).toEqual({ code: 'out_of_range', reason: undefined })
  })
})

describe('challenge and transferAllAssets', () => {
  /** A running channel's state at `turnNum` (not final), funded 5 + 5 by alice and bob. */
  async function running(turnNum = 4n) {
    const state: State = { ...finalState([exitOf(ETH, [toDestination(alice.address), 7n], [toDestination(bob.address), 3n])]), isFinal: false, turnNum }
    const s = setup()
    const id = idOf(state)
    await s.asAlice.submit({ kind: 'deposit', channelId: id, asset: ETH, expectedHeld: 0n, amount: 5n })
    await s.asBob.submit({ kind: 'deposit', channelId: id, asset: ETH, expectedHeld: 5n, amount: 5n })
    return { ...s, id, state }
  }
  const challengeBy = (state: State, who: typeof alice, signed = signedByBoth(state)) => ({
    kind: 'challenge' as const,
    candidate: signed,
    challengerSignature: who.signer.signHash(hashChallenge(hashState(state))),
  })
  const payout = (id: Bytes32, state: State) => ({ kind: 'transferAllAssets' as const, channelId: id, outcome: state.outcome, stateHash: hashState(state) })

  test('a state signed by both finalizes after the challenge duration and then pays its outcome', async () => {
    const { chain, asAlice, id, state } = await running()
    await asAlice.submit(challengeBy(state, alice))
    const challengedAt = 1_700_000_000n + 3n * 12n
    expect(chain.events().at(-1)).toEqual({ kind: 'challenged', channelId: id, turnNumRecord: 4n, finalizesAt: challengedAt + 60n, candidate: variablePart(state), block: 3n, logIndex: 0 })
    expect(await rejection(asAlice.submit(payout(id, state)))).toEqual({ code: 'chain_reverted', reason: 'Channel not finalized.' })
    chain.advanceTime(60n)
    expect(chain.isFinalized(id)).toBe(true)
    await asAlice.submit(payout(id, state))
    expect([chain.balanceOf(alice.address, ETH), chain.balanceOf(bob.address, ETH)]).toEqual([102n, 98n])
    expect(chain.events().at(-1)).toMatchObject({ kind: 'allocationUpdated', channelId: id, finalHoldings: 0n })
  })

  test.each([
    { name: 'a state signed by one participant only', make: (state: State) => challengeBy(state, alice, signBy(unsigned(state), alice.signer)), reason: '!unanimous' },
    { name: 'a challenger who is not a participant', make: (state: State) => challengeBy(state, eve), reason: 'Challenger is not a participant' },
  ])('a challenge with $name reverts and changes nothing', async ({ make, reason }) => {
    const { chain, asAlice, id, state } = await running()
    const before = chain.events().length
    expect(await rejection(asAlice.submit(make(state)))).toEqual({ code: 'chain_reverted', reason })
    expect(chain.events()).toHaveLength(before)
    expect(chain.isFinalized(id)).toBe(false)
  })

  test('an older state cannot replace a registered challenge; a payout must name the registered state', async () => {
    const { chain, asAlice, asBob, id, state } = await running(4n)
    await asAlice.submit(challengeBy(state, alice))
    const older: State = { ...state, turnNum: 3n, outcome: [exitOf(ETH, [toDestination(alice.address), 0n], [toDestination(bob.address), 10n])] }
    // Under challenge only a later turn is taken: the contract says 'not increased', also for an older one.
    expect(await rejection(asBob.submit(challengeBy(older, bob)))).toEqual({ code: 'chain_reverted', reason: 'turnNumRecord not increased.' })
    chain.advanceTime(61n)
    expect(await rejection(asBob.submit(payout(id, older)))).toEqual({ code: 'chain_reverted', reason: 'incorrect fingerprint' })
    expect(await rejection(asBob.submit(challengeBy(state, bob)))).toEqual({ code: 'chain_reverted', reason: 'Channel finalized.' })
    await asBob.submit(payout(id, state))
    expect(await chain.holdings(id, ETH)).toBe(0n)
  })
})

describe('challenge: the turn record and the modes', () => {
  /** A funded two-party consensus channel; `at(turnNum)` is its state at that turn, signed by both. */
  async function channel() {
    const s = setup()
    const base: State = { ...finalState([exitOf(ETH, [toDestination(alice.address), 7n], [toDestination(bob.address), 3n])]), isFinal: false }
    const id = idOf(base)
    await s.asAlice.submit({ kind: 'deposit', channelId: id, asset: ETH, expectedHeld: 0n, amount: 10n })
    const at = (turnNum: bigint): State => ({ ...base, turnNum })
    const challenge = (turnNum: bigint, proof?: SignedState[]) => s.asAlice.submit({ ...challengeOf(at(turnNum), alice), ...(proof ? { proof } : {}) })
    const checkpoint = (turnNum: bigint) => s.asAlice.submit({ kind: 'checkpoint', candidate: signedByBoth(at(turnNum)) })
    return { ...s, id, at, challenge, checkpoint }
  }

  test.each([
    { name: 'open, never written: turn 0 is taken', before: [], turnNum: 0n },
    { name: 'open after a checkpoint at 5: an older turn', before: [['checkpoint', 5n]], turnNum: 4n, reason: RevertReason.turnNumDecreased },
    { name: 'open after a checkpoint at 5: the same turn is taken', before: [['checkpoint', 5n]], turnNum: 5n },
    { name: 'under challenge at 4: the same turn', before: [['challenge', 4n]], turnNum: 4n, reason: RevertReason.turnNumNotIncreased },
    { name: 'under challenge at 4: a later turn replaces it', before: [['challenge', 4n]], turnNum: 5n },
  ] as { name: string; before: ['checkpoint' | 'challenge', bigint][]; turnNum: bigint; reason?: RevertReason }[])('$name', async ({ before, turnNum, reason }) => {
    const c = await channel()
    for (const [kind, turn] of before) await c[kind](turn)
    const attempt = c.challenge(turnNum)
    if (reason !== undefined) {
      expect(await rejection(attempt)).toEqual({ code: 'chain_reverted', reason })
      return
    }
    await attempt
    const finalizesAt = 1_700_000_000n + c.chain.blockNumber() * 12n + 60n
    expect(c.chain.events().at(-1)).toMatchObject({ kind: 'challenged', turnNumRecord: turnNum, finalizesAt })
    expect(c.chain.unpackStatus(c.id)).toMatchObject({ turnNumRecord: turnNum, finalizesAt })
  })

  test('a payout is judged at the timestamp of the block it lands in; a checkpoint at the latest block’s (a departure, file comment)', async () => {
    const state: State = { ...finalState(), isFinal: false, turnNum: 4n, challengeDuration: 12 }
    const id = idOf(state)
    const challenged = async () => {
      const chain = new MemoryChain({ blockTimeSec: 12n })
      chain.fund(alice.address, ETH, 10n)
      await chain.connect(alice.address).submit({ kind: 'deposit', channelId: id, asset: ETH, expectedHeld: 0n, amount: 10n })
      await chain.submit(challengeOf(state, alice))
      // finalizesAt is the next block's timestamp: not final at the latest block, final in the next.
      expect(chain.isFinalized(id)).toBe(false)
      return chain
    }
    const paid = await challenged()
    await paid.submit({ kind: 'transferAllAssets', channelId: id, outcome: state.outcome, stateHash: hashState(state) })
    expect([paid.balanceOf(alice.address, ETH), paid.balanceOf(bob.address, ETH)]).toEqual([5n, 5n])
    // On chain this checkpoint lands in the block where the challenge is final, and reverts 'Channel finalized.'.
    const answered = await challenged()
    await answered.submit({ kind: 'checkpoint', candidate: signedByBoth({ ...state, turnNum: 5n }) })
    expect(answered.unpackStatus(id)).toMatchObject({ turnNumRecord: 5n, finalizesAt: 0n })
  })

  test.each([
    { name: 'a proof for a consensus channel', make: (c: Awaited<ReturnType<typeof channel>>) => c.challenge(5n, [signedByBoth(c.at(4n))]), reason: RevertReason.proofNotEmpty },
    {
      name: 'a malformed signature in the proof (recovered before the app is asked)',
      make: (c: Awaited<ReturnType<typeof channel>>) => c.challenge(5n, [{ state: c.at(4n), signatures: [`0x${'00'.repeat(65)}`, null] }]),
      reason: RevertReason.invalidSignature,
    },
    {
      name: 'a challenge duration carrying finalizesAt past uint48 (a panic on chain)',
      make: (c: Awaited<ReturnType<typeof channel>>) => c.asAlice.submit(challengeOf({ ...c.at(4n), challengeDuration: Number(MAX_UINT48) }, alice)),
      reason: RevertReason.underflow,
    },
  ])('refuses $name', async ({ make, reason }) => {
    const c = await channel()
    const before = c.chain.blockNumber()
    expect(await rejection(make(c))).toEqual({ code: 'chain_reverted', reason })
    expect(c.chain.blockNumber()).toBe(before)
  })

  test('unpackStatus: the fingerprint is uint160(keccak256(abi.encode(stateHash, outcomeHash))), the zero pair after a checkpoint', async () => {
    const c = await channel()
    expect(c.chain.unpackStatus(c.id)).toEqual({ turnNumRecord: 0n, finalizesAt: 0n, fingerprint: 0n })
    await c.challenge(4n)
    const fingerprint = (stateHash: Hex, outcomeHash: Hex) => hexToBigInt(keccak256(encodeAbiParameters([{ type: 'bytes32' }, { type: 'bytes32' }], [stateHash, outcomeHash]))) & (2n ** 160n - 1n)
    expect(c.chain.unpackStatus(c.id).fingerprint).toBe(fingerprint(hashState(c.at(4n)), keccak256(encodeOutcome(c.at(4n).outcome))))
    await c.checkpoint(5n)
    expect(c.chain.unpackStatus(c.id)).toEqual({ turnNumRecord: 5n, finalizesAt: 0n, fingerprint: fingerprint(ZERO32, ZERO32) })
  })
})

describe('checkpoint', () => {
  async function challenged(turnNum = 4n) {
    const s = setup()
    const base: State = { ...finalState([exitOf(ETH, [toDestination(alice.address), 7n], [toDestination(bob.address), 3n])]), isFinal: false }
    const id = idOf(base)
    await s.asAlice.submit({ kind: 'deposit', channelId: id, asset: ETH, expectedHeld: 0n, amount: 10n })
    await s.asAlice.submit(challengeOf({ ...base, turnNum }, alice))
    return { ...s, id, at: (turn: bigint): State => ({ ...base, turnNum: turn }) }
  }

  test('a later state clears a challenge silently: one block, no event; the channel is open at its turn and never pays', async () => {
    const { chain, asBob, id, at } = await challenged(4n)
    const events = chain.events().length
    await asBob.submit({ kind: 'checkpoint', candidate: signedByBoth(at(5n)) })
    expect([chain.events().length, chain.blockNumber()]).toEqual([events, 3n])
    expect(chain.unpackStatus(id)).toMatchObject({ turnNumRecord: 5n, finalizesAt: 0n })
    chain.advanceTime(61n)
    expect(chain.isFinalized(id)).toBe(false)
    expect(await rejection(asBob.submit({ kind: 'transferAllAssets', channelId: id, outcome: at(4n).outcome, stateHash: hashState(at(4n)) }))).toEqual({
      code: 'chain_reverted',
      reason: RevertReason.notFinalized,
    })
    // Open again: a challenge at the checkpointed turn is taken, an older one is not.
    expect(await rejection(asBob.submit(challengeOf(at(4n), bob)))).toEqual({ code: 'chain_reverted', reason: RevertReason.turnNumDecreased })
    await asBob.submit(challengeOf(at(5n), bob))
  })

  test('of a channel nobody wrote to records the turn', async () => {
    const { chain, asBob, at } = await challenged(4n)
    const fresh: State = { ...at(3n), channelNonce: at(3n).channelNonce + 1000n }
    await asBob.submit({ kind: 'checkpoint', candidate: signedByBoth(fresh) })
    expect(chain.unpackStatus(idOf(fresh))).toMatchObject({ turnNumRecord: 3n, finalizesAt: 0n })
  })

  test.each([
    { name: 'the registered turn again', make: (at: (t: bigint) => State) => ({ candidate: signedByBoth(at(4n)) }), reason: RevertReason.turnNumNotIncreased },
    { name: 'an older turn', make: (at: (t: bigint) => State) => ({ candidate: signedByBoth(at(3n)) }), reason: RevertReason.turnNumNotIncreased },
    { name: 'a state only alice signed', make: (at: (t: bigint) => State) => ({ candidate: signBy(unsigned(at(5n)), alice.signer) }), reason: RevertReason.notUnanimous },
    { name: 'a proof for a consensus channel', make: (at: (t: bigint) => State) => ({ candidate: signedByBoth(at(5n)), proof: [signedByBoth(at(4n))] }), reason: RevertReason.proofNotEmpty },
  ])('refuses $name', async ({ make, reason }) => {
    const { chain, asBob, id, at } = await challenged(4n)
    expect(await rejection(asBob.submit({ kind: 'checkpoint', ...make(at) }))).toEqual({ code: 'chain_reverted', reason })
    expect(chain.unpackStatus(id).turnNumRecord).toBe(4n)
  })

  test('refuses a finalized channel', async () => {
    const { chain, asBob, at } = await challenged(4n)
    chain.advanceTime(60n)
    expect(await rejection(asBob.submit({ kind: 'checkpoint', candidate: signedByBoth(at(5n)) }))).toEqual({ code: 'chain_reverted', reason: RevertReason.channelFinalized })
  })
})

describe('conclude', () => {
  async function funded(state: State) {
    const s = setup()
    const id = idOf(state)
    await s.asAlice.submit({ kind: 'deposit', channelId: id, asset: ETH, expectedHeld: 0n, amount: 10n })
    return { ...s, id }
  }

  test('finalizes at once and pays nothing; transferAllAssets then names the zero state hash', async () => {
    const state = finalState()
    const { chain, asBob, id } = await funded(state)
    await asBob.submit({ kind: 'conclude', signedState: signedByBoth(state) })
    const now = 1_700_000_000n + 2n * 12n
    expect(chain.events().at(-1)).toEqual({ kind: 'concluded', channelId: id, finalizesAt: now, block: 2n, logIndex: 0 })
    expect([chain.isFinalized(id), await chain.holdings(id, ETH)]).toEqual([true, 10n])
    expect(chain.unpackStatus(id)).toMatchObject({ turnNumRecord: 0n, finalizesAt: now })
    expect(await rejection(asBob.submit({ kind: 'transferAllAssets', channelId: id, outcome: state.outcome, stateHash: hashState(state) }))).toEqual({
      code: 'chain_reverted',
      reason: RevertReason.incorrectFingerprint,
    })
    await asBob.submit({ kind: 'transferAllAssets', channelId: id, outcome: state.outcome, stateHash: ZERO32 })
    expect([chain.balanceOf(alice.address, ETH), chain.balanceOf(bob.address, ETH)]).toEqual([95n, 105n])
  })

  test('answers a challenge in progress: the final outcome replaces the challenged one', async () => {
    const final = finalState([exitOf(ETH, [toDestination(alice.address), 1n], [toDestination(bob.address), 9n])])
    const running: State = { ...final, isFinal: false, turnNum: 2n, outcome: [exitOf(ETH, [toDestination(alice.address), 9n], [toDestination(bob.address), 1n])] }
    const { chain, asAlice, asBob, id } = await funded(final)
    await asAlice.submit(challengeOf(running, alice))
    await asBob.submit({ kind: 'conclude', signedState: signedByBoth(final) })
    await asBob.submit({ kind: 'transferAllAssets', channelId: id, outcome: final.outcome, stateHash: ZERO32 })
    expect(chain.balanceOf(bob.address, ETH)).toBe(109n)
  })

  const state = finalState()
  test.each([
    { name: 'a state that is not final', signed: () => signedByBoth({ ...state, isFinal: false }), reason: RevertReason.notFinal },
    { name: 'a final state bob has not signed', signed: () => signBy(unsigned(state), alice.signer), reason: RevertReason.notUnanimous },
  ])('refuses $name', async ({ signed, reason }) => {
    const { chain, asAlice, id } = await funded(signed().state)
    expect(await rejection(asAlice.submit({ kind: 'conclude', signedState: signed() }))).toEqual({ code: 'chain_reverted', reason })
    expect([chain.isFinalized(id), chain.blockNumber()]).toEqual([false, 1n])
  })

  test('refuses a finalized channel', async () => {
    const { asAlice } = await funded(state)
    await asAlice.submit({ kind: 'conclude', signedState: signedByBoth(state) })
    expect(await rejection(asAlice.submit({ kind: 'conclude', signedState: signedByBoth(state) }))).toEqual({ code: 'chain_reverted', reason: RevertReason.channelFinalized })
  })
})

// ---- payment channels: V = [alice (payer), irene, bob (payee)] under the virtual payment app ----

const VPA: Address = toAddress('0x00000000000000000000000000000000000f0a11')
const voucherType = [
  { type: 'tuple', components: [{ name: 'amount', type: 'uint256' }, { name: 'signature', type: 'tuple', components: [{ name: 'v', type: 'uint8' }, { name: 'r', type: 'bytes32' }, { name: 's', type: 'bytes32' }] }] },
] as const
/** keccak256(abi.encode(channelId, amount)) signed by `by`, as appData abi.encode((amount, (v, r, s))): built with viem, not our core. */
function voucherAppData(channel: Bytes32, amount: bigint, by = alice, signedAmount = amount): Hex {
  const signature = by.signer.signHash(toBytes32(keccak256(encodeAbiParameters([{ type: 'bytes32' }, { type: 'uint256' }], [channel, signedAmount]))))
  const [r, s, v] = [`0x${signature.slice(2, 66)}`, `0x${signature.slice(66, 130)}`, Number.parseInt(signature.slice(130), 16)] as const
  return encodeAbiParameters(voucherType, [{ amount, signature: { v, r: r as Hex, s: s as Hex } }])
}
/** The same voucher with its v word, or s replaced by its high twin n − s (v flipped so it still recovers alice). */
function tamperedVoucher(channel: Bytes32, amount: bigint, how: 'v past uint8' | 'high s'): Hex {
  const word = (i: number) => `0x${voucherAppData(channel, amount).slice(2 + 64 * i, 2 + 64 * (i + 1))}` as Hex
  const [v, r, s] = [BigInt(word(1)), word(2), word(3)]
  const words = [{ type: 'uint256' }, { type: 'uint256' }, { type: 'bytes32' }, { type: 'bytes32' }] as const
  if (how === 'v past uint8') return encodeAbiParameters(words, [amount, 256n + v, r, s])
  const highS = `0x${(SECP256K1_N - BigInt(s)).toString(16).padStart(64, '0')}` as Hex
  return encodeAbiParameters(words, [amount, v === 27n ? 28n : 27n, r, highS])
}

const V_BASE: State = {
  participants: [alice.address, irene.address, bob.address],
  channelNonce: 4242n,
  appDefinition: VPA,
  challengeDuration: 60,
  outcome: [exitOf(ETH, [toDestination(alice.address), 10n], [toDestination(bob.address), 0n])],
  appData: '0x',
  turnNum: 0n,
  isFinal: false,
}
const V_ID = idOf(V_BASE)
const vAt = (turnNum: bigint, split: readonly [bigint, bigint] = [10n, 0n], changes: Partial<State> = {}): State => ({
  ...V_BASE,
  turnNum,
  outcome: [exitOf(ETH, [toDestination(alice.address), split[0]], [toDestination(bob.address), split[1]])],
  ...changes,
})
const signedByAll = (state: State, ...who: (typeof alice)[]): SignedState => who.reduce((signed, w) => signBy(signed, w.signer), unsigned(state))
const V_POSTFUND = signedByAll(vAt(1n), alice, irene, bob)
/** Bob's redemption of a voucher for `amount` at turn 2: alice's share down by it, his up. */
const redemption = (amount: bigint, changes: Partial<State> = {}): State => vAt(2n, [10n - amount, amount], { appData: voucherAppData(V_ID, amount), ...changes })
const byBob = (state: State): SignedState => signBy(unsigned(state), bob.signer)

function paymentChain(options: { virtualPaymentApp?: Address } = { virtualPaymentApp: VPA }) {
  const chain = new MemoryChain(options)
  for (const who of [alice, irene, bob]) for (const asset of [ETH, TOKEN]) chain.fund(who.address, asset, 100n)
  return chain
}

describe('the virtual payment app (contracts/VirtualPaymentApp.sol) through challenge', () => {
  const exitWith = (changes: Partial<SingleAssetExit>) => [{ ...vAt(2n, [7n, 3n]).outcome[0]!, ...changes }]
  const threeWay = exitOf(ETH, [toDestination(alice.address), 7n], [toDestination(bob.address), 3n], [toDestination(irene.address), 0n])
  type Row = { name: string; proof: readonly SignedState[]; candidate: SignedState; reason?: RevertReason }
  test.each<Row>([
    { name: 'the prefund signed by all', proof: [], candidate: signedByAll(vAt(0n), alice, irene, bob) },
    { name: 'the postfund signed by all', proof: [], candidate: V_POSTFUND },
    { name: 'a final state signed by all, at turn 3', proof: [], candidate: signedByAll(vAt(3n, [7n, 3n], { isFinal: true }), alice, irene, bob) },
    { name: 'a final state signed by all, at turn 9', proof: [], candidate: signedByAll(vAt(9n, [7n, 3n], { isFinal: true }), alice, irene, bob) },
    { name: 'bob redeems 3 with the postfund as proof', proof: [V_POSTFUND], candidate: byBob(redemption(3n)) },
    { name: 'a redemption alice signed too', proof: [V_POSTFUND], candidate: signBy(byBob(redemption(3n)), alice.signer) },
    { name: 'a redemption of everything', proof: [V_POSTFUND], candidate: byBob(redemption(10n)) },
    {
      name: 'bob started with 2: his share is 2 + the voucher (ours; Nitro wants exactly the voucher)',
      proof: [signedByAll(vAt(1n, [10n, 2n]), alice, irene, bob)],
      candidate: byBob(vAt(2n, [7n, 5n], { appData: voucherAppData(V_ID, 3n) })),
    },
    { name: 'the postfund without irene', proof: [], candidate: signedByAll(vAt(1n), alice, bob), reason: RevertReason.notUnanimousWithoutProof },
    { name: 'a non-final turn 3 signed by all, no proof', proof: [], candidate: signedByAll(vAt(3n, [7n, 3n]), alice, irene, bob), reason: RevertReason.badTurnNumWithoutProof },
    { name: 'a redemption signed by all, no proof', proof: [], candidate: signedByAll(redemption(3n), alice, irene, bob), reason: RevertReason.badTurnNumWithoutProof },
    { name: 'two proof states', proof: [V_POSTFUND, V_POSTFUND], candidate: byBob(redemption(3n)), reason: RevertReason.badProofLength },
    { name: 'the prefund as proof', proof: [signedByAll(vAt(0n), alice, irene, bob)], candidate: byBob(redemption(3n)), reason: RevertReason.badProofTurnNum },
    { name: 'a postfund without irene as proof', proof: [signedByAll(vAt(1n), alice, bob)], candidate: byBob(redemption(3n)), reason: RevertReason.postfundNotUnanimous },
    {
      name: 'another channel’s postfund as proof (hashed under V’s id, nobody signed it)',
      proof: [signedByAll({ ...vAt(1n), channelNonce: 1n }, alice, irene, bob)],
      candidate: byBob(redemption(3n)),
      reason: RevertReason.postfundNotUnanimous,
    },
    { name: 'a redemption at turn 3', proof: [V_POSTFUND], candidate: byBob(redemption(3n, { turnNum: 3n })), reason: RevertReason.badTurnNumWithProof },
    { name: 'a redemption alice signed, not bob', proof: [V_POSTFUND], candidate: signBy(unsigned(redemption(3n)), alice.signer), reason: RevertReason.redemptionNotSignedByPayee },
    { name: 'a redemption irene signed, not bob', proof: [V_POSTFUND], candidate: signBy(unsigned(redemption(3n)), irene.signer), reason: RevertReason.redemptionNotSignedByPayee },
    { name: 'a voucher bob signed', proof: [V_POSTFUND], candidate: byBob(redemption(3n, { appData: voucherAppData(V_ID, 3n, bob) })), reason: RevertReason.invalidVoucher },
    { name: 'a voucher for another channel', proof: [V_POSTFUND], candidate: byBob(redemption(3n, { appData: voucherAppData(idOf(finalState()), 3n) })), reason: RevertReason.invalidVoucher },
    { name: 'a voucher claiming more than alice signed', proof: [V_POSTFUND], candidate: byBob(redemption(5n, { appData: voucherAppData(V_ID, 5n, alice, 3n) })), reason: RevertReason.invalidVoucher },
    { name: 'no voucher', proof: [V_POSTFUND], candidate: byBob(redemption(3n, { appData: '0x' })), reason: RevertReason.invalidVoucher },
    { name: 'a voucher with v past uint8', proof: [V_POSTFUND], candidate: byBob(redemption(3n, { appData: tamperedVoucher(V_ID, 3n, 'v past uint8') })), reason: RevertReason.invalidVoucher },
    { name: 'a voucher with the high-s twin of alice’s signature', proof: [V_POSTFUND], candidate: byBob(redemption(3n, { appData: tamperedVoucher(V_ID, 3n, 'high s') })), reason: RevertReason.invalidVoucher },
    { name: 'a second asset', proof: [V_POSTFUND], candidate: byBob(redemption(3n, { outcome: [...redemption(3n).outcome, exitOf(TOKEN)] })), reason: RevertReason.onlyOneAsset },
    { name: 'the asset changed', proof: [V_POSTFUND], candidate: byBob(redemption(3n, { outcome: exitWith({ asset: TOKEN }) })), reason: RevertReason.assetChanged },
    { name: 'the asset metadata changed', proof: [V_POSTFUND], candidate: byBob(redemption(3n, { outcome: exitWith({ assetMetadata: { assetType: 0, metadata: '0x01' } }) })), reason: RevertReason.assetChanged },
    { name: 'a third allocation', proof: [V_POSTFUND], candidate: byBob(redemption(3n, { outcome: [threeWay] })), reason: RevertReason.needTwoAllocations },
    {
      name: 'bob’s destination changed',
      proof: [V_POSTFUND],
      candidate: byBob(redemption(3n, { outcome: [exitOf(ETH, [toDestination(alice.address), 7n], [toDestination(eve.address), 3n])] })),
      reason: RevertReason.allocationChanged,
    },
    { name: 'alice down by less than the voucher', proof: [V_POSTFUND], candidate: byBob(vAt(2n, [8n, 3n], { appData: voucherAppData(V_ID, 3n) })), reason: RevertReason.payerNotAdjusted },
    { name: 'a voucher for more than alice has', proof: [V_POSTFUND], candidate: byBob(vAt(2n, [0n, 11n], { appData: voucherAppData(V_ID, 11n) })), reason: RevertReason.payerNotAdjusted },
    { name: 'bob up by more than the voucher', proof: [V_POSTFUND], candidate: byBob(vAt(2n, [7n, 4n], { appData: voucherAppData(V_ID, 3n) })), reason: RevertReason.payeeNotAdjusted },
    { name: 'bob up by less than the voucher', proof: [V_POSTFUND], candidate: byBob(vAt(2n, [7n, 2n], { appData: voucherAppData(V_ID, 3n) })), reason: RevertReason.payeeNotAdjusted },
  ])('$name → $reason', async ({ proof, candidate, reason }) => {
    const chain = paymentChain()
    const challenge = chain.submit({ kind: 'challenge', candidate, proof, challengerSignature: bob.signer.signHash(hashChallenge(hashState(candidate.state))) })
    if (reason !== undefined) {
      expect(await rejection(challenge)).toEqual({ code: 'chain_reverted', reason })
      expect(chain.blockNumber()).toBe(0n)
      return
    }
    await challenge
    expect(chain.events()).toEqual([expect.objectContaining({ kind: 'challenged', channelId: V_ID, turnNumRecord: candidate.state.turnNum, candidate: variablePart(candidate.state) })])
  })

  test('a channel with a single participant has no payee', async () => {
    const alone: State = { ...V_BASE, participants: [alice.address] }
    const chain = paymentChain()
    expect(await rejection(chain.submit(challengeOf(alone, alice, signBy(unsigned(alone), alice.signer))))).toEqual({ code: 'chain_reverted', reason: RevertReason.needPayerAndPayee })
  })

  test('without the option, or for another app, a redemption is judged by the consensus app', async () => {
    for (const chain of [paymentChain({}), paymentChain({ virtualPaymentApp: TOKEN })]) {
      const candidate = byBob(redemption(3n))
      const tx = { kind: 'challenge' as const, candidate, proof: [V_POSTFUND], challengerSignature: bob.signer.signHash(hashChallenge(hashState(candidate.state))) }
      expect(await rejection(chain.submit(tx))).toEqual({ code: 'chain_reverted', reason: RevertReason.proofNotEmpty })
    }
  })

  test('checkpoint takes the same rules: bob’s redemption clears a challenge of the postfund', async () => {
    const chain = paymentChain()
    await chain.submit(challengeOf(V_POSTFUND.state, alice, V_POSTFUND))
    expect(await rejection(chain.submit({ kind: 'checkpoint', candidate: byBob(redemption(3n)) }))).toEqual({ code: 'chain_reverted', reason: RevertReason.notUnanimousWithoutProof })
    await chain.submit({ kind: 'checkpoint', candidate: byBob(redemption(3n)), proof: [V_POSTFUND] })
    expect(chain.unpackStatus(V_ID)).toMatchObject({ turnNumRecord: 2n, finalizesAt: 0n })
  })
})

// ---- reclaim: ledgers L_AI (alice, irene) and L_IB (irene, bob) guarantee V ----

const guaranteeFor = (target: Bytes32, amount: bigint, left: typeof alice, right: typeof alice, metadata?: Hex) => ({
  destination: target,
  amount,
  allocationType: AllocationType.guarantee,
  metadata: metadata ?? encodeGuaranteeMetadata({ left: toDestination(left.address), right: toDestination(right.address) }),
})
/** A two-party ledger (consensus app) at turn 5, not final: alice 5, irene 5, a guarantee of 10 for V (left alice, right irene). */
function ledgerState(left = alice, right = irene, exits?: Exit): State {
  return {
    participants: [left.address, right.address],
    channelNonce: ++nonce,
    appDefinition: MEMORY_CONSENSUS_APP,
    challengeDuration: 60,
    outcome: exits ?? [{ ...exitOf(ETH, [toDestination(left.address), 5n], [toDestination(right.address), 5n]), allocations: [...exitOf(ETH, [toDestination(left.address), 5n], [toDestination(right.address), 5n]).allocations, guaranteeFor(V_ID, 10n, left, right)] }],
    appData: '0x',
    turnNum: 5n,
    isFinal: false,
  }
}
const signedByParties = (state: State): SignedState => {
  const parties = [alice, irene, bob].filter((who) => state.participants.includes(who.address))
  return signedByAll(state, ...parties)
}
const reclaimOf = (ledger: State, target: State, changes: Partial<ReclaimTransaction> = {}) => ({
  kind: 'reclaim' as const,
  sourceChannelId: idOf(ledger),
  sourceStateHash: hashState(ledger),
  sourceOutcome: ledger.outcome,
  sourceAssetIndex: 0n,
  indexOfTargetInSource: 2n,
  targetStateHash: hashState(target),
  targetOutcome: target.outcome,
  targetAssetIndex: 0n,
  ...changes,
})

describe('reclaim', () => {
  /** The ledger and V (registered with `target`, signed by all) challenged in `order`, then time passes for the first only or both. */
  async function registered(p: { ledger?: State; target?: State; finalized?: 'both' | 'ledger only' | 'target only' } = {}) {
    const chain = paymentChain()
    const ledger = p.ledger ?? ledgerState()
    const target = p.target ?? vAt(1n)
    const registerLedger = () => chain.submit(challengeOf(ledger, alice, signedByParties(ledger)))
    const registerTarget = () => chain.submit(challengeOf(target, alice, signedByAll(target, alice, irene, bob)))
    const [first, second] = p.finalized === 'target only' ? [registerTarget, registerLedger] : [registerLedger, registerTarget]
    await first()
    if (p.finalized === undefined || p.finalized === 'both') {
      await second()
      chain.advanceTime(61n)
    } else {
      chain.advanceTime(61n)
      await second()
    }
    return { chain, ledger, target }
  }

  test('moves V’s split into the ledger, keeps the ledger’s turn and deadline, and emits its whole new outcome', async () => {
    const { chain, ledger, target } = await registered({ target: vAt(3n, [7n, 3n], { isFinal: true }) })
    const status = chain.unpackStatus(idOf(ledger))
    await chain.submit(reclaimOf(ledger, target))
    const reclaimed = [exitOf(ETH, [toDestination(alice.address), 12n], [toDestination(irene.address), 8n])]
    expect(chain.events().at(-1)).toEqual({ kind: 'reclaimed', channelId: idOf(ledger), outcome: reclaimed, block: 3n, logIndex: 0 })
    expect(chain.unpackStatus(idOf(ledger))).toMatchObject({ turnNumRecord: status.turnNumRecord, finalizesAt: status.finalizesAt })
    // The same guarantee cannot be reclaimed twice: the old outcome no longer matches, the new one has no guarantee.
    expect(await rejection(chain.submit(reclaimOf(ledger, target)))).toEqual({ code: 'chain_reverted', reason: RevertReason.incorrectFingerprint })
    expect(await rejection(chain.submit(reclaimOf(ledger, target, { sourceOutcome: reclaimed })))).toEqual({ code: 'chain_reverted', reason: RevertReason.indexOfTargetOutOfRange })
  })

  test('of a multi-asset ledger changes only the guarantee’s asset; the event carries every asset', async () => {
    const withToken: State = { ...ledgerState(), outcome: [exitOf(TOKEN, [toDestination(irene.address), 4n]), ...ledgerState().outcome] }
    const { chain, ledger, target } = await registered({ ledger: withToken })
    await chain.submit(reclaimOf(ledger, target, { sourceAssetIndex: 1n }))
    expect(chain.events().at(-1)).toMatchObject({
      kind: 'reclaimed',
      outcome: [exitOf(TOKEN, [toDestination(irene.address), 4n]), exitOf(ETH, [toDestination(alice.address), 15n], [toDestination(irene.address), 5n])],
    })
  })

  test('a concluded target registered the zero state hash: the reclaim must name it', async () => {
    const chain = paymentChain()
    const ledger = ledgerState()
    const final = vAt(3n, [7n, 3n], { isFinal: true })
    await chain.submit(challengeOf(ledger, alice, signedByParties(ledger)))
    await chain.submit({ kind: 'conclude', signedState: signedByAll(final, alice, irene, bob) })
    chain.advanceTime(61n)
    expect(await rejection(chain.submit(reclaimOf(ledger, final)))).toEqual({ code: 'chain_reverted', reason: RevertReason.incorrectFingerprint })
    await chain.submit(reclaimOf(ledger, final, { targetStateHash: ZERO32 }))
  })

  const ethLedger = (...allocations: Allocation[]): Exit => [{ ...exitOf(ETH), allocations }]
  const simple = (who: typeof alice, amount: bigint): Allocation => ({ destination: toDestination(who.address), amount, allocationType: 0, metadata: '0x' })
  test.each<{ name: string; ledger?: State; target?: State; finalized?: 'ledger only' | 'target only'; tx?: (l: State, t: State) => Partial<ReclaimTransaction>; reason: RevertReason }>([
    { name: 'the ledger not finalized', finalized: 'target only', reason: RevertReason.notFinalized },
    { name: 'V not finalized', finalized: 'ledger only', reason: RevertReason.notFinalized },
    { name: 'another ledger state', tx: (l) => ({ sourceStateHash: hashState({ ...l, turnNum: 6n }) }), reason: RevertReason.incorrectFingerprint },
    { name: 'another ledger outcome', tx: () => ({ sourceOutcome: ethLedger(simple(alice, 20n)) }), reason: RevertReason.incorrectFingerprint },
    { name: 'sourceAssetIndex past the ledger’s assets', tx: () => ({ sourceAssetIndex: 1n }), reason: RevertReason.sourceAssetIndexOutOfRange },
    { name: 'indexOfTargetInSource past the allocations', tx: () => ({ indexOfTargetInSource: 3n }), reason: RevertReason.indexOfTargetOutOfRange },
    { name: 'indexOfTargetInSource at alice’s allocation', tx: () => ({ indexOfTargetInSource: 0n }), reason: RevertReason.notAGuarantee },
    { name: 'guarantee metadata of 32 bytes', ledger: ledgerState(alice, irene, ethLedger(simple(alice, 5n), simple(irene, 5n), guaranteeFor(V_ID, 10n, alice, irene, `0x${'11'.repeat(32)}`))), reason: RevertReason.badGuaranteeMetadata },
    { name: 'another V state', tx: () => ({ targetStateHash: hashState(vAt(0n)) }), reason: RevertReason.incorrectFingerprint },
    { name: 'another V outcome', tx: () => ({ targetOutcome: vAt(2n, [7n, 3n]).outcome }), reason: RevertReason.incorrectFingerprint },
    { name: 'targetAssetIndex past V’s assets', tx: () => ({ targetAssetIndex: 1n }), reason: RevertReason.targetAssetIndexOutOfRange },
    {
      name: 'V in another asset than the guarantee',
      ledger: ledgerState(alice, irene, [{ ...exitOf(TOKEN), allocations: [simple(alice, 5n), simple(irene, 5n), guaranteeFor(V_ID, 10n, alice, irene)] }]),
      reason: RevertReason.targetAssetMismatch,
    },
    {
      name: 'V with three allocations',
      target: vAt(1n, [10n, 0n], { outcome: [exitOf(ETH, [toDestination(alice.address), 10n], [toDestination(bob.address), 0n], [toDestination(irene.address), 0n])] }),
      reason: RevertReason.targetNotTwoAllocations,
    },
    { name: 'a guarantee of 9 for a V of 10', ledger: ledgerState(alice, irene, ethLedger(simple(alice, 5n), simple(irene, 5n), guaranteeFor(V_ID, 9n, alice, irene))), reason: RevertReason.reclaimAmountMismatch },
    { name: 'no allocation to the guarantee’s left', ledger: ledgerState(alice, irene, ethLedger(simple(irene, 5n), simple(irene, 5n), guaranteeFor(V_ID, 10n, alice, irene))), reason: RevertReason.leftNotFound },
    { name: 'no allocation to the guarantee’s right', ledger: ledgerState(alice, irene, ethLedger(simple(alice, 5n), simple(alice, 5n), guaranteeFor(V_ID, 10n, alice, irene))), reason: RevertReason.rightNotFound },
    {
      name: 'left’s share carried past uint256 (a panic on chain)',
      ledger: ledgerState(alice, irene, ethLedger(simple(alice, MAX_UINT256), simple(irene, 5n), guaranteeFor(V_ID, 10n, alice, irene))),
      reason: RevertReason.underflow,
    },
  ])('refuses $name', async ({ ledger, target, finalized, tx, reason }) => {
    const r = await registered({ ...(ledger ? { ledger } : {}), ...(target ? { target } : {}), ...(finalized ? { finalized } : {}) })
    const before = { block: r.chain.blockNumber(), status: r.chain.unpackStatus(idOf(r.ledger)) }
    expect(await rejection(r.chain.submit(reclaimOf(r.ledger, r.target, tx?.(r.ledger, r.target))))).toEqual({ code: 'chain_reverted', reason })
    expect({ block: r.chain.blockNumber(), status: r.chain.unpackStatus(idOf(r.ledger)) }).toEqual(before)
  })
})

describe('a payment channel settled through its ledgers on chain (the payee’s redemption, reclaim, payout)', () => {
  test('the ledgers pay their parties V’s split: alice −3, irene nothing, bob +3; funds conserved throughout', async () => {
    const chain = paymentChain()
    const [asAlice, asIrene, asBob] = [chain.connect(alice.address), chain.connect(irene.address), chain.connect(bob.address)] as const
    const lAI = ledgerState(alice, irene)
    const lIB = ledgerState(irene, bob)
    const [ai, ib] = [idOf(lAI), idOf(lIB)]
    const conserved = async () => expect(await totalOf(chain, ETH, [alice.address, irene.address, bob.address], [ai, ib, V_ID])).toBe(300n)
    // Each ledger holds 5 + 5 plus the 10 its left party locked for V.
    await asAlice.submit({ kind: 'deposit', channelId: ai, asset: ETH, expectedHeld: 0n, amount: 15n })
    await asIrene.submit({ kind: 'deposit', channelId: ai, asset: ETH, expectedHeld: 15n, amount: 5n })
    await asIrene.submit({ kind: 'deposit', channelId: ib, asset: ETH, expectedHeld: 0n, amount: 15n })
    await asBob.submit({ kind: 'deposit', channelId: ib, asset: ETH, expectedHeld: 15n, amount: 5n })
    await conserved()

    // Both ledgers are registered with their latest state; alice registers V's postfund (she paid 3 since).
    await asAlice.submit(challengeOf(lAI, alice, signedByParties(lAI)))
    await asBob.submit(challengeOf(lIB, bob, signedByParties(lIB)))
    await asAlice.submit(challengeOf(V_POSTFUND.state, alice, V_POSTFUND))
    // Bob answers with his redemption of alice's voucher for 3, the postfund as proof.
    const redeemed = redemption(3n)
    await asBob.submit({ kind: 'challenge', candidate: byBob(redeemed), proof: [V_POSTFUND], challengerSignature: bob.signer.signHash(hashChallenge(hashState(redeemed))) })
    expect(chain.events().at(-1)).toMatchObject({ kind: 'challenged', channelId: V_ID, turnNumRecord: 2n })
    expect(await rejection(asBob.submit(reclaimOf(lIB, redeemed)))).toEqual({ code: 'chain_reverted', reason: RevertReason.notFinalized })
    chain.advanceTime(61n)

    const paidOut = [
      { ledger: lAI, id: ai, as: asAlice, outcome: [exitOf(ETH, [toDestination(alice.address), 12n], [toDestination(irene.address), 8n])] },
      { ledger: lIB, id: ib, as: asBob, outcome: [exitOf(ETH, [toDestination(irene.address), 12n], [toDestination(bob.address), 8n])] },
    ]
    for (const { ledger, id, as, outcome } of paidOut) {
      await as.submit(reclaimOf(ledger, redeemed))
      expect(chain.events().at(-1)).toMatchObject({ kind: 'reclaimed', channelId: id, outcome })
      // The chain registered the reclaimed outcome: the ledger's signed outcome no longer pays.
      expect(await rejection(as.submit({ kind: 'transferAllAssets', channelId: id, outcome: ledger.outcome, stateHash: hashState(ledger) }))).toEqual({
        code: 'chain_reverted',
        reason: RevertReason.incorrectFingerprint,
      })
      await as.submit({ kind: 'transferAllAssets', channelId: id, outcome, stateHash: hashState(ledger) })
      expect(await chain.holdings(id, ETH)).toBe(0n)
      expect(chain.unpackStatus(id)).toEqual({ turnNumRecord: 0n, finalizesAt: 0n, fingerprint: 0n })
      await conserved()
    }
    expect([alice, irene, bob].map((who) => chain.balanceOf(who.address, ETH))).toEqual([97n, 100n, 103n])
  })
})

describe('funds are conserved', () => {
  test('balances plus holdings stay what was minted across random deposits and withdrawals', async () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('deposit' as const), who: fc.constantFrom(0, 1), channel: fc.nat(2), amount: fc.bigInt({ min: 0n, max: 30n }), stale: fc.boolean() }),
      fc.record({ kind: fc.constant('conclude' as const), channel: fc.nat(2) }),
    )
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 12 }), async (steps) => {
        const { chain, asAlice, asBob } = setup()
        const states = [0, 1, 2].map(() => finalState([exitOf(ETH, [toDestination(alice.address), 7n], [V, 4n], [toDestination(bob.address), 9n])]))
        const ids = states.map(idOf)
        for (const s of steps) {
          const id = ids[s.channel]!
          const attempt =
            s.kind === 'deposit'
              ? [asAlice, asBob][s.who]!.submit({ kind: 'deposit', channelId: id, asset: ETH, expectedHeld: (await chain.holdings(id, ETH)) + (s.stale ? 1n : 0n), amount: s.amount })
              : asAlice.submit({ kind: 'concludeAndWithdraw', signedState: signedByBoth(states[s.channel]!) })
          // Refusals are part of the walk; anything but a revert is a failure.
          await attempt.catch((error: unknown) => expect(error).toBeInstanceOf(ChainRevertedError))
          expect(await totalOf(chain, ETH, [alice.address, bob.address], [...ids, V])).toBe(200n)
        }
      }),
      { numRuns: 40 },
    )
  })
})

describe('subscribe', () => {
  async function threeDeposits() {
    const s = setup()
    const id = idOf(finalState())
    for (const [i, amount] of [1n, 2n, 3n].entries()) {
      await s.asAlice.submit({ kind: 'deposit', channelId: id, asset: ETH, expectedHeld: [0n, 1n, 3n][i]!, amount })
    }
    return { ...s, id }
  }

  test('replays past events asynchronously, then streams new ones in order', async () => {
    const { chain, asAlice, id } = await threeDeposits()
    const seen: bigint[] = []
    chain.subscribe((event) => seen.push(event.block))
    expect(seen).toEqual([]) // never called synchronously
    await chain.delivered()
    expect(seen).toEqual([1n, 2n, 3n])
    await asAlice.submit({ kind: 'deposit', channelId: id, asset: ETH, expectedHeld: 6n, amount: 1n })
    await chain.delivered()
    expect(seen).toEqual([1n, 2n, 3n, 4n])
  })

  test.each([
    { name: 'no cursor: everything', cursor: undefined, blocks: [1n, 2n, 3n] },
    { name: 'after block 1', cursor: { block: 1n, logIndex: 0 }, blocks: [2n, 3n] },
    { name: 'after the last event: nothing yet', cursor: { block: 3n, logIndex: 0 }, blocks: [] },
    { name: 'a cursor between logs of a block', cursor: { block: 2n, logIndex: 7 }, blocks: [3n] },
    { name: 'a cursor before the first block', cursor: { block: 0n, logIndex: 0 }, blocks: [1n, 2n, 3n] },
  ])('from a cursor: $name', async ({ cursor, blocks }) => {
    const { chain } = await threeDeposits()
    const seen: bigint[] = []
    chain.subscribe((event) => seen.push(event.block), cursor)
    await chain.delivered()
    expect(seen).toEqual(blocks)
  })

  test('a cursor inside a block skips only the logs up to it', async () => {
    const state = finalState()
    const { chain, asAlice } = setup()
    const id = idOf(state)
    await asAlice.submit({ kind: 'deposit', channelId: id, asset: ETH, expectedHeld: 0n, amount: 10n })
    await asAlice.submit({ kind: 'concludeAndWithdraw', signedState: signedByBoth(state) })
    const seen: ChainEvent['kind'][] = []
    chain.subscribe((event) => seen.push(event.kind), { block: 2n, logIndex: 0 })
    await chain.delivered()
    expect(seen).toEqual(['allocationUpdated'])
  })

  test('unsubscribing stops delivery, including events already queued', async () => {
    const { chain, asAlice, id } = await threeDeposits()
    const seen: bigint[] = []
    const stop = chain.subscribe((event) => seen.push(event.block))
    stop()
    await asAlice.submit({ kind: 'deposit', channelId: id, asset: ETH, expectedHeld: 6n, amount: 1n })
    await chain.delivered()
    expect(seen).toEqual([])
  })

  test('a listener that unsubscribes itself mid-replay hears nothing more', async () => {
    const { chain } = await threeDeposits()
    const seen: bigint[] = []
    const stop = chain.subscribe((event) => {
      seen.push(event.block)
      stop()
    })
    await chain.delivered()
    expect(seen).toEqual([1n])
  })

  test('each listener keeps emission order even when the scheduler runs tasks out of order', async () => {
    const tasks: (() => void)[] = []
    const chain = new MemoryChain({ schedule: (task) => tasks.push(task) })
    chain.fund(alice.address, ETH, 10n)
    const asAlice = chain.connect(alice.address)
    const id = idOf(finalState())
    const seen: [string, bigint][] = []
    chain.subscribe((event) => seen.push(['first', event.block]))
    await asAlice.submit({ kind: 'deposit', channelId: id, asset: ETH, expectedHeld: 0n, amount: 1n })
    chain.subscribe((event) => seen.push(['second', event.block]))
    await asAlice.submit({ kind: 'deposit', channelId: id, asset: ETH, expectedHeld: 1n, amount: 1n })
    expect(seen).toEqual([])
    while (tasks.length > 0) tasks.pop()!() // last scheduled first
    expect(seen.filter(([who]) => who === 'first').map(([, block]) => block)).toEqual([1n, 2n])
    expect(seen.filter(([who]) => who === 'second').map(([, block]) => block)).toEqual([1n, 2n])
  })

  test('a listener that throws does not lose the events after the one it threw on', async () => {
    const tasks: (() => void)[] = []
    const chain = new MemoryChain({ schedule: (task) => tasks.push(task) })
    chain.fund(alice.address, ETH, 10n)
    const asAlice = chain.connect(alice.address)
    const id = idOf(finalState())
    await asAlice.submit({ kind: 'deposit', channelId: id, asset: ETH, expectedHeld: 0n, amount: 1n })
    await asAlice.submit({ kind: 'deposit', channelId: id, asset: ETH, expectedHeld: 1n, amount: 1n })
    const seen: bigint[] = []
    chain.subscribe((event) => {
      seen.push(event.block)
      if (event.block === 1n) throw new Error('listener bug')
    })
    expect(() => tasks.shift()!()).toThrow('listener bug')
    while (tasks.length > 0) tasks.shift()!()
    expect(seen).toEqual([1n, 2n])
  })

  test.each([
    { name: 'negative logIndex', cursor: { block: 1n, logIndex: -1 } },
    { name: 'fractional logIndex', cursor: { block: 1n, logIndex: 0.5 } },
    { name: 'negative block', cursor: { block: -1n, logIndex: 0 } },
  ])('refuses a cursor with $name', ({ cursor }) => {
    expect(() => new MemoryChain().subscribe(() => undefined, cursor)).toThrow(expect.objectContaining({ code: 'out_of_range' }))
  })
})

describe('accounts and reads', () => {
  test('connect: the same chain seen by an account', async () => {
    const { chain, asAlice } = setup()
    expect(asAlice.account).toBe(alice.address)
    expect(asAlice.consensusApp).toBe(chain.consensusApp)
    expect(chain.consensusApp).toBe(MEMORY_CONSENSUS_APP)
    expect(new MemoryChain({ consensusApp: TOKEN }).consensusApp).toBe(TOKEN)
  })

  test.each([
    { name: 'fund: a negative amount', run: () => new MemoryChain().fund(alice.address, ETH, -1n), code: 'out_of_range' },
    { name: 'fund: past the uint256 supply', run: () => { const c = new MemoryChain(); c.fund(alice.address, ETH, 2n ** 256n - 1n); c.fund(bob.address, ETH, 1n) }, code: 'out_of_range' },
    { name: 'balanceOf: a malformed address', run: () => new MemoryChain().balanceOf('0x12' as Address, ETH), code: 'invalid_address' },
    { name: 'connect: a malformed account', run: () => new MemoryChain().connect('0x12' as Address), code: 'invalid_address' },
  ])('$name → $code', ({ run, code }) => {
    expect(run).toThrow(expect.objectContaining({ code }))
  })

  test('holdings: a malformed channel id rejects with a typed error', async () => {
    expect(await rejection(new MemoryChain().holdings(toBytes32('0x12'), ETH))).toEqual({ code: 'invalid_length', reason: undefined })
  })
})
