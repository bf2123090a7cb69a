// fast-check arbitraries for the core types (DESIGN §3), reusable by every layer's property tests.
// Values are valid by construction (within src/core/limits.ts' ranges) but deliberately vary hex case
// (checksummed or lowercase addresses, mixed-case byte strings) so normalisation is exercised.
import fc from 'fast-check'
import { getAddress, toHex } from 'viem'
import type { Hex } from 'viem'
import type { Address, Bytes32 } from '../src/core/types.js'
import type { Allocation, Exit, SingleAssetExit } from '../src/core/outcome.js'
import type { FixedPart, State } from '../src/core/state.js'
import { toAddress } from '../src/core/canonical.js'

/** Ranges of the Solidity types (DESIGN §3), written out here rather than imported. */
export const UINT256_MAX = 2n ** 256n - 1n
export const UINT64_MAX = 2n ** 64n - 1n
export const UINT48_MAX = 2n ** 48n - 1n
/** secp256k1 group order (SEC 2, §2.4.1). */
export const SECP256K1_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n

export const bytes = (minLength: number, maxLength: number): fc.Arbitrary<Uint8Array> =>
  fc.uint8Array({ minLength, maxLength })

/** Uppercases the hex digits selected by `mask` (the 0x prefix stays lowercase). */
function mixCase(hex: Hex, mask: readonly boolean[]): Hex {
  if (mask.length === 0) return hex
  const digits = [...hex.slice(2)].map((c, i) => (mask[i % mask.length] ? c.toUpperCase() : c)).join('')
  return `0x${digits}`
}

/** Arbitrary bytes as hex in arbitrary case. */
export const hexBytes = (minLength: number, maxLength: number): fc.Arbitrary<Hex> =>
  fc.tuple(bytes(minLength, maxLength), fc.array(fc.boolean(), { maxLength: 8 })).map(([b, mask]) => mixCase(toHex(b), mask))

/** 32 bytes in any hex case: typed as the node's `Bytes32` though not all canonical, as `address` is. */
export const bytes32: fc.Arbitrary<Bytes32> = hexBytes(32, 32).map((h) => h as Bytes32)

/**
 * A 20-byte address, either lowercase or EIP-55 checksummed (the two forms viem accepts): typed as the node's
 * `Address` though half are not its canonical form, so properties also cover what a decoder is handed.
 */
export const address: fc.Arbitrary<Address> = fc.oneof(
  fc.tuple(bytes(20, 20), fc.boolean()).map(([b, checksum]) => (checksum ? getAddress(toHex(b)) : toHex(b)) as Address),
  fc.constantFrom<Address>(toAddress('0x0000000000000000000000000000000000000000'), toAddress('0xffffffffffffffffffffffffffffffffffffffff')),
)

/** 32 bytes whose first 12 are not all zero (a valid channel id). */
export const channelId: fc.Arbitrary<Bytes32> = fc
  .tuple(bytes(12, 12).filter((b) => b.some((x) => x !== 0)), bytes(20, 20), fc.array(fc.boolean(), { maxLength: 8 }))
  .map(([head, tail, mask]) => mixCase(toHex(Uint8Array.from([...head, ...tail])), mask) as Bytes32)

/** An external destination: 12 zero bytes then an address. */
export const externalDestination: fc.Arbitrary<Bytes32> = address.map((a) => `0x${'0'.repeat(24)}${a.slice(2)}` as Bytes32)

export const destination: fc.Arbitrary<Bytes32> = fc.oneof(externalDestination, channelId, bytes32)

export const amount: fc.Arbitrary<bigint> = fc.oneof(
  fc.constantFrom(0n, 1n, UINT256_MAX, 2n ** 64n - 1n, 2n ** 64n),
  fc.bigInt({ min: 0n, max: 10n ** 21n }),
  fc.bigInt({ min: 0n, max: UINT256_MAX }),
)

export const uint8: fc.Arbitrary<number> = fc.oneof(fc.constantFrom(0, 1, 255), fc.integer({ min: 0, max: 255 }))

export const metadata: fc.Arbitrary<Hex> = fc.oneof(fc.constant('0x' as Hex), hexBytes(0, 70))

export const allocation: fc.Arbitrary<Allocation> = fc.record({
  destination,
  amount,
  allocationType: uint8,
  metadata,
})

export const singleAssetExit: fc.Arbitrary<SingleAssetExit> = fc.record({
  asset: address,
  assetMetadata: fc.record({ assetType: uint8, metadata }),
  allocations: fc.array(allocation, { maxLength: 4 }),
})

export const exit: fc.Arbitrary<Exit> = fc.array(singleAssetExit, { maxLength: 3 })

export const channelNonce: fc.Arbitrary<bigint> = fc.oneof(fc.constantFrom(0n, UINT64_MAX), fc.bigInt({ min: 0n, max: UINT64_MAX }))
export const turnNum: fc.Arbitrary<bigint> = fc.oneof(fc.constantFrom(0n, UINT48_MAX), fc.bigInt({ min: 0n, max: UINT48_MAX }))
export const challengeDuration: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, 60, Number(UINT48_MAX)),
  fc.bigInt({ min: 0n, max: UINT48_MAX }).map(Number),
)

export const fixedPart: fc.Arbitrary<FixedPart> = fc.record({
  participants: fc.array(address, { minLength: 1, maxLength: 4 }),
  channelNonce,
  appDefinition: address,
  challengeDuration,
})

export const state: fc.Arbitrary<State> = fc
  .tuple(fixedPart, exit, hexBytes(0, 96), turnNum, fc.boolean())
  .map(([fixed, outcome, appData, turn, isFinal]) => ({ ...fixed, outcome, appData, turnNum: turn, isFinal }))

/** A valid secp256k1 private key (1 ≤ k < n) as 32-byte hex, including the edge keys. */
export const privateKey: fc.Arbitrary<Hex> = fc
  .oneof(fc.constantFrom(1n, SECP256K1_ORDER - 1n), fc.bigInt({ min: 1n, max: SECP256K1_ORDER - 1n }))
  .map((k) => toHex(k, { size: 32 }))

/** Lowercases every string inside a plain value, for comparisons "up to hex case normalisation". */
export function lowerCaseDeep(value: unknown): unknown {
  if (typeof value === 'string') return value.toLowerCase()
  if (Array.isArray(value)) return value.map(lowerCaseDeep)
  if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, lowerCaseDeep(v)]))
  }
  return value
}

/** A well-formed signature r ‖ s ‖ v (0 < r < n, 0 < s ≤ n/2, v ∈ {27, 28}); not necessarily anyone's. */
export const signature: fc.Arbitrary<Hex> = fc
  .tuple(fc.bigInt({ min: 1n, max: SECP256K1_ORDER - 1n }), fc.bigInt({ min: 1n, max: SECP256K1_ORDER / 2n }), fc.constantFrom(27, 28))
  .map(([r, s, v]) => `0x${r.toString(16).padStart(64, '0')}${s.toString(16).padStart(64, '0')}${v.toString(16)}` as Hex)
