// MemoryChain: the adjudicator's deposit and concludeAndTransferAllAssets, modelled in memory. The deposit
// table is transcribed from Nitro's contract tests (statechannels/go-nitro,
// packages/nitro-protocol/test/contracts/MultiAssetHolder/deposit.test.ts, cases 0–7); revert strings are
// the contract's (NITRO-NOTES §5.1). Actors' addresses come from viem, independent of the signer under test.
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import type { Hex } from 'viem'
import type { Address, Bytes32 } from '../core/types.js'
import { privateKeyToAccount } from 'viem/accounts'
import type { ChainLogEvent as ChainEvent } from '../protocols/onchain.js'
import type { State } from '../core/state.js'
import type { SignedState } from '../core/signedState.js'
import type { SingleAssetExit } from '../core/outcome.js'
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
import { AllocationType } from '../core/outcome.js'

const actor = (key: Hex) => ({ address: toAddress(privateKeyToAccount(key).address), signer: createSigner(key) })
const alice = actor(`0x${'a1'.repeat(32)}`)
const bob = actor(`0x${'b0'.repeat(32)}`)
const eve = actor(`0x${'e0'.repeat(32)}`)
const ETH: Address = toAddress('0x0000000000000000000000000000000000000000')
const TOKEN: Address = toAddress('0x5e29E5Ab8EF33F050c7cc10B5a0456D975C5F88d')
const toDestination = (address: Address): Bytes32 => toBytes32(`0x${'0'.repeat(24)}${address.slice(2)}`)
const V = toBytes32(`0x${'5a'.repeat(32)}`) // another channel, credited internally

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
    { name: 'holdings cover both listings', held: 10n, outcome: 'paid' as const },
    { name: 'the second listing underflows', held: 6n, outcome: 'reverted' as const },
  ])('an asset listed twice is paid twice from the same initial holdings: $name', async ({ held, outcome }) => {
    const twice = finalState([exitOf(ETH, [toDestination(alice.address), 5n]), exitOf(ETH, [toDestination(bob.address), 5n])])
    const { chain, asAlice, id } = await funded(twice, { alice: held })
    const conclude = asAlice.submit({ kind: 'concludeAndWithdraw', signedState: signedByBoth(twice) })
    if (outcome === 'reverted') {
      expect(await rejection(conclude)).toEqual({ code: 'chain_reverted', reason: RevertReason.underflow })
      expect(await chain.holdings(id, ETH)).toBe(held)
    } else {
      await conclude
      expect([chain.balanceOf(alice.address, ETH), chain.balanceOf(bob.address, ETH)]).toEqual([95n, 105n])
    }
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
    expect(await rejection(asBob.submit(challengeBy(older, bob)))).toEqual({ code: 'chain_reverted', reason: 'turnNumRecord decreased.' })
    chain.advanceTime(61n)
    expect(await rejection(asBob.submit(payout(id, older)))).toEqual({ code: 'chain_reverted', reason: 'incorrect fingerprint' })
    expect(await rejection(asBob.submit(challengeBy(state, bob)))).toEqual({ code: 'chain_reverted', reason: 'Channel finalized.' })
    await asBob.submit(payout(id, state))
    expect(await chain.holdings(id, ETH)).toBe(0n)
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
