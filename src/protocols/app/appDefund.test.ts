// AppDefund (appDefund.ts, issue 7): alice, bob and carol (participants 0, 1, 2) close an app channel at
// turn 5 with the outcome 6, 1, 3: each signs the concluding state (turn 6, final) only once it holds turn 5
// signed by all, sends its signature to the two others and merges theirs; then, by funding mode, alice alone
// withdraws on chain ('direct'), alice and bob release the ledger guarantee ('ledger') or nothing moves
// ('none'). The concluding state is written out by hand; signatures are checked by recovering them with the
// core, not with the module's helpers.
import { describe, expect, test } from 'vitest'
import type { Address, Bytes32, Hex, Signature } from '../../core/types.js'
import type { State } from '../../core/state.js'
import type { SignedState } from '../../core/signedState.js'
import { channelId } from '../../core/channelId.js'
import { fixedPart } from '../../core/state.js'
import { hashState } from '../../core/hashState.js'
import { recoverHashSigner } from '../../core/signatures.js'
import { signBy, unsigned } from '../../core/signedState.js'
import { codeOf } from '../../../test/hostile.js'
import type { Effect, Failure, ObjectiveStatus } from '../objective.js'
import type { FundingMode } from './appData.js'
import type { GuaranteeView } from './appFund.js'
import type { AppDefund, AppDefundView } from './appDefund.js'
import { MAX_APP_WITHDRAW_ATTEMPTS, appDefundId, concludingState, crank, newAppDefund, releaseProposal, update } from './appDefund.js'
import type { Actor } from './testApps.js'
import { CONSENSUS_APP, ETH, alice, bob, carol, irene } from './testApps.js'
import { toBytes32 } from '../../core/canonical.js'

const destinationOf = (a: Address): Bytes32 => toBytes32(`0x${'0'.repeat(24)}${a.slice(2)}`)
const APP_DATA = `0x${'ab'.repeat(96)}` as Hex

/** An app channel's state of `actors` at `turnNum`, paying `amounts` in participant order. */
function appState(actors: readonly Actor[], amounts: readonly bigint[], turnNum: bigint, isFinal: boolean): State {
  return {
    participants: actors.map((a) => a.address),
    channelNonce: 7n,
    appDefinition: CONSENSUS_APP,
    challengeDuration: 86_400,
    outcome: [
      {
        asset: ETH,
        assetMetadata: { assetType: 0, metadata: '0x' },
        allocations: actors.map((a, i) => ({ destination: destinationOf(a.address), amount: amounts[i]!, allocationType: 0, metadata: '0x' as Hex })),
      },
    ],
    appData: APP_DATA,
    turnNum,
    isFinal,
  }
}

const three = [alice, bob, carol]
const BASE = appState(three, [6n, 1n, 3n], 5n, false)
/** The concluding state: turn 5 + 1, final, same outcome and app data. */
const FINAL = appState(three, [6n, 1n, 3n], 6n, true)
const ID = channelId(fixedPart(BASE))

const two = [alice, bob]
const LEDGER_BASE = appState(two, [9n, 2n], 5n, false)
const LEDGER_ID = channelId(fixedPart(LEDGER_BASE))

const defundOf = (who: Actor, p: { funding?: FundingMode; base?: State; holdings?: bigint; status?: ObjectiveStatus } = {}) => {
  const base = p.base ?? BASE
  return newAppDefund({ channelId: channelId(fixedPart(base)), funding: p.funding ?? 'none', base, me: who.address, holdings: p.holdings ?? 10n, status: p.status ?? 'approved' })
}
const signed: AppDefundView = { baseSigned: true, ledger: null }
const unsignedBase: AppDefundView = { baseSigned: false, ledger: null }
const ledgerView = (guaranteed: boolean, failure: Failure | null = null): AppDefundView => ({ baseSigned: true, ledger: { guaranteed, failure } satisfies GuaranteeView })
const signersOf = (s: SignedState) => s.signatures.map((sig) => (sig === null ? null : recoverHashSigner(hashState(s.state), sig)))
const signedBy = (state: State, ...actors: Actor[]) => actors.reduce((s, a) => signBy(s, a.signer), unsigned(state))
const receive = (o: AppDefund, s: SignedState) => update(o, { kind: 'signedState', signed: s })
const sendTo = (to: Actor, o: AppDefund, signedState: SignedState): Effect => ({ kind: 'send', to: to.address, payload: { kind: 'signedState', objectiveId: o.id, signedState } })

/** Every participant's objective after all cranked and every signature reached everyone. */
function fullySigned(actors: readonly Actor[], funding: FundingMode, base: State, holdings = 10n): AppDefund[] {
  const view = funding === 'ledger' ? ledgerView(true) : signed
  const own = actors.map((a) => crank(defundOf(a, { funding, base, holdings }), a.signer, view).objective)
  return own.map((o, i) => own.reduce((acc, other, j) => (i === j ? acc : receive(acc, other.final)), o))
}

describe('the concluding state', () => {
  test('is the base one turn on, final, with the same outcome and app data, unsigned', () => {
    expect(concludingState(BASE)).toEqual({ state: FINAL, signatures: [null, null, null] })
  })

  test('a final base state is not an app turn (invariant)', () => {
    expect(codeOf(() => concludingState({ ...BASE, isFinal: true }))).toBe('invariant')
  })

  test('newAppDefund holds it, with my index and nothing requested', () => {
    const o = defundOf(carol, { funding: 'direct', holdings: 10n })
    expect(o).toMatchObject({
      id: `appdefund:${ID.toLowerCase()}`,
      kind: 'appdefund',
      status: 'approved',
      failure: null,
      channelId: ID.toLowerCase(),
      funding: 'direct',
      myIndex: 2,
      holdings: 10n,
      withdrawSubmitted: false,
      withdrawFailures: 0,
      releaseRequested: false,
    })
    expect(o.final).toEqual({ state: FINAL, signatures: [null, null, null] })
    expect(appDefundId(ID)).toBe(o.id)
  })

  test('a closer who is not a participant trips the assertion', () => {
    expect(codeOf(() => defundOf(irene))).toBe('invariant')
  })
})

describe('signing', () => {
  test('nothing is signed or sent before the base turn is signed by all', () => {
    const waiting = crank(defundOf(bob), bob.signer, unsignedBase)
    expect(waiting.effects).toEqual([])
    expect(waiting.waitingFor).toBe('finalState')
    expect(waiting.objective.final.signatures).toEqual([null, null, null])
  })

  test('once it is, I sign the concluding state and send it to each of the two others, once', () => {
    const o = defundOf(bob)
    const first = crank(o, bob.signer, signed)
    const final = first.objective.final
    expect(final.state).toEqual(FINAL)
    expect(signersOf(final)).toEqual([null, bob.address, null])
    expect(first.effects).toEqual([sendTo(alice, o, final), sendTo(carol, o, final)])
    expect(first.waitingFor).toBe('finalState')
    const again = crank(first.objective, bob.signer, signed)
    expect(again.effects).toEqual([])
    expect(again.objective).toEqual(first.objective)
  })

  test('a peer\'s signature that arrives before my base is signed is kept; I still wait to sign', () => {
    const alices = crank(defundOf(alice), alice.signer, signed).objective.final
    const bobs = receive(defundOf(bob), alices)
    expect(signersOf(bobs.final)).toEqual([alice.address, null, null])
    const waiting = crank(bobs, bob.signer, unsignedBase)
    expect(waiting.effects).toEqual([])
    expect(signersOf(waiting.objective.final)).toEqual([alice.address, null, null])
  })

  test('merging every peer\'s signature gives the state signed by all, whatever the order; a repeat is a no-op', () => {
    const mine = crank(defundOf(carol), carol.signer, signed).objective
    const fromAlice = signedBy(FINAL, alice)
    const fromBob = signedBy(FINAL, bob)
    const ab = receive(receive(mine, fromAlice), fromBob)
    const ba = receive(receive(mine, fromBob), fromAlice)
    expect(signersOf(ab.final)).toEqual([alice.address, bob.address, carol.address])
    expect(ba.final).toEqual(ab.final)
    expect(receive(ab, fromAlice)).toEqual(ab)
  })

  test('signatures already merged before my crank go out with mine in one step', () => {
    const o = receive(receive(defundOf(alice, { funding: 'none' }), signedBy(FINAL, bob)), signedBy(FINAL, carol))
    const done = crank(o, alice.signer, signed)
    expect(signersOf(done.objective.final)).toEqual([alice.address, bob.address, carol.address])
    expect(done.effects).toEqual([sendTo(bob, o, done.objective.final), sendTo(carol, o, done.objective.final)])
    expect(done.objective.status).toBe('completed')
  })

  const forgedAt = (index: number, by: Actor): SignedState => {
    const signatures: (Signature | null)[] = [null, null, null]
    signatures[index] = signedBy(FINAL, by).signatures[three.indexOf(by)]!
    return { state: FINAL, signatures }
  }
  test.each([
    { name: 'the base turn signed again', code: 'unexpected_state', make: () => signedBy(BASE, alice) },
    { name: 'a later turn', code: 'unexpected_state', make: () => signedBy({ ...FINAL, turnNum: 7n }, alice) },
    { name: 'another outcome', code: 'unexpected_state', make: () => signedBy(appState(three, [0n, 7n, 3n], 6n, true), alice) },
    { name: 'the state not final', code: 'unexpected_state', make: () => signedBy({ ...FINAL, isFinal: false }, alice) },
    { name: 'alice\'s signature at bob\'s index', code: 'unexpected_state', make: () => forgedAt(1, alice) },
    { name: 'a signature by someone outside the channel', code: 'not_a_participant', make: () => ({ state: FINAL, signatures: [irene.signer.signHash(hashState(FINAL)), null, null] }) },
  ])('refuses $name ($code)', ({ make, code }) => {
    const mine = crank(defundOf(carol), carol.signer, signed).objective
    const peer = make()
    expect(codeOf(() => receive(mine, peer))).toBe(code)
  })

  test.each([
    { name: 'another participant\'s key', signer: alice },
    { name: 'a key outside the channel', signer: irene },
  ])('cranking with $name trips the assertion', ({ signer }) => {
    expect(codeOf(() => crank(defundOf(bob), signer.signer, signed))).toBe('invariant')
  })

  test('an unapproved objective waits for approval and signs nothing; a finished one asks for nothing', () => {
    const unapproved = crank(defundOf(bob, { status: 'unapproved' }), bob.signer, signed)
    expect(unapproved.waitingFor).toBe('approval')
    expect(unapproved.effects).toEqual([])
    const completed = crank(defundOf(bob, { status: 'completed' }), bob.signer, signed)
    expect(completed.waitingFor).toBe('nothing')
    expect(completed.effects).toEqual([])
  })
})

describe("funding 'none'", () => {
  test('completes only once the concluding state is signed by all', () => {
    const partly = receive(crank(defundOf(bob), bob.signer, signed).objective, signedBy(FINAL, alice))
    expect(crank(partly, bob.signer, signed)).toMatchObject({ waitingFor: 'finalState', effects: [] })
    expect(partly.status).toBe('approved')
    for (const [i, o] of fullySigned(three, 'none', BASE).entries()) {
      const done = crank(o, three[i]!.signer, signed)
      expect(done.effects).toEqual([])
      expect(done.waitingFor).toBe('nothing')
      expect(done.objective.status).toBe('completed')
    }
  })
})

describe("funding 'direct'", () => {
  test('alice alone submits concludeAndWithdraw, once, with the state signed by all', () => {
    const results = fullySigned(three, 'direct', BASE).map((o, i) => crank(o, three[i]!.signer, signed))
    const [a, b, c] = results
    expect(a!.effects).toEqual([{ kind: 'submit', tx: { kind: 'concludeAndWithdraw', signedState: a!.objective.final } }])
    expect(signersOf(a!.objective.final)).toEqual([alice.address, bob.address, carol.address])
    expect(a!.objective.final.state).toEqual(FINAL)
    expect(b!.effects).toEqual([])
    expect(c!.effects).toEqual([])
    for (const r of results) expect(r.waitingFor).toBe('withdraw')
    expect(crank(a!.objective, alice.signer, signed).effects).toEqual([])
  })

  test('nobody withdraws before the state is signed by all', () => {
    const partly = receive(crank(defundOf(alice, { funding: 'direct' }), alice.signer, signed).objective, signedBy(FINAL, bob))
    const waiting = crank(partly, alice.signer, signed)
    expect(waiting.effects).toEqual([])
    expect(waiting.waitingFor).toBe('finalState')
  })

  test('everyone completes when the chain reports the channel concluded, not on holdings of 0 alone', () => {
    const withdrawing = fullySigned(three, 'direct', BASE).map((o, i) => crank(o, three[i]!.signer, signed).objective)
    for (const [i, o] of withdrawing.entries()) {
      // Holdings of 0 are what a node reads before it saw any deposit: not a payout.
      expect(crank(update(o, { kind: 'holdings', amount: 0n }), three[i]!.signer, signed).waitingFor).toBe('withdraw')
      const done = crank(update(o, { kind: 'concluded' }), three[i]!.signer, signed)
      expect(done.effects).toEqual([])
      expect(done.waitingFor).toBe('nothing')
      expect(done.objective.status).toBe('completed')
    }
  })

  test('a late withdraw failure changes nothing once completed', () => {
    const done = crank(update(fullySigned(three, 'direct', BASE)[0]!, { kind: 'concluded' }), alice.signer, signed).objective
    expect(done.status).toBe('completed')
    let o = done
    for (let i = 0; i < MAX_APP_WITHDRAW_ATTEMPTS; i++) o = update(o, { kind: 'withdrawFailed', code: 'chain_reverted', summary: 'late' })
    expect(o).toEqual(done)
  })

  test(`a withdraw refused ${MAX_APP_WITHDRAW_ATTEMPTS} times fails the objective; before that alice submits again`, () => {
    expect(MAX_APP_WITHDRAW_ATTEMPTS).toBe(3)
    const failedOnce = (o: AppDefund, summary = 'reverted') => update(o, { kind: 'withdrawFailed', code: 'withdraw_refused', summary })
    const first = crank(fullySigned(three, 'direct', BASE)[0]!, alice.signer, signed)
    const submit: Effect = { kind: 'submit', tx: { kind: 'concludeAndWithdraw', signedState: first.objective.final } }
    expect(first.effects).toEqual([submit])

    const once = failedOnce(first.objective)
    expect(once).toMatchObject({ status: 'approved', failure: null, withdrawSubmitted: false, withdrawFailures: 1 })
    const second = crank(once, alice.signer, signed)
    expect(second.effects).toEqual([submit])
    const third = crank(failedOnce(second.objective), alice.signer, signed)
    expect(third.effects).toEqual([submit])

    const failed = failedOnce(third.objective, 'out of gas')
    expect(failed.status).toBe('failed')
    expect(failed.failure).toEqual({ code: 'withdraw_refused', summary: 'withdraw failed: out of gas' })
    const after = crank(failed, alice.signer, signed)
    expect(after.effects).toEqual([])
    expect(after.waitingFor).toBe('nothing')
  })
})

describe("funding 'ledger', alice 9 and bob 2 at the end", () => {
  // The guarantee holds what alice and bob locked; alice's final 9 returns to her (left) balance.
  const release = { kind: 'remove', target: LEDGER_ID.toLowerCase(), leftAmount: 9n }

  test('releaseProposal returns participant 0\'s final amount to the left', () => {
    expect(releaseProposal({ channelId: LEDGER_ID, final: unsigned(appState(two, [9n, 2n], 6n, true)) })).toEqual({ ...release, target: LEDGER_ID })
    expect(releaseProposal({ channelId: LEDGER_ID, final: unsigned(appState(two, [0n, 11n], 6n, true)) }).leftAmount).toBe(0n)
  })

  test.each([
    { me: 0, counterparty: bob },
    { me: 1, counterparty: alice },
  ])('participant $me asks its ledger with $counterparty.name to release the guarantee, once', ({ me, counterparty }) => {
    const o = fullySigned(two, 'ledger', LEDGER_BASE)[me]!
    const first = crank(o, two[me]!.signer, ledgerView(true))
    expect(first.effects).toEqual([{ kind: 'updateLedger', counterparty: counterparty.address, proposal: release }])
    expect(first.waitingFor).toBe('release')
    const again = crank(first.objective, two[me]!.signer, ledgerView(true))
    expect(again.effects).toEqual([])
    expect(again.waitingFor).toBe('release')
  })

  test('nothing is released before the state is signed by all', () => {
    const mine = crank(defundOf(alice, { funding: 'ledger', base: LEDGER_BASE }), alice.signer, ledgerView(true))
    expect(mine.effects.map((e) => e.kind)).toEqual(['send'])
    expect(mine.waitingFor).toBe('finalState')
  })

  test('completes when the guarantee is gone after the release was requested, not before', () => {
    const o = fullySigned(two, 'ledger', LEDGER_BASE)[0]!
    // The guarantee already gone (or never there) does not skip asking for the release.
    const first = crank(o, alice.signer, ledgerView(false))
    expect(first.effects).toEqual([{ kind: 'updateLedger', counterparty: bob.address, proposal: release }])
    expect(first.objective.status).toBe('approved')
    const done = crank(first.objective, alice.signer, ledgerView(false))
    expect(done.effects).toEqual([])
    expect(done.waitingFor).toBe('nothing')
    expect(done.objective.status).toBe('completed')
  })

  test('fails with the ledger\'s failure', () => {
    const failure: Failure = { code: 'ledger_closed', summary: 'the ledger with bob is closing' }
    const requested = crank(fullySigned(two, 'ledger', LEDGER_BASE)[0]!, alice.signer, ledgerView(true)).objective
    const failed = crank(requested, alice.signer, ledgerView(true, failure))
    expect(failed.effects).toEqual([])
    expect(failed.waitingFor).toBe('nothing')
    expect(failed.objective).toMatchObject({ status: 'failed', failure })
  })

  test('cranked without its ledger view once signed by all, it trips the assertion', () => {
    const o = fullySigned(two, 'ledger', LEDGER_BASE)[0]!
    expect(codeOf(() => crank(o, alice.signer, signed))).toBe('invariant')
  })
})
