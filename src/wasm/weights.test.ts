// checkWeights: an app's outcome as the runtime accepts it (docs/architecture/app-abi.md, "Exports").
import { describe, expect, test } from 'vitest'
import { MAX_UINT64 } from '../core/limits.js'
import { checkWeights } from './weights.js'

describe('checkWeights', () => {
  test.each([2, 255])('%i weights pass', (count) => {
    expect(() => checkWeights(Array.from({ length: count }, () => MAX_UINT64))).not.toThrow()
  })

  test.each([
    { name: 'one weight', weights: [1n], reason: 'weight count out of range' },
    { name: '256 weights', weights: Array.from({ length: 256 }, () => 1n), reason: 'weight count out of range' },
    { name: 'a weight of 2^64', weights: [1n, 2n ** 64n], reason: 'weight out of range' },
    { name: 'a negative weight', weights: [1n, -1n], reason: 'weight out of range' },
  ])('$name: app_call "$reason"', ({ weights, reason }) => {
    expect(() => checkWeights(weights)).toThrow(expect.objectContaining({ code: 'app_call', details: expect.objectContaining({ reason }) }))
  })
})
