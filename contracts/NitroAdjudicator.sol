// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ForceMove} from './adjudicator/ForceMove.sol';
import {MultiAssetHolder} from './adjudicator/MultiAssetHolder.sol';
import {ExitFormat} from './libraries/ExitFormat.sol';
import {NitroUtils} from './libraries/NitroUtils.sol';

/**
 * @title NitroAdjudicator
 * @notice Our adjudicator: ABI-compatible with Nitro v2's (same structs, selectors and event topics;
 * DESIGN §6, docs/adr/0008-contracts.md). ForceMove settles disputes, MultiAssetHolder holds and pays.
 */
contract NitroAdjudicator is ForceMove, MultiAssetHolder {
    /// Pays out a finalized channel's outcome, every asset, as far as the holdings go.
    function transferAllAssets(
        bytes32 channelId,
        ExitFormat.SingleAssetExit[] calldata outcome,
        bytes32 stateHash
    ) external {
        _requireFinalizedWith(channelId, stateHash, NitroUtils.hashOutcome(outcome));
        (uint48 turnNumRecord, uint48 finalizesAt, ) = _unpackStatus(statusOf[channelId]);
        _transferAll(channelId, outcome, stateHash, turnNumRecord, finalizesAt);
    }

    /// conclude then transferAllAssets, in one transaction (a cooperative close). The status is written
    /// once, with what is left after the payout, instead of being written by conclude and rewritten.
    function concludeAndTransferAllAssets(FixedPart calldata fixedPart, SignedVariablePart calldata candidate) external {
        bytes32 channelId = _requireConclusion(fixedPart, candidate);
        uint48 now48 = uint48(block.timestamp);
        emit Concluded(channelId, now48);
        _transferAll(channelId, candidate.variablePart.outcome, bytes32(0), 0, now48);
    }
}
