// LedgerUpdate (DESIGN §5, NITRO-NOTES §2.3): alice leads the ledger (participant 0), bob follows. Each
// walks the objective through its pause points whoever initiates; the follower countersigns only the
// proposal its own objective expects, once it heads the ledger. Expected ledger states are written out by
// hand from the balances, and every signature is checked by recovering its signer.
import { describe, expect, test } from 'vitest'
import type { Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { Address, Bytes32, Signature } from '../../core/types.js'
import type { State } from '../../core/state.js'
import type { SignedState } from '../../core/signedState.js'
import type { Signer } from '../../core/signer.js'
import { createSigner } from '../../core/signer.js'
import { channelId } from '../../core/channelId.js'
import { hashState } from '../../core/hashState.js'
import { recoverHashSigner } from '../../core/signatures.js'
import { signBy, unsigned } from '../../core/signedState.js'
import { encodeGuaranteeMetadata } from '../../core/guarantee.js'
import type { ConsensusChannel, FollowerChannel, LeaderChannel } from '../ledger/consensusChannel.js'
import { createConsensusChannel, markClosing, propose, receiveCountersignature, receiveProposal } from '../ledger/consensusChannel.js'
import type { Proposal, SignedProposal } from '../ledger/proposal.js'
import type { Effect } from '../objective.js'
import type { LedgerUpdate, LedgerUpdateCranked } from './ledgerUpdate.js'
import { crank, isReady, ledgerUpdateId, newLedgerUpdate, reject } from './ledgerUpdate.js'
import { toAddress } from '../../core/canonical.js'
import { AllocationType } from '../../core/outcome.js'

// go-nitro's internal/testactors keys; addresses derived by viem, independently of our signer.
const actor = (key: Hex) => ({ address: toAddress(privateKeyToAccount(key).address), signer: createSigner(key) })
const alice = actor('0x2d999770f7b5d49b694080f987b82bbc9fc9ac2b4dcc10b0f8aba7d700f69c6d')
const bob = actor('0x0279651921cd800ac560c21ceea27aab0107b67daf436cdd25ce84cad30159b4')

const ETH: Address = toAddress('0x0000000000000000000000000000000000000000')
const CONSENSUS_APP: Address = toAddress('0x5e29E5Ab8EF33F050c7cc10B5a0456D975C5F88d')
const A = `0x${'0'.repeat(24)}${alice.address.slice(2).toLowerCase()}` as Bytes32
const B = `0x${'0'.repeat(24)}${bob.address.slice(2).toLowerCase()}` as Bytes32
const V1 = `0x${'e1'.repeat(32)}` as Bytes32
const V2 = `0x${'e2'.repeat(32)}` as Bytes32
const LEDGER_ID = channelId({ participants: [alice.address, bob.address], channelNonce: 7n, appDefinition: CONSENSUS_APP, challengeDuration: 86_400 })

interface G {
  readonly target: Bytes32
  readonly amount: bigint
  readonly left: Bytes32
  readonly right: Bytes32
}

/** A ledger state: alice's and bob's balances, then guarantees (given sorted by target). */
function ledgerState(turnNum: bigint, balances: { alice: bigint; bob: bigint }, guarantees: readonly G[] = []): State {
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
          ...guarantees.map((g) => ({ destination: g.target, amount: g.amount, allocationType: AllocationType.guarantee, metadata: encodeGuaranteeMetadata({ left: g.left, right: g.right }) })),
        ],
      },
    ],
    appData: '0x',
    turnNum,
    isFinal: false,
  }
}

/** alice 5, bob 3; add V1 locks 2 of alice's (left) and 1 of bob's (right). */
const addV1: Proposal = { kind: 'add', target: V1, left: A, right: B, leftAmount: 2n, rightAmount: 1n }
const AFTER_ADD_V1 = ledgerState(2n, { alice: 3n, bob: 2n }, [{ target: V1, amount: 3n, left: A, right: B }])
/** bob on the left this time: 1 of bob's, 1 of alice's. */
const addV2: Proposal = { kind: 'add', target: V2, left: B, right: A, leftAmount: 1n, rightAmount: 1n }
const AFTER_ADD_V2 = ledgerState(2n, { alice: 4n, bob: 2n }, [{ target: V2, amount: 2n, left: B, right: A }])

function signedBy(state: State, ...signers: Signer[]): SignedState {
  return signers.reduce((s, signer) => signBy(s, signer), unsigned(state))
}
const signerOf = (state: State, signature: Signature) => recoverHashSigner(hashState(state), signature)

/** Both views of the ledger right after DirectFund (turn 1, alice 5, bob 3). */
function fundedLedger(): { alice: LeaderChannel; bob: FollowerChannel } {
  const postfund = signedBy(ledgerState(1n, { alice: 5n, bob: 3n }), alice.signer, bob.signer)
  return { alice: createConsensusChannel(postfund, alice.address) as LeaderChannel, bob: createConsensusChannel(postfund, bob.address) as FollowerChannel }
}

const objective = (p: { proposal: Proposal; counterparty: Address; initiator: boolean; status?: 'approved' | 'unapproved' }): LedgerUpdate =>
  newLedgerUpdate({ ledgerId: LEDGER_ID, counterparty: p.counterparty, proposal: p.proposal, initiator: p.initiator, status: p.status ?? 'approved' })
const approve = (o: LedgerUpdate): LedgerUpdate => ({ ...o, status: 'approved' })

const request = (to: Address, o: LedgerUpdate): Effect => ({ kind: 'send', to, payload: { kind: 'ledgerUpdateRequest', objectiveId: o.id, request: { ledgerId: LEDGER_ID, proposal: o.proposal } } })

/** Cranks once, then checks that cranking the result again (on the ledger it returned) asks for nothing new. */
function step(o: LedgerUpdate, ledger: ConsensusChannel, signer: Signer): LedgerUpdateCranked {
  const first = crank(o, ledger, signer)
  const again = crank(first.objective, first.ledger, signer)
  expect(again.effects).toEqual([])
  expect(again.waitingFor).toBe(first.waitingFor)
  expect(again.objective).toEqual(first.objective)
  expect(again.ledger).toEqual(first.ledger)
  return first
}

function sentProposal(effects: readonly Effect[]): SignedProposal {
  const found = effects.find((e) => e.kind === 'send' && e.payload.kind === 'proposal')
  if (!found || found.kind !== 'send' || found.payload.kind !== 'proposal') return expect.fail('no proposal was sent')
  return found.payload.signed
}

function sentCountersignature(effects: readonly Effect[]): { turnNum: bigint; signature: Signature } {
  const [only] = effects
  if (effects.length !== 1 || !only || only.kind !== 'send' || only.payload.kind !== 'countersignature') return expect.fail('expected exactly one countersignature')
  expect(only.to).toBe(alice.address)
  expect(only.payload.ledgerId).toBe(LEDGER_ID)
  return only.payload
}

describe('newLedgerUpdate', () => {
  test('the id names the ledger, the kind and the target; only the initiator has a request pending', () => {
    const o = newLedgerUpdate({ ledgerId: LEDGER_ID, counterparty: bob.address, proposal: addV1, initiator: true, status: 'approved' })
    expect(o).toEqual({
      id: `ledgerUpdate:${LEDGER_ID}:add:${V1}`,
      kind: 'ledgerUpdate',
      status: 'approved',
      failure: null,
      ledgerId: LEDGER_ID,
      counterparty: bob.address,
      proposal: addV1,
      requestPending: true,
      turnNum: null,
    })
    expect(ledgerUpdateId(LEDGER_ID, { kind: 'remove', target: V1, leftAmount: 0n })).toBe(`ledgerUpdate:${LEDGER_ID}:remove:${V1}`)
    expect(objective({ proposal: addV1, counterparty: alice.address, initiator: false }).requestPending).toBe(false)
  })
})

describe('alice (leader) initiates; bob (follower) countersigns', () => {
  test('every pause point, in order', () => {
    let ledger = fundedLedger()

    // alice asks bob to start the same objective and proposes, each once; her proposal is turn 2
    const a0 = objective({ proposal: addV1, counterparty: bob.address, initiator: true })
    const a1 = step(a0, ledger.alice, alice.signer)
    expect(a1.waitingFor).toBe('countersignature')
    const signed = sentProposal(a1.effects)
    expect(a1.effects).toEqual([request(bob.address, a0), { kind: 'send', to: bob.address, payload: { kind: 'proposal', ledgerId: LEDGER_ID, signed } }])
    expect(signed.proposal).toEqual(addV1)
    expect(signed.turnNum).toBe(2n)
    expect(signerOf(AFTER_ADD_V1, signed.signature)).toBe(alice.address)
    expect(a1.objective).toMatchObject({ status: 'approved', requestPending: false, turnNum: 2n })
    expect((a1.ledger as LeaderChannel).queue).toEqual([signed])
    expect(a1.ledger.supported.vars.turnNum).toBe(1n)

    // bob's objective, started from the request, waits for approval and does not countersign meanwhile
    const b0 = objective({ proposal: addV1, counterparty: alice.address, initiator: false, status: 'unapproved' })
    ledger = { ...ledger, bob: receiveProposal(ledger.bob, signed) }
    expect(step(b0, ledger.bob, bob.signer)).toEqual({ objective: b0, effects: [], waitingFor: 'approval', ledger: ledger.bob })

    // approved, before the proposal arrives: bob waits for it
    const b1 = step(approve(b0), fundedLedger().bob, bob.signer)
    expect(b1).toMatchObject({ effects: [], waitingFor: 'proposal' })

    // the proposal heads his ledger: bob countersigns turn 2, sends it to alice alone, and completes
    const b2 = step(b1.objective, ledger.bob, bob.signer)
    const countersigned = sentCountersignature(b2.effects)
    expect(countersigned.turnNum).toBe(2n)
    expect(signerOf(AFTER_ADD_V1, countersigned.signature)).toBe(bob.address)
    expect(b2).toMatchObject({ waitingFor: 'nothing', objective: { status: 'completed', turnNum: 2n } })
    expect(b2.ledger.supported.vars.turnNum).toBe(2n)
    expect((b2.ledger as FollowerChannel).received).toEqual([])

    // alice completes once the countersignature makes her proposal supported
    const a2 = step(a1.objective, receiveCountersignature(a1.ledger, countersigned.turnNum, countersigned.signature), alice.signer)
    expect(a2).toMatchObject({ effects: [], waitingFor: 'nothing', objective: { status: 'completed', turnNum: 2n } })
    expect(a2.ledger.supported).toEqual(b2.ledger.supported)
  })
})

describe('bob (follower) initiates; alice (leader) proposes', () => {
  test('every pause point, in order', () => {
    const ledger = fundedLedger()

    // bob asks alice, once, and waits for her proposal
    const b0 = objective({ proposal: addV2, counterparty: alice.address, initiator: true })
    const b1 = step(b0, ledger.bob, bob.signer)
    expect(b1).toEqual({ objective: { ...b0, requestPending: false }, effects: [request(alice.address, b0)], waitingFor: 'proposal', ledger: ledger.bob })

    // alice approves and proposes, without a request of her own
    const a1 = step(objective({ proposal: addV2, counterparty: bob.address, initiator: false }), ledger.alice, alice.signer)
    const signed = sentProposal(a1.effects)
    expect(a1.effects).toHaveLength(1)
    expect(a1.waitingFor).toBe('countersignature')
    expect(signerOf(AFTER_ADD_V2, signed.signature)).toBe(alice.address)

    const b2 = step(b1.objective, receiveProposal(ledger.bob, signed), bob.signer)
    const countersigned = sentCountersignature(b2.effects)
    expect(signerOf(AFTER_ADD_V2, countersigned.signature)).toBe(bob.address)
    expect(b2.objective.status).toBe('completed')

    const a2 = step(a1.objective, receiveCountersignature(a1.ledger, countersigned.turnNum, countersigned.signature), alice.signer)
    expect(a2.objective.status).toBe('completed')
  })
})

describe('the follower countersigns only the proposal it expects, when it heads the ledger', () => {
  test('two proposals arriving in reverse order: each objective waits for its own to head the ledger', () => {
    const ledger = fundedLedger()
    const first = propose(ledger.alice, addV1, alice.signer) // turn 2
    const second = propose(first.channel, addV2, alice.signer) // turn 3
    const forV1 = objective({ proposal: addV1, counterparty: alice.address, initiator: false })
    const forV2 = objective({ proposal: addV2, counterparty: alice.address, initiator: false })

    // turn 3 arrives first and is buffered: nobody can countersign yet
    let bobLedger: ConsensusChannel = receiveProposal(ledger.bob, second.signed)
    expect(step(forV2, bobLedger, bob.signer)).toMatchObject({ effects: [], waitingFor: 'proposal' })
    expect(step(forV1, bobLedger, bob.signer)).toMatchObject({ effects: [], waitingFor: 'proposal' })

    // turn 2 arrives: V1 heads the ledger, so V2's objective still waits
    bobLedger = receiveProposal(bobLedger, first.signed)
    const v2Early = step(forV2, bobLedger, bob.signer)
    expect(v2Early).toMatchObject({ effects: [], waitingFor: 'proposal' })
    expect(v2Early.ledger).toBe(bobLedger)

    const v1 = step(forV1, bobLedger, bob.signer)
    expect(sentCountersignature(v1.effects).turnNum).toBe(2n)

    // with V1 countersigned, V2 heads the ledger: turn 3 = both guarantees
    const v2 = step(forV2, v1.ledger, bob.signer)
    const countersigned = sentCountersignature(v2.effects)
    expect(countersigned.turnNum).toBe(3n)
    const both = ledgerState(3n, { alice: 2n, bob: 1n }, [
      { target: V1, amount: 3n, left: A, right: B },
      { target: V2, amount: 2n, left: B, right: A },
    ])
    expect(signerOf(both, countersigned.signature)).toBe(bob.address)
  })

  test.each([
    { name: 'other amounts', proposed: { ...addV1, leftAmount: 1n } },
    { name: 'left and right swapped', proposed: { ...addV1, left: B, right: A } },
    { name: 'a removal of the same target', proposed: { kind: 'remove', target: V1, leftAmount: 0n } as Proposal },
    { name: 'another target', proposed: { ...addV1, target: V2 } },
  ])('a proposal with $name is not countersigned', ({ proposed }) => {
    // V1 must exist to be removed
    const ledger: { alice: ConsensusChannel; bob: ConsensusChannel } = proposed.kind === 'remove' ? agreeOn(fundedLedger(), addV1) : fundedLedger()
    const { signed } = propose(ledger.alice, proposed, alice.signer)
    const bobLedger = receiveProposal(ledger.bob, signed)
    const expecting = objective({ proposal: addV1, counterparty: alice.address, initiator: false })
    const result = step(expecting, bobLedger, bob.signer)
    expect(result).toEqual({ objective: expecting, effects: [], waitingFor: 'proposal', ledger: bobLedger })
  })
})

/** Both views after `p` is proposed by alice and countersigned by bob's objective for it. */
function agreeOn(ledger: { alice: LeaderChannel; bob: FollowerChannel }, p: Proposal): { alice: ConsensusChannel; bob: ConsensusChannel } {
  const { channel, signed } = propose(ledger.alice, p, alice.signer)
  const bobLedger = receiveProposal(ledger.bob, signed)
  const b = step(objective({ proposal: p, counterparty: alice.address, initiator: false }), bobLedger, bob.signer)
  const { turnNum, signature } = sentCountersignature(b.effects)
  return { alice: receiveCountersignature(channel, turnNum, signature), bob: b.ledger }
}

describe('a leader whose proposal cannot apply fails and tells the follower', () => {
  test.each([
    { name: 'alice cannot afford her share', proposal: { ...addV1, leftAmount: 6n } as Proposal, ledger: () => fundedLedger().alice, code: 'insufficient_funds' },
    { name: 'bob cannot afford his share', proposal: { ...addV1, rightAmount: 4n } as Proposal, ledger: () => fundedLedger().alice, code: 'insufficient_funds' },
    { name: 'removing a guarantee the ledger lacks', proposal: { kind: 'remove', target: V2, leftAmount: 0n } as Proposal, ledger: () => fundedLedger().alice, code: 'unknown_guarantee' },
    { name: 'adding a guarantee twice', proposal: { ...addV1, leftAmount: 1n }, ledger: () => agreeOn(fundedLedger(), addV1).alice, code: 'duplicate_guarantee' },
    { name: 'the ledger is being defunded', proposal: addV1, ledger: () => markClosing(fundedLedger().alice), code: 'ledger_closing' },
  ])('$name: $code', ({ proposal, ledger, code }) => {
    const l = ledger()
    for (const initiator of [true, false]) {
      const o = objective({ proposal, counterparty: bob.address, initiator })
      const result = step(o, l, alice.signer)
      expect(result.waitingFor).toBe('nothing')
      expect(result.ledger).toBe(l) // nothing queued
      expect(result.objective.status).toBe('failed')
      expect(result.objective.failure?.code).toBe(code)
      const summary = result.objective.failure?.summary ?? ''
      expect(summary.length).toBeGreaterThan(0)
      const rejected: Effect = { kind: 'send', to: bob.address, payload: { kind: 'objectiveRejected', objectiveId: o.id, code, summary } }
      // the initiator has already asked bob to start the objective; the rejection follows the request
      expect(result.effects).toEqual(initiator ? [request(bob.address, o), rejected] : [rejected])
    }
  })
})

test('a follower whose ledger began closing fails its update not yet signed, and tells the leader', () => {
  const ledger = markClosing(fundedLedger().bob)
  const o = objective({ proposal: addV1, counterparty: alice.address, initiator: false })
  const result = step(o, ledger, bob.signer)
  expect(result.objective.failure).toEqual({ code: 'ledger_closing', summary: 'the ledger is being defunded' })
  expect(result.effects).toEqual([{ kind: 'send', to: alice.address, payload: { kind: 'objectiveRejected', objectiveId: o.id, code: 'ledger_closing', summary: 'the ledger is being defunded' } }])
  expect(result.ledger).toBe(ledger)
})

describe('statuses', () => {
  test.each([{ status: 'completed' as const }, { status: 'failed' as const }, { status: 'rejected' as const }])('a $status objective asks for nothing and leaves the ledger alone', ({ status }) => {
    const ledger = fundedLedger().alice
    const o = { ...objective({ proposal: addV1, counterparty: bob.address, initiator: true }), status }
    expect(crank(o, ledger, alice.signer)).toEqual({ objective: o, effects: [], waitingFor: 'nothing', ledger })
  })

  test('an unapproved leader neither requests nor proposes', () => {
    const ledger = fundedLedger().alice
    const o = objective({ proposal: addV1, counterparty: bob.address, initiator: true, status: 'unapproved' })
    expect(crank(o, ledger, alice.signer)).toEqual({ objective: o, effects: [], waitingFor: 'approval', ledger })
  })

  test('reject fails a running objective with the reason and leaves a completed one as it is', () => {
    const running = objective({ proposal: addV1, counterparty: bob.address, initiator: true })
    expect(reject(running, 'policy', 'the counterparty declined')).toEqual({ ...running, status: 'failed', failure: { code: 'policy', summary: 'the counterparty declined' } })
    const completed = { ...running, status: 'completed' as const }
    expect(reject(completed, 'policy', 'too late')).toBe(completed)
  })
})

describe('isReady (the engine cranks only ready objectives)', () => {
  /** Not ready must mean: cranking changes nothing and asks for nothing. */
  function expectIdleWhenNotReady(o: LedgerUpdate, ledger: ConsensusChannel, signer: Signer) {
    if (isReady(o, ledger)) return true
    const result = crank(o, ledger, signer)
    expect(result.effects).toEqual([])
    expect(result.objective).toEqual(o)
    expect(result.ledger).toBe(ledger)
    return false
  }

  test('leader: ready to propose, then idle until its turn is countersigned, then ready to complete', () => {
    const ledgers = fundedLedger()
    const fresh = { ...objective({ proposal: addV1, counterparty: bob.address, initiator: false }) }
    expect(expectIdleWhenNotReady(fresh, ledgers.alice, alice.signer)).toBe(true)
    const proposed = crank(fresh, ledgers.alice, alice.signer)
    expect(expectIdleWhenNotReady(proposed.objective, proposed.ledger, alice.signer)).toBe(false)
    const signed = sentProposal(proposed.effects)
    const bobView = receiveProposal(ledgers.bob, signed)
    const bobs = crank(objective({ proposal: addV1, counterparty: alice.address, initiator: false }), bobView, bob.signer)
    const { turnNum, signature } = sentCountersignature(bobs.effects)
    const supported = receiveCountersignature(proposed.ledger, turnNum, signature)
    expect(expectIdleWhenNotReady(proposed.objective, supported, alice.signer)).toBe(true)
  })

  test('follower: idle while its proposal is missing or another one heads the ledger; ready when its own does', () => {
    const ledgers = fundedLedger()
    const bobsV2 = objective({ proposal: addV2, counterparty: alice.address, initiator: false })
    expect(expectIdleWhenNotReady(bobsV2, ledgers.bob, bob.signer)).toBe(false)
    const first = propose(ledgers.alice, addV1, alice.signer)
    const second = propose(first.channel, addV2, alice.signer)
    const withBoth = receiveProposal(receiveProposal(ledgers.bob, first.signed), second.signed)
    expect(expectIdleWhenNotReady(bobsV2, withBoth, bob.signer)).toBe(false) // V1 heads the ledger
    const bobsV1 = crank(objective({ proposal: addV1, counterparty: alice.address, initiator: false }), withBoth, bob.signer)
    expect(expectIdleWhenNotReady(bobsV2, bobsV1.ledger, bob.signer)).toBe(true)
    expect(isReady({ ...bobsV2, status: 'unapproved' }, bobsV1.ledger)).toBe(false)
  })
})
