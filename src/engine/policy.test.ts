// The policy for what others start (policy.ts, ADR 0015): each rule a named case with its code.
import { describe, expect, test } from 'vitest'
import type { Address } from '../core/types.js'
import type { Commitment, PeerLoad, PeerPolicy } from './policy.js'
import { ACCEPT_ANY_PEER, REFUSE_UNSOLICITED, checkCommitment } from './policy.js'
import { MAX_OPENING_PER_PEER } from './limits.js'
import { toAddress } from '../core/canonical.js'

const ETH: Address = toAddress('0x0000000000000000000000000000000000000000')
const TOKEN: Address = toAddress('0x0000000000000000000000000000000000007777')
const bob: Address = toAddress('0x000000000000000000000000000000000000b0b0')
const mallory: Address = toAddress('0x0000000000000000000000000000000000000bad')

const policy: PeerPolicy = { peers: [bob], assets: [ETH], maxPerChannel: 100n, maxPerPeer: 150n, challengeDurationSec: { min: 60, max: 3600 } }
const ledger: Commitment = { from: bob, role: 'ledger', asset: ETH, amount: 100n, challengeDurationSec: 60, depositsFirst: false }
const idle: PeerLoad = { committed: 0n, opening: 0 }
const codeOf = (run: () => void): string | undefined => {
  try {
    run()
    return undefined
  } catch (error) {
    return (error as { code: string }).code
  }
}

describe('checkCommitment', () => {
  test.each<{ name: string; c: Commitment; load?: PeerLoad; p?: PeerPolicy; code: string | undefined }>([
    { name: 'a listed peer, within every bound', c: ledger, code: undefined },
    { name: 'a peer not on the list', c: { ...ledger, from: mallory }, code: 'peer_not_allowed' },
    { name: 'a stranger under the default policy, even with an absurd duration', c: { ...ledger, from: mallory, challengeDurationSec: 2 ** 47 }, p: REFUSE_UNSOLICITED, code: 'peer_not_allowed' },
    { name: 'a duration under the minimum', c: { ...ledger, challengeDurationSec: 59 }, code: 'challenge_duration_out_of_bounds' },
    { name: 'a duration over the maximum', c: { ...ledger, challengeDurationSec: 3601 }, code: 'challenge_duration_out_of_bounds' },
    { name: 'another asset', c: { ...ledger, asset: TOKEN }, code: 'asset_not_allowed' },
    { name: 'me first to deposit', c: { ...ledger, depositsFirst: true }, code: 'deposit_order' },
    { name: 'first to deposit nothing', c: { ...ledger, depositsFirst: true, amount: 0n }, code: undefined },
    { name: 'too many openings, from a stranger: refused for who it is, before its load is counted', c: { ...ledger, from: mallory }, load: { committed: 0n, opening: MAX_OPENING_PER_PEER }, code: 'peer_not_allowed' },
    { name: 'more than maxPerChannel', c: { ...ledger, amount: 101n }, code: 'over_channel_limit' },
    { name: 'over maxPerPeer with what is committed already', c: ledger, load: { committed: 51n, opening: 0 }, code: 'over_peer_limit' },
    { name: 'exactly maxPerPeer', c: ledger, load: { committed: 50n, opening: 0 }, code: undefined },
    { name: 'too many openings with this peer', c: ledger, load: { committed: 0n, opening: MAX_OPENING_PER_PEER }, code: 'too_many_opening' },
    { name: 'a payee: any peer, any amount, nothing committed', c: { ...ledger, from: mallory, role: 'payee', amount: 0n, asset: TOKEN }, code: undefined },
    { name: 'a payee still needs a sane duration', c: { ...ledger, from: mallory, role: 'payee', amount: 0n, challengeDurationSec: 1 }, code: 'challenge_duration_out_of_bounds' },
    { name: 'any peer, ETH only by default', c: { ...ledger, from: mallory, asset: TOKEN }, p: ACCEPT_ANY_PEER, code: 'asset_not_allowed' },
  ])('$name → $code', ({ c, load, p, code }) => {
    expect(codeOf(() => checkCommitment(p ?? policy, c, () => load ?? idle))).toBe(code)
  })
})

test('the peer\'s load is computed only once the cheap rules passed', () => {
  let asked = 0
  const load = () => {
    asked++
    return idle
  }
  expect(codeOf(() => checkCommitment(policy, { ...ledger, from: mallory }, load))).toBe('peer_not_allowed')
  expect(codeOf(() => checkCommitment(policy, { ...ledger, amount: 101n }, load))).toBe('over_channel_limit')
  expect(asked).toBe(0)
  expect(codeOf(() => checkCommitment(policy, ledger, load))).toBeUndefined()
  expect(asked).toBe(1)
})
