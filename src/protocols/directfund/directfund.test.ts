// DirectFund (NITRO-NOTES §2.1, DESIGN §5): alice (participant 0, first in outcome order) and bob
// (participant 1) walk the objective through every pause point; refusals are tables of named cases with
// their error codes. Expected values are worked from the protocol (shares, thresholds, turn numbers), not
// copied from the code's output; signing is deterministic (RFC 6979), so an expected signed state is the
// core's signBy of the expected state.
import { describe, expect, test } from 'vitest'
import type { Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { Address, Bytes32 } from '../../core/types.js'
import type { State } from '../../core/state.js'
import type { SignedState } from '../../core/signedState.js'
import type { Signer } from '../../core/signer.js'
import { createSigner } from '../../core/signer.js'
import { channelId } from '../../core/channelId.js'
import { hashState } from '../../core/hashState.js'
import { recoverHashSigner } from '../../core/signatures.js'
import { signBy, unsigned } from '../../core/signedState.js'
import type { Effect } from '../objective.js'
import type { DirectFund, DirectFundWaitingFor } from './directfund.js'
import { MAX_DEPOSIT_ATTEMPTS, crank, directFundId, newDirectFund, update } from './directfund.js'
import { codeOf } from '../../../test/hostile.js'
import { toAddress, toBytes32 } from '../../core/canonical.js'
import { AllocationType } from '../../core/outcome.js'

// go-nitro's internal/testactors keys; addresses derived by viem, independently of our signer.
const actor = (key: Hex) => ({ address: toAddress(privateKeyToAccount(key).address), signer: createSigner(key) })
const alice = actor('0x2d999770f7b5d49b694080f987b82bbc9fc9ac2b4dcc10b0f8aba7d700f69c6d')
const bob = actor('0x0279651921cd800ac560c21ceea27aab0107b67daf436cdd25ce84cad30159b4')
const mallory = actor(`0x${'33'.repeat(32)}`)

const ETH: Address = toAddress('0x0000000000000000000000000000000000000000')
const CONSENSUS_APP: Address = toAddress('0x5e29E5Ab8EF33F050c7cc10B5a0456D975C5F88d')
const ALICE_SHARE = 5n
const BOB_SHARE = 3n

const destinationOf = (a: Address): Bytes32 => toBytes32(`0x${'0'.repeat(24)}${a.slice(2)}`)
const simple = (destination: Bytes32, amount: bigint) => ({ destination, amount, allocationType: 0, metadata: '0x' as Hex })

function prefundState(shares: { alice: bigint; bob: bigint } = { alice: ALICE_SHARE, bob: BOB_SHARE }): State {
  return {
    participants: [alice.address, bob.address],
    channelNonce: 7n,
    appDefinition: CONSENSUS_APP,
    challengeDuration: 86_400,
    outcome: [{ asset: ETH, assetMetadata: { assetType: 0, metadata: '0x' }, allocations: [simple(destinationOf(alice.address), shares.alice), simple(destinationOf(bob.address), shares.bob)] }],
    appData: '0x',
    turnNum: 0n,
    isFinal: false,
  }
}

const PREFUND = prefundState()
const POSTFUND: State = { ...PREFUND, turnNum: 1n }
const CHANNEL_ID = channelId({ participants: [alice.address, bob.address], channelNonce: 7n, appDefinition: CONSENSUS_APP, challengeDuration: 86_400 })
const OBJECTIVE_ID = `directfund:${CHANNEL_ID.toLowerCase()}`

function signedBy(state: State, ...signers: Signer[]): SignedState {
  return signers.reduce((s, signer) => signBy(s, signer), unsigned(state))
}

/** Who signed each slot, recovered from the signature (null for an empty slot). */
const signersOf = (s: SignedState) => s.signatures.map((sig) => (sig === null ? null : recoverHashSigner(hashState(s.state), sig)))

const sendState = (to: Address, signedState: SignedState): Effect => ({ kind: 'send', to, payload: { kind: 'signedState', objectiveId: OBJECTIVE_ID, signedState } })
const deposit = (expectedHeld: bigint, amount: bigint): Effect => ({ kind: 'submit', tx: { kind: 'deposit', channelId: CHANNEL_ID, asset: ETH, expectedHeld, amount } })

/** The signed state each send effect carries (the objectives exchange nothing else). */
function sentStates(effects: readonly Effect[]): SignedState[] {
  return effects.map((e) => {
    if (e.kind !== 'send' || e.payload.kind !== 'signedState') return expect.fail(`expected a signed state to send, got ${e.kind}`)
    return e.payload.signedState
  })
}

/** Cranks once, then checks that cranking the result again asks for nothing new (STYLE §2). */
function step(o: DirectFund, signer: Signer): { objective: DirectFund; effects: readonly Effect[]; waitingFor: DirectFundWaitingFor } {
  const first = crank(o, signer)
  const again = crank(first.objective, signer)
  expect(again.effects).toEqual([])
  expect(again.waitingFor).toBe(first.waitingFor)
  expect(again.objective).toEqual(first.objective)
  return first
}

const aliceStarts = () => newDirectFund(PREFUND, alice.address, 'approved')
/** Bob builds his objective from alice's prefund message, as the engine does, and approves it. */
const bobReceives = (aliceSigned: SignedState) => ({ ...update(newDirectFund(aliceSigned.state, bob.address, 'unapproved'), { kind: 'signedState', signed: aliceSigned }), status: 'approved' as const })
const holdings = (o: DirectFund, amount: bigint) => update(o, { kind: 'holdings', amount })

describe('newDirectFund', () => {
  test('builds the objective of a ledger channel: id, my index, unsigned prefund (turn 0) and postfund (turn 1), nothing held', () => {
    const o = newDirectFund(PREFUND, bob.address, 'unapproved')
    expect(o.id).toBe(OBJECTIVE_ID)
    expect(directFundId(CHANNEL_ID)).toBe(OBJECTIVE_ID)
    expect(o).toMatchObject({ kind: 'directfund', status: 'unapproved', failure: null, channelId: CHANNEL_ID, myIndex: 1, holdings: 0n, depositSubmitted: false, depositFailures: 0 })
    expect(o.prefund).toEqual({ state: PREFUND, signatures: [null, null] })
    expect(o.postfund).toEqual({ state: POSTFUND, signatures: [null, null] })
  })

  const withAllocations = (...allocations: ReturnType<typeof simple>[]): State => ({ ...PREFUND, outcome: [{ ...PREFUND.outcome[0]!, allocations }] })
  const A = destinationOf(alice.address)
  const B = destinationOf(bob.address)
  test.each([
    { name: 'three participants', prefund: { ...PREFUND, participants: [alice.address, bob.address, mallory.address] }, me: alice.address, code: 'unsupported_channel' },
    { name: 'one participant', prefund: { ...PREFUND, participants: [alice.address] }, me: alice.address, code: 'unsupported_channel' },
    { name: 'the same participant twice', prefund: { ...withAllocations(simple(A, 5n), simple(A, 3n)), participants: [alice.address, alice.address] }, me: alice.address, code: 'unsupported_channel' },
    { name: 'two assets', prefund: { ...PREFUND, outcome: [PREFUND.outcome[0]!, { ...PREFUND.outcome[0]!, asset: CONSENSUS_APP }] }, me: alice.address, code: 'unsupported_channel' },
    { name: 'no asset', prefund: { ...PREFUND, outcome: [] }, me: alice.address, code: 'unsupported_channel' },
    { name: 'destinations swapped (bob paid first)', prefund: withAllocations(simple(B, 3n), simple(A, 5n)), me: alice.address, code: 'unsupported_channel' },
    { name: "bob's share paid to mallory", prefund: withAllocations(simple(A, 5n), simple(destinationOf(mallory.address), 3n)), me: alice.address, code: 'unsupported_channel' },
    { name: "bob's share paid to a channel", prefund: withAllocations(simple(A, 5n), simple(toBytes32(`0x${'ee'.repeat(32)}`), 3n)), me: alice.address, code: 'unsupported_channel' },
    { name: 'one allocation', prefund: withAllocations(simple(A, 5n)), me: alice.address, code: 'unsupported_channel' },
    { name: 'three allocations', prefund: withAllocations(simple(A, 5n), simple(B, 3n), simple(B, 1n)), me: alice.address, code: 'unsupported_channel' },
    { name: 'a guarantee allocation', prefund: withAllocations(simple(A, 5n), { ...simple(B, 3n), allocationType: AllocationType.guarantee }), me: alice.address, code: 'unsupported_channel' },
    { name: 'turn 1 (non-zero turn)', prefund: { ...PREFUND, turnNum: 1n }, me: alice.address, code: 'unexpected_state' },
    { name: 'a final state', prefund: { ...PREFUND, isFinal: true }, me: alice.address, code: 'unexpected_state' },
    { name: 'me not a participant', prefund: PREFUND, me: mallory.address, code: 'unsupported_channel' },
  ])('refuses $name with $code', ({ prefund, me, code }) => {
    expect(codeOf(() => newDirectFund(prefund, me, 'approved'))).toBe(code)
  })

})

describe('alice and bob fund a ledger (alice first in outcome order)', () => {
  test('every pause point, in order', () => {
    // bob's objective, built from a message and not yet approved, waits for approval and does nothing
    const unapproved = update(newDirectFund(PREFUND, bob.address, 'unapproved'), { kind: 'signedState', signed: signedBy(PREFUND, alice.signer) })
    const waitingApproval = step(unapproved, bob.signer)
    expect(waitingApproval.waitingFor).toBe('approval')
    expect(waitingApproval.effects).toEqual([])
    expect(waitingApproval.objective).toEqual(unapproved)

    // alice signs the prefund and sends it to bob, once
    const a1 = step(aliceStarts(), alice.signer)
    expect(a1.waitingFor).toBe('prefund')
    expect(a1.effects).toEqual([sendState(bob.address, signedBy(PREFUND, alice.signer))])
    expect(signersOf(sentStates(a1.effects)[0]!)).toEqual([alice.address, null])

    // bob approves, countersigns the prefund and sends it back (with every signature he holds); he is
    // second in outcome order, so he waits until the holdings cover alice's share before depositing
    const b1 = step(bobReceives(sentStates(a1.effects)[0]!), bob.signer)
    expect(b1.waitingFor).toBe('myTurnToDeposit')
    expect(b1.effects).toEqual([sendState(alice.address, signedBy(PREFUND, alice.signer, bob.signer))])
    expect(signersOf(sentStates(b1.effects)[0]!)).toEqual([alice.address, bob.address])
    expect(signersOf(b1.objective.prefund)).toEqual([alice.address, bob.address])

    // alice, first in line, deposits her whole share at once: expectedHeld = holdings, amount = target − holdings
    const a2 = step(update(a1.objective, { kind: 'signedState', signed: sentStates(b1.effects)[0]! }), alice.signer)
    expect(a2.waitingFor).toBe('funding')
    expect(a2.effects).toEqual([deposit(0n, ALICE_SHARE)])
    expect(a2.objective.depositSubmitted).toBe(true)

    // one unit short of alice's share: bob still waits, and alice waits without depositing again
    const b2 = step(holdings(b1.objective, ALICE_SHARE - 1n), bob.signer)
    expect(b2.waitingFor).toBe('myTurnToDeposit')
    expect(b2.effects).toEqual([])
    const a3 = step(holdings(a2.objective, ALICE_SHARE - 1n), alice.signer)
    expect(a3.waitingFor).toBe('funding')
    expect(a3.effects).toEqual([])

    // alice's share is held: bob deposits his, exactly once; alice (her share covered) waits for his
    const b3 = step(holdings(b2.objective, ALICE_SHARE), bob.signer)
    expect(b3.waitingFor).toBe('funding')
    expect(b3.effects).toEqual([deposit(ALICE_SHARE, BOB_SHARE)])
    const a4 = step(holdings(a3.objective, ALICE_SHARE), alice.signer)
    expect(a4.waitingFor).toBe('funding')
    expect(a4.effects).toEqual([])

    // fully funded: both sign the postfund (turn 1) and send it, once
    const a5 = step(holdings(a4.objective, ALICE_SHARE + BOB_SHARE), alice.signer)
    expect(a5.waitingFor).toBe('postfund')
    expect(a5.effects).toEqual([sendState(bob.address, signedBy(POSTFUND, alice.signer))])
    const b4 = step(holdings(b3.objective, ALICE_SHARE + BOB_SHARE), bob.signer)
    expect(b4.waitingFor).toBe('postfund')
    expect(b4.effects).toEqual([sendState(alice.address, signedBy(POSTFUND, bob.signer))])

    // each completes once it holds the other's postfund signature
    const a6 = step(update(a5.objective, { kind: 'signedState', signed: sentStates(b4.effects)[0]! }), alice.signer)
    const b5 = step(update(b4.objective, { kind: 'signedState', signed: sentStates(a5.effects)[0]! }), bob.signer)
    for (const done of [a6, b5]) {
      expect(done.waitingFor).toBe('nothing')
      expect(done.effects).toEqual([])
      expect(done.objective.status).toBe('completed')
      expect(signersOf(done.objective.postfund)).toEqual([alice.address, bob.address])
    }
  })

  test('no deposit before the prefund is fully signed, whatever the holdings', () => {
    const a1 = step(holdings(aliceStarts(), 100n), alice.signer)
    expect(a1.waitingFor).toBe('prefund')
    expect(a1.effects.filter((e) => e.kind === 'submit')).toEqual([])
  })

  test('bob deposits only what is missing of his share when someone else covered part of it', () => {
    const b1 = step(holdings(bobReceives(signedBy(PREFUND, alice.signer)), ALICE_SHARE + 1n), bob.signer)
    expect(b1.waitingFor).toBe('funding')
    expect(b1.effects).toEqual([sendState(alice.address, signedBy(PREFUND, alice.signer, bob.signer)), deposit(ALICE_SHARE + 1n, BOB_SHARE - 1n)])
  })

  test('a participant with a zero share never deposits and signs the postfund once the other share is held', () => {
    const prefund = prefundState({ alice: ALICE_SHARE, bob: 0n })
    const bobsOwn = { ...update(newDirectFund(prefund, bob.address, 'unapproved'), { kind: 'signedState', signed: signedBy(prefund, alice.signer) }), status: 'approved' as const }
    const b1 = step(bobsOwn, bob.signer)
    expect(b1.waitingFor).toBe('myTurnToDeposit')
    const b2 = step(holdings(b1.objective, ALICE_SHARE), bob.signer)
    expect(b2.waitingFor).toBe('postfund')
    // same fixed part, so same channel and objective id as PREFUND's
    expect(b2.effects).toEqual([sendState(alice.address, signedBy({ ...prefund, turnNum: 1n }, bob.signer))])
  })

  test("a peer's postfund signature that arrives early is kept and completes the objective after funding", () => {
    const b1 = step(bobReceives(signedBy(PREFUND, alice.signer)), bob.signer)
    const early = update(b1.objective, { kind: 'signedState', signed: signedBy(POSTFUND, alice.signer) })
    expect(step(early, bob.signer).waitingFor).toBe('myTurnToDeposit')
    const done = step(holdings(early, ALICE_SHARE + BOB_SHARE), bob.signer)
    expect(done.effects).toEqual([sendState(alice.address, signedBy(POSTFUND, alice.signer, bob.signer))])
    expect(done.waitingFor).toBe('nothing')
    expect(done.objective.status).toBe('completed')
  })

  test('a duplicate signed state or holdings report changes nothing', () => {
    const a1 = step(aliceStarts(), alice.signer).objective
    const once = update(a1, { kind: 'signedState', signed: signedBy(PREFUND, bob.signer) })
    expect(update(once, { kind: 'signedState', signed: signedBy(PREFUND, bob.signer) })).toEqual(once)
    expect(update(once, { kind: 'signedState', signed: signedBy(PREFUND, alice.signer, bob.signer) })).toEqual(once)
    expect(holdings(holdings(once, 4n), 4n)).toEqual(holdings(once, 4n))
  })

  test.each([
    { status: 'completed' as const },
    { status: 'failed' as const },
    { status: 'rejected' as const },
  ])('a $status objective asks for nothing', ({ status }) => {
    const o = { ...aliceStarts(), status }
    expect(crank(o, alice.signer)).toEqual({ objective: o, effects: [], waitingFor: 'nothing' })
  })

  test('cranking with a key that is not mine is our own bug (invariant)', () => {
    expect(codeOf(() => crank(aliceStarts(), bob.signer))).toBe('invariant')
  })
})

describe('failed deposits', () => {
  const funding = () => {
    const a1 = step(aliceStarts(), alice.signer).objective
    const a2 = step(update(a1, { kind: 'signedState', signed: signedBy(PREFUND, bob.signer) }), alice.signer)
    expect(a2.effects).toEqual([deposit(0n, ALICE_SHARE)])
    return a2.objective
  }
  const failed = (o: DirectFund) => update(o, { kind: 'depositFailed', code: 'chain_reverted', summary: 'holdings changed' })

  test(`a refused deposit is retried against the latest holdings, up to ${MAX_DEPOSIT_ATTEMPTS} attempts, then the objective fails with {code, summary}`, () => {
    let o = funding()
    for (let attempt = 2; attempt <= MAX_DEPOSIT_ATTEMPTS; attempt++) {
      o = failed(o)
      expect(o).toMatchObject({ status: 'approved', failure: null, depositSubmitted: false, depositFailures: attempt - 1 })
      // someone deposited 1 meanwhile: the retry expects what is now held and tops up only the rest
      const retry = step(holdings(o, BigInt(attempt - 1)), alice.signer)
      expect(retry.waitingFor).toBe('funding')
      expect(retry.effects).toEqual([deposit(BigInt(attempt - 1), ALICE_SHARE - BigInt(attempt - 1))])
      o = retry.objective
    }
    const gaveUp = failed(o)
    expect(gaveUp.status).toBe('failed')
    expect(gaveUp.failure).toEqual({ code: 'chain_reverted', summary: 'deposit failed: holdings changed' })
    expect(crank(gaveUp, alice.signer)).toEqual({ objective: gaveUp, effects: [], waitingFor: 'nothing' })
  })

  test('the objective gives up after exactly MAX_DEPOSIT_ATTEMPTS failures', () => {
    let o = funding()
    for (let i = 1; i < MAX_DEPOSIT_ATTEMPTS; i++) o = step(failed(o), alice.signer).objective
    expect(o.status).toBe('approved')
    expect(failed(o).status).toBe('failed')
  })
})

describe('update refuses signed states that are not this objective', () => {
  const other = (over: Partial<State>): State => ({ ...PREFUND, ...over })
  const highS = `0x${'11'.repeat(32)}${'ff'.repeat(32)}1b` as Hex
  test.each([
    { name: 'a state of turn 2', signed: () => signedBy(other({ turnNum: 2n }), bob.signer), code: 'unexpected_state' },
    { name: 'a different state at turn 0 (other shares)', signed: () => signedBy(prefundState({ alice: 5n, bob: 4n }), bob.signer), code: 'unexpected_state' },
    { name: 'a different state at turn 0 (other appData)', signed: () => signedBy(other({ appData: '0x01' }), bob.signer), code: 'unexpected_state' },
    { name: 'a different state at turn 1 (final)', signed: () => signedBy(other({ turnNum: 1n, isFinal: true }), bob.signer), code: 'unexpected_state' },
    { name: 'a state of another channel (other nonce)', signed: () => signedBy(other({ channelNonce: 8n }), bob.signer), code: 'unexpected_state' },
    { name: 'a signature from a non-participant', signed: () => ({ state: PREFUND, signatures: [null, signedBy({ ...PREFUND, participants: [alice.address, mallory.address] }, mallory.signer).signatures[1]!] }), code: 'not_a_participant' },
    { name: "bob's signature of another state", signed: () => ({ state: PREFUND, signatures: [null, signedBy(POSTFUND, bob.signer).signatures[1]!] }), code: 'not_a_participant' },
    { name: "bob's signature placed at alice's index", signed: () => ({ state: PREFUND, signatures: [signedBy(PREFUND, bob.signer).signatures[1]!, null] }), code: 'unexpected_state' },
    { name: 'a malformed (high-s) signature', signed: () => ({ state: PREFUND, signatures: [null, highS] }), code: 'invalid_signature' },
  ])('refuses $name with $code', ({ signed, code }) => {
    const fresh = aliceStarts() // alice has not signed yet: every slot of a peer's message is checked
    expect(codeOf(() => update(fresh, { kind: 'signedState', signed: signed() }))).toBe(code)
  })
})
