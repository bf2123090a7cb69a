// The adjudicator's ABI as the chain service uses it: the one solc-js generated from contracts/
// (src/chain/artifacts.ts), Nitro v2's interface (contracts.test.ts checks every selector and topic
// against the signatures the issue lists). The token side is viem's standard `erc20Abi`.
import { NitroAdjudicator } from './artifacts.js'

export const adjudicatorAbi = NitroAdjudicator.abi
