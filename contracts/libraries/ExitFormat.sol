// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @title ExitFormat
 * @notice The outcome of a channel (DESIGN §3): for each asset, who gets how much, in priority order.
 * Same ABI as the ExitFormat structs of Nitro v2 (the statechannels exit-format package), so outcome bytes are interchangeable.
 * Outcome bytes = abi.encode(SingleAssetExit[]); outcome hash = keccak256 of those bytes.
 */
library ExitFormat {
    /// Asset 0x0 is the chain's native coin (ETH); anything else is an ERC20 token address.
    struct SingleAssetExit {
        address asset;
        AssetMetadata assetMetadata;
        Allocation[] allocations;
    }

    struct AssetMetadata {
        uint8 assetType;
        bytes metadata;
    }

    /// A destination is a channel id, or an external address left-padded with 12 zero bytes.
    struct Allocation {
        bytes32 destination;
        uint256 amount;
        uint8 allocationType;
        bytes metadata;
    }

    /// allocationType of an ordinary allocation, paid out by transfer.
    uint8 internal constant SIMPLE = 0;
    /// allocationType of a guarantee: funds locked in a ledger for a virtual channel, settled by reclaim.
    /// Its metadata is abi.encode(bytes32 left, bytes32 right), exactly 64 bytes. 2, as in the exit format's
    /// enum AllocationType {simple, withdrawHelper, guarantee}: Nitro pays a withdrawHelper (1) like a simple one.
    uint8 internal constant GUARANTEE = 2;
}
