// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IForceMoveApp} from './interfaces/IForceMoveApp.sol';
import {ExitFormat} from './libraries/ExitFormat.sol';
import {NitroUtils} from './libraries/NitroUtils.sol';

/**
 * @title VirtualPaymentApp
 * @notice The app of virtual payment channels (Nitro v2 VirtualPaymentApp, NITRO-NOTES §2.6). The payer is
 * participants[0] (Alice), the payee the last participant (Bob); intermediaries sit in between. Supported:
 *  - with no proof, a state every participant signed, at turn 0 (prefund) or 1 (postfund), or final;
 *  - with proof = [the unanimous postfund (turn 1)], a turn-2 redemption state signed by Bob whose appData
 *    is abi.encode(uint256 amount, (uint8 v, bytes32 r, bytes32 s)): a voucher by Alice over
 *    keccak256(abi.encode(channelId, amount)), and whose outcome moves exactly `amount` from Alice's
 *    allocation to Bob's and changes nothing else.
 * Stricter than Nitro (docs/adr/0008-contracts.md): the redemption may change nothing but the two amounts
 * (Nitro lets Bob rewrite destinations and allocations past the second) and conserves the total
 * (Nitro requires Bob' == amount, which silently burns a non-zero starting balance of Bob's); any single
 * asset is allowed (Nitro: ETH only) since nothing here depends on the asset.
 */
contract VirtualPaymentApp is IForceMoveApp {
    uint256 private constant ALICE = 0;
    uint256 private constant BOB = 1;

    function stateIsSupported(
        FixedPart calldata fixedPart,
        RecoveredVariablePart[] calldata proof,
        RecoveredVariablePart calldata candidate
    ) external pure returns (bool, string memory) {
        uint256 participantCount = fixedPart.participants.length;
        if (participantCount < 2) return (false, 'need a payer and a payee');
        VariablePart calldata state = candidate.variablePart;

        if (proof.length == 0) {
            if (!NitroUtils.isUnanimous(candidate.signedBy, participantCount)) return (false, '!unanimous; |proof|=0');
            if (state.turnNum <= 1 || state.isFinal) return (true, '');
            return (false, 'bad candidate turnNum; |proof|=0');
        }
        if (proof.length != 1) return (false, 'bad proof length');

        VariablePart calldata postfund = proof[0].variablePart;
        if (postfund.turnNum != 1) return (false, 'bad proof[0].turnNum; |proof|=1');
        if (!NitroUtils.isUnanimous(proof[0].signedBy, participantCount)) return (false, 'postfund !unanimous; |proof|=1');
        if (state.turnNum != 2) return (false, 'bad candidate turnNum; |proof|=1');
        if (!NitroUtils.isSignedBy(candidate.signedBy, participantCount - 1)) return (false, 'redemption not signed by Bob');

        (bool valid, uint256 amount) = _voucherAmount(NitroUtils.channelId(fixedPart), state.appData, fixedPart.participants[0]);
        if (!valid) return (false, 'invalid voucher');
        return _checkRedemption(postfund.outcome, state.outcome, amount);
    }

    /// The amount of a voucher signed by `payer` for this channel, or valid = false. appData is
    /// abi.encode((uint256 amount, (uint8 v, bytes32 r, bytes32 s))): four words, all static. v is read as a
    /// word so that a malformed voucher is refused with a reason instead of reverting in the decoder.
    function _voucherAmount(
        bytes32 channelId,
        bytes calldata appData,
        address payer
    ) private pure returns (bool valid, uint256 amount) {
        if (appData.length != 128) return (false, 0);
        uint256 v;
        bytes32 r;
        bytes32 s;
        (amount, v, r, s) = abi.decode(appData, (uint256, uint256, bytes32, bytes32));
        if (v > type(uint8).max) return (false, 0);
        address signer = NitroUtils.signerOf(keccak256(abi.encode(channelId, amount)), uint8(v), r, s);
        return (signer != address(0) && signer == payer, amount);
    }

    function _checkRedemption(
        ExitFormat.SingleAssetExit[] calldata before,
        ExitFormat.SingleAssetExit[] calldata next,
        uint256 amount
    ) private pure returns (bool, string memory) {
        if (before.length != 1 || next.length != 1) return (false, 'only one asset allowed');
        if (
            before[0].asset != next[0].asset ||
            keccak256(abi.encode(before[0].assetMetadata)) != keccak256(abi.encode(next[0].assetMetadata))
        ) return (false, 'asset changed');
        ExitFormat.Allocation[] calldata was = before[0].allocations;
        ExitFormat.Allocation[] calldata now_ = next[0].allocations;
        if (was.length != 2 || now_.length != 2) return (false, 'need two allocations');
        if (!_sameButAmount(was[ALICE], now_[ALICE]) || !_sameButAmount(was[BOB], now_[BOB])) {
            return (false, 'allocation changed');
        }
        if (was[ALICE].amount < amount || now_[ALICE].amount != was[ALICE].amount - amount) {
            return (false, 'Alice not adjusted correctly');
        }
        // Written without an addition, which could overflow (and revert) on a hostile outcome.
        if (now_[BOB].amount < amount || now_[BOB].amount - amount != was[BOB].amount) {
            return (false, 'Bob not adjusted correctly');
        }
        return (true, '');
    }

    function _sameButAmount(
        ExitFormat.Allocation calldata a,
        ExitFormat.Allocation calldata b
    ) private pure returns (bool) {
        return
            a.destination == b.destination &&
            a.allocationType == b.allocationType &&
            keccak256(a.metadata) == keccak256(b.metadata);
    }
}
