// checkContractCode: the code at each configured address must be a known build's contract for its role, this
// build's or the official Nitro 2.0.1-alpha.6's, byte for byte (compared by keccak256). First that a whole-code
// comparison is sound (no immutables, no library links, nothing that could change the code later); then the
// allow-list against a table of codes; then on anvil: the official hashes recomputed from the npm package
// deployed there, both sets and their mixes accepted and identified, a forged contract refused, and the
// `paymentTokens` flag matching what each payment app does with a token redemption.
import { createRequire } from 'node:module'
import { readFileSync, readdirSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createPublicClient, createTestClient, createWalletClient, http, keccak256, toFunctionSelector } from 'viem'
import type { Abi, AbiFunction, Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import type { Address } from '../core/types.js'
import type { Exit } from '../core/outcome.js'
import { AllocationType, addressToDestination } from '../core/outcome.js'
import type { FixedPart, State } from '../core/state.js'
import { channelId } from '../core/channelId.js'
import { signState } from '../core/signState.js'
import { signVoucher } from '../core/voucher.js'
import { privateKeyToAddress } from '../core/signatures.js'
import { voucherAppData } from '../protocols/payments/redemption.js'
import { compilerSettings, contractsDir } from '../../scripts/compileContracts.js'
import { OFFICIAL_NITRO } from '../../test/support/officialNitro.js'
import type { Anvil } from './anvil.js'
import { startAnvil } from './anvil.js'
import type { ContractSet, Deployment } from './deploy.js'
import { ANVIL_DEV_KEYS, OUR_CONTRACTS, deployContracts } from './deploy.js'
import { ConsensusApp, NitroAdjudicator, TestToken, VirtualPaymentApp } from './artifacts.js'
import { toOnChainSignature } from './viemChainService.js'
import { ContractCodeError, KNOWN_BUILDS, NODE_CONTRACTS, checkContractCode, knownBuildOf } from './contractCode.js'
import type { CodeReader, ContractBuild, NodeContractName, NodeContracts } from './contractCode.js'
import { toAddress } from '../core/canonical.js'

const ROLES = Object.keys(NODE_CONTRACTS) as NodeContractName[]
const OFFICIAL: ContractBuild = 'nitro-2.0.1-alpha.6'
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
/** The runtime code of `set` at ADDRESSES, with `swap` taking some roles from another set. */
const codesOf = (set: ContractSet, swap: Partial<Record<NodeContractName, ContractSet>> = {}): Record<string, Hex> =>
  Object.fromEntries(ROLES.map((role) => [ADDRESSES[role], (swap[role] ?? set)[role].deployedBytecode]))
/** `code` with its last byte changed (inside solc's metadata: what a recompilation of other sources changes). */
const flipLastByte = (code: Hex): Hex => `${code.slice(0, -2)}${((parseInt(code.slice(-2), 16) + 1) % 256).toString(16).padStart(2, '0')}` as Hex
const allOf = (build: ContractBuild) => ({ adjudicator: build, consensusApp: build, virtualPaymentApp: build })

async function refusal(promise: Promise<unknown>): Promise<ContractCodeError> {
  const error = await promise.then(() => undefined, (e: unknown) => e)
  expect(error).toBeInstanceOf(ContractCodeError)
  return error as ContractCodeError
}

/**
 * The opcodes of `code` that could change or borrow a contract's code after the check (SELFDESTRUCT,
 * DELEGATECALL, CALLCODE) or create one (CREATE, CREATE2), skipping PUSH data and solc's metadata trailer
 * (its CBOR length is the last two bytes).
 */
function codeChangingOpcodes(code: Hex): string[] {
  const bytes = Buffer.from(code.slice(2), 'hex')
  const body = bytes.subarray(0, bytes.length - 2 - bytes.readUInt16BE(bytes.length - 2))
  const names: Record<number, string> = { 0xf0: 'CREATE', 0xf2: 'CALLCODE', 0xf4: 'DELEGATECALL', 0xf5: 'CREATE2', 0xff: 'SELFDESTRUCT' }
  const found: string[] = []
  for (let i = 0; i < body.length; i++) {
    const op = body[i]!
    if (names[op] !== undefined) found.push(names[op])
    if (op >= 0x60 && op <= 0x7f) i += op - 0x5f // PUSH1..PUSH32: the next 1..32 bytes are data
  }
  return found
}

describe('the whole runtime code can be compared', () => {
  test('solc reports no immutables and no library links in the contracts of this build', () => {
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

  test.each(ROLES)('the official %s\'s init code only copies its runtime code out, so it has no constructor and no immutables', (role) => {
    // Hardhat's artifacts do not record immutableReferences; the init code tells instead. Disassembled:
    // PUSH1 0x80 DUP1 PUSH1 0x40 MSTORE CALLVALUE PUSH2 0x0016 JUMPI (no ether) PUSH2 <length> SWAP1 DUP2
    // PUSH2 0x001c DUP3 CODECOPY RETURN (copy the code after this prefix out, as it is) JUMPDEST PUSH1 0 DUP1
    // REVERT INVALID. A constructor that wrote an immutable would MSTORE into the copy before RETURN.
    const { bytecode, deployedBytecode } = OFFICIAL_NITRO[role]
    const length = (deployedBytecode.length - 2) / 2
    expect(bytecode).toBe(`0x6080806040523461001657${'61'}${length.toString(16).padStart(4, '0')}908161001c8239f35b600080fdfe${deployedBytecode.slice(2)}`)
  })

  test.each([['this build', OUR_CONTRACTS], ['the official build', OFFICIAL_NITRO]] as const)('%s has no opcode that could change or borrow code once checked', (_name, set) => {
    for (const role of ROLES) expect(codeChangingOpcodes(set[role].deployedBytecode), role).toEqual([])
    // The scan finds them, outside PUSH data: PUSH1 0xff SELFDESTRUCT DELEGATECALL, then an empty metadata trailer.
    expect(codeChangingOpcodes('0x60ffFFf40000')).toEqual(['SELFDESTRUCT', 'DELEGATECALL'])
  })
})

describe('the allow-list', () => {
  test('one build per code hash: identifying a contract is never ambiguous', () => {
    const hashes = Object.values(KNOWN_BUILDS).flatMap((build) => Object.values(build.codeHashes))
    expect(new Set(hashes).size).toBe(hashes.length)
  })

  test('this build is its compiled code, and takes token payment channels; the official one does not', () => {
    for (const role of ROLES) expect(knownBuildOf(role, keccak256(NODE_CONTRACTS[role]))).toBe('channels')
    expect(KNOWN_BUILDS.channels.paymentTokens).toBe(true)
    expect(KNOWN_BUILDS[OFFICIAL].paymentTokens).toBe(false)
  })

  test('mixing builds is sound: the adjudicator calls an app by one IForceMoveApp signature, the same in both builds', () => {
    const appFunctions = (abi: Abi) => abi.filter((item): item is AbiFunction => item.type === 'function')
    for (const role of ['consensusApp', 'virtualPaymentApp'] as const) {
      const [ours, official] = [appFunctions(OUR_CONTRACTS[role].abi), appFunctions(OFFICIAL_NITRO[role].abi)]
      expect(official.map((f) => toFunctionSelector(f)), role).toEqual(ours.map((f) => toFunctionSelector(f)))
      expect(official.map((f) => f.outputs.map((o) => o.type)), role).toEqual([['bool', 'string']])
    }
  })
})

describe('checkContractCode', () => {
  test.each([
    ['this build\'s contracts', codesOf(OUR_CONTRACTS), { builds: allOf('channels'), set: 'channels', paymentTokens: true }],
    ['the official contracts', codesOf(OFFICIAL_NITRO), { builds: allOf(OFFICIAL), set: OFFICIAL, paymentTokens: false }],
    ['our adjudicator with the official payment app', codesOf(OUR_CONTRACTS, { virtualPaymentApp: OFFICIAL_NITRO }),
      { builds: { adjudicator: 'channels', consensusApp: 'channels', virtualPaymentApp: OFFICIAL }, set: 'mixed', paymentTokens: false }],
    ['the official adjudicator with our apps', codesOf(OFFICIAL_NITRO, { consensusApp: OUR_CONTRACTS, virtualPaymentApp: OUR_CONTRACTS }),
      { builds: { adjudicator: OFFICIAL, consensusApp: 'channels', virtualPaymentApp: 'channels' }, set: 'mixed', paymentTokens: true }],
  ] as const)('accepts %s and says which build each is', async (_case, codes, expected) => {
    await expect(checkContractCode(reader(codes), ADDRESSES, CHAIN)).resolves.toEqual(expected)
  })

  test.each([
    ['no code (an account)', 'adjudicator', undefined, /^chain\.adjudicator 0x0{38}A1 has no code on http:\/\/chain\.test: an account, or nothing deployed there/],
    ['empty code', 'consensusApp', '0x', /^chain\.consensusApp 0x0{38}C1 has no code/],
    ['another contract', 'adjudicator', ConsensusApp.deployedBytecode,
      /^chain\.adjudicator 0x0{38}A1 on http:\/\/chain\.test runs other code than this build's adjudicator or @statechannels\/nitro-protocol 2\.0\.1-alpha\.6's \(code hash 0x[0-9a-f]{64}, known 0x[0-9a-f]{64}, 0x[0-9a-f]{64}\); refusing to start$/],
    ['the apps swapped', 'virtualPaymentApp', ConsensusApp.deployedBytecode, /^chain\.virtualPaymentApp .* runs other code/],
    ['the official payment app as the consensus app', 'consensusApp', OFFICIAL_NITRO.virtualPaymentApp.deployedBytecode, /^chain\.consensusApp .* runs other code/],
    ['the official consensus app as the adjudicator', 'adjudicator', OFFICIAL_NITRO.consensusApp.deployedBytecode, /^chain\.adjudicator .* runs other code/],
    ['one byte changed', 'virtualPaymentApp', flipLastByte(VirtualPaymentApp.deployedBytecode), /^chain\.virtualPaymentApp .* runs other code/],
    ['one byte of the official code changed', 'adjudicator', flipLastByte(OFFICIAL_NITRO.adjudicator.deployedBytecode), /^chain\.adjudicator .* runs other code/],
    ['our code with more appended', 'adjudicator', `${NitroAdjudicator.deployedBytecode}00` as Hex, /^chain\.adjudicator .* runs other code/],
  ] as const)('refuses %s, naming the contract and its address', async (_case, name, code, message) => {
    const codes = { ...codesOf(OUR_CONTRACTS), [ADDRESSES[name]]: code }
    const error = await refusal(checkContractCode(reader(codes), ADDRESSES, CHAIN))
    expect(error.summary).toMatch(message)
    expect(error.code).toBe('contract_code')
    expect(error.details).toMatchObject({ contract: name, address: ADDRESSES[name], url: CHAIN.url })
  })
})

// A virtual payment channel alice → bob through irene (NITRO-NOTES §2.6), to ask each payment app on chain
// whether it supports bob's redemption of a voucher, in ETH or in a token.
const actor = (byte: string) => {
  const key = `0x${byte.repeat(32)}` as Hex
  return { key, address: privateKeyToAddress(key) }
}
const [alice, irene, bob] = [actor('a1'), actor('1e'), actor('b0')]
const signedPart = (state: State, signers: readonly { key: Hex }[]) => ({
  variablePart: { outcome: state.outcome, appData: state.appData, turnNum: Number(state.turnNum), isFinal: state.isFinal },
  sigs: signers.map((s) => toOnChainSignature(signState(state, s.key))),
})
function redemption(virtualPaymentApp: Address, asset: Address) {
  const fixed: FixedPart = { participants: [alice.address, irene.address, bob.address], channelNonce: 7n, appDefinition: virtualPaymentApp, challengeDuration: 60 }
  const pays = (toAlice: bigint, toBob: bigint): Exit => [{
    asset,
    assetMetadata: { assetType: 0, metadata: '0x' },
    allocations: [[alice, toAlice], [bob, toBob]].map(([who, amount]) => ({ destination: addressToDestination((who as typeof alice).address), amount: amount as bigint, allocationType: AllocationType.simple, metadata: '0x' as Hex })),
  }]
  const id = channelId(fixed)
  const postfund: State = { ...fixed, outcome: pays(10n, 0n), appData: '0x', turnNum: 1n, isFinal: false }
  const redeemed: State = { ...postfund, outcome: pays(7n, 3n), appData: voucherAppData({ channelId: id, amount: 3n, signature: signVoucher(id, 3n, alice.key) }), turnNum: 2n }
  return [fixed, [signedPart(postfund, [alice, irene, bob])], signedPart(redeemed, [bob])] as const
}

describe('on anvil', () => {
  let ours: Anvil
  let official: Anvil
  let ourDeployment: Deployment
  let officialDeployment: Deployment
  /** The official contracts deployed again on `ours`, by another account, later: the mixes' official half. */
  let officialCopy: NodeContracts
  const clientOf = (anvil: Anvil) => createPublicClient({ chain: foundry, transport: http(anvil.url) })
  const contractsOf = (d: NodeContracts): NodeContracts => ({ adjudicator: d.adjudicator, consensusApp: d.consensusApp, virtualPaymentApp: d.virtualPaymentApp })
  beforeAll(async () => {
    ;[ours, official] = await Promise.all([startAnvil({ port: 0 }), startAnvil({ port: 0 })])
    ;[ourDeployment, officialDeployment] = await Promise.all([
      deployContracts({ rpcUrl: ours.url, chainId: ours.chainId }),
      deployContracts({ rpcUrl: official.url, chainId: official.chainId, contracts: OFFICIAL_NITRO }),
    ])
    // Another deployer, a day later: code that depended on the deployer, address, block or time would differ.
    await createTestClient({ chain: foundry, mode: 'anvil', transport: http(ours.url) }).increaseTime({ seconds: 86_400 })
    const wallet = createWalletClient({ chain: foundry, account: privateKeyToAccount(ANVIL_DEV_KEYS[0]!), transport: http(ours.url) })
    const copy: Partial<Record<NodeContractName, Address>> = {}
    for (const role of ROLES) {
      const hash = await wallet.deployContract({ abi: OFFICIAL_NITRO[role].abi, bytecode: OFFICIAL_NITRO[role].bytecode })
      copy[role] = toAddress((await clientOf(ours).waitForTransactionReceipt({ hash })).contractAddress!)
    }
    officialCopy = copy as NodeContracts
  }, 60_000)
  afterAll(async () => {
    await Promise.all([ours?.stop(), official?.stop()])
  })

  test('the official code hashes are those of @statechannels/nitro-protocol 2.0.1-alpha.6\'s artifacts as deployed', async () => {
    for (const role of ROLES) {
      const deployed = await clientOf(official).getCode({ address: officialDeployment[role] })
      expect(deployed, role).toBe(OFFICIAL_NITRO[role].deployedBytecode)
      expect(await clientOf(ours).getCode({ address: officialCopy[role] }), `${role}, deployed again`).toBe(deployed)
      expect(keccak256(deployed!), role).toBe(KNOWN_BUILDS[OFFICIAL].codeHashes[role])
    }
  })

  test('a deployment from this build is deployedBytecode byte for byte', async () => {
    for (const role of ROLES) expect(await clientOf(ours).getCode({ address: ourDeployment[role] }), role).toBe(NODE_CONTRACTS[role])
  })

  test('each set, and a mix, is accepted and identified', async () => {
    await expect(checkContractCode(clientOf(ours), contractsOf(ourDeployment), ours)).resolves.toEqual({ builds: allOf('channels'), set: 'channels', paymentTokens: true })
    await expect(checkContractCode(clientOf(official), contractsOf(officialDeployment), official)).resolves.toEqual({ builds: allOf(OFFICIAL), set: OFFICIAL, paymentTokens: false })
    await expect(checkContractCode(clientOf(ours), { ...contractsOf(ourDeployment), virtualPaymentApp: officialCopy.virtualPaymentApp }, ours))
      .resolves.toEqual({ builds: { adjudicator: 'channels', consensusApp: 'channels', virtualPaymentApp: OFFICIAL }, set: 'mixed', paymentTokens: false })
  })

  test('refuses a forged adjudicator (the test token\'s code at its address), another contract, an account and a one-byte change', async () => {
    const client = clientOf(official)
    const request = (method: string, params: unknown[]) => client.request({ method: method as never, params: params as never })
    await request('anvil_setCode', [officialDeployment.adjudicator, TestToken.deployedBytecode])
    try {
      const forged = await refusal(checkContractCode(client, contractsOf(officialDeployment), official))
      expect(forged.code).toBe('contract_code')
      expect(forged.summary).toContain(`chain.adjudicator ${officialDeployment.adjudicator} on ${official.url} runs other code than this build's adjudicator or @statechannels/nitro-protocol 2.0.1-alpha.6's (code hash ${keccak256(TestToken.deployedBytecode)}`)
      expect(forged.details).toMatchObject({ contract: 'adjudicator', address: officialDeployment.adjudicator, codeHash: keccak256(TestToken.deployedBytecode) })
    } finally {
      await request('anvil_setCode', [officialDeployment.adjudicator, OFFICIAL_NITRO.adjudicator.deployedBytecode])
    }
    const other = await refusal(checkContractCode(clientOf(ours), { ...contractsOf(ourDeployment), adjudicator: ourDeployment.testToken }, ours))
    expect(other.summary).toContain(`chain.adjudicator ${ourDeployment.testToken} on ${ours.url} runs other code`)
    const account: Address = toAddress('0x70997970C51812dc3A010C7d01b50e0d17dc79C8') // anvil's funded development account 1
    const eoa = await refusal(checkContractCode(clientOf(ours), { ...contractsOf(ourDeployment), consensusApp: account }, ours))
    expect(eoa.summary).toContain(`chain.consensusApp ${account} has no code on ${ours.url}`)
    const lookalike: Address = toAddress('0x000000000000000000000000000000000000beef')
    await clientOf(ours).request({ method: 'anvil_setCode' as never, params: [lookalike, flipLastByte(OFFICIAL_NITRO.adjudicator.deployedBytecode)] as never })
    const changed = await refusal(checkContractCode(clientOf(ours), { ...contractsOf(ourDeployment), adjudicator: lookalike }, ours))
    expect(changed.summary).toContain(`chain.adjudicator ${lookalike} on ${ours.url} runs other code`)
  })

  // Each adjudicator asks each payment app about a redemption: in ETH every pair supports it (the mixes work);
  // in a token, exactly the apps whose build says paymentTokens do, the official one refusing by its reason.
  test.each([
    ['our', 'our'], ['our', 'official'], ['official', 'our'], ['official', 'official'],
  ] as const)('%s adjudicator and %s payment app: a redemption in ETH is supported, in a token as paymentTokens says', async (adjudicatorBuild, appBuild) => {
    const client = clientOf(ours)
    const adjudicator = adjudicatorBuild === 'our' ? ourDeployment.adjudicator : officialCopy.adjudicator
    const app = appBuild === 'our' ? ourDeployment.virtualPaymentApp : officialCopy.virtualPaymentApp
    const abi = (adjudicatorBuild === 'our' ? OUR_CONTRACTS : OFFICIAL_NITRO).adjudicator.abi
    const ask = (asset: Address) => client.readContract({ address: adjudicator, abi, functionName: 'stateIsSupported', args: redemption(app, asset) as never })
      .then((answer) => answer, (error: Error) => `reverted: ${error.message}`)
    expect(await ask(toAddress('0x0000000000000000000000000000000000000000'))).toEqual([true, ''])
    const { paymentTokens } = await checkContractCode(client, { ...contractsOf(ourDeployment), adjudicator, virtualPaymentApp: app }, ours)
    const inToken = await ask(ourDeployment.testToken)
    if (paymentTokens) expect(inToken).toEqual([true, ''])
    else expect(inToken).toMatch(/^reverted: .*only native asset allowed/s)
  })
})
