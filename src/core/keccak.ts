// keccak256 on the native binding (DESIGN §8: ~2x noble, ~2.5x viem on 32-byte inputs).
import type { Bytes32 } from './types.js'
import { KeccakState } from './native.js'
import { asBuffer, bytesToHex } from './hex.js'

// Keccak-256: rate 1088 bits, capacity 512. One sponge reused: initialize() resets it, and the
// core is synchronous, so no two hashes interleave.
const sponge = new KeccakState()

export function keccak256Bytes(...parts: Uint8Array[]): Uint8Array {
  sponge.initialize(1088, 512)
  for (const part of parts) sponge.absorb(asBuffer(part))
  return sponge.squeeze(32)
}

/** As 0x-hex: lowercase (bytesToHex), so already a canonical Bytes32. */
export function keccak256(...parts: Uint8Array[]): Bytes32 {
  return bytesToHex(keccak256Bytes(...parts)) as Bytes32
}
