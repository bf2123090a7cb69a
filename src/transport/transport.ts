// The Transport interface (DESIGN §2): bytes to and from peers identified by their channel address.
// Delivery is best effort; reliability (sequence numbers, acks, retransmission) lives in the engine's
// outbox on top, so every transport may drop, duplicate or reorder.
import type { Address } from '../core/types.js'

export type MessageHandler = (from: Address, bytes: Uint8Array) => void

export interface Transport {
  readonly address: Address
  /** Fire and forget: never throws for an unreachable peer. */
  send(to: Address, bytes: Uint8Array): void
  /** One handler per transport; a later call replaces it. */
  onMessage(handler: MessageHandler): void
  close(): Promise<void>
}
