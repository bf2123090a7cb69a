// AppDispute (appDispute.ts, issue 7): alice settles a two-party app channel at turn 4 (outcome 7, 3) without
// bob. Each crank is checked for the one transaction it may ask for: the challenge (with her challenge
// signature, recovered here with the core), then nothing until the chain reports the challenge and its
// finalizesAt passes on her clock, then transferAllAssets with the candidate's outcome and hash; refused
// transactions are retried with a doubling delay, up to MAX_DISPUTE_FAILURES (an answer to an older challenge: while
// it can land before that challenge finalizes); a later state registered by
// someone else supersedes hers; another state of her turn registered on chain fails it as conflicting_challenge;
// she is done when the chain reports the holdings paid out.
import { describe, expect, test } from 'vitest'
import type { Address, Bytes32, Hex } from '../../core/types.js'
import type { State, VariablePart } from '../../core/state.js'
import { channelId } from '../../core/channelId.js'
import { fixedPart, variablePart } from '../../core/state.js'
import { hashState } from '../../core/hashState.js'
import { hashChallenge } from '../../core/signState.js'
import { recoverHashSigner } from '../../core/signatures.js'
import { signBy, unsigned } from '../../core/signedState.js'
import type { AppDispute } from './appDispute.js'
import { MAX_DISPUTE_FAILURES, appDisputeId, claimOf, crank, isDue, newAppDispute, registeredStateHash, retryDelayMs, update } from './appDispute.js'
import { CONSENSUS_APP, ETH, alice, bob } from './testApps.js'
import { toBytes32 } from '../../core/canonical.js'
import { AllocationType } from '../../core/outcome.js'
import type { Exit } from '../../core/outcome.js'
import { encodeGuaranteeMetadata } from '../../core/guarantee.js'
import type { TargetsView } from './appDispute.js'

const destinationOf = (a: Address): Bytes32 => toBytes32(`0x${'0'.repeat(24)}${a.slice(2)}`)
const STATE: State = {
  participants: [alice.address, bob.address],
  channelNonce: 3n,
  appDefinition: CONSENSUS_APP,
  challengeDuration: 100,
  outcome: [{ asset: ETH, assetMetadata: { assetType: 0, metadata: '0x' }, allocations: [alice, bob].map((a, i) => ({ destination: destinationOf(a.address), amount: [7n, 3n][i]!, allocationType: 0, metadata: '0x' as Hex })) }],
  appData: `0x${'cd'.repeat(96)}`,
  turnNum: 4n,
  isFinal: false,
}
const ID = channelId(fixedPart(STATE))
const SIGNED = signBy(signBy(unsigned(STATE), alice.signer), bob.signer)
const NOW = 1_800_000_000_000 // ms
const FINALIZES_AT = 1_800_000_100n // s
const NOW_SEC = BigInt(NOW / 1000)

const make = (deadline?: bigint) => newAppDispute({ channelId: ID, claim: claimOf(SIGNED), holdings: 10n, signer: alice.signer, ...(deadline === undefined ? {} : { deadline }) })
const fresh = () => make()
/** Started from someone else's registration (the engine hands it over at once). */
const following = (registered?: VariablePart) => update(fresh(), { kind: 'challenged', turnNumRecord: 4n, finalizesAt: FINALIZES_AT, ...(registered ? { registered } : {}) })
const submitted = () => crank(fresh(), NOW).objective
const registered = () => update(submitted(), { kind: 'challenged', turnNumRecord: 4n, finalizesAt: FINALIZES_AT })

describe('AppDispute', () => {
  test('challenges once, with a challenge signature of hers on the candidate', () => {
    const o = fresh()
    expect(o.id).toBe(appDisputeId(ID))
    expect(recoverHashSigner(hashChallenge(hashState(STATE)), o.challengerSignature)).toBe(alice.address)
    const first = crank(o, NOW)
    expect(first.effects).toEqual([{ kind: 'submit', tx: { kind: 'challenge', candidate: SIGNED, challengerSignature: o.challengerSignature } }])
    expect(first.waitingFor).toBe('challenge')
    expect(crank(first.objective, NOW + 1).effects).toEqual([])
  })

  test('pays out only once the registered challenge finalized on her clock, then waits for the chain', () => {
    const o = registered()
    const early = crank(o, Number(FINALIZES_AT) * 1000 - 1)
    expect(early.effects).toEqual([])
    expect(early.waitingFor).toBe('finalization')
    expect(isDue(o, Number(FINALIZES_AT) * 1000 - 1)).toBe(false)
    expect(isDue(o, Number(FINALIZES_AT) * 1000)).toBe(true)
    const due = crank(o, Number(FINALIZES_AT) * 1000)
    expect(due.effects).toEqual([{ kind: 'submit', tx: { kind: 'transferAllAssets', channelId: ID.toLowerCase(), outcome: STATE.outcome, stateHash: hashState(STATE) } }])
    expect(due.waitingFor).toBe('payout')
    const paid = crank(update(due.objective, { kind: 'holdings', amount: 0n }), Number(FINALIZES_AT) * 1000)
    expect(paid.objective.status).toBe('completed')
    expect(paid.effects).toEqual([])
  })

  test('holdings of 0 before the challenge is registered are not a payout', () => {
    const o = update(submitted(), { kind: 'holdings', amount: 0n })
    expect(crank(o, NOW).objective.status).toBe('approved')
  })

  test('a refused transaction is retried after a delay that doubles up to a minute; the limit fails it; a late report changes nothing', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50].map(retryDelayMs)).toEqual([2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000])
    let o: AppDispute = registered()
    let at = Number(FINALIZES_AT) * 1000
    o = crank(o, at).objective
    for (let i = 1; i < MAX_DISPUTE_FAILURES; i++) {
      o = update(o, { kind: 'txFailed', code: 'chain_reverted', summary: 'Channel not finalized.', now: at })
      expect(o.status).toBe('approved')
      expect(crank(o, at + retryDelayMs(i) - 1).effects).toEqual([])
      at += retryDelayMs(i)
      const retried = crank(o, at)
      expect(retried.effects).toHaveLength(1)
      o = retried.objective
    }
    const failed = update(o, { kind: 'txFailed', code: 'chain_reverted', summary: 'Channel not finalized.', now: at })
    expect(failed).toMatchObject({ status: 'failed', failure: { code: 'chain_reverted', summary: `dispute failed after ${MAX_DISPUTE_FAILURES} refusals: Channel not finalized.` } })
    expect(update(failed, { kind: 'txFailed', code: 'other', summary: 'late', now: at })).toEqual(failed)
  })

  test('an answer to an older challenge is retried while it can land before that challenge finalizes, then fails loudly', () => {
    const deadline = NOW_SEC + 60n // the stale challenge finalizes a minute from now
    let o: AppDispute = make(deadline)
    let at = Number(NOW_SEC) * 1000
    o = crank(o, at).objective
    expect(o.challengeSubmitted).toBe(true)
    let refusals = 0
    while (o.status === 'approved') {
      o = update(o, { kind: 'txFailed', code: 'chain_unavailable', summary: '503 Service Unavailable', now: at })
      refusals++
      if (o.status !== 'approved') break
      expect(o.retryAt).toBeLessThan(Number(deadline) * 1000)
      at = o.retryAt
      o = crank(o, at).objective
      expect(o.challengeSubmitted).toBe(true)
    }
    // 2 + 4 + 8 + 16 s of retries fit in the minute; the next wait (32 s) would end after the deadline.
    expect(refusals).toBe(5)
    expect(o).toMatchObject({ status: 'failed', failure: { code: 'answer_too_late' } })
    expect(o.failure!.summary).toMatch(/can no longer land before it: 503 Service Unavailable/)
  })

  test('a later state registered by someone else supersedes hers', () => {
    const o = update(submitted(), { kind: 'challenged', turnNumRecord: 5n, finalizesAt: FINALIZES_AT })
    expect(o).toMatchObject({ status: 'failed', failure: { code: 'superseded' } })
  })

  test('started from someone else\'s challenge with her latest turn: no challenge of her own, only the payout', () => {
    const o = following()
    expect(crank(o, NOW).effects).toEqual([])
    expect(crank(o, Number(FINALIZES_AT) * 1000).effects.map((e) => e.kind === 'submit' && e.tx.kind)).toEqual(['transferAllAssets'])
  })

  // Another state of her candidate's turn on chain (the registered state compared by hash, not only by turn):
  // signed by all, hers included, so her key signed two states of one turn; the chain keeps a challenge
  // until a later turn, which she does not hold signed by all. She reports it and pays nothing out.
  const other = { ...variablePart(STATE), appData: `0x${'ef'.repeat(96)}` as Hex }
  test.each([
    { name: 'reported for her own challenge', make: () => update(submitted(), { kind: 'challenged', turnNumRecord: 4n, finalizesAt: FINALIZES_AT, registered: other }) },
    { name: 'starting from someone else\'s challenge', make: () => following(other) },
  ])('another state of her turn registered on chain, $name: failed as conflicting_challenge, nothing submitted', ({ make }) => {
    const o = make()
    expect(o).toMatchObject({ status: 'failed', failure: { code: 'conflicting_challenge' } })
    expect(o.failure!.summary).toContain(hashState({ ...STATE, ...other }))
    const cranked = crank(o, Number(FINALIZES_AT) * 1000)
    expect(cranked.effects).toEqual([])
    expect(cranked.waitingFor).toBe('nothing')
  })

  test('her own state reported with the challenge is hers: the payout follows', () => {
    const o = update(submitted(), { kind: 'challenged', turnNumRecord: 4n, finalizesAt: FINALIZES_AT, registered: variablePart(STATE) })
    expect(o).toEqual(registered())
    const started = following(variablePart(STATE))
    expect(started.status).toBe('approved')
    expect(crank(started, Number(FINALIZES_AT) * 1000).effects.map((e) => e.kind === 'submit' && e.tx.kind)).toEqual(['transferAllAssets'])
  })

  test('a state not signed by all cannot be disputed through the consensus app', () => {
    expect(() => newAppDispute({ channelId: ID, claim: claimOf(signBy(unsigned(STATE), alice.signer)), holdings: 10n, signer: alice.signer })).toThrow(/signed by all/)
  })

  test('a later state registered by someone else, reported by the chain, is followed: its outcome is paid out under its hash', () => {
    const later = { ...variablePart(STATE), turnNum: 6n, outcome: [{ ...STATE.outcome[0]!, allocations: STATE.outcome[0]!.allocations.map((a, i) => ({ ...a, amount: [2n, 8n][i]! })) }] }
    const o = update(submitted(), { kind: 'challenged', turnNumRecord: 6n, finalizesAt: FINALIZES_AT, registered: later })
    expect(o.status).toBe('approved')
    expect(crank(o, NOW).effects).toEqual([])
    const due = crank(o, Number(FINALIZES_AT) * 1000)
    expect(due.effects).toEqual([{ kind: 'submit', tx: { kind: 'transferAllAssets', channelId: ID, outcome: later.outcome, stateHash: hashState({ ...STATE, ...later }) } }])
    // an older challenge after it changes nothing
    expect(update(o, { kind: 'challenged', turnNumRecord: 5n, finalizesAt: FINALIZES_AT, registered: { ...later, turnNum: 5n } })).toEqual(o)
  })

  test('a claim with a proof (the payee\'s redemption) is registered with it', () => {
    const redemption = signBy(unsigned({ ...STATE, turnNum: 5n }), bob.signer)
    const o = newAppDispute({ channelId: ID, claim: { candidate: redemption, proof: [SIGNED], register: 'challenge' }, holdings: 0n, signer: bob.signer })
    const first = crank(o, NOW)
    expect(first.effects).toEqual([{ kind: 'submit', tx: { kind: 'challenge', candidate: redemption, proof: [SIGNED], challengerSignature: o.challengerSignature } }])
    // it holds nothing on chain (its money is in a ledger's guarantee): done once it finalized
    const registeredAt = update(first.objective, { kind: 'challenged', turnNumRecord: 5n, finalizesAt: FINALIZES_AT, registered: variablePart(redemption.state) })
    expect(crank(registeredAt, Number(FINALIZES_AT) * 1000 - 1).objective.status).toBe('approved')
    const done = crank(registeredAt, Number(FINALIZES_AT) * 1000)
    expect(done.objective.status).toBe('completed')
    expect(done.effects).toEqual([])
  })

  test('a final state signed by all is concluded, which no challenge overrides; a conclusion with a state it does not know fails it', () => {
    const final = signBy(signBy(unsigned({ ...STATE, turnNum: 5n, isFinal: true }), alice.signer), bob.signer)
    const o = newAppDispute({ channelId: ID, claim: { candidate: final, proof: [], register: 'conclude' }, holdings: 10n, signer: alice.signer })
    const first = crank(o, NOW)
    expect(first.effects).toEqual([{ kind: 'submit', tx: { kind: 'conclude', signedState: final } }])
    expect(update(first.objective, { kind: 'challenged', turnNumRecord: 9n, finalizesAt: FINALIZES_AT })).toEqual(first.objective)
    // The adjudicator records a concluded channel with the zero state hash: the payout names that one.
    const ZERO = toBytes32(`0x${'00'.repeat(32)}`)
    const concluded = update(first.objective, { kind: 'concluded', finalizesAt: NOW_SEC })
    expect(registeredStateHash(concluded)).toBe(ZERO)
    expect(crank(concluded, NOW).effects).toEqual([{ kind: 'submit', tx: { kind: 'transferAllAssets', channelId: ID, outcome: final.state.outcome, stateHash: ZERO } }])
    expect(update(submitted(), { kind: 'concluded', finalizesAt: NOW_SEC })).toMatchObject({ status: 'failed', failure: { code: 'concluded' } })
    const known = update(submitted(), { kind: 'concluded', finalizesAt: NOW_SEC, state: final.state })
    expect(crank(known, NOW).effects).toEqual([{ kind: 'submit', tx: { kind: 'transferAllAssets', channelId: ID, outcome: final.state.outcome, stateHash: ZERO } }])
    expect(registeredStateHash(registered())).toBe(hashState(STATE)) // a challenge records the state's hash
  })

  describe('a ledger that guarantees a channel', () => {
    const TARGET = toBytes32(`0x${'7a'.repeat(32)}`)
    const [toAlice, toBob] = STATE.outcome[0]!.allocations
    const guarantee = { destination: TARGET, amount: 4n, allocationType: AllocationType.guarantee, metadata: encodeGuaranteeMetadata({ left: toAlice!.destination, right: toBob!.destination }) }
    const ledgerOutcome: Exit = [{ ...STATE.outcome[0]!, allocations: [{ ...toAlice!, amount: 3n }, { ...toBob!, amount: 3n }, guarantee] }]
    const LEDGER = signBy(signBy(unsigned({ ...STATE, outcome: ledgerOutcome }), alice.signer), bob.signer)
    const target: State = { ...STATE, channelNonce: 99n, outcome: [{ ...STATE.outcome[0]!, allocations: [{ ...toAlice!, amount: 1n }, { ...toBob!, amount: 3n }] }] }
    const TARGET_FINAL = FINALIZES_AT + 50n
    const view: TargetsView = (id) => (id === TARGET ? { state: target, stateHash: hashState(target), finalizesAt: TARGET_FINAL } : undefined)
    const finalized = () => {
      const o = newAppDispute({ channelId: ID, claim: claimOf(LEDGER), holdings: 10n, signer: alice.signer })
      return update(crank(o, NOW).objective, { kind: 'challenged', turnNumRecord: 4n, finalizesAt: FINALIZES_AT })
    }

    test('is paid out only after the guarantee is reclaimed, once the channel it funds finalized; then with the outcome the chain reports', () => {
      const at = Number(FINALIZES_AT) * 1000
      const unknown = crank(finalized(), at)
      expect(unknown.waitingFor).toBe('target')
      expect(unknown.effects).toEqual([])
      expect(isDue(finalized(), Number(TARGET_FINAL) * 1000, view)).toBe(true)
      expect(isDue(finalized(), Number(TARGET_FINAL) * 1000 - 1, view)).toBe(false)
      expect(crank(finalized(), Number(TARGET_FINAL) * 1000 - 1, view).waitingFor).toBe('target')
      const reclaim = crank(finalized(), Number(TARGET_FINAL) * 1000, view)
      expect(reclaim.waitingFor).toBe('reclaim')
      expect(reclaim.effects).toEqual([{ kind: 'submit', tx: {
        kind: 'reclaim', sourceChannelId: ID, sourceStateHash: hashState(LEDGER.state), sourceOutcome: ledgerOutcome, sourceAssetIndex: 0n, indexOfTargetInSource: 2n,
        targetStateHash: hashState(target), targetOutcome: target.outcome, targetAssetIndex: 0n,
      } }])
      expect(crank(reclaim.objective, Number(TARGET_FINAL) * 1000, view).effects).toEqual([])
      // refused (someone reclaimed first, or an outage): tried again after the delay
      const refused = update(reclaim.objective, { kind: 'txFailed', code: 'chain_unavailable', summary: 'down', now: Number(TARGET_FINAL) * 1000 })
      expect(crank(refused, refused.retryAt - 1, view).effects).toEqual([])
      expect(crank(refused, refused.retryAt, view).effects.map((e) => e.kind === 'submit' && e.tx.kind)).toEqual(['reclaim'])
      const reclaimed: Exit = [{ ...ledgerOutcome[0]!, allocations: [{ ...toAlice!, amount: 4n }, { ...toBob!, amount: 6n }] }]
      const paid = crank(update(reclaim.objective, { kind: 'reclaimed', outcome: reclaimed }), Number(TARGET_FINAL) * 1000, view)
      expect(paid.effects).toEqual([{ kind: 'submit', tx: { kind: 'transferAllAssets', channelId: ID, outcome: reclaimed, stateHash: hashState(LEDGER.state) } }])
    })
  })
})
