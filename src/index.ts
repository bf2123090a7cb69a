// The package entry: the public API of Channels. Other modules import the defining file directly.
export type { Address, Hex, Bytes32, Destination, Signature, Amount } from './core/types.js'
export type { FixedPart, VariablePart, State } from './core/state.js'
export { fixedPart, variablePart, checkState } from './core/state.js'
export type { Allocation, AssetMetadata, SingleAssetExit, Exit } from './core/outcome.js'
export {
  AllocationType,
  encodeOutcome,
  decodeOutcome,
  checkOutcome,
  totalAllocated,
  addressToDestination,
  destinationToAddress,
  isExternalDestination,
} from './core/outcome.js'
export { channelId, checkChannelId } from './core/channelId.js'
export { hashState } from './core/hashState.js'
export { signState, recoverStateSigner, signChallenge, recoverChallengeSigner, hashChallenge } from './core/signState.js'
export { privateKeyToAddress, parseSignature } from './core/signatures.js'
export type { Voucher } from './core/voucher.js'
export { hashVoucher, signVoucher, recoverVoucherSigner } from './core/voucher.js'
export type { GuaranteeMetadata } from './core/guarantee.js'
export { encodeGuaranteeMetadata, decodeGuaranteeMetadata } from './core/guarantee.js'
export type { Signer } from './core/signer.js'
export { createSigner } from './core/signer.js'
export type { SignedState } from './core/signedState.js'
export { unsigned, addSignature, signBy, mergeSignatures, isSignedBy, isFullySigned } from './core/signedState.js'
export { encodeEnvelope, decodeEnvelope, WIRE_VERSION } from './core/codec.js'
export * from './core/errors.js'
export type { ChannelEvent, EventInput } from './log/event.js'
export { encodeEvent, hashEvent } from './log/event.js'
export type { LogHead, Snapshot, Reducer } from './log/channelLog.js'
export { ChannelLog, EMPTY_HEAD, GENESIS_HASH, nextEvent, verifyChain, replay } from './log/channelLog.js'
export type { Store, BatchOp, Range } from './store/store.js'
export { MemoryStore } from './store/memoryStore.js'
export { RocksStore } from './store/rocksStore.js'
