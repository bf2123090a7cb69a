// The fast state-hash encoder must equal viem's general ABI encoder byte for byte (ADR 0006).
import { expect, test } from 'vitest'
import fc from 'fast-check'
import { encodeAbiParameters } from 'viem'
import { encodeStateHashPreimage } from './stateEncoding.js'
import * as arb from '../../test/arbitraries.js'
import { toBytes32 } from './canonical.js'

// Written from DESIGN §3, independently of src/core/outcome.ts's ABI parameter.
const viemAbi = [
  { type: 'bytes32' },
  { type: 'bytes' },
  {
    type: 'tuple[]',
    components: [
      { type: 'address' },
      { type: 'tuple', components: [{ type: 'uint8' }, { type: 'bytes' }] },
      { type: 'tuple[]', components: [{ type: 'bytes32' }, { type: 'uint256' }, { type: 'uint8' }, { type: 'bytes' }] },
    ],
  },
  { type: 'uint256' },
  { type: 'bool' },
] as const

interface Encodable {
  readonly appData: `0x${string}`
  readonly outcome: readonly { asset: string; assetMetadata: { assetType: number; metadata: string }; allocations: readonly { destination: string; amount: bigint; allocationType: number; metadata: string }[] }[]
  readonly turnNum: bigint
  readonly isFinal: boolean
}

function viemEncoding(id: `0x${string}`, s: Encodable) {
  const outcome = s.outcome.map((e) => [e.asset, [e.assetMetadata.assetType, e.assetMetadata.metadata], e.allocations.map((a) => [a.destination, a.amount, a.allocationType, a.metadata])] as const)
  return encodeAbiParameters(viemAbi, [id, s.appData, outcome as never, s.turnNum, s.isFinal])
}


test('equals viem on random states (assets, allocations, metadata and appData of every size)', () => {
  fc.assert(
    fc.property(arb.state, arb.bytes32, (state, id) => {
      const ours = `0x${encodeStateHashPreimage(toBytes32(id), state.appData, state.outcome, state.turnNum, state.isFinal).toString('hex')}`
      expect(ours).toBe(viemEncoding(id, state).toLowerCase())
    }),
    { numRuns: 300 },
  )
})

test('equals viem on an empty outcome and on a ledger-sized outcome', () => {
  const id = `0x${'ab'.repeat(32)}` as const
  const empty = { appData: '0x' as const, outcome: [], turnNum: 0n, isFinal: false }
  expect(`0x${encodeStateHashPreimage(toBytes32(id), empty.appData, empty.outcome, empty.turnNum, empty.isFinal).toString('hex')}`).toBe(viemEncoding(id, empty))
  const big = {
    appData: '0x0102030405' as const,
    outcome: [{ asset: '0x0000000000000000000000000000000000000000', assetMetadata: { assetType: 0, metadata: '0x' }, allocations: Array.from({ length: 200 }, (_, i) => ({ destination: `0x${i.toString(16).padStart(64, '0')}`, amount: BigInt(i) * 10n ** 18n, allocationType: i % 2, metadata: i % 2 ? `0x${'cd'.repeat(64)}` : '0x' })) }],
    turnNum: 2n ** 48n - 1n,
    isFinal: true,
  }
  expect(`0x${encodeStateHashPreimage(toBytes32(id), big.appData, big.outcome as never, big.turnNum, big.isFinal).toString('hex')}`).toBe(viemEncoding(id, big).toLowerCase())
})
