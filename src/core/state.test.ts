// checkState (DESIGN §3 ranges): named rejection cases, the limits exactly, and the hostile walk.
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import type { State } from './state.js'
import { checkFixedPart, checkState, checkVariablePart, fixedPart, variablePart } from './state.js'
import { hashState } from './hashState.js'
import * as arb from '../../test/arbitraries.js'
import { codeOf, outcomeOf, walkHostile } from '../../test/hostile.js'
import type { Path } from '../../test/hostile.js'
import { toAddress, toBytes32 } from './canonical.js'

const alice = toAddress('0xF5A1BB5607C9D079E46d1B3Dc33f257d937b43BD')
const bob = toAddress('0x760bf27cd45036a6C486802D30B5D90CfFBE31FE')
const validState: State = {
  participants: [alice, bob],
  channelNonce: 37140676580n,
  appDefinition: toAddress('0x5e29E5Ab8EF33F050c7cc10B5a0456D975C5F88d'),
  challengeDuration: 60,
  outcome: [
    {
      asset: toAddress('0x0000000000000000000000000000000000000000'),
      assetMetadata: { assetType: 0, metadata: '0x' },
      allocations: [{ destination: toBytes32(`0x000000000000000000000000${alice.slice(2)}`), amount: 5n, allocationType: 0, metadata: '0x' }],
    },
  ],
  appData: '0x',
  turnNum: 5n,
  isFinal: false,
}
const withState = (overrides: Record<string, unknown>): unknown => ({ ...validState, ...overrides })

describe('checkState', () => {
  test('accepts every generated state', () => {
    fc.assert(fc.property(arb.state, (s) => void checkState(s)), { numRuns: 300 })
  })

  test.each([
    { name: 'turnNum 2^48 - 1', overrides: { turnNum: arb.UINT48_MAX } },
    { name: 'channelNonce 2^64 - 1', overrides: { channelNonce: arb.UINT64_MAX } },
    { name: 'challengeDuration 2^48 - 1', overrides: { challengeDuration: Number(arb.UINT48_MAX) } },
    { name: 'challengeDuration 0', overrides: { challengeDuration: 0 } },
    { name: '255 participants', overrides: { participants: Array.from({ length: 255 }, () => alice) } },
    { name: 'appData of 64 KiB', overrides: { appData: `0x${'00'.repeat(64 * 1024)}` } },
    { name: 'isFinal true', overrides: { isFinal: true } },
    { name: 'empty outcome', overrides: { outcome: [] } },
  ])('accepts the limit: $name', ({ overrides }) => {
    expect(() => checkState(withState(overrides))).not.toThrow()
  })

  test.each([
    { name: 'empty participants', overrides: { participants: [] }, code: 'invalid_state' },
    { name: '256 participants', overrides: { participants: Array.from({ length: 256 }, () => alice) }, code: 'invalid_length' },
    { name: 'participants not a list', overrides: { participants: alice }, code: 'invalid_length' },
    { name: 'participant of 19 bytes', overrides: { participants: [`0x${'11'.repeat(19)}`] }, code: 'invalid_address' },
    { name: 'participant of 21 bytes', overrides: { participants: [`0x${'11'.repeat(21)}`] }, code: 'invalid_address' },
    { name: 'turnNum 2^48', overrides: { turnNum: 2n ** 48n }, code: 'out_of_range' },
    { name: 'turnNum -1', overrides: { turnNum: -1n }, code: 'out_of_range' },
    { name: 'turnNum as a number', overrides: { turnNum: 5 }, code: 'out_of_range' },
    { name: 'channelNonce 2^64', overrides: { channelNonce: 2n ** 64n }, code: 'out_of_range' },
    { name: 'channelNonce -1', overrides: { channelNonce: -1n }, code: 'out_of_range' },
    { name: 'channelNonce as a number', overrides: { channelNonce: 37140676580 }, code: 'out_of_range' },
    { name: 'challengeDuration 1.5', overrides: { challengeDuration: 1.5 }, code: 'out_of_range' },
    { name: 'challengeDuration -1', overrides: { challengeDuration: -1 }, code: 'out_of_range' },
    { name: 'challengeDuration NaN', overrides: { challengeDuration: Number.NaN }, code: 'out_of_range' },
    { name: 'challengeDuration 2^48', overrides: { challengeDuration: 2 ** 48 }, code: 'out_of_range' },
    { name: 'challengeDuration as a bigint', overrides: { challengeDuration: 60n }, code: 'out_of_range' },
    { name: 'appDefinition of 19 bytes', overrides: { appDefinition: `0x${'11'.repeat(19)}` }, code: 'invalid_address' },
    { name: 'appData odd length', overrides: { appData: '0x0' }, code: 'invalid_hex' },
    { name: 'appData over 64 KiB', overrides: { appData: `0x${'00'.repeat(64 * 1024 + 1)}` }, code: 'invalid_length' },
    { name: 'isFinal as 0', overrides: { isFinal: 0 }, code: 'invalid_state' },
    { name: 'isFinal missing', overrides: { isFinal: undefined }, code: 'invalid_state' },
    { name: 'negative amount in the outcome', overrides: { outcome: [{ ...validState.outcome[0]!, allocations: [{ ...validState.outcome[0]!.allocations[0]!, amount: -1n }] }] }, code: 'out_of_range' },
    { name: 'amount 2^256 in the outcome', overrides: { outcome: [{ ...validState.outcome[0]!, allocations: [{ ...validState.outcome[0]!.allocations[0]!, amount: 2n ** 256n }] }] }, code: 'out_of_range' },
  ])('rejects $name with $code', ({ overrides, code }) => {
    expect(codeOf(() => checkState(withState(overrides)))).toBe(code)
  })

  test.each([
    { name: 'null', value: null },
    { name: 'a string', value: 'state' },
    { name: 'a number', value: 1 },
  ])('rejects $name with invalid_state', ({ value }) => {
    expect(codeOf(() => checkState(value))).toBe('invalid_state')
    expect(codeOf(() => checkFixedPart(value))).toBe('invalid_state')
    expect(codeOf(() => checkVariablePart(value))).toBe('invalid_state')
  })

  test('a hole in the participants is refused with a code (forEach skips holes)', () => {
    const participants = new Array<string>(2)
    participants[1] = bob
    expect(codeOf(() => checkState(withState({ participants })))).toBe('invalid_address')
  })
})

describe('fixedPart and variablePart', () => {
  test('split a state into the on-chain structs and back', () => {
    fc.assert(
      fc.property(arb.state, (s) => {
        const fixed = fixedPart(s)
        const variable = variablePart(s)
        expect(Object.keys(fixed).sort()).toEqual(['appDefinition', 'challengeDuration', 'channelNonce', 'participants'])
        expect(Object.keys(variable).sort()).toEqual(['appData', 'isFinal', 'outcome', 'turnNum'])
        expect({ ...fixed, ...variable }).toEqual(s)
      }),
    )
  })
})

describe('hostile walk through checkState then hashState', () => {
  const paths: Path[] = [
    [],
    ['participants'],
    ['participants', 0],
    ['participants', 1],
    ['channelNonce'],
    ['appDefinition'],
    ['challengeDuration'],
    ['outcome'],
    ['outcome', 0],
    ['outcome', 0, 'asset'],
    ['outcome', 0, 'assetMetadata'],
    ['outcome', 0, 'assetMetadata', 'assetType'],
    ['outcome', 0, 'assetMetadata', 'metadata'],
    ['outcome', 0, 'allocations'],
    ['outcome', 0, 'allocations', 0],
    ['outcome', 0, 'allocations', 0, 'destination'],
    ['outcome', 0, 'allocations', 0, 'amount'],
    ['outcome', 0, 'allocations', 0, 'allocationType'],
    ['outcome', 0, 'allocations', 0, 'metadata'],
    ['appData'],
    ['turnNum'],
    ['isFinal'],
  ]
  test.each(paths.map((path) => ({ path, name: path.join('.') || '(root)' })))('at $name: a typed error, or accepted and hashable', ({ path }) => {
    const failures = walkHostile(
      validState,
      path,
      (input) => {
        checkState(input)
        return input
      },
      (s) => hashState(s as State),
    )
    expect(failures).toEqual([])
  })

  test('the base state itself is accepted and hashable', () => {
    expect(outcomeOf(() => hashState(validState)).kind).toBe('value')
  })
})
