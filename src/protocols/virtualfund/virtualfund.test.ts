// VirtualFund (NITRO-NOTES §2.4, §2.7): alice (payer, participant 0), irene (intermediary) and bob (payee,
// last) open a payment channel V through the ledgers L(alice, irene) and L(irene, bob); then the same walk
// with no intermediary (n = 0, through the alice–bob ledger) and with three. Refusals are tables of named
// cases with their error codes. Expected guarantees are written out from the protocol (target V, the
// neighbours' destinations, Alice's share from the left, Bob's from the right), not taken from the code;
// signing is deterministic (RFC 6979), so an expected signed state is the core's signBy of the expected state.
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
import type { Proposal } from '../ledger/proposal.js'
import type { FundingView, VirtualFund, VirtualFundWaitingFor } from './virtualfund.js'
import { crank, guaranteeProposal, newVirtualFund, update, virtualFundId } from './virtualfund.js'
import { codeOf } from '../../../test/hostile.js'
import { toAddress, toBytes32 } from '../../core/canonical.js'
import { AllocationType } from '../../core/outcome.js'

interface Actor {
  readonly name: string
  readonly address: Address
  readonly signer: Signer
}
// alice, bob and irene are go-nitro's internal/testactors keys; addresses derived by viem, independently of our signer.
const actor = (name: string, key: Hex): Actor => ({ name, address: toAddress(privateKeyToAccount(key).address), signer: createSigner(key) })
const alice = actor('alice', '0x2d999770f7b5d49b694080f987b82bbc9fc9ac2b4dcc10b0f8aba7d700f69c6d')
const bob = actor('bob', '0x0279651921cd800ac560c21ceea27aab0107b67daf436cdd25ce84cad30159b4')
const irene = actor('irene', '0xfebb3b74b0b52d0976f6571d555f4ac8b91c308dfa25c7b58d1e6a7c3f50c781')
const ivan = actor('ivan', `0x${'21'.repeat(32)}`)
const ingrid = actor('ingrid', `0x${'22'.repeat(32)}`)
const mallory = actor('mallory', `0x${'33'.repeat(32)}`)

const ETH: Address = toAddress('0x0000000000000000000000000000000000000000')
const VIRTUAL_PAYMENT_APP: Address = toAddress('0x1f9fb7a9e14f3fb6e5b9e8a9fd2b0cc1ce3f7a21')
const ALICE_AMOUNT = 7n
// Not zero (as a real payment channel's is), so that a guarantee with left and right amounts swapped shows.
const BOB_AMOUNT = 0n

const destinationOf = (a: Address): Bytes32 => toBytes32(`0x${'0'.repeat(24)}${a.slice(2)}`)
const simple = (destination: Bytes32, amount: bigint) => ({ destination, amount, allocationType: 0, metadata: '0x' as Hex })

/** V's prefund for a path alice → intermediaries → bob. */
function prefundOf(path: readonly Actor[], amounts: { alice: bigint; bob: bigint } = { alice: ALICE_AMOUNT, bob: BOB_AMOUNT }): State {
  const [first, last] = [path[0]!, path[path.length - 1]!]
  return {
    participants: path.map((p) => p.address),
    channelNonce: 11n,
    appDefinition: VIRTUAL_PAYMENT_APP,
    challengeDuration: 3_600,
    outcome: [{ asset: ETH, assetMetadata: { assetType: 0, metadata: '0x' }, allocations: [simple(destinationOf(first.address), amounts.alice), simple(destinationOf(last.address), amounts.bob)] }],
    appData: '0x',
    turnNum: 0n,
    isFinal: false,
  }
}

const PATH = [alice, irene, bob] as const
const PREFUND = prefundOf(PATH)
const POSTFUND: State = { ...PREFUND, turnNum: 1n }
const V = channelId({ participants: PATH.map((p) => p.address), channelNonce: 11n, appDefinition: VIRTUAL_PAYMENT_APP, challengeDuration: 3_600 })
const OBJECTIVE_ID = `virtualfund:${V.toLowerCase()}`

function signedBy(state: State, ...signers: Actor[]): SignedState {
  return signers.reduce((s, a) => signBy(s, a.signer), unsigned(state))
}

/** Who signed each slot, recovered from the signature (null for an empty slot). */
const signersOf = (s: SignedState) => s.signatures.map((sig) => (sig === null ? null : recoverHashSigner(hashState(s.state), sig)))

const sendState = (to: Actor, signedState: SignedState, objectiveId = OBJECTIVE_ID): Effect => ({ kind: 'send', to: to.address, payload: { kind: 'signedState', objectiveId, signedState } })
const updateLedger = (counterparty: Actor, proposal: Proposal): Effect => ({ kind: 'updateLedger', counterparty: counterparty.address, proposal })

/** The guarantee for V in the ledger between `left` and `right`, written out from NITRO-NOTES §2.4. */
function guarantee(v: State, left: Actor, right: Actor): Proposal {
  return { kind: 'add', target: channelId({ participants: v.participants, channelNonce: v.channelNonce, appDefinition: v.appDefinition, challengeDuration: v.challengeDuration }), left: destinationOf(left.address), right: destinationOf(right.address), leftAmount: ALICE_AMOUNT, rightAmount: BOB_AMOUNT }
}

/** The signed state each send effect carries, with its recipient. */
function sent(effects: readonly Effect[], to: Actor): SignedState {
  const found = effects.filter((e) => e.kind === 'send' && e.to === to.address)
  expect(found).toHaveLength(1)
  const e = found[0]!
  if (e.kind !== 'send' || e.payload.kind !== 'signedState') return expect.fail('expected a signed state to send')
  return e.payload.signedState
}

type Step = { objective: VirtualFund; effects: readonly Effect[]; waitingFor: VirtualFundWaitingFor }

/** Cranks once, then checks that cranking the result again asks for nothing new (STYLE §2). */
function step(o: VirtualFund, who: Actor, funding: FundingView): Step {
  const first = crank(o, who.signer, funding)
  const again = crank(first.objective, who.signer, funding)
  expect(again.effects).toEqual([])
  expect(again.waitingFor).toBe(first.waitingFor)
  expect(again.objective).toEqual(first.objective)
  return first
}

const NONE: FundingView = { left: false, right: false }
const BOTH: FundingView = { left: true, right: true }
const LEFT: FundingView = { left: true, right: false }
const RIGHT: FundingView = { left: false, right: true }

const receive = (o: VirtualFund, ...signed: SignedState[]) => signed.reduce((acc, s) => update(acc, { kind: 'signedState', signed: s }), o)
/** A participant builds the objective from alice's prefund message, as the engine does (unapproved). */
const builtFrom = (signed: SignedState, me: Actor) => receive(newVirtualFund(signed.state, me.address, 'unapproved'), signed)
const approve = (o: VirtualFund): VirtualFund => ({ ...o, status: 'approved' })

describe('newVirtualFund', () => {
  test('builds the objective of V: id, my index, unsigned prefund (turn 0) and postfund (turn 1), nothing requested', () => {
    const o = newVirtualFund(PREFUND, irene.address, 'unapproved')
    expect(o.id).toBe(OBJECTIVE_ID)
    expect(virtualFundId(V)).toBe(OBJECTIVE_ID)
    expect(o).toMatchObject({ kind: 'virtualfund', status: 'unapproved', failure: null, channelId: V, myIndex: 1, guaranteesRequested: false })
    expect(o.prefund).toEqual({ state: PREFUND, signatures: [null, null, null] })
    expect(o.postfund).toEqual({ state: POSTFUND, signatures: [null, null, null] })
  })

  const A = destinationOf(alice.address)
  const B = destinationOf(bob.address)
  const withAllocations = (...allocations: ReturnType<typeof simple>[]): State => ({ ...PREFUND, outcome: [{ ...PREFUND.outcome[0]!, allocations }] })
  test.each([
    // alice pays herself, so that only the participant count is wrong
    { name: 'one participant', prefund: { ...withAllocations(simple(A, 7n), simple(A, 2n)), participants: [alice.address] }, me: alice, code: 'unsupported_channel' },
    { name: 'the same participant twice', prefund: { ...PREFUND, participants: [alice.address, irene.address, irene.address, bob.address] }, me: alice, code: 'unsupported_channel' },
    { name: 'alice also as bob (same address, other case)', prefund: { ...withAllocations(simple(A, 7n), simple(A, 2n)), participants: [alice.address, irene.address, alice.address.toLowerCase() as Address] }, me: alice, code: 'unsupported_channel' },
    { name: 'me not a participant', prefund: PREFUND, me: mallory, code: 'unsupported_channel' },
    { name: 'two assets', prefund: { ...PREFUND, outcome: [PREFUND.outcome[0]!, { ...PREFUND.outcome[0]!, asset: VIRTUAL_PAYMENT_APP }] }, me: alice, code: 'unsupported_channel' },
    { name: 'no asset', prefund: { ...PREFUND, outcome: [] }, me: alice, code: 'unsupported_channel' },
    { name: 'one allocation', prefund: withAllocations(simple(A, 7n)), me: alice, code: 'unsupported_channel' },
    { name: 'three allocations', prefund: withAllocations(simple(A, 7n), simple(B, 2n), simple(B, 1n)), me: alice, code: 'unsupported_channel' },
    { name: 'allocations paying bob then alice', prefund: withAllocations(simple(B, 2n), simple(A, 7n)), me: alice, code: 'unsupported_channel' },
    { name: "bob's allocation paying irene", prefund: withAllocations(simple(A, 7n), simple(destinationOf(irene.address), 2n)), me: alice, code: 'unsupported_channel' },
    { name: "alice's allocation paying irene", prefund: withAllocations(simple(destinationOf(irene.address), 7n), simple(B, 2n)), me: alice, code: 'unsupported_channel' },
    { name: "bob's allocation paying a channel", prefund: withAllocations(simple(A, 7n), simple(toBytes32(`0x${'ee'.repeat(32)}`), 2n)), me: alice, code: 'unsupported_channel' },
    { name: "a guarantee-type allocation (alice's)", prefund: withAllocations({ ...simple(A, 7n), allocationType: AllocationType.guarantee }, simple(B, 2n)), me: alice, code: 'unsupported_channel' },
    { name: "a guarantee-type allocation (bob's)", prefund: withAllocations(simple(A, 7n), { ...simple(B, 2n), allocationType: AllocationType.guarantee }), me: alice, code: 'unsupported_channel' },
    { name: 'bob starting with funds (the payment app settles a voucher as his whole amount)', prefund: withAllocations(simple(A, 7n), simple(B, 2n)), me: alice, code: 'unsupported_channel' },
    { name: 'turn 1 (non-zero turn)', prefund: { ...PREFUND, turnNum: 1n }, me: alice, code: 'unexpected_state' },
    { name: 'turn 2 (non-zero turn)', prefund: { ...PREFUND, turnNum: 2n }, me: bob, code: 'unexpected_state' },
    { name: 'a final prefund', prefund: { ...PREFUND, isFinal: true }, me: alice, code: 'unexpected_state' },
  ])('refuses $name with $code', ({ prefund, me, code }) => {
    expect(codeOf(() => newVirtualFund(prefund, me.address, 'approved'))).toBe(code)
  })

})

describe('guaranteeProposal', () => {
  test('the ledger between participants k and k+1 guarantees V with Alice’s share from the left and Bob’s from the right', () => {
    expect(guaranteeProposal(PREFUND, 0)).toEqual(guarantee(PREFUND, alice, irene))
    expect(guaranteeProposal(PREFUND, 1)).toEqual(guarantee(PREFUND, irene, bob))
    expect(guaranteeProposal(PREFUND, 0)).toEqual({
      kind: 'add',
      target: V,
      left: destinationOf(alice.address),
      right: destinationOf(irene.address),
      leftAmount: ALICE_AMOUNT,
      rightAmount: BOB_AMOUNT,
    })
  })
})

describe('alice, irene and bob open V (one intermediary)', () => {
  test('every pause point, in order', () => {
    // alice signs the prefund and sends it to irene and to bob, once
    const a1 = step(newVirtualFund(PREFUND, alice.address, 'approved'), alice, NONE)
    expect(a1.waitingFor).toBe('prefund')
    expect(a1.effects).toEqual([sendState(irene, signedBy(PREFUND, alice)), sendState(bob, signedBy(PREFUND, alice))])
    expect(signersOf(sent(a1.effects, bob))).toEqual([alice.address, null, null])

    // irene builds the objective from alice's prefund: unapproved, it waits and does nothing
    const unapproved = builtFrom(sent(a1.effects, irene), irene)
    const waitingApproval = step(unapproved, irene, BOTH)
    expect(waitingApproval).toEqual({ objective: unapproved, effects: [], waitingFor: 'approval' })

    // approved, irene and bob each countersign and send what they hold to the two others
    const i1 = step(approve(unapproved), irene, NONE)
    expect(i1.waitingFor).toBe('prefund')
    expect(i1.effects).toEqual([sendState(alice, signedBy(PREFUND, alice, irene)), sendState(bob, signedBy(PREFUND, alice, irene))])
    const b1 = step(approve(builtFrom(sent(a1.effects, bob), bob)), bob, NONE)
    expect(b1.waitingFor).toBe('prefund')
    expect(b1.effects).toEqual([sendState(alice, signedBy(PREFUND, alice, bob)), sendState(irene, signedBy(PREFUND, alice, bob))])

    // prefund fully signed: each asks for the guarantee in its ledger(s), once, and waits for funding
    const a2 = step(receive(a1.objective, sent(i1.effects, alice), sent(b1.effects, alice)), alice, NONE)
    expect(a2.waitingFor).toBe('funding')
    expect(a2.effects).toEqual([updateLedger(irene, guarantee(PREFUND, alice, irene))])
    expect(a2.objective.guaranteesRequested).toBe(true)
    expect(signersOf(a2.objective.prefund)).toEqual([alice.address, irene.address, bob.address])

    const i2 = step(receive(i1.objective, sent(b1.effects, irene)), irene, NONE)
    expect(i2.waitingFor).toBe('funding')
    expect(i2.effects).toEqual([updateLedger(alice, guarantee(PREFUND, alice, irene)), updateLedger(bob, guarantee(PREFUND, irene, bob))])

    const b2 = step(receive(b1.objective, sent(i1.effects, bob)), bob, NONE)
    expect(b2.waitingFor).toBe('funding')
    expect(b2.effects).toEqual([updateLedger(irene, guarantee(PREFUND, irene, bob))])

    // alice needs her right ledger only, bob his left only, irene both
    expect(step(a2.objective, alice, LEFT)).toMatchObject({ waitingFor: 'funding', effects: [] })
    expect(step(i2.objective, irene, LEFT)).toMatchObject({ waitingFor: 'funding', effects: [] })
    expect(step(i2.objective, irene, RIGHT)).toMatchObject({ waitingFor: 'funding', effects: [] })
    expect(step(b2.objective, bob, RIGHT)).toMatchObject({ waitingFor: 'funding', effects: [] })

    // funded: alice and bob sign the postfund, send it to the two others and wait for theirs
    const a3 = step(a2.objective, alice, RIGHT)
    expect(a3.waitingFor).toBe('postfund')
    expect(a3.effects).toEqual([sendState(irene, signedBy(POSTFUND, alice)), sendState(bob, signedBy(POSTFUND, alice))])
    const b3 = step(b2.objective, bob, LEFT)
    expect(b3.waitingFor).toBe('postfund')
    expect(b3.effects).toEqual([sendState(alice, signedBy(POSTFUND, bob)), sendState(irene, signedBy(POSTFUND, bob))])

    // irene completes as soon as she has signed the postfund (ADR-0009: it only protects her)
    const i3 = step(i2.objective, irene, BOTH)
    expect(i3.waitingFor).toBe('nothing')
    expect(i3.objective.status).toBe('completed')
    expect(i3.effects).toEqual([sendState(alice, signedBy(POSTFUND, irene)), sendState(bob, signedBy(POSTFUND, irene))])
    expect(signersOf(i3.objective.postfund)).toEqual([null, irene.address, null])

    // alice and bob complete only with all three postfund signatures
    const a4 = step(receive(a3.objective, sent(b3.effects, alice)), alice, RIGHT)
    expect(a4).toMatchObject({ waitingFor: 'postfund', effects: [] })
    expect(a4.objective.status).toBe('approved')
    const a5 = step(receive(a4.objective, sent(i3.effects, alice)), alice, RIGHT)
    const b4 = step(receive(b3.objective, sent(i3.effects, bob)), bob, LEFT)
    expect(b4).toMatchObject({ waitingFor: 'postfund', effects: [] })
    const b5 = step(receive(b4.objective, sent(a3.effects, bob)), bob, LEFT)
    for (const done of [a5, b5]) {
      expect(done.waitingFor).toBe('nothing')
      expect(done.effects).toEqual([])
      expect(done.objective.status).toBe('completed')
      expect(signersOf(done.objective.postfund)).toEqual([alice.address, irene.address, bob.address])
    }

    // the late postfunds irene receives change nothing she has to do
    const i4 = step(receive(i3.objective, sent(a3.effects, irene), sent(b3.effects, irene)), irene, BOTH)
    expect(i4).toMatchObject({ waitingFor: 'nothing', effects: [] })
  })

  test('nothing is requested before the prefund is fully signed, whatever the funding view says', () => {
    const a1 = step(newVirtualFund(PREFUND, alice.address, 'approved'), alice, BOTH)
    expect(a1.waitingFor).toBe('prefund')
    const a2 = step(receive(a1.objective, signedBy(PREFUND, irene)), alice, BOTH)
    expect(a2).toMatchObject({ waitingFor: 'prefund', effects: [] })
    expect(a2.objective.guaranteesRequested).toBe(false)
  })

  test('the guarantees are requested once: losing and regaining the funding view asks for nothing new', () => {
    const start = receive(newVirtualFund(PREFUND, irene.address, 'approved'), signedBy(PREFUND, alice, bob))
    const i1 = step(start, irene, NONE)
    expect(i1.effects.filter((e) => e.kind === 'updateLedger')).toHaveLength(2)
    const i2 = step(i1.objective, irene, LEFT)
    expect(i2).toMatchObject({ waitingFor: 'funding', effects: [] })
    expect(step(i2.objective, irene, NONE)).toMatchObject({ waitingFor: 'funding', effects: [] })
  })

  test("a peer's postfund signature that arrives before funding is kept", () => {
    const early = receive(newVirtualFund(PREFUND, alice.address, 'approved'), signedBy(PREFUND, irene, bob), signedBy(POSTFUND, irene, bob))
    const a1 = step(early, alice, NONE)
    expect(a1.waitingFor).toBe('funding')
    expect(a1.effects.map((e) => e.kind)).toEqual(['send', 'send', 'updateLedger'])
    const a2 = step(a1.objective, alice, RIGHT)
    expect(a2.waitingFor).toBe('nothing')
    expect(a2.objective.status).toBe('completed')
    expect(a2.effects).toEqual([sendState(irene, signedBy(POSTFUND, alice, irene, bob)), sendState(bob, signedBy(POSTFUND, alice, irene, bob))])
  })

  test('a duplicate signed state changes nothing', () => {
    const signed = step(newVirtualFund(PREFUND, alice.address, 'approved'), alice, NONE).objective
    const once = receive(signed, signedBy(PREFUND, bob))
    expect(receive(once, signedBy(PREFUND, bob))).toEqual(once)
    expect(receive(once, signedBy(PREFUND, alice, bob))).toEqual(once)
  })

  test.each([{ status: 'completed' as const }, { status: 'failed' as const }, { status: 'rejected' as const }])('a $status objective asks for nothing', ({ status }) => {
    const o = { ...newVirtualFund(PREFUND, alice.address, 'approved'), status }
    expect(crank(o, alice.signer, BOTH)).toEqual({ objective: o, effects: [], waitingFor: 'nothing' })
  })

  // FAILS (bug): directfund and directdefund assert that the signer is my participant; virtualfund signs
  // whichever slot the key belongs to, so with bob's key alice's objective sends bob's signature as hers
  // and sends it again on every crank (her own slot stays empty).
  test('cranking with a key that is not mine is our own bug (invariant)', () => {
    expect(codeOf(() => crank(newVirtualFund(PREFUND, alice.address, 'approved'), bob.signer, NONE))).toBe('invariant')
  })
})

describe('update refuses signed states that are not this objective', () => {
  const strangerSignature = mallory.signer.signHash(hashState(PREFUND))
  test.each([
    { name: 'a state of turn 2', signed: () => signedBy({ ...PREFUND, turnNum: 2n }, bob), code: 'unexpected_state' },
    { name: 'a different prefund (other amounts)', signed: () => signedBy(prefundOf(PATH, { alice: 8n, bob: 0n }), bob), code: 'unexpected_state' },
    { name: 'a different prefund (other appData)', signed: () => signedBy({ ...PREFUND, appData: '0x01' }, bob), code: 'unexpected_state' },
    { name: 'a different postfund (final)', signed: () => signedBy({ ...POSTFUND, isFinal: true }, bob), code: 'unexpected_state' },
    { name: 'a prefund of another channel (other nonce)', signed: () => signedBy({ ...PREFUND, channelNonce: 12n }, bob), code: 'unexpected_state' },
    { name: "a stranger's signature", signed: () => ({ state: PREFUND, signatures: [null, null, strangerSignature] }), code: 'not_a_participant' },
    { name: "bob's signature of another state", signed: () => ({ state: PREFUND, signatures: [null, null, signedBy(POSTFUND, bob).signatures[2]!] }), code: 'not_a_participant' },
    { name: "irene's signature at bob's index", signed: () => ({ state: PREFUND, signatures: [null, null, signedBy(PREFUND, irene).signatures[1]!] }), code: 'unexpected_state' },
  ])('refuses $name with $code', ({ signed, code }) => {
    const fresh = newVirtualFund(PREFUND, alice.address, 'approved')
    expect(codeOf(() => update(fresh, { kind: 'signedState', signed: signed() }))).toBe(code)
  })
})

/**
 * Runs VirtualFund for every participant of `path` in rounds: deliver the messages sent, then crank each
 * participant once. A participant builds its objective from alice's prefund (approved at once, as if by
 * its policy). Ledger k (between path[k] and path[k+1]) holds V's guarantee once both its sides asked for
 * one, the same one: only then does the funding view report it, as the engine's view of a supported
 * ledger state would.
 */
function runFund(path: readonly Actor[]) {
  const v = prefundOf(path)
  const last = path.length - 1
  const id = virtualFundId(channelId({ participants: v.participants, channelNonce: v.channelNonce, appDefinition: v.appDefinition, challengeDuration: v.challengeDuration }))
  const objectives = new Map<Actor, VirtualFund>([[alice, newVirtualFund(v, alice.address, 'approved')]])
  const pauses = new Map<Actor, VirtualFundWaitingFor[]>(path.map((p) => [p, []]))
  const requests = new Map<string, Proposal[]>()
  const sends = new Map<string, number>()
  const byAddress = new Map(path.map((p) => [p.address, p]))
  const edge = (from: Actor, to: Actor) => `${from.name}->${to.name}`
  const agreed = (k: number) => {
    const l = requests.get(edge(path[k]!, path[k + 1]!))
    const r = requests.get(edge(path[k + 1]!, path[k]!))
    return l?.length === 1 && r?.length === 1 && JSON.stringify(l[0], (_, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x)) === JSON.stringify(r[0], (_, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x))
  }
  let inbox: { to: Actor; signed: SignedState }[] = []
  for (let round = 0; round < 4 * path.length + 8; round++) {
    for (const { to, signed } of inbox) {
      const o = objectives.get(to)
      objectives.set(to, o ? receive(o, signed) : approve(builtFrom(signed, to)))
    }
    inbox = []
    let effectCount = 0
    path.forEach((me, i) => {
      const o = objectives.get(me)
      if (!o) return
      const result = step(o, me, { left: i > 0 && agreed(i - 1), right: i < last && agreed(i) })
      objectives.set(me, result.objective)
      const seen = pauses.get(me)!
      if (seen[seen.length - 1] !== result.waitingFor) seen.push(result.waitingFor)
      if (i > 0 && i < last && result.objective.postfund.signatures[i] !== null) {
        // an intermediary completes in the very step that signs the postfund
        expect(result.objective.status).toBe('completed')
      }
      for (const e of result.effects) {
        effectCount++
        if (e.kind === 'send') {
          if (e.payload.kind !== 'signedState') return expect.fail('virtualfund sends signed states only')
          expect(e.payload.objectiveId).toBe(id)
          const to = byAddress.get(e.to)!
          const key = `${edge(me, to)}@${e.payload.signedState.state.turnNum}`
          sends.set(key, (sends.get(key) ?? 0) + 1)
          inbox.push({ to, signed: e.payload.signedState })
        } else if (e.kind === 'updateLedger') {
          const key = edge(me, byAddress.get(e.counterparty)!)
          requests.set(key, [...(requests.get(key) ?? []), e.proposal])
        } else {
          expect.fail(`virtualfund never ${e.kind}s`)
        }
      }
    })
    if (effectCount === 0) break
  }
  return { v, objectives, pauses, requests, sends }
}

describe('any number of intermediaries', () => {
  test.each([
    { hops: 0, path: [alice, bob] },
    { hops: 1, path: [alice, irene, bob] },
    { hops: 3, path: [alice, irene, ivan, ingrid, bob] },
  ])('n = $hops: every ledger on the path guarantees V, everyone signs each state once, all complete', ({ path }) => {
    const { v, objectives, pauses, requests, sends } = runFund(path)
    const last = path.length - 1

    // every participant completed; alice and bob hold every postfund signature
    for (const p of path) expect(objectives.get(p)?.status).toBe(`completed`)
    for (const p of [alice, bob]) expect(signersOf(objectives.get(p)!.postfund)).toEqual(path.map((q) => q.address))

    // each ledger was asked, by each of its two sides and once, for the guarantee written out from the path
    expect(requests.size).toBe(2 * last)
    for (let k = 0; k < last; k++) {
      const expected = guarantee(v, path[k]!, path[k + 1]!)
      expect(guaranteeProposal(v, k)).toEqual(expected)
      expect(requests.get(`${path[k]!.name}->${path[k + 1]!.name}`)).toEqual([expected])
      expect(requests.get(`${path[k + 1]!.name}->${path[k]!.name}`)).toEqual([expected])
    }

    // each participant sent the prefund and the postfund to every other participant exactly once
    const expectedSends = path.flatMap((from) => path.filter((to) => to !== from).flatMap((to) => [`${from.name}->${to.name}@0`, `${from.name}->${to.name}@1`]))
    expect([...sends.keys()].sort()).toEqual(expectedSends.sort())
    expect([...sends.values()].every((count) => count === 1)).toBe(true)

    // pause points come in protocol order (a pause is skipped when what it waits for is already in, as
    // bob's prefund when n = 0); everyone waits for funding, since a ledger holds the guarantee only after
    // both its sides asked; only alice and bob ever wait for the postfund
    const order: VirtualFundWaitingFor[] = ['prefund', 'funding', 'postfund', 'nothing']
    for (const [i, p] of path.entries()) {
      const seen = pauses.get(p)!
      expect(seen).toContain('funding')
      expect(seen[seen.length - 1]).toBe('nothing')
      expect(seen.map((w) => order.indexOf(w))).toEqual(seen.map((w) => order.indexOf(w)).sort())
      if (i > 0 && i < last) expect(seen).not.toContain('postfund')
    }
    expect([...pauses.get(alice)!, ...pauses.get(bob)!]).toContain('postfund')
  })
})
