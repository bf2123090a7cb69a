// Outcomes in Nitro's ExitFormat (DESIGN §3): per asset, the allocations that pay out when the channel
// finalizes. Outcome bytes are `abi.encode(Exit)`, byte-exact with the adjudicator.
import { decodeAbiParameters, encodeAbiParameters } from 'viem'
import type { Address, Destination, Hex } from './types.js'
import { InvalidOutcomeError, RejectedInputError } from './errors.js'
import { MAX_ALLOCATIONS, MAX_ASSETS, MAX_METADATA_BYTES, MAX_UINT256, MAX_UINT8 } from './limits.js'
import { checkAddress, checkArray, checkBytes, checkBytes32, checkSmallUint, checkUint } from './validate.js'
import { toAddress, toBytes32 } from './canonical.js'

/** ExitFormat's `enum AllocationType {simple, withdrawHelper, guarantee}` (@statechannels/exit-format): a guarantee is 2. */
export const AllocationType = { simple: 0, withdrawHelper: 1, guarantee: 2 } as const

export interface Allocation {
  readonly destination: Destination
  readonly amount: bigint
  readonly allocationType: number
  readonly metadata: Hex
}

export interface AssetMetadata {
  readonly assetType: number
  readonly metadata: Hex
}

export interface SingleAssetExit {
  /** 0x0 is the chain's native asset (ETH); otherwise an ERC20 token address. */
  readonly asset: Address
  readonly assetMetadata: AssetMetadata
  readonly allocations: readonly Allocation[]
}

export type Exit = readonly SingleAssetExit[]

/** The ABI type of `Exit`, shared with state hashing and the contracts' encoders. */
export const exitAbiParameter = {
  type: 'tuple[]',
  components: [
    { name: 'asset', type: 'address' },
    {
      name: 'assetMetadata',
      type: 'tuple',
      components: [
        { name: 'assetType', type: 'uint8' },
        { name: 'metadata', type: 'bytes' },
      ],
    },
    {
      name: 'allocations',
      type: 'tuple[]',
      components: [
        { name: 'destination', type: 'bytes32' },
        { name: 'amount', type: 'uint256' },
        { name: 'allocationType', type: 'uint8' },
        { name: 'metadata', type: 'bytes' },
      ],
    },
  ],
} as const

/** Throws a RejectedInputError naming the first field out of shape or range. */
export function checkOutcome(outcome: unknown, field = 'outcome'): asserts outcome is Exit {
  checkArray(outcome, field, MAX_ASSETS)
  // Index loops, not forEach: forEach skips the holes of a sparse array.
  for (let i = 0; i < outcome.length; i++) {
    const exit: unknown = outcome[i]
    const at = `${field}[${i}]`
    if (typeof exit !== 'object' || exit === null) throw new InvalidOutcomeError(`${at} must be an object`, { field: at })
    const { asset, assetMetadata, allocations } = exit as Record<string, unknown>
    checkAddress(asset, `${at}.asset`)
    if (typeof assetMetadata !== 'object' || assetMetadata === null) {
      throw new InvalidOutcomeError(`${at}.assetMetadata must be an object`, { field: `${at}.assetMetadata` })
    }
    const meta = assetMetadata as Record<string, unknown>
    checkSmallUint(meta.assetType, `${at}.assetMetadata.assetType`, MAX_UINT8)
    checkBytes(meta.metadata, `${at}.assetMetadata.metadata`, MAX_METADATA_BYTES)
    checkArray(allocations, `${at}.allocations`, MAX_ALLOCATIONS)
    for (let j = 0; j < allocations.length; j++) checkAllocation(allocations[j], `${at}.allocations[${j}]`)
  }
}

function checkAllocation(allocation: unknown, at: string): asserts allocation is Allocation {
  if (typeof allocation !== 'object' || allocation === null) throw new InvalidOutcomeError(`${at} must be an object`, { field: at })
  const { destination, amount, allocationType, metadata } = allocation as Record<string, unknown>
  checkBytes32(destination, `${at}.destination`)
  checkUint(amount, `${at}.amount`, MAX_UINT256)
  checkSmallUint(allocationType, `${at}.allocationType`, MAX_UINT8)
  checkBytes(metadata, `${at}.metadata`, MAX_METADATA_BYTES)
}

export function encodeOutcome(outcome: Exit): Hex {
  checkOutcome(outcome)
  // viem keeps the caller's hex case; outcome bytes are compared as values, so emit one canonical case.
  return encodeAbiParameters([exitAbiParameter], [outcome]).toLowerCase() as Hex
}

type AbiAllocation = Omit<Allocation, 'destination'> & { readonly destination: string }
type AbiExit = { readonly asset: string; readonly assetMetadata: AssetMetadata; readonly allocations: readonly AbiAllocation[] }

/** An Exit as viem's ABI decoder gives it (structs, checksummed or not), in the node's own form. */
export function exitFromAbi(decoded: readonly AbiExit[]): Exit {
  return decoded.map((exit) => ({
    asset: toAddress(exit.asset),
    assetMetadata: { assetType: exit.assetMetadata.assetType, metadata: exit.assetMetadata.metadata },
    allocations: exit.allocations.map((a) => ({
      destination: toBytes32(a.destination),
      amount: a.amount,
      allocationType: a.allocationType,
      metadata: a.metadata,
    })),
  }))
}

/** Decodes outcome bytes; refuses anything that is not the canonical encoding of a valid Exit. */
export function decodeOutcome(bytes: Hex): Exit {
  checkBytes(bytes, 'outcomeBytes', MAX_ASSETS * MAX_ALLOCATIONS * 256)
  let decoded: readonly unknown[]
  try {
    ;[decoded] = decodeAbiParameters([exitAbiParameter], bytes) as [readonly unknown[]]
  } catch (cause) {
    throw new InvalidOutcomeError('outcome bytes are not an ABI-encoded Exit', {}, { cause })
  }
  const outcome = exitFromAbi(decoded as readonly AbiExit[])
  let reencoded: Hex
  try {
    reencoded = encodeOutcome(outcome)
  } catch (cause) {
    if (cause instanceof RejectedInputError) throw new InvalidOutcomeError(`decoded outcome is invalid: ${cause.summary}`, cause.details, { cause })
    throw cause
  }
  // Non-canonical bytes (odd offsets, trailing data, dirty padding) decode but would hash differently.
  if (reencoded !== bytes.toLowerCase()) throw new InvalidOutcomeError('outcome bytes are not canonically encoded')
  return outcome
}

/** Total of every allocation of one asset. */
export function totalAllocated(exit: SingleAssetExit): bigint {
  let total = 0n
  for (const allocation of exit.allocations) total += allocation.amount
  return total
}

/** The destination that pays an external address: 12 zero bytes then the address. */
export function addressToDestination(address: Address): Destination {
  checkAddress(address, 'address')
  return toBytes32(`0x${'0'.repeat(24)}${address.slice(2)}`)
}

/** An external destination's address, or undefined if the destination is a channel id. */
export function destinationToAddress(destination: Destination): Address | undefined {
  checkBytes32(destination, 'destination')
  return isExternalDestination(destination) ? toAddress(`0x${destination.slice(26)}`) : undefined
}

export function isExternalDestination(destination: Destination): boolean {
  return destination.startsWith('0x000000000000000000000000')
}
