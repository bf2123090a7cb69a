// startNode on a real anvil with our contracts (issue 13): a node configured for a chain that is not the
// embedded local one refuses to start when an address runs other code or is an account, and starts when
// every address is this build's contract; `channels node` says why it refused and exits 1.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { Anvil } from '../chain/anvil.js'
import { startAnvil } from '../chain/anvil.js'
import type { Deployment } from '../chain/deploy.js'
import { deployContracts } from '../chain/deploy.js'
import { ContractCodeError } from '../chain/contractCode.js'
import { loadConfig } from './config.js'
import { spawnNode } from './launcher.js'
import { createLogger, startNode } from './node.js'
import { toAddress } from '../core/canonical.js'

const ACCOUNT = toAddress('0x70997970C51812dc3A010C7d01b50e0d17dc79C8') // anvil's development account 1: no code

let anvil: Anvil
let deployment: Deployment
beforeAll(async () => {
  anvil = await startAnvil({ port: 0 })
  deployment = await deployContracts({ rpcUrl: anvil.url, chainId: anvil.chainId })
}, 60_000)
afterAll(async () => {
  await anvil?.stop()
})

/** Flags of a node on the test anvil as on any chain that is not the embedded one: everything explicit. */
function flags(contracts: Partial<Pick<Deployment, 'adjudicator' | 'consensusApp' | 'virtualPaymentApp'>> = {}): string[] {
  const c = { adjudicator: deployment.adjudicator, consensusApp: deployment.consensusApp, virtualPaymentApp: deployment.virtualPaymentApp, ...contracts }
  return ['--chain-url', anvil.url, '--chain-id', String(anvil.chainId), '--adjudicator', c.adjudicator, '--consensus-app', c.consensusApp, '--virtual-payment-app', c.virtualPaymentApp, '--rpc-port', '0', '--listen', '/ip4/127.0.0.1/tcp/0']
}
const dataDir = () => mkdtempSync(path.join(tmpdir(), 'node-'))
const start = (argv: string[]) => {
  const config = loadConfig(['--data-dir', dataDir(), '--log-level', 'silent', ...argv], {})
  return startNode(config, createLogger(config))
}

describe('startNode checks the contracts before it signs or deposits anything', () => {
  test('refuses an adjudicator address that runs another contract', async () => {
    const error = await start(flags({ adjudicator: deployment.testToken })).then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(ContractCodeError)
    expect((error as ContractCodeError).summary).toContain(`chain.adjudicator ${deployment.testToken} on ${anvil.url} runs other code than this build's adjudicator`)
  })

  test('refuses a consensus app address that is an account', async () => {
    const error = await start(flags({ consensusApp: ACCOUNT })).then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(ContractCodeError)
    expect((error as ContractCodeError).summary).toContain(`chain.consensusApp ${ACCOUNT} has no code on ${anvil.url}`)
  })

  test('starts when every address is this build\'s contract (12 confirmations: not the local chain), and stops', async () => {
    const config = loadConfig(['--data-dir', dataDir(), '--log-level', 'silent', ...flags()], {})
    expect(config.chain).toMatchObject({ local: false, confirmations: 12 })
    const node = await startNode(config, createLogger(config))
    try {
      expect(node.info.chainId).toBe(anvil.chainId)
      expect(node.engine).toBeDefined()
    } finally {
      await node.stop()
    }
  })

  test('`channels node` prints the refusal and exits', async () => {
    const failed = await spawnNode({ name: 'wrong', dataDir: dataDir(), args: flags({ virtualPaymentApp: deployment.consensusApp }), readyTimeoutMs: 20_000 }).then(() => undefined, (e: unknown) => e as Error)
    expect(failed?.message).toContain('exited')
    expect(failed?.message).toContain(`chain.virtualPaymentApp ${deployment.consensusApp} on ${anvil.url} runs other code than this build's virtualPaymentApp`)
    expect(failed?.message).toContain('(contract_code)')
  }, 30_000)
})
