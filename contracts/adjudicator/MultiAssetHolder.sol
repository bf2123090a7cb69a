// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {StatusManager} from './StatusManager.sol';
import {ExitFormat} from '../libraries/ExitFormat.sol';
import {NitroUtils} from '../libraries/NitroUtils.sol';
import {IERC20} from '../interfaces/IERC20.sol';

/**
 * @title MultiAssetHolder
 * @notice Escrow (Nitro v2 MultiAssetHolder, NITRO-NOTES §5.1): holdings[asset][channelId], deposits, and
 * payouts of a finalized channel's outcome in priority order (src/protocols/outcome/transfer.ts is the
 * same rule in TypeScript), plus reclaim of a virtual channel's guarantee in a ledger.
 * Re-entrancy: every function finishes its checks and all storage writes (holdings, status) and emits its
 * events before it calls a token or sends ETH, so a re-entrant call sees the state after the payout.
 */
abstract contract MultiAssetHolder is StatusManager {
    /// holdings[asset][destination]: what the adjudicator holds for a channel (asset 0x0 = ETH).
    mapping(address => mapping(bytes32 => uint256)) public holdings;

    function deposit(address asset, bytes32 destination, uint256 expectedHeld, uint256 amount) external payable {
        require(!NitroUtils.isExternalDestination(destination), 'Deposit to external destination');
        // expectedHeld protects a depositor whose turn depends on earlier deposits from a re-org or a race.
        uint256 held = holdings[asset][destination];
        require(held == expectedHeld, 'held != expectedHeld');
        // ETH comes with the call; tokens are pulled, and ETH sent along with them would be stuck.
        bool isEth = asset == address(0);
        require(msg.value == (isEth ? amount : 0), 'Incorrect msg.value for deposit');

        held += amount;
        holdings[asset][destination] = held;
        emit Deposited(destination, asset, held);

        if (!isEth) _callToken(asset, abi.encodeCall(IERC20.transferFrom, (msg.sender, address(this), amount)));
    }

    function transfer(
        uint256 assetIndex,
        bytes32 fromChannelId,
        bytes calldata outcomeBytes,
        bytes32 stateHash,
        uint256[] calldata indices
    ) external {
        _requireFinalizedWith(fromChannelId, stateHash, keccak256(outcomeBytes));
        for (uint256 j = 1; j < indices.length; j++) {
            require(indices[j - 1] < indices[j], 'Indices must be sorted');
        }
        ExitFormat.SingleAssetExit[] memory outcome = abi.decode(outcomeBytes, (ExitFormat.SingleAssetExit[]));
        require(assetIndex < outcome.length, 'assetIndex out of range');
        (address asset, uint256[] memory paid, bytes32[] memory destinations) = _debitChannel(
            fromChannelId,
            assetIndex,
            outcome[assetIndex],
            indices
        );
        _updateFingerprint(fromChannelId, stateHash, keccak256(abi.encode(outcome)));
        _creditChannels(asset, destinations, paid);
        _payExternal(asset, destinations, paid);
    }

    /// Pays the selected allocations of one asset from the channel's holdings: deducts what they are paid
    /// from `exit` in place and from the holdings, and says whom to pay how much.
    function _debitChannel(
        bytes32 channelId,
        uint256 assetIndex,
        ExitFormat.SingleAssetExit memory exit,
        uint256[] calldata indices
    ) private returns (address asset, uint256[] memory paid, bytes32[] memory destinations) {
        asset = exit.asset;
        uint256 initialHoldings = holdings[asset][channelId];
        uint256 totalPaid;
        (paid, destinations, totalPaid) = _payTransfer(initialHoldings, exit.allocations, indices);
        uint256 finalHoldings = initialHoldings - totalPaid;
        holdings[asset][channelId] = finalHoldings;
        emit AllocationUpdated(channelId, assetIndex, initialHoldings, finalHoldings);
    }

    /// The payout rule (src/protocols/outcome/transfer.ts): each allocation is covered by what the ones
    /// before it left of the holdings; only the selected ones (`indices`, or all if empty) are paid, and
    /// what they are paid is deducted from `allocations` in place.
    function _payTransfer(
        uint256 initialHoldings,
        ExitFormat.Allocation[] memory allocations,
        uint256[] calldata indices
    ) private pure returns (uint256[] memory paid, bytes32[] memory destinations, uint256 totalPaid) {
        paid = new uint256[](allocations.length);
        destinations = new bytes32[](allocations.length);
        uint256 surplus = initialHoldings;
        uint256 k = 0; // position in indices
        for (uint256 i = 0; i < allocations.length; i++) {
            uint256 amount = allocations[i].amount;
            uint256 covered = amount < surplus ? amount : surplus;
            if (indices.length == 0 || (k < indices.length && indices[k] == i)) {
                // Nitro v2 reads allocations[k] here, the k-th selected position, not the selected allocation.
                require(allocations[i].allocationType != ExitFormat.GUARANTEE, 'cannot transfer a guarantee');
                allocations[i].amount = amount - covered;
                paid[i] = covered;
                destinations[i] = allocations[i].destination;
                totalPaid += covered;
                k++;
            }
            surplus -= covered;
        }
        // Nitro silently skips an index past the end; we refuse it.
        require(indices.length == 0 || k == indices.length, 'Index out of range');
    }

    function reclaim(ReclaimArgs calldata args) external {
        _requireFinalizedWith(args.sourceChannelId, args.sourceStateHash, keccak256(args.sourceOutcomeBytes));
        ExitFormat.SingleAssetExit[] memory source = abi.decode(args.sourceOutcomeBytes, (ExitFormat.SingleAssetExit[]));
        require(args.sourceAssetIndex < source.length, 'sourceAssetIndex out of range');
        ExitFormat.Allocation[] memory sourceAllocations = source[args.sourceAssetIndex].allocations;
        require(args.indexOfTargetInSource < sourceAllocations.length, 'indexOfTargetInSource out of range');
        ExitFormat.Allocation memory guarantee = sourceAllocations[args.indexOfTargetInSource];
        require(guarantee.allocationType == ExitFormat.GUARANTEE, 'not a guarantee allocation');
        require(guarantee.metadata.length == 64, 'bad guarantee metadata');
        (bytes32 left, bytes32 right) = abi.decode(guarantee.metadata, (bytes32, bytes32));

        // The target is the virtual channel the guarantee names; it must be finalized with this outcome.
        _requireFinalizedWith(guarantee.destination, args.targetStateHash, keccak256(args.targetOutcomeBytes));
        ExitFormat.SingleAssetExit[] memory target = abi.decode(args.targetOutcomeBytes, (ExitFormat.SingleAssetExit[]));
        require(args.targetAssetIndex < target.length, 'targetAssetIndex out of range');
        require(target[args.targetAssetIndex].asset == source[args.sourceAssetIndex].asset, 'targetAsset != guaranteeAsset');
        ExitFormat.Allocation[] memory targetAllocations = target[args.targetAssetIndex].allocations;
        // Nitro reads allocations 0 and 1 and ignores any others; we refuse a target that has others.
        require(targetAllocations.length == 2, 'target must have two allocations');

        source[args.sourceAssetIndex].allocations = _reclaimedAllocations(
            sourceAllocations,
            args.indexOfTargetInSource,
            left,
            right,
            targetAllocations[0].amount,
            targetAllocations[1].amount
        );
        _updateFingerprint(args.sourceChannelId, args.sourceStateHash, keccak256(abi.encode(source)));
        emit Reclaimed(args.sourceChannelId, args.sourceAssetIndex);
    }

    /// The source allocations without the guarantee, `toLeft` added to the first allocation to `left` and
    /// `toRight` to the first to `right` (src/protocols/outcome/reclaim.ts is the same rule).
    function _reclaimedAllocations(
        ExitFormat.Allocation[] memory sourceAllocations,
        uint256 guaranteeIndex,
        bytes32 left,
        bytes32 right,
        uint256 toLeft,
        uint256 toRight
    ) private pure returns (ExitFormat.Allocation[] memory reclaimed) {
        require(toLeft + toRight == sourceAllocations[guaranteeIndex].amount, 'totalReclaimed!=guarantee.amount');
        reclaimed = new ExitFormat.Allocation[](sourceAllocations.length - 1);
        bool foundLeft = false;
        bool foundRight = false;
        uint256 k = 0;
        for (uint256 i = 0; i < sourceAllocations.length; i++) {
            if (i == guaranteeIndex) continue;
            ExitFormat.Allocation memory allocation = sourceAllocations[i];
            if (!foundLeft && allocation.destination == left) {
                allocation.amount += toLeft;
                foundLeft = true;
            }
            if (!foundRight && allocation.destination == right) {
                allocation.amount += toRight;
                foundRight = true;
            }
            reclaimed[k++] = allocation;
        }
        require(foundLeft, 'could not find left');
        require(foundRight, 'could not find right');
    }

    /**
     * Pays every allocation of every asset of a finalized channel as far as its holdings go, then stores
     * the reduced outcome's fingerprint, or clears the status if nothing is left to pay (as Nitro does).
     * Assets are paid one after another, so an asset listed twice pays from what the first left.
     */
    function _transferAll(
        bytes32 channelId,
        ExitFormat.SingleAssetExit[] calldata outcome,
        bytes32 stateHash,
        uint48 turnNumRecord,
        uint48 finalizesAt
    ) internal {
        uint256[][] memory paid = new uint256[][](outcome.length);
        bytes32[][] memory destinations = new bytes32[][](outcome.length);
        bool paidInFull = true;
        for (uint256 a = 0; a < outcome.length; a++) {
            bool assetPaidInFull;
            (paid[a], destinations[a], assetPaidInFull) = _debitChannelFully(channelId, a, outcome[a]);
            paidInFull = paidInFull && assetPaidInFull;
        }

        if (paidInFull) delete statusOf[channelId];
        else statusOf[channelId] = _packStatus(turnNumRecord, finalizesAt, stateHash, _hashReduced(outcome, paid));

        for (uint256 a = 0; a < outcome.length; a++) _payExternal(outcome[a].asset, destinations[a], paid[a]);
    }

    /// Pays every allocation of one asset as far as the channel's holdings go: debits the channel, credits
    /// internal destinations, and says whom to pay how much outside.
    function _debitChannelFully(
        bytes32 channelId,
        uint256 assetIndex,
        ExitFormat.SingleAssetExit calldata exit
    ) private returns (uint256[] memory paid, bytes32[] memory destinations, bool paidInFull) {
        address asset = exit.asset;
        ExitFormat.Allocation[] calldata allocations = exit.allocations;
        uint256 initialHoldings = holdings[asset][channelId];
        uint256 surplus = initialHoldings;
        paid = new uint256[](allocations.length);
        destinations = new bytes32[](allocations.length);
        paidInFull = true;
        for (uint256 i = 0; i < allocations.length; i++) {
            require(allocations[i].allocationType != ExitFormat.GUARANTEE, 'cannot transfer a guarantee');
            uint256 amount = allocations[i].amount;
            uint256 covered = amount < surplus ? amount : surplus;
            paid[i] = covered;
            destinations[i] = allocations[i].destination;
            surplus -= covered;
            if (covered != amount) paidInFull = false;
        }
        holdings[asset][channelId] = surplus;
        emit AllocationUpdated(channelId, assetIndex, initialHoldings, surplus);
        _creditChannels(asset, destinations, paid);
    }

    function _hashReduced(
        ExitFormat.SingleAssetExit[] calldata outcome,
        uint256[][] memory paid
    ) private pure returns (bytes32) {
        ExitFormat.SingleAssetExit[] memory reduced = outcome;
        for (uint256 a = 0; a < reduced.length; a++) {
            ExitFormat.Allocation[] memory allocations = reduced[a].allocations;
            for (uint256 i = 0; i < allocations.length; i++) allocations[i].amount -= paid[a][i];
        }
        return keccak256(abi.encode(reduced));
    }

    // ---- credits and payouts: internal destinations are credited (an effect), external ones paid last ----

    function _creditChannels(address asset, bytes32[] memory destinations, uint256[] memory paid) private {
        for (uint256 i = 0; i < destinations.length; i++) {
            if (paid[i] != 0 && !NitroUtils.isExternalDestination(destinations[i])) {
                holdings[asset][destinations[i]] += paid[i];
            }
        }
    }

    function _payExternal(address asset, bytes32[] memory destinations, uint256[] memory paid) private {
        for (uint256 i = 0; i < destinations.length; i++) {
            if (paid[i] != 0 && NitroUtils.isExternalDestination(destinations[i])) _send(asset, destinations[i], paid[i]);
        }
    }

    function _send(address asset, bytes32 destination, uint256 amount) private {
        address to = address(uint160(uint256(destination)));
        if (asset == address(0)) {
            bool ok;
            // No return data is copied: a recipient cannot make the payout run out of gas by returning a lot.
            assembly ('memory-safe') {
                ok := call(gas(), to, amount, 0, 0, 0, 0)
            }
            require(ok, 'Could not transfer ETH');
        } else {
            _callToken(asset, abi.encodeCall(IERC20.transfer, (to, amount)));
        }
    }

    /// A token call that must succeed and, if it returns anything, return true (what OpenZeppelin's
    /// SafeERC20 accepts); a token address without code is refused. At most 32 bytes are copied back.
    function _callToken(address token, bytes memory data) private {
        bool ok;
        uint256 returned;
        uint256 word;
        assembly ('memory-safe') {
            ok := call(gas(), token, 0, add(data, 0x20), mload(data), 0, 0x20)
            returned := returndatasize()
            word := mload(0)
        }
        require(ok && (returned == 0 ? token.code.length != 0 : returned >= 32 && word == 1), 'Token transfer failed');
    }
}
