// What the node shows of its state: every status derivation in one place, shared by the engine's API, the RPC,
// the CLI and the coming projections. Pure functions of the machine's tables.
import type { Address, Bytes32 } from '../core/types.js'
import type { SignedState } from '../core/signedState.js'
import type { LogHead } from '../log/channelLog.js'
import type { Objective } from '../protocols/objectives.js'
import type { FundingMode } from '../protocols/app/appData.js'
import { fundingOf, moveTimeoutOf } from '../protocols/app/appData.js'
import type { AppChannel } from '../protocols/app/appChannel.js'
import { missingSignatures } from '../protocols/app/appChannel.js'
import { appDisputeId } from '../protocols/app/appDispute.js'
import { appFundId } from '../protocols/app/appFund.js'
import { appDefundId } from '../protocols/app/appDefund.js'
import type { Turn } from '../wasm/appRuntime.js'
import type { Readable } from './table.js'
import { isActive } from '../protocols/objective.js'
import { refusalsOfPending } from './apps.js'
import type { HandlerDeps } from './step.js'

/** Where a ledger is in its life. */
export const LEDGER_STATUSES = ['funding', 'open', 'closing', 'closed', 'failed'] as const
export type LedgerStatus = (typeof LEDGER_STATUSES)[number]
/** Where a payment channel is in its life. */
export const PAYMENT_STATUSES = ['opening', 'open', 'closing', 'closed', 'failed'] as const
export type PaymentChannelStatus = (typeof PAYMENT_STATUSES)[number]
/** Where an app channel is in its life (appStatus). */
export const APP_CHANNEL_STATUSES = ['opening', 'funding', 'open', 'closing', 'disputing', 'closed', 'failed'] as const
export type AppChannelStatus = (typeof APP_CHANNEL_STATUSES)[number]

/** What `getAppChannel` shows: the latest turn signed by every participant, and the one being signed. */
export interface AppChannelView {
  readonly channelId: Bytes32
  readonly participants: readonly Address[]
  readonly appId: Bytes32
  readonly asset: Address
  readonly deposits: readonly bigint[]
  readonly funding: FundingMode
  /**
   * Where the channel is in its life: 'opening' until turn 0 is signed by all, 'funding' until the deposits
   * are held (AppFund), 'open', 'closing' (AppDefund), 'closed', or 'failed' (an objective's failure says why,
   * or, for an opening a participant refused, `pending.refusedBy`).
   */
  readonly status: AppChannelStatus
  readonly moveTimeout: number
  /** The latest turn signed by all, its event's seq (turnNum + 1) and hash; null until turn 0 is. */
  readonly turnNum: bigint | null
  readonly head: LogHead | null
  readonly latest: SignedState | null
  /**
   * The turn being signed: its author, the participant indexes whose signature it still lacks, and those
   * who said they refused it and why (their node's error code, e.g. app_declined or app_rejected).
   */
  readonly pending: {
    readonly turnNum: bigint
    readonly author: Address
    readonly missing: readonly number[]
    readonly refusedBy: readonly { readonly participant: number; readonly code: string }[]
  } | null
  /** The app state after the latest fully signed turn, and what the app says of it. */
  readonly appState: Uint8Array | null
  readonly whoseTurn: Turn | null
  readonly isFinal: boolean
  /** What each participant is paid under the latest fully signed state, by participant index. */
  readonly outcome: readonly bigint[]
}

export interface ObjectiveView {
  readonly objective: Objective
  readonly waitingFor: string | undefined
}

interface ViewTables {
  readonly objectives: Readable<Objective>
  readonly apps: Readable<AppChannel>
}

export function appChannelView(tables: ViewTables, deps: Pick<HandlerDeps, 'apps'>, channelId: Bytes32): AppChannelView | undefined {
  const channel = tables.apps.get(channelId)
  if (!channel) return undefined
  const { definition } = channel.context
  const latest = channel.latest
  let whoseTurn: Turn | null = null
  let isFinal = false
  const runtime = deps.apps(definition.appId)
  if (latest && runtime) {
    whoseTurn = runtime.whoseTurn(latest.appState)
    isFinal = whoseTurn === 'nobody' || runtime.isFinal(latest.appState)
  }
  const allocations = latest?.signed.state.outcome[0]?.allocations ?? []
  return {
    channelId: channel.context.id,
    participants: definition.fixed.participants,
    appId: definition.appId,
    asset: definition.asset,
    deposits: definition.deposits,
    funding: fundingOf(definition),
    status: appStatus(tables, channel),
    moveTimeout: moveTimeoutOf(definition),
    turnNum: latest?.signed.state.turnNum ?? null,
    head: latest ? { seq: latest.event.seq, hash: latest.event.hash } : null,
    latest: latest?.signed ?? null,
    pending: channel.pending && {
      turnNum: channel.pending.signed.state.turnNum,
      author: channel.pending.event.author,
      missing: missingSignatures(channel),
      refusedBy: refusalsOfPending(channel).map((r) => ({ participant: r.index, code: r.code })),
    },
    appState: latest?.appState ?? null,
    whoseTurn,
    isFinal,
    outcome: allocations.map((a) => a.amount),
  }
}

/** Where an app channel is in its life, from its objectives (dispute, close, funding) and its turns. */
export function appStatus(tables: ViewTables, channel: AppChannel): AppChannelStatus {
  const channelId = channel.context.id
  const { objectives } = tables
  const dispute = objectives.get(appDisputeId(channelId))
  if (dispute && dispute.status !== 'failed') return dispute.status === 'completed' ? 'closed' : 'disputing'
  const defund = objectives.get(appDefundId(channelId))
  if (defund) return defund.status === 'completed' ? 'closed' : defund.status === 'failed' || defund.status === 'rejected' ? 'failed' : 'closing'
  // Refused by a participant before turn 0 was signed by all: it will never open (nothing was funded).
  if (!channel.latest) return refusalsOfPending(channel).length > 0 ? 'failed' : 'opening'
  if (fundingOf(channel.context.definition) === 'none') return 'open'
  const fund = objectives.get(appFundId(channelId))
  if (!fund || fund.status === 'approved' || fund.status === 'unapproved') return 'funding'
  return fund.status === 'completed' ? 'open' : 'failed'
}

/**
 * A ledger's status from what this node holds: the ledger itself (open, or closing once a defund started), else its
 * DirectDefund (closed) or its DirectFund (funding, or failed; a completed one whose ledger is gone was defunded).
 */
export function ledgerStatus(ledger: { readonly closing?: boolean } | undefined, fund: Objective | undefined, defund: Objective | undefined): LedgerStatus | undefined {
  if (ledger) return ledger.closing ? 'closing' : 'open'
  if (defund?.status === 'completed') return 'closed'
  if (!fund) return undefined
  return isActive(fund) ? 'funding' : fund.status === 'completed' ? 'closed' : 'failed'
}

/** A payment channel's status from its VirtualFund, its VirtualDefund, and whether my record of it is closing. */
export function paymentStatus(fund: Objective, defund: Objective | undefined, closing: boolean): PaymentChannelStatus {
  if (fund.status === 'failed' || fund.status === 'rejected') return 'failed'
  if (isActive(fund)) return 'opening'
  if (defund?.status === 'completed') return 'closed'
  if (defund || closing) return 'closing'
  return 'open'
}
