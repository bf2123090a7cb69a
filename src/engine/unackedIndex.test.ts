import fc from 'fast-check'
import { expect, test } from 'vitest'
import { UnackedIndex } from './unackedIndex.js'
import type { OutboxEntry } from './outbox.js'
import { toAddress } from '../core/canonical.js'

const bob = toAddress('0x0000000000000000000000000000000000000b0b')
const key = (seq: bigint) => `${bob}:${seq.toString(16).padStart(16, '0')}`
const entry = (seq: bigint): OutboxEntry => ({ to: bob, seq, payloads: [], attempts: 1, nextAttemptAt: 0 })

test('the lowest unacknowledged seq per peer follows puts and deletes, in any order', () => {
  const index = new UnackedIndex()
  expect(index.lowest(bob)).toBeUndefined()
  for (const seq of [5n, 3n, 9n]) index.apply(key(seq), entry(seq))
  expect(index.lowest(bob)).toBe(3n)
  index.apply(key(9n), undefined)
  expect(index.lowest(bob)).toBe(3n)
  index.apply(key(3n), undefined) // the lowest acknowledged: the next is found
  expect(index.lowest(bob)).toBe(5n)
  index.apply(key(4n), undefined) // never there: nothing changes
  expect(index.lowest(bob)).toBe(5n)
  index.apply(key(5n), undefined)
  expect(index.lowest(bob)).toBeUndefined()
  // the lowest deleted and a higher one added before anyone asked: the lowest is still the lowest
  for (const seq of [10n, 11n]) index.apply(key(seq), entry(seq))
  index.apply(key(10n), undefined)
  index.apply(key(20n), entry(20n))
  expect(index.lowest(bob)).toBe(11n)
  expect(index.lowest(toAddress('0x0000000000000000000000000000000000000a11'))).toBeUndefined()
})

test('property: after any puts and deletes, lowest is the minimum of what is left', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.boolean(), fc.bigInt({ min: 1n, max: 40n })), { maxLength: 200 }), (ops) => {
      const index = new UnackedIndex()
      const model = new Set<bigint>()
      for (const [put, seq] of ops) {
        index.apply(key(seq), put ? entry(seq) : undefined)
        if (put) model.add(seq)
        else model.delete(seq)
        const min = [...model].reduce<bigint | undefined>((m, s) => (m === undefined || s < m ? s : m), undefined)
        if (index.lowest(bob) !== min) return false
      }
      return true
    }),
    { seed: 13 },
  )
})
