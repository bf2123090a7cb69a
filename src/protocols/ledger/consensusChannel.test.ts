// A consensus (ledger) channel between alice (leader) and bob (follower) (DESIGN §5, go-nitro's
// consensus_channel leader/follower tests): the leader proposes and signs the resulting state, the follower
// buffers proposals of any turn, countersigns them strictly in turn order and only the one its objective
// expects, and either side adopts a newer state both signed. Signatures are checked with the core's
// recoverStateSigner on states rebuilt from the outcome, not with the module's own helpers.
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import type { Hex } from 'viem'
import type { Signature } from '../../core/types.js'
import type { SignedState } from '../../core/signedState.js'
import { hashState } from '../../core/hashState.js'
import { recoverStateSigner } from '../../core/signState.js'
import { createRandom } from '../../core/seededRandom.js'
import type { Random } from '../../core/seededRandom.js'
import { RejectedInputError } from '../../core/errors.js'
import type { ConsensusChannel, FollowerChannel, LeaderChannel } from './consensusChannel.js'
import {
  adoptSupported,
  countersign,
  createConsensusChannel,
  latestProposedVars,
  markClosing,
  nextToCountersign,
  propose,
  receiveCountersignature,
  receiveProposal,
  supportedOutcome,
  supportedSignedState,
} from './consensusChannel.js'
import { ledgerOutcomeFromExit, totalOf } from './ledgerOutcome.js'
import type { LedgerVars, Proposal, SignedProposal } from './proposal.js'
import { applyProposal } from './proposal.js'
import { MAX_BUFFERED_PROPOSALS, MAX_QUEUED_PROPOSALS } from './limits.js'
import {
  add,
  alice,
  bob,
  fundedLedger,
  hashLedgerVars,
  irene,
  ledgerId,
  ledgerOutcome,
  POSTFUND_TURN,
  postfundState,
  remove,
  signedByBoth,
  signVarsByBoth,
  target,
} from './testLedger.js'
import { codeOf } from '../../../test/hostile.js'
import { toAddress } from '../../core/canonical.js'

const { leader: aliceLedger, follower: bobLedger } = fundedLedger()

/** The state both would sign for `vars`, built from the outcome by the test fixtures. */
const stateOf = (vars: LedgerVars) => postfundState(vars.outcome, vars.turnNum)

function proposeAll(leader: LeaderChannel, proposals: readonly Proposal[]): { leader: LeaderChannel; signed: SignedProposal[] } {
  const signed: SignedProposal[] = []
  for (const p of proposals) {
    const result = propose(leader, p, alice.signer)
    leader = result.channel
    signed.push(result.signed)
  }
  return { leader, signed }
}

function receiveAll(follower: FollowerChannel, signed: readonly SignedProposal[]): FollowerChannel {
  return signed.reduce(receiveProposal, follower)
}

interface Countersignature {
  readonly turnNum: bigint
  readonly signature: Signature
}

function countersignAll(follower: FollowerChannel, expected: readonly Proposal[]): { follower: FollowerChannel; countersignatures: Countersignature[] } {
  const countersignatures: Countersignature[] = []
  for (const p of expected) {
    const result = countersign(follower, p, bob.signer)
    if (!result) throw new Error(`bob could not countersign ${p.kind} ${p.target}`)
    follower = result.channel
    countersignatures.push({ turnNum: result.turnNum, signature: result.signature })
  }
  return { follower, countersignatures }
}

/** Full rounds: alice proposes each, bob receives and countersigns, alice receives the countersignatures. */
function agree(leader: LeaderChannel, follower: FollowerChannel, proposals: readonly Proposal[]): { leader: LeaderChannel; follower: FollowerChannel } {
  const proposed = proposeAll(leader, proposals)
  const signed = countersignAll(receiveAll(follower, proposed.signed), proposals)
  leader = signed.countersignatures.reduce((l, c) => receiveCountersignature(l, c.turnNum, c.signature), proposed.leader)
  return { leader, follower: signed.follower }
}

/** Both hold the same supported state, with alice's and bob's valid signatures on it. */
function expectSameSupportedState(a: ConsensusChannel, b: ConsensusChannel): SignedState {
  const mine = supportedSignedState(a)
  const theirs = supportedSignedState(b)
  expect(hashState(mine.state)).toBe(hashState(theirs.state))
  expect(mine.signatures).toEqual(theirs.signatures)
  expect(recoverStateSigner(mine.state, mine.signatures[0]!)).toBe(alice.address)
  expect(recoverStateSigner(mine.state, mine.signatures[1]!)).toBe(bob.address)
  return mine
}

/** Fisher–Yates from a seeded source: the same seed delivers in the same order. */
function shuffle<T>(items: readonly T[], random: Random): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.int(i + 1)
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

const threeAdds = [add(1, 1n, 1n), add(2, 2n, 1n, bob), add(3, 1n, 2n)]

describe('test actors', () => {
  test('derive go-nitro\'s test actor addresses from their keys', () => {
    expect(alice.address).toBe(toAddress('0xAAA6628Ec44A8a742987EF3A114dDFE2D4F7aDCE'))
    expect(bob.address).toBe(toAddress('0xBBB676f9cFF8D242e9eaC39D063848807d3D1D94'))
    expect(irene.address).toBe(toAddress('0x111A00868581f73AB42FEEF67D235Ca09ca1E8db'))
  })
})

describe('createConsensusChannel', () => {
  test('participant 0 leads and participant 1 follows, from the same postfund state', () => {
    expect(aliceLedger).toMatchObject({ role: 'leader', id: ledgerId, queue: [], closing: false })
    expect(bobLedger).toMatchObject({ role: 'follower', id: ledgerId, received: [], closing: false })
    expect(aliceLedger.supported).toEqual(bobLedger.supported)
    expect(aliceLedger.supported.vars).toEqual({ turnNum: POSTFUND_TURN, outcome: ledgerOutcome() })
  })

  test('the supported state is exactly the signed postfund state, with its signatures', () => {
    const postfund = signedByBoth(postfundState())
    const supported = expectSameSupportedState(aliceLedger, bobLedger)
    expect(hashState(supported.state)).toBe(hashState(postfund.state))
    expect(supported.signatures).toEqual(postfund.signatures)
    expect(supportedOutcome(aliceLedger)).toEqual(ledgerOutcome())
  })

  test('a ledger that already holds guarantees starts with them', () => {
    const outcome = applyProposal({ turnNum: 1n, outcome: ledgerOutcome() }, add(1, 2n, 3n)).outcome
    const ch = createConsensusChannel(signedByBoth(postfundState(outcome, 4n)), bob.address)
    expect(ch.supported.vars).toEqual({ turnNum: 4n, outcome })
  })

  test.each([
    { name: 'a stranger', make: () => createConsensusChannel(signedByBoth(postfundState()), irene.address), code: 'invariant' },
    {
      name: 'a state signed by the leader only',
      make: () => createConsensusChannel({ ...signedByBoth(postfundState()), signatures: [signedByBoth(postfundState()).signatures[0]!, null] }, alice.address),
      code: 'invariant',
    },
    {
      name: 'three participants',
      make: () => createConsensusChannel(signedByBothOf3(), alice.address),
      code: 'invariant',
    },
    { name: 'app data', make: () => createConsensusChannel(signedByBoth({ ...postfundState(), appData: '0x01' }), alice.address), code: 'invalid_state' },
    { name: 'a final state', make: () => createConsensusChannel(signedByBoth({ ...postfundState(), isFinal: true }), alice.address), code: 'invalid_state' },
    {
      name: 'asset metadata',
      make: () => {
        const state = postfundState()
        const outcome = [{ ...state.outcome[0]!, assetMetadata: { assetType: 0, metadata: '0x01' as Hex } }]
        return createConsensusChannel(signedByBoth({ ...state, outcome }), alice.address)
      },
      code: 'invalid_outcome',
    },
  ])('refuses $name ($code)', ({ make, code }) => {
    expect(codeOf(make)).toBe(code)
  })
})

function signedByBothOf3(): SignedState {
  const state = { ...postfundState(), participants: [alice.address, bob.address, irene.address] }
  const s = signedByBoth(state)
  return { ...s, signatures: [...s.signatures.slice(0, 2), s.signatures[0]!] }
}

describe('leader proposes', () => {
  test('signs the state that results from the proposal, at the next turn, and queues it', () => {
    const { channel, signed } = propose(aliceLedger, add(1, 3n, 2n), alice.signer)
    const vars = applyProposal(aliceLedger.supported.vars, add(1, 3n, 2n))
    expect(signed).toMatchObject({ proposal: add(1, 3n, 2n), turnNum: 2n })
    expect(recoverStateSigner(stateOf(vars), signed.signature)).toBe(alice.address)
    expect(channel.queue).toEqual([signed])
    expect(channel.supported).toBe(aliceLedger.supported)
  })

  test('each proposal builds on the queue: turns are consecutive and latestProposedVars applies them all', () => {
    const { leader, signed } = proposeAll(aliceLedger, threeAdds)
    expect(signed.map((s) => s.turnNum)).toEqual([2n, 3n, 4n])
    const expected = threeAdds.reduce(applyProposal, aliceLedger.supported.vars)
    expect(latestProposedVars(leader)).toEqual(expected)
    expect(recoverStateSigner(stateOf(expected), signed[2]!.signature)).toBe(alice.address)
  })

  test('latestProposedVars of an empty queue is the supported vars', () => {
    expect(latestProposedVars(aliceLedger)).toBe(aliceLedger.supported.vars)
  })

  test('a proposal the latest proposed state cannot afford is refused with its code, and nothing is queued', () => {
    const { leader } = proposeAll(aliceLedger, [add(1, 8n, 0n)])
    expect(codeOf(() => propose(leader, add(2, 3n, 0n), alice.signer))).toBe('insufficient_funds')
    expect(codeOf(() => propose(leader, remove(2, 0n), alice.signer))).toBe('unknown_guarantee')
    expect(codeOf(() => propose(leader, add(1, 0n, 0n), alice.signer))).toBe('duplicate_guarantee')
    expect(leader.queue).toHaveLength(1)
  })

  test('a closing ledger refuses new proposals (ledger_closing)', () => {
    const closing = markClosing(aliceLedger)
    expect(closing.closing).toBe(true)
    expect(aliceLedger.closing).toBe(false)
    expect(codeOf(() => propose(closing, add(1, 1n, 1n), alice.signer))).toBe('ledger_closing')
  })

  test('signing with a key other than the leader\'s is our own bug (invariant)', () => {
    expect(codeOf(() => propose(aliceLedger, add(1, 1n, 1n), bob.signer))).toBe('invariant')
  })
})

describe('wrong role', () => {
  const { signed } = propose(aliceLedger, add(1, 1n, 1n), alice.signer)
  test.each([
    { name: 'the follower proposes', call: () => propose(bobLedger, add(1, 1n, 1n), bob.signer) },
    { name: 'the follower receives a countersignature', call: () => receiveCountersignature(bobLedger, 2n, signed.signature) },
    { name: 'the leader receives a proposal', call: () => receiveProposal(aliceLedger, signed) },
    { name: 'the leader countersigns', call: () => countersign(aliceLedger, add(1, 1n, 1n), alice.signer) },
  ])('$name: wrong_role', ({ call }) => {
    expect(codeOf(call)).toBe('wrong_role')
  })
})

test('a closing follower countersigns nothing: its final state may be signed at the turn a proposal would take', () => {
  const { signed } = propose(aliceLedger, add(1, 3n, 2n), alice.signer)
  const follower = receiveProposal(bobLedger, signed)
  expect(countersign(follower, add(1, 3n, 2n), bob.signer)).toBeDefined()
  expect(countersign(markClosing(follower), add(1, 3n, 2n), bob.signer)).toBeUndefined()
})

describe('one round: propose, receive, countersign, receive the countersignature', () => {
  test('both end with the same supported state, signed by alice and bob', () => {
    const { channel: leader, signed } = propose(aliceLedger, add(1, 3n, 2n), alice.signer)
    const follower = receiveProposal(bobLedger, signed)
    expect(nextToCountersign(follower)?.signed).toEqual(signed)
    const result = countersign(follower, add(1, 3n, 2n), bob.signer)!
    expect(result.turnNum).toBe(2n)
    const done = receiveCountersignature(leader, result.turnNum, result.signature)
    const supported = expectSameSupportedState(done, result.channel)
    expect(ledgerOutcomeFromExit(supported.state.outcome)).toEqual(ledgerOutcome({ leader: 7n, follower: 8n, guarantees: [{ target: target(1), amount: 5n, left: alice.destination, right: bob.destination }] }))
    expect(done.queue).toEqual([])
    expect(result.channel.received).toEqual([])
  })

  test('a guarantee added then removed returns the funds, both agreeing at every turn', () => {
    let { leader, follower } = agree(aliceLedger, bobLedger, [add(1, 3n, 2n, bob)])
    expectSameSupportedState(leader, follower)
    expect(supportedOutcome(follower)).toEqual(ledgerOutcome({ leader: 8n, follower: 7n, guarantees: [{ target: target(1), amount: 5n, left: bob.destination, right: alice.destination }] }))
    ;({ leader, follower } = agree(leader, follower, [remove(1, 1n)]))
    expectSameSupportedState(leader, follower)
    expect(supportedOutcome(leader)).toEqual(ledgerOutcome({ leader: 12n, follower: 8n }))
    expect(leader.supported.vars.turnNum).toBe(3n)
  })

  test('countersigning with a key other than the follower\'s is our own bug (invariant)', () => {
    const { signed } = propose(aliceLedger, add(1, 3n, 2n), alice.signer)
    expect(codeOf(() => countersign(receiveProposal(bobLedger, signed), add(1, 3n, 2n), alice.signer))).toBe('invariant')
  })
})

describe('the follower\'s buffer', () => {
  const { signed } = proposeAll(aliceLedger, threeAdds)

  test('future turns are buffered, not dropped, and verified once their predecessor arrives', () => {
    const onlyThird = receiveProposal(bobLedger, signed[2]!)
    expect(onlyThird.received).toEqual([{ signed: signed[2], vars: null }])
    expect(nextToCountersign(onlyThird)).toBeUndefined()
    const second = receiveProposal(onlyThird, signed[1]!)
    expect(second.received.map((r) => r.vars)).toEqual([null, null])
    const all = receiveProposal(second, signed[0]!)
    expect(all.received.map((r) => r.signed.turnNum)).toEqual([2n, 3n, 4n])
    expect(all.received.map((r) => r.vars)).toEqual([1, 2, 3].map((k) => threeAdds.slice(0, k).reduce(applyProposal, bobLedger.supported.vars)))
  })

  test('countersign returns undefined while the head is missing (a gap)', () => {
    const gap = receiveAll(bobLedger, [signed[1]!, signed[2]!])
    expect(countersign(gap, threeAdds[1]!, bob.signer)).toBeUndefined()
    expect(countersign(gap, threeAdds[0]!, bob.signer)).toBeUndefined()
    expect(countersign(bobLedger, threeAdds[0]!, bob.signer)).toBeUndefined()
  })

  test('countersign returns undefined when the head is not the proposal the follower expects', () => {
    const all = receiveAll(bobLedger, signed)
    expect(countersign(all, threeAdds[1]!, bob.signer)).toBeUndefined()
    expect(countersign(all, add(1, 1n, 2n), bob.signer)).toBeUndefined()
    expect(countersign(all, remove(1, 1n), bob.signer)).toBeUndefined()
    expect(countersign(all, threeAdds[0]!, bob.signer)?.turnNum).toBe(2n)
  })

  test('proposals delivered in shuffled order are countersigned strictly in turn order', () => {
    const proposals = Array.from({ length: 12 }, (_, i) => (i % 3 === 2 ? remove(i - 1, 0n) : add(i, 0n, 1n, i % 2 === 0 ? alice : bob)))
    const { leader, signed: many } = proposeAll(aliceLedger, proposals)
    for (const seed of [1, 2, 3]) {
      let follower = receiveAll(bobLedger, shuffle(many, createRandom(seed)))
      expect(follower.received.every((r) => r.vars !== null)).toBe(true)
      const acknowledged: Countersignature[] = []
      // Offer every expected proposal in a shuffled order too: only the head's is taken each time.
      for (let pending = shuffle(proposals, createRandom(seed + 100)); pending.length > 0; ) {
        const index = pending.findIndex((p) => countersign(follower, p, bob.signer) !== undefined)
        expect(index).toBeGreaterThanOrEqual(0)
        const result = countersign(follower, pending[index]!, bob.signer)!
        follower = result.channel
        acknowledged.push(result)
        pending = pending.filter((_, i) => i !== index)
      }
      expect(acknowledged.map((c) => c.turnNum)).toEqual(many.map((s) => s.turnNum))
      const last = acknowledged.at(-1)!
      expectSameSupportedState(receiveCountersignature(leader, last.turnNum, last.signature), follower)
    }
  })

  test('a duplicate proposal is a no-op, buffered or verified', () => {
    const buffered = receiveProposal(bobLedger, signed[2]!)
    expect(receiveProposal(buffered, signed[2]!)).toBe(buffered)
    const verified = receiveProposal(bobLedger, signed[0]!)
    expect(receiveProposal(verified, signed[0]!)).toBe(verified)
  })

  test('a different proposal for a turn already verified is conflicting_proposal', () => {
    const fork = propose(aliceLedger, add(9, 1n, 1n), alice.signer).signed
    expect(fork.turnNum).toBe(signed[0]!.turnNum)
    const verified = receiveProposal(bobLedger, signed[0]!)
    expect(codeOf(() => receiveProposal(verified, fork))).toBe('conflicting_proposal')
    expect(codeOf(() => receiveProposal(verified, { ...signed[0]!, signature: signed[1]!.signature }))).toBe('conflicting_proposal')
    const later = receiveAll(bobLedger, signed)
    expect(codeOf(() => receiveProposal(later, { ...signed[2]!, proposal: add(9, 1n, 1n) }))).toBe('conflicting_proposal')
  })

  test('a different proposal for a turn still buffered waits beside it; the first that verifies wins', () => {
    const other: SignedProposal = { ...signed[2]!, proposal: add(9, 1n, 1n) } // the leader never signed this
    const both = receiveAll(bobLedger, [other, signed[2]!])
    expect(both.received.map((r) => r.signed)).toEqual([other, signed[2]])
    const reached = receiveAll(both, [signed[1]!, signed[0]!])
    expect(reached.received.map((r) => [r.signed.proposal, r.vars !== null])).toEqual(threeAdds.map((p) => [p, true]))
    expect(codeOf(() => receiveProposal(reached, other))).toBe('conflicting_proposal')
    // In the other arrival order, the real one is first and the other is dropped without being tried.
    const realFirst = receiveAll(bobLedger, [signed[2]!, other, signed[1]!, signed[0]!])
    expect(realFirst.received.map((r) => r.signed)).toEqual(signed)
  })

  test('a proposal below or at the supported turn is a stale no-op', () => {
    const { follower } = agree(aliceLedger, bobLedger, [threeAdds[0]!])
    expect(receiveProposal(follower, signed[0]!)).toBe(follower)
    expect(receiveProposal(follower, { ...signed[0]!, proposal: add(9, 1n, 1n) })).toBe(follower)
    expect(receiveProposal(follower, { ...signed[0]!, turnNum: 0n })).toBe(follower)
  })

  test('a proposal the ledger cannot apply is invalid_proposal, even signed by the leader', () => {
    const vars = { turnNum: 2n, outcome: ledgerOutcome() }
    const unaffordable: SignedProposal = { proposal: add(1, 11n, 0n), turnNum: 2n, signature: alice.signer.signHash(hashLedgerVars(vars)) }
    expect(codeOf(() => receiveProposal(bobLedger, unaffordable))).toBe('invalid_proposal')
    expect(codeOf(() => receiveProposal(bobLedger, { ...unaffordable, proposal: remove(1, 0n) }))).toBe('invalid_proposal')
  })
})

describe('bad proposal signatures', () => {
  const { signed } = proposeAll(aliceLedger, threeAdds)
  const first = signed[0]!
  const stateOfFirst = applyProposal(aliceLedger.supported.vars, threeAdds[0]!)
  const forged: readonly { name: string; signature: Signature }[] = [
    { name: 'signed by the follower', signature: bob.signer.signHash(hashLedgerVars(stateOfFirst)) },
    { name: 'signed by a stranger', signature: irene.signer.signHash(hashLedgerVars(stateOfFirst)) },
    { name: 'the leader\'s signature on another state', signature: signed[1]!.signature },
    { name: 'the leader\'s signature on the supported state', signature: aliceLedger.supported.signatures[0] },
    { name: 'a well-formed signature of nobody', signature: `0x${'11'.repeat(32)}${'22'.repeat(32)}1b` },
    { name: 'malformed (2 bytes)', signature: '0x1234' },
    { name: 'v = 29', signature: `${first.signature.slice(0, -2)}1d` as Hex },
  ]

  test.each(forged)('$name: bad_proposal_signature, and the real proposal is still accepted', ({ signature }) => {
    expect(codeOf(() => receiveProposal(bobLedger, { ...first, signature }))).toBe('bad_proposal_signature')
    const follower = receiveProposal(bobLedger, first)
    expect(countersign(follower, threeAdds[0]!, bob.signer)?.turnNum).toBe(first.turnNum)
  })

  test('a bad proposal buffered at a future turn is dropped once reached, and does not block the real one', () => {
    const bad = { ...signed[1]!, signature: bob.signer.signHash(hashLedgerVars(applyProposal(stateOfFirst, threeAdds[1]!))) }
    const buffered = receiveAll(bobLedger, [bad, signed[2]!])
    expect(buffered.received).toHaveLength(2)
    const reached = receiveProposal(buffered, first)
    expect(reached.received.map((r) => [r.signed.turnNum, r.vars !== null])).toEqual([
      [2n, true],
      [4n, false],
    ])
    const healed = receiveProposal(reached, signed[1]!)
    expect(healed.received.every((r) => r.vars !== null)).toBe(true)
    expect(countersignAll(healed, threeAdds).countersignatures.map((c) => c.turnNum)).toEqual([2n, 3n, 4n])
  })

  test('the real proposal may arrive while a bad copy of its turn is still buffered', () => {
    const bad = { ...signed[1]!, signature: bob.signer.signHash(hashLedgerVars(applyProposal(stateOfFirst, threeAdds[1]!))) }
    const buffered = receiveAll(bobLedger, [bad, signed[1]!, signed[2]!])
    expect(buffered.received.map((r) => r.signed)).toEqual([bad, signed[1], signed[2]])
    const healed = receiveProposal(buffered, first)
    expect(healed.received.map((r) => r.signed)).toEqual(signed)
    expect(countersignAll(healed, threeAdds).countersignatures.map((c) => c.turnNum)).toEqual([2n, 3n, 4n])
  })

  test('a bad proposal does not take the verified ones after it down', () => {
    const gap = receiveAll(bobLedger, [signed[1]!, signed[2]!])
    expect(codeOf(() => receiveProposal(gap, { ...first, signature: bob.signer.signHash(hashLedgerVars(stateOfFirst)) }))).toBe('bad_proposal_signature')
    expect(receiveProposal(gap, first).received.every((r) => r.vars !== null)).toBe(true)
  })
})

describe('leader receives countersignatures', () => {
  const { leader, signed } = proposeAll(aliceLedger, threeAdds)
  const { follower, countersignatures } = countersignAll(receiveAll(bobLedger, signed), threeAdds)

  test('each countersignature in turn order makes its turn supported', () => {
    let l = leader
    for (const [i, c] of countersignatures.entries()) {
      l = receiveCountersignature(l, c.turnNum, c.signature)
      expect(l.supported.vars.turnNum).toBe(c.turnNum)
      expect(l.queue).toHaveLength(2 - i)
    }
    expectSameSupportedState(l, follower)
  })

  test('a countersignature for turn t+k acknowledges every queued proposal up to it', () => {
    const last = countersignatures[2]!
    const done = receiveCountersignature(leader, last.turnNum, last.signature)
    expect(done.queue).toEqual([])
    expectSameSupportedState(done, follower)
    expect(receiveCountersignature(done, countersignatures[0]!.turnNum, countersignatures[0]!.signature)).toBe(done)
    const middle = receiveCountersignature(leader, countersignatures[1]!.turnNum, countersignatures[1]!.signature)
    expect(middle.queue).toEqual([signed[2]])
    expect(middle.supported.signatures).toEqual([signed[1]!.signature, countersignatures[1]!.signature])
  })

  test('a stale or duplicate countersignature is a no-op, even a bad one', () => {
    const once = receiveCountersignature(leader, countersignatures[0]!.turnNum, countersignatures[0]!.signature)
    expect(receiveCountersignature(once, countersignatures[0]!.turnNum, countersignatures[0]!.signature)).toBe(once)
    expect(receiveCountersignature(once, 1n, '0x')).toBe(once)
  })

  test('a countersignature for a turn not queued is unknown_turn', () => {
    expect(codeOf(() => receiveCountersignature(leader, 5n, countersignatures[2]!.signature))).toBe('unknown_turn')
    expect(codeOf(() => receiveCountersignature(aliceLedger, 2n, countersignatures[0]!.signature))).toBe('unknown_turn')
  })

  test.each([
    { name: 'the leader\'s own signature', signature: () => signed[0]!.signature },
    { name: 'the follower\'s signature on another turn', signature: () => countersignatures[1]!.signature },
    { name: 'a stranger\'s signature on the right state', signature: () => irene.signer.signHash(hashLedgerVars(applyProposal(aliceLedger.supported.vars, threeAdds[0]!))) },
    { name: 'a malformed signature', signature: () => '0xdead' as Hex },
  ])('$name: bad_countersignature, and the queue is kept', ({ signature }) => {
    expect(codeOf(() => receiveCountersignature(leader, 2n, signature()))).toBe('bad_countersignature')
    expect(receiveCountersignature(leader, 2n, countersignatures[0]!.signature).supported.vars.turnNum).toBe(2n)
  })
})

describe('limits', () => {
  test(`the leader queues at most MAX_QUEUED_PROPOSALS (${MAX_QUEUED_PROPOSALS}) proposals`, () => {
    // Alternate add and remove of one target so the replayed outcome stays small.
    const proposals = Array.from({ length: MAX_QUEUED_PROPOSALS }, (_, i) => (i % 2 === 0 ? add(1, 1n, 1n) : remove(1, 1n)))
    const { leader, signed } = proposeAll(aliceLedger, proposals)
    expect(leader.queue).toHaveLength(MAX_QUEUED_PROPOSALS)
    expect(codeOf(() => propose(leader, add(1, 1n, 1n), alice.signer))).toBe('proposal_buffer_full')

    // The follower takes the whole queue, in reverse, and still countersigns it in order.
    const follower = receiveAll(bobLedger, [...signed].reverse())
    expect(follower.received).toHaveLength(MAX_BUFFERED_PROPOSALS)
    expect(follower.received.every((r) => r.vars !== null)).toBe(true)
    const beyond: SignedProposal = { ...signed[0]!, turnNum: signed.at(-1)!.turnNum + 1n }
    expect(codeOf(() => receiveProposal(follower, beyond))).toBe('proposal_buffer_full')
    expect(receiveProposal(follower, signed[5]!)).toBe(follower) // a duplicate is still a no-op when full
    const { follower: after, countersignatures } = countersignAll(follower, proposals)
    const done = receiveCountersignature(leader, countersignatures.at(-1)!.turnNum, countersignatures.at(-1)!.signature)
    expectSameSupportedState(done, after)
    expect(done.supported.vars.outcome).toEqual(ledgerOutcome())
  })
})

describe('adoptSupported (resync)', () => {
  const { leader: queued, signed } = proposeAll(aliceLedger, [...threeAdds, add(4, 1n, 1n)])
  const proposals = [...threeAdds, add(4, 1n, 1n)]
  const varsAt = (k: number): LedgerVars => proposals.slice(0, k).reduce(applyProposal, aliceLedger.supported.vars)

  test('the leader adopts the state the follower countersigned, keeping what follows it in the queue', () => {
    // Bob countersigned three proposals; alice lost the countersignatures and asks for bob's state.
    const { follower } = countersignAll(receiveAll(bobLedger, signed), threeAdds)
    const sync = supportedSignedState(follower)
    const vars = { turnNum: sync.state.turnNum, outcome: ledgerOutcomeFromExit(sync.state.outcome) }
    const leader = adoptSupported(queued, vars, [sync.signatures[0]!, sync.signatures[1]!])
    if (leader.role !== 'leader') throw new Error('leader')
    expectSameSupportedState(leader, follower)
    expect(leader.queue).toEqual([signed[3]])
    const last = countersign(follower, proposals[3]!, bob.signer)!
    expectSameSupportedState(receiveCountersignature(leader, last.turnNum, last.signature), last.channel)
  })

  test('a state both signed beyond everything known is adopted, and drops the whole queue', () => {
    const far = { turnNum: 40n, outcome: ledgerOutcome({ leader: 4n, follower: 16n }) }
    const leader = adoptSupported(queued, far, signVarsByBoth(far))
    expect(leader.supported.vars).toEqual(far)
    expect(leader.role === 'leader' && leader.queue).toEqual([])
  })

  test('the leader keeps no queued proposal built on a history other than the adopted one', () => {
    // Restored from old data, alice queued other proposals at turns bob had already countersigned.
    const other = { turnNum: 3n, outcome: applyProposal(applyProposal(aliceLedger.supported.vars, add(8, 1n, 1n)), add(9, 1n, 1n)).outcome }
    const leader = adoptSupported(queued, other, signVarsByBoth(other))
    expect(leader.supported.vars).toEqual(other)
    expect(leader.role === 'leader' && leader.queue).toEqual([])
    expect(latestProposedVars(leader as LeaderChannel)).toEqual(other)
  })

  test.each([
    { name: 'signed by the leader twice', signatures: (v: LedgerVars) => [alice.signer.signHash(hashLedgerVars(v)), alice.signer.signHash(hashLedgerVars(v))] as const },
    { name: 'signed by the follower twice', signatures: (v: LedgerVars) => [bob.signer.signHash(hashLedgerVars(v)), bob.signer.signHash(hashLedgerVars(v))] as const },
    { name: 'signatures in swapped places', signatures: (v: LedgerVars) => [signVarsByBoth(v)[1], signVarsByBoth(v)[0]] as const },
    { name: 'signed by the leader and a stranger', signatures: (v: LedgerVars) => [alice.signer.signHash(hashLedgerVars(v)), irene.signer.signHash(hashLedgerVars(v))] as const },
    { name: 'signed by a stranger and the follower', signatures: (v: LedgerVars) => [irene.signer.signHash(hashLedgerVars(v)), bob.signer.signHash(hashLedgerVars(v))] as const },
    { name: 'signed by both on another state', signatures: () => signVarsByBoth(varsAt(2)) },
    { name: 'a malformed signature', signatures: (v: LedgerVars) => [signVarsByBoth(v)[0], '0x00'] as const },
  ])('refuses a state $name (invalid_signature), on either side', ({ signatures }) => {
    const vars = varsAt(3)
    expect(codeOf(() => adoptSupported(queued, vars, signatures(vars)))).toBe('invalid_signature')
    expect(codeOf(() => adoptSupported(bobLedger, vars, signatures(vars)))).toBe('invalid_signature')
  })

  test('ignores a state at or below the supported turn', () => {
    const { leader, follower } = agree(aliceLedger, bobLedger, threeAdds.slice(0, 2))
    for (const k of [1, 2]) {
      const vars = varsAt(k)
      expect(adoptSupported(leader, vars, signVarsByBoth(vars))).toBe(leader)
      expect(adoptSupported(follower, vars, signVarsByBoth(vars))).toBe(follower)
    }
    const old = aliceLedger.supported
    expect(adoptSupported(follower, old.vars, old.signatures)).toBe(follower)
  })

  test('the follower drops buffered proposals at or below the adopted turn and verifies the ones now contiguous', () => {
    const buffered = receiveAll(bobLedger, [signed[0]!, signed[2]!, signed[3]!])
    expect(buffered.received.map((r) => r.vars !== null)).toEqual([true, false, false])
    const vars = varsAt(2)
    const follower = adoptSupported(buffered, vars, signVarsByBoth(vars))
    if (follower.role !== 'follower') throw new Error('follower')
    expect(follower.supported.vars).toEqual(vars)
    expect(follower.received.map((r) => [r.signed.turnNum, r.vars])).toEqual([
      [4n, varsAt(3)],
      [5n, varsAt(4)],
    ])
    expect(countersignAll(follower, proposals.slice(2)).countersignatures.map((c) => c.turnNum)).toEqual([4n, 5n])
  })

  test('a bad buffered proposal that becomes contiguous on adoption is dropped', () => {
    const bad = { ...signed[2]!, signature: bob.signer.signHash(hashLedgerVars(varsAt(3))) }
    const buffered = receiveAll(bobLedger, [bad, signed[3]!])
    const vars = varsAt(2)
    const follower = adoptSupported(buffered, vars, signVarsByBoth(vars)) as FollowerChannel
    expect(follower.received.map((r) => [r.signed.turnNum, r.vars !== null])).toEqual([[5n, false]])
    expect(nextToCountersign(follower)).toBeUndefined()
    expect(receiveProposal(follower, signed[2]!).received.every((r) => r.vars !== null)).toBe(true)
  })

  test('a buffered proposal verified against a predecessor the adopted state replaces is verified again', () => {
    // Bob verified turns 2 and 3; the state both signed at turn 2 is another one (after data loss), on which
    // the leader's signature of turn 3 does not hold: bob must not countersign turn 3 on top of it.
    const verified = receiveAll(bobLedger, [signed[0]!, signed[1]!])
    expect(verified.received.every((r) => r.vars !== null)).toBe(true)
    const other = applyProposal(aliceLedger.supported.vars, add(8, 1n, 1n))
    const follower = adoptSupported(verified, other, signVarsByBoth(other)) as FollowerChannel
    expect(follower.received).toEqual([])
    expect(countersign(follower, threeAdds[1]!, bob.signer)).toBeUndefined()
  })
})

// ---- concurrency: a seeded network between alice and bob ----

type Step =
  | { readonly kind: 'add'; readonly n: number; readonly leftAmount: bigint; readonly rightAmount: bigint; readonly leftIsLeader: boolean }
  | { readonly kind: 'remove'; readonly n: number; readonly leftAmount: bigint }

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), n: fc.integer({ min: 0, max: 7 }), leftAmount: fc.bigInt({ min: 0n, max: 4n }), rightAmount: fc.bigInt({ min: 0n, max: 4n }), leftIsLeader: fc.boolean() }),
  fc.record({ kind: fc.constant('remove' as const), n: fc.integer({ min: 0, max: 7 }), leftAmount: fc.bigInt({ min: 0n, max: 4n }) }),
)
const proposalOf = (s: Step): Proposal => (s.kind === 'add' ? add(s.n, s.leftAmount, s.rightAmount, s.leftIsLeader ? alice : bob) : remove(s.n, s.leftAmount))

type InFlight = { readonly to: 'bob'; readonly signed: SignedProposal } | { readonly to: 'alice'; readonly countersignature: Countersignature }

/**
 * Alice proposes the steps that apply (at random moments); every message may be delivered in any order,
 * some twice; bob's objectives each offer their proposal whenever he may countersign. Checkers run after
 * every step. Returns the end state.
 */
function simulate(steps: readonly Step[], seed: number): { leader: LeaderChannel; follower: FollowerChannel; proposed: number } {
  const random = createRandom(seed)
  let leader = aliceLedger
  let follower = bobLedger
  let inFlight: InFlight[] = []
  let expected: Proposal[] = [] // bob's objectives that still wait for their proposal
  let next = 0
  let proposed = 0
  const total = totalOf(aliceLedger.supported.vars.outcome)
  while (next < steps.length || inFlight.length > 0) {
    const before = { leader: leader.supported.vars.turnNum, follower: follower.supported.vars.turnNum, latest: latestProposedVars(leader).turnNum }
    if (next < steps.length && (inFlight.length === 0 || random.chance(0.4))) {
      const p = proposalOf(steps[next++]!)
      try {
        const result = propose(leader, p, alice.signer)
        leader = result.channel
        inFlight.push({ to: 'bob', signed: result.signed })
        expected.push(p)
        proposed++
      } catch (error) {
        if (!(error instanceof RejectedInputError)) throw error
      }
    } else {
      const index = random.int(inFlight.length)
      const message = inFlight[index]!
      if (!random.chance(0.2)) inFlight = inFlight.filter((_, i) => i !== index) // else: delivered again later
      if (message.to === 'alice') {
        leader = receiveCountersignature(leader, message.countersignature.turnNum, message.countersignature.signature)
      } else {
        follower = receiveProposal(follower, message.signed)
        for (let progressed = true; progressed; ) {
          progressed = false
          for (const p of shuffle(expected, random)) {
            const result = countersign(follower, p, bob.signer)
            if (!result) continue
            follower = result.channel
            inFlight.push({ to: 'alice', countersignature: { turnNum: result.turnNum, signature: result.signature } })
            expected = expected.filter((q) => q !== p)
            progressed = true
            break
          }
        }
      }
    }
    // Checkers: turns only grow; bob is never ahead of what alice proposed, alice never ahead of bob; funds conserved.
    expect(leader.supported.vars.turnNum).toBeGreaterThanOrEqual(before.leader)
    expect(follower.supported.vars.turnNum).toBeGreaterThanOrEqual(before.follower)
    expect(latestProposedVars(leader).turnNum).toBeGreaterThanOrEqual(before.latest)
    expect(follower.supported.vars.turnNum).toBeLessThanOrEqual(latestProposedVars(leader).turnNum)
    expect(leader.supported.vars.turnNum).toBeLessThanOrEqual(follower.supported.vars.turnNum)
    expect(totalOf(leader.supported.vars.outcome)).toBe(total)
    expect(totalOf(follower.supported.vars.outcome)).toBe(total)
  }
  return { leader, follower, proposed }
}

describe('concurrent proposals', () => {
  test('any interleaving of adds and removes, delivered in a seeded random order with duplicates, lands in order on both sides', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 25 }), fc.integer(), (steps, seed) => {
        const { leader, follower, proposed } = simulate(steps, seed)
        // Every proposal was countersigned and acknowledged; both sides agree on the state alice proposed last.
        expect(leader.queue).toEqual([])
        expect(follower.received).toEqual([])
        expect(leader.supported.vars.turnNum).toBe(POSTFUND_TURN + BigInt(proposed))
        const accepted = steps.map(proposalOf).reduce<LedgerVars>((vars, p) => {
          try {
            return applyProposal(vars, p)
          } catch (error) {
            if (error instanceof RejectedInputError) return vars
            throw error
          }
        }, aliceLedger.supported.vars)
        expect(leader.supported.vars).toEqual(accepted)
        expectSameSupportedState(leader, follower)
      }),
      { numRuns: 60 },
    )
  })

  test('100 proposals from both sides\' objectives, delivered shuffled, all land', () => {
    const proposals = Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? add(i, 0n, 0n, i % 4 === 0 ? alice : bob) : remove(i - 1, 0n)))
    const { leader, signed } = proposeAll(aliceLedger, proposals)
    const follower = receiveAll(bobLedger, shuffle(signed, createRandom(100)))
    const { follower: after, countersignatures } = countersignAll(follower, proposals)
    const done = shuffle(countersignatures, createRandom(101)).reduce((l, c) => receiveCountersignature(l, c.turnNum, c.signature), leader)
    expect(done.supported.vars.turnNum).toBe(101n)
    expect(done.queue).toEqual([])
    expectSameSupportedState(done, after)
  })
})
