// StallWatch (stalls.ts): which objectives have waited on their peers past the deadline, each reported once per
// wait; a wait that changes starts the count again; waits on the node itself or the chain never count.
import { expect, test } from 'vitest'
import { StallWatch, waitsOnPeers } from './stalls.js'

test('only waits on peers count: a countersignature, a final state, a guarantee removal; never approval, deposits of mine or the chain', () => {
  expect(waitsOnPeers('ledgerUpdate', 'countersignature')).toBe(true)
  expect(waitsOnPeers('directdefund', 'finalState')).toBe(true)
  expect(waitsOnPeers('virtualdefund', 'defunding')).toBe(true)
  expect(waitsOnPeers('ledgerUpdate', 'approval')).toBe(false)
  expect(waitsOnPeers('directfund', 'myTurnToDeposit')).toBe(false)
  expect(waitsOnPeers('appdispute', 'finalization')).toBe(false)
  expect(waitsOnPeers('directdefund', undefined)).toBe(false)
})

test('reported once when the deadline passes; a new wait counts from its start; an ended objective is forgotten', () => {
  const watch = new StallWatch(1_000)
  const waiting = (waitingFor: string) => [['u', { kind: 'ledgerUpdate' as const, waitingFor }]] as const
  expect(watch.stalled(waiting('countersignature'), 0)).toEqual([])
  expect(watch.stalled(waiting('countersignature'), 999)).toEqual([])
  expect(watch.stalled(waiting('countersignature'), 1_000)).toEqual([{ objectiveId: 'u', waitingFor: 'countersignature', waitedMs: 1_000 }])
  expect(watch.stalled(waiting('countersignature'), 5_000)).toEqual([]) // once
  expect(watch.stalled(waiting('proposal'), 5_000)).toEqual([]) // another wait: counted from now
  expect(watch.stalled(waiting('proposal'), 6_000)).toEqual([{ objectiveId: 'u', waitingFor: 'proposal', waitedMs: 1_000 }])
  expect(watch.stalled([], 7_000)).toEqual([]) // ended
  expect(watch.stalled(waiting('proposal'), 7_500)).toEqual([]) // back: a fresh wait
  expect(watch.stalled(waiting('proposal'), 8_500)).toHaveLength(1)
  expect(watch.stalled([['v', { kind: 'ledgerUpdate', waitingFor: 'approval' }]], 0)).toEqual([])
  expect(watch.stalled([['v', { kind: 'ledgerUpdate', waitingFor: 'approval' }]], 60_000)).toEqual([])
})
