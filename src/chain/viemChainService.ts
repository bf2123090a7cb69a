// The ChainService against a deployed adjudicator, through viem over HTTP (DESIGN §6, §9; issue 4). From
// the engine's point of view it behaves as MemoryChain does: `submit` resolves once the transaction is
// mined (with `confirmations` blocks on top) and rejects with ChainRevertedError carrying the adjudicator's
// revert string, or ChainUnavailableError when the node cannot be reached; `subscribe` delivers the
// adjudicator's events after a cursor, exactly once each (eventWatcher.ts).
//
// - Transactions are signed by `txKey`, a key of their own, never a channel-signing key (lesson 8).
// - One queue per service serialises signing and sending, and the nonce is the node's pending count, asked
//   for each send, so concurrent submits never collide; receipts are awaited outside the queue.
// - Every transaction is estimated before it is signed, so most reverts cost nothing and are decoded from
//   the estimate; a transaction that still reverts on chain is replayed at its block to recover the reason.
// - A transaction not mined within `bumpAfterMs` is signed again with its nonce and both EIP-1559 fees raised
//   by a quarter (nodes replace a pooled transaction only for at least +10% (geth) to +12.5%), up to a cap,
//   and sent again (issue 15). Every version's hash is kept: whichever is mined is the transaction. Sending
//   again also reaches a node that swallowed or dropped the transaction; one whose nonce the pool lost is
//   sent again before a new transaction could take that nonce.
// - An ERC20 deposit first approves the adjudicator (only when the allowance is short) and waits for the
//   approval to be mined before depositing: go-nitro did not wait (NITRO-NOTES §5.2).
import { BaseError, ContractFunctionRevertedError, HttpRequestError, InsufficientFundsError, TimeoutError, TransactionReceiptNotFoundError, WaitForTransactionReceiptTimeoutError } from 'viem'
import { createPublicClient, createWalletClient, defineChain, encodeFunctionData, erc20Abi, http, keccak256, zeroAddress } from 'viem'
import type { Account, Chain, PrivateKeyAccount, PublicClient, TransactionReceipt, Transport, WalletClient } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { Address, Bytes32, Hex, Signature } from '../core/types.js'
import type { ChainCursor, ChainEvent, ChainService, ChainTransaction } from './chainService.js'
import type { ReclaimTransaction } from '../protocols/onchain.js'
import type { SignedState } from '../core/signedState.js'
import type { Exit } from '../core/outcome.js'
import type { LogOrigin, WatchedEvent } from './eventWatcher.js'
import { ChannelsError, OperatingError, OutOfRangeError, assert } from '../core/errors.js'
import { checkState, fixedPart } from '../core/state.js'
import { checkOutcome, encodeOutcome } from '../core/outcome.js'
import { parsePrivateKey, parseSignature } from '../core/signatures.js'
import { checkAddress, checkBytes32, checkUint } from '../core/validate.js'
import { MAX_UINT256 } from '../core/limits.js'
import { ChainRevertedError, ChainUnavailableError, RevertReason } from './errors.js'
import { EventWatcher, viemLogSource } from './eventWatcher.js'
import { adjudicatorAbi } from './abi.js'
import { toAddress } from '../core/canonical.js'

export interface ViemChainServiceOptions {
  readonly rpcUrl: string
  readonly chainId: number
  readonly adjudicator: Address
  readonly consensusApp: Address
  /** The key that pays for and signs transactions; not a channel key. */
  readonly txKey: Hex
  /** Blocks on top of a transaction's or event's block before it counts (default 0: mined is enough). */
  readonly confirmations?: number
  /** Event polling and receipt polling (default 1,000 ms; a few ms against anvil in tests). */
  readonly pollingIntervalMs?: number
  /** The block the adjudicator was deployed in: where a subscription without cursor starts (default 0). */
  readonly fromBlock?: bigint
  readonly chunkBlocks?: bigint
  /** How long a sent transaction may take to be mined before submit gives up (default 120 s). */
  readonly receiptTimeoutMs?: number
  /** A sent transaction not mined after this long is sent again with higher fees (default 15 s; see the file comment). */
  readonly bumpAfterMs?: number
  /** The most a transaction's versions may offer per gas, in wei (default 10× the first version's estimate). */
  readonly maxFeePerGas?: bigint
  /** Submissions waiting for the queue at once; more are refused with `chain_busy` (default 256). */
  readonly maxQueuedTransactions?: number
  /** The node's own knowledge of a channel's assets, for AllocationUpdated events (eventWatcher.ts). */
  readonly assetsOf?: (channelId: Bytes32) => readonly Address[] | undefined
  /** Failures the event watcher survives (default: console.error). */
  readonly onError?: (error: ChannelsError) => void
}

/** Too many submissions already wait for the transaction queue. */
export class ChainBusyError extends OperatingError {
  readonly code = 'chain_busy'
}
/** The node refused or lost a transaction for a reason other than a revert (nonce, fees, receipt timeout). */
export class ChainTransactionError extends OperatingError {
  readonly code = 'chain_transaction'
}

/** A signature as the adjudicator takes it (Nitro's `Signature(uint8 v, bytes32 r, bytes32 s)`). */
export interface OnChainSignature {
  readonly v: number
  readonly r: Hex
  readonly s: Hex
}

/** ReclaimArgs with outcomes as our Exit values (encoded here). */
export type ReclaimArgs = ReclaimTransaction

/** EIP-1559 fees per gas, in wei. */
export interface Fees {
  readonly maxFeePerGas: bigint
  readonly maxPriorityFeePerGas: bigint
}

const DEFAULT_POLLING_INTERVAL_MS = 1_000
const DEFAULT_RECEIPT_TIMEOUT_MS = 120_000
/** A few blocks of most chains (mainnet: 12 s); the service does not know the block time. */
const DEFAULT_BUMP_AFTER_MS = 15_000
/** Without a configured cap, a transaction's versions offer at most this many times its first fee estimate. */
const DEFAULT_FEE_CAP_MULTIPLIER = 10n
/** Each version raises both fees by this much (percent) over the previous one. */
export const FEE_BUMP_PERCENT = 25n
const DEFAULT_MAX_QUEUED = 256
const PANIC_UNDERFLOW = 0x11n
/** ERC20 refusals that mean "not enough tokens": OpenZeppelin 4's string, OpenZeppelin 5's custom error. */
const TOKEN_BALANCE_RE = /exceeds balance|insufficient balance|ERC20InsufficientBalance/i

type Call = { readonly to: Address; readonly abi: typeof adjudicatorAbi | typeof erc20Abi; readonly functionName: string; readonly args: readonly unknown[]; readonly value?: bigint }

export class ViemChainService implements ChainService {
  readonly consensusApp: Address
  readonly adjudicator: Address
  /** The address of `txKey`: who pays gas and sends deposits. */
  readonly account: Address
  readonly publicClient: PublicClient<Transport, Chain>
  private readonly walletClient: WalletClient<Transport, Chain, Account>
  private readonly signer: PrivateKeyAccount
  private readonly confirmations: number
  private readonly pollingIntervalMs: number
  private readonly receiptTimeoutMs: number
  private readonly bumpAfterMs: number
  private readonly maxQueued: number
  private readonly watchers = new Set<EventWatcher>()
  private queueTail: Promise<unknown> = Promise.resolve()
  /** Per token: the tail of the deposits in progress (see deposit). */
  private readonly tokenLocks = new Map<string, Promise<void>>()
  private queued = 0
  /** Transactions sent and not yet settled (mined, replaced or given up), each with all its versions. */
  private readonly inFlight = new Set<Flight>()

  constructor(private readonly options: ViemChainServiceOptions) {
    checkAddress(options.adjudicator, 'adjudicator')
    checkAddress(options.consensusApp, 'consensusApp')
    parsePrivateKey(options.txKey) // a typed error for a bad key, before viem's
    this.consensusApp = options.consensusApp
    this.adjudicator = options.adjudicator
    this.confirmations = nonNegative(options.confirmations ?? 0, 'confirmations')
    this.pollingIntervalMs = nonNegative(options.pollingIntervalMs ?? DEFAULT_POLLING_INTERVAL_MS, 'pollingIntervalMs')
    this.receiptTimeoutMs = nonNegative(options.receiptTimeoutMs ?? DEFAULT_RECEIPT_TIMEOUT_MS, 'receiptTimeoutMs')
    this.bumpAfterMs = nonNegative(options.bumpAfterMs ?? DEFAULT_BUMP_AFTER_MS, 'bumpAfterMs')
    if (options.maxFeePerGas !== undefined) {
      checkUint(options.maxFeePerGas, 'maxFeePerGas', MAX_UINT256)
      if (options.maxFeePerGas === 0n) throw new OutOfRangeError('maxFeePerGas must be positive', { field: 'maxFeePerGas' })
    }
    this.maxQueued = nonNegative(options.maxQueuedTransactions ?? DEFAULT_MAX_QUEUED, 'maxQueuedTransactions')
    const chain = defineChain({
      id: options.chainId,
      name: `chain ${options.chainId}`,
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [options.rpcUrl] } },
    })
    this.signer = privateKeyToAccount(options.txKey)
    this.account = toAddress(this.signer.address)
    this.publicClient = createPublicClient({ chain, transport: http(options.rpcUrl), pollingInterval: this.pollingIntervalMs })
    // No transport retries for sending: the service sends again itself, after bumpAfterMs.
    this.walletClient = createWalletClient({ chain, account: this.signer, transport: http(options.rpcUrl, { retryCount: 0 }) })
  }

  // ---- ChainService ----

  async submit(tx: ChainTransaction): Promise<void> {
    switch (tx.kind) {
      case 'deposit':
        await this.deposit(tx)
        return
      case 'concludeAndWithdraw':
        await this.concludeAndWithdraw(tx.signedState)
        return
      case 'challenge':
        await this.challenge({ proof: tx.proof ?? [], candidate: tx.candidate, challengerSignature: tx.challengerSignature })
        return
      case 'conclude':
        await this.conclude(tx.signedState)
        return
      case 'checkpoint':
        await this.checkpoint({ proof: tx.proof ?? [], candidate: tx.candidate })
        return
      case 'reclaim':
        await this.reclaim(tx)
        return
      case 'transferAllAssets':
        await this.transferAllAssets(tx)
        return
      default:
        assert(false, 'unknown transaction kind', { kind: (tx as { kind: unknown }).kind })
    }
  }

  async holdings(channelId: Bytes32, asset: Address): Promise<bigint> {
    checkBytes32(channelId, 'channelId')
    checkAddress(asset, 'asset')
    return this.read('holdings', [asset, channelId])
  }

  subscribe(listener: (event: ChainEvent) => void, cursor?: ChainCursor): () => void {
    return this.subscribeAll(
      (event, { blockHash }) => {
        if (event.kind === 'deposited' || event.kind === 'allocationUpdated' || event.kind === 'concluded') listener({ ...event, blockHash })
        else if (event.kind === 'challengeRegistered') {
          const { channelId, finalizesAt, block, logIndex } = event
          const candidate = event.candidate.variablePart
          listener({ kind: 'challenged', channelId, finalizesAt, turnNumRecord: candidate.turnNum, candidate, block, logIndex, blockHash })
        } else if (event.kind === 'reclaimed' && event.outcome !== undefined) {
          // Without the outcome a listener could not pay the source out; the watcher reported that to onError.
          const { channelId, outcome, block, logIndex } = event
          listener({ kind: 'reclaimed', channelId, outcome, block, logIndex, blockHash })
        }
      },
      cursor,
      ({ forkBlock }) => listener({ kind: 'reorg', forkBlock }),
    )
  }

  /** Every adjudicator event, dispute events included, with the block hash and transaction it came from. */
  subscribeAll(
    listener: (event: WatchedEvent, origin: LogOrigin) => void,
    cursor?: ChainCursor,
    onReorg?: (reorg: { readonly forkBlock: bigint }) => void,
  ): () => void {
    const { confirmations, pollingIntervalMs } = this
    const { fromBlock, chunkBlocks, assetsOf, onError } = this.options
    const source = viemLogSource(this.publicClient as PublicClient, this.adjudicator)
    const watcher = new EventWatcher({ source, confirmations, pollingIntervalMs, fromBlock, chunkBlocks, assetsOf, onError, onReorg }, listener, cursor)
    this.watchers.add(watcher)
    watcher.start()
    return () => {
      watcher.stop()
      this.watchers.delete(watcher)
    }
  }

  /** Stops every subscription. Transactions already submitted still settle. */
  close(): void {
    for (const watcher of this.watchers) watcher.stop()
    this.watchers.clear()
  }

  // ---- transactions; each resolves to the mined transaction's hash ----

  /** deposit(asset, channelId, expectedHeld, amount): ETH as value; a token after an awaited approve. */
  async deposit(tx: Omit<Extract<ChainTransaction, { kind: 'deposit' }>, 'kind'>): Promise<Hex> {
    const { channelId, asset, expectedHeld, amount } = tx
    checkBytes32(channelId, 'channelId')
    checkAddress(asset, 'asset')
    checkUint(expectedHeld, 'expectedHeld', MAX_UINT256)
    checkUint(amount, 'amount', MAX_UINT256)
    // As MemoryChain: the contract would take it, but a zero deposit is always an engine bug and wastes gas.
    if (amount === 0n) throw new ChainRevertedError(RevertReason.zeroDeposit, { channelId })
    const deposit: Call = { to: this.adjudicator, abi: adjudicatorAbi, functionName: 'deposit', args: [asset, channelId, expectedHeld, amount] }
    if (asset.toLowerCase() === zeroAddress) return this.transact({ ...deposit, value: amount })
    // One token deposit at a time per token, from reading the allowance to the deposit: two concurrent ones
    // would each approve only their own amount, the later approve overwriting the earlier.
    const key = asset.toLowerCase()
    const erc20Deposit = async (): Promise<Hex> => {
      // As MemoryChain, and before approving anything: the adjudicator would only say 'Token transfer failed'.
      const balance = await this.call(() => this.publicClient.readContract({ address: asset, abi: erc20Abi, functionName: 'balanceOf', args: [this.account] }))
      if (balance < amount) throw new ChainRevertedError(RevertReason.insufficientBalance, { from: this.account, balance, amount })
      const allowance = await this.call(() => this.publicClient.readContract({ address: asset, abi: erc20Abi, functionName: 'allowance', args: [this.account, this.adjudicator] }))
      if (allowance < amount) await this.transact({ to: asset, abi: erc20Abi, functionName: 'approve', args: [this.adjudicator, amount] })
      return this.transact(deposit)
    }
    const run = (this.tokenLocks.get(key) ?? Promise.resolve()).then(erc20Deposit, erc20Deposit)
    // The lock only orders deposits; each caller gets its own result or error from `run`.
    const settled = run.then(
      () => undefined,
      () => undefined,
    )
    this.tokenLocks.set(key, settled)
    void settled.then(() => {
      if (this.tokenLocks.get(key) === settled) this.tokenLocks.delete(key)
    })
    return run
  }

  /** concludeAndTransferAllAssets(fixedPart, candidate): a final state signed by every participant pays out. */
  concludeAndWithdraw(signed: SignedState): Promise<Hex> {
    checkState(signed.state)
    return this.transact({ to: this.adjudicator, abi: adjudicatorAbi, functionName: 'concludeAndTransferAllAssets', args: [toFixedPart(signed), toSignedVariablePart(signed)] })
  }

  /** conclude(fixedPart, candidate): finalizes without paying out. */
  conclude(signed: SignedState): Promise<Hex> {
    checkState(signed.state)
    return this.transact({ to: this.adjudicator, abi: adjudicatorAbi, functionName: 'conclude', args: [toFixedPart(signed), toSignedVariablePart(signed)] })
  }

  /** challenge(fixedPart, proof, candidate, challengerSig); `challengerSignature` is signChallenge's output. */
  challenge(args: { readonly proof: readonly SignedState[]; readonly candidate: SignedState; readonly challengerSignature: Signature }): Promise<Hex> {
    checkState(args.candidate.state)
    const { proof, candidate } = this.supportOf(args.proof, args.candidate)
    const challengerSig = toOnChainSignature(args.challengerSignature, 'challengerSignature')
    return this.transact({ to: this.adjudicator, abi: adjudicatorAbi, functionName: 'challenge', args: [toFixedPart(args.candidate), proof, candidate, challengerSig] })
  }

  /** checkpoint(fixedPart, proof, candidate): records a newer supported state, clearing a challenge. */
  checkpoint(args: { readonly proof: readonly SignedState[]; readonly candidate: SignedState }): Promise<Hex> {
    checkState(args.candidate.state)
    const { proof, candidate } = this.supportOf(args.proof, args.candidate)
    return this.transact({ to: this.adjudicator, abi: adjudicatorAbi, functionName: 'checkpoint', args: [toFixedPart(args.candidate), proof, candidate] })
  }

  /** transferAllAssets(channelId, outcome, stateHash): pays out a finalized channel. */
  transferAllAssets(args: { readonly channelId: Bytes32; readonly outcome: Exit; readonly stateHash: Bytes32 }): Promise<Hex> {
    checkBytes32(args.channelId, 'channelId')
    checkBytes32(args.stateHash, 'stateHash')
    checkOutcome(args.outcome)
    return this.transact({ to: this.adjudicator, abi: adjudicatorAbi, functionName: 'transferAllAssets', args: [args.channelId, args.outcome, args.stateHash] })
  }

  /** transfer(assetIndex, fromChannelId, outcomeBytes, stateHash, indices): pays some allocations of one asset (empty indices: all). */
  transfer(args: { readonly assetIndex: bigint; readonly channelId: Bytes32; readonly outcome: Exit; readonly stateHash: Bytes32; readonly indices: readonly bigint[] }): Promise<Hex> {
    checkBytes32(args.channelId, 'channelId')
    checkBytes32(args.stateHash, 'stateHash')
    checkUint(args.assetIndex, 'assetIndex', MAX_UINT256)
    args.indices.forEach((index, i) => checkUint(index, `indices[${i}]`, MAX_UINT256))
    const call = [args.assetIndex, args.channelId, encodeOutcome(args.outcome), args.stateHash, args.indices]
    return this.transact({ to: this.adjudicator, abi: adjudicatorAbi, functionName: 'transfer', args: call })
  }

  /** reclaim(ReclaimArgs): moves a finalized virtual channel's outcome into its guarantee's ledger. */
  reclaim(args: ReclaimArgs): Promise<Hex> {
    for (const field of ['sourceChannelId', 'sourceStateHash', 'targetStateHash'] as const) checkBytes32(args[field], field)
    for (const field of ['sourceAssetIndex', 'indexOfTargetInSource', 'targetAssetIndex'] as const) checkUint(args[field], field, MAX_UINT256)
    // Field by field: `args` may be a ChainTransaction, whose `kind` is no part of the struct.
    const reclaimArgs = {
      sourceChannelId: args.sourceChannelId,
      sourceStateHash: args.sourceStateHash,
      sourceOutcomeBytes: encodeOutcome(args.sourceOutcome),
      sourceAssetIndex: args.sourceAssetIndex,
      indexOfTargetInSource: args.indexOfTargetInSource,
      targetStateHash: args.targetStateHash,
      targetOutcomeBytes: encodeOutcome(args.targetOutcome),
      targetAssetIndex: args.targetAssetIndex,
    }
    return this.transact({ to: this.adjudicator, abi: adjudicatorAbi, functionName: 'reclaim', args: [reclaimArgs] })
  }

  /** unpackStatus(channelId): the channel's on-chain status word. */
  async status(channelId: Bytes32): Promise<{ readonly turnNumRecord: bigint; readonly finalizesAt: bigint; readonly fingerprint: bigint }> {
    checkBytes32(channelId, 'channelId')
    const [turnNumRecord, finalizesAt, fingerprint] = await this.read('unpackStatus', [channelId])
    return { turnNumRecord: BigInt(turnNumRecord), finalizesAt: BigInt(finalizesAt), fingerprint }
  }

  // ---- plumbing ----

  private supportOf(proof: readonly SignedState[], candidate: SignedState) {
    proof.forEach((signed, i) => checkState(signed.state, `proof[${i}]`))
    return { proof: proof.map(toSignedVariablePart), candidate: toSignedVariablePart(candidate) }
  }

  private read<const F extends 'holdings' | 'unpackStatus'>(functionName: F, args: F extends 'holdings' ? readonly [Address, Bytes32] : readonly [Bytes32]) {
    return this.call(() => this.publicClient.readContract({ address: this.adjudicator, abi: adjudicatorAbi, functionName, args } as never)) as Promise<
      F extends 'holdings' ? bigint : readonly [number, number, bigint]
    >
  }

  /** Runs a node request, turning viem's errors into ours. */
  private async call<T>(request: () => Promise<T>, details: Record<string, unknown> = {}): Promise<T> {
    try {
      return await request()
    } catch (error) {
      throw toChainError(error, details)
    }
  }

  /** Sends one transaction through the queue, then waits outside it for one of its versions to be mined (and confirmed). */
  private async transact(call: Call): Promise<Hex> {
    const details = { functionName: call.functionName, to: call.to }
    const flight = await this.enqueue(() => this.send(call, details))
    try {
      const receipt = await this.minedVersion(flight, details)
      if (receipt.status === 'reverted') throw await this.revertReasonOf(call, receipt.blockNumber, { ...details, transactionHash: receipt.transactionHash })
      return receipt.transactionHash
    } finally {
      this.inFlight.delete(flight)
    }
  }

  /**
   * Estimates, signs and sends the first version of a transaction, with the nonce `nonceToUse` gives. One retry
   * with a fresh nonce if the node says the nonce is used. What the node refuses here was not sent: it rejects.
   */
  private async send(call: Call, details: Record<string, unknown>, retry = true): Promise<Flight> {
    const { to, abi, functionName, args } = call
    const value = call.value ?? 0n
    // Estimated first, as viem's writeContract does: most reverts cost nothing, and their reason decodes from here.
    const gas = await this.call(() => this.publicClient.estimateContractGas({ account: this.account, address: to, abi, functionName, args, value } as never), details)
    const estimate = await this.call(() => this.publicClient.estimateFeesPerGas(), details)
    const nonce = await this.nonceToUse(details)
    const cap = this.options.maxFeePerGas ?? estimate.maxFeePerGas * DEFAULT_FEE_CAP_MULTIPLIER
    const data = encodeFunctionData({ abi, functionName, args } as never)
    const fees = capFees(estimate, cap)
    const raw = await this.sign({ to, data, value, gas, nonce }, fees)
    const flight: Flight = { nonce, request: { to, data, value, gas }, cap, fees, raw, hashes: [keccak256(raw)], sentAt: Date.now(), accepted: false, lastError: undefined }
    try {
      await this.sendRaw(raw)
    } catch (error) {
      if (retry && NONCE_USED_RE.test(messageOf(error))) return this.send(call, details, false)
      throw toChainError(error, { ...details, nonce })
    }
    flight.accepted = true
    this.inFlight.add(flight)
    return flight
  }

  /**
   * The chain's pending count (issue 15), asked every time rather than counted here, so a transaction the pool
   * dropped leaves no gap that would hold every later one. But a transaction of ours still in flight at that
   * count is one the node lost (swallowed, dropped): it is sent again first, once, so that a new transaction does
   * not take its nonce and replace it. If the node still does not take it, the new one takes the nonce; whichever
   * of the two is mined, the other's submit reports chain_transaction.
   */
  private async nonceToUse(details: Record<string, unknown>): Promise<number> {
    const pending = () => this.call(() => this.publicClient.getTransactionCount({ address: this.account, blockTag: 'pending' }), details)
    let nonce = await pending()
    const tried = new Set<Flight>()
    for (let lost = this.flightAt(nonce); lost !== undefined && !tried.has(lost); lost = this.flightAt(nonce)) {
      tried.add(lost)
      await this.resend(lost)
      nonce = await pending()
    }
    return nonce
  }

  private flightAt(nonce: number): Flight | undefined {
    for (const flight of this.inFlight) if (flight.nonce === nonce) return flight
    return undefined
  }

  /**
   * Polls until a version of `flight` is mined with `confirmations` blocks on top; while none is, sends it again
   * every bumpAfterMs (`resend`). Node errors while waiting are survived (an RPC outage, a refused replacement):
   * the versions sent may still be mined. Rejects with ChainTransactionError when the nonce was used by a
   * transaction we did not sign, or after receiptTimeoutMs (the last node error as cause).
   */
  private async minedVersion(flight: Flight, details: Record<string, unknown>): Promise<TransactionReceipt> {
    const deadline = Date.now() + this.receiptTimeoutMs
    const about = () => ({ ...details, nonce: flight.nonce, transactionHashes: [...flight.hashes] })
    // Seen twice in a row before it counts: a load-balanced endpoint may answer the count from a node ahead of the one answering receipts.
    let replacedSeen = 0
    for (;;) {
      let polled: TransactionReceipt | FlightState | undefined
      try {
        polled = await this.pollFlight(flight)
        if (typeof polled === 'object') return polled
        if (polled === 'pending' && Date.now() - flight.sentAt >= this.bumpAfterMs) await this.enqueue(() => this.resend(flight), false)
      } catch (error) {
        flight.lastError = toChainError(error, about())
      }
      replacedSeen = polled === 'replaced' ? replacedSeen + 1 : 0
      if (replacedSeen >= 2) throw new ChainTransactionError('the transaction was replaced by another with its nonce before it was mined', about())
      if (Date.now() >= deadline) throw new ChainTransactionError('transaction not mined in time', { ...about(), timeoutMs: this.receiptTimeoutMs }, { cause: flight.lastError })
      await sleep(this.pollingIntervalMs)
    }
  }

  /** The receipt of the version of `flight` that was mined and confirmed, or where it stands (FlightState). */
  private async pollFlight(flight: Flight): Promise<TransactionReceipt | FlightState> {
    const mined = await this.publicClient.getTransactionCount({ address: this.account, blockTag: 'latest' })
    if (mined <= flight.nonce) return 'pending'
    for (const hash of [...flight.hashes].reverse()) {
      let receipt: TransactionReceipt
      try {
        receipt = await this.publicClient.getTransactionReceipt({ hash })
      } catch (error) {
        if (error instanceof TransactionReceiptNotFoundError) continue // not this version
        throw error
      }
      if (this.confirmations === 0) return receipt
      const head = await this.publicClient.getBlockNumber({ cacheTime: 0 })
      return head >= receipt.blockNumber + BigInt(this.confirmations) ? receipt : 'confirming'
    }
    return 'replaced'
  }

  /**
   * Sends `flight` again: a new version with both fees raised (`bumpFees`) when the node took the last one and it
   * still waits, else the last version's bytes again (the node refused them, lost them, or a raise would pass the
   * cap). Failures are kept on the flight, not thrown: its wait goes on either way.
   */
  private async resend(flight: Flight): Promise<void> {
    try {
      if (flight.accepted) {
        let current: Fees | undefined
        try {
          current = await this.publicClient.estimateFeesPerGas()
        } catch (error) {
          flight.lastError = toChainError(error, { nonce: flight.nonce }) // raise from the last version's fees alone
        }
        const fees = bumpFees(flight.fees, current, flight.cap)
        if (fees !== undefined) {
          flight.raw = await this.sign({ ...flight.request, nonce: flight.nonce }, fees)
          flight.fees = fees
          flight.hashes.push(keccak256(flight.raw))
          flight.accepted = false
        }
      }
      flight.sentAt = Date.now()
      await this.sendRaw(flight.raw)
      flight.accepted = true
    } catch (error) {
      flight.lastError = toChainError(error, { nonce: flight.nonce, transactionHash: flight.hashes.at(-1) })
    }
  }

  private sign(request: { readonly to: Address; readonly data: Hex; readonly value: bigint; readonly gas: bigint; readonly nonce: number }, fees: Fees): Promise<Hex> {
    return this.signer.signTransaction({ type: 'eip1559', chainId: this.options.chainId, ...request, ...fees })
  }

  /** eth_sendRawTransaction; "already known" is success: the node holds exactly these bytes. */
  private async sendRaw(raw: Hex): Promise<void> {
    try {
      await this.walletClient.sendRawTransaction({ serializedTransaction: raw })
    } catch (error) {
      if (!ALREADY_KNOWN_RE.test(messageOf(error))) throw error
    }
  }

  /** A mined transaction reverted: replay it at its block for the reason (the state it met may be gone). */
  private async revertReasonOf(call: Call, blockNumber: bigint, details: Record<string, unknown>): Promise<ChannelsError> {
    try {
      await this.publicClient.simulateContract({ account: this.account, address: call.to, abi: call.abi, functionName: call.functionName, args: call.args, value: call.value, blockNumber } as never)
    } catch (error) {
      return toChainError(error, details)
    }
    return new ChainRevertedError('transaction reverted' as RevertReason, { ...details, blockNumber, knownReason: false })
  }

  /** Runs `task` after every task queued before it; `admit` false: a re-send of a transaction already admitted. */
  private enqueue<T>(task: () => Promise<T>, admit = true): Promise<T> {
    if (admit && this.queued >= this.maxQueued) return Promise.reject(new ChainBusyError(`more than ${this.maxQueued} transactions queued`, { max: this.maxQueued }))
    if (admit) this.queued++
    const run = this.queueTail.then(task, task)
    // The queue only orders; each task's failure reaches its own caller through `run`.
    this.queueTail = run.then(
      () => undefined,
      () => undefined,
    )
    return admit ? run.finally(() => this.queued--) : run
  }
}

/** No version mined yet; one mined, short of `confirmations`; the nonce used by a transaction that is none of its versions. */
type FlightState = 'pending' | 'confirming' | 'replaced'

/**
 * One transaction sent and not yet settled: one nonce, every version signed for it. Mutable: the shell's
 * record of what it sent, updated as versions go out (`resend`).
 */
interface Flight {
  readonly nonce: number
  readonly request: { readonly to: Address; readonly data: Hex; readonly value: bigint; readonly gas: bigint }
  /** The most any version may offer per gas. */
  readonly cap: bigint
  /** The last version's fees and signed bytes. */
  fees: Fees
  raw: Hex
  /** Every version's hash, oldest first. */
  readonly hashes: Hex[]
  /** When the last version was sent, or last sent again (ms). */
  sentAt: number
  /** The node took the last version (or said it knew it): only then is a raise worth it. */
  accepted: boolean
  lastError: ChannelsError | undefined
}

/** The first version's fees: the estimate, within the cap. */
export function capFees(estimate: Fees, cap: bigint): Fees {
  const maxFeePerGas = estimate.maxFeePerGas < cap ? estimate.maxFeePerGas : cap
  const maxPriorityFeePerGas = estimate.maxPriorityFeePerGas < maxFeePerGas ? estimate.maxPriorityFeePerGas : maxFeePerGas
  return { maxFeePerGas, maxPriorityFeePerGas }
}

/**
 * The next version's fees: each of the previous ones raised by FEE_BUMP_PERCENT (rounded up), or the chain's
 * current estimate where that is higher, within `cap` (the tip never above the fee cap). Undefined when, capped,
 * either fee would rise by less than 12.5%: a node would refuse that replacement (geth asks +10%), so the last
 * version is sent again as it is.
 */
export function bumpFees(previous: Fees, current: Fees | undefined, cap: bigint): Fees | undefined {
  const raise = (fee: bigint) => (fee * (100n + FEE_BUMP_PERCENT) + 99n) / 100n
  const atLeast = (a: bigint, b: bigint | undefined) => (b !== undefined && b > a ? b : a)
  let maxFeePerGas = atLeast(raise(previous.maxFeePerGas), current?.maxFeePerGas)
  let maxPriorityFeePerGas = atLeast(raise(previous.maxPriorityFeePerGas), current?.maxPriorityFeePerGas)
  if (maxFeePerGas > cap) maxFeePerGas = cap
  if (maxPriorityFeePerGas > maxFeePerGas) maxPriorityFeePerGas = maxFeePerGas
  const enough = (before: bigint, after: bigint) => after * 8n >= before * 9n
  if (!enough(previous.maxFeePerGas, maxFeePerGas) || !enough(previous.maxPriorityFeePerGas, maxPriorityFeePerGas)) return undefined
  return { maxFeePerGas, maxPriorityFeePerGas }
}

/** Node messages for "this exact transaction is in my pool" (geth, anvil, erigon, nethermind). */
const ALREADY_KNOWN_RE = /already known|already imported|AlreadyKnown|ALREADY_EXISTS/i
/** Node messages for "that nonce is used" (geth, anvil, others). */
const NONCE_USED_RE = /nonce too low|nonce is too low|lower than the current nonce/i

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

// ---- conversions from our core types to the adjudicator's structs ----

export function toFixedPart(signed: SignedState) {
  const { participants, channelNonce, appDefinition, challengeDuration } = fixedPart(signed.state)
  return { participants, channelNonce, appDefinition, challengeDuration }
}

/** Our signatures by participant index become the adjudicator's list (it finds each signer's index itself). */
export function toSignedVariablePart(signed: SignedState) {
  const { outcome, appData, turnNum, isFinal } = signed.state
  const sigs = signed.signatures.flatMap((signature, i) => (signature === null ? [] : [toOnChainSignature(signature, `signatures[${i}]`)]))
  return { variablePart: { outcome, appData, turnNum: Number(turnNum), isFinal }, sigs }
}

/** r ‖ s ‖ v (65 bytes) → { v, r, s }. Refuses malformed and high-s signatures (signatures.ts). */
export function toOnChainSignature(signature: Signature, field = 'signature'): OnChainSignature {
  parseSignature(signature, field)
  return { r: `0x${signature.slice(2, 66)}`, s: `0x${signature.slice(66, 130)}`, v: Number.parseInt(signature.slice(130, 132), 16) }
}

// ---- errors ----

/** viem's error → ChainRevertedError (decoded reason), ChainUnavailableError (unreachable) or ChainTransactionError. */
export function toChainError(error: unknown, details: Record<string, unknown> = {}): ChannelsError {
  if (error instanceof ChannelsError) return error
  if (!(error instanceof BaseError)) return new ChainTransactionError(`chain request failed: ${String(error)}`, details, { cause: error })
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError)
  if (reverted instanceof ContractFunctionRevertedError) {
    const raw = reverted.data?.errorName === 'Panic' ? (reverted.data.args?.[0] === PANIC_UNDERFLOW ? RevertReason.underflow : reverted.reason) : (reverted.reason ?? reverted.data?.errorName ?? reverted.signature)
    return new ChainRevertedError(revertReasonOf(raw), { ...details, rawReason: raw }, { cause: error })
  }
  if (error.walk((e) => e instanceof InsufficientFundsError) instanceof InsufficientFundsError) {
    return new ChainRevertedError(RevertReason.insufficientBalance, details, { cause: error })
  }
  if (error.walk((e) => e instanceof WaitForTransactionReceiptTimeoutError) instanceof WaitForTransactionReceiptTimeoutError) {
    return new ChainTransactionError('transaction not mined in time', details, { cause: error })
  }
  if (error.walk((e) => e instanceof HttpRequestError || e instanceof TimeoutError) !== null) {
    return new ChainUnavailableError(`chain node unreachable: ${error.shortMessage}`, details, { cause: error })
  }
  return new ChainTransactionError(`chain refused the request: ${error.shortMessage}`, details, { cause: error })
}

/** The adjudicator's string when it is one we know; token balance failures in their several spellings. */
function revertReasonOf(raw: string | undefined): RevertReason {
  if (raw === undefined) return 'transaction reverted' as RevertReason
  if (TOKEN_BALANCE_RE.test(raw)) return RevertReason.insufficientBalance
  // Strings outside RevertReason pass through as they are (errors.ts's type lists the ones we map on).
  return raw as RevertReason
}

function nonNegative(value: number, field: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new OutOfRangeError(`${field} must be a non-negative integer`, { field, value })
  return value
}
