// The typed client of the node's JSON-RPC API (src/client/client.ts) and the types it speaks.
export {
  ChannelsClient,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_WAIT_TIMEOUT_MS,
  InvalidResponseError,
  ObjectiveFailedError,
  ProposalRefusedError,
  RequestFailedError,
  RpcError,
  WaitTimeoutError,
} from './client.js'
export type { ConnectOptions, Notification, WaitOptions } from './client.js'
export { RpcErrorCode } from '../rpc/errors.js'
export { TOPICS } from '../rpc/schemas.js'
export type {
  AppChannelInfo,
  AppEvent,
  AppStateAt,
  AppStateDiff,
  ExportFormat,
  LedgerChannelInfo,
  LedgerStatus,
  MethodName,
  NodeInfo,
  ObjectiveInfo,
  ParamsOf,
  PaymentChannelInfo,
  PaymentChannelStatus,
  ResultOf,
  Topic,
  Voucher,
} from '../rpc/schemas.js'
export type { Address, Bytes32 } from '../core/types.js'
