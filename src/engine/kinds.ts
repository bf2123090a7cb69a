// The registry of objective kinds: everything the router needs to know about a kind is one entry here — how
// it is cranked, who takes part, when a peer's "no" comes too late, which peer payloads and chain events reach
// it, and which ledgers it waits on. The differences between kinds are data; a new kind is one new entry.
import type { Address, Bytes32 } from '../core/types.js'
import type { SignedState } from '../core/signedState.js'
import { isFullySigned, isSignedBy } from '../core/signedState.js'
import type { ChainEvent } from '../protocols/onchain.js'
import type { Objective } from '../protocols/objectives.js'
import { isActive } from '../protocols/objective.js'
import { directFundId } from '../protocols/directfund/directfund.js'
import { directDefundId } from '../protocols/directdefund/directdefund.js'
import { appFundId } from '../protocols/app/appFund.js'
import { appDefundId } from '../protocols/app/appDefund.js'
import type { StepContext } from './context.js'
import type { HandlerDeps } from './step.js'
import { crankDirect, onDirectChainEvent, onDirectChainFailure, receiveDirectSignedState } from './ledgers.js'
import { crankVirtual, receiveVirtualSignedState, routesThrough } from './virtual.js'
import { crankAppObjective, fundedThrough, onAppChainEvent, onAppChainFailure, receiveConcludingSignature } from './appFunding.js'
import { crankDispute, onDisputeChainEvent, onDisputeChainFailure } from './appDisputes.js'

type Kind = Objective['kind']
type Of<K extends Kind> = Extract<Objective, { kind: K }>

export interface ObjectiveKind<O extends Objective> {
  /** Objective ids of this kind start with it (peers name objectives by id). */
  readonly prefix: string
  /** Everyone who takes part, me included. */
  participants(o: O): readonly Address[]
  /**
   * Whether a peer's rejection comes too late: once my money is on its way (a deposit, a guarantee my ledger may
   * lock, a proposal or countersignature I signed) or a final state is signed by all (anyone may conclude it),
   * a peer saying "no" must not make me stop following it — my money would be stranded, my payout ignored, or
   * my policy would stop counting what is still committed.
   */
  isCommitted(o: O): boolean
  /** Cranks the objective as given and applies what follows (a ledger update is cranked with its ledger). */
  crank(ctx: StepContext, o: O, deps: HandlerDeps): void
  /** A peer's signed state for an objective id of this kind: progress for mine, or the peer starting one. */
  receiveSignedState?(ctx: StepContext, from: Address, objectiveId: string, signed: SignedState, deps: HandlerDeps): void
  /** A chain event about a channel of mine (`channelId` lowercase); the entry finds its own objective. */
  onChainEvent?(ctx: StepContext, channelId: Bytes32, event: ChainEvent, deps: HandlerDeps): void
  /** A transaction of this objective that the chain service could not land. */
  onChainFailure?(ctx: StepContext, o: O, code: string, summary: string, deps: HandlerDeps): void
  /** Whether a move of my ledger with `counterparty` may let it progress (it is woken then). */
  waitsOnLedgerWith?(o: O, me: Address, counterparty: Address): boolean
}

/** A chain event reaches the active objective of kind `kind` of the event's channel (id `idOf(channelId)`), if any. */
function onOwnChannel<K extends Kind>(kind: K, idOf: (channelId: Bytes32) => string, handle: (ctx: StepContext, o: Of<K>, event: ChainEvent, deps: HandlerDeps) => void): ObjectiveKind<Of<K>>['onChainEvent'] {
  return (ctx, channelId, event, deps) => {
    const o = ctx.objectives.get(idOf(channelId))
    if (o?.kind === kind && isActive(o)) handle(ctx, o as Of<K>, event, deps)
  }
}

export const KINDS: { readonly [K in Kind]: ObjectiveKind<Of<K>> } = {
  directfund: {
    prefix: 'directfund:',
    participants: (o) => o.prefund.state.participants,
    isCommitted: (o) => o.depositSubmitted || isSignedBy(o.postfund, o.myIndex),
    crank: crankDirect,
    receiveSignedState: receiveDirectSignedState,
    onChainEvent: onOwnChannel('directfund', directFundId, onDirectChainEvent),
    onChainFailure: onDirectChainFailure,
  },
  directdefund: {
    prefix: 'directdefund:',
    participants: (o) => o.final.state.participants,
    isCommitted: (o) => isFullySigned(o.final),
    crank: crankDirect,
    receiveSignedState: receiveDirectSignedState,
    onChainEvent: onOwnChannel('directdefund', directDefundId, onDirectChainEvent),
    onChainFailure: onDirectChainFailure,
  },
  ledgerUpdate: {
    prefix: 'ledgerUpdate:',
    participants: (o) => [o.counterparty],
    isCommitted: (o) => o.turnNum !== null, // I proposed or countersigned: that turn may become supported
    crank: (ctx, o) => ctx.touchLedger(o.ledgerId),
  },
  virtualfund: {
    prefix: 'virtualfund:',
    participants: (o) => o.prefund.state.participants,
    isCommitted: (o) => o.guaranteesRequested, // my ledgers may lock (or have locked) its guarantee
    crank: crankVirtual,
    receiveSignedState: receiveVirtualSignedState,
    waitsOnLedgerWith: routesThrough,
  },
  virtualdefund: {
    prefix: 'virtualdefund:',
    participants: (o) => o.funded.participants,
    isCommitted: () => false,
    crank: crankVirtual,
    receiveSignedState: receiveVirtualSignedState,
    waitsOnLedgerWith: routesThrough,
  },
  appfund: {
    prefix: 'appfund:',
    participants: (o) => o.participants,
    isCommitted: (o) => o.depositSubmitted || o.guaranteeRequested,
    crank: crankAppObjective,
    onChainEvent: onOwnChannel('appfund', appFundId, onAppChainEvent),
    onChainFailure: onAppChainFailure,
    waitsOnLedgerWith: fundedThrough,
  },
  appdefund: {
    prefix: 'appdefund:',
    participants: (o) => o.final.state.participants,
    isCommitted: (o) => isFullySigned(o.final),
    crank: crankAppObjective,
    receiveSignedState: receiveConcludingSignature,
    onChainEvent: onOwnChannel('appdefund', appDefundId, onAppChainEvent),
    onChainFailure: onAppChainFailure,
    waitsOnLedgerWith: fundedThrough,
  },
  appdispute: {
    prefix: 'appdispute:',
    participants: (o) => o.candidate.state.participants,
    isCommitted: () => false,
    crank: crankDispute,
    onChainEvent: onDisputeChainEvent,
    onChainFailure: onDisputeChainFailure,
  },
}

/** Every kind's entry, in a fixed order (the order chain events reach them). */
export const KIND_LIST: readonly ObjectiveKind<Objective>[] = Object.values(KINDS) as ObjectiveKind<Objective>[]

/** The entry of an objective. */
export function kindOf<O extends Objective>(o: O): ObjectiveKind<O> {
  return KINDS[o.kind] as unknown as ObjectiveKind<O>
}

/** The entry whose ids `objectiveId` has the form of, if any. */
export function kindOfId(objectiveId: string): ObjectiveKind<Objective> | undefined {
  return KIND_LIST.find((k) => objectiveId.startsWith(k.prefix))
}
