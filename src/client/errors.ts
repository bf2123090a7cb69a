// The client's typed errors: the node refused a call (RpcError, with its JSON-RPC code), or the answer
// could not be had or trusted.
import type { AppChannelInfo, ObjectiveInfo } from '../rpc/schemas.js'
import type { Bytes32 } from '../core/types.js'
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
/**
 * waitForAppTurn: a participant's node said it refused the proposal of a turn the wait needs (an opening its
 * policy declines, a move its app refuses); `refusedBy` says who and why (ADR 0014).
 */
export class ProposalRefusedError extends ChannelsError {
  readonly code = 'proposal_refused'
  constructor(
    readonly channelId: Bytes32,
    readonly turnNum: bigint,
    readonly refusedBy: NonNullable<AppChannelInfo['pending']>['refusedBy'],
  ) {
    const who = refusedBy.map((r) => `participant ${r.participant} (${r.code})`).join(', ')
    super(`turn ${turnNum} of app channel ${channelId} was refused by ${who}`, { channelId, turnNum: String(turnNum), refusedBy })
  }
}
/** A waitFor* did not see its condition in time. */
export class WaitTimeoutError extends ChannelsError {
  readonly code = 'wait_timeout'
}
