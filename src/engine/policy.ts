// The node's policy for what others start (DESIGN §5 "Consent and money", ADR 0015): a peer that starts an
// objective with this node — a ledger it asks me to fund, an app channel it opens with a deposit of mine, a
// virtual channel that needs me as intermediary, a payment channel that pays me — asks the node to commit its
// owner's money or keep state for it. Each such start passes these rules before the node signs anything;
// a refusal is a typed error (one code per rule), counted, and noticed to the peer.
//
// Pure: the engine hands in what the start would cost and what this peer's earlier starts already cost.
import type { Address } from '../core/types.js'
import { RejectedInputError } from '../core/errors.js'
import { MAX_UINT256 } from '../core/limits.js'
import { MAX_OPENING_PER_PEER } from './limits.js'
import { ZERO_ADDRESS } from '../core/canonical.js'

export interface PeerPolicy {
  /** Peers that may start objectives with me: 'any', or an allow list. Receiving a payment needs no entry. */
  readonly peers: 'any' | readonly Address[]
  /**
   * Assets a channel others start may hold: a list (0x0 is ETH), or 'any'. Not 'any' by default: a ledger in a
   * token a peer made makes me call its code and pay gas for a worthless deposit.
   */
  readonly assets: 'any' | readonly Address[]
  /** The most I deposit into, or lock for, one channel that another started. */
  readonly maxPerChannel: bigint
  /** The most I keep committed with one peer at once in one asset, counting every open channel with it (closed ones free it). */
  readonly maxPerPeer: bigint
  /** Challenge durations (seconds) I accept: too short and I cannot answer a challenge, too long and my money is stuck. */
  readonly challengeDurationSec: { readonly min: number; readonly max: number }
}

const THIRTY_DAYS_SEC = 30 * 24 * 3600
const ETH: Address = ZERO_ADDRESS

/** What an engine does when its owner configured nothing: refuse every objective another starts, except paying me. */
export const REFUSE_UNSOLICITED: PeerPolicy = {
  peers: [],
  assets: [ETH],
  maxPerChannel: 0n,
  maxPerPeer: 0n,
  challengeDurationSec: { min: 60, max: THIRTY_DAYS_SEC },
}

/** Accepts any peer and amount of ETH within the default challenge-duration bounds: a hub's starting point, and tests'. */
export const ACCEPT_ANY_PEER: PeerPolicy = {
  peers: 'any',
  assets: [ETH],
  maxPerChannel: MAX_UINT256,
  maxPerPeer: MAX_UINT256,
  challengeDurationSec: { min: 60, max: THIRTY_DAYS_SEC },
}

/**
 * The role another's objective gives me: `ledger` (I fund my share of a ledger channel), `app` (my deposit in an
 * app channel), `intermediary` (I lock funds in a guarantee on my next ledger), `payee` (I am paid; nothing of
 * mine is committed).
 */
export type CommitmentRole = 'ledger' | 'app' | 'intermediary' | 'payee'

/** What starting another's objective would commit of mine. */
export interface Commitment {
  readonly from: Address
  readonly role: CommitmentRole
  readonly asset: Address
  /** What I would deposit or lock, in the asset's base units. */
  readonly amount: bigint
  readonly challengeDurationSec: number
  /**
   * Whether I would deposit before anyone else does: on chain, participants deposit in order, so that is when
   * the deposits before mine add up to nothing (I am first, or those before me put in 0).
   */
  readonly depositsFirst: boolean
}

export class PeerNotAllowedError extends RejectedInputError {
  readonly code = 'peer_not_allowed'
}
export class AssetNotAllowedError extends RejectedInputError {
  readonly code = 'asset_not_allowed'
}
export class ChannelLimitError extends RejectedInputError {
  readonly code = 'over_channel_limit'
}
export class PeerLimitError extends RejectedInputError {
  readonly code = 'over_peer_limit'
}
export class ChallengeDurationError extends RejectedInputError {
  readonly code = 'challenge_duration_out_of_bounds'
}
/** A ledger another starts puts me first to deposit: it could walk away with mine locked until a dispute. */
export class DepositOrderError extends RejectedInputError {
  readonly code = 'deposit_order'
}

/** What the engine counts of a peer's current business with me when it starts something more. */
export interface PeerLoad {
  /** What I keep committed with this peer now, in the asset of the new commitment (commitments.ts committedTo). */
  readonly committed: bigint
  /** Its objectives with me that have not finished opening (commitments.ts openingWith). */
  readonly opening: number
}

export class TooManyOpeningError extends RejectedInputError {
  readonly code = 'too_many_opening'
}

/**
 * Throws the first rule `c` breaks, given what the peer already has going with me. A payee commits nothing, so
 * only the challenge duration and the bound on openings apply to it. `peerLoad` is asked last, once the cheap
 * rules passed: it scans the node's objectives, and a stranger's start must not cost that.
 */
export function checkCommitment(policy: PeerPolicy, c: Commitment, peerLoad: () => PeerLoad): void {
  const payee = c.role === 'payee'
  if (!payee && policy.peers !== 'any' && !policy.peers.includes(c.from)) {
    throw new PeerNotAllowedError('this node does not accept objectives from this peer', { from: c.from, role: c.role })
  }
  const { min, max } = policy.challengeDurationSec
  if (c.challengeDurationSec < min || c.challengeDurationSec > max) {
    throw new ChallengeDurationError(`a challenge duration of ${c.challengeDurationSec} s is outside ${min}..${max} s`, { challengeDuration: c.challengeDurationSec, min, max })
  }
  if (!payee) {
    if (policy.assets !== 'any' && !policy.assets.includes(c.asset)) {
      throw new AssetNotAllowedError('this node does not accept channels in this asset', { asset: c.asset })
    }
    if (c.depositsFirst && c.amount > 0n) {
      throw new DepositOrderError('a channel another starts must have its starter deposit first: put me after it, with a deposit', { from: c.from })
    }
    if (c.amount > policy.maxPerChannel) {
      throw new ChannelLimitError(`committing ${c.amount} exceeds the limit of ${policy.maxPerChannel} per channel`, { amount: c.amount, limit: policy.maxPerChannel })
    }
  }
  const load = peerLoad()
  if (load.opening >= MAX_OPENING_PER_PEER) {
    throw new TooManyOpeningError(`${load.opening} channels with this peer are still opening (at most ${MAX_OPENING_PER_PEER})`, { from: c.from, opening: load.opening })
  }
  if (payee) return
  if (load.committed + c.amount > policy.maxPerPeer) {
    throw new PeerLimitError(`committing ${c.amount} more to this peer's channels exceeds the limit of ${policy.maxPerPeer}`, {
      amount: c.amount,
      committed: load.committed,
      limit: policy.maxPerPeer,
    })
  }
}
