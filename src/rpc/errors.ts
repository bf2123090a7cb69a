// JSON-RPC 2.0 errors (https://www.jsonrpc.org/specification §5.1): the reserved codes, this node's
// application codes in the implementation-defined range -32000..-32099, and the one mapping from anything
// a handler throws to an error object. STYLE §3: a ChannelsError reaches the caller as { code, summary,
// details } in `error.data`, bigints as decimal strings; anything else is our bug, logged and answered
// with a generic -32603 that leaks nothing.
import type { z } from 'zod'
import { ChannelsError, OperatingError, RejectedInputError } from '../core/errors.js'
import { bytesToHex } from '../core/hex.js'
import { MAX_DETAILS_DEPTH } from './limits.js'

export const RpcErrorCode = {
  /** The body is not JSON. */
  parseError: -32700,
  /** JSON, but not a JSON-RPC 2.0 request (or an empty batch). */
  invalidRequest: -32600,
  methodNotFound: -32601,
  /** Params fail the method's schema; `data.issues` lists `{ path, message }`. */
  invalidParams: -32602,
  /** Our bug; details are in the node's log, never in the answer. */
  internalError: -32603,
  /** Missing or wrong `Authorization: Bearer <secret>` (HTTP status 401). */
  unauthorized: -32001,
  /** Unknown ledger channel, payment channel, app channel or objective; `data.code` says which. */
  notFound: -32002,
  /** The engine refused the request (a RejectedInputError); `data` is `{ code, summary, details? }`. */
  refused: -32003,
  /** A limit of src/rpc/limits.ts: body bytes, batch size, subscriptions, calls in flight. */
  limitExceeded: -32004,
  /** The node cannot serve now (engine stopped, chain down: an OperatingError); retrying may help. */
  unavailable: -32005,
  /** The method needs the other transport: subscribe/unsubscribe need a WebSocket. */
  wrongTransport: -32006,
} as const
export type RpcErrorCodeValue = (typeof RpcErrorCode)[keyof typeof RpcErrorCode]

/** What each code means, for the OpenRPC document and docs/api.md. */
export const RPC_ERROR_MESSAGES: Readonly<Record<RpcErrorCodeValue, string>> = {
  [RpcErrorCode.parseError]: 'parse error',
  [RpcErrorCode.invalidRequest]: 'invalid request',
  [RpcErrorCode.methodNotFound]: 'method not found',
  [RpcErrorCode.invalidParams]: 'invalid params',
  [RpcErrorCode.internalError]: 'internal error',
  [RpcErrorCode.unauthorized]: 'unauthorized',
  [RpcErrorCode.notFound]: 'not found',
  [RpcErrorCode.refused]: 'refused',
  [RpcErrorCode.limitExceeded]: 'limit exceeded',
  [RpcErrorCode.unavailable]: 'unavailable',
  [RpcErrorCode.wrongTransport]: 'wrong transport',
}

/** RpcServer.start refuses a secret too short to be one the daemon generated. */
export class WeakSecretError extends RejectedInputError {
  readonly code = 'weak_secret'
}

/** Engine error codes that mean "no such thing" rather than "refused". */
const NOT_FOUND_CODES: ReadonlySet<string> = new Set(['unknown_channel', 'no_such_ledger', 'no_such_objective', 'no_such_app_channel'])

export interface RpcErrorObject {
  readonly code: number
  readonly message: string
  readonly data?: unknown
}

/** An error the RPC layer itself raises with a chosen code (bad params, limits, wrong transport). */
export class RpcMethodError extends Error {
  constructor(
    readonly code: RpcErrorCodeValue,
    message: string,
    readonly data?: unknown,
  ) {
    super(message)
    this.name = 'RpcMethodError'
  }

  toObject(): RpcErrorObject {
    return this.data === undefined ? { code: this.code, message: this.message } : { code: this.code, message: this.message, data: this.data }
  }
}

export interface ErrorLogger {
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

/** The error object for anything a handler threw. Internal errors are logged here, once. */
export function toRpcError(error: unknown, logger: ErrorLogger, method?: string): RpcErrorObject {
  if (error instanceof RpcMethodError) return error.toObject()
  if (error instanceof ChannelsError) {
    const data = channelsErrorData(error)
    if (NOT_FOUND_CODES.has(error.code)) return { code: RpcErrorCode.notFound, message: error.summary, data }
    if (error instanceof RejectedInputError) return { code: RpcErrorCode.refused, message: error.summary, data }
    if (error instanceof OperatingError) {
      logger.warn({ method, code: error.code, summary: error.summary }, 'rpc call failed: node unavailable')
      return { code: RpcErrorCode.unavailable, message: error.summary, data }
    }
    // An InvariantError (or another of our own): a bug, but its code and summary help whoever reports it.
    logger.error({ method, err: error }, 'rpc call broke an invariant')
    return { code: RpcErrorCode.internalError, message: RPC_ERROR_MESSAGES[RpcErrorCode.internalError], data }
  }
  logger.error({ method, err: error }, 'rpc call failed with an untyped error')
  return { code: RpcErrorCode.internalError, message: RPC_ERROR_MESSAGES[RpcErrorCode.internalError] }
}

export function channelsErrorData(error: ChannelsError): { code: string; summary: string; details?: unknown } {
  const hasDetails = Object.keys(error.details).length > 0
  return hasDetails ? { code: error.code, summary: error.summary, details: toJsonValue(error.details) } : { code: error.code, summary: error.summary }
}

/** Issues reported per call: enough to fix a request, bounded for a hostile one. */
const MAX_REPORTED_ISSUES = 20

/** -32602 from a zod failure: a readable message naming the first fields, and every issue's path in `data`. */
export function invalidParams(error: z.ZodError): RpcMethodError {
  const issues = error.issues.slice(0, MAX_REPORTED_ISSUES).map((issue) => ({ path: formatPath(issue.path), message: issue.message }))
  const text = issues.slice(0, 3).map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')
  return new RpcMethodError(RpcErrorCode.invalidParams, `invalid params: ${text}`, { issues })
}

/** ['voucher', 'amount'] → 'voucher.amount'; ['intermediaries', 2] → 'intermediaries[2]'; [] → ''. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = ''
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`
    else text += text === '' ? String(key) : `.${String(key)}`
  }
  return text
}

/**
 * Plain JSON of an error's details: bigints as decimal strings, bytes as hex, errors as their message;
 * depth-limited and cycle-safe, since details may carry anything a layer below put there.
 */
export function toJsonValue(value: unknown, depth = 0, seen: Set<object> = new Set()): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value)
  if (typeof value === 'bigint') return value.toString()
  if (typeof value !== 'object') return value === undefined ? null : String(typeof value)
  if (value instanceof Uint8Array) return bytesToHex(value)
  if (value instanceof Error) return value.message
  if (depth >= MAX_DETAILS_DEPTH || seen.has(value)) return '…'
  seen.add(value)
  if (Array.isArray(value)) return value.map((v) => toJsonValue(v, depth + 1, seen))
  // fromEntries defines own properties: a '__proto__' key stays a key and sets no prototype.
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonValue(v, depth + 1, seen)]))
}
