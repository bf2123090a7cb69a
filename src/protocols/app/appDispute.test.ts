// AppDispute (appDispute.ts, issue 7): alice settles a two-party app channel at turn 4 (outcome 7, 3) without
// bob. Each crank is checked for the one transaction it may ask for: the challenge (with her challenge
// signature, recovered here with the core), then nothing until the chain reports the challenge and its
// finalizesAt passes on her clock, then transferAllAssets with the candidate's outcome and hash; refused
// transactions are retried after DISPUTE_RETRY_MS, up to MAX_DISPUTE_FAILURES; a later state registered by
// someone else supersedes hers; another state of her turn registered on chain fails it as conflicting_challenge;
// she is done when the chain reports the holdings paid out.
import { describe, expect, test } from 'vitest'
import type { Address, Bytes32, Hex } from '../../core/types.js'
import type { State } from '../../core/state.js'
import { channelId } from '../../core/channelId.js'
import { fixedPart, variablePart } from '../../core/state.js'
import { hashState } from '../../core/hashState.js'
import { hashChallenge } from '../../core/signState.js'
import { recoverHashSigner } from '../../core/signatures.js'
import { signBy, unsigned } from '../../core/signedState.js'
import type { AppDispute } from './appDispute.js'
import { DISPUTE_RETRY_MS, MAX_DISPUTE_FAILURES, appDisputeId, crank, isDue, newAppDispute, update } from './appDispute.js'
import { CONSENSUS_APP, ETH, alice, bob } from './testApps.js'
import { toBytes32 } from '../../core/canonical.js'

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

const fresh = () => newAppDispute(ID, SIGNED, 10n, alice.signer)
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

  test('a refused transaction is retried after the retry delay; the limit fails it; a late report changes nothing', () => {
    let o: AppDispute = registered()
    const at = Number(FINALIZES_AT) * 1000
    o = crank(o, at).objective
    for (let i = 1; i < MAX_DISPUTE_FAILURES; i++) {
      o = update(o, { kind: 'txFailed', code: 'chain_reverted', summary: 'Channel not finalized.', now: at })
      expect(o.status).toBe('approved')
      expect(crank(o, at + DISPUTE_RETRY_MS - 1).effects).toEqual([])
      const retried = crank(o, at + DISPUTE_RETRY_MS)
      expect(retried.effects).toHaveLength(1)
      o = retried.objective
    }
    const failed = update(o, { kind: 'txFailed', code: 'chain_reverted', summary: 'Channel not finalized.', now: at })
    expect(failed).toMatchObject({ status: 'failed', failure: { code: 'chain_reverted', summary: 'dispute failed: Channel not finalized.' } })
    expect(update(failed, { kind: 'txFailed', code: 'other', summary: 'late', now: at })).toEqual(failed)
  })

  test('a later state registered by someone else supersedes hers', () => {
    const o = update(submitted(), { kind: 'challenged', turnNumRecord: 5n, finalizesAt: FINALIZES_AT })
    expect(o).toMatchObject({ status: 'failed', failure: { code: 'superseded' } })
  })

  test('started from someone else\'s challenge with her latest turn: no challenge of her own, only the payout', () => {
    const o = newAppDispute(ID, SIGNED, 10n, alice.signer, { finalizesAt: FINALIZES_AT })
    expect(crank(o, NOW).effects).toEqual([])
    expect(crank(o, Number(FINALIZES_AT) * 1000).effects.map((e) => e.kind === 'submit' && e.tx.kind)).toEqual(['transferAllAssets'])
  })

  // Another state of her candidate's turn on chain (the registered state compared by hash, not only by turn):
  // signed by all, hers included, so her key signed two states of one turn; the chain keeps a challenge
  // until a later turn, which she does not hold signed by all. She reports it and pays nothing out.
  const other = { ...variablePart(STATE), appData: `0x${'ef'.repeat(96)}` as Hex }
  test.each([
    { name: 'reported for her own challenge', make: () => update(submitted(), { kind: 'challenged', turnNumRecord: 4n, finalizesAt: FINALIZES_AT, registered: other }) },
    { name: 'starting from someone else\'s challenge', make: () => newAppDispute(ID, SIGNED, 10n, alice.signer, { finalizesAt: FINALIZES_AT, state: other }) },
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
    const started = newAppDispute(ID, SIGNED, 10n, alice.signer, { finalizesAt: FINALIZES_AT, state: variablePart(STATE) })
    expect(started.status).toBe('approved')
    expect(crank(started, Number(FINALIZES_AT) * 1000).effects.map((e) => e.kind === 'submit' && e.tx.kind)).toEqual(['transferAllAssets'])
  })

  test('a state not signed by all cannot be disputed through the consensus app', () => {
    expect(() => newAppDispute(ID, signBy(unsigned(STATE), alice.signer), 10n, alice.signer)).toThrow(/signed by all/)
  })
})
