// Watches the adjudicator's logs and delivers them as chain events (DESIGN §6; NITRO-NOTES §5.2, §9 lesson 8).
// It polls over HTTP (anvil's WebSocket stalls, DESIGN §9) and:
// - delivers a log only once it has `confirmations` blocks on top (head ≥ block + confirmations);
// - catches up from a cursor {block, logIndex} in chunks of at most `chunkBlocks` blocks per eth_getLogs,
//   halving a chunk the node refuses (providers cap ranges and result counts);
// - survives re-orgs: it remembers the hash of every block it delivered from and of each scanned range's
//   last block; when the last one changed it walks back to the highest remembered block still canonical
//   (or, if none is, `reorgWindowBlocks` back) and scans again from there;
// - delivers each log once: a log is known by (block, logIndex, blockHash), so a re-scan re-delivers only
//   logs a re-org actually replaced. Events carry absolute amounts (NITRO-NOTES §5.2), so a replaced event
//   delivered again is harmless to a listener that assigns rather than adds.
// AllocationUpdated names an asset index, not an asset: the asset comes from the transaction's calldata
// (concludeAndTransferAllAssets, transferAllAssets, transfer; go-nitro assumed the first only, its #759),
// else from an outcome learned earlier (calldata, ChallengeRegistered), else from `assetsOf` (the node's
// own state, lesson 8). Unresolvable, the event is reported to `onError` and skipped.
// Reclaimed names the source channel and an asset index; what a listener needs is the source's outcome after
// the reclaim, which the adjudicator only stores as a hash: it is computed from the reclaim's calldata with
// reclaim.ts's rule. Not computable (not a direct reclaim call, or calldata our rule refuses), the event is
// still delivered without it, and reported to `onError`.
import { decodeAbiParameters, decodeEventLog, decodeFunctionData, toEventSelector, toHex } from 'viem'
import type { AbiEvent, PublicClient } from 'viem'
import type { Address, Bytes32, Hex, Signature } from '../core/types.js'
import type { ChainLogEvent } from '../protocols/onchain.js'
import type { VariablePart } from '../core/state.js'
import type { Exit } from '../core/outcome.js'
import { decodeOutcome, exitAbiParameter, exitFromAbi } from '../core/outcome.js'
import { computeReclaimEffects } from '../protocols/outcome/reclaim.js'
import { toAddress, toBytes32 } from '../core/canonical.js'
import { channelId as channelIdOf } from '../core/channelId.js'
import { ChannelsError, OutOfRangeError, RejectedInputError } from '../core/errors.js'
import { checkUint } from '../core/validate.js'
import { MAX_UINT256 } from '../core/limits.js'
import { ChainUnavailableError } from './errors.js'
import { adjudicatorAbi } from './abi.js'

// ---- limits (STYLE §1; belong in src/chain/limits.ts once this layer has one) ----
/** Blocks per eth_getLogs: common provider caps are 2,000–10,000 blocks. */
export const DEFAULT_CHUNK_BLOCKS = 2_000n
/** How far back a re-org is searched for; deeper ones rescan this window (mainnet finality is 64–95 blocks). */
export const DEFAULT_REORG_WINDOW_BLOCKS = 256n
export const DEFAULT_POLLING_INTERVAL_MS = 1_000
/** Consecutive failures back off exponentially up to this. */
const MAX_BACKOFF_MS = 30_000
/** Channels whose outcome's assets are remembered for AllocationUpdated (oldest forgotten first). */
const MAX_REMEMBERED_OUTCOMES = 10_000
/** Times a refused eth_getLogs range is halved before the poll gives up. */
const MAX_CHUNK_HALVINGS = 16

/** Where delivery resumes: after (block, logIndex); `blockHash`, the hash that block had then, if the consumer kept it. */
type Cursor = { readonly block: bigint; readonly logIndex: number; readonly blockHash?: Hex }

/** An on-chain signed variable part as the adjudicator logs it: signatures in calldata order, r ‖ s ‖ v. */
export interface LoggedSignedVariablePart {
  readonly variablePart: VariablePart
  readonly signatures: readonly Signature[]
}

/** Dispute events with everything the logs and calldata tell (ViemChainService.subscribe turns some into ChainEvents). */
export type DisputeEvent =
  | {
      readonly kind: 'challengeRegistered'
      readonly channelId: Bytes32
      readonly finalizesAt: bigint
      readonly proof: readonly LoggedSignedVariablePart[]
      readonly candidate: LoggedSignedVariablePart
      readonly block: bigint
      readonly logIndex: number
    }
  | { readonly kind: 'challengeCleared'; readonly channelId: Bytes32; readonly newTurnNumRecord: bigint; readonly block: bigint; readonly logIndex: number }
  | { readonly kind: 'checkpointed'; readonly channelId: Bytes32; readonly newTurnNumRecord: bigint; readonly block: bigint; readonly logIndex: number }
  | {
      readonly kind: 'reclaimed'
      readonly channelId: Bytes32
      readonly assetIndex: bigint
      /** From the reclaim calldata; undefined if the transaction was not a direct `reclaim` call. */
      readonly asset: Address | undefined
      /**
       * The source's whole outcome after the reclaim (`outcomeAfterReclaim`), from the calldata; undefined if the
       * transaction was not a direct `reclaim` call or its calldata does not give it (both reported to onError).
       */
      readonly outcome: Exit | undefined
      readonly block: bigint
      readonly logIndex: number
    }

/** ChainLogEvent's `reclaimed` is DisputeEvent's with the outcome known: the watcher delivers the latter. */
export type WatchedEvent = Exclude<ChainLogEvent, { readonly kind: 'reclaimed' }> | DisputeEvent

/** Where a delivered event came from, beside the event (the ChainEvent shapes stay MemoryChain's). */
export interface LogOrigin {
  readonly blockHash: Hex
  readonly transactionHash: Hex
}

/** A raw adjudicator log. */
export interface ChainLog {
  readonly blockNumber: bigint
  readonly blockHash: Hex
  readonly logIndex: number
  readonly transactionHash: Hex
  readonly topics: readonly Hex[]
  readonly data: Hex
}

/** What the watcher reads from the chain; `viemLogSource` is the real one, tests inject fakes. */
export interface LogSource {
  headNumber(): Promise<bigint>
  /** The canonical hash of block `number` now, or undefined if the chain is shorter. */
  blockHash(number: bigint): Promise<Hex | undefined>
  /** The adjudicator's logs in [fromBlock, toBlock]. */
  logs(fromBlock: bigint, toBlock: bigint): Promise<readonly ChainLog[]>
  transactionInput(hash: Hex): Promise<Hex>
}

export interface EventWatcherOptions {
  readonly source: LogSource
  /** Blocks on top of a log's block before it is delivered (0: deliver logs of the head block). */
  readonly confirmations?: number
  readonly pollingIntervalMs?: number
  readonly chunkBlocks?: bigint
  readonly reorgWindowBlocks?: bigint
  /** Where to start without a cursor: the adjudicator's deployment block (default 0). */
  readonly fromBlock?: bigint
  /** The assets of a channel's outcome, in outcome order, if the node knows it. */
  readonly assetsOf?: (channelId: Bytes32) => readonly Address[] | undefined
  /** Failures the watcher survives: node unreachable, undecodable logs, a listener that threw. Default: console.error. */
  readonly onError?: (error: ChannelsError) => void
  /** A delivered block is no longer canonical: scanning resumes after `forkBlock`. */
  readonly onReorg?: (reorg: { readonly forkBlock: bigint; readonly previousScannedTo: bigint }) => void
}

/** A log the adjudicator emitted that we cannot turn into an event (bad data, unknown asset). */
export class ChainEventUndecodableError extends RejectedInputError {
  readonly code = 'chain_event_undecodable'
}
/** A listener threw while handling an event; the event counts as delivered. */
export class ChainListenerError extends ChannelsError {
  readonly code = 'chain_listener'
}

const adjudicatorEvents = adjudicatorAbi.filter((item): item is Extract<(typeof adjudicatorAbi)[number], { type: 'event' }> => item.type === 'event')
/** topic0 of every adjudicator event: the eth_getLogs filter. */
export const ADJUDICATOR_TOPICS: readonly Hex[] = adjudicatorEvents.map((event) => toEventSelector(event as AbiEvent))

const lowerHex = (hex: Hex): Hex => hex.toLowerCase() as Hex
const keyOf = (log: ChainLog) => `${log.blockNumber}:${log.logIndex}:${lowerHex(log.blockHash)}`
const isAtOrBefore = (log: ChainLog, cursor: Cursor) =>
  log.blockNumber < cursor.block || (log.blockNumber === cursor.block && log.logIndex <= cursor.logIndex)
const byPosition = (a: ChainLog, b: ChainLog) => (a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1)

/**
 * Polls the adjudicator's logs and calls `listener` with each event, in chain order, exactly once per
 * (block, logIndex, blockHash). `start` runs the loop; `poll` runs one round (tests step it by hand).
 */
export class EventWatcher {
  private readonly source: LogSource
  private readonly confirmations: bigint
  private readonly pollingIntervalMs: number
  private readonly chunkBlocks: bigint
  private readonly reorgWindowBlocks: bigint
  private readonly onError: (error: ChannelsError) => void
  /** Logs at or before this were delivered before we started (dropped if the cursor's block was re-organised away). */
  private floor: Cursor | undefined
  /** The cursor's block hash when the consumer last saw it, checked once at the first round (issue 15). */
  private cursorHash: Hex | undefined
  /** Every block up to this one has been delivered. */
  private scannedTo: bigint
  /** The first block we scan; a re-org never rewinds below it (unless the cursor's own block was replaced). */
  private firstBlock: bigint
  /** Block number → hash we delivered from: scanned ranges' last blocks and blocks with logs. */
  private readonly hashes = new Map<bigint, Hex>()
  /** (block:logIndex:blockHash) → block, of logs delivered within the re-org window. */
  private readonly delivered = new Map<string, bigint>()
  private readonly outcomes = new Map<string, readonly Address[]>()
  private running: Promise<void> | undefined
  private started = false
  /** Set by stop(), for good: no round starts and no listener call happens after it. */
  private closed = false
  private failures = 0
  private timer: ReturnType<typeof setTimeout> | undefined

  constructor(
    private readonly options: EventWatcherOptions,
    private readonly listener: (event: WatchedEvent, origin: LogOrigin) => void,
    cursor?: Cursor,
  ) {
    this.source = options.source
    this.confirmations = BigInt(checkCount(options.confirmations ?? 0, 'confirmations'))
    this.pollingIntervalMs = checkCount(options.pollingIntervalMs ?? DEFAULT_POLLING_INTERVAL_MS, 'pollingIntervalMs')
    this.chunkBlocks = options.chunkBlocks ?? DEFAULT_CHUNK_BLOCKS
    this.reorgWindowBlocks = options.reorgWindowBlocks ?? DEFAULT_REORG_WINDOW_BLOCKS
    checkUint(this.chunkBlocks, 'chunkBlocks', MAX_UINT256)
    checkUint(this.reorgWindowBlocks, 'reorgWindowBlocks', MAX_UINT256)
    if (this.chunkBlocks === 0n || this.reorgWindowBlocks === 0n) throw new OutOfRangeError('chunkBlocks and reorgWindowBlocks must be positive')
    if (cursor !== undefined) {
      checkUint(cursor.block, 'cursor.block', MAX_UINT256)
      checkCount(cursor.logIndex, 'cursor.logIndex')
    }
    this.onError = options.onError ?? ((error) => console.error(`[chain watcher] ${error.code}: ${error.summary}`, error.details))
    this.floor = cursor
    if (cursor?.blockHash !== undefined) this.cursorHash = lowerHex(cursor.blockHash)
    // Logs after the cursor may share its block: scan it again, skipping what is at or before the cursor.
    this.firstBlock = cursor?.block ?? options.fromBlock ?? 0n
    this.scannedTo = this.firstBlock - 1n
  }

  /** Starts polling now and every pollingIntervalMs (longer after failures). */
  start(): void {
    if (this.started || this.closed) return
    this.started = true
    this.schedule(0)
  }

  stop(): void {
    this.closed = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }

  /** The last block whose logs have all been delivered. */
  get lastScannedBlock(): bigint {
    return this.scannedTo
  }

  /** One round: re-org check, then every confirmed block not yet scanned. Rounds never overlap. */
  poll(): Promise<void> {
    // After the previous round settles either way: its failure went to whoever awaited it.
    const next = () => (this.closed ? undefined : this.round())
    const round = (this.running ?? Promise.resolve()).then(next, next)
    this.running = round
    return round
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.poll().then(
        () => {
          this.failures = 0
          if (!this.closed) this.schedule(this.pollingIntervalMs)
        },
        (error: unknown) => {
          this.failures++
          this.onError(wrapError(error, { consecutiveFailures: this.failures, scannedTo: this.scannedTo }))
          const backoff = Math.min(MAX_BACKOFF_MS, this.pollingIntervalMs * 2 ** Math.min(this.failures, 16))
          if (!this.closed) this.schedule(backoff)
        },
      )
    }, delayMs)
  }

  private async round(): Promise<void> {
    const head = await this.source.headNumber()
    await this.checkCursor()
    await this.checkTip()
    const safe = head - this.confirmations
    let chunk = this.chunkBlocks
    let halvings = 0
    while (this.scannedTo < safe && !this.closed) {
      const from = this.scannedTo + 1n
      const to = from + chunk - 1n < safe ? from + chunk - 1n : safe
      const toHash = await this.source.blockHash(to)
      if (toHash === undefined) return // the chain got shorter under us: the next round's tip check sees it
      let logs: readonly ChainLog[]
      try {
        logs = await this.source.logs(from, to)
      } catch (error) {
        if (chunk === 1n || halvings >= MAX_CHUNK_HALVINGS) throw error
        chunk = (chunk + 1n) / 2n
        halvings++
        continue
      }
      // The range must hang off what we delivered and be one chain: a re-org in between means try again.
      if (!(await this.checkTip())) continue
      if (logs.some((log) => log.blockNumber === to && lowerHex(log.blockHash) !== lowerHex(toHash))) return
      await this.deliver(logs.filter((log) => log.blockNumber >= from && log.blockNumber <= to))
      this.scannedTo = to
      this.hashes.set(to, lowerHex(toHash))
      this.prune()
      if (chunk < this.chunkBlocks) chunk *= 2n
    }
  }

  /**
   * A re-org while nobody watched (the consumer was down): the cursor's block no longer has the hash it had. Only
   * that one hash is known, so the whole re-org window before it is scanned again, from the start of the window,
   * and the consumer is told to rewind there; logs it already had are delivered again (amounts are absolute).
   */
  private async checkCursor(): Promise<void> {
    const remembered = this.cursorHash
    if (remembered === undefined) return
    const current = await this.source.blockHash(this.firstBlock)
    this.cursorHash = undefined
    if (current !== undefined && lowerHex(current) === remembered) return
    const previousScannedTo = this.scannedTo
    const windowStart = this.firstBlock - this.reorgWindowBlocks
    const forkBlock = windowStart > (this.options.fromBlock ?? 0n) - 1n ? windowStart : (this.options.fromBlock ?? 0n) - 1n
    this.floor = undefined
    this.firstBlock = forkBlock + 1n
    this.scannedTo = forkBlock
    this.options.onReorg?.({ forkBlock, previousScannedTo })
  }

  /** Whether the last scanned block is still canonical; if not, rewinds to the fork point (and returns false). */
  private async checkTip(): Promise<boolean> {
    const remembered = this.hashes.get(this.scannedTo)
    if (remembered === undefined) return true // nothing delivered yet, or the cursor's block (its hash is unknown)
    const current = await this.source.blockHash(this.scannedTo)
    if (current !== undefined && lowerHex(current) === remembered) return true
    const previousScannedTo = this.scannedTo
    let forkBlock: bigint | undefined
    for (const number of [...this.hashes.keys()].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0))) {
      const hash = number === this.scannedTo ? current : await this.source.blockHash(number)
      if (hash !== undefined && lowerHex(hash) === this.hashes.get(number)) {
        forkBlock = number
        break
      }
      this.hashes.delete(number)
    }
    // No remembered block survived: rescan the whole window (already-delivered logs are skipped by key).
    const windowStart = previousScannedTo - this.reorgWindowBlocks
    forkBlock ??= windowStart > this.firstBlock - 1n ? windowStart : this.firstBlock - 1n
    this.scannedTo = forkBlock
    this.options.onReorg?.({ forkBlock, previousScannedTo })
    return false
  }

  private prune(): void {
    const keepFrom = this.scannedTo - this.reorgWindowBlocks
    for (const number of this.hashes.keys()) if (number < keepFrom) this.hashes.delete(number)
    for (const [key, block] of this.delivered) if (block < keepFrom) this.delivered.delete(key)
  }

  /** Decodes every new log of a range (fetching calldata as needed), then hands them to the listener in order. */
  private async deliver(logs: readonly ChainLog[]): Promise<void> {
    const fresh = [...logs].sort(byPosition).filter((log) => !this.delivered.has(keyOf(log)) && !(this.floor && isAtOrBefore(log, this.floor)))
    const inputs = new Map<Hex, Promise<Hex>>()
    const inputOf = (hash: Hex) => {
      let input = inputs.get(hash)
      if (input === undefined) inputs.set(hash, (input = this.source.transactionInput(hash)))
      return input
    }
    const decoded: Decoded[] = []
    for (const log of fresh) decoded.push(await this.decode(log, inputOf))
    fresh.forEach((log, i) => {
      const { event, problem } = decoded[i]!
      if (this.closed) return
      this.delivered.set(keyOf(log), log.blockNumber)
      this.hashes.set(log.blockNumber, lowerHex(log.blockHash))
      if (problem !== undefined) this.onError(problem)
      if (event === undefined) return
      try {
        this.listener(event, { blockHash: lowerHex(log.blockHash), transactionHash: lowerHex(log.transactionHash) })
      } catch (error) {
        this.onError(new ChainListenerError('chain event listener threw', { kind: event.kind, block: event.block, logIndex: event.logIndex }, { cause: error }))
      }
    })
  }

  private async decode(log: ChainLog, inputOf: (hash: Hex) => Promise<Hex>): Promise<Decoded> {
    const position = { block: log.blockNumber, logIndex: log.logIndex }
    let decoded
    try {
      decoded = decodeEventLog({ abi: adjudicatorAbi, topics: log.topics as [Hex, ...Hex[]], data: log.data, strict: true })
    } catch (cause) {
      return { problem: new ChainEventUndecodableError('adjudicator log does not decode', { ...position, transactionHash: log.transactionHash }, { cause }) }
    }
    switch (decoded.eventName) {
      case 'Deposited': {
        const { destination, asset, destinationHoldings } = decoded.args
        return { event: { kind: 'deposited', channelId: toBytes32(destination), asset: toAddress(asset), nowHeld: destinationHoldings, ...position } }
      }
      case 'AllocationUpdated': {
        const { channelId, assetIndex, finalHoldings } = decoded.args
        const id = toBytes32(channelId)
        const outcome = await this.outcomeFromCalldata(await inputOf(log.transactionHash), id, assetIndex)
        const assets = outcome ?? this.outcomes.get(id) ?? this.options.assetsOf?.(id)
        const asset = assetIndex < BigInt(assets?.length ?? 0) ? assets![Number(assetIndex)] : undefined
        if (asset === undefined) {
          return { problem: new ChainEventUndecodableError('AllocationUpdated: the asset at its index is unknown', { ...position, channelId: id, assetIndex, transactionHash: log.transactionHash }) }
        }
        return { event: { kind: 'allocationUpdated', channelId: id, asset, finalHoldings, ...position } }
      }
      case 'Concluded':
        return { event: { kind: 'concluded', channelId: toBytes32(decoded.args.channelId), finalizesAt: BigInt(decoded.args.finalizesAt), ...position } }
      case 'ChallengeRegistered': {
        const { channelId, finalizesAt, proof, candidate } = decoded.args
        const id = toBytes32(channelId)
        this.remember(id, candidate.variablePart.outcome.map((exit) => toAddress(exit.asset)))
        return { event: { kind: 'challengeRegistered', channelId: id, finalizesAt: BigInt(finalizesAt), proof: proof.map(fromOnChain), candidate: fromOnChain(candidate), ...position } }
      }
      case 'ChallengeCleared':
        return { event: { kind: 'challengeCleared', channelId: toBytes32(decoded.args.channelId), newTurnNumRecord: BigInt(decoded.args.newTurnNumRecord), ...position } }
      case 'Checkpointed':
        return { event: { kind: 'checkpointed', channelId: toBytes32(decoded.args.channelId), newTurnNumRecord: BigInt(decoded.args.newTurnNumRecord), ...position } }
      case 'Reclaimed': {
        const { channelId, assetIndex } = decoded.args
        const id = toBytes32(channelId)
        const call = reclaimCall(await inputOf(log.transactionHash), id, assetIndex)
        const about = { ...position, channelId: id, assetIndex, transactionHash: log.transactionHash }
        const unknown = (summary: string, cause?: unknown) => new ChainEventUndecodableError(`Reclaimed: the source's outcome after the reclaim is unknown: ${summary}`, about, { cause })
        if (call === undefined) {
          return { event: { kind: 'reclaimed', channelId: id, assetIndex, asset: undefined, outcome: undefined, ...position }, problem: unknown('the transaction is not a direct reclaim call of this channel and asset') }
        }
        const asset = decodeExitAssets(call.sourceOutcomeBytes)?.[Number(assetIndex)]
        try {
          return { event: { kind: 'reclaimed', channelId: id, assetIndex, asset, outcome: outcomeAfterReclaim(call), ...position } }
        } catch (error) {
          if (!(error instanceof RejectedInputError)) throw error
          return { event: { kind: 'reclaimed', channelId: id, assetIndex, asset, outcome: undefined, ...position }, problem: unknown(`${error.code}: ${error.summary}`, error) }
        }
      }
    }
  }

  /** The assets of `channelId`'s outcome if this calldata is a direct adjudicator call that paid it out. */
  private async outcomeFromCalldata(input: Hex, id: Bytes32, assetIndex: bigint): Promise<readonly Address[] | undefined> {
    const assets = payoutAssets(input, id, assetIndex)
    if (assets !== undefined) this.remember(id, assets)
    return assets
  }

  private remember(id: Bytes32, assets: readonly Address[]): void {
    this.outcomes.delete(id)
    this.outcomes.set(id, assets)
    if (this.outcomes.size > MAX_REMEMBERED_OUTCOMES) this.outcomes.delete(this.outcomes.keys().next().value!)
  }
}

/** Decodes calldata of concludeAndTransferAllAssets, transferAllAssets or transfer paying out channel `id`. */
export function payoutAssets(input: Hex, id: Bytes32, assetIndex: bigint): readonly Address[] | undefined {
  let call
  try {
    call = decodeFunctionData({ abi: adjudicatorAbi, data: input })
  } catch {
    return undefined // not a direct adjudicator call (a batch or a wallet contract): the caller falls back
  }
  try {
    switch (call.functionName) {
      case 'concludeAndTransferAllAssets': {
        const [fixed, candidate] = call.args
        const fixedPart = { ...fixed, participants: fixed.participants.map(toAddress), appDefinition: toAddress(fixed.appDefinition), challengeDuration: Number(fixed.challengeDuration) }
        if (channelIdOf(fixedPart) !== id) return undefined
        return candidate.variablePart.outcome.map((exit) => toAddress(exit.asset))
      }
      case 'transferAllAssets': {
        const [channelId, outcome] = call.args
        return toBytes32(channelId) === id ? outcome.map((exit) => toAddress(exit.asset)) : undefined
      }
      case 'transfer': {
        const [index, fromChannelId, outcomeBytes] = call.args
        if (toBytes32(fromChannelId) !== id || index !== assetIndex) return undefined
        return decodeExitAssets(outcomeBytes)
      }
      default:
        return undefined
    }
  } catch (error) {
    // A malformed fixed part in someone's calldata: not the payout we look for.
    if (error instanceof RejectedInputError) return undefined
    throw error
  }
}

/** NitroAdjudicator's ReclaimArgs as its calldata carries them. */
export interface ReclaimCallArgs {
  readonly sourceChannelId: Hex
  readonly sourceStateHash: Hex
  readonly sourceOutcomeBytes: Hex
  readonly sourceAssetIndex: bigint
  readonly indexOfTargetInSource: bigint
  readonly targetStateHash: Hex
  readonly targetOutcomeBytes: Hex
  readonly targetAssetIndex: bigint
}

/** The arguments of a direct `reclaim` call that emitted Reclaimed(id, assetIndex); undefined for any other calldata. */
function reclaimCall(input: Hex, id: Bytes32, assetIndex: bigint): ReclaimCallArgs | undefined {
  let call
  try {
    call = decodeFunctionData({ abi: adjudicatorAbi, data: input })
  } catch {
    return undefined // not a direct adjudicator call (a batch or a wallet contract)
  }
  if (call.functionName !== 'reclaim') return undefined
  const [args] = call.args
  if (toBytes32(args.sourceChannelId) !== id || args.sourceAssetIndex !== assetIndex) return undefined
  return args
}

/**
 * The source's whole outcome after a reclaim with these arguments, as the adjudicator computes it: at
 * sourceAssetIndex, reclaim.ts's rule on the source's and the target's (at targetAssetIndex) allocations; every
 * other asset as it was. Throws a RejectedInputError when the calldata does not allow it (outcome bytes that do
 * not decode, an index out of range, or anything computeReclaimEffects refuses).
 */
export function outcomeAfterReclaim(args: ReclaimCallArgs): Exit {
  const source = decodeOutcome(args.sourceOutcomeBytes)
  const target = decodeOutcome(args.targetOutcomeBytes)
  const sourceIndex = indexIn(source, args.sourceAssetIndex, 'sourceAssetIndex')
  const targetIndex = indexIn(target, args.targetAssetIndex, 'targetAssetIndex')
  const allocations = computeReclaimEffects({
    sourceAllocations: source[sourceIndex]!.allocations,
    targetAllocations: target[targetIndex]!.allocations,
    // Past 2^53 it is far out of range either way: computeReclaimEffects refuses it.
    indexOfTargetInSource: Number(args.indexOfTargetInSource),
  })
  return source.map((exit, i) => (i === sourceIndex ? { ...exit, allocations } : exit))
}

function indexIn(outcome: Exit, index: bigint, field: string): number {
  if (index >= BigInt(outcome.length)) throw new OutOfRangeError(`${field} must be below the outcome's ${outcome.length} assets`, { field, value: index })
  return Number(index)
}

function decodeExitAssets(outcomeBytes: Hex): readonly Address[] | undefined {
  try {
    const [exit] = decodeAbiParameters([exitAbiParameter], outcomeBytes)
    return exit.map((e) => toAddress(e.asset))
  } catch {
    return undefined // outcome bytes the contract accepted but viem cannot decode: treat as unknown
  }
}

/** A log decoded: the event to deliver, a problem to report, or both (a Reclaimed whose outcome is unknown). */
type Decoded = { readonly event?: WatchedEvent; readonly problem?: ChainEventUndecodableError }

type OnChainSignedVariablePart = {
  readonly variablePart: { readonly outcome: Parameters<typeof exitFromAbi>[0]; readonly appData: Hex; readonly turnNum: number; readonly isFinal: boolean }
  readonly sigs: readonly { readonly v: number; readonly r: Hex; readonly s: Hex }[]
}

function fromOnChain(part: OnChainSignedVariablePart): LoggedSignedVariablePart {
  const { outcome, appData, turnNum, isFinal } = part.variablePart
  return {
    variablePart: { outcome: exitFromAbi(outcome), appData, turnNum: BigInt(turnNum), isFinal },
    signatures: part.sigs.map(({ v, r, s }) => `${lowerHex(r)}${s.slice(2).toLowerCase()}${v.toString(16).padStart(2, '0')}` as Signature),
  }
}

function checkCount(value: number, field: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new OutOfRangeError(`${field} must be a non-negative integer`, { field, value })
  return value
}

function wrapError(error: unknown, details: Record<string, unknown>): ChannelsError {
  if (error instanceof ChannelsError) return error
  return new ChainUnavailableError('chain node request failed', { ...details, message: error instanceof Error ? error.message : String(error) }, { cause: error })
}

// ---- the viem log source ----

interface RpcLog {
  blockNumber: Hex | null
  blockHash: Hex | null
  logIndex: Hex | null
  transactionHash: Hex | null
  topics: Hex[]
  data: Hex
}

/** Reads the adjudicator's logs through a viem public client (HTTP). Errors are viem's; the watcher wraps them. */
export function viemLogSource(client: PublicClient, adjudicator: Address): LogSource {
  return {
    // cacheTime 0: viem caches the block number for its polling interval by default.
    headNumber: () => client.getBlockNumber({ cacheTime: 0 }),
    async blockHash(number) {
      const block = await client.request({ method: 'eth_getBlockByNumber', params: [toHex(number), false] })
      return block?.hash ?? undefined
    },
    async logs(fromBlock, toBlock) {
      const raw = (await client.request({
        method: 'eth_getLogs',
        params: [{ address: adjudicator, fromBlock: toHex(fromBlock), toBlock: toHex(toBlock), topics: [[...ADJUDICATOR_TOPICS]] }],
      })) as RpcLog[]
      return raw.map((log) => {
        if (log.blockNumber === null || log.blockHash === null || log.logIndex === null || log.transactionHash === null) {
          throw new ChainEventUndecodableError('eth_getLogs returned a pending log for a mined range', { fromBlock, toBlock })
        }
        return { blockNumber: BigInt(log.blockNumber), blockHash: log.blockHash, logIndex: Number(BigInt(log.logIndex)), transactionHash: log.transactionHash, topics: log.topics, data: log.data }
      })
    },
    async transactionInput(hash) {
      return (await client.getTransaction({ hash })).input
    },
  }
}
