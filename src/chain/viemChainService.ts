// The ChainService against a deployed adjudicator, through viem over HTTP (DESIGN §6, §9; issue 4). From
// the engine's point of view it behaves as MemoryChain does: `submit` resolves once the transaction is
// mined (with `confirmations` blocks on top) and rejects with ChainRevertedError carrying the adjudicator's
// revert string, or ChainUnavailableError when the node cannot be reached; `subscribe` delivers the
// adjudicator's events after a cursor, exactly once each (eventWatcher.ts).
//
// - Transactions are signed by `txKey`, a key of their own, never a channel-signing key (lesson 8).
// - One queue per service serialises signing and sending, and the nonce is the node's pending count, asked
//   for each send, so concurrent submits never collide; receipts are awaited outside the queue; a transaction
//   not mined in time is sent again with higher fees (transactionSender.ts, issue 15).
// - Every transaction is estimated before it is signed, so most reverts cost nothing and are decoded from
//   the estimate; a transaction that still reverts on chain is replayed at its block to recover the reason.
// - An ERC20 deposit first approves the adjudicator (only when the allowance is short) and waits for the
//   approval to be mined before depositing: go-nitro did not wait (NITRO-NOTES §5.2).
import { createPublicClient, createWalletClient, defineChain, erc20Abi, http, zeroAddress } from 'viem'
import type { Chain, PublicClient, Transport } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { Address, Bytes32, Hex, Signature } from '../core/types.js'
import type { ChainCursor, ChainEvent, ChainService, ChainTransaction } from './chainService.js'
import type { ReclaimTransaction } from '../protocols/onchain.js'
import type { SignedState } from '../core/signedState.js'
import type { Exit } from '../core/outcome.js'
import type { LogOrigin, WatchedEvent } from './eventWatcher.js'
import type { ChannelsError } from '../core/errors.js'
import { OutOfRangeError, assert } from '../core/errors.js'
import { checkState, fixedPart } from '../core/state.js'
import { checkOutcome, encodeOutcome } from '../core/outcome.js'
import { parsePrivateKey, parseSignature } from '../core/signatures.js'
import { checkAddress, checkBytes32, checkUint } from '../core/validate.js'
import { MAX_UINT256 } from '../core/limits.js'
import { ChainRevertedError, RevertReason } from './errors.js'
import { TransactionSender } from './transactionSender.js'
import type { Call } from './transactionSender.js'
import { toChainError } from './viemErrors.js'

export { ChainBusyError, ChainTransactionError, toChainError } from './viemErrors.js'
export { FEE_BUMP_PERCENT, bumpFees, capFees } from './transactionSender.js'
export type { Fees } from './transactionSender.js'
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

/** A signature as the adjudicator takes it (Nitro's `Signature(uint8 v, bytes32 r, bytes32 s)`). */
export interface OnChainSignature {
  readonly v: number
  readonly r: Hex
  readonly s: Hex
}

/** ReclaimArgs with outcomes as our Exit values (encoded here). */
export type ReclaimArgs = ReclaimTransaction

const DEFAULT_POLLING_INTERVAL_MS = 1_000
const DEFAULT_RECEIPT_TIMEOUT_MS = 120_000
/** A few blocks of most chains (mainnet: 12 s); the service does not know the block time. */
const DEFAULT_BUMP_AFTER_MS = 15_000
const DEFAULT_MAX_QUEUED = 256
export class ViemChainService implements ChainService {
  readonly consensusApp: Address
  readonly adjudicator: Address
  /** The address of `txKey`: who pays gas and sends deposits. */
  readonly account: Address
  readonly publicClient: PublicClient<Transport, Chain>
  private readonly confirmations: number
  private readonly pollingIntervalMs: number
  private readonly sender: TransactionSender
  private readonly watchers = new Set<EventWatcher>()
  /** Per token: the tail of the deposits in progress (see deposit). */
  private readonly tokenLocks = new Map<string, Promise<void>>()

  constructor(private readonly options: ViemChainServiceOptions) {
    checkAddress(options.adjudicator, 'adjudicator')
    checkAddress(options.consensusApp, 'consensusApp')
    parsePrivateKey(options.txKey) // a typed error for a bad key, before viem's
    this.consensusApp = options.consensusApp
    this.adjudicator = options.adjudicator
    this.confirmations = nonNegative(options.confirmations ?? 0, 'confirmations')
    this.pollingIntervalMs = nonNegative(options.pollingIntervalMs ?? DEFAULT_POLLING_INTERVAL_MS, 'pollingIntervalMs')
    const receiptTimeoutMs = nonNegative(options.receiptTimeoutMs ?? DEFAULT_RECEIPT_TIMEOUT_MS, 'receiptTimeoutMs')
    const bumpAfterMs = nonNegative(options.bumpAfterMs ?? DEFAULT_BUMP_AFTER_MS, 'bumpAfterMs')
    if (options.maxFeePerGas !== undefined) {
      checkUint(options.maxFeePerGas, 'maxFeePerGas', MAX_UINT256)
      if (options.maxFeePerGas === 0n) throw new OutOfRangeError('maxFeePerGas must be positive', { field: 'maxFeePerGas' })
    }
    const maxQueued = nonNegative(options.maxQueuedTransactions ?? DEFAULT_MAX_QUEUED, 'maxQueuedTransactions')
    const chain = defineChain({
      id: options.chainId,
      name: `chain ${options.chainId}`,
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [options.rpcUrl] } },
    })
    const signer = privateKeyToAccount(options.txKey)
    this.account = toAddress(signer.address)
    this.publicClient = createPublicClient({ chain, transport: http(options.rpcUrl), pollingInterval: this.pollingIntervalMs })
    // No transport retries for sending: the sender sends again itself, after bumpAfterMs.
    const walletClient = createWalletClient({ chain, account: signer, transport: http(options.rpcUrl, { retryCount: 0 }) })
    const { confirmations, pollingIntervalMs, publicClient } = this
    this.sender = new TransactionSender({ chainId: options.chainId, publicClient, walletClient, signer, confirmations, pollingIntervalMs, receiptTimeoutMs, bumpAfterMs, maxQueued, ...(options.maxFeePerGas === undefined ? {} : { maxFeePerGas: options.maxFeePerGas }) })
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
    if (asset.toLowerCase() === zeroAddress) return this.sender.transact({ ...deposit, value: amount })
    // One token deposit at a time per token, from reading the allowance to the deposit: two concurrent ones
    // would each approve only their own amount, the later approve overwriting the earlier.
    const key = asset.toLowerCase()
    const erc20Deposit = async (): Promise<Hex> => {
      // As MemoryChain, and before approving anything: the adjudicator would only say 'Token transfer failed'.
      const balance = await this.call(() => this.publicClient.readContract({ address: asset, abi: erc20Abi, functionName: 'balanceOf', args: [this.account] }))
      if (balance < amount) throw new ChainRevertedError(RevertReason.insufficientBalance, { from: this.account, balance, amount })
      const allowance = await this.call(() => this.publicClient.readContract({ address: asset, abi: erc20Abi, functionName: 'allowance', args: [this.account, this.adjudicator] }))
      if (allowance < amount) await this.sender.transact({ to: asset, abi: erc20Abi, functionName: 'approve', args: [this.adjudicator, amount] })
      return this.sender.transact(deposit)
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
    return this.sender.transact({ to: this.adjudicator, abi: adjudicatorAbi, functionName: 'concludeAndTransferAllAssets', args: [toFixedPart(signed), toSignedVariablePart(signed)] })
  }

  /** conclude(fixedPart, candidate): finalizes without paying out. */
  conclude(signed: SignedState): Promise<Hex> {
    checkState(signed.state)
    return this.sender.transact({ to: this.adjudicator, abi: adjudicatorAbi, functionName: 'conclude', args: [toFixedPart(signed), toSignedVariablePart(signed)] })
  }

  /** challenge(fixedPart, proof, candidate, challengerSig); `challengerSignature` is signChallenge's output. */
  challenge(args: { readonly proof: readonly SignedState[]; readonly candidate: SignedState; readonly challengerSignature: Signature }): Promise<Hex> {
    checkState(args.candidate.state)
    const { proof, candidate } = this.supportOf(args.proof, args.candidate)
    const challengerSig = toOnChainSignature(args.challengerSignature, 'challengerSignature')
    return this.sender.transact({ to: this.adjudicator, abi: adjudicatorAbi, functionName: 'challenge', args: [toFixedPart(args.candidate), proof, candidate, challengerSig] })
  }

  /** checkpoint(fixedPart, proof, candidate): records a newer supported state, clearing a challenge. */
  checkpoint(args: { readonly proof: readonly SignedState[]; readonly candidate: SignedState }): Promise<Hex> {
    checkState(args.candidate.state)
    const { proof, candidate } = this.supportOf(args.proof, args.candidate)
    return this.sender.transact({ to: this.adjudicator, abi: adjudicatorAbi, functionName: 'checkpoint', args: [toFixedPart(args.candidate), proof, candidate] })
  }

  /** transferAllAssets(channelId, outcome, stateHash): pays out a finalized channel. */
  transferAllAssets(args: { readonly channelId: Bytes32; readonly outcome: Exit; readonly stateHash: Bytes32 }): Promise<Hex> {
    checkBytes32(args.channelId, 'channelId')
    checkBytes32(args.stateHash, 'stateHash')
    checkOutcome(args.outcome)
    return this.sender.transact({ to: this.adjudicator, abi: adjudicatorAbi, functionName: 'transferAllAssets', args: [args.channelId, args.outcome, args.stateHash] })
  }

  /** transfer(assetIndex, fromChannelId, outcomeBytes, stateHash, indices): pays some allocations of one asset (empty indices: all). */
  transfer(args: { readonly assetIndex: bigint; readonly channelId: Bytes32; readonly outcome: Exit; readonly stateHash: Bytes32; readonly indices: readonly bigint[] }): Promise<Hex> {
    checkBytes32(args.channelId, 'channelId')
    checkBytes32(args.stateHash, 'stateHash')
    checkUint(args.assetIndex, 'assetIndex', MAX_UINT256)
    args.indices.forEach((index, i) => checkUint(index, `indices[${i}]`, MAX_UINT256))
    const call = [args.assetIndex, args.channelId, encodeOutcome(args.outcome), args.stateHash, args.indices]
    return this.sender.transact({ to: this.adjudicator, abi: adjudicatorAbi, functionName: 'transfer', args: call })
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
    return this.sender.transact({ to: this.adjudicator, abi: adjudicatorAbi, functionName: 'reclaim', args: [reclaimArgs] })
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
}

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

function nonNegative(value: number, field: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new OutOfRangeError(`${field} must be a non-negative integer`, { field, value })
  return value
}
