// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {INitroTypes} from './INitroTypes.sol';
import {ExitFormat} from '../libraries/ExitFormat.sol';

/**
 * @title INitroAdjudicator
 * @notice The adjudicator's interface: Nitro v2's IForceMove + IMultiAssetHolder + INitroAdjudicator, with
 * the same function and event signatures (so the same selectors and topics). NITRO-NOTES §5.1 describes
 * the semantics; docs/adr/0008-contracts.md lists where ours refuses more.
 */
interface INitroAdjudicator is INitroTypes {
    /// Arguments of reclaim, in one struct as in Nitro (it avoids "stack too deep").
    struct ReclaimArgs {
        bytes32 sourceChannelId;
        bytes32 sourceStateHash;
        bytes sourceOutcomeBytes;
        uint256 sourceAssetIndex;
        uint256 indexOfTargetInSource;
        bytes32 targetStateHash;
        bytes targetOutcomeBytes;
        uint256 targetAssetIndex;
    }

    // ---- events (what a chain watcher needs) ----

    event Deposited(bytes32 indexed destination, address asset, uint256 destinationHoldings);
    event AllocationUpdated(bytes32 indexed channelId, uint256 assetIndex, uint256 initialHoldings, uint256 finalHoldings);
    event ChallengeRegistered(
        bytes32 indexed channelId,
        uint48 finalizesAt,
        SignedVariablePart[] proof,
        SignedVariablePart candidate
    );
    event ChallengeCleared(bytes32 indexed channelId, uint48 newTurnNumRecord);
    event Checkpointed(bytes32 indexed channelId, uint48 newTurnNumRecord);
    event Concluded(bytes32 indexed channelId, uint48 finalizesAt);
    event Reclaimed(bytes32 indexed channelId, uint256 assetIndex);

    // ---- funds ----

    function deposit(address asset, bytes32 destination, uint256 expectedHeld, uint256 amount) external payable;

    function transfer(
        uint256 assetIndex,
        bytes32 fromChannelId,
        bytes calldata outcomeBytes,
        bytes32 stateHash,
        uint256[] calldata indices
    ) external;

    function transferAllAssets(
        bytes32 channelId,
        ExitFormat.SingleAssetExit[] calldata outcome,
        bytes32 stateHash
    ) external;

    function reclaim(ReclaimArgs calldata reclaimArgs) external;

    // ---- disputes ----

    function challenge(
        FixedPart calldata fixedPart,
        SignedVariablePart[] calldata proof,
        SignedVariablePart calldata candidate,
        Signature calldata challengerSig
    ) external;

    function checkpoint(
        FixedPart calldata fixedPart,
        SignedVariablePart[] calldata proof,
        SignedVariablePart calldata candidate
    ) external;

    function conclude(FixedPart calldata fixedPart, SignedVariablePart calldata candidate) external;

    function concludeAndTransferAllAssets(FixedPart calldata fixedPart, SignedVariablePart calldata candidate) external;

    // ---- views ----

    function holdings(address asset, bytes32 destination) external view returns (uint256);

    function statusOf(bytes32 channelId) external view returns (bytes32);

    function unpackStatus(
        bytes32 channelId
    ) external view returns (uint48 turnNumRecord, uint48 finalizesAt, uint160 fingerprint);

    function stateIsSupported(
        FixedPart calldata fixedPart,
        SignedVariablePart[] calldata proof,
        SignedVariablePart calldata candidate
    ) external view returns (bool, string memory);
}
