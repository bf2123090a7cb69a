// The ChainService interface (DESIGN §2, §6): what the engine needs from the adjudicator. The in-memory
// implementation (memoryChain.ts) models the adjudicator's holdings and events; the viem implementation
// against our deployed contracts comes behind the same interface.
import type { Address, Bytes32 } from '../core/types.js'

export type { ChainTransaction, ChainEvent } from '../protocols/onchain.js'
import type { ChainTransaction, ChainEvent } from '../protocols/onchain.js'

export interface ChainService {
  /** Submits a transaction; resolves when the chain accepted it, rejects with a typed error if it reverted. */
  submit(tx: ChainTransaction): Promise<void>
  /** Holdings of `asset` for `channelId` now. */
  holdings(channelId: Bytes32, asset: Address): Promise<bigint>
  /** Delivers every event after `cursor` (block, logIndex), then new ones as they happen. Returns an unsubscribe function. */
  subscribe(listener: (event: ChainEvent) => void, cursor?: { block: bigint; logIndex: number }): () => void
  /** The consensus app's address: the appDefinition of ledger channels. */
  readonly consensusApp: Address
}
