// DESIGN §3's conformance vector, byte for byte (vector file cites its source).
import { describe, expect, test } from 'vitest'
import { readFileSync } from 'node:fs'
import type { Hex } from 'viem'
import type { Address } from '../../src/core/types.js'
import { privateKeyToAccount } from 'viem/accounts'
import type { State } from '../../src/core/state.js'
import { channelId } from '../../src/core/channelId.js'
import { hashState } from '../../src/core/hashState.js'
import { recoverStateSigner, signState } from '../../src/core/signState.js'
import { encodeOutcome, decodeOutcome } from '../../src/core/outcome.js'
import { toAddress } from '../../src/core/canonical.js'

const vector = JSON.parse(readFileSync(new URL('./nitro-v2.json', import.meta.url), 'utf8'))
const v = vector.state
const state: State = {
  participants: v.participants as Address[],
  channelNonce: BigInt(v.channelNonce),
  appDefinition: v.appDefinition as Address,
  challengeDuration: v.challengeDuration,
  appData: v.appData as Hex,
  outcome: v.outcome.map((e: any) => ({
    asset: e.asset,
    assetMetadata: e.assetMetadata,
    allocations: e.allocations.map((a: any) => ({ ...a, amount: BigInt(a.amount) })),
  })),
  turnNum: BigInt(v.turnNum),
  isFinal: v.isFinal,
}

describe('Nitro v2 conformance vector', () => {
  test('channel id', () => {
    expect(channelId(state)).toBe(vector.channelId)
  })
  test('state hash', () => {
    expect(hashState(state)).toBe(vector.stateHash)
  })
  test('signature r, s, v', () => {
    const sig = signState(state, vector.privateKey)
    expect(sig.slice(0, 66)).toBe(vector.signature.r)
    expect(`0x${sig.slice(66, 130)}`).toBe(vector.signature.s)
    expect(parseInt(sig.slice(130), 16)).toBe(vector.signature.v)
  })
  test('recovery gives the signing key\'s address (address from viem, independently)', () => {
    const sig = signState(state, vector.privateKey)
    expect(recoverStateSigner(state, sig)).toBe(toAddress(privateKeyToAccount(vector.privateKey).address))
  })
  test('outcome bytes decode to the same outcome', () => {
    const decoded = decodeOutcome(encodeOutcome(state.outcome))
    expect(encodeOutcome(decoded)).toBe(encodeOutcome(state.outcome))
    expect(decoded[0]!.allocations.map((a) => a.amount)).toEqual([5n, 5n])
  })
})
