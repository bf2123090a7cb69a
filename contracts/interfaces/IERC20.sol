// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice The part of ERC-20 that the adjudicator calls.
interface IERC20 {
    function transfer(address to, uint256 amount) external returns (bool);

    function transferFrom(address from, address to, uint256 amount) external returns (bool);
}
