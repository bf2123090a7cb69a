// stateHash = keccak256(abi.encode(bytes32 channelId, bytes appData, Exit outcome, uint256 turnNum, bool isFinal))
// (DESIGN §3), computed independently here with viem's encoder (ABI transcribed from DESIGN §3) and noble's keccak.
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { encodeAbiParameters, hexToBytes, parseAbiParameters, toHex } from 'viem'
import type { Hex } from 'viem'
import { keccak_256 } from '@noble/hashes/sha3.js'
import type { State } from './state.js'
import { hashState, hashStateOfChannel } from './hashState.js'
import { channelId } from './channelId.js'
import * as arb from '../../test/arbitraries.js'
import { codeOf } from '../../test/hostile.js'

const keccak = (hex: Hex): Hex => toHex(keccak_256(hexToBytes(hex)))

const referenceChannelId = (s: State): Hex =>
  keccak(
    encodeAbiParameters(parseAbiParameters('address[], uint256, address, uint256'), [s.participants, s.channelNonce, s.appDefinition, BigInt(s.challengeDuration)]),
  )

const STATE_ABI = parseAbiParameters(
  'bytes32 channelId, bytes appData, (address asset, (uint8 assetType, bytes metadata) assetMetadata, (bytes32 destination, uint256 amount, uint8 allocationType, bytes metadata)[] allocations)[] outcome, uint256 turnNum, bool isFinal' as string,
)
const referenceHashState = (s: State): Hex =>
  keccak(encodeAbiParameters(STATE_ABI, [referenceChannelId(s), s.appData, s.outcome, s.turnNum, s.isFinal]))

describe('hashState', () => {
  test('equals keccak256 of viem\'s abi.encode(channelId, appData, outcome, turnNum, isFinal)', () => {
    fc.assert(
      fc.property(arb.state, (s) => {
        expect(hashState(s)).toBe(referenceHashState(s))
      }),
      { numRuns: 500 },
    )
  })

  test('hashStateOfChannel with the channel\'s id is hashState', () => {
    fc.assert(
      fc.property(arb.state, (s) => {
        expect(hashStateOfChannel(channelId(s), s)).toBe(hashState(s))
      }),
      { numRuns: 200 },
    )
  })

  test('does not depend on hex case', () => {
    fc.assert(
      fc.property(arb.state, (s) => {
        const lower = arb.lowerCaseDeep(s) as State
        expect(hashState(lower)).toBe(hashState(s))
      }),
      { numRuns: 200 },
    )
  })

  test('every field is committed to: turnNum, isFinal, appData', () => {
    fc.assert(
      fc.property(arb.state, (s) => {
        const h = hashState(s)
        expect(hashState({ ...s, turnNum: s.turnNum === 0n ? 1n : s.turnNum - 1n })).not.toBe(h)
        expect(hashState({ ...s, isFinal: !s.isFinal })).not.toBe(h)
        expect(hashState({ ...s, appData: `${s.appData}00` })).not.toBe(h)
      }),
      { numRuns: 100 },
    )
  })

  test.each([
    { name: 'turnNum 2^48', patch: { turnNum: 2n ** 48n }, code: 'out_of_range' },
    { name: 'channelNonce 2^64', patch: { channelNonce: 2n ** 64n }, code: 'out_of_range' },
    { name: 'challengeDuration 1.5', patch: { challengeDuration: 1.5 }, code: 'out_of_range' },
    { name: 'empty participants', patch: { participants: [] }, code: 'invalid_state' },
    { name: 'appData not hex', patch: { appData: 'data' }, code: 'invalid_hex' },
  ])('rejects $name with $code', ({ patch, code }) => {
    const base = fc.sample(arb.state, { numRuns: 1, seed: 1 })[0]!
    expect(codeOf(() => hashState({ ...base, ...patch } as State))).toBe(code)
  })
})
