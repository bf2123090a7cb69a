// The hand-over format: what a node writes decodes to the same entries; anything a watchtower should not
// hold is refused whole with a code naming why; hostile JSON never escapes as an untyped error.
import { describe, expect, test } from 'vitest'
import type { SignedState } from '../core/signedState.js'
import type { Signature } from '../core/types.js'
import { RejectedInputError } from '../core/errors.js'
import { signState } from '../core/signState.js'
import { hostileValues } from '../../test/hostile.js'
import { highS } from '../../test/adversary/harness.js'
import type { Handover, HandoverEntry } from './handover.js'
import { HANDOVER_FORMAT, decodeHandover, encodeHandover, watchtowerEntry } from './handover.js'
import { signedStateFromJson, signedStateToJson } from './signedStateJson.js'
import { MAX_HANDOVER_BYTES } from './limits.js'
import { alice, bob, handoverOf, irene, ledgerState, paymentPostfund, redemption, signedBy } from './testHandover.js'

const ledger = watchtowerEntry(signedBy(ledgerState(3n), [alice, bob]))
const postfund = signedBy(paymentPostfund(), [alice, irene, bob])
const redeemed = watchtowerEntry(signedBy(redemption(postfund.state, 3n), [bob]), [postfund])

/** The JSON document of a hand-over, to edit as a hostile writer would. */
function documentOf(h: Handover): Record<string, any> {
  return JSON.parse(encodeHandover(h)) as Record<string, any>
}

/** The code decodeHandover refuses `doc` with (fails if it decodes). */
function refusal(doc: unknown): string {
  try {
    decodeHandover(typeof doc === 'string' ? doc : JSON.stringify(doc))
  } catch (error) {
    if (error instanceof RejectedInputError) return error.code
    throw error
  }
  return expect.fail('decoded')
}

/** An entry as written without the checks encodeHandover runs (a hostile or buggy writer). */
function rawEntry(candidate: SignedState, proof: readonly SignedState[] = [], channelId = ledger.channelId) {
  return { channelId, candidate: signedStateToJson(candidate), proof: proof.map(signedStateToJson) }
}

function withEntries(...channels: unknown[]): Record<string, unknown> {
  return { ...documentOf(handoverOf([])), channels }
}

describe('round trip', () => {
  test.each<[string, HandoverEntry[]]>([
    ['a ledger\'s supported state (signed by both, no proof)', [ledger]],
    ['a payment channel\'s redemption with its postfund', [redeemed]],
    ['a payment channel\'s postfund alone (signed by all)', [watchtowerEntry(postfund)]],
    ['several channels', [ledger, redeemed]],
    ['no channel', []],
  ])('%s', (_name, channels) => {
    const text = encodeHandover(handoverOf(channels))
    expect(JSON.parse(text).format).toBe(HANDOVER_FORMAT)
    expect(decodeHandover(text)).toEqual(handoverOf(channels))
    expect(decodeHandover(Buffer.from(text))).toEqual(handoverOf(channels))
  })

  test('amounts, nonces and turns are decimal strings', () => {
    const state = documentOf(handoverOf([ledger])).channels[0].candidate.state
    expect([state.channelNonce, state.turnNum, state.outcome[0].allocations[0].amount]).toEqual(['7', '3', '97'])
  })

  test('decoding canonicalises: lowercase addresses come out checksummed, uppercase hex lowercase', () => {
    const doc = documentOf(handoverOf([ledger]))
    const entry = doc.channels[0]
    entry.channelId = entry.channelId.toUpperCase().replace('0X', '0x')
    entry.candidate.state.participants = entry.candidate.state.participants.map((p: string) => p.toLowerCase())
    entry.candidate.state.outcome[0].allocations[0].destination = entry.candidate.state.outcome[0].allocations[0].destination.toUpperCase().replace('0X', '0x')
    entry.candidate.signatures = entry.candidate.signatures.map((s: string) => s.toUpperCase().replace('0X', '0x'))
    doc.adjudicator = doc.adjudicator.toLowerCase()
    expect(decodeHandover(JSON.stringify(doc))).toEqual(handoverOf([ledger]))
  })
})

describe('refused', () => {
  // Irene, who is not in the channel, signs the state; her signature goes in bob's slot.
  const forged: SignedState = { ...ledger.candidate, signatures: [ledger.candidate.signatures[0]!, signState(ledgerState(3n), irene.privateKey)] }
  const flipped = ((s: SignedState): SignedState => ({ ...s, signatures: [s.signatures[0]!, `${s.signatures[1]!.slice(0, 10)}${s.signatures[1]![10] === 'a' ? 'b' : 'a'}${s.signatures[1]!.slice(11)}` as Signature] }))(ledger.candidate)
  const onlyAlice = signedBy(ledgerState(3n), [alice])
  test.each<[string, () => unknown, string]>([
    ['a signature by a non-participant in a participant\'s slot', () => withEntries(rawEntry(forged)), 'invalid_signature'],
    ['a signature with one hex digit changed', () => withEntries(rawEntry(flipped)), 'invalid_signature'],
    ['alice\'s signature in bob\'s slot', () => withEntries(rawEntry({ ...ledger.candidate, signatures: [ledger.candidate.signatures[0]!, ledger.candidate.signatures[0]!] })), 'invalid_signature'],
    ['a high-s signature', () => withEntries(rawEntry({ ...ledger.candidate, signatures: [ledger.candidate.signatures[0]!, highS(ledger.candidate.signatures[1]!)] })), 'invalid_signature'],
    ['a ledger state signed by one of two, no proof', () => withEntries(rawEntry(onlyAlice)), 'unsupported_state'],
    ['a channel id that is not the states\' channel', () => withEntries(rawEntry(ledger.candidate, [], redeemed.channelId)), 'channel_id_mismatch'],
    ['a proof for a consensus-app channel', () => withEntries(rawEntry(signedBy(ledgerState(2n), [bob]), [signedBy(ledgerState(1n), [alice, bob])])), 'unsupported_state'],
    ['a payment channel state at turn 2 signed by all without proof', () => withEntries(rawEntry(signedBy(redemption(postfund.state, 3n), [alice, irene, bob]), [], redeemed.channelId)), 'unsupported_state'],
    ['a redemption signed by the payer, not the payee', () => withEntries(rawEntry(signedBy(redemption(postfund.state, 3n), [alice]), [postfund], redeemed.channelId)), 'unsupported_state'],
    ['a redemption whose proof is the prefund', () => withEntries(rawEntry(redeemed.candidate, [signedBy({ ...postfund.state, turnNum: 0n }, [alice, irene, bob])], redeemed.channelId)), 'unsupported_state'],
    ['a redemption whose postfund lacks a signature', () => withEntries(rawEntry(redeemed.candidate, [signedBy(postfund.state, [alice, bob])], redeemed.channelId)), 'unsupported_state'],
    ['a redemption of a voucher signed by the intermediary', () => withEntries(rawEntry(signedBy(redemption(postfund.state, 3n, { voucherBy: irene }), [bob]), [postfund], redeemed.channelId)), 'unsupported_state'],
    ['a redemption moving more than its voucher', () => withEntries(rawEntry(signedBy(redemption(postfund.state, 3n, { moved: 4n }), [bob]), [postfund], redeemed.channelId)), 'unsupported_state'],
    ['a redemption of more than the payer has', () => withEntries(rawEntry(signedBy(redemption(postfund.state, 11n, { moved: 10n }), [bob]), [postfund], redeemed.channelId)), 'unsupported_state'],
    ['a proof of another channel', () => withEntries(rawEntry(redeemed.candidate, [signedBy(paymentPostfund(10n), [alice, irene, bob])], redeemed.channelId)), 'unsupported_state'],
    ['a proof of two states', () => withEntries(rawEntry(redeemed.candidate, [postfund, postfund], redeemed.channelId)), 'codec'],
    ['one channel twice', () => withEntries(rawEntry(ledger.candidate), rawEntry(ledger.candidate)), 'codec'],
    ['another format', () => ({ ...documentOf(handoverOf([])), format: 'channels-watchtower/2' }), 'codec'],
    ['an unknown field', () => ({ ...documentOf(handoverOf([])), extra: 1 }), 'codec'],
    ['a missing field', () => { const { virtualPaymentApp: _, ...rest } = documentOf(handoverOf([])); return rest }, 'codec'],
    ['a chain id of 0', () => ({ ...documentOf(handoverOf([])), chainId: 0 }), 'codec'],
    ['an amount as a JSON number', () => { const d = documentOf(handoverOf([ledger])); d.channels[0].candidate.state.outcome[0].allocations[0].amount = 97; return d }, 'codec'],
    ['a turn of 2^48', () => { const d = documentOf(handoverOf([ledger])); d.channels[0].candidate.state.turnNum = (2n ** 48n).toString(); return d }, 'out_of_range'],
    ['a nonce with a leading zero', () => { const d = documentOf(handoverOf([ledger])); d.channels[0].candidate.state.channelNonce = '07'; return d }, 'codec'],
    ['one signature slot for two participants', () => { const d = documentOf(handoverOf([ledger])); d.channels[0].candidate.signatures.pop(); return d }, 'invalid_length'],
    ['an address with a bad checksum', () => ({ ...documentOf(handoverOf([])), adjudicator: '0xF5A1BB5607C9D079E46d1B3Dc33f257d937b43Bd' }), 'invalid_address'],
    ['not JSON', () => '{"format": "channels-watchtower/1",', 'codec'],
    ['JSON nested past the parser\'s limit', () => `${'['.repeat(100_000)}${']'.repeat(100_000)}`, 'codec'],
    ['a file over the size limit', () => ' '.repeat(MAX_HANDOVER_BYTES + 1), 'codec'],
  ])('%s → %s', (_name, doc, code) => {
    expect(refusal(doc())).toBe(code)
  })

  test('encodeHandover refuses what decodeHandover would (a node never writes a file a watchtower refuses)', () => {
    expect(() => encodeHandover(handoverOf([{ ...ledger, channelId: redeemed.channelId }]))).toThrow(expect.objectContaining({ code: 'channel_id_mismatch' }))
  })

  test('watchtowerEntry refuses a forged signature', () => {
    expect(() => watchtowerEntry({ ...ledger.candidate, signatures: [ledger.candidate.signatures[0]!, forged.signatures[1]!] })).toThrow(expect.objectContaining({ code: 'invalid_signature' }))
  })
})

describe('hostile values', () => {
  const doc = documentOf(handoverOf([ledger]))
  const paths: readonly (readonly (string | number)[])[] = [
    ['chainId'],
    ['adjudicator'],
    ['channels'],
    ['channels', 0],
    ['channels', 0, 'channelId'],
    ['channels', 0, 'proof'],
    ['channels', 0, 'candidate', 'signatures'],
    ['channels', 0, 'candidate', 'signatures', 1],
    ['channels', 0, 'candidate', 'state', 'participants', 0],
    ['channels', 0, 'candidate', 'state', 'channelNonce'],
    ['channels', 0, 'candidate', 'state', 'challengeDuration'],
    ['channels', 0, 'candidate', 'state', 'appData'],
    ['channels', 0, 'candidate', 'state', 'outcome', 0, 'allocations', 0, 'amount'],
    ['channels', 0, 'candidate', 'state', 'isFinal'],
  ]
  const PLACEHOLDER = '"hostile-value-here"'
  /** The document's JSON with `path` holding the placeholder, which each hostile value's JSON replaces. */
  const template = (path: readonly (string | number)[]) => {
    const copy = structuredClone(doc)
    let at = copy
    for (const key of path.slice(0, -1)) at = at[key]
    at[path[path.length - 1]!] = JSON.parse(PLACEHOLDER)
    return JSON.stringify(copy)
  }
  // Each value's JSON once (the 10^7-entry array is 50 MB of it); values JSON cannot write are no file.
  const fragments = hostileValues.flatMap(({ name, value }) => {
    try {
      const json = JSON.stringify(value)
      return json === undefined ? [] : [{ name, json }]
    } catch {
      return []
    }
  })

  test.each(paths.map((p) => [p.join('.'), p] as const))('at %s: a typed refusal for every hostile value JSON can carry', (joined, path) => {
    const [before, after] = template(path).split(PLACEHOLDER) as [string, string]
    for (const { name, json } of fragments) {
      let settled: unknown
      try {
        settled = decodeHandover(before + json + after)
      } catch (error) {
        settled = error
      }
      if (settled instanceof Error) expect(settled, `${joined} = ${name}`).toBeInstanceOf(RejectedInputError)
    }
  })

  test('signedStateFromJson on any hostile value: a typed refusal', () => {
    for (const { name, value } of hostileValues) {
      expect(() => signedStateFromJson(value, 'x'), name).toThrow(RejectedInputError)
    }
  })

  test('decodeHandover on values that are neither text nor bytes', () => {
    for (const value of [undefined, null, 1, {}, []]) expect(() => decodeHandover(value as never)).toThrow(RejectedInputError)
  })
})
