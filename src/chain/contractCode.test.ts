// checkContractCode: the code at each configured address must be this build's contract, byte for byte
// (compared by keccak256). First that a whole-code comparison is sound (solc reports no immutables and no
// library links in these contracts, and a deployment's code is exactly `deployedBytecode`); then the
// comparison against a table of codes, and against a real anvil: our deployment passes, another contract, an
// account without code and our adjudicator with one byte changed are refused, naming contract and address.
import { createRequire } from 'node:module'
import { readFileSync, readdirSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createPublicClient, http, keccak256 } from 'viem'
import type { Hex } from 'viem'
import type { Address } from '../core/types.js'
import { compilerSettings, contractsDir } from '../../scripts/compileContracts.js'
import type { Anvil } from './anvil.js'
import { startAnvil } from './anvil.js'
import type { Deployment } from './deploy.js'
import { deployContracts } from './deploy.js'
import { ConsensusApp, NitroAdjudicator, VirtualPaymentApp } from './artifacts.js'
import { ContractCodeError, NODE_CONTRACTS, checkContractCode, expectedCodeHash } from './contractCode.js'
import type { CodeReader, NodeContracts } from './contractCode.js'
import { toAddress } from '../core/canonical.js'

const SOURCE_NAMES = { adjudicator: 'NitroAdjudicator', consensusApp: 'ConsensusApp', virtualPaymentApp: 'VirtualPaymentApp' } as const
const ADDRESSES: NodeContracts = {
  adjudicator: toAddress('0x00000000000000000000000000000000000000a1'),
  consensusApp: toAddress('0x00000000000000000000000000000000000000c1'),
  virtualPaymentApp: toAddress('0x00000000000000000000000000000000000000f1'),
}
const CHAIN = { url: 'http://chain.test' }

/** A chain whose code is `codes` by address (absent: no code). */
function reader(codes: Readonly<Record<string, Hex | undefined>>): CodeReader {
  return { getCode: async ({ address }) => codes[address] }
}
const ours = (): Record<string, Hex> => ({
  [ADDRESSES.adjudicator]: NitroAdjudicator.deployedBytecode,
  [ADDRESSES.consensusApp]: ConsensusApp.deployedBytecode,
  [ADDRESSES.virtualPaymentApp]: VirtualPaymentApp.deployedBytecode,
})
/** `code` with its last byte changed (inside solc's metadata: what a recompilation of other sources changes). */
const flipLastByte = (code: Hex): Hex => `${code.slice(0, -2)}${((parseInt(code.slice(-2), 16) + 1) % 256).toString(16).padStart(2, '0')}` as Hex

async function refusal(promise: Promise<unknown>): Promise<ContractCodeError> {
  const error = await promise.then(() => undefined, (e: unknown) => e)
  expect(error).toBeInstanceOf(ContractCodeError)
  return error as ContractCodeError
}

describe('the whole runtime code can be compared', () => {
  test('solc reports no immutables and no library links in the contracts a node checks', () => {
    const require = createRequire(import.meta.url)
    const solc = require('solc') as { compile(input: string): string }
    const sources: Record<string, { content: string }> = {}
    const walk = (folder: string): void => {
      for (const entry of readdirSync(folder, { withFileTypes: true })) {
        const path = join(folder, entry.name)
        if (entry.isDirectory()) walk(path)
        else if (entry.name.endsWith('.sol')) sources[relative(join(contractsDir, '..'), path).split(sep).join('/')] = { content: readFileSync(path, 'utf8') }
      }
    }
    walk(contractsDir)
    const selection = ['evm.deployedBytecode.object', 'evm.deployedBytecode.immutableReferences', 'evm.deployedBytecode.linkReferences']
    const output = JSON.parse(solc.compile(JSON.stringify({ language: 'Solidity', sources, settings: { ...compilerSettings, outputSelection: { '*': { '*': selection } } } }))) as {
      contracts: Record<string, Record<string, { evm: { deployedBytecode: { object: string; immutableReferences: object; linkReferences: object } } }>>
    }
    for (const [name, contract] of Object.entries(SOURCE_NAMES)) {
      const compiled = output.contracts[`contracts/${contract}.sol`]![contract]!.evm.deployedBytecode
      expect(compiled.immutableReferences, `${contract} has immutables: mask them in contractCode.ts`).toEqual({})
      expect(compiled.linkReferences, `${contract} links libraries`).toEqual({})
      expect(`0x${compiled.object}`, contract).toBe(NODE_CONTRACTS[name as keyof typeof SOURCE_NAMES])
    }
  }, 60_000)
})

describe('checkContractCode', () => {
  test('passes when every address runs this build\'s contract', async () => {
    await expect(checkContractCode(reader(ours()), ADDRESSES, CHAIN)).resolves.toBeUndefined()
    expect(expectedCodeHash('adjudicator')).toBe(keccak256(NitroAdjudicator.deployedBytecode))
  })

  test.each([
    ['no code (an account)', 'adjudicator', undefined, /^chain\.adjudicator 0x0{38}A1 has no code on http:\/\/chain\.test: an account, or nothing deployed there/],
    ['empty code', 'consensusApp', '0x', /^chain\.consensusApp 0x0{38}C1 has no code/],
    ['another contract', 'adjudicator', ConsensusApp.deployedBytecode, /^chain\.adjudicator 0x0{38}A1 on http:\/\/chain\.test runs other code than this build's adjudicator \(code hash 0x[0-9a-f]{64}, expected 0x[0-9a-f]{64}\); refusing to start$/],
    ['the apps swapped', 'virtualPaymentApp', ConsensusApp.deployedBytecode, /^chain\.virtualPaymentApp .* runs other code/],
    ['one byte changed', 'virtualPaymentApp', flipLastByte(VirtualPaymentApp.deployedBytecode), /^chain\.virtualPaymentApp .* runs other code/],
    ['our code with more appended', 'adjudicator', `${NitroAdjudicator.deployedBytecode}00` as Hex, /^chain\.adjudicator .* runs other code/],
  ] as const)('refuses %s, naming the contract and its address', async (_case, name, code, message) => {
    const codes = { ...ours(), [ADDRESSES[name]]: code }
    const error = await refusal(checkContractCode(reader(codes), ADDRESSES, CHAIN))
    expect(error.summary).toMatch(message)
    expect(error.code).toBe('contract_code')
    expect(error.details).toMatchObject({ contract: name, address: ADDRESSES[name], url: CHAIN.url })
  })
})

describe('on anvil', () => {
  let anvil: Anvil
  let deployment: Deployment
  let client: ReturnType<typeof createPublicClient>
  beforeAll(async () => {
    anvil = await startAnvil({ port: 0 })
    deployment = await deployContracts({ rpcUrl: anvil.url, chainId: anvil.chainId })
    client = createPublicClient({ transport: http(anvil.url) })
  }, 60_000)
  afterAll(async () => {
    await anvil?.stop()
  })
  const contracts = (): NodeContracts => ({ adjudicator: deployment.adjudicator, consensusApp: deployment.consensusApp, virtualPaymentApp: deployment.virtualPaymentApp })

  test('a deployment from this build is deployedBytecode byte for byte, and passes', async () => {
    for (const name of Object.keys(NODE_CONTRACTS) as (keyof NodeContracts)[]) {
      expect(await client.getCode({ address: contracts()[name] }), name).toBe(NODE_CONTRACTS[name])
    }
    await expect(checkContractCode(client, contracts(), anvil)).resolves.toBeUndefined()
  })

  test('refuses another contract, an account and a one-byte change', async () => {
    const other = await refusal(checkContractCode(client, { ...contracts(), adjudicator: deployment.testToken }, anvil))
    expect(other.summary).toContain(`chain.adjudicator ${deployment.testToken} on ${anvil.url} runs other code`)
    const account: Address = toAddress('0x70997970C51812dc3A010C7d01b50e0d17dc79C8') // anvil's funded development account 1
    const eoa = await refusal(checkContractCode(client, { ...contracts(), consensusApp: account }, anvil))
    expect(eoa.summary).toContain(`chain.consensusApp ${account} has no code on ${anvil.url}`)
    const lookalike: Address = toAddress('0x000000000000000000000000000000000000beef')
    await client.request({ method: 'anvil_setCode' as never, params: [lookalike, flipLastByte(NitroAdjudicator.deployedBytecode)] as never })
    const changed = await refusal(checkContractCode(client, { ...contracts(), adjudicator: lookalike }, anvil))
    expect(changed.summary).toContain(`chain.adjudicator ${lookalike} on ${anvil.url} runs other code`)
  })
})
