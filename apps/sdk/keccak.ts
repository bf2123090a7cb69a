// Keccak-256 in AssemblyScript: the same function as the node's keccak256 (src/core/keccak.ts), original
// Keccak padding (0x01, not SHA-3's 0x06), rate 136 bytes, capacity 512 bits. Apps may import nothing
// (docs/architecture/app-abi.md), so commit–reveal needs its own hash; keccak256 keeps commitments checkable
// on the host, in Solidity and in viem with the hash everyone already has. The permutation follows the
// compact reference of FIPS 202 §3.2 (θ, ρ and π together over a lane walk, χ, ι), as in Saarinen's tiny_sha3.
// Differential test against the host: test/apps/keccak.test.ts. Speed does not matter here: an app hashes a
// few times per round, never per move.

/* eslint-disable no-loss-of-precision -- u64 literals, exact in AssemblyScript; eslint reads them as JS numbers */
/** ι round constants RC[0..23] (FIPS 202 §3.2.5). */
const ROUND_CONSTANTS = memory.data<u64>([
  0x0000000000000001, 0x0000000000008082, 0x800000000000808a, 0x8000000080008000,
  0x000000000000808b, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
  0x000000000000008a, 0x0000000000000088, 0x0000000080008009, 0x000000008000000a,
  0x000000008000808b, 0x800000000000008b, 0x8000000000008089, 0x8000000000008003,
  0x8000000000008002, 0x8000000000000080, 0x000000000000800a, 0x800000008000000a,
  0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
])
/* eslint-enable no-loss-of-precision */

/** ρ rotation of each lane along the π walk below. */
const ROTATIONS = memory.data<u8>([1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14, 27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44])

/** π: the lane each step of the walk moves to (lane index x + 5y). */
const PI_LANES = memory.data<u8>([10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4, 15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1])

const RATE_BYTES: usize = 136
const STATE_BYTES: usize = 200

function lane(s: usize, i: usize): u64 {
  return load<u64>(s + (i << 3))
}

function setLane(s: usize, i: usize, value: u64): void {
  store<u64>(s + (i << 3), value)
}

/** Keccak-f[1600] on 25 little-endian u64 lanes at `s`. */
function permute(s: usize): void {
  for (let round: usize = 0; round < 24; round++) {
    // θ: each lane takes the parity of two neighbouring columns.
    const c0 = lane(s, 0) ^ lane(s, 5) ^ lane(s, 10) ^ lane(s, 15) ^ lane(s, 20)
    const c1 = lane(s, 1) ^ lane(s, 6) ^ lane(s, 11) ^ lane(s, 16) ^ lane(s, 21)
    const c2 = lane(s, 2) ^ lane(s, 7) ^ lane(s, 12) ^ lane(s, 17) ^ lane(s, 22)
    const c3 = lane(s, 3) ^ lane(s, 8) ^ lane(s, 13) ^ lane(s, 18) ^ lane(s, 23)
    const c4 = lane(s, 4) ^ lane(s, 9) ^ lane(s, 14) ^ lane(s, 19) ^ lane(s, 24)
    const d0 = c4 ^ rotl<u64>(c1, 1)
    const d1 = c0 ^ rotl<u64>(c2, 1)
    const d2 = c1 ^ rotl<u64>(c3, 1)
    const d3 = c2 ^ rotl<u64>(c4, 1)
    const d4 = c3 ^ rotl<u64>(c0, 1)
    for (let y: usize = 0; y < 25; y += 5) {
      setLane(s, y, lane(s, y) ^ d0)
      setLane(s, y + 1, lane(s, y + 1) ^ d1)
      setLane(s, y + 2, lane(s, y + 2) ^ d2)
      setLane(s, y + 3, lane(s, y + 3) ^ d3)
      setLane(s, y + 4, lane(s, y + 4) ^ d4)
    }
    // ρ and π: walk the 24 lanes other than (0, 0), rotating each into its new place.
    let carried = lane(s, 1)
    for (let i: usize = 0; i < 24; i++) {
      const to = <usize>load<u8>(PI_LANES + i)
      const next = lane(s, to)
      setLane(s, to, rotl<u64>(carried, <u64>load<u8>(ROTATIONS + i)))
      carried = next
    }
    // χ: the only non-linear step, row by row.
    for (let y: usize = 0; y < 25; y += 5) {
      const a0 = lane(s, y), a1 = lane(s, y + 1), a2 = lane(s, y + 2), a3 = lane(s, y + 3), a4 = lane(s, y + 4)
      setLane(s, y, a0 ^ (~a1 & a2))
      setLane(s, y + 1, a1 ^ (~a2 & a3))
      setLane(s, y + 2, a2 ^ (~a3 & a4))
      setLane(s, y + 3, a3 ^ (~a4 & a0))
      setLane(s, y + 4, a4 ^ (~a0 & a1))
    }
    // ι
    setLane(s, 0, lane(s, 0) ^ load<u64>(ROUND_CONSTANTS + (round << 3)))
  }
}

/** XORs one rate-sized block at `block` into the state. */
function absorbBlock(s: usize, block: usize): void {
  for (let i: usize = 0; i < RATE_BYTES; i += 8) store<u64>(s + i, load<u64>(s + i) ^ load<u64>(block + i))
  permute(s)
}

/** keccak256 of `len` bytes at `ptr`, written as 32 bytes at `out`. Allocates 336 bytes of scratch. */
export function keccak256(ptr: usize, len: u32, out: usize): void {
  const s = __alloc(STATE_BYTES)
  memory.fill(s, 0, STATE_BYTES)
  let at = ptr
  let left = <usize>len
  while (left >= RATE_BYTES) {
    absorbBlock(s, at)
    at += RATE_BYTES
    left -= RATE_BYTES
  }
  // The last, partial block (possibly empty) with Keccak's pad10*1 and domain bit 0x01.
  const last = __alloc(RATE_BYTES)
  memory.fill(last, 0, RATE_BYTES)
  memory.copy(last, at, left)
  store<u8>(last + left, load<u8>(last + left) ^ 0x01)
  store<u8>(last + RATE_BYTES - 1, load<u8>(last + RATE_BYTES - 1) ^ 0x80)
  absorbBlock(s, last)
  memory.copy(out, s, 32)
}
