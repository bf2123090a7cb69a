// The SDK's in-module keccak256 (apps/sdk/keccak.ts) against the node's (src/core/keccak.ts, the native
// binding): known vectors, every length around the 136-byte rate boundaries, and random inputs. The probe
// entry apps/sdk/keccak.probe.ts is compiled here with the app flags; it is never shipped.
import fc from 'fast-check'
import { beforeAll, expect, test } from 'vitest'
import { compileEntry } from '../../scripts/buildApps.js'
import { bytesToHex } from '../../src/core/hex.js'
import { keccak256 } from '../../src/core/keccak.js'
import { memoryPages, webAssembly } from './harness.js'

interface ProbeExports {
  alloc(len: number): number
  reset(): void
  hash(ptr: number, len: number): number
}

let probeHash: (input: Uint8Array) => string

beforeAll(async () => {
  const { wasm } = await compileEntry('apps/sdk/keccak.probe.ts')
  const memory = new webAssembly.Memory(memoryPages)
  const { instance } = await webAssembly.instantiate(wasm, { env: { memory } })
  const probe = instance.exports as unknown as ProbeExports
  probeHash = (input) => {
    probe.reset()
    const ptr = probe.alloc(input.length)
    new Uint8Array(memory.buffer).set(input, ptr)
    const out = probe.hash(ptr, input.length)
    return bytesToHex(new Uint8Array(memory.buffer, out, 32))
  }
}, 60_000)

test('known digests: empty input and "abc"', () => {
  // Keccak-256 (original padding), as Ethereum uses it.
  expect(probeHash(new Uint8Array())).toBe('0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470')
  expect(probeHash(new TextEncoder().encode('abc'))).toBe('0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45')
})

test('every length from 0 to 420 bytes (three rate blocks) agrees with the host', () => {
  const input = Uint8Array.from({ length: 420 }, (_, i) => (i * 131 + 7) & 0xff)
  for (let length = 0; length <= input.length; length++) {
    const slice = input.subarray(0, length)
    expect(probeHash(slice), `length ${length}`).toBe(keccak256(slice))
  }
})

test('random inputs agree with the host', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), (input) => {
    expect(probeHash(input)).toBe(keccak256(input))
  }))
})
