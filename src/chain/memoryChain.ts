// An in-memory model of our adjudicator behind the ChainService interface (DESIGN §2, §6, §7), faithful to
// Nitro v2's NitroAdjudicator (NITRO-NOTES §5.1): holdings per (asset, channel), `deposit` with the
// expected-holdings check, `concludeAndTransferAllAssets` paying every asset in priority order through the
// same rule the node uses to predict it (protocols/outcome/transfer.ts). It also keeps the external
// balances of accounts, so tests can check that funds are conserved.
//
// Modelled as on chain:
// - One transaction mines one block; its events carry the block number and their index in it. A reverted
//   transaction changes nothing and mines nothing (the real ChainService simulates before sending).
// - Paying an internal destination (a channel id) credits its holdings without any event, exactly as the
//   contract does: a node funded this way learns of it from `holdings()`, not from a `deposited` event.
// - When the payout leaves every allocation at zero the channel's status is deleted, so the channel reads
//   as open again and could be concluded again; a partly paid channel stays finalized.
// - Events carry the channel id in lowercase and the asset checksummed, as viem decodes logs.
// Departures: a zero deposit is refused (the contract accepts it; it is always an engine bug and wastes
// gas); a high-s signature is refused as 'Invalid signature' (raw ecrecover accepts it; our nodes never make
// one, DESIGN §3); logIndex counts the adjudicator's logs only (token Transfer logs take indices on chain).
// Listeners are called asynchronously, in emission order, through `schedule` (a simulation passes its own).
import type { Address, Bytes32, Signature } from '../core/types.js'
import type { ChainService, ChainTransaction } from './chainService.js'
import type { ChainLogEvent } from '../protocols/onchain.js'
import type { SignedState } from '../core/signedState.js'
import type { Payout } from '../protocols/outcome/transfer.js'
import { CannotTransferGuaranteeError, computeTransferEffects } from '../protocols/outcome/transfer.js'
import { checkChannelId, channelId as channelIdOf } from '../core/channelId.js'
import { checkState, fixedPart, variablePart } from '../core/state.js'
import { participantIndex } from '../core/signedState.js'
import { recoverChallengeSigner, recoverStateSigner } from '../core/signState.js'
import type { Exit } from '../core/outcome.js'
import { destinationToAddress, encodeOutcome } from '../core/outcome.js'
import { hashState } from '../core/hashState.js'
import { InvalidChannelIdError, InvalidSignatureError, OutOfRangeError, assert } from '../core/errors.js'
import { ChainRevertedError, ChainUnavailableError, RevertReason } from './errors.js'
import { MAX_UINT256 } from '../core/limits.js'
import { checkAddress, checkBytes32, checkUint } from '../core/validate.js'
import { toAddress, toBytes32 } from '../core/canonical.js'

export { ChainRevertedError, ChainUnavailableError, RevertReason } from './errors.js'

export interface MemoryChainOptions {
  /** The consensus app's address (default MEMORY_CONSENSUS_APP). */
  readonly consensusApp?: Address
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

/** A challenged or concluded channel not yet fully paid out: when it finalizes, and what it finalizes with. */
interface ChannelStatus {
  readonly finalizesAt: bigint
  readonly turnNumRecord: bigint
  /** The challenged state's hash and outcome (transferAllAssets must name them); absent after a conclude. */
  readonly stateHash?: Bytes32
  readonly outcome?: Exit
}

const key = (owner: string, asset: Address): string => `${asset.toLowerCase()}/${owner.toLowerCase()}`
const isAfter = (event: ChainLogEvent, cursor: Cursor): boolean =>
  event.block > cursor.block || (event.block === cursor.block && event.logIndex > cursor.logIndex)

export class MemoryChain implements ChainService {
  readonly consensusApp: Address
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
      case 'challenge':
        return this.challenge(tx.candidate, tx.challengerSignature)
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

  /** Whether the channel is finalized (concluded and not yet fully paid out). */
  isFinalized(channelId: Bytes32): boolean {
    checkBytes32(channelId, 'channelId')
    const status = this.status.get(channelId.toLowerCase())
    return status !== undefined && this.isFinalizedAt(status, this.timestampOf(this.block))
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
    const { state } = signed
    checkState(state)
    const id = channelIdOf(fixedPart(state))
    if (this.isFinalized(id)) throw new ChainRevertedError(RevertReason.channelFinalized, { channelId: id })
    if (!state.isFinal) throw new ChainRevertedError(RevertReason.notFinal, { channelId: id })
    this.requireUnanimous(signed, id)
    this.payOut(id, state.outcome, () => {
      const block = this.mine()
      const finalizesAt = this.timestampOf(block)
      this.emit({ kind: 'concluded', channelId: id, finalizesAt, block, logIndex: 0 })
      return { block, logIndex: 1, finalizesAt, turnNumRecord: state.turnNum }
    })
  }

  /**
   * NitroAdjudicator.challenge with the consensus app (no proof: the candidate must be signed by all): the
   * channel finalizes with the candidate challengeDuration after this block, unless a later state clears it.
   */
  private challenge(candidate: SignedState, challengerSignature: Signature): void {
    const { state } = candidate
    checkState(state)
    const id = channelIdOf(fixedPart(state))
    if (this.isFinalized(id)) throw new ChainRevertedError(RevertReason.channelFinalized, { channelId: id })
    const record = this.status.get(id)?.turnNumRecord ?? 0n
    if (state.turnNum < record) throw new ChainRevertedError(RevertReason.turnNumDecreased, { channelId: id, turnNumRecord: record })
    this.requireUnanimous(candidate, id)
    let challenger: Address
    try {
      challenger = recoverChallengeSigner(state, challengerSignature)
    } catch (error) {
      if (error instanceof InvalidSignatureError) throw new ChainRevertedError(RevertReason.invalidSignature, { channelId: id }, { cause: error })
      throw error
    }
    if (participantIndex(state, challenger) < 0) throw new ChainRevertedError(RevertReason.challengerNotParticipant, { channelId: id, challenger })
    const block = this.mine()
    const finalizesAt = this.timestampOf(block) + BigInt(state.challengeDuration)
    this.status.set(id, { finalizesAt, turnNumRecord: state.turnNum, stateHash: hashState(state), outcome: state.outcome })
    this.emit({ kind: 'challenged', channelId: id, turnNumRecord: state.turnNum, finalizesAt, candidate: variablePart(state), block, logIndex: 0 })
  }

  /** NitroAdjudicator.transferAllAssets: a finalized channel pays out the outcome its challenge registered. */
  private transferAllAssets(channelId: Bytes32, outcome: Exit, stateHash: Bytes32): void {
    checkBytes32(channelId, 'channelId')
    checkBytes32(stateHash, 'stateHash')
    const id = toBytes32(channelId)
    const status = this.status.get(id)
    if (!status || !this.isFinalizedAt(status, this.timestampOf(this.block + 1n))) throw new ChainRevertedError(RevertReason.notFinalized, { channelId: id })
    if (status.stateHash !== stateHash.toLowerCase() || status.outcome === undefined || encodeOutcome(status.outcome) !== encodeOutcome(outcome)) {
      throw new ChainRevertedError(RevertReason.incorrectFingerprint, { channelId: id })
    }
    this.payOut(id, outcome, () => ({ block: this.mine(), logIndex: 0, finalizesAt: status.finalizesAt, turnNumRecord: status.turnNumRecord }))
  }

  /**
   * Pays `outcome` from a finalized channel's holdings, as transferAllAssets does: every check first (a revert
   * changes nothing), then `mine` (the block, its first events, the status to keep), the effects, the interactions.
   */
  private payOut(id: Bytes32, outcome: Exit, mine: () => { block: bigint; logIndex: number; finalizesAt: bigint; turnNumRecord: bigint }): void {
    // transferAllAssets reads every asset's initial holdings before changing any (an asset listed twice is
    // paid twice from the same holdings, and the second subtraction may underflow).
    const plans = outcome.map((exit) => {
      try {
        return { asset: exit.asset, ...computeTransferEffects(this.heldOf(id, exit.asset), exit.allocations, []) }
      } catch (error) {
        if (error instanceof CannotTransferGuaranteeError) throw new ChainRevertedError(RevertReason.guarantee, { channelId: id, asset: exit.asset }, { cause: error })
        throw error
      }
    })
    const finalHoldings = new Map<string, bigint>()
    const finals = plans.map(({ asset, totalPayouts }) => {
      const remaining = (finalHoldings.get(asset.toLowerCase()) ?? this.heldOf(id, asset)) - totalPayouts
      if (remaining < 0n) throw new ChainRevertedError(RevertReason.underflow, { channelId: id, asset })
      finalHoldings.set(asset.toLowerCase(), remaining)
      return remaining
    })

    const mined = mine()
    const { block, finalizesAt, turnNumRecord } = mined
    let logIndex = mined.logIndex
    plans.forEach(({ asset }, i) => {
      this.held.set(key(id, asset), finals[i]!)
      this.emit({ kind: 'allocationUpdated', channelId: id, asset: toAddress(asset), finalHoldings: finals[i]!, block, logIndex: logIndex++ })
    })
    const allocatesOnlyZeros = plans.every((plan) => plan.newAllocations.every((a) => a.amount === 0n))
    if (allocatesOnlyZeros) this.status.delete(id)
    else this.status.set(id, { finalizesAt, turnNumRecord })
    // Interactions last, as in the contract: pay addresses, credit channels.
    for (const { asset, payouts } of plans) this.pay(asset, payouts)
    for (const { asset } of plans) this.checkConserved(asset)
  }

  /** Every participant signed: the contract sets one bit per recovered participant and counts them. */
  private requireUnanimous(signed: SignedState, id: Bytes32): void {
    const signedBy = new Set<number>()
    for (const signature of signed.signatures) {
      if (signature === null) continue
      let signer: Address
      try {
        signer = recoverStateSigner(signed.state, signature)
      } catch (error) {
        if (error instanceof InvalidSignatureError) throw new ChainRevertedError(RevertReason.invalidSignature, { channelId: id }, { cause: error })
        throw error
      }
      const index = participantIndex(signed.state, signer)
      if (index >= 0) signedBy.add(index)
    }
    if (signedBy.size !== signed.state.participants.length) {
      throw new ChainRevertedError(RevertReason.notUnanimous, { channelId: id, signedBy: [...signedBy].sort((a, b) => a - b) })
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

  private isFinalizedAt(status: ChannelStatus, timestamp: bigint): boolean {
    return status.finalizesAt <= timestamp
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
