// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {INitroTypes} from './INitroTypes.sol';

/**
 * @title IForceMoveApp
 * @notice The rules of a channel's application (Nitro v2 interface). The adjudicator recovers who signed
 * each state and asks the app whether `candidate`, with `proof` before it, is supported.
 * An app returns (false, reason) or reverts for an unsupported candidate; ours return (false, reason) so
 * that the adjudicator's `stateIsSupported` view can report the reason without reverting.
 */
interface IForceMoveApp is INitroTypes {
    function stateIsSupported(
        FixedPart calldata fixedPart,
        RecoveredVariablePart[] calldata proof,
        RecoveredVariablePart calldata candidate
    ) external view returns (bool, string memory);
}
