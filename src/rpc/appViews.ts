// What the API shows of app channels (issue 7): the engine's view of a channel, its fully signed events
// with their authors, the app state at any seq, the difference between two seqs, and the exported log.
// Derived from the engine on every call, like the ledger and payment views (serialize.ts).
import type { Bytes32 } from '../core/types.js'
import type { Engine } from '../engine/engine.js'
import type { ChannelEvent } from '../log/event.js'
import { keccak256 } from '../core/keccak.js'
import { NoSuchAppChannelError } from '../engine/errors.js'
import { encodeExportedLog } from '../protocols/app/exportFormat.js'
import type { AppChannelInfo, AppEvent, AppStateAt, AppStateDiff, ExportFormat } from './schemas.js'
import { MAX_EVENTS_PER_CALL } from './limits.js'

type AppEngine = Pick<Engine, 'getAppChannel' | 'appEvents' | 'appStateAt' | 'exportAppLog'>

export function appChannelInfo(engine: Pick<Engine, 'getAppChannel'>, channelId: Bytes32): AppChannelInfo | undefined {
  const view = engine.getAppChannel(channelId)
  if (!view) return undefined
  return {
    channelId: view.channelId,
    participants: [...view.participants],
    appId: view.appId,
    asset: view.asset,
    deposits: [...view.deposits],
    funding: view.funding,
    status: view.status,
    moveTimeout: view.moveTimeout,
    turnNum: view.turnNum,
    head: view.head && { seq: view.head.seq, hash: view.head.hash },
    pending: view.pending && {
      turnNum: view.pending.turnNum,
      author: view.pending.author,
      missing: [...view.pending.missing],
      refusedBy: view.pending.refusedBy.map((r) => ({ participant: r.participant, code: r.code })),
    },
    appState: view.appState,
    whoseTurn: view.whoseTurn,
    isFinal: view.isFinal,
    outcome: [...view.outcome],
  }
}

export function requireAppChannelInfo(engine: Pick<Engine, 'getAppChannel'>, channelId: Bytes32): AppChannelInfo {
  const info = appChannelInfo(engine, channelId)
  if (!info) throw new NoSuchAppChannelError('no such app channel', { channelId })
  return info
}

function appEvent(event: ChannelEvent): AppEvent {
  return { seq: event.seq, kind: event.kind, author: event.author, payload: event.payload, prevHash: event.prevHash, hash: event.hash }
}

/** Events fromSeq..toSeq (default 1 and at most MAX_EVENTS_PER_CALL of them). */
export async function appEvents(engine: AppEngine, channelId: Bytes32, fromSeq = 1n, toSeq?: bigint): Promise<AppEvent[]> {
  requireAppChannelInfo(engine, channelId)
  const last = toSeq ?? fromSeq + BigInt(MAX_EVENTS_PER_CALL) - 1n
  return (await engine.appEvents(channelId, fromSeq, last)).map(appEvent)
}

export async function appStateAt(engine: AppEngine, channelId: Bytes32, seq: bigint): Promise<AppStateAt> {
  requireAppChannelInfo(engine, channelId)
  const appState = await engine.appStateAt(channelId, seq)
  return { seq, appState, appStateHash: keccak256(appState) }
}

/** The states after fromSeq and after toSeq, and the events after fromSeq up to toSeq. */
export async function appStateDiff(engine: AppEngine, channelId: Bytes32, fromSeq: bigint, toSeq: bigint): Promise<AppStateDiff> {
  const from = await appStateAt(engine, channelId, fromSeq)
  const to = await appStateAt(engine, channelId, toSeq)
  const events = toSeq > fromSeq ? (await engine.appEvents(channelId, fromSeq + 1n, toSeq)).map(appEvent) : []
  return { from, to, events }
}

export async function exportAppLog(engine: AppEngine, channelId: Bytes32, format: ExportFormat): Promise<{ format: ExportFormat; data: string }> {
  requireAppChannelInfo(engine, channelId)
  const bytes = encodeExportedLog(await engine.exportAppLog(channelId), format)
  return { format, data: format === 'json' ? Buffer.from(bytes).toString('utf8') : `0x${Buffer.from(bytes).toString('hex')}` }
}
