// Engine inputs (DESIGN §4.2): everything the engine reacts to. Each is journaled with the clock time the
// shell observed, so that replaying the journal reproduces every decision (retransmission schedules
// included) without reading a clock.
import type { Address, Bytes32 } from '../core/types.js'
import type { ChainEvent } from '../protocols/onchain.js'
import type { Proposal } from '../protocols/ledger/proposal.js'
import type { Voucher } from '../core/voucher.js'
import type { CreateAppChannelRequest } from './apps.js'
import type { PeerPolicy } from './policy.js'
import { decodeValue, encodeValue } from '../core/codec.js'
import { JournalInputKind } from '../log/journal.js'
import { assert } from '../core/errors.js'

export type ApiRequest =
  | {
      readonly op: 'directFund'
      readonly counterparty: Address
      readonly asset: Address
      readonly myDeposit: bigint
      readonly theirDeposit: bigint
      readonly nonce: bigint
      readonly challengeDuration: number
    }
  | { readonly op: 'directDefund'; readonly ledgerId: Bytes32 }
  /** `ask`: ask the counterparty to start it too (it does only if its owner agreed); false only agrees to it. */
  | { readonly op: 'ledgerUpdate'; readonly ledgerId: Bytes32; readonly proposal: Proposal; readonly ask: boolean }
  | { readonly op: 'syncLedger'; readonly ledgerId: Bytes32 }
  | {
      readonly op: 'createPaymentChannel'
      readonly counterparty: Address
      readonly intermediaries: readonly Address[]
      readonly asset: Address
      readonly amount: bigint
      readonly nonce: bigint
      readonly challengeDuration: number
    }
  | { readonly op: 'closePaymentChannel'; readonly channelId: Bytes32 }
  | { readonly op: 'pay'; readonly channelId: Bytes32; readonly amount: bigint; readonly send: boolean }
  | { readonly op: 'receiveVoucher'; readonly voucher: Voucher }
  | ({ readonly op: 'createAppChannel' } & CreateAppChannelRequest)
  | { readonly op: 'submitAppEvent'; readonly channelId: Bytes32; readonly payload: Uint8Array }
  | { readonly op: 'closeAppChannel'; readonly channelId: Bytes32 }
  | { readonly op: 'challengeAppChannel'; readonly channelId: Bytes32 }
  | { readonly op: 'challengeLedger'; readonly ledgerId: Bytes32 }
  | { readonly op: 'challengePaymentChannel'; readonly channelId: Bytes32 }
  /** The shell saw this objective wait on its peers for `waitedMs` (stalls.ts): settle its channel on chain. */
  | { readonly op: 'challengeStalled'; readonly objectiveId: string; readonly waitingFor: string; readonly waitedMs: number }
  /** The shell's first input on a new store: the node's epoch (time and randomness come from the shell). */
  | { readonly op: 'startEpoch'; readonly epoch: bigint }
  /** The configured policy, journaled at open when it differs from the one in effect (configuration is an input). */
  | { readonly op: 'setPolicy'; readonly policy: PeerPolicy }

export type EngineInput =
  | { readonly kind: 'api'; readonly request: ApiRequest }
  | { readonly kind: 'peer'; readonly from: Address; readonly bytes: Uint8Array }
  | { readonly kind: 'chain'; readonly event: ChainEvent }
  | { readonly kind: 'chainResult'; readonly objectiveId: string; readonly code: string; readonly summary: string }
  /** A transaction of the chain outbox was mined: it is not sent again. */
  | { readonly kind: 'chainMined'; readonly objectiveId: string; readonly txKind: string }
  | { readonly kind: 'tick' }

export interface TimedInput {
  readonly at: number
  readonly input: EngineInput
}

export function journalKindOf(input: EngineInput): JournalInputKind {
  switch (input.kind) {
    case 'api':
      return JournalInputKind.api
    case 'peer':
      return JournalInputKind.peer
    case 'chain':
    case 'chainResult':
    case 'chainMined':
      return JournalInputKind.chain
    case 'tick':
      return JournalInputKind.tick
  }
}

export function encodeInput(timed: TimedInput): Uint8Array {
  return encodeValue([timed.at, timed.input])
}

/** Journal entries are our own writes; a malformed one is a broken journal, an invariant. */
export function decodeInput(bytes: Uint8Array): TimedInput {
  const value = decodeValue(bytes, Number.MAX_SAFE_INTEGER)
  assert(Array.isArray(value) && value.length === 2 && typeof value[0] === 'number', 'journal entry is [at, input]')
  return { at: value[0] as number, input: value[1] as EngineInput }
}
