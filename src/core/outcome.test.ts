// Outcomes in ExitFormat (DESIGN §3): encodings against viem with the ABI transcribed from DESIGN §3 in
// human-readable form (not outcome.ts' exitAbiParameter), round trips, and every rejection.
import type { Address } from './types.js'
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { encodeAbiParameters, getAddress, isAddress, parseAbiParameters } from 'viem'
import type { Hex } from 'viem'
import type { Allocation, Exit, SingleAssetExit } from './outcome.js'
import {
  addressToDestination,
  checkOutcome,
  decodeOutcome,
  destinationToAddress,
  encodeOutcome,
  isExternalDestination,
  totalAllocated,
} from './outcome.js'
import * as arb from '../../test/arbitraries.js'
import { codeOf, hostileMessages, hostileValues, outcomeOf, settle, walkHostile } from '../../test/hostile.js'
import type { Path } from '../../test/hostile.js'
import { toAddress, toBytes32 } from './canonical.js'

// DESIGN §3: Exit = (address asset, (uint8 assetType, bytes metadata) assetMetadata,
//   (bytes32 destination, uint256 amount, uint8 allocationType, bytes metadata)[] allocations)[]
const EXIT = parseAbiParameters(
  '(address asset, (uint8 assetType, bytes metadata) assetMetadata, (bytes32 destination, uint256 amount, uint8 allocationType, bytes metadata)[] allocations)[]',
)
const viemEncodeExit = (exit: Exit): Hex => encodeAbiParameters(EXIT, [exit as any]).toLowerCase() as Hex

const alice = toAddress('0xF5A1BB5607C9D079E46d1B3Dc33f257d937b43BD')
const bob = toAddress('0x760bf27cd45036a6C486802D30B5D90CfFBE31FE')
const word = (n: bigint | number): string => BigInt(n).toString(16).padStart(64, '0')

const allocation = (overrides: Partial<Record<keyof Allocation, unknown>> = {}): Allocation =>
  ({ destination: addressToDestination(alice), amount: 5n, allocationType: 0, metadata: '0x', ...overrides }) as Allocation
const exitOf = (overrides: Partial<Record<keyof SingleAssetExit, unknown>> = {}): SingleAssetExit =>
  ({
    asset: toAddress('0x0000000000000000000000000000000000000000'),
    assetMetadata: { assetType: 0, metadata: '0x' },
    allocations: [allocation(), allocation({ destination: addressToDestination(bob), amount: 7n })],
    ...overrides,
  }) as SingleAssetExit
const validExit: Exit = [exitOf()]
const validBytes = viemEncodeExit(validExit)

describe('encodeOutcome', () => {
  test('equals viem\'s abi.encode(Exit), lowercase', () => {
    fc.assert(
      fc.property(arb.exit, (exit) => {
        expect(encodeOutcome(exit)).toBe(viemEncodeExit(exit))
      }),
      { numRuns: 500 },
    )
  })

  test('the empty outcome is one offset word and a zero length', () => {
    expect(encodeOutcome([])).toBe(`0x${word(32)}${word(0)}`)
  })

  test('accepts the limits exactly: 64 assets, 1024 allocations, 4096-byte metadata, 2^256 - 1, uint8 255', () => {
    const meta = `0x${'ab'.repeat(4096)}` as Hex
    const big: Exit = [
      exitOf({ assetMetadata: { assetType: 255, metadata: meta }, allocations: Array.from({ length: 1024 }, () => allocation({ amount: arb.UINT256_MAX, allocationType: 255, metadata: meta })) }),
      ...Array.from({ length: 63 }, () => exitOf({ allocations: [] })),
    ]
    expect(encodeOutcome(big)).toBe(viemEncodeExit(big))
  })
})

describe('decodeOutcome', () => {
  test('round trip: decodeOutcome(encodeOutcome(x)) equals x up to hex case, with checksummed assets', () => {
    fc.assert(
      fc.property(arb.exit, (exit) => {
        const decoded = decodeOutcome(encodeOutcome(exit))
        expect(arb.lowerCaseDeep(decoded)).toEqual(arb.lowerCaseDeep(exit))
        for (const e of decoded) expect(e.asset).toBe(getAddress(e.asset))
      }),
      { numRuns: 500 },
    )
  })

  test('decodes viem\'s encoding, in either case', () => {
    expect(arb.lowerCaseDeep(decodeOutcome(validBytes))).toEqual(arb.lowerCaseDeep(validExit))
    expect(arb.lowerCaseDeep(decodeOutcome(`0x${validBytes.slice(2).toUpperCase()}`))).toEqual(arb.lowerCaseDeep(validExit))
  })

  // Offsets into validBytes (one asset, two allocations): word 0 = offset of the array, 1 = its length,
  // 2 = offset of exit 0, 3 = exit 0's asset.
  const at = (wordIndex: number): number => 2 + 64 * wordIndex
  const withWord = (hex: Hex, wordIndex: number, value: string): Hex => `${hex.slice(0, at(wordIndex))}${value}${hex.slice(at(wordIndex + 1))}` as Hex
  const assetTypeAs = (value: bigint): Hex =>
    encodeAbiParameters(
      parseAbiParameters('(address asset, (uint256 assetType, bytes metadata) assetMetadata, (bytes32 destination, uint256 amount, uint8 allocationType, bytes metadata)[] allocations)[]'),
      [[{ ...validExit[0]!, assetMetadata: { assetType: value, metadata: '0x' } }] as any],
    )
  const allocationTypeAs = (value: bigint): Hex =>
    encodeAbiParameters(
      parseAbiParameters('(address asset, (uint8 assetType, bytes metadata) assetMetadata, (bytes32 destination, uint256 amount, uint256 allocationType, bytes metadata)[] allocations)[]'),
      [[{ ...validExit[0]!, allocations: [{ ...allocation(), allocationType: value }] }] as any],
    )

  test.each([
    { name: 'empty bytes', bytes: '0x', code: 'invalid_outcome' },
    { name: 'trailing zero word', bytes: `${validBytes}${word(0)}`, code: 'invalid_outcome' },
    { name: 'one trailing byte', bytes: `${validBytes}00`, code: 'invalid_outcome' },
    { name: 'truncated by a word', bytes: validBytes.slice(0, -64), code: 'invalid_outcome' },
    { name: 'truncated by a byte', bytes: validBytes.slice(0, -2), code: 'invalid_outcome' },
    { name: 'garbage (64 bytes of 0xff)', bytes: `0x${'ff'.repeat(64)}`, code: 'invalid_outcome' },
    { name: 'garbage (one word)', bytes: `0x${word(1)}`, code: 'invalid_outcome' },
    { name: 'dirty address padding', bytes: withWord(validBytes, 3, `01${word(0).slice(2)}`), code: 'invalid_outcome' },
    { name: 'non-canonical outer offset', bytes: `0x${word(64)}${word(0)}${validBytes.slice(66)}`, code: 'invalid_outcome' },
    { name: 'array length beyond the data', bytes: withWord(validBytes, 1, word(2n ** 32n)), code: 'invalid_outcome' },
    { name: 'offset beyond the data', bytes: withWord(validBytes, 0, word(2n ** 255n)), code: 'invalid_outcome' },
    { name: 'assetType 256 (uint8 overflow)', bytes: assetTypeAs(256n), code: 'invalid_outcome' },
    { name: 'allocationType 2^255', bytes: allocationTypeAs(2n ** 255n), code: 'invalid_outcome' },
    { name: '65 assets', bytes: viemEncodeExit(Array.from({ length: 65 }, () => exitOf({ allocations: [] }))), code: 'invalid_outcome' },
    { name: '1025 allocations', bytes: viemEncodeExit([exitOf({ allocations: Array.from({ length: 1025 }, () => allocation()) })]), code: 'invalid_outcome' },
    { name: 'metadata of 4097 bytes', bytes: viemEncodeExit([exitOf({ allocations: [allocation({ metadata: `0x${'00'.repeat(4097)}` })] })]), code: 'invalid_outcome' },
    { name: 'odd-length hex', bytes: `${validBytes}0`, code: 'invalid_hex' },
    { name: 'non-hex', bytes: `0x${'zz'.repeat(64)}`, code: 'invalid_hex' },
    { name: 'no 0x prefix', bytes: validBytes.slice(2), code: 'invalid_hex' },
    { name: 'bytes, not hex', bytes: new Uint8Array(64), code: 'invalid_hex' },
  ])('rejects $name with $code', ({ bytes, code }) => {
    expect(codeOf(() => decodeOutcome(bytes as Hex))).toBe(code)
  })

  test('the non-canonical inputs above are ones viem itself decodes (so the canonical check is what refuses them)', () => {
    // viem ignores trailing bytes and follows any offset: without the re-encoding check they would be accepted.
    expect(() => decodeOutcome(`${validBytes}${word(0)}` as Hex)).toThrow()
    expect(arb.lowerCaseDeep(decodeOutcome(validBytes))).toEqual(arb.lowerCaseDeep(validExit))
  })

  test('fuzz: mutated, truncated and extended encodings decode canonically or are refused with a code', () => {
    const mutated = fc
      .tuple(arb.exit, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat(), fc.uint8Array({ maxLength: 40 }), fc.constantFrom('flip', 'truncate', 'extend', 'all'))
      .map(([exit, flips, cut, extra, mode]) => {
        const bytes = Buffer.from(encodeOutcome(exit).slice(2), 'hex')
        if (mode === 'flip' || mode === 'all') for (const [i, v] of flips) if (bytes.length > 0) bytes[i % bytes.length] = v
        let out = bytes as Uint8Array
        if (mode === 'truncate' || mode === 'all') out = out.subarray(0, cut % (out.length + 1))
        if (mode === 'extend' || mode === 'all') out = Uint8Array.from([...out, ...extra])
        return `0x${Buffer.from(out).toString('hex')}` as Hex
      })
    fc.assert(
      fc.property(fc.oneof(mutated, fc.uint8Array({ maxLength: 400 }).map((b) => `0x${Buffer.from(b).toString('hex')}` as Hex)), (bytes) => {
        const settled = outcomeOf(() => decodeOutcome(bytes))
        if (settled.kind === 'value') expect(encodeOutcome(settled.value as Exit)).toBe(bytes)
        else expect(settled.code).toBe('invalid_outcome')
      }),
      { numRuns: 2000 },
    )
  })

  test('hostile values are refused with a code', () => {
    const failures = hostileValues.flatMap(({ name, value }) => {
      const settled = settle(() => decodeOutcome(value as Hex))
      return settled.kind === 'untyped' ? [`${name}: ${settled.error}`] : []
    })
    expect(failures).toEqual([])
    for (const { name, value } of hostileMessages) expect([name, settle(() => decodeOutcome(value as Hex)).kind]).toEqual([name, 'rejected'])
  })
})

describe('checkOutcome and encodeOutcome rejections', () => {
  const withAllocation = (overrides: Partial<Record<keyof Allocation, unknown>>): unknown => [exitOf({ allocations: [allocation(overrides)] })]
  test.each([
    { name: 'amount -1', outcome: withAllocation({ amount: -1n }), code: 'out_of_range' },
    { name: 'amount 2^256', outcome: withAllocation({ amount: 2n ** 256n }), code: 'out_of_range' },
    { name: 'amount as a number', outcome: withAllocation({ amount: 5 }), code: 'out_of_range' },
    { name: 'amount as a decimal string', outcome: withAllocation({ amount: '5' }), code: 'out_of_range' },
    { name: 'allocationType 256', outcome: withAllocation({ allocationType: 256 }), code: 'out_of_range' },
    { name: 'allocationType -1', outcome: withAllocation({ allocationType: -1 }), code: 'out_of_range' },
    { name: 'allocationType 0.5', outcome: withAllocation({ allocationType: 0.5 }), code: 'out_of_range' },
    { name: 'destination of 31 bytes', outcome: withAllocation({ destination: `0x${'11'.repeat(31)}` }), code: 'invalid_length' },
    { name: 'destination of 33 bytes', outcome: withAllocation({ destination: `0x${'11'.repeat(33)}` }), code: 'invalid_length' },
    { name: 'destination as an address', outcome: withAllocation({ destination: alice }), code: 'invalid_length' },
    { name: 'destination non-hex', outcome: withAllocation({ destination: `0x${'zz'.repeat(32)}` }), code: 'invalid_hex' },
    { name: 'allocation metadata of 4097 bytes', outcome: withAllocation({ metadata: `0x${'00'.repeat(4097)}` }), code: 'invalid_length' },
    { name: 'allocation metadata odd', outcome: withAllocation({ metadata: '0x0' }), code: 'invalid_hex' },
    { name: 'allocation null', outcome: [exitOf({ allocations: [null] })], code: 'invalid_outcome' },
    { name: 'allocations not a list', outcome: [exitOf({ allocations: {} })], code: 'invalid_length' },
    { name: '1025 allocations', outcome: [exitOf({ allocations: Array.from({ length: 1025 }, () => allocation()) })], code: 'invalid_length' },
    { name: 'asset of 19 bytes', outcome: [exitOf({ asset: `0x${'11'.repeat(19)}` })], code: 'invalid_address' },
    { name: 'asset of 21 bytes', outcome: [exitOf({ asset: `0x${'11'.repeat(21)}` })], code: 'invalid_address' },
    { name: 'asset missing', outcome: [exitOf({ asset: undefined })], code: 'invalid_address' },
    { name: 'assetMetadata null', outcome: [exitOf({ assetMetadata: null })], code: 'invalid_outcome' },
    { name: 'assetType 256', outcome: [exitOf({ assetMetadata: { assetType: 256, metadata: '0x' } })], code: 'out_of_range' },
    { name: 'asset metadata of 4097 bytes', outcome: [exitOf({ assetMetadata: { assetType: 0, metadata: `0x${'00'.repeat(4097)}` } })], code: 'invalid_length' },
    { name: 'exit null', outcome: [null], code: 'invalid_outcome' },
    { name: 'exit a string', outcome: ['0x'], code: 'invalid_outcome' },
    { name: '65 assets', outcome: Array.from({ length: 65 }, () => exitOf({ allocations: [] })), code: 'invalid_length' },
    { name: 'outcome not a list', outcome: {}, code: 'invalid_length' },
  ])('rejects $name with $code', ({ outcome, code }) => {
    expect(codeOf(() => checkOutcome(outcome))).toBe(code)
    expect(codeOf(() => encodeOutcome(outcome as Exit))).toBe(code)
  })

  // An address in mixed case must carry a valid EIP-55 checksum (viem's encoder refuses it otherwise).
  test.each([
    { name: 'bad EIP-55 checksum', asset: '0xF5A1BB5607C9D079E46d1B3Dc33f257d937b43Bd' },
    { name: 'all-uppercase hex', asset: `0x${'AB'.repeat(20)}` },
  ])('an asset with a $name is encoded or refused with a code, never a viem error', ({ asset }) => {
    outcomeOf(() => encodeOutcome([exitOf({ asset })]))
  })

  test.each([
    { name: 'a hole in the exits', outcome: new Array<SingleAssetExit>(1) },
    { name: 'a hole in the allocations', outcome: [exitOf({ allocations: new Array<Allocation>(1) })] },
  ])('a sparse list ($name) is refused with a code, never a TypeError', ({ outcome }) => {
    const settled = outcomeOf(() => encodeOutcome(outcome))
    expect(settled.kind).toBe('rejected')
  })
})

describe('hostile walk through checkOutcome then encodeOutcome', () => {
  const paths: Path[] = [
    [],
    [0],
    [0, 'asset'],
    [0, 'assetMetadata'],
    [0, 'assetMetadata', 'assetType'],
    [0, 'assetMetadata', 'metadata'],
    [0, 'allocations'],
    [0, 'allocations', 0],
    [0, 'allocations', 0, 'destination'],
    [0, 'allocations', 0, 'amount'],
    [0, 'allocations', 0, 'allocationType'],
    [0, 'allocations', 0, 'metadata'],
  ]
  test.each(paths.map((path) => ({ path, name: path.join('.') || '(root)' })))('at $name: a typed error, or accepted and encodable', ({ path }) => {
    const failures = walkHostile(
      validExit,
      path,
      (input) => {
        checkOutcome(input)
        return input
      },
      (exit) => encodeOutcome(exit as Exit),
    )
    expect(failures).toEqual([])
  })
})

describe('destinations', () => {
  test('addressToDestination is 12 zero bytes then the address, lowercase', () => {
    fc.assert(
      fc.property(arb.address, (a) => {
        const destination = addressToDestination(a)
        expect(destination).toBe(`0x000000000000000000000000${a.slice(2).toLowerCase()}`)
        expect(isExternalDestination(destination)).toBe(true)
        expect(getAddress(destinationToAddress(destination)!)).toBe(getAddress(a))
      }),
    )
  })
  test('a channel id is not an external destination', () => {
    fc.assert(
      fc.property(arb.channelId, (id) => {
        expect(isExternalDestination(toBytes32(id))).toBe(false)
        expect(destinationToAddress(toBytes32(id))).toBeUndefined()
      }),
    )
  })
  test('destinationToAddress returns an address viem accepts, whatever the destination\'s case', () => {
    const address = destinationToAddress(toBytes32(`0x000000000000000000000000${'AB'.repeat(20)}`))!
    expect(isAddress(address)).toBe(true)
  })
  test.each([
    { name: 'addressToDestination of 19 bytes', run: () => addressToDestination(`0x${'11'.repeat(19)}` as Address), code: 'invalid_address' },
    { name: 'addressToDestination of a bytes32', run: () => addressToDestination(`0x${'11'.repeat(32)}` as Address), code: 'invalid_address' },
    { name: 'destinationToAddress of 31 bytes', run: () => destinationToAddress(toBytes32(`0x${'11'.repeat(31)}`)), code: 'invalid_length' },
    { name: 'destinationToAddress of non-hex', run: () => destinationToAddress(toBytes32('0xzz')), code: 'invalid_hex' },
  ])('$name: $code', ({ run, code }) => {
    expect(codeOf(run)).toBe(code)
  })
})

describe('totalAllocated', () => {
  test('is the sum of the amounts (exact, beyond 2^256)', () => {
    fc.assert(
      fc.property(arb.singleAssetExit, (exit) => {
        expect(totalAllocated(exit)).toBe(exit.allocations.reduce((sum, a) => sum + a.amount, 0n))
      }),
    )
    expect(totalAllocated(exitOf({ allocations: [allocation({ amount: arb.UINT256_MAX }), allocation({ amount: 1n })] }))).toBe(2n ** 256n)
  })
})
