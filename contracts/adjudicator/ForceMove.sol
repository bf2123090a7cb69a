// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {StatusManager} from './StatusManager.sol';
import {IForceMoveApp} from '../interfaces/IForceMoveApp.sol';
import {NitroUtils} from '../libraries/NitroUtils.sol';

/**
 * @title ForceMove
 * @notice Disputes (Nitro v2 ForceMove, NITRO-NOTES §5.1): challenge registers a supported state and starts
 * the clock; checkpoint or a newer challenge answers it; conclude finalizes at once with a final state
 * everyone signed. Whether a state is supported is the app's decision, given who signed what.
 */
abstract contract ForceMove is StatusManager {
    /// A state with its hash, so that a signed state is hashed exactly once per call.
    struct Recovered {
        RecoveredVariablePart part;
        bytes32 stateHash;
    }

    function challenge(
        FixedPart calldata fixedPart,
        SignedVariablePart[] calldata proof,
        SignedVariablePart calldata candidate,
        Signature calldata challengerSig
    ) external {
        bytes32 channelId = NitroUtils.channelId(fixedPart);
        uint48 turnNum = candidate.variablePart.turnNum;
        (uint48 turnNumRecord, uint48 finalizesAt, ) = _unpackStatus(statusOf[channelId]);
        if (finalizesAt == 0) {
            require(turnNum >= turnNumRecord, 'turnNumRecord decreased.');
        } else {
            require(!_isFinalized(finalizesAt), 'Channel finalized.');
            require(turnNum > turnNumRecord, 'turnNumRecord not increased.');
        }
        bytes32 stateHash = _requireSupported(fixedPart, channelId, proof, candidate);

        // The challenger signs (stateHash, "forceMove"): only a participant may start the clock.
        address challenger = NitroUtils.recoverSigner(keccak256(abi.encode(stateHash, 'forceMove')), challengerSig);
        require(_isParticipant(challenger, fixedPart.participants), 'Challenger is not a participant');

        uint48 newFinalizesAt = uint48(block.timestamp) + fixedPart.challengeDuration;
        statusOf[channelId] = _packStatus(
            turnNum,
            newFinalizesAt,
            stateHash,
            NitroUtils.hashOutcome(candidate.variablePart.outcome)
        );
        emit ChallengeRegistered(channelId, newFinalizesAt, proof, candidate);
    }

    function checkpoint(
        FixedPart calldata fixedPart,
        SignedVariablePart[] calldata proof,
        SignedVariablePart calldata candidate
    ) external {
        bytes32 channelId = NitroUtils.channelId(fixedPart);
        uint48 turnNum = candidate.variablePart.turnNum;
        (uint48 turnNumRecord, uint48 finalizesAt, ) = _unpackStatus(statusOf[channelId]);
        require(!_isFinalized(finalizesAt), 'Channel finalized.');
        require(turnNum > turnNumRecord, 'turnNumRecord not increased.');
        _requireSupported(fixedPart, channelId, proof, candidate);

        statusOf[channelId] = _packStatus(turnNum, 0, bytes32(0), bytes32(0));
        if (finalizesAt == 0) emit Checkpointed(channelId, turnNum);
        else emit ChallengeCleared(channelId, turnNum);
    }

    function conclude(FixedPart calldata fixedPart, SignedVariablePart calldata candidate) external {
        bytes32 channelId = _requireConclusion(fixedPart, candidate);
        uint48 now48 = uint48(block.timestamp);
        statusOf[channelId] = _packStatus(0, now48, bytes32(0), NitroUtils.hashOutcome(candidate.variablePart.outcome));
        emit Concluded(channelId, now48);
    }

    function stateIsSupported(
        FixedPart calldata fixedPart,
        SignedVariablePart[] calldata proof,
        SignedVariablePart calldata candidate
    ) external view returns (bool, string memory) {
        bytes32 channelId = NitroUtils.channelId(fixedPart);
        (RecoveredVariablePart[] memory recoveredProof, Recovered memory recovered) = _recoverAll(
            fixedPart,
            channelId,
            proof,
            candidate
        );
        return IForceMoveApp(fixedPart.appDefinition).stateIsSupported(fixedPart, recoveredProof, recovered.part);
    }

    /// Checks of conclude: the channel is not finalized and `candidate` is final and signed by everyone.
    /// The app is not consulted, as in Nitro: a unanimous final state needs no rules.
    function _requireConclusion(
        FixedPart calldata fixedPart,
        SignedVariablePart calldata candidate
    ) internal view returns (bytes32 channelId) {
        channelId = NitroUtils.channelId(fixedPart);
        (, uint48 finalizesAt, ) = _unpackStatus(statusOf[channelId]);
        require(!_isFinalized(finalizesAt), 'Channel finalized.');
        require(candidate.variablePart.isFinal, 'State must be final');
        bytes32 stateHash = NitroUtils.hashState(channelId, candidate.variablePart);
        uint256 mask = NitroUtils.signedBy(fixedPart.participants, stateHash, candidate.sigs);
        require(NitroUtils.isUnanimous(mask, fixedPart.participants.length), '!unanimous');
    }

    /// Reverts with the app's reason unless the app supports `candidate` after `proof`; returns its hash.
    function _requireSupported(
        FixedPart calldata fixedPart,
        bytes32 channelId,
        SignedVariablePart[] calldata proof,
        SignedVariablePart calldata candidate
    ) internal view returns (bytes32) {
        (RecoveredVariablePart[] memory recoveredProof, Recovered memory recovered) = _recoverAll(
            fixedPart,
            channelId,
            proof,
            candidate
        );
        (bool supported, string memory reason) = IForceMoveApp(fixedPart.appDefinition).stateIsSupported(
            fixedPart,
            recoveredProof,
            recovered.part
        );
        require(supported, reason);
        return recovered.stateHash;
    }

    function _recoverAll(
        FixedPart calldata fixedPart,
        bytes32 channelId,
        SignedVariablePart[] calldata proof,
        SignedVariablePart calldata candidate
    ) private pure returns (RecoveredVariablePart[] memory recoveredProof, Recovered memory recovered) {
        recoveredProof = new RecoveredVariablePart[](proof.length);
        for (uint256 i = 0; i < proof.length; i++) {
            recoveredProof[i] = _recover(fixedPart, channelId, proof[i]).part;
        }
        recovered = _recover(fixedPart, channelId, candidate);
    }

    function _recover(
        FixedPart calldata fixedPart,
        bytes32 channelId,
        SignedVariablePart calldata signed
    ) private pure returns (Recovered memory recovered) {
        recovered.stateHash = NitroUtils.hashState(channelId, signed.variablePart);
        recovered.part = RecoveredVariablePart(
            signed.variablePart,
            NitroUtils.signedBy(fixedPart.participants, recovered.stateHash, signed.sigs)
        );
    }

    function _isParticipant(address suspect, address[] calldata participants) private pure returns (bool) {
        for (uint256 i = 0; i < participants.length; i++) {
            if (participants[i] == suspect) return true;
        }
        return false;
    }
}
