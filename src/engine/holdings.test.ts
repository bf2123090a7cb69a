// Holdings and re-orgs (holdings.ts): each change is remembered with its block; a re-org after a fork block puts
// every record back to what it was before its first change past the fork, and forgets those changes.
import { expect, test } from 'vitest'
import { Draft, Table } from './table.js'
import type { HoldingChange } from './holdings.js'
import { MAX_HOLDING_CHANGES, holdingsKey, holdingsKeyParts, rollBackHoldings, setHoldings } from './holdings.js'
import { toAddress, toBytes32 } from '../core/canonical.js'

const ledger = toBytes32(`0x${'ab'.repeat(32)}`)
const token = toAddress('0x00000000000000000000000000000000000000aa')
const fresh = () => ({ holdings: new Draft(new Table<bigint>()), holdingChanges: new Draft(new Table<readonly HoldingChange[]>()) })

test('a re-org rolls each record back to its amount at the fork; records untouched after it stay', () => {
  const ctx = fresh()
  const a = holdingsKey(ledger, token)
  const b = holdingsKey(toBytes32(`0x${'cd'.repeat(32)}`), token)
  setHoldings(ctx, a, 3n, 10n) // first deposit
  setHoldings(ctx, a, 5n, 12n) // second deposit
  setHoldings(ctx, b, 7n, 9n)
  expect(rollBackHoldings(ctx, 12n)).toEqual([]) // nothing after block 12
  expect(rollBackHoldings(ctx, 11n)).toEqual([{ key: a, amount: 3n }])
  expect(ctx.holdings.get(a)).toBe(3n)
  expect(ctx.holdings.get(b)).toBe(7n)
  // the deposit delivered again by the new chain counts again; a deeper re-org takes both
  setHoldings(ctx, a, 5n, 13n)
  expect(rollBackHoldings(ctx, 8n)).toEqual([{ key: a, amount: 0n }, { key: b, amount: 0n }])
  expect([ctx.holdings.get(a), ctx.holdings.get(b)]).toEqual([0n, 0n])
})

test('only the last MAX_HOLDING_CHANGES changes are remembered: a deeper re-org rolls back to the oldest one (an under-count)', () => {
  const ctx = fresh()
  const a = holdingsKey(ledger, token)
  for (let i = 1; i <= MAX_HOLDING_CHANGES + 5; i++) setHoldings(ctx, a, BigInt(i), BigInt(100 + i))
  expect(ctx.holdingChanges.get(a)).toHaveLength(MAX_HOLDING_CHANGES)
  expect(rollBackHoldings(ctx, 0n)).toEqual([{ key: a, amount: 5n }])
})

test('a key names its channel and asset', () => {
  expect(holdingsKeyParts(holdingsKey(ledger, token))).toEqual({ channelId: ledger, asset: token })
})
