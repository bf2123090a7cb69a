// The client's typed errors: the node refused a call (RpcError, with its JSON-RPC code), or the answer
// could not be had or trusted.
import type { ObjectiveInfo } from '../rpc/schemas.js'
import { ChannelsError } from '../core/errors.js'

/** The node answered with a JSON-RPC error. `code` is one of RpcErrorCode; for refusals `data` is `{ code, summary, details? }`. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message)
    this.name = 'RpcError'
  }
}

/** The node's answer is not JSON-RPC, or not what the API promises. */
export class InvalidResponseError extends ChannelsError {
  readonly code = 'invalid_response'
}
/** The call did not get an answer: network error, timeout, or the WebSocket closed. */
export class RequestFailedError extends ChannelsError {
  readonly code = 'request_failed'
}
/** waitForObjective: the objective ended failed or rejected; `objective.failure` says why. */
export class ObjectiveFailedError extends ChannelsError {
  readonly code = 'objective_failed'
  constructor(readonly objective: ObjectiveInfo) {
    super(`objective ${objective.id} ${objective.status}${objective.failure ? `: ${objective.failure.summary}` : ''}`, { objectiveId: objective.id, failure: objective.failure })
  }
}
/** A waitFor* did not see its condition in time. */
export class WaitTimeoutError extends ChannelsError {
  readonly code = 'wait_timeout'
}
