// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {INitroTypes} from '../interfaces/INitroTypes.sol';
import {ExitFormat} from './ExitFormat.sol';

/**
 * @title NitroUtils
 * @notice The encodings of DESIGN §3, on chain: channel id, state hash, outcome hash, signatures.
 */
library NitroUtils {
    /// secp256k1 group order / 2: a signature with a larger s is the malleated twin of a low-s one.
    uint256 internal constant HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    /// keccak256(abi.encode(participants, channelNonce, appDefinition, challengeDuration)); abi.encode widens
    /// the uint64 and uint48 to 32-byte words, so this equals the uint256 form of DESIGN §3.
    function channelId(INitroTypes.FixedPart calldata fixedPart) internal pure returns (bytes32) {
        return
            keccak256(
                abi.encode(
                    fixedPart.participants,
                    fixedPart.channelNonce,
                    fixedPart.appDefinition,
                    fixedPart.challengeDuration
                )
            );
    }

    /// keccak256(abi.encode(channelId, appData, outcome, turnNum, isFinal)): the field order differs from
    /// the VariablePart struct's on purpose (it is Nitro's).
    function hashState(bytes32 id, INitroTypes.VariablePart calldata variablePart) internal pure returns (bytes32) {
        return
            keccak256(
                abi.encode(id, variablePart.appData, variablePart.outcome, variablePart.turnNum, variablePart.isFinal)
            );
    }

    function hashOutcome(ExitFormat.SingleAssetExit[] calldata outcome) internal pure returns (bytes32) {
        return keccak256(abi.encode(outcome));
    }

    /**
     * The signer of `digest` under the EIP-191 prefix ("\x19Ethereum Signed Message:\n32"), or address(0)
     * if the signature is not canonical (v not 27 or 28, s in the upper half) or does not recover.
     * The ecrecover precompile accepts a high s, which would give every signature a second valid form.
     */
    function signerOf(bytes32 digest, uint8 v, bytes32 r, bytes32 s) internal pure returns (address) {
        if (v != 27 && v != 28) return address(0);
        if (uint256(s) > HALF_ORDER) return address(0);
        bytes32 prefixed = keccak256(abi.encodePacked('\x19Ethereum Signed Message:\n32', digest));
        return ecrecover(prefixed, v, r, s);
    }

    /// signerOf, reverting with Nitro's message when there is no signer.
    function recoverSigner(bytes32 digest, INitroTypes.Signature calldata sig) internal pure returns (address signer) {
        signer = signerOf(digest, sig.v, sig.r, sig.s);
        require(signer != address(0), 'Invalid signature');
    }

    /// Bit i of the result is set iff participants[i] signed stateHash with one of `sigs`. A signature by
    /// anyone else counts for nothing; an invalid one reverts. Participants past index 255 cannot be
    /// represented, so a channel with more than 256 never counts as unanimous.
    function signedBy(
        address[] calldata participants,
        bytes32 stateHash,
        INitroTypes.Signature[] calldata sigs
    ) internal pure returns (uint256 mask) {
        uint256 count = participants.length;
        for (uint256 j = 0; j < sigs.length; j++) {
            address signer = recoverSigner(stateHash, sigs[j]);
            for (uint256 i = 0; i < count; i++) {
                if (participants[i] == signer) {
                    if (i < 256) mask |= 1 << i;
                    break;
                }
            }
        }
    }

    /// Every one of `participantCount` (at least one) participants signed.
    function isUnanimous(uint256 mask, uint256 participantCount) internal pure returns (bool) {
        return participantCount != 0 && participantCount <= 256 && mask == type(uint256).max >> (256 - participantCount);
    }

    /// Whether bit `index` is set in a signedBy mask.
    function isSignedBy(uint256 mask, uint256 index) internal pure returns (bool) {
        return index < 256 && (mask >> index) & 1 == 1;
    }

    /// An external destination is an address left-padded with 12 zero bytes; a channel id never is.
    function isExternalDestination(bytes32 destination) internal pure returns (bool) {
        return uint96(bytes12(destination)) == 0;
    }
}
