// Is the chain `run` talks to the one its custody's states are for? (docs/security.md, "the chain, the
// contracts and the keys"). The custody names a chain id, an adjudicator and a payment app (custody.ts); `run`
// is given a chain URL and an adjudicator. Before the watchtower pays gas for anything it checks that the
// chain answers the custody's chain id, that the adjudicator is the custody's, and that both contracts run
// code the node knows for their role (this build's or official Nitro's), as the node does at start
// (src/chain/contractCode.ts): the payment app's address decides which states the watchtower holds (support.ts),
// so it must be the real one.
import { keccak256 } from 'viem'
import type { Hex } from 'viem'
import type { Address } from '../core/types.js'
import { ContractCodeError, knownBuildOf } from '../chain/contractCode.js'
import type { NodeContractName } from '../chain/contractCode.js'
import type { HandoverTarget } from './handover.js'
import { CustodyMismatchError } from './errors.js'

/** What the check reads (viem's PublicClient has it). */
export interface TargetReader {
  getCode(args: { address: Address }): Promise<Hex | undefined>
}

/**
 * @param served the chain id the chain answered and the adjudicator `run` was given
 * @throws CustodyMismatchError (`custody_mismatch`) for another chain or adjudicator; ContractCodeError
 *   (`contract_code`) for a contract without code the node knows for its role; the reader's errors pass through
 */
export async function checkTarget(reader: TargetReader, target: HandoverTarget, served: { readonly chainId: number; readonly adjudicator: Address; readonly url: string }): Promise<void> {
  if (target.chainId !== served.chainId || target.adjudicator !== served.adjudicator) {
    throw new CustodyMismatchError(
      `the custody holds states for chain ${target.chainId} and adjudicator ${target.adjudicator}, but this watchtower runs on chain ${served.chainId} with adjudicator ${served.adjudicator}`,
      { custody: { chainId: target.chainId, adjudicator: target.adjudicator }, served: { chainId: served.chainId, adjudicator: served.adjudicator } },
    )
  }
  const contracts: readonly [NodeContractName, Address][] = [['adjudicator', target.adjudicator], ['virtualPaymentApp', target.virtualPaymentApp]]
  for (const [name, address] of contracts) {
    const code = await reader.getCode({ address })
    const actual = code === undefined || code === '0x' ? undefined : keccak256(code)
    if (actual === undefined || knownBuildOf(name, actual) === undefined) {
      throw new ContractCodeError(`${name} ${address} on ${served.url} ${actual === undefined ? 'has no code' : 'runs other code than this build\'s or official Nitro\'s'}; refusing to watch for it`, { contract: name, address, url: served.url, codeHash: actual ?? null })
    }
  }
}
