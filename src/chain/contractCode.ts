// Is the code at a configured address a contract we trust? (issues 13 and 15, docs/security.md). A node
// deposits into the adjudicator and signs states whose appDefinition is the consensus or payment app; an
// address that runs other code (a look-alike that keeps deposits, a proxy someone can upgrade, an account
// with no code that accepts anything) would take the funds or decide disputes. So at start the node fetches
// each contract's runtime code (eth_getCode) and looks its keccak256 up in an allow-list of known builds:
// this build's contracts (artifacts.ts, `deployedBytecode`) and the official Nitro contracts the interop tests
// run against (@statechannels/nitro-protocol 2.0.1-alpha.6; docs/adr/0019-guarantee-type-and-interop.md).
//
// The official hashes are constants: the npm package is a dev dependency, not installed where a node runs.
// contractCode.test.ts deploys the package's artifacts on anvil and recomputes them, so they cannot drift.
//
// The hash is taken over the whole code. None of these contracts has immutables or linked libraries, so the
// code on chain is `deployedBytecode` byte for byte: for ours the test asks solc (no immutableReferences, no
// linkReferences); for the official build, whose artifacts do not record immutables, it checks that the init
// code only copies the runtime code out verbatim and that two deployments (other deployer, later block) hold
// the same code. Should one gain an immutable, those tests fail first; the comparison must then mask its
// ranges. The code ends in solc's metadata hash (CBOR), so the same sources compiled otherwise are other code.
//
// Which mixes are accepted: each address must hold a known build's code FOR ITS ROLE (the official payment
// app at chain.consensusApp is refused), but the three need not come from one build. The only coupling
// between the contracts is the adjudicator calling `IForceMoveApp.stateIsSupported(FixedPart,
// RecoveredVariablePart[], RecoveredVariablePart) returns (bool, string)`, which both builds declare alike and
// call with the same signedBy bitmask; the test runs each mix on anvil. A mix is reported as `mixed`.
import { keccak256 } from 'viem'
import type { Hex } from 'viem'
import type { Address } from '../core/types.js'
import { RejectedInputError } from '../core/errors.js'
import { ConsensusApp, NitroAdjudicator, VirtualPaymentApp } from './artifacts.js'

/** This build's runtime code of the contracts a node is configured with, by their config names (`chain.adjudicator`, …). */
export const NODE_CONTRACTS = {
  adjudicator: NitroAdjudicator.deployedBytecode,
  consensusApp: ConsensusApp.deployedBytecode,
  virtualPaymentApp: VirtualPaymentApp.deployedBytecode,
} as const satisfies Readonly<Record<string, Hex>>
export type NodeContractName = keyof typeof NODE_CONTRACTS
export type NodeContracts = Readonly<Record<NodeContractName, Address>>

/** What the allow-list knows of one build of the three contracts. */
export interface KnownBuild {
  /** How a refusal names it. */
  readonly label: string
  /** keccak256 of each contract's runtime code, as eth_getCode returns it once deployed. */
  readonly codeHashes: Readonly<Record<NodeContractName, Hex>>
  /**
   * Whether its VirtualPaymentApp supports a payment channel whose outcome is in an ERC20 token. Nitro's
   * requires the native asset ("only native asset allowed"; NITRO-NOTES §2.6): a token channel against it
   * could not be redeemed on chain.
   */
  readonly paymentTokens: boolean
}

/** The allow-list: the builds whose contracts a node starts with. */
export const KNOWN_BUILDS = {
  channels: {
    label: "this build's",
    codeHashes: {
      adjudicator: keccak256(NODE_CONTRACTS.adjudicator),
      consensusApp: keccak256(NODE_CONTRACTS.consensusApp),
      virtualPaymentApp: keccak256(NODE_CONTRACTS.virtualPaymentApp),
    },
    paymentTokens: true,
  },
  'nitro-2.0.1-alpha.6': {
    label: "@statechannels/nitro-protocol 2.0.1-alpha.6's",
    codeHashes: {
      adjudicator: '0xa3b620a30e9c313891eb06a41fcbf46f85cdae9cb700d7cb3e576470b1566949',
      consensusApp: '0xd5d4caa5a34d439ee02ae71f0c87872d927bf4ae2a2398715eab5c3373f4ce4a',
      virtualPaymentApp: '0xbb3f6d93d3d05208ef98801af5ef311a728031298001c0d8681776a0d1abb656',
    },
    paymentTokens: false,
  },
} as const satisfies Readonly<Record<string, KnownBuild>>
export type ContractBuild = keyof typeof KNOWN_BUILDS
const BUILD_NAMES = Object.keys(KNOWN_BUILDS) as ContractBuild[]

/** What the check found: which build each contract is, and what the node may do with them. */
export interface ContractCodeCheck {
  readonly builds: Readonly<Record<NodeContractName, ContractBuild>>
  /** The build all three come from, or `mixed`. */
  readonly set: ContractBuild | 'mixed'
  /** Whether chain.virtualPaymentApp supports payment channels in ERC20 tokens (KnownBuild.paymentTokens). */
  readonly paymentTokens: boolean
}

/** The address holds no code, or code that is no known build's contract for its role. */
export class ContractCodeError extends RejectedInputError {
  readonly code = 'contract_code'
}

/** The build whose `name` has runtime code hashing to `codeHash`, if any. */
export function knownBuildOf(name: NodeContractName, codeHash: Hex): ContractBuild | undefined {
  return BUILD_NAMES.find((build) => KNOWN_BUILDS[build].codeHashes[name] === codeHash)
}

/** What the check needs of a chain client (viem's PublicClient has it). */
export interface CodeReader {
  getCode(args: { address: Address }): Promise<Hex | undefined>
}

/**
 * Checks every contract in `contracts` against the allow-list, in a fixed order; the first unknown code throws.
 *
 * @example const { set, paymentTokens } = await checkContractCode(publicClient, { adjudicator, consensusApp, virtualPaymentApp }, { url })
 * @returns the build of each contract, of the set (`mixed` if they differ) and whether the payment app takes tokens.
 * @throws ContractCodeError (`contract_code`) naming the contract, its address and the chain; the reader's
 *   own errors (the chain unreachable) pass through.
 */
export async function checkContractCode(reader: CodeReader, contracts: NodeContracts, chain: { readonly url: string }): Promise<ContractCodeCheck> {
  const builds = {} as Record<NodeContractName, ContractBuild>
  for (const name of Object.keys(NODE_CONTRACTS) as NodeContractName[]) {
    const address = contracts[name]
    const code = await reader.getCode({ address })
    const details = { contract: name, address, url: chain.url }
    if (code === undefined || code === '0x') {
      throw new ContractCodeError(`chain.${name} ${address} has no code on ${chain.url}: an account, or nothing deployed there; refusing to start (check the address, or deploy the contracts)`, details)
    }
    const codeHash = keccak256(code)
    const build = knownBuildOf(name, codeHash)
    if (build === undefined) {
      const others = BUILD_NAMES.filter((b) => b !== 'channels').map((b) => KNOWN_BUILDS[b].label)
      const known = BUILD_NAMES.map((b) => KNOWN_BUILDS[b].codeHashes[name])
      throw new ContractCodeError(`chain.${name} ${address} on ${chain.url} runs other code than this build's ${name} or ${others.join(' or ')} (code hash ${codeHash}, known ${known.join(', ')}); refusing to start`, { ...details, codeHash, knownCodeHashes: known })
    }
    builds[name] = build
  }
  const set = new Set(Object.values(builds)).size === 1 ? builds.adjudicator : 'mixed'
  return { builds, set, paymentTokens: KNOWN_BUILDS[builds.virtualPaymentApp].paymentTokens }
}
