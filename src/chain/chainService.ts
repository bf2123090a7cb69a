// The ChainService interface (DESIGN §2, §6): what the engine needs from the adjudicator. The in-memory
// implementation (memoryChain.ts) models the adjudicator's holdings and events; the viem implementation
// against our deployed contracts comes behind the same interface.
import type { Address, Bytes32 } from '../core/types.js'

export type { ChainTransaction, ChainEvent } from '../protocols/onchain.js'
import type { ChainTransaction, ChainEvent } from '../protocols/onchain.js'
import type { Hex } from '../core/types.js'

/** Where a subscription resumes, and the hash its block had when the consumer last saw it. */
export interface ChainCursor {
  readonly block: bigint
  readonly logIndex: number
  readonly blockHash?: Hex
}

export interface ChainService {
  /** Submits a transaction; resolves when the chain accepted it, rejects with a typed error if it reverted. */
  submit(tx: ChainTransaction): Promise<void>
  /** Holdings of `asset` for `channelId` now. */
  holdings(channelId: Bytes32, asset: Address): Promise<bigint>
  /**
   * Delivers every event after `cursor` (block, logIndex), then new ones as they happen. With the cursor block's
   * hash, a re-org that replaced it while nobody watched is reported (`reorg`) before the new chain's events.
   * Returns an unsubscribe function.
   */
  subscribe(listener: (event: ChainEvent) => void, cursor?: ChainCursor): () => void
  /** The consensus app's address: the appDefinition of ledger channels. */
  readonly consensusApp: Address
}
