import { expect, test } from 'vitest'
import { Draft, Table } from './table.js'

function live(entries: Record<string, number>): Table<number> {
  const table = new Table<number>()
  for (const [k, v] of Object.entries(entries)) table.set(k, v)
  return table
}

test('a draft reads through to its base and shadows it with its own writes and deletions', () => {
  const base = live({ a: 1, b: 2 })
  const draft = new Draft(base)
  draft.set('b', 20)
  draft.set('c', 3)
  draft.delete('a')
  expect([draft.get('a'), draft.get('b'), draft.get('c')]).toEqual([undefined, 20, 3])
  expect([...draft.keys()].sort()).toEqual(['b', 'c'])
  expect([base.get('a'), base.get('b'), base.get('c')]).toEqual([1, 2, undefined]) // base untouched
})

test('a child draft is dropped without trace, or absorbed into its parent', () => {
  const base = live({ a: 1 })
  const parent = new Draft(base)
  const dropped = parent.child()
  dropped.set('a', 100)
  expect(parent.get('a')).toBe(1)
  const kept = parent.child()
  kept.set('a', 10)
  kept.delete('x')
  parent.absorb(kept)
  expect(parent.get('a')).toBe(10)
  expect([...parent.changes()]).toEqual([['a', 10], ['x', undefined]])
})

test('applying committed changes updates the live table, deletions included', () => {
  const base = live({ a: 1, b: 2 })
  const draft = new Draft(base)
  draft.set('a', 5)
  draft.delete('b')
  base.apply(draft.changes())
  expect([...base.keys()]).toEqual(['a'])
  expect(base.get('a')).toBe(5)
  expect(base.size).toBe(1)
})

test('keys of a nested draft list a key re-added after deletion once', () => {
  const parent = new Draft(live({ a: 1 }))
  parent.delete('a')
  const child = parent.child()
  child.set('a', 2)
  expect([...child.keys()]).toEqual(['a'])
  expect([...child.values()]).toEqual([2])
})
