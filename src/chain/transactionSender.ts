// The transactions of one key (issue 15): estimated, signed and sent one at a time with the chain's pending nonce,
// then followed until one of their versions is mined. A transaction not mined within `bumpAfterMs` is signed
// again with its nonce and both EIP-1559 fees raised by a quarter (nodes replace a pooled transaction only for at
// least +10% (geth) to +12.5%), up to a cap, and sent again; every version's hash is kept, and whichever is mined is
// the transaction. Sending again also reaches a node that swallowed or dropped it; one whose nonce the pool lost
// is sent again before a new transaction could take that nonce. ViemChainService sends through one of these.
import { TransactionReceiptNotFoundError, encodeFunctionData, keccak256 } from 'viem'
import type { Chain, PrivateKeyAccount, PublicClient, TransactionReceipt, Transport, WalletClient, Account, erc20Abi } from 'viem'
import type { Address, Hex } from '../core/types.js'
import type { ChannelsError } from '../core/errors.js'
import { ChainRevertedError } from './errors.js'
import type { RevertReason } from './errors.js'
import { ChainBusyError, ChainTransactionError, toChainError } from './viemErrors.js'
import { toAddress } from '../core/canonical.js'
import type { adjudicatorAbi } from './abi.js'

/** EIP-1559 fees per gas, in wei. */
export interface Fees {
  readonly maxFeePerGas: bigint
  readonly maxPriorityFeePerGas: bigint
}

/** Without a configured cap, a transaction's versions offer at most this many times its first fee estimate. */
const DEFAULT_FEE_CAP_MULTIPLIER = 10n
/** Each version raises both fees by this much (percent) over the previous one. */
export const FEE_BUMP_PERCENT = 25n

/** A contract call to send. */
export type Call = { readonly to: Address; readonly abi: typeof adjudicatorAbi | typeof erc20Abi; readonly functionName: string; readonly args: readonly unknown[]; readonly value?: bigint }

export interface TransactionSenderOptions {
  readonly chainId: number
  readonly publicClient: PublicClient<Transport, Chain>
  readonly walletClient: WalletClient<Transport, Chain, Account>
  readonly signer: PrivateKeyAccount
  readonly confirmations: number
  readonly pollingIntervalMs: number
  readonly receiptTimeoutMs: number
  readonly bumpAfterMs: number
  /** The most any version may offer per gas (default DEFAULT_FEE_CAP_MULTIPLIER times the first estimate). */
  readonly maxFeePerGas?: bigint
  /** Submissions waiting for the queue at once; more are refused with `chain_busy`. */
  readonly maxQueued: number
}

export class TransactionSender {
  private readonly publicClient: PublicClient<Transport, Chain>
  private readonly walletClient: WalletClient<Transport, Chain, Account>
  private readonly signer: PrivateKeyAccount
  private readonly account: Address
  private readonly confirmations: number
  private readonly pollingIntervalMs: number
  private readonly receiptTimeoutMs: number
  private readonly bumpAfterMs: number
  private readonly maxQueued: number
  private queueTail: Promise<unknown> = Promise.resolve()
  private queued = 0
  /** Transactions sent and not yet settled (mined, replaced or given up), each with all its versions. */
  private readonly inFlight = new Set<Flight>()

  constructor(private readonly options: TransactionSenderOptions) {
    this.publicClient = options.publicClient
    this.walletClient = options.walletClient
    this.signer = options.signer
    this.account = toAddress(options.signer.address)
    this.confirmations = options.confirmations
    this.pollingIntervalMs = options.pollingIntervalMs
    this.receiptTimeoutMs = options.receiptTimeoutMs
    this.bumpAfterMs = options.bumpAfterMs
    this.maxQueued = options.maxQueued
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
  async transact(call: Call): Promise<Hex> {
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
