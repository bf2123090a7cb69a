// Is the code at a configured address our contract? (issue 13, docs/security.md). A node
// deposits into the adjudicator and signs states whose appDefinition is the consensus or payment app; an
// address that runs other code (a look-alike that keeps deposits, a proxy someone can upgrade, an account
// with no code that accepts anything) would take the funds or decide disputes. So at start the node fetches
// each contract's runtime code (eth_getCode) and compares its keccak256 with the hash of the runtime
// bytecode this build compiled (artifacts.ts, `deployedBytecode`).
//
// The hash is taken over the whole code: none of these contracts has immutables or linked libraries, so
// the code on chain is `deployedBytecode` byte for byte (contractCode.test.ts compiles them and asserts
// that solc reports no immutableReferences and no linkReferences, and deploys them to compare). Should one
// gain an immutable, that test fails first; the comparison must then mask solc's immutableReferences ranges.
// The code ends in solc's metadata hash (CBOR), so the same source compiled with other settings is "other
// code" too: only this build's contracts pass.
import { keccak256 } from 'viem'
import type { Hex } from 'viem'
import type { Address } from '../core/types.js'
import { RejectedInputError } from '../core/errors.js'
import { ConsensusApp, NitroAdjudicator, VirtualPaymentApp } from './artifacts.js'

/** The contracts a node is configured with, by their config names (`chain.adjudicator`, …). */
export const NODE_CONTRACTS = {
  adjudicator: NitroAdjudicator.deployedBytecode,
  consensusApp: ConsensusApp.deployedBytecode,
  virtualPaymentApp: VirtualPaymentApp.deployedBytecode,
} as const satisfies Readonly<Record<string, Hex>>
export type NodeContractName = keyof typeof NODE_CONTRACTS
export type NodeContracts = Readonly<Record<NodeContractName, Address>>

/** The address holds no code, or code other than this build's contract. */
export class ContractCodeError extends RejectedInputError {
  readonly code = 'contract_code'
}

/** keccak256 of the runtime code `name` has once deployed from this build. */
export function expectedCodeHash(name: NodeContractName): Hex {
  return keccak256(NODE_CONTRACTS[name])
}

/** What the check needs of a chain client (viem's PublicClient has it). */
export interface CodeReader {
  getCode(args: { address: Address }): Promise<Hex | undefined>
}

/**
 * Checks every contract in `contracts` against this build, in a fixed order; the first mismatch throws.
 *
 * @example await checkContractCode(publicClient, { adjudicator, consensusApp, virtualPaymentApp }, { url })
 * @throws ContractCodeError (`contract_code`) naming the contract, its address and the chain; the reader's
 *   own errors (the chain unreachable) pass through.
 */
export async function checkContractCode(reader: CodeReader, contracts: NodeContracts, chain: { readonly url: string }): Promise<void> {
  for (const name of Object.keys(NODE_CONTRACTS) as NodeContractName[]) {
    const address = contracts[name]
    const code = await reader.getCode({ address })
    const details = { contract: name, address, url: chain.url }
    if (code === undefined || code === '0x') {
      throw new ContractCodeError(`chain.${name} ${address} has no code on ${chain.url}: an account, or nothing deployed there; refusing to start (check the address, or deploy the contracts)`, details)
    }
    const actual = keccak256(code)
    const expected = expectedCodeHash(name)
    if (actual !== expected) {
      throw new ContractCodeError(`chain.${name} ${address} on ${chain.url} runs other code than this build's ${name} (code hash ${actual}, expected ${expected}); refusing to start`, { ...details, codeHash: actual, expectedCodeHash: expected })
    }
  }
}
