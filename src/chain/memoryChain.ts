// An in-memory model of our adjudicator behind the ChainService interface (DESIGN §2, §6, §7), faithful to
// contracts/NitroAdjudicator.sol and contracts/adjudicator/* (Nitro v2's, with the departures of
// docs/adr/0008-contracts.md): holdings per (asset, channel), `deposit` with the expected-holdings check;
// `challenge`, `checkpoint`, `conclude` on the status word (turnNumRecord, finalizesAt, fingerprint);
// `transferAllAssets` and `concludeAndTransferAllAssets` paying every asset in priority order through the
// same rule the node uses to predict it (protocols/outcome/transfer.ts); `reclaim` through
// protocols/outcome/reclaim.ts. Whether a state is supported is decided as contracts/ConsensusApp.sol
// does, or contracts/VirtualPaymentApp.sol for channels whose appDefinition is the `virtualPaymentApp`
// option. It also keeps the external balances of accounts, so tests can check that funds are conserved.
//
// Modelled as on chain:
// - One transaction mines one block; its events carry the block number and their index in it. A reverted
//   transaction changes nothing and mines nothing (the real ChainService simulates before sending).
//   transferAllAssets and reclaim judge finalization at the timestamp of the block they land in, the next one.
// - Revert reasons are the contracts' strings (RevertReason), in the contracts' order of checks.
// - Paying an internal destination (a channel id) credits its holdings without any event, exactly as the
//   contract does: a node funded this way learns of it from `holdings()`, not from a `deposited` event.
// - When the payout leaves every allocation at zero the channel's status is deleted, so the channel reads
//   as open again and could be concluded again; a partly paid channel stays finalized and registers what is
//   left to pay, which a later transferAllAssets names. A conclude registers the zero state hash.
// - Events carry the channel id in lowercase and the asset checksummed, as viem decodes logs.
// Departures: a zero deposit is refused (the contract accepts it; it is always an engine bug and wastes
// gas); a high-s signature is refused as 'Invalid signature' (raw ecrecover accepts it; our nodes never make
// one, DESIGN §3); logIndex counts the adjudicator's logs only (token Transfer logs take indices on chain).
// A checkpoint emits nothing: the contract's Checkpointed and ChallengeCleared have no ChainLogEvent kind
// (the viem ChainService does not deliver them either), so only the status changes. `reclaimed` carries
// the source's whole outcome after the reclaim, where the contract's Reclaimed names only the asset index.
// Every app but the virtual payment app is modelled as the consensus app (unit tests' app channels use it;
// on chain their own app decides). A panic on overflow is reported as RevertReason.underflow (0x11 both).
// challenge, checkpoint and conclude judge finalization at the latest block's timestamp, not at the block
// they land in: a challenge finalizing in between can still be answered here, not on chain.
// test/sim/scenarios/appFunding.test.ts answers a 1 s challenge under 12 s blocks and relies on it.
// Listeners are called asynchronously, in emission order, through `schedule` (a simulation passes its own).
import type { Address, Bytes32, Hex, Signature } from '../core/types.js'
import type { ChainService, ChainTransaction } from './chainService.js'
import type { ChainLogEvent, ReclaimTransaction } from '../protocols/onchain.js'
import type { SignedState } from '../core/signedState.js'
import type { Payout } from '../protocols/outcome/transfer.js'
import { CannotTransferGuaranteeError, computeTransferEffects } from '../protocols/outcome/transfer.js'
import { GuaranteePartyNotFoundError, computeReclaimEffects } from '../protocols/outcome/reclaim.js'
import { checkChannelId, channelId as channelIdOf } from '../core/channelId.js'
import type { State } from '../core/state.js'
import { checkState, fixedPart, variablePart } from '../core/state.js'
import { participantIndex } from '../core/signedState.js'
import { recoverChallengeSigner } from '../core/signState.js'
import { recoverHashSigner } from '../core/signatures.js'
import { recoverVoucherSigner } from '../core/voucher.js'
import type { Allocation, Exit } from '../core/outcome.js'
import { AllocationType, destinationToAddress, encodeOutcome } from '../core/outcome.js'
import { hashStateOfChannel } from '../core/hashState.js'
import { keccak256 } from '../core/keccak.js'
import { trustedHexToBytes } from '../core/hex.js'
import { InvalidChannelIdError, InvalidSignatureError, OutOfRangeError, assert } from '../core/errors.js'
import { ChainRevertedError, ChainUnavailableError, RevertReason } from './errors.js'
import { MAX_UINT256, MAX_UINT48 } from '../core/limits.js'
import { checkAddress, checkBytes32, checkUint } from '../core/validate.js'
import { toAddress, toBytes32 } from '../core/canonical.js'

export { ChainRevertedError, ChainUnavailableError, RevertReason } from './errors.js'

export interface MemoryChainOptions {
  /** The consensus app's address (default MEMORY_CONSENSUS_APP). */
  readonly consensusApp?: Address
  /** Channels with this appDefinition follow VirtualPaymentApp's rules; absent, no channel does. */
  readonly virtualPaymentApp?: Address
  /** Block timestamps are genesisTimestampSec + block × blockTimeSec: deterministic, no clock. */
  readonly genesisTimestampSec?: bigint
  readonly blockTimeSec?: bigint
  /** Runs a delivery to listeners later; default queueMicrotask. Any order of tasks keeps each listener's order. */
  readonly schedule?: (task: () => void) => void
}

/** A made-up address standing in for the deployed ConsensusApp. */
export const MEMORY_CONSENSUS_APP: Address = toAddress('0x00000000000000000000000000000000c0115e05')

type Cursor = { readonly block: bigint; readonly logIndex: number }
/** What `failNext` makes a transaction do: never reach the chain, or revert. */
export type InjectedFailure = 'unavailable' | 'reverted'

interface Subscriber {
  readonly listener: (event: ChainLogEvent) => void
  readonly queue: ChainLogEvent[]
  head: number
  scheduled: boolean
}

/**
 * A channel's status word (contracts/adjudicator/StatusManager.sol), its fingerprint kept as the two values
 * it hashes. A channel without one reads as the zero word: open at turn 0, fingerprint 0.
 */
interface ChannelStatus {
  readonly turnNumRecord: bigint
  /** 0: open. Otherwise the chain time (seconds) from which the channel is finalized. */
  readonly finalizesAt: bigint
  readonly stateHash: Bytes32
  /** abi.encode(outcome); absent where the contract registers the zero outcome hash (a checkpoint), which no outcome has. */
  readonly outcomeBytes?: Hex
}

/** A signed state as the adjudicator passes it to an app: its hash and the participants (by index) who signed it. */
interface Recovered {
  readonly state: State
  readonly stateHash: Bytes32
  readonly signedBy: ReadonlySet<number>
}

const ZERO_HASH = toBytes32(`0x${'00'.repeat(32)}`)
const key = (owner: string, asset: Address): string => `${asset.toLowerCase()}/${owner.toLowerCase()}`
const isAfter = (event: ChainLogEvent, cursor: Cursor): boolean =>
  event.block > cursor.block || (event.block === cursor.block && event.logIndex > cursor.logIndex)

export class MemoryChain implements ChainService {
  readonly consensusApp: Address
  readonly virtualPaymentApp: Address | undefined
  private readonly genesisTimestampSec: bigint
  private readonly blockTimeSec: bigint
  private readonly schedule: (task: () => void) => void
  /** holdings[asset/channelId], balances[asset/address], minted[asset]: amounts only ever move between the first two. */
  private readonly held = new Map<string, bigint>()
  private readonly balances = new Map<string, bigint>()
  private readonly minted = new Map<string, bigint>()
  private readonly status = new Map<string, ChannelStatus>()
  private readonly log: ChainLogEvent[] = []
  private readonly subscribers = new Set<Subscriber>()
  /** Injected failures still to come, as runs of one kind, in the order failNext asked for them. */
  private readonly failures: { failure: InjectedFailure; count: number }[] = []
  private block = 0n
  private timeOffsetSec = 0n

  constructor(options: MemoryChainOptions = {}) {
    this.consensusApp = options.consensusApp ?? MEMORY_CONSENSUS_APP
    checkAddress(this.consensusApp, 'consensusApp')
    if (options.virtualPaymentApp !== undefined) checkAddress(options.virtualPaymentApp, 'virtualPaymentApp')
    this.virtualPaymentApp = options.virtualPaymentApp === undefined ? undefined : toAddress(options.virtualPaymentApp)
    this.genesisTimestampSec = options.genesisTimestampSec ?? 1_700_000_000n
    this.blockTimeSec = options.blockTimeSec ?? 12n
    this.schedule = options.schedule ?? ((task) => queueMicrotask(task))
  }

  /** A ChainService whose transactions are sent by `account` (deposits debit its balance). */
  connect(account: Address): ChainService & { readonly account: Address } {
    checkAddress(account, 'account')
    return {
      account,
      consensusApp: this.consensusApp,
      submit: (tx) => this.submit(tx, account),
      holdings: (channelId, asset) => this.holdings(channelId, asset),
      subscribe: (listener, cursor) => this.subscribe(listener, cursor),
    }
  }

  /**
   * Applies `tx` sent by `from` (required for a deposit; use `connect`). Rejects with ChainRevertedError
   * (`chain_reverted`), ChainUnavailableError (`chain_unavailable`, injected only), or the core's typed
   * error for a transaction that could not be encoded (a malformed state, address or amount).
   */
  async submit(tx: ChainTransaction, from?: Address): Promise<void> {
    const failure = this.takeFailure()
    if (failure === 'unavailable') throw new ChainUnavailableError('chain unavailable (injected)', { kind: tx.kind })
    if (failure === 'reverted') throw new ChainRevertedError(RevertReason.injected, { kind: tx.kind })
    switch (tx.kind) {
      case 'deposit':
        assert(from !== undefined, 'a deposit needs a sender: submit through chain.connect(account)')
        return this.deposit(tx, from)
      case 'concludeAndWithdraw':
        return this.concludeAndWithdraw(tx.signedState)
      case 'conclude':
        return this.conclude(tx.signedState)
      case 'challenge':
        return this.challenge(tx)
      case 'checkpoint':
        return this.checkpoint(tx)
      case 'reclaim':
        return this.reclaim(tx)
      case 'transferAllAssets':
        return this.transferAllAssets(tx.channelId, tx.outcome, tx.stateHash)
      default:
        assert(false, 'unknown transaction kind', { kind: (tx as { kind: unknown }).kind })
    }
  }

  async holdings(channelId: Bytes32, asset: Address): Promise<bigint> {
    checkBytes32(channelId, 'channelId')
    checkAddress(asset, 'asset')
    return this.heldOf(channelId, asset)
  }

  subscribe(listener: (event: ChainLogEvent) => void, cursor?: Cursor): () => void {
    if (cursor !== undefined) {
      checkUint(cursor.block, 'cursor.block', MAX_UINT256)
      if (!Number.isSafeInteger(cursor.logIndex) || cursor.logIndex < 0) {
        throw new OutOfRangeError('cursor.logIndex must be a non-negative integer', { field: 'cursor.logIndex', value: cursor.logIndex })
      }
    }
    const subscriber: Subscriber = { listener, queue: [], head: 0, scheduled: false }
    this.subscribers.add(subscriber)
    for (const event of this.log) if (cursor === undefined || isAfter(event, cursor)) subscriber.queue.push(event)
    this.wake(subscriber)
    return () => {
      subscriber.queue.length = 0 // also ends a drain in progress
      this.subscribers.delete(subscriber)
    }
  }

  // ---- test helpers ----

  /** Mints `amount` of `asset` to `address` (a test account's starting money). Not a transaction. */
  fund(address: Address, asset: Address, amount: bigint): void {
    checkAddress(address, 'address')
    checkAddress(asset, 'asset')
    checkUint(amount, 'amount', MAX_UINT256)
    const minted = (this.minted.get(asset.toLowerCase()) ?? 0n) + amount
    // Bounding the supply by uint256 bounds every balance and holding by it too (they only move it around).
    if (minted > MAX_UINT256) throw new OutOfRangeError('total supply would exceed uint256', { field: 'amount', value: amount })
    this.minted.set(asset.toLowerCase(), minted)
    this.credit(this.balances, address, asset, amount)
  }

  balanceOf(address: Address, asset: Address): bigint {
    checkAddress(address, 'address')
    checkAddress(asset, 'asset')
    return this.balances.get(key(address, asset)) ?? 0n
  }

  /** Whether the channel is finalized at the latest block (concluded or challenged, and not yet fully paid out). */
  isFinalized(channelId: Bytes32): boolean {
    checkBytes32(channelId, 'channelId')
    return this.finalizedBy(this.statusOf(toBytes32(channelId)), this.block)
  }

  /** The adjudicator's unpackStatus view: fingerprint = uint160(keccak256(abi.encode(stateHash, outcomeHash))), 0 if never written. */
  unpackStatus(channelId: Bytes32): { readonly turnNumRecord: bigint; readonly finalizesAt: bigint; readonly fingerprint: bigint } {
    checkBytes32(channelId, 'channelId')
    const status = this.status.get(toBytes32(channelId))
    if (status === undefined) return { turnNumRecord: 0n, finalizesAt: 0n, fingerprint: 0n }
    const outcomeHash = status.outcomeBytes === undefined ? ZERO_HASH : keccak256(trustedHexToBytes(status.outcomeBytes))
    const hash = keccak256(trustedHexToBytes(status.stateHash), trustedHexToBytes(outcomeHash))
    return { turnNumRecord: status.turnNumRecord, finalizesAt: status.finalizesAt, fingerprint: BigInt(`0x${hash.slice(-40)}`) }
  }

  /** Moves the chain's clock on: later blocks are stamped `seconds` later (a challenge waiting to finalize). */
  advanceTime(seconds: bigint): void {
    checkUint(seconds, 'seconds', MAX_UINT256)
    this.timeOffsetSec += seconds
  }

  /** Every event emitted so far, in order. */
  events(): readonly ChainLogEvent[] {
    return [...this.log]
  }

  blockNumber(): bigint {
    return this.block
  }

  /** The next `count` transactions fail without effect: unreachable node, or a revert. */
  failNext(count: number, failure: InjectedFailure = 'unavailable'): void {
    if (!Number.isSafeInteger(count) || count < 0) {
      throw new OutOfRangeError('count must be a non-negative integer', { field: 'count', value: count })
    }
    if (count > 0) this.failures.push({ failure, count })
  }

  /** Resolves once every delivery scheduled so far has run (with the default, FIFO, schedule). */
  delivered(): Promise<void> {
    return new Promise((resolve) => this.schedule(resolve))
  }

  private takeFailure(): InjectedFailure | undefined {
    const run = this.failures[0]
    if (run === undefined) return undefined
    if (--run.count === 0) this.failures.shift()
    return run.failure
  }

  // ---- the adjudicator ----

  private deposit(tx: Extract<ChainTransaction, { kind: 'deposit' }>, from: Address): void {
    checkAddress(from, 'from')
    checkAddress(tx.asset, 'asset')
    checkBytes32(tx.channelId, 'channelId')
    checkUint(tx.expectedHeld, 'expectedHeld', MAX_UINT256)
    checkUint(tx.amount, 'amount', MAX_UINT256)
    try {
      checkChannelId(tx.channelId)
    } catch (error) {
      if (error instanceof InvalidChannelIdError) throw new ChainRevertedError(RevertReason.externalDestination, { channelId: tx.channelId }, { cause: error })
      throw error
    }
    if (tx.amount === 0n) throw new ChainRevertedError(RevertReason.zeroDeposit, { channelId: tx.channelId })
    const held = this.heldOf(tx.channelId, tx.asset)
    if (held !== tx.expectedHeld) throw new ChainRevertedError(RevertReason.heldChanged, { channelId: tx.channelId, expectedHeld: tx.expectedHeld, held })
    const balance = this.balances.get(key(from, tx.asset)) ?? 0n
    if (balance < tx.amount) throw new ChainRevertedError(RevertReason.insufficientBalance, { from, balance, amount: tx.amount })

    this.balances.set(key(from, tx.asset), balance - tx.amount)
    this.held.set(key(tx.channelId, tx.asset), held + tx.amount)
    const block = this.mine()
    this.emit({ kind: 'deposited', channelId: toBytes32(tx.channelId), asset: toAddress(tx.asset), nowHeld: held + tx.amount, block, logIndex: 0 })
    this.checkConserved(tx.asset)
  }

  /** NitroAdjudicator.concludeAndTransferAllAssets: every check and computation first, then the effects. */
  private concludeAndWithdraw(signed: SignedState): void {
    const id = this.requireConclusion(signed)
    this.payOut(id, signed.state.outcome, ZERO_HASH, () => {
      const block = this.mine()
      const finalizesAt = this.timestampOf(block)
      this.emit({ kind: 'concluded', channelId: id, finalizesAt, block, logIndex: 0 })
      // The status it keeps if something is left to pay is conclude's: turn 0, the zero state hash.
      return { block, logIndex: 1, finalizesAt, turnNumRecord: 0n }
    })
  }

  /** ForceMove.conclude: a final state signed by all finalizes the channel in this block, paying nothing. */
  private conclude(signed: SignedState): void {
    const id = this.requireConclusion(signed)
    const block = this.mine()
    const finalizesAt = this.timestampOf(block)
    this.status.set(id, { turnNumRecord: 0n, finalizesAt, stateHash: ZERO_HASH, outcomeBytes: encodeOutcome(signed.state.outcome) })
    this.emit({ kind: 'concluded', channelId: id, finalizesAt, block, logIndex: 0 })
  }

  /**
   * ForceMove.challenge: registers a state the channel's app supports; the channel finalizes with it
   * challengeDuration after this block unless a later state clears it. An open channel takes any turn from
   * its record on; one under challenge only a later turn.
   */
  private challenge(tx: Extract<ChainTransaction, { kind: 'challenge' }>): void {
    const { candidate, challengerSignature } = tx
    const { state } = candidate
    checkState(state)
    const id = channelIdOf(fixedPart(state))
    const status = this.statusOf(id)
    if (status.finalizesAt === 0n) {
      if (state.turnNum < status.turnNumRecord) throw new ChainRevertedError(RevertReason.turnNumDecreased, { channelId: id, turnNumRecord: status.turnNumRecord })
    } else {
      if (this.finalizedBy(status, this.block)) throw new ChainRevertedError(RevertReason.channelFinalized, { channelId: id })
      if (state.turnNum <= status.turnNumRecord) throw new ChainRevertedError(RevertReason.turnNumNotIncreased, { channelId: id, turnNumRecord: status.turnNumRecord })
    }
    const stateHash = this.requireSupported(id, candidate, tx.proof ?? [])
    let challenger: Address
    try {
      challenger = recoverChallengeSigner(state, challengerSignature)
    } catch (error) {
      if (error instanceof InvalidSignatureError) throw new ChainRevertedError(RevertReason.invalidSignature, { channelId: id }, { cause: error })
      throw error
    }
    if (participantIndex(state, challenger) < 0) throw new ChainRevertedError(RevertReason.challengerNotParticipant, { channelId: id, challenger })
    // uint48 arithmetic on chain: a duration carrying finalizesAt past 2^48 panics (0x11) instead of wrapping.
    const finalizesAt = this.timestampOf(this.block + 1n) + BigInt(state.challengeDuration)
    if (finalizesAt > MAX_UINT48) throw new ChainRevertedError(RevertReason.underflow, { channelId: id, finalizesAt })
    const block = this.mine()
    this.status.set(id, { turnNumRecord: state.turnNum, finalizesAt, stateHash, outcomeBytes: encodeOutcome(state.outcome) })
    this.emit({ kind: 'challenged', channelId: id, turnNumRecord: state.turnNum, finalizesAt, candidate: variablePart(state), block, logIndex: 0 })
  }

  /** ForceMove.checkpoint: a later supported state opens the channel at its turn, clearing a challenge not yet final. */
  private checkpoint(tx: Extract<ChainTransaction, { kind: 'checkpoint' }>): void {
    const { state } = tx.candidate
    checkState(state)
    const id = channelIdOf(fixedPart(state))
    const status = this.statusOf(id)
    if (this.finalizedBy(status, this.block)) throw new ChainRevertedError(RevertReason.channelFinalized, { channelId: id })
    if (state.turnNum <= status.turnNumRecord) throw new ChainRevertedError(RevertReason.turnNumNotIncreased, { channelId: id, turnNumRecord: status.turnNumRecord })
    this.requireSupported(id, tx.candidate, tx.proof ?? [])
    this.mine()
    // The contract emits Checkpointed or ChallengeCleared here; ChainLogEvent has neither (file comment).
    this.status.set(id, { turnNumRecord: state.turnNum, finalizesAt: 0n, stateHash: ZERO_HASH })
  }

  /** NitroAdjudicator.transferAllAssets: a finalized channel pays out the outcome its status registers. */
  private transferAllAssets(channelId: Bytes32, outcome: Exit, stateHash: Bytes32): void {
    checkBytes32(channelId, 'channelId')
    checkBytes32(stateHash, 'stateHash')
    const id = toBytes32(channelId)
    this.requireFinalizedWith(id, stateHash, encodeOutcome(outcome))
    const { finalizesAt, turnNumRecord } = this.statusOf(id)
    this.payOut(id, outcome, toBytes32(stateHash), () => ({ block: this.mine(), logIndex: 0, finalizesAt, turnNumRecord }))
  }

  /**
   * MultiAssetHolder.reclaim: both channels finalized with the outcomes named, the source's guarantee for the
   * target is replaced by the target's two amounts (protocols/outcome/reclaim.ts), and the source's status
   * registers its new outcome, which its transferAllAssets must then name. Checks in the contract's order.
   */
  private reclaim(tx: ReclaimTransaction): void {
    for (const field of ['sourceChannelId', 'sourceStateHash', 'targetStateHash'] as const) checkBytes32(tx[field], field)
    for (const field of ['sourceAssetIndex', 'indexOfTargetInSource', 'targetAssetIndex'] as const) checkUint(tx[field], field, MAX_UINT256)
    // Both outcomes travel as bytes: one that cannot be encoded never reaches the chain.
    const [sourceBytes, targetBytes] = [encodeOutcome(tx.sourceOutcome), encodeOutcome(tx.targetOutcome)]
    const sourceId = toBytes32(tx.sourceChannelId)
    const refuse = (reason: RevertReason, details: Record<string, unknown> = {}) => new ChainRevertedError(reason, { channelId: sourceId, ...details })
    this.requireFinalizedWith(sourceId, tx.sourceStateHash, sourceBytes)
    if (tx.sourceAssetIndex >= BigInt(tx.sourceOutcome.length)) throw refuse(RevertReason.sourceAssetIndexOutOfRange)
    const assetIndex = Number(tx.sourceAssetIndex)
    const source = tx.sourceOutcome[assetIndex]!
    if (tx.indexOfTargetInSource >= BigInt(source.allocations.length)) throw refuse(RevertReason.indexOfTargetOutOfRange)
    const index = Number(tx.indexOfTargetInSource)
    const guarantee = source.allocations[index]!
    if (guarantee.allocationType !== AllocationType.guarantee) throw refuse(RevertReason.notAGuarantee, { index })
    if (guarantee.metadata.length !== 2 + 64 * 2) throw refuse(RevertReason.badGuaranteeMetadata, { index })
    // The target is the channel the guarantee names, not one the caller picks.
    const targetId = toBytes32(guarantee.destination)
    this.requireFinalizedWith(targetId, tx.targetStateHash, targetBytes)
    if (tx.targetAssetIndex >= BigInt(tx.targetOutcome.length)) throw refuse(RevertReason.targetAssetIndexOutOfRange, { target: targetId })
    const target = tx.targetOutcome[Number(tx.targetAssetIndex)]!
    if (target.asset.toLowerCase() !== source.asset.toLowerCase()) throw refuse(RevertReason.targetAssetMismatch, { target: targetId })
    if (target.allocations.length !== 2) throw refuse(RevertReason.targetNotTwoAllocations, { target: targetId })
    // The contract adds the two amounts (checked: past uint256 panics) before it looks for left and right.
    const reclaimed = target.allocations[0]!.amount + target.allocations[1]!.amount
    if (reclaimed > MAX_UINT256) throw refuse(RevertReason.underflow, { target: targetId })
    if (reclaimed !== guarantee.amount) throw refuse(RevertReason.reclaimAmountMismatch, { guaranteed: guarantee.amount, reclaimed })
    let allocations: Allocation[]
    try {
      allocations = computeReclaimEffects({ sourceAllocations: source.allocations, targetAllocations: target.allocations, indexOfTargetInSource: index })
    } catch (error) {
      if (error instanceof GuaranteePartyNotFoundError) {
        throw new ChainRevertedError('left' in error.details ? RevertReason.leftNotFound : RevertReason.rightNotFound, { channelId: sourceId }, { cause: error })
      }
      // The index was checked above: what is left out of range is an amount past uint256 (checked addition, Panic 0x11).
      if (error instanceof OutOfRangeError) throw new ChainRevertedError(RevertReason.underflow, { channelId: sourceId }, { cause: error })
      throw error
    }
    const outcome: Exit = tx.sourceOutcome.map((exit, i) => (i === assetIndex ? { ...exit, allocations } : exit))
    const status = this.statusOf(sourceId)
    const block = this.mine()
    this.status.set(sourceId, { ...status, stateHash: toBytes32(tx.sourceStateHash), outcomeBytes: encodeOutcome(outcome) })
    this.emit({ kind: 'reclaimed', channelId: sourceId, outcome, block, logIndex: 0 })
  }

  /**
   * Pays `outcome` from a finalized channel's holdings, as _transferAll does: every check first (a revert
   * changes nothing), then `mine` (the block, its first events, the status to keep), the effects, the interactions.
   */
  private payOut(id: Bytes32, outcome: Exit, stateHash: Bytes32, mine: () => { block: bigint; logIndex: number; finalizesAt: bigint; turnNumRecord: bigint }): void {
    // Assets are paid one after another, each from what the earlier ones left: an asset listed twice pays
    // its second entry from the rest (Nitro v2 pays both from the initial holdings; docs/adr/0008 row 7).
    const running = new Map<string, bigint>()
    const plans = outcome.map((exit) => {
      const initial = running.get(exit.asset.toLowerCase()) ?? this.heldOf(id, exit.asset)
      try {
        const effects = computeTransferEffects(initial, exit.allocations, [])
        running.set(exit.asset.toLowerCase(), initial - effects.totalPayouts)
        return { asset: exit.asset, finalHoldings: initial - effects.totalPayouts, ...effects }
      } catch (error) {
        if (error instanceof CannotTransferGuaranteeError) throw new ChainRevertedError(RevertReason.guarantee, { channelId: id, asset: exit.asset }, { cause: error })
        throw error
      }
    })

    const mined = mine()
    const { block, finalizesAt, turnNumRecord } = mined
    let logIndex = mined.logIndex
    for (const { asset, finalHoldings } of plans) {
      this.held.set(key(id, asset), finalHoldings)
      this.emit({ kind: 'allocationUpdated', channelId: id, asset: toAddress(asset), finalHoldings, block, logIndex: logIndex++ })
    }
    const paidInFull = plans.every((plan) => plan.newAllocations.every((a) => a.amount === 0n))
    if (paidInFull) this.status.delete(id)
    else {
      // What is left to pay stays payable: a later transferAllAssets names the reduced outcome (after a top-up).
      const reduced: Exit = outcome.map((exit, i) => ({ ...exit, allocations: plans[i]!.newAllocations }))
      this.status.set(id, { turnNumRecord, finalizesAt, stateHash, outcomeBytes: encodeOutcome(reduced) })
    }
    // Interactions last, as in the contract: pay addresses, credit channels.
    for (const { asset, payouts } of plans) this.pay(asset, payouts)
    for (const { asset } of plans) this.checkConserved(asset)
  }

  /** ForceMove._requireConclusion: not finalized, final, signed by every participant; the app is not asked. */
  private requireConclusion(signed: SignedState): Bytes32 {
    const { state } = signed
    checkState(state)
    const id = channelIdOf(fixedPart(state))
    if (this.finalizedBy(this.statusOf(id), this.block)) throw new ChainRevertedError(RevertReason.channelFinalized, { channelId: id })
    if (!state.isFinal) throw new ChainRevertedError(RevertReason.notFinal, { channelId: id })
    const { signedBy } = this.recover(id, state.participants, signed)
    if (!isUnanimous(signedBy, state.participants.length)) {
      throw new ChainRevertedError(RevertReason.notUnanimous, { channelId: id, signedBy: [...signedBy].sort((a, b) => a - b) })
    }
    return id
  }

  /**
   * ForceMove._requireSupported: who signed each state is recovered first (a bad signature anywhere reverts),
   * then the channel's app decides, and its reason is the revert's. Returns the candidate's hash.
   */
  private requireSupported(id: Bytes32, candidate: SignedState, proof: readonly SignedState[]): Bytes32 {
    proof.forEach((signed, i) => checkState(signed.state, `proof[${i}]`))
    const { participants, appDefinition } = candidate.state
    const recoveredProof = proof.map((signed) => this.recover(id, participants, signed))
    const recovered = this.recover(id, participants, candidate)
    const isPaymentChannel = this.virtualPaymentApp !== undefined && appDefinition.toLowerCase() === this.virtualPaymentApp.toLowerCase()
    const refusal = isPaymentChannel ? virtualPaymentAppRefusal(id, participants, recoveredProof, recovered) : consensusAppRefusal(participants.length, recoveredProof, recovered)
    if (refusal !== undefined) throw new ChainRevertedError(refusal, { channelId: id })
    return recovered.stateHash
  }

  /**
   * NitroUtils.signedBy: the participants whose signature on the state is among `signed`'s, whatever the slot;
   * anyone else's counts for nothing. A proof carries only variable parts on chain, so every state is hashed
   * under the candidate's channel id and counted against its participants.
   */
  private recover(id: Bytes32, participants: readonly Address[], signed: SignedState): Recovered {
    const stateHash = hashStateOfChannel(id, signed.state)
    const signedBy = new Set<number>()
    for (const signature of signed.signatures) {
      if (signature === null) continue
      let signer: Address
      try {
        signer = recoverHashSigner(stateHash, signature)
      } catch (error) {
        if (error instanceof InvalidSignatureError) throw new ChainRevertedError(RevertReason.invalidSignature, { channelId: id }, { cause: error })
        throw error
      }
      const index = participants.indexOf(signer)
      if (index >= 0) signedBy.add(index)
    }
    return { state: signed.state, stateHash, signedBy }
  }

  /** StatusManager._requireFinalizedWith: finalized in the block this transaction lands in, with this state hash and outcome. */
  private requireFinalizedWith(id: Bytes32, stateHash: Bytes32, outcomeBytes: Hex): void {
    const status = this.statusOf(id)
    if (!this.finalizedBy(status, this.block + 1n)) throw new ChainRevertedError(RevertReason.notFinalized, { channelId: id })
    if (status.stateHash !== toBytes32(stateHash) || status.outcomeBytes !== outcomeBytes) {
      throw new ChainRevertedError(RevertReason.incorrectFingerprint, { channelId: id })
    }
  }

  private pay(asset: Address, payouts: readonly Payout[]): void {
    for (const { destination, amount } of payouts) {
      if (amount === 0n) continue
      const address = destinationToAddress(destination)
      if (address !== undefined) this.credit(this.balances, address, asset, amount)
      else this.credit(this.held, destination, asset, amount)
    }
  }

  private credit(map: Map<string, bigint>, owner: string, asset: Address, amount: bigint): void {
    const k = key(owner, asset)
    map.set(k, (map.get(k) ?? 0n) + amount)
  }

  private heldOf(channelId: Bytes32, asset: Address): bigint {
    return this.held.get(key(channelId, asset)) ?? 0n
  }

  /** Funds only move between balances and holdings: their sum per asset is what was minted. */
  private checkConserved(asset: Address): void {
    const prefix = `${asset.toLowerCase()}/`
    let total = 0n
    for (const map of [this.balances, this.held]) for (const [k, amount] of map) if (k.startsWith(prefix)) total += amount
    assert(total === (this.minted.get(asset.toLowerCase()) ?? 0n), 'funds not conserved', { asset, total })
  }

  private timestampOf(block: bigint): bigint {
    return this.genesisTimestampSec + block * this.blockTimeSec + this.timeOffsetSec
  }

  private statusOf(id: Bytes32): ChannelStatus {
    return this.status.get(id) ?? { turnNumRecord: 0n, finalizesAt: 0n, stateHash: ZERO_HASH }
  }

  /** StatusManager._isFinalized at `block`'s timestamp (the next block is the one a transaction sent now lands in). */
  private finalizedBy(status: ChannelStatus, block: bigint): boolean {
    return status.finalizesAt !== 0n && status.finalizesAt <= this.timestampOf(block)
  }

  private mine(): bigint {
    this.block += 1n
    return this.block
  }

  private emit(event: ChainLogEvent): void {
    this.log.push(event)
    for (const subscriber of this.subscribers) {
      subscriber.queue.push(event)
      this.wake(subscriber)
    }
  }

  private wake(subscriber: Subscriber): void {
    if (subscriber.scheduled || subscriber.head >= subscriber.queue.length) return
    subscriber.scheduled = true
    this.schedule(() => this.drain(subscriber))
  }

  /** Delivers a subscriber's queue in order. A listener that throws stops this drain; the rest follow in the next. */
  private drain(subscriber: Subscriber): void {
    subscriber.scheduled = false
    try {
      while (subscriber.head < subscriber.queue.length) {
        const event = subscriber.queue[subscriber.head++]!
        subscriber.listener(event)
      }
    } finally {
      if (subscriber.head >= subscriber.queue.length) {
        subscriber.queue.length = 0
        subscriber.head = 0
      } else {
        this.wake(subscriber)
      }
    }
  }
}

// ---- the apps' stateIsSupported, in their order of checks; each returns its refusal, or undefined if supported ----

/** NitroUtils.isUnanimous: every participant signed (signedBy holds participant indices only). */
function isUnanimous(signedBy: ReadonlySet<number>, participantCount: number): boolean {
  return participantCount > 0 && signedBy.size === participantCount
}

/** contracts/ConsensusApp.sol: no proof, and the candidate signed by every participant. */
function consensusAppRefusal(participantCount: number, proof: readonly Recovered[], candidate: Recovered): RevertReason | undefined {
  if (proof.length !== 0) return RevertReason.proofNotEmpty
  if (!isUnanimous(candidate.signedBy, participantCount)) return RevertReason.notUnanimous
  return undefined
}

/**
 * contracts/VirtualPaymentApp.sol: without proof, a state all signed at turn 0 or 1, or a final one; with the
 * unanimous postfund as proof, the payee's turn-2 redemption of a voucher by the payer (NITRO-NOTES §2.6).
 */
function virtualPaymentAppRefusal(id: Bytes32, participants: readonly Address[], proof: readonly Recovered[], candidate: Recovered): RevertReason | undefined {
  const count = participants.length
  if (count < 2) return RevertReason.needPayerAndPayee
  const { state } = candidate
  if (proof.length === 0) {
    if (!isUnanimous(candidate.signedBy, count)) return RevertReason.notUnanimousWithoutProof
    return state.turnNum <= 1n || state.isFinal ? undefined : RevertReason.badTurnNumWithoutProof
  }
  if (proof.length !== 1) return RevertReason.badProofLength
  const postfund = proof[0]!
  if (postfund.state.turnNum !== 1n) return RevertReason.badProofTurnNum
  if (!isUnanimous(postfund.signedBy, count)) return RevertReason.postfundNotUnanimous
  if (state.turnNum !== 2n) return RevertReason.badTurnNumWithProof
  if (!candidate.signedBy.has(count - 1)) return RevertReason.redemptionNotSignedByPayee
  const amount = voucherAmount(id, state.appData, participants[0]!)
  if (amount === undefined) return RevertReason.invalidVoucher
  return redemptionRefusal(postfund.state.outcome, state.outcome, amount)
}

/**
 * The amount of a voucher signed by `payer` in appData = abi.encode((uint256 amount, (uint8 v, bytes32 r,
 * bytes32 s))), four static words; undefined if it is not one. The contract reads v as a word (one past
 * uint8 is refused, not a decoder revert), then refuses v ∉ {27, 28}, a high s and no signer, as
 * parseSignature does.
 */
function voucherAmount(id: Bytes32, appData: Hex, payer: Address): bigint | undefined {
  if (appData.length !== 2 + 4 * 64) return undefined
  const word = (i: number) => appData.slice(2 + 64 * i, 2 + 64 * (i + 1))
  const amount = BigInt(`0x${word(0)}`)
  const v = BigInt(`0x${word(1)}`)
  if (v > 255n) return undefined
  const signature: Signature = `0x${word(2)}${word(3)}${v.toString(16).padStart(2, '0')}`
  try {
    return recoverVoucherSigner(id, amount, signature) === payer ? amount : undefined
  } catch (error) {
    if (error instanceof InvalidSignatureError) return undefined
    throw error
  }
}

/** VirtualPaymentApp._checkRedemption: one asset, two allocations, only the amounts change, by exactly `amount` from payer to payee. */
function redemptionRefusal(before: Exit, next: Exit, amount: bigint): RevertReason | undefined {
  if (before.length !== 1 || next.length !== 1) return RevertReason.onlyOneAsset
  const [was, now] = [before[0]!, next[0]!]
  const sameAssetMetadata = was.assetMetadata.assetType === now.assetMetadata.assetType && sameBytes(was.assetMetadata.metadata, now.assetMetadata.metadata)
  if (was.asset.toLowerCase() !== now.asset.toLowerCase() || !sameAssetMetadata) return RevertReason.assetChanged
  if (was.allocations.length !== 2 || now.allocations.length !== 2) return RevertReason.needTwoAllocations
  const [wasPayer, wasPayee] = was.allocations as [Allocation, Allocation]
  const [nowPayer, nowPayee] = now.allocations as [Allocation, Allocation]
  if (!sameButAmount(wasPayer, nowPayer) || !sameButAmount(wasPayee, nowPayee)) return RevertReason.allocationChanged
  if (wasPayer.amount < amount || nowPayer.amount !== wasPayer.amount - amount) return RevertReason.payerNotAdjusted
  // The total is conserved (Nitro's Bob' == amount would burn a starting balance of the payee's).
  if (nowPayee.amount < amount || nowPayee.amount - amount !== wasPayee.amount) return RevertReason.payeeNotAdjusted
  return undefined
}

function sameButAmount(a: Allocation, b: Allocation): boolean {
  return a.destination.toLowerCase() === b.destination.toLowerCase() && a.allocationType === b.allocationType && sameBytes(a.metadata, b.metadata)
}

function sameBytes(a: Hex, b: Hex): boolean {
  return a.toLowerCase() === b.toLowerCase()
}
