// The adjudicator's ABI as the chain service uses it: Nitro v2's NitroAdjudicator interface (issue 4,
// NITRO-NOTES §5.1), the same structs, functions and events, written as viem human-readable fragments.
// TEMPORARY: once src/chain/artifacts.ts (the ABIs solc-js generates from contracts/) exists, this file
// re-exports its adjudicator ABI instead; both are `as const`, so every typed call site keeps compiling.
// The token side is viem's standard `erc20Abi`.
import { parseAbi } from 'viem'

/** Structs shared by functions and events; Nitro's INitroTypes and ExitFormat (outcome first in VariablePart). */
const structs = [
  'struct Signature { uint8 v; bytes32 r; bytes32 s; }',
  'struct FixedPart { address[] participants; uint64 channelNonce; address appDefinition; uint48 challengeDuration; }',
  'struct AssetMetadata { uint8 assetType; bytes metadata; }',
  'struct Allocation { bytes32 destination; uint256 amount; uint8 allocationType; bytes metadata; }',
  'struct SingleAssetExit { address asset; AssetMetadata assetMetadata; Allocation[] allocations; }',
  'struct VariablePart { SingleAssetExit[] outcome; bytes appData; uint48 turnNum; bool isFinal; }',
  'struct SignedVariablePart { VariablePart variablePart; Signature[] sigs; }',
  'struct ReclaimArgs { bytes32 sourceChannelId; bytes32 sourceStateHash; bytes sourceOutcomeBytes; uint256 sourceAssetIndex; uint256 indexOfTargetInSource; bytes32 targetStateHash; bytes targetOutcomeBytes; uint256 targetAssetIndex; }',
] as const

export const adjudicatorAbi = parseAbi([
  ...structs,
  // MultiAssetHolder
  'function deposit(address asset, bytes32 destination, uint256 expectedHeld, uint256 amount) payable',
  'function transfer(uint256 assetIndex, bytes32 fromChannelId, bytes outcomeBytes, bytes32 stateHash, uint256[] indices)',
  'function reclaim(ReclaimArgs reclaimArgs)',
  'function holdings(address asset, bytes32 channelId) view returns (uint256)',
  // ForceMove
  'function challenge(FixedPart fixedPart, SignedVariablePart[] proof, SignedVariablePart candidate, Signature challengerSig)',
  'function checkpoint(FixedPart fixedPart, SignedVariablePart[] proof, SignedVariablePart candidate)',
  'function conclude(FixedPart fixedPart, SignedVariablePart candidate)',
  'function stateIsSupported(FixedPart fixedPart, SignedVariablePart[] proof, SignedVariablePart candidate) view returns (bool, string)',
  // StatusManager
  'function statusOf(bytes32 channelId) view returns (bytes32)',
  'function unpackStatus(bytes32 channelId) view returns (uint48 turnNumRecord, uint48 finalizesAt, uint160 fingerprint)',
  // NitroAdjudicator
  'function transferAllAssets(bytes32 channelId, SingleAssetExit[] outcome, bytes32 stateHash)',
  'function concludeAndTransferAllAssets(FixedPart fixedPart, SignedVariablePart candidate)',
  // Events
  'event Deposited(bytes32 indexed destination, address asset, uint256 destinationHoldings)',
  'event AllocationUpdated(bytes32 indexed channelId, uint256 assetIndex, uint256 initialHoldings, uint256 finalHoldings)',
  'event ChallengeRegistered(bytes32 indexed channelId, uint48 finalizesAt, SignedVariablePart[] proof, SignedVariablePart candidate)',
  'event ChallengeCleared(bytes32 indexed channelId, uint48 newTurnNumRecord)',
  'event Checkpointed(bytes32 indexed channelId, uint48 newTurnNumRecord)',
  'event Concluded(bytes32 indexed channelId, uint48 finalizesAt)',
  'event Reclaimed(bytes32 indexed channelId, uint256 assetIndex)',
])

export type AdjudicatorAbi = typeof adjudicatorAbi
