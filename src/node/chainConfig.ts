// Which chain a node trusts, and with which contracts (issue 13; docs/security.md).
//
// The embedded local chain is the anvil that `npm start` (and the tests) start themselves: a throwaway
// chain on this machine whose contracts sit at the deterministic addresses of anvil's public deployer key.
// A node treats its chain as that one only when its config says so explicitly (`chain.local: true`, which
// launchLocalNetwork writes for the anvil it was given, or `--chain-local`) AND the chain is plausibly such
// a chain: its URL is a loopback address (checked by loadConfig) and it answers anvil's default chain id
// 31337 (checked here at start). The flag alone could be copied into a production config by mistake; the
// chain id and URL alone can be met by a tunnel or a port-forward to someone else's node. Only then may
// the contract addresses default to the deterministic deployment and confirmations default to 0.
//
// On any other chain every contract address and the chain id must be configured (loadConfig refuses to
// start without them: no defaults, no discovery), the chain must answer that chain id, and confirmations
// default to DEFAULT_CONFIRMATIONS. On every chain, local or not, each contract's code must be on the allow-list
// for its role, this build's or official Nitro's (src/chain/contractCode.ts), so a wrong or malicious address
// stops the node before it signs or deposits.
import { createPublicClient, http } from 'viem'
import type { Address } from '../core/types.js'
import { OperatingError, RejectedInputError } from '../core/errors.js'
import { privateKeyToAddress } from '../core/signatures.js'
import { ANVIL_DEFAULT_CHAIN_ID } from '../chain/anvil.js'
import { ANVIL_DEPLOYER_KEY, expectedDeployment } from '../chain/deploy.js'
import { checkContractCode } from '../chain/contractCode.js'
import type { ContractCodeCheck, NodeContracts } from '../chain/contractCode.js'

/** The chain id an embedded local chain must answer: anvil's default. */
export const LOCAL_CHAIN_ID = ANVIL_DEFAULT_CHAIN_ID
/**
 * Blocks on top of a chain event before the node acts on it, off the local chain: a re-org deeper than
 * this on an L1 after the merge means finality failed; 12 blocks is ~2.4 minutes on Ethereum. Configurable
 * (`chain.confirmations`, `--confirmations`), e.g. lower on an L2 whose sequencer is trusted.
 */
export const DEFAULT_CONFIRMATIONS = 12

/** The chain disagrees with the config: another chain id, or `chain.local` for a chain that cannot be the embedded one. */
export class ChainConfigError extends RejectedInputError {
  readonly code = 'chain_config'
}

/** The chain cannot be reached (wrong URL, chain not running). */
export class ChainNotReadyError extends OperatingError {
  readonly code = 'chain_not_ready'
}

/** The chain part of a node's config that the checks read. */
export interface ChainSettings {
  readonly url: string
  readonly local: boolean
  readonly chainId?: number
  readonly adjudicator?: Address
  readonly consensusApp?: Address
  readonly virtualPaymentApp?: Address
}

/** True for http(s) URLs whose host is this machine: localhost, 127.0.0.0/8 or ::1. */
export function isLoopbackUrl(url: string): boolean {
  let host: string
  try {
    host = new URL(url).hostname.toLowerCase()
  } catch {
    return false
  }
  if (host === 'localhost' || host === '[::1]') return true
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}

/** The contract addresses a config leaves unset (all of them may be unset on the local chain only). */
export function missingContracts(chain: Omit<ChainSettings, 'url' | 'local'>): string[] {
  return (['adjudicator', 'consensusApp', 'virtualPaymentApp'] as const).filter((name) => chain[name] === undefined)
}

/**
 * Checks the chain against the config before the node uses it: the chain id it answers, the embedded local
 * chain's conditions when `local`, and every contract's code. Resolves to the chain id, the contracts and
 * which build they are (`contractCode`: `set`, and `paymentTokens`, whether the payment app takes ERC20 tokens).
 * @throws ChainNotReadyError (`chain_not_ready`), ChainConfigError (`chain_config`), ContractCodeError (`contract_code`).
 */
export async function verifyChain(chain: ChainSettings): Promise<{ chainId: number; contracts: NodeContracts; contractCode: ContractCodeCheck }> {
  const client = createPublicClient({ transport: http(chain.url) })
  let chainId: number
  try {
    chainId = await client.getChainId()
  } catch (error) {
    throw new ChainNotReadyError(`cannot reach the chain at ${chain.url}`, { url: chain.url }, { cause: error })
  }
  if (chain.chainId !== undefined && chain.chainId !== chainId) {
    throw new ChainConfigError(`the chain at ${chain.url} answers chain id ${chainId}, but the config says chain.chainId ${chain.chainId}; refusing to start`, { url: chain.url, chainId, configured: chain.chainId })
  }
  let contracts: NodeContracts
  if (chain.local) {
    // Paired with loadConfig's check of the URL: a config built another way must not skip it.
    if (!isLoopbackUrl(chain.url)) throw new ChainConfigError(`chain.local is set, but ${chain.url} is not on this machine: the embedded local chain is reached over loopback`, { url: chain.url })
    if (chainId !== LOCAL_CHAIN_ID) throw new ChainConfigError(`chain.local is set, but the chain at ${chain.url} answers chain id ${chainId}, not the local chain's ${LOCAL_CHAIN_ID}; refusing to start`, { url: chain.url, chainId })
    const defaults = expectedDeployment(privateKeyToAddress(ANVIL_DEPLOYER_KEY))
    contracts = {
      adjudicator: chain.adjudicator ?? defaults.adjudicator,
      consensusApp: chain.consensusApp ?? defaults.consensusApp,
      virtualPaymentApp: chain.virtualPaymentApp ?? defaults.virtualPaymentApp,
    }
  } else {
    const missing = missingContracts(chain)
    if (missing.length > 0 || chain.chainId === undefined) throw new ChainConfigError(`chain.${[...missing, ...(chain.chainId === undefined ? ['chainId'] : [])].join(', chain.')} not configured for ${chain.url}`, { url: chain.url, missing })
    contracts = { adjudicator: chain.adjudicator!, consensusApp: chain.consensusApp!, virtualPaymentApp: chain.virtualPaymentApp! }
  }
  let contractCode: ContractCodeCheck
  try {
    contractCode = await checkContractCode(client, contracts, chain)
  } catch (error) {
    if (error instanceof RejectedInputError) throw error
    throw new ChainNotReadyError(`cannot read contract code from ${chain.url}`, { url: chain.url }, { cause: error })
  }
  return { chainId, contracts, contractCode }
}
