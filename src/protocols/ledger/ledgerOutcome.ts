// The outcome of a ledger (consensus) channel (DESIGN §3): one asset; allocations
// [leader, follower, guarantees sorted by target ascending]. Guarantees lock part of the ledger's funds
// for a virtual channel (the target), between a `left` and a `right` destination.
import type { Address, Bytes32, Destination } from '../../core/types.js'
import type { Exit } from '../../core/outcome.js'
import { AllocationType } from '../../core/outcome.js'
import { decodeGuaranteeMetadata, encodeGuaranteeMetadata } from '../../core/guarantee.js'
import { InvalidOutcomeError } from '../../core/errors.js'

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

/** Parses an Exit into a ledger outcome; refuses anything not of the ledger's shape. */
export function ledgerOutcomeFromExit(exit: Exit): LedgerOutcome {
  if (exit.length !== 1) throw new InvalidOutcomeError('a ledger outcome has exactly one asset', { assets: exit.length })
  const [{ asset, allocations }] = exit as [Exit[number]]
  const [leader, follower, ...guarantees] = allocations
  if (!leader || !follower) throw new InvalidOutcomeError('a ledger outcome starts with the leader and follower allocations')
  if (leader.allocationType !== AllocationType.simple || follower.allocationType !== AllocationType.simple) {
    throw new InvalidOutcomeError('leader and follower allocations must be simple')
  }
  const parsed = guarantees.map((g): Guarantee => {
    if (g.allocationType !== AllocationType.guarantee) throw new InvalidOutcomeError('allocations after the first two must be guarantees')
    const { left, right } = decodeGuaranteeMetadata(g.metadata)
    return { target: g.destination.toLowerCase() as Bytes32, amount: g.amount, left: lower(left), right: lower(right) }
  })
  for (let i = 1; i < parsed.length; i++) {
    if (parsed[i - 1]!.target >= parsed[i]!.target) throw new InvalidOutcomeError('guarantees must be sorted by target, without duplicates')
  }
  return {
    asset,
    leader: { destination: lower(leader.destination), amount: leader.amount },
    follower: { destination: lower(follower.destination), amount: follower.amount },
    guarantees: parsed,
  }
}

export function totalOf(o: LedgerOutcome): bigint {
  return o.guarantees.reduce((sum, g) => sum + g.amount, o.leader.amount + o.follower.amount)
}

export function findGuarantee(o: LedgerOutcome, target: Bytes32): Guarantee | undefined {
  const wanted = target.toLowerCase()
  return o.guarantees.find((g) => g.target === wanted)
}

function lower(d: Destination): Destination {
  return d.toLowerCase() as Destination
}
