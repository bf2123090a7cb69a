// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IForceMoveApp} from './interfaces/IForceMoveApp.sol';
import {NitroUtils} from './libraries/NitroUtils.sol';

/**
 * @title ConsensusApp
 * @notice The app of ledger channels (Nitro v2 ConsensusApp): a state is supported iff every participant
 * signed it; no proof is needed or accepted.
 */
contract ConsensusApp is IForceMoveApp {
    function stateIsSupported(
        FixedPart calldata fixedPart,
        RecoveredVariablePart[] calldata proof,
        RecoveredVariablePart calldata candidate
    ) external pure returns (bool, string memory) {
        if (proof.length != 0) return (false, '|proof|!=0');
        if (!NitroUtils.isUnanimous(candidate.signedBy, fixedPart.participants.length)) return (false, '!unanimous');
        return (true, '');
    }
}
