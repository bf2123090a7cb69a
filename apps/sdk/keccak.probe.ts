// Not an app: an entry that exposes the SDK's keccak256 so test/apps/keccak.test.ts can compare it with the
// host's (src/core/keccak.ts) on many inputs. The test compiles it into a temporary directory with the app
// flags (scripts/buildApps.ts); it is never shipped.
import { keccak256 } from './keccak'

export { alloc, reset } from './abi'

/** keccak256 of `len` bytes at `ptr`; returns a pointer to the 32-byte digest. */
export function hash(ptr: usize, len: u32): usize {
  const out = __alloc(32)
  keccak256(ptr, len, out)
  return out
}
