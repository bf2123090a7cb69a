// Deterministic deployment of our contracts (issue 4): one deployer key, a fixed order, so a fresh local
// chain always has the same addresses (CREATE addresses depend only on deployer and nonce). Deploying
// onto a chain that already has them (a resumed anvil) finds them and deploys nothing.
import { createPublicClient, createWalletClient, getContractAddress, http } from 'viem'
import type { Abi, Hex } from 'viem'
import type { Address } from '../core/types.js'
import { privateKeyToAccount } from 'viem/accounts'
import { ConsensusApp, NitroAdjudicator, TestToken, VirtualPaymentApp } from './artifacts.js'
import { toChainError } from './viemErrors.js'
import { ChannelsError, OperatingError } from '../core/errors.js'
import { toAddress } from '../core/canonical.js'

/** anvil's first well-known development account (public test mnemonic): the local chain's deployer. */
export const ANVIL_DEPLOYER_KEY: Hex = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'
/** anvil's development accounts 1..4 (same public mnemonic; 10,000 ETH each on a fresh chain): local nodes' chain keys. */
export const ANVIL_DEV_KEYS: readonly Hex[] = [
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
  '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
  '0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a',
]

export interface Deployment {
  readonly adjudicator: Address
  readonly consensusApp: Address
  readonly virtualPaymentApp: Address
  readonly testToken: Address
}

export interface Artifact {
  readonly abi: Abi
  readonly bytecode: Hex
  readonly deployedBytecode: Hex
}

/** The three contracts a node uses: ours by default; the interop tests deploy Nitro's official build instead. */
export interface ContractSet {
  readonly adjudicator: Artifact
  readonly consensusApp: Artifact
  readonly virtualPaymentApp: Artifact
}

export const OUR_CONTRACTS: ContractSet = {
  adjudicator: NitroAdjudicator as unknown as Artifact,
  consensusApp: ConsensusApp as unknown as Artifact,
  virtualPaymentApp: VirtualPaymentApp as unknown as Artifact,
}

/** The chain already has code at our deterministic address, but not ours (older contracts, another deployer). */
export class ForeignDeploymentError extends OperatingError {
  readonly code = 'foreign_deployment'
}

const orderOf = (contracts: ContractSet): readonly [keyof Deployment, Artifact, readonly unknown[]][] => [
  ['adjudicator', contracts.adjudicator, []],
  ['consensusApp', contracts.consensusApp, []],
  ['virtualPaymentApp', contracts.virtualPaymentApp, []],
  ['testToken', TestToken as unknown as Artifact, ['Channels Test Token', 'CTT']],
]

/** The addresses a deployment from `deployer` starting at nonce 0 produces. */
export function expectedDeployment(deployer: Address): Deployment {
  return Object.fromEntries(orderOf(OUR_CONTRACTS).map(([name], nonce) => [name, toAddress(getContractAddress({ from: deployer, nonce: BigInt(nonce) }))])) as unknown as Deployment
}

export async function deployContracts(p: { rpcUrl: string; chainId: number; deployerKey?: Hex; contracts?: ContractSet }): Promise<Deployment> {
  const account = privateKeyToAccount(p.deployerKey ?? ANVIL_DEPLOYER_KEY)
  const chain = { id: p.chainId, name: 'local', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [p.rpcUrl] } } }
  const publicClient = createPublicClient({ chain, transport: http(p.rpcUrl) })
  const wallet = createWalletClient({ account, chain, transport: http(p.rpcUrl) })
  const expected = expectedDeployment(toAddress(account.address))
  try {
    for (const [index, [name, artifact, args]] of orderOf(p.contracts ?? OUR_CONTRACTS).entries()) {
      const code = await publicClient.getCode({ address: expected[name] })
      if (code) {
        if (code.toLowerCase() !== artifact.deployedBytecode.toLowerCase()) {
          throw new ForeignDeploymentError(`${name} at ${expected[name]} is not the contract this build compiled (a chain kept from an older version?)`, { name, address: expected[name] })
        }
        continue
      }
      const nonce = await publicClient.getTransactionCount({ address: account.address })
      if (nonce !== index) throw new Error(`deployer nonce is ${nonce}, expected ${index}: this chain's history differs from a fresh deployment`)
      const hash = await wallet.deployContract({ abi: artifact.abi, bytecode: artifact.bytecode, args: args as never, nonce })
      const receipt = await publicClient.waitForTransactionReceipt({ hash })
      if (receipt.contractAddress?.toLowerCase() !== expected[name].toLowerCase()) throw new Error(`${name} landed at ${receipt.contractAddress}`)
    }
  } catch (error) {
    throw error instanceof ChannelsError ? error : toChainError(error)
  }
  return expected
}
