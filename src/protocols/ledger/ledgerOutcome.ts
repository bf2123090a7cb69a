// The outcome of a ledger (consensus) channel (DESIGN §3): one asset; allocations
// [leader, follower, guarantees sorted by target ascending]. Guarantees lock part of the ledger's funds
// for a virtual channel (the target), between a `left` and a `right` destination.
import type { Address, Bytes32, Destination, Hex } from '../../core/types.js'
import type { Exit } from '../../core/outcome.js'
import { AllocationType } from '../../core/outcome.js'
import { decodeGuaranteeMetadata, encodeGuaranteeMetadata } from '../../core/guarantee.js'
import { InvalidOutcomeError, RejectedInputError } from '../../core/errors.js'

export interface Balance {
  readonly destination: Destination
  readonly amount: bigint
}

export interface Guarantee {
  /** The virtual channel these funds are locked for. */
  readonly target: Bytes32
  readonly amount: bigint
  readonly left: Destination
  readonly right: Destination
}

export interface LedgerOutcome {
  readonly asset: Address
  readonly leader: Balance
  readonly follower: Balance
  /** Sorted by target ascending (byte order = lowercase hex order). */
  readonly guarantees: readonly Guarantee[]
}

export function ledgerOutcomeToExit(o: LedgerOutcome): Exit {
  return [
    {
      asset: o.asset,
      assetMetadata: { assetType: 0, metadata: '0x' },
      allocations: [
        { destination: o.leader.destination, amount: o.leader.amount, allocationType: AllocationType.simple, metadata: '0x' },
        { destination: o.follower.destination, amount: o.follower.amount, allocationType: AllocationType.simple, metadata: '0x' },
        ...o.guarantees.map((g) => ({
          destination: g.target,
          amount: g.amount,
          allocationType: AllocationType.guarantee,
          metadata: encodeGuaranteeMetadata({ left: g.left, right: g.right }),
        })),
      ],
    },
  ]
}

/**
 * Parses an Exit into a ledger outcome; refuses (`invalid_outcome`) anything not of the ledger's canonical
 * shape. The shape is strict because a ledger keeps only a LedgerOutcome and rebuilds the signed state with
 * ledgerOutcomeToExit: asset metadata or allocation metadata it dropped would change the state hash, and the
 * signatures it holds would no longer be on the state it shows.
 */
export function ledgerOutcomeFromExit(exit: Exit): LedgerOutcome {
  if (exit.length !== 1) throw new InvalidOutcomeError('a ledger outcome has exactly one asset', { assets: exit.length })
  const [{ asset, assetMetadata, allocations }] = exit as [Exit[number]]
  if (assetMetadata.assetType !== 0 || assetMetadata.metadata !== '0x') {
    throw new InvalidOutcomeError('a ledger outcome has no asset type or asset metadata', { assetType: assetMetadata.assetType })
  }
  const [leader, follower, ...guarantees] = allocations
  if (!leader || !follower) throw new InvalidOutcomeError('a ledger outcome starts with the leader and follower allocations')
  if (leader.allocationType !== AllocationType.simple || follower.allocationType !== AllocationType.simple) {
    throw new InvalidOutcomeError('leader and follower allocations must be simple')
  }
  if (leader.metadata !== '0x' || follower.metadata !== '0x') throw new InvalidOutcomeError('leader and follower allocations carry no metadata')
  const parsed = guarantees.map((g, i): Guarantee => {
    if (g.allocationType !== AllocationType.guarantee) throw new InvalidOutcomeError('allocations after the first two must be guarantees', { index: i + 2 })
    const { left, right } = decodeMetadata(g.metadata, i + 2)
    return { target: g.destination, amount: g.amount, left, right }
  })
  for (let i = 1; i < parsed.length; i++) {
    if (parsed[i - 1]!.target >= parsed[i]!.target) throw new InvalidOutcomeError('guarantees must be sorted by target, without duplicates')
  }
  return {
    asset,
    leader: { destination: leader.destination, amount: leader.amount },
    follower: { destination: follower.destination, amount: follower.amount },
    guarantees: parsed,
  }
}

/** One code for every malformed ledger outcome: the metadata decoder's own error stays as the cause. */
function decodeMetadata(metadata: Hex, index: number): { left: Destination; right: Destination } {
  try {
    return decodeGuaranteeMetadata(metadata)
  } catch (cause) {
    if (!(cause instanceof RejectedInputError)) throw cause
    throw new InvalidOutcomeError('guarantee metadata must be abi.encode((bytes32 left, bytes32 right))', { index }, { cause })
  }
}

export function totalOf(o: LedgerOutcome): bigint {
  return o.guarantees.reduce((sum, g) => sum + g.amount, o.leader.amount + o.follower.amount)
}

export function findGuarantee(o: LedgerOutcome, target: Bytes32): Guarantee | undefined {
  return o.guarantees.find((g) => g.target === target)
}
