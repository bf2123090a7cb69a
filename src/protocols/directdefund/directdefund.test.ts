// DirectDefund (NITRO-NOTES §2.2, DESIGN §5): alice (participant 0, the ledger's leader) and bob
// (participant 1, the follower) close an empty ledger: both sign the final state (supported turn + 1,
// isFinal), alice alone submits concludeAndWithdraw, both wait until the chain reports the holdings paid
// out. Expected final states are written out by hand from the ledger's balances.
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
import type { ConsensusChannel, FollowerChannel, LeaderChannel } from '../ledger/consensusChannel.js'
import { countersign, createConsensusChannel, propose, receiveCountersignature, receiveProposal } from '../ledger/consensusChannel.js'
import type { Proposal } from '../ledger/proposal.js'
import type { Effect } from '../objective.js'
import type { DirectDefund, DirectDefundWaitingFor } from './directdefund.js'
import { MAX_WITHDRAW_ATTEMPTS, crank, directDefundId, finalStateOf, newDirectDefund, update } from './directdefund.js'
import { codeOf } from '../../../test/hostile.js'
import { toAddress } from '../../core/canonical.js'

// go-nitro's internal/testactors keys; addresses derived by viem, independently of our signer.
const actor = (key: Hex) => ({ address: toAddress(privateKeyToAccount(key).address), signer: createSigner(key) })
const alice = actor('0x2d999770f7b5d49b694080f987b82bbc9fc9ac2b4dcc10b0f8aba7d700f69c6d')
const bob = actor('0x0279651921cd800ac560c21ceea27aab0107b67daf436cdd25ce84cad30159b4')
const mallory = actor(`0x${'33'.repeat(32)}`)

const ETH: Address = toAddress('0x0000000000000000000000000000000000000000')
const CONSENSUS_APP: Address = toAddress('0x5e29E5Ab8EF33F050c7cc10B5a0456D975C5F88d')
const A = `0x${'0'.repeat(24)}${alice.address.slice(2).toLowerCase()}` as Bytes32
const B = `0x${'0'.repeat(24)}${bob.address.slice(2).toLowerCase()}` as Bytes32
const V1 = `0x${'e1'.repeat(32)}` as Bytes32
const V2 = `0x${'e2'.repeat(32)}` as Bytes32
const HELD = 8n

/** A ledger state of alice and bob: their balances (alice first), no guarantees. */
function ledgerState(turnNum: bigint, balances: { alice: bigint; bob: bigint }, isFinal = false): State {
  return {
    participants: [alice.address, bob.address],
    channelNonce: 7n,
    appDefinition: CONSENSUS_APP,
    challengeDuration: 86_400,
    outcome: [
      {
        asset: ETH,
        assetMetadata: { assetType: 0, metadata: '0x' },
        allocations: [
          { destination: A, amount: balances.alice, allocationType: 0, metadata: '0x' },
          { destination: B, amount: balances.bob, allocationType: 0, metadata: '0x' },
        ],
      },
    ],
    appData: '0x',
    turnNum,
    isFinal,
  }
}

const LEDGER_ID = channelId({ participants: [alice.address, bob.address], channelNonce: 7n, appDefinition: CONSENSUS_APP, challengeDuration: 86_400 })
const OBJECTIVE_ID = `directdefund:${LEDGER_ID.toLowerCase()}`
const POSTFUND = ledgerState(1n, { alice: 5n, bob: 3n })
/** The final state of the freshly funded ledger: turn 1 + 1, final, same balances. */
const FINAL = ledgerState(2n, { alice: 5n, bob: 3n }, true)

function signedBy(state: State, ...signers: Signer[]): SignedState {
  return signers.reduce((s, signer) => signBy(s, signer), unsigned(state))
}
const signersOf = (s: SignedState) => s.signatures.map((sig) => (sig === null ? null : recoverHashSigner(hashState(s.state), sig)))

/** Both views of the ledger right after DirectFund: supported = the postfund signed by both. */
function fundedLedger(): { alice: LeaderChannel; bob: FollowerChannel } {
  const postfund = signedBy(POSTFUND, alice.signer, bob.signer)
  return { alice: createConsensusChannel(postfund, alice.address) as LeaderChannel, bob: createConsensusChannel(postfund, bob.address) as FollowerChannel }
}

/** Runs one proposal through both views: alice proposes, bob receives and countersigns, alice receives. */
function agree(ledger: { alice: LeaderChannel; bob: FollowerChannel }, p: Proposal): { alice: LeaderChannel; bob: FollowerChannel } {
  const { channel, signed } = propose(ledger.alice, p, alice.signer)
  const countersigned = countersign(receiveProposal(ledger.bob, signed), p, bob.signer)
  if (!countersigned) return expect.fail('bob did not countersign')
  return { alice: receiveCountersignature(channel, countersigned.turnNum, countersigned.signature), bob: countersigned.channel }
}

const addV1: Proposal = { kind: 'add', target: V1, left: A, right: B, leftAmount: 2n, rightAmount: 1n }
const removeV1: Proposal = { kind: 'remove', target: V1, leftAmount: 1n }
const addV2: Proposal = { kind: 'add', target: V2, left: B, right: A, leftAmount: 1n, rightAmount: 1n }

const sendFinal = (to: Address, signedState: SignedState): Effect => ({ kind: 'send', to, payload: { kind: 'signedState', objectiveId: OBJECTIVE_ID, signedState } })
const withdraw = (signedState: SignedState): Effect => ({ kind: 'submit', tx: { kind: 'concludeAndWithdraw', signedState } })

function sentStates(effects: readonly Effect[]): SignedState[] {
  return effects.map((e) => {
    if (e.kind !== 'send' || e.payload.kind !== 'signedState') return expect.fail(`expected a signed state to send, got ${e.kind}`)
    return e.payload.signedState
  })
}

/** Cranks once, then checks that cranking the result again asks for nothing new (STYLE §2). */
function step(o: DirectDefund, signer: Signer): { objective: DirectDefund; effects: readonly Effect[]; waitingFor: DirectDefundWaitingFor } {
  const first = crank(o, signer)
  const again = crank(first.objective, signer)
  expect(again.effects).toEqual([])
  expect(again.waitingFor).toBe(first.waitingFor)
  expect(again.objective).toEqual(first.objective)
  return first
}

const holdings = (o: DirectDefund, amount: bigint) => update(o, { kind: 'holdings', amount })
const aliceStarts = (held = HELD) => newDirectDefund(fundedLedger().alice, held, alice.address, 'approved')
/** Bob builds his objective when alice's final state arrives (as the engine does), then approves it. */
const bobReceives = (aliceSigned: SignedState, held = HELD) => ({
  ...update(newDirectDefund(fundedLedger().bob, held, bob.address, 'unapproved'), { kind: 'signedState', signed: aliceSigned }),
  status: 'approved' as const,
})

describe('finalStateOf', () => {
  test('the supported state one turn on, final, unsigned; the same from the leader and the follower', () => {
    const ledger = fundedLedger()
    expect(finalStateOf(ledger.alice)).toEqual({ state: FINAL, signatures: [null, null] })
    expect(finalStateOf(ledger.bob)).toEqual({ state: FINAL, signatures: [null, null] })
  })

  test('after a guarantee came and went: turn 3 + 1, with the balances the removal left', () => {
    // add V1 (alice 2, bob 1 locked): 3 / 2 / V1 3; remove V1 returning 1 to alice, 2 to bob: 4 / 4
    const ledger = agree(agree(fundedLedger(), addV1), removeV1)
    const expected = ledgerState(4n, { alice: 4n, bob: 4n }, true)
    expect(finalStateOf(ledger.alice).state).toEqual(expected)
    expect(finalStateOf(ledger.bob).state).toEqual(expected)
  })

  const views: { name: string; ledger: () => ConsensusChannel }[] = [
    { name: 'a guarantee outstanding (leader view)', ledger: () => agree(fundedLedger(), addV1).alice },
    { name: 'a guarantee outstanding (follower view)', ledger: () => agree(fundedLedger(), addV1).bob },
    { name: 'a proposal queued by the leader (it signed the state one turn on)', ledger: () => propose(fundedLedger().alice, addV1, alice.signer).channel },
  ]
  test.each(views)('refuses a ledger with $name (ledger_not_empty), and so does newDirectDefund', ({ ledger }) => {
    expect(codeOf(() => finalStateOf(ledger()))).toBe('ledger_not_empty')
    expect(codeOf(() => newDirectDefund(ledger(), HELD, alice.address, 'approved'))).toBe('ledger_not_empty')
  })

  // The follower signed nothing it merely received: a leader flooding it with proposals cannot keep it open.
  const buffered: { name: string; ledger: () => ConsensusChannel }[] = [
    {
      name: 'a proposal the follower received but has not countersigned',
      ledger: () => receiveProposal(fundedLedger().bob, propose(fundedLedger().alice, addV1, alice.signer).signed),
    },
    {
      name: 'a future-turn proposal the follower buffered',
      ledger: () => {
        const first = propose(fundedLedger().alice, addV1, alice.signer)
        return receiveProposal(fundedLedger().bob, propose(first.channel, addV2, alice.signer).signed)
      },
    },
  ]
  test.each(buffered)('closes a follower\'s ledger with $name: the supported state one turn on', ({ ledger }) => {
    expect(finalStateOf(ledger())).toEqual({ state: FINAL, signatures: [null, null] })
  })
})

describe('newDirectDefund', () => {
  test('id, my index, holdings and the unsigned final state', () => {
    const o = newDirectDefund(fundedLedger().bob, HELD, bob.address, 'unapproved')
    expect(o).toEqual({
      id: OBJECTIVE_ID,
      kind: 'directdefund',
      status: 'unapproved',
      failure: null,
      channelId: LEDGER_ID,
      myIndex: 1,
      final: { state: FINAL, signatures: [null, null] },
      holdings: HELD,
      withdrawSubmitted: false,
      withdrawFailures: 0,
    })
    expect(directDefundId(LEDGER_ID)).toBe(OBJECTIVE_ID)
  })
})

describe('alice and bob defund their ledger', () => {
  test('every pause point, in order; only participant 0 submits, once', () => {
    // bob's objective, built from alice's message and not yet approved, does nothing
    const unapproved = update(newDirectDefund(fundedLedger().bob, HELD, bob.address, 'unapproved'), { kind: 'signedState', signed: signedBy(FINAL, alice.signer) })
    expect(step(unapproved, bob.signer)).toEqual({ objective: unapproved, effects: [], waitingFor: 'approval' })

    // alice signs the final state (turn 2) and sends it, once
    const a1 = step(aliceStarts(), alice.signer)
    expect(a1.waitingFor).toBe('finalState')
    expect(a1.effects).toEqual([sendFinal(bob.address, signedBy(FINAL, alice.signer))])
    expect(signersOf(sentStates(a1.effects)[0]!)).toEqual([alice.address, null])

    // bob countersigns and sends it back; he is participant 1, so he submits nothing and waits
    const b1 = step(bobReceives(sentStates(a1.effects)[0]!), bob.signer)
    expect(b1.waitingFor).toBe('withdraw')
    expect(b1.effects).toEqual([sendFinal(alice.address, signedBy(FINAL, alice.signer, bob.signer))])

    // alice, participant 0, submits concludeAndWithdraw with the final state signed by both, once
    const a2 = step(update(a1.objective, { kind: 'signedState', signed: sentStates(b1.effects)[0]! }), alice.signer)
    expect(a2.waitingFor).toBe('withdraw')
    expect(a2.effects).toEqual([withdraw(signedBy(FINAL, alice.signer, bob.signer))])
    expect(a2.objective.withdrawSubmitted).toBe(true)

    // holdings not yet paid out (a replayed deposit event, a partial payout): both keep waiting
    for (const held of [HELD, 1n]) {
      expect(step(holdings(a2.objective, held), alice.signer)).toMatchObject({ waitingFor: 'withdraw', effects: [] })
      expect(step(holdings(b1.objective, held), bob.signer)).toMatchObject({ waitingFor: 'withdraw', effects: [] })
    }

    // the chain reports the holdings paid out: both complete
    for (const [o, signer] of [[a2.objective, alice.signer], [b1.objective, bob.signer]] as const) {
      const done = step(holdings(o, 0n), signer)
      expect(done.waitingFor).toBe('nothing')
      expect(done.effects).toEqual([])
      expect(done.objective.status).toBe('completed')
    }
  })

  test('bob, participant 1, never submits the withdrawal even when he started the defund', () => {
    const b1 = step(newDirectDefund(fundedLedger().bob, HELD, bob.address, 'approved'), bob.signer)
    expect(b1.effects).toEqual([sendFinal(alice.address, signedBy(FINAL, bob.signer))])
    const b2 = step(update(b1.objective, { kind: 'signedState', signed: signedBy(FINAL, alice.signer) }), bob.signer)
    expect(b2.waitingFor).toBe('withdraw')
    expect(b2.effects).toEqual([])
  })

  test('a ledger holding nothing completes as soon as the final state is signed by both, with no transaction', () => {
    const a1 = step(aliceStarts(0n), alice.signer)
    expect(a1.waitingFor).toBe('finalState')
    const a2 = step(update(a1.objective, { kind: 'signedState', signed: signedBy(FINAL, bob.signer) }), alice.signer)
    expect(a2).toMatchObject({ waitingFor: 'nothing', effects: [] })
    expect(a2.objective.status).toBe('completed')
  })

  test('a duplicate final state changes nothing', () => {
    const a1 = step(aliceStarts(), alice.signer).objective
    const once = update(a1, { kind: 'signedState', signed: signedBy(FINAL, bob.signer) })
    expect(update(once, { kind: 'signedState', signed: signedBy(FINAL, bob.signer) })).toEqual(once)
  })

  test.each([{ status: 'completed' as const }, { status: 'failed' as const }, { status: 'rejected' as const }])('a $status objective asks for nothing', ({ status }) => {
    const o = { ...aliceStarts(), status }
    expect(crank(o, alice.signer)).toEqual({ objective: o, effects: [], waitingFor: 'nothing' })
  })

  test('cranking with a key that is not mine is our own bug (invariant)', () => {
    expect(codeOf(() => crank(aliceStarts(), bob.signer))).toBe('invariant')
  })
})

describe('failed withdrawals', () => {
  const withdrawing = () => {
    const a1 = step(aliceStarts(), alice.signer).objective
    const a2 = step(update(a1, { kind: 'signedState', signed: signedBy(FINAL, bob.signer) }), alice.signer)
    expect(a2.effects).toEqual([withdraw(signedBy(FINAL, alice.signer, bob.signer))])
    return a2.objective
  }
  const failed = (o: DirectDefund) => update(o, { kind: 'withdrawFailed', code: 'chain_unavailable', summary: 'node down' })

  test(`a refused withdrawal is submitted again, up to ${MAX_WITHDRAW_ATTEMPTS} attempts, then the objective fails with {code, summary}`, () => {
    let o = withdrawing()
    for (let attempt = 2; attempt <= MAX_WITHDRAW_ATTEMPTS; attempt++) {
      o = failed(o)
      expect(o).toMatchObject({ status: 'approved', failure: null, withdrawSubmitted: false, withdrawFailures: attempt - 1 })
      const retry = step(o, alice.signer)
      expect(retry.waitingFor).toBe('withdraw')
      expect(retry.effects).toEqual([withdraw(signedBy(FINAL, alice.signer, bob.signer))])
      o = retry.objective
    }
    const gaveUp = failed(o)
    expect(gaveUp.status).toBe('failed')
    expect(gaveUp.failure).toEqual({ code: 'chain_unavailable', summary: 'withdraw failed: node down' })
    expect(crank(gaveUp, alice.signer)).toEqual({ objective: gaveUp, effects: [], waitingFor: 'nothing' })
  })
})

describe('update refuses signed states that are not the final state', () => {
  const highS = `0x${'11'.repeat(32)}${'ff'.repeat(32)}1b` as Hex
  test.each([
    { name: 'the supported state (turn 1)', signed: () => signedBy(POSTFUND, bob.signer), code: 'unexpected_state' },
    { name: 'turn 2, not final', signed: () => signedBy(ledgerState(2n, { alice: 5n, bob: 3n }), bob.signer), code: 'unexpected_state' },
    { name: 'turn 3, final (another turn)', signed: () => signedBy(ledgerState(3n, { alice: 5n, bob: 3n }, true), bob.signer), code: 'unexpected_state' },
    { name: 'turn 2, final, other balances', signed: () => signedBy(ledgerState(2n, { alice: 4n, bob: 4n }, true), bob.signer), code: 'unexpected_state' },
    { name: 'a signature from a non-participant', signed: () => ({ state: FINAL, signatures: [null, signedBy({ ...FINAL, participants: [alice.address, mallory.address] }, mallory.signer).signatures[1]!] }), code: 'not_a_participant' },
    { name: "bob's signature placed at alice's index", signed: () => ({ state: FINAL, signatures: [signedBy(FINAL, bob.signer).signatures[1]!, null] }), code: 'unexpected_state' },
    { name: 'a malformed (high-s) signature', signed: () => ({ state: FINAL, signatures: [null, highS] }), code: 'invalid_signature' },
  ])('refuses $name with $code', ({ signed, code }) => {
    expect(codeOf(() => update(aliceStarts(), { kind: 'signedState', signed: signed() }))).toBe(code)
  })
})
