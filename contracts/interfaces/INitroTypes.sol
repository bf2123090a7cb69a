// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ExitFormat} from '../libraries/ExitFormat.sol';

/**
 * @title INitroTypes
 * @notice The state structs of Nitro protocol v2 (DESIGN §3), field for field, so that calldata built for a
 * Nitro adjudicator works against ours and the other way round. A state is a FixedPart (the channel) plus
 * a VariablePart (one turn); note that the on-chain VariablePart lists the outcome first.
 */
interface INitroTypes {
    /// secp256k1 signature over the EIP-191 prefixed 32-byte digest; v in {27, 28}, s in the lower half.
    struct Signature {
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    struct FixedPart {
        address[] participants;
        uint64 channelNonce;
        address appDefinition;
        uint48 challengeDuration;
    }

    struct VariablePart {
        ExitFormat.SingleAssetExit[] outcome;
        bytes appData;
        uint48 turnNum;
        bool isFinal;
    }

    struct SignedVariablePart {
        VariablePart variablePart;
        Signature[] sigs;
    }

    /// What an app sees: the signatures replaced by a bitmask, bit i set iff participants[i] signed.
    struct RecoveredVariablePart {
        VariablePart variablePart;
        uint256 signedBy;
    }
}
