// Attack 1 (issue 13): a counterparty tries to drain the honest node's share of a ledger by asking for, or
// proposing, a guarantee for a made-up target holding all of it and then "removing it, 0 to you". The honest
// node changes a ledger only for objectives of its own (DESIGN §5 "Consent and money"): the request is refused
// (`unsolicited_ledger_update`), a proposal it did not agree to is never countersigned, and once the ledger
// closes its owner holds the full share on chain.
import { afterEach, describe, expect, test } from 'vitest'
import type { Proposal } from '../../src/protocols/ledger/proposal.js'
import { applyProposal } from '../../src/protocols/ledger/proposal.js'
import type { Attacker, LedgerView, World } from './harness.js'
import { ATTACKER_FUNDS, ETH, HONEST_FUNDS, createWorld, garbageSignature, highS, keyOf, madeUpTarget } from './harness.js'
import { createSigner } from '../../src/core/signer.js'
import { addressToDestination } from '../../src/core/outcome.js'
import { ACCEPT_ANY_PEER } from '../../src/engine/policy.js'
import { MAX_BUFFERED_PROPOSALS } from '../../src/protocols/ledger/limits.js'
import { directDefundId } from '../../src/protocols/directdefund/directdefund.js'

const SHARE = 1000n
const MAX_UINT256 = 2n ** 256n - 1n

let world: World | undefined
afterEach(async () => {
  await world?.close()
  world = undefined
})

/** The attacker opens and funds a ledger [attacker, honest] (it leads); the honest node's policy accepts any peer. */
async function attackerLeads(): Promise<{ w: World; mallory: Attacker; ledger: LedgerView }> {
  const w = (world = await createWorld({ policy: ACCEPT_ANY_PEER }))
  const mallory = w.attacker('mallory')
  const ledger = await mallory.openAndFundLedger(w.honest.address, { myIndex: 0, amounts: [SHARE, SHARE], nonce: 1n })
  await w.settle()
  expect(w.honest.engine.getLedger(ledger.id)?.role).toBe('follower')
  return { w, mallory, ledger }
}

/** The honest node opens and funds a ledger [honest, attacker] (it leads) with the attacker. */
async function honestLeads(): Promise<{ w: World; mallory: Attacker; ledger: LedgerView }> {
  const w = (world = await createWorld())
  const mallory = w.attacker('mallory')
  const id = await w.honest.engine.directFund({ counterparty: mallory.address, myDeposit: SHARE, theirDeposit: SHARE, nonce: 1n })
  const ledger = await mallory.fundLedger(await mallory.acceptLedger(w.honest.address))
  expect((await w.objectiveDone(id)).status).toBe('completed')
  await w.settle()
  expect(w.honest.engine.getLedger(ledger.id)?.role).toBe('leader')
  return { w, mallory, ledger }
}

/** "Put all of the honest node's share in a guarantee for a channel that does not exist." */
function drain(ledger: LedgerView, mallory: Attacker, tag = 0, amount = SHARE): Extract<Proposal, { kind: 'add' }> {
  const honestDestination = addressToDestination(ledger.counterparty)
  return { kind: 'add', target: madeUpTarget(tag), left: honestDestination, right: mallory.destination, leftAmount: amount, rightAmount: 0n }
}

/** "Remove it, 0 to you (the left side)": everything locked goes to the attacker. */
function keepIt(tag = 0): Extract<Proposal, { kind: 'remove' }> {
  return { kind: 'remove', target: madeUpTarget(tag), leftAmount: 0n }
}

function totalRejections(w: World): number {
  return Object.values(w.honest.engine.rejections.counts).reduce((a, b) => a + b, 0)
}

/** The honest node's ledger still says what the postfund said: nothing moved, nothing countersigned. */
function expectUntouched(w: World, mallory: Attacker, ledger: LedgerView): void {
  const mine = w.honest.engine.getLedger(ledger.id)!
  expect(mine.supported.vars.turnNum).toBe(1n)
  expect(mine.supported.vars.outcome.guarantees).toEqual([])
  const honestSide = mine.role === 'leader' ? mine.supported.vars.outcome.leader : mine.supported.vars.outcome.follower
  expect(honestSide.amount).toBe(SHARE)
  expect(mallory.payloads('countersignature')).toEqual([])
  expect(mallory.payloads('proposal')).toEqual([])
  expect(w.honest.engine.objectives().filter((o) => o.kind === 'ledgerUpdate')).toEqual([])
}

/** Closes the ledger (the honest node's own DirectDefund, the attacker cooperating) and checks the money. */
async function closeAndCheckFunds(w: World, mallory: Attacker, ledger: LedgerView): Promise<void> {
  const id = await w.honest.engine.directDefund(ledger.id)
  await mallory.cooperateDefund(ledger)
  expect((await w.objectiveDone(id)).status).toBe('completed')
  await w.settle()
  expect(w.chain.isFinalized(ledger.id)).toBe(false)
  expect(await w.chain.holdings(ledger.id, ETH)).toBe(0n)
  expect(w.honestBalance()).toBe(HONEST_FUNDS)
  expect(mallory.balance()).toBe(ATTACKER_FUNDS)
}

describe('never two states at one ledger turn', () => {
  test('the follower signed the final state one turn on: it no longer countersigns a proposal for that turn, even one its owner agreed to', async () => {
    const { w, mallory, ledger } = await attackerLeads()
    const honest = w.honest.address
    // The honest owner agreed to a change that costs it nothing (100 of the attacker's money locked).
    const agreed: Proposal = { kind: 'add', target: madeUpTarget(5), left: mallory.destination, right: addressToDestination(honest), leftAmount: 100n, rightAmount: 0n }
    const objectiveId = await w.honest.engine.agreeLedgerUpdate(ledger.id, agreed)
    // The attacker starts a defund: the honest node signs the final state at turn 2...
    const final = await mallory.cooperateDefund(ledger, { initiate: true, withdraw: false })
    expect(final.state.turnNum).toBe(2n)
    // ...then proposes the agreed change at turn 2 as well.
    mallory.send(honest, [mallory.proposalPayload(ledger, mallory.propose(ledger, agreed))])
    await w.settle()
    expect(mallory.payloads('countersignature')).toEqual([])
    expect(w.honest.engine.getObjective(objectiveId)?.objective).toMatchObject({ status: 'failed', failure: { code: 'ledger_closing' } })
    // the defund completes on the final state, and the money is where the ledger said
    await mallory.chain.submit({ kind: 'concludeAndWithdraw', signedState: final })
    expect((await w.objectiveDone(directDefundId(ledger.id))).status).toBe('completed')
    await w.settle()
    expect(w.honestBalance()).toBe(HONEST_FUNDS)
    expect(mallory.balance()).toBe(ATTACKER_FUNDS)
  })
})

describe('a peer\'s "no" after the fact', () => {
  test('a rejection of an update the honest leader already proposed is too late: it stays, and completes once countersigned', async () => {
    const { w, mallory, ledger } = await honestLeads()
    const honest = w.honest.address
    const agreed: Proposal = { kind: 'add', target: madeUpTarget(8), left: addressToDestination(honest), right: mallory.destination, leftAmount: 10n, rightAmount: 10n }
    const id = await w.honest.engine.updateLedger(ledger.id, agreed)
    const proposal = await mallory.waitFor('proposal', (p) => p.ledgerId.toLowerCase() === ledger.id.toLowerCase())
    mallory.send(honest, [{ kind: 'objectiveRejected', objectiveId: id, code: 'changed_my_mind', summary: 'no' }])
    await w.settle()
    expect(w.rejected('rejection_too_late')).toBe(1)
    expect(w.honest.engine.getObjective(id)?.objective.status).toBe('approved')
    // mallory countersigns it after all: the honest objective still completes
    const vars = applyProposal(ledger.supported.vars, proposal.signed.proposal)
    mallory.send(honest, [{ kind: 'countersignature', ledgerId: ledger.id, turnNum: vars.turnNum, signature: mallory.signVars(ledger, vars) }])
    expect((await w.objectiveDone(id)).status).toBe('completed')
    expect(w.honest.engine.getLedger(ledger.id)!.supported.vars.outcome.guarantees).toHaveLength(1)
  })
})

describe('ledger drain: the attacker leads the ledger', () => {
  test('a request and proposals to lock all of the honest share, then "remove it, 0 to you", are refused; the full share comes back', async () => {
    const { w, mallory, ledger } = await attackerLeads()
    const add = drain(ledger, mallory)
    mallory.send(w.honest.address, [mallory.ledgerUpdateRequest(ledger, add)])
    await w.settle()
    expect(w.rejected('unsolicited_ledger_update')).toBe(1)
    expect(w.honest.engine.rejections.recent.at(-1)).toMatchObject({ code: 'unsolicited_ledger_update', from: mallory.address })

    mallory.send(w.honest.address, [mallory.proposalPayload(ledger, mallory.propose(ledger, add))])
    mallory.send(w.honest.address, [mallory.ledgerUpdateRequest(ledger, keepIt()), mallory.proposalPayload(ledger, mallory.propose(ledger, keepIt()))])
    await w.settle()
    expect(w.rejected('unsolicited_ledger_update')).toBeGreaterThanOrEqual(2)
    expectUntouched(w, mallory, ledger)

    // The attacker gives up and signs the final state of the real (untouched) ledger.
    ledger.pending = []
    await closeAndCheckFunds(w, mallory, ledger)
  })

  test('replayed, reordered and reused sequence numbers: each request is refused, none is countersigned', async () => {
    const { w, mallory, ledger } = await attackerLeads()
    const honest = w.honest.address
    const start = mallory.peekSeq(honest)
    // seq start+2, start, start+1: out of order.
    mallory.send(honest, [mallory.ledgerUpdateRequest(ledger, drain(ledger, mallory, 3))], { seq: start + 2n })
    mallory.send(honest, [mallory.ledgerUpdateRequest(ledger, drain(ledger, mallory, 1))], { seq: start })
    mallory.send(honest, [mallory.ledgerUpdateRequest(ledger, drain(ledger, mallory, 2))], { seq: start + 1n })
    await w.settle()
    expect(w.rejected('unsolicited_ledger_update')).toBe(3)
    for (const seq of [start, start + 1n, start + 2n]) expect(mallory.ackCount(honest, seq)).toBeGreaterThanOrEqual(1)

    // The same bytes again, and a different frame under an already used seq: a refused frame changed nothing
    // and nothing remembers it (no journal entry, ADR 0016), so each is refused again — and acknowledged.
    const first = mallory.sent.find((f) => f.seq === start)!
    mallory.resend(first)
    mallory.resend(first)
    mallory.send(honest, [mallory.ledgerUpdateRequest(ledger, drain(ledger, mallory, 9))], { seq: start + 1n })
    await w.settle()
    expect(w.rejected('unsolicited_ledger_update')).toBe(6)
    expect(mallory.ackCount(honest, start)).toBeGreaterThanOrEqual(2)
    expectUntouched(w, mallory, ledger)
    await closeAndCheckFunds(w, mallory, ledger)
  })

  test('a proposal the owner agreed to is countersigned only with the leader\'s real signature (not a wrong key, high s or garbage)', async () => {
    const { w, mallory, ledger } = await attackerLeads()
    const honest = w.honest.address
    const engine = w.honest.engine
    // What the honest owner agrees to: a guarantee of 100 of the ATTACKER's money (nothing of its own).
    const agreed: Proposal = { kind: 'add', target: madeUpTarget(7), left: mallory.destination, right: addressToDestination(honest), leftAmount: 100n, rightAmount: 0n }
    await engine.agreeLedgerUpdate(ledger.id, agreed)
    const stranger = createSigner(keyOf('stranger'))

    mallory.send(honest, [mallory.proposalPayload(ledger, mallory.propose(ledger, agreed, { sign: (hash) => stranger.signHash(hash) }))])
    mallory.send(honest, [mallory.proposalPayload(ledger, mallory.propose(ledger, agreed, { sign: () => garbageSignature(1) }))])
    // Signed, but over a state with another guarantee amount than the proposal says.
    const other = mallory.propose(ledger, { ...agreed, leftAmount: 1n }, { remember: false })
    mallory.send(honest, [mallory.proposalPayload(ledger, { ...other, proposal: agreed })])
    await w.settle()
    expect(w.rejected('bad_proposal_signature')).toBe(3)
    // A high-s signature does not even decode (DESIGN §3): the whole frame is refused, unacknowledged.
    const highSeq = mallory.send(honest, [mallory.proposalPayload(ledger, mallory.propose(ledger, agreed, { sign: (_, real) => highS(real) }))])!
    await w.settle()
    expect(w.rejected('invalid_signature')).toBe(1)
    expect(mallory.ackCount(honest, highSeq)).toBe(0)
    expect(mallory.payloads('countersignature')).toEqual([])
    expect(engine.getLedger(ledger.id)!.supported.vars.turnNum).toBe(1n)

    // The real one is countersigned (the honest node never signed anything else at turn 2).
    mallory.send(honest, [mallory.proposalPayload(ledger, mallory.propose(ledger, agreed))])
    await mallory.awaitCountersignature(ledger, 2n)
    const release: Proposal = { kind: 'remove', target: madeUpTarget(7), leftAmount: 100n }
    await engine.agreeLedgerUpdate(ledger.id, release)
    mallory.send(honest, [mallory.proposalPayload(ledger, mallory.propose(ledger, release))])
    await mallory.awaitCountersignature(ledger, 3n)
    expect(mallory.payloads('countersignature').map((c) => c.turnNum)).toEqual([2n, 3n])
    await w.settle()
    await closeAndCheckFunds(w, mallory, ledger)
  })

  test('absurd amounts: 2^256 − 1 is refused, a negative amount or 2^256 does not decode; nothing is signed', async () => {
    const { w, mallory, ledger } = await attackerLeads()
    const honest = w.honest.address
    const huge = drain(ledger, mallory, 1, MAX_UINT256)
    mallory.send(honest, [mallory.ledgerUpdateRequest(ledger, huge)])
    mallory.send(honest, [mallory.ledgerUpdateRequest(ledger, { ...huge, leftAmount: 0n, rightAmount: MAX_UINT256 })])
    const refusedBefore = totalRejections(w)
    // A proposal at the next turn whose amounts the ledger cannot hold: signed by the leader over made-up vars.
    const vars = { turnNum: 2n, outcome: { ...ledger.supported.vars.outcome } }
    mallory.send(honest, [mallory.proposalPayload(ledger, { proposal: huge, turnNum: 2n, signature: mallory.signVars(ledger, vars) })])
    await w.settle()
    expect(w.rejected('unsolicited_ledger_update')).toBeGreaterThanOrEqual(2)
    // The proposal is refused too, whether as unsolicited or as unaffordable (insufficient_funds).
    expect(totalRejections(w) - refusedBefore).toBe(3)

    const before = w.rejected('out_of_range')
    const minus = mallory.send(honest, [mallory.ledgerUpdateRequest(ledger, { ...huge, leftAmount: -1n })])!
    const over = mallory.send(honest, [mallory.ledgerUpdateRequest(ledger, { ...huge, leftAmount: MAX_UINT256 + 1n })])!
    await w.settle()
    expect(w.rejected('out_of_range')).toBe(before + 2)
    expect(mallory.ackCount(honest, minus) + mallory.ackCount(honest, over)).toBe(0)
    expectUntouched(w, mallory, ledger)
    await closeAndCheckFunds(w, mallory, ledger)
  })

  test('5,000 requests: each refused, none becomes an objective or an outbox entry', async () => {
    const { w, mallory, ledger } = await attackerLeads()
    const honest = w.honest.address
    const objectives = w.honest.engine.objectives().length
    for (let frame = 0; frame < 50; frame++) {
      mallory.send(honest, Array.from({ length: 100 }, (_, i) => mallory.ledgerUpdateRequest(ledger, drain(ledger, mallory, frame * 100 + i))))
    }
    await w.settle()
    expect(w.rejected('unsolicited_ledger_update')).toBe(5000)
    expect(w.honest.engine.objectives().length).toBe(objectives)
    expect(w.honest.engine.unacknowledged).toBe(0)
    expect(w.honest.engine.rejections.recent.length).toBeLessThanOrEqual(100)
    expectUntouched(w, mallory, ledger)
    await closeAndCheckFunds(w, mallory, ledger)
  })

  test('a flood of future-turn proposals is buffered up to the bound, never countersigned, and does not keep the ledger from closing', async () => {
    const { w, mallory, ledger } = await attackerLeads()
    const honest = w.honest.address
    // Turns 3.. (turn 2 never comes): each a valid signature on made-up vars, so none can be verified yet.
    const frames = Math.ceil((MAX_BUFFERED_PROPOSALS + 200) / 100)
    const count = frames * 100
    for (let frame = 0; frame < frames; frame++) {
      mallory.send(
        honest,
        Array.from({ length: 100 }, (_, i) => {
          const turnNum = BigInt(3 + frame * 100 + i)
          const signed = { proposal: drain(ledger, mallory, Number(turnNum)), turnNum, signature: mallory.signVars(ledger, { ...ledger.supported.vars, turnNum }) }
          return mallory.proposalPayload(ledger, signed)
        }),
      )
    }
    await w.settle()
    const mine = w.honest.engine.getLedger(ledger.id)!
    expect(mine.role === 'follower' && mine.received.length).toBeLessThanOrEqual(MAX_BUFFERED_PROPOSALS)
    expect(w.rejected('proposal_buffer_full')).toBeGreaterThanOrEqual(count - MAX_BUFFERED_PROPOSALS)
    expect(mallory.payloads('countersignature')).toEqual([])
    await closeAndCheckFunds(w, mallory, ledger)
  })
})

describe('ledger drain: the honest node leads the ledger', () => {
  test('requests, a follower\'s "proposals", countersignatures of nothing and forged syncs move nothing; the full share comes back', async () => {
    const { w, mallory, ledger } = await honestLeads()
    const honest = w.honest.address
    const add = drain(ledger, mallory)
    mallory.send(honest, [mallory.ledgerUpdateRequest(ledger, add)])
    mallory.send(honest, [mallory.ledgerUpdateRequest(ledger, keepIt())])
    await w.settle()
    expect(w.rejected('unsolicited_ledger_update')).toBe(2)

    // A follower cannot propose; a countersignature of a turn nobody proposed moves nothing.
    const forgedVars = { turnNum: 2n, outcome: { ...ledger.supported.vars.outcome, leader: { ...ledger.supported.vars.outcome.leader, amount: 0n }, follower: { ...ledger.supported.vars.outcome.follower, amount: 2n * SHARE } } }
    mallory.send(honest, [{ kind: 'proposal', ledgerId: ledger.id, signed: { proposal: add, turnNum: 2n, signature: mallory.signVars(ledger, forgedVars) } }])
    mallory.send(honest, [{ kind: 'countersignature', ledgerId: ledger.id, turnNum: 2n, signature: mallory.signVars(ledger, forgedVars) }])
    // A "supported" state giving the attacker everything, with its own signature in the leader's slot too.
    mallory.send(honest, [{ kind: 'sync', ledgerId: ledger.id, supported: { state: ledger.state(forgedVars), signatures: [mallory.signVars(ledger, forgedVars), mallory.signVars(ledger, forgedVars)] }, queue: [] }])
    await w.settle()
    expect(w.rejected('not_a_participant')).toBe(1)
    expect(w.rejected('unknown_turn')).toBe(1)
    expect(w.rejected('invalid_signature')).toBe(1)
    expectUntouched(w, mallory, ledger)
    await closeAndCheckFunds(w, mallory, ledger)
  })
})
