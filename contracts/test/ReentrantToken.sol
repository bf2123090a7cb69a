// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TestToken} from './TestToken.sol';

/**
 * @title ReentrantToken
 * @notice A hostile ERC-20 for the adjudicator's re-entrancy tests: once armed with a target and calldata,
 * its next `transfer` (a payout; or `transferFrom`, a deposit, if so armed) first moves the tokens, then
 * calls the target with that calldata, once, and records whether the call succeeded instead of reverting,
 * so a test can check both that the re-entrant call was refused and that the outer payout still happened
 * exactly once.
 */
contract ReentrantToken is TestToken {
    address public target;
    bytes public reentryCalldata;
    bool public onTransferFrom;

    uint256 public reentryCount;
    bool public lastReentrySucceeded;
    bytes public lastReentryResult;

    event Reentered(bool success, bytes result);

    constructor() TestToken('Reentrant Token', 'REENTER') {}

    /// Calls `target_` with `data` during the next transfer (or transferFrom if `onTransferFrom_`).
    function arm(address target_, bytes calldata data, bool onTransferFrom_) external {
        target = target_;
        reentryCalldata = data;
        onTransferFrom = onTransferFrom_;
    }

    function transfer(address to, uint256 amount) external override returns (bool) {
        _move(msg.sender, to, amount);
        if (!onTransferFrom) _reenter();
        return true;
    }

    function transferFrom(address from, address to, uint256 amount) external override returns (bool) {
        _spendAllowance(from, amount);
        _move(from, to, amount);
        if (onTransferFrom) _reenter();
        return true;
    }

    function _reenter() private {
        address callee = target;
        if (callee == address(0)) return;
        target = address(0); // one shot: the re-entrant call cannot recurse through us again
        reentryCount += 1;
        (bool success, bytes memory result) = callee.call(reentryCalldata);
        lastReentrySucceeded = success;
        lastReentryResult = result;
        emit Reentered(success, result);
    }
}
