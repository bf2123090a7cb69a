// What the watchtower needs of the chain (watchtower.ts): the adjudicator's events, checkpoint, a channel's
// status and the chain's clock. `viemWatchtowerChain` takes them from the ViemChainService; the shell's tests
// script them.
import type { Bytes32, Hex } from '../core/types.js'
import type { SignedState } from '../core/signedState.js'
import type { LogOrigin, WatchedEvent } from '../chain/eventWatcher.js'
import type { ViemChainService } from '../chain/viemChainService.js'
import { toChainError } from '../chain/viemErrors.js'
import type { ChainCursor } from './custody.js'

/** What the watchtower needs of the chain; `viemWatchtowerChain` adapts the ViemChainService. */
export interface WatchtowerChain {
  subscribeAll(listener: (event: WatchedEvent, origin: LogOrigin) => void, cursor?: ChainCursor, onReorg?: (reorg: { readonly forkBlock: bigint }) => void): () => void
  checkpoint(args: { readonly proof: readonly SignedState[]; readonly candidate: SignedState }): Promise<Hex>
  status(channelId: Bytes32): Promise<{ readonly turnNumRecord: bigint; readonly finalizesAt: bigint }>
  /** The latest block's timestamp (seconds): the time a challenge's deadline is measured in. */
  chainTime(): Promise<bigint>
}

export function viemWatchtowerChain(service: ViemChainService): WatchtowerChain {
  return {
    subscribeAll: (listener, cursor, onReorg) => service.subscribeAll(listener, cursor, onReorg),
    checkpoint: (args) => service.checkpoint(args),
    status: (channelId) => service.status(channelId),
    async chainTime() {
      try {
        return (await service.publicClient.getBlock({ blockTag: 'latest' })).timestamp
      } catch (error) {
        throw toChainError(error, { request: 'latest block' })
      }
    },
  }
}
