// How a node recognises the embedded local chain and checks any chain before using it (chainConfig.ts), on
// real anvils: one as `npm start` runs it (chain id 31337, our contracts deployed by the public deployer
// key), one with another chain id, as a chain that is not the embedded one, and one with the official Nitro
// contracts (docs/adr/0019-guarantee-type-and-interop.md).
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { Anvil } from '../chain/anvil.js'
import { startAnvil } from '../chain/anvil.js'
import type { Deployment } from '../chain/deploy.js'
import { deployContracts } from '../chain/deploy.js'
import { ContractCodeError } from '../chain/contractCode.js'
import { OFFICIAL_NITRO } from '../../test/support/officialNitro.js'
import { freePort } from './launcher.js'
import { ChainConfigError, ChainNotReadyError, LOCAL_CHAIN_ID, isLoopbackUrl, verifyChain } from './chainConfig.js'
import type { ChainSettings } from './chainConfig.js'
import { toAddress } from '../core/canonical.js'

const ACCOUNT = toAddress('0x70997970C51812dc3A010C7d01b50e0d17dc79C8') // anvil's development account 1: no code

describe('isLoopbackUrl', () => {
  test.each([
    ['http://127.0.0.1:8545', true],
    ['http://127.8.9.10:8545', true],
    ['http://localhost:8545', true],
    ['http://LOCALHOST', true],
    ['http://[::1]:8545', true],
    ['https://127.0.0.1', true],
    ['http://10.0.0.1:8545', false],
    ['http://127.0.0.1.nip.io:8545', false],
    ['http://localhost.example.com', false],
    ['http://[::ffff:7f00:1]:8545', false], // mapped IPv4: not worth the ambiguity
    ['https://mainnet.infura.io/v3/x', false],
    ['not a url', false],
  ])('%s → %s', (url, expected) => {
    expect(isLoopbackUrl(url)).toBe(expected)
  })
})

describe('verifyChain', () => {
  let local: Anvil
  let other: Anvil
  let deployment: Deployment
  let otherDeployment: Deployment
  let official: Anvil
  let officialDeployment: Deployment
  beforeAll(async () => {
    ;[local, other, official] = await Promise.all([startAnvil({ port: 0 }), startAnvil({ port: 0, chainId: 1337 }), startAnvil({ port: 0, chainId: 10 })])
    ;[deployment, otherDeployment, officialDeployment] = await Promise.all([
      deployContracts({ rpcUrl: local.url, chainId: local.chainId }),
      deployContracts({ rpcUrl: other.url, chainId: other.chainId }),
      deployContracts({ rpcUrl: official.url, chainId: official.chainId, contracts: OFFICIAL_NITRO }),
    ])
  }, 60_000)
  afterAll(async () => {
    await Promise.all([local?.stop(), other?.stop(), official?.stop()])
  })
  const explicit = (d: Deployment, anvil: Anvil): ChainSettings => ({ url: anvil.url, local: false, chainId: anvil.chainId, adjudicator: d.adjudicator, consensusApp: d.consensusApp, virtualPaymentApp: d.virtualPaymentApp })
  const failure = async (settings: ChainSettings) => verifyChain(settings).then(() => undefined, (e: unknown) => e as Error)

  test('the local chain: addresses default to the deterministic deployment, whose code is checked', async () => {
    expect(local.chainId).toBe(LOCAL_CHAIN_ID)
    const { chainId, contracts } = await verifyChain({ url: local.url, local: true })
    expect(chainId).toBe(31337)
    expect(contracts).toEqual({ adjudicator: deployment.adjudicator, consensusApp: deployment.consensusApp, virtualPaymentApp: deployment.virtualPaymentApp })
    // An address given on the local chain is checked too.
    const error = await failure({ url: local.url, local: true, adjudicator: deployment.testToken })
    expect(error).toBeInstanceOf(ContractCodeError)
  })

  test('another chain with every address configured starts', async () => {
    const { chainId, contracts, contractCode } = await verifyChain(explicit(otherDeployment, other))
    expect(chainId).toBe(1337)
    expect(contracts.adjudicator).toBe(otherDeployment.adjudicator)
    expect(contractCode).toMatchObject({ set: 'channels', paymentTokens: true })
  })

  test('a chain with the official Nitro contracts starts, and says so: their payment app takes no tokens', async () => {
    const { chainId, contractCode } = await verifyChain(explicit(officialDeployment, official))
    expect(chainId).toBe(10)
    expect(contractCode).toEqual({
      builds: { adjudicator: 'nitro-2.0.1-alpha.6', consensusApp: 'nitro-2.0.1-alpha.6', virtualPaymentApp: 'nitro-2.0.1-alpha.6' },
      set: 'nitro-2.0.1-alpha.6',
      paymentTokens: false,
    })
  })

  test('refuses an address running other code, or an account, naming contract and address', async () => {
    const wrong = await failure({ ...explicit(otherDeployment, other), adjudicator: otherDeployment.testToken })
    expect(wrong).toBeInstanceOf(ContractCodeError)
    expect(wrong!.message).toContain(`chain.adjudicator ${otherDeployment.testToken} on ${other.url} runs other code than this build's adjudicator or @statechannels/nitro-protocol 2.0.1-alpha.6's`)
    const eoa = await failure({ ...explicit(otherDeployment, other), virtualPaymentApp: ACCOUNT })
    expect(eoa).toBeInstanceOf(ContractCodeError)
    expect(eoa!.message).toContain(`chain.virtualPaymentApp ${ACCOUNT} has no code on ${other.url}`)
  })

  test('refuses chain.local on a chain that answers another chain id, and a configured chain id the chain does not answer', async () => {
    const notLocal = await failure({ url: other.url, local: true })
    expect(notLocal).toBeInstanceOf(ChainConfigError)
    expect(notLocal!.message).toBe(`chain.local is set, but the chain at ${other.url} answers chain id 1337, not the local chain's 31337; refusing to start`)
    const wrongId = await failure({ ...explicit(otherDeployment, other), chainId: 10 })
    expect(wrongId).toBeInstanceOf(ChainConfigError)
    expect(wrongId!.message).toContain('answers chain id 1337, but the config says chain.chainId 10')
  })

  test('refuses chain.local off loopback and an incomplete config for another chain, even when built without loadConfig', async () => {
    // 0.0.0.0 reaches the same anvil on Linux, but is not a loopback address
    expect(await failure({ url: local.url.replace('127.0.0.1', '0.0.0.0'), local: true })).toBeInstanceOf(ChainConfigError)
    const incomplete = await failure({ url: other.url, local: false, chainId: 1337, adjudicator: otherDeployment.adjudicator })
    expect(incomplete).toBeInstanceOf(ChainConfigError)
    expect(incomplete!.message).toContain('chain.consensusApp, chain.virtualPaymentApp not configured')
  })

  test('a chain that does not answer is not ready', async () => {
    expect(await failure({ url: `http://127.0.0.1:${await freePort()}`, local: true })).toBeInstanceOf(ChainNotReadyError)
  })
})
