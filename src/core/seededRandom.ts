// A deterministic pseudo-random source for the seeded simulation and tests (DESIGN §7): a failing seed must
// replay exactly, so every random choice flows from one seed, never from Math.random. The generator is sfc32
// (Chris Doty-Humphrey's Small Fast Chaotic generator from PractRand: 128 bits of state, passes PractRand
// and BigCrush), seeded as PractRand seeds it. Predictable by design: never use it for keys or nonces.
import { assert } from './errors.js'

export interface Random {
  /** A float in [0, 1) carrying 32 random bits. */
  next(): number
  /** An integer in [0, maxExclusive), without modulo bias; maxExclusive is an integer in [1, 2^32]. */
  int(maxExclusive: number): number
  /** True with probability `p`, a number in [0, 1]: chance(0) is never true, chance(1) always. */
  chance(p: number): boolean
  /** One of `items`, uniformly; `items` must not be empty. */
  pick<T>(items: readonly T[]): T
  /** A new stream seeded from four draws of this one: independent of it, and the same for the same seed. */
  fork(): Random
}

const TWO_POW_32 = 2 ** 32
/** PractRand discards this many outputs after seeding so that similar seeds diverge. */
const WARM_UP_ROUNDS = 12

/**
 * Creates a random source from a seed, any safe integer (negative ones included).
 *
 * @example
 * const random = createRandom(42)
 * const delayMs = random.int(10) // the same on every run with seed 42
 */
export function createRandom(seed: number): Random {
  assert(Number.isSafeInteger(seed), 'seed must be a safe integer', { seed })
  // PractRand's sfc32 seeding: a = 0, b and c the seed's two 32-bit halves, counter = 1. Distinct seeds give
  // distinct states, and the step is a bijection, so distinct seeds never share a stream.
  return fromState([0, seed >>> 0, Math.floor(seed / TWO_POW_32) >>> 0, 1])
}

function fromState(state: readonly [number, number, number, number]): Random {
  let [a, b, c, counter] = state
  // One sfc32 step in 32-bit arithmetic (`| 0` wraps, `>>> 0` reads the result as unsigned).
  const nextUint32 = (): number => {
    const t = (((a + b) | 0) + counter) | 0
    counter = (counter + 1) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) | 0
    return t >>> 0
  }
  for (let round = 0; round < WARM_UP_ROUNDS; round++) nextUint32()

  const int = (maxExclusive: number): number => {
    assert(Number.isInteger(maxExclusive) && maxExclusive >= 1 && maxExclusive <= TWO_POW_32,
      'int() needs an integer bound in [1, 2^32]', { maxExclusive })
    // Rejection sampling: draws at or above the largest multiple of the bound would favour small results.
    // Each draw is rejected with probability below 1/2, so the loop ends after two draws on average.
    const limit = TWO_POW_32 - (TWO_POW_32 % maxExclusive)
    for (;;) {
      const draw = nextUint32()
      if (draw < limit) return draw % maxExclusive
    }
  }

  return {
    next: () => nextUint32() / TWO_POW_32,
    int,
    chance(p: number): boolean {
      assert(p >= 0 && p <= 1, 'chance() needs a probability in [0, 1]', { p })
      return nextUint32() / TWO_POW_32 < p
    },
    pick<T>(items: readonly T[]): T {
      assert(items.length > 0, 'pick() needs at least one item')
      return items[int(items.length)] as T
    },
    fork: () => fromState([nextUint32(), nextUint32(), nextUint32(), nextUint32()]),
  }
}
