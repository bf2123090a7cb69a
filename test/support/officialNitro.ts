// The official Nitro v2 contracts (issue 15's interop suite): the bytecode of `@statechannels/nitro-protocol`
// 2.0.1-alpha.6 (`dist/artifacts`, a pinned dev dependency), deployed where ours would be, so the same anvil tests
// run the node's chain service and engines against both builds.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { afterAll, beforeAll, describe } from 'vitest'
import type { Anvil } from '../../src/chain/anvil.js'
import { startAnvil } from '../../src/chain/anvil.js'
import type { Artifact, ContractSet, Deployment } from '../../src/chain/deploy.js'
import { OUR_CONTRACTS, deployContracts } from '../../src/chain/deploy.js'

const root = path.dirname(createRequire(import.meta.url).resolve('@statechannels/nitro-protocol/package.json'))

function artifact(name: string): Artifact {
  const json = JSON.parse(readFileSync(path.join(root, 'dist', 'artifacts', 'contracts', `${name}.sol`, `${name}.json`), 'utf8')) as Artifact
  return { abi: json.abi, bytecode: json.bytecode, deployedBytecode: json.deployedBytecode }
}

export const OFFICIAL_NITRO: ContractSet = {
  adjudicator: artifact('NitroAdjudicator'),
  consensusApp: artifact('ConsensusApp'),
  virtualPaymentApp: artifact('VirtualPaymentApp'),
}

/** Each anvil test that settles on chain runs once per build. */
export const CONTRACT_SETS: readonly { readonly name: string; readonly contracts: ContractSet }[] = [
  { name: 'our', contracts: OUR_CONTRACTS },
  { name: 'official Nitro 2.0.1-alpha.6', contracts: OFFICIAL_NITRO },
]

/**
 * Runs `body`'s tests once per contract set, each on a fresh anvil with that set deployed; `use` receives the
 * chain and its deployment before the set's tests run.
 */
export function onEachContractSet(use: (anvil: Anvil, deployment: Deployment) => void, body: () => void): void {
  describe.each(CONTRACT_SETS)('on $name contracts', ({ contracts }) => {
    let anvil: Anvil | undefined
    beforeAll(async () => {
      anvil = await startAnvil({ port: 0 })
      use(anvil, await deployContracts({ rpcUrl: anvil.url, chainId: anvil.chainId, contracts }))
    }, 60_000)
    afterAll(async () => {
      await anvil?.stop()
    })
    body()
  })
}
