// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {INitroAdjudicator} from '../interfaces/INitroAdjudicator.sol';

/**
 * @title StatusManager
 * @notice One storage word per channel (Nitro v2 layout, NITRO-NOTES §5.1):
 *   uint48 turnNumRecord | uint48 finalizesAt | uint160 fingerprint,
 * fingerprint = the low 160 bits of keccak256(abi.encode(stateHash, outcomeHash)).
 * Mode: Open if finalizesAt == 0, Finalized if finalizesAt <= block.timestamp, else Challenge.
 * A channel nobody wrote to reads as 0: Open, turnNumRecord 0.
 */
abstract contract StatusManager is INitroAdjudicator {
    mapping(bytes32 => bytes32) public statusOf;

    function unpackStatus(
        bytes32 channelId
    ) external view returns (uint48 turnNumRecord, uint48 finalizesAt, uint160 fingerprint) {
        return _unpackStatus(statusOf[channelId]);
    }

    function _packStatus(
        uint48 turnNumRecord,
        uint48 finalizesAt,
        bytes32 stateHash,
        bytes32 outcomeHash
    ) internal pure returns (bytes32) {
        return
            bytes32(
                (uint256(turnNumRecord) << 208) |
                    (uint256(finalizesAt) << 160) |
                    uint256(_fingerprint(stateHash, outcomeHash))
            );
    }

    function _unpackStatus(
        bytes32 status
    ) internal pure returns (uint48 turnNumRecord, uint48 finalizesAt, uint160 fingerprint) {
        turnNumRecord = uint48(uint256(status) >> 208);
        finalizesAt = uint48(uint256(status) >> 160);
        fingerprint = uint160(uint256(status));
    }

    function _fingerprint(bytes32 stateHash, bytes32 outcomeHash) internal pure returns (uint160) {
        return uint160(uint256(keccak256(abi.encode(stateHash, outcomeHash))));
    }

    function _isFinalized(uint48 finalizesAt) internal view returns (bool) {
        return finalizesAt != 0 && finalizesAt <= block.timestamp;
    }

    /// Reverts unless the channel is finalized and (stateHash, outcomeHash) is what its status stores.
    function _requireFinalizedWith(bytes32 channelId, bytes32 stateHash, bytes32 outcomeHash) internal view {
        (, uint48 finalizesAt, uint160 fingerprint) = _unpackStatus(statusOf[channelId]);
        require(_isFinalized(finalizesAt), 'Channel not finalized.');
        require(fingerprint == _fingerprint(stateHash, outcomeHash), 'incorrect fingerprint');
    }

    /// Stores a new outcome hash for a channel, keeping its turnNumRecord and finalizesAt.
    function _updateFingerprint(bytes32 channelId, bytes32 stateHash, bytes32 outcomeHash) internal {
        (uint48 turnNumRecord, uint48 finalizesAt, ) = _unpackStatus(statusOf[channelId]);
        statusOf[channelId] = _packStatus(turnNumRecord, finalizesAt, stateHash, outcomeHash);
    }
}
