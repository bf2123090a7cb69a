// The compiled contracts: artifacts.ts must be exactly what contracts/**/*.sol compile to (so it can never
// drift from the sources), and the adjudicator's ABI must be Nitro v2's (issue 4, DESIGN §6): the same
// function selectors and event topics. Expected signatures are written out below from the text,
// independently of the compiler's output. Behaviour on a chain is tested against anvil elsewhere.
import { readFileSync } from 'node:fs'
import { beforeAll, describe, expect, test } from 'vitest'
import { encodeFunctionData, toEventSelector, toFunctionSelector } from 'viem'
import type { AbiEvent, AbiFunction } from 'viem'
import { artifactsPath, compileContracts, renderArtifacts } from '../../scripts/compileContracts.js'
import type { Compilation } from '../../scripts/compileContracts.js'
import * as artifacts from './artifacts.js'

// Nitro v2's structs (issue 4; DESIGN §3), as ABI tuple types.
const Signature = '(uint8 v, bytes32 r, bytes32 s)'
const AssetMetadata = '(uint8 assetType, bytes metadata)'
const Allocation = '(bytes32 destination, uint256 amount, uint8 allocationType, bytes metadata)'
const SingleAssetExit = `(address asset, ${AssetMetadata} assetMetadata, ${Allocation}[] allocations)`
const FixedPart = '(address[] participants, uint64 channelNonce, address appDefinition, uint48 challengeDuration)'
const VariablePart = `(${SingleAssetExit}[] outcome, bytes appData, uint48 turnNum, bool isFinal)`
const SignedVariablePart = `(${VariablePart} variablePart, ${Signature}[] sigs)`
const RecoveredVariablePart = `(${VariablePart} variablePart, uint256 signedBy)`
const ReclaimArgs =
  '(bytes32 sourceChannelId, bytes32 sourceStateHash, bytes sourceOutcomeBytes, uint256 sourceAssetIndex, ' +
  'uint256 indexOfTargetInSource, bytes32 targetStateHash, bytes targetOutcomeBytes, uint256 targetAssetIndex)'

/** The adjudicator's functions: signature, state mutability, output types. */
const adjudicatorFunctionTable: ReadonlyArray<readonly [string, AbiFunction['stateMutability'], readonly string[]]> = [
  ['deposit(address asset, bytes32 destination, uint256 expectedHeld, uint256 amount)', 'payable', []],
  [`challenge(${FixedPart} fixedPart, ${SignedVariablePart}[] proof, ${SignedVariablePart} candidate, ${Signature} challengerSig)`, 'nonpayable', []],
  [`checkpoint(${FixedPart} fixedPart, ${SignedVariablePart}[] proof, ${SignedVariablePart} candidate)`, 'nonpayable', []],
  [`conclude(${FixedPart} fixedPart, ${SignedVariablePart} candidate)`, 'nonpayable', []],
  ['transfer(uint256 assetIndex, bytes32 fromChannelId, bytes outcomeBytes, bytes32 stateHash, uint256[] indices)', 'nonpayable', []],
  [`transferAllAssets(bytes32 channelId, ${SingleAssetExit}[] outcome, bytes32 stateHash)`, 'nonpayable', []],
  [`concludeAndTransferAllAssets(${FixedPart} fixedPart, ${SignedVariablePart} candidate)`, 'nonpayable', []],
  [`reclaim(${ReclaimArgs} reclaimArgs)`, 'nonpayable', []],
  ['holdings(address asset, bytes32 destination)', 'view', ['uint256']],
  ['statusOf(bytes32 channelId)', 'view', ['bytes32']],
  ['unpackStatus(bytes32 channelId)', 'view', ['uint48', 'uint48', 'uint160']],
  [`stateIsSupported(${FixedPart} fixedPart, ${SignedVariablePart}[] proof, ${SignedVariablePart} candidate)`, 'view', ['bool', 'string']],
]

/** The adjudicator's events, with which parameters are indexed (topic 0 does not show it; decoding does). */
const adjudicatorEventTable: ReadonlyArray<readonly [string, readonly boolean[]]> = [
  ['Deposited(bytes32 destination, address asset, uint256 destinationHoldings)', [true, false, false]],
  ['AllocationUpdated(bytes32 channelId, uint256 assetIndex, uint256 initialHoldings, uint256 finalHoldings)', [true, false, false, false]],
  [`ChallengeRegistered(bytes32 channelId, uint48 finalizesAt, ${SignedVariablePart}[] proof, ${SignedVariablePart} candidate)`, [true, false, false, false]],
  ['ChallengeCleared(bytes32 channelId, uint48 newTurnNumRecord)', [true, false]],
  ['Checkpointed(bytes32 channelId, uint48 newTurnNumRecord)', [true, false]],
  ['Concluded(bytes32 channelId, uint48 finalizesAt)', [true, false]],
  ['Reclaimed(bytes32 channelId, uint256 assetIndex)', [true, false]],
]

const nameOf = (signature: string): string => signature.slice(0, signature.indexOf('('))
const adjudicatorFunctions = adjudicatorFunctionTable.map(([signature, stateMutability, outputs]) =>
  ({ name: nameOf(signature), signature, stateMutability, outputs }))
const adjudicatorEvents = adjudicatorEventTable.map(([signature, indexed]) => ({ name: nameOf(signature), signature, indexed }))

const appStateIsSupported = `stateIsSupported(${FixedPart} fixedPart, ${RecoveredVariablePart}[] proof, ${RecoveredVariablePart} candidate)`

const functionsOf = (abi: readonly unknown[]): AbiFunction[] =>
  (abi as readonly { type: string }[]).filter((item): item is AbiFunction => item.type === 'function')
const eventsOf = (abi: readonly unknown[]): AbiEvent[] =>
  (abi as readonly { type: string }[]).filter((item): item is AbiEvent => item.type === 'event')
const bySelector = (abi: readonly unknown[]): Map<string, AbiFunction> =>
  new Map(functionsOf(abi).map((item) => [toFunctionSelector(item), item]))

describe('artifacts.ts', () => {
  let compilation: Compilation
  beforeAll(() => {
    compilation = compileContracts()
  }, 60_000)

  test('is exactly what the sources compile to (run `npm run build:contracts` after changing contracts/)', () => {
    const committed = readFileSync(artifactsPath, 'utf8')
    const fresh = renderArtifacts(compilation)
    // A boolean first: a diff of two 150 kB strings is no help; the message says what to do.
    expect(committed === fresh, 'src/chain/artifacts.ts is stale: run npm run build:contracts').toBe(true)
  })

  test('the sources compile without warnings, with the pinned compiler', () => {
    expect(compilation.warnings).toEqual([])
    expect(artifacts.solcVersion).toMatch(/^0\.8\.28\+commit\.7893614a/)
    expect(artifacts.compilerSettings).toEqual({ optimizer: { enabled: true, runs: 200 }, evmVersion: 'cancun' })
  })

  test('holds every deployable contract, each small enough to deploy (EIP-170: 24,576 bytes)', () => {
    expect([...artifacts.contractNames].sort()).toEqual(
      ['ConsensusApp', 'NitroAdjudicator', 'ReentrantToken', 'TestToken', 'VirtualPaymentApp'],
    )
    for (const name of artifacts.contractNames) {
      const { bytecode, deployedBytecode } = artifacts[name]
      expect(bytecode, name).toMatch(/^0x([0-9a-f]{2})+$/)
      expect((deployedBytecode.length - 2) / 2, name).toBeGreaterThan(0)
      expect((deployedBytecode.length - 2) / 2, name).toBeLessThanOrEqual(24_576)
    }
  })
})

describe('NitroAdjudicator ABI is Nitro v2', () => {
  const abi = artifacts.NitroAdjudicator.abi

  test('the selector hash is keccak256 of the canonical signature (anchor: deposit is 0x2fb1d270)', () => {
    // Computed with @noble/hashes' keccak_256 over 'deposit(address,bytes32,uint256,uint256)'.
    expect(toFunctionSelector(adjudicatorFunctions[0]!.signature)).toBe('0x2fb1d270')
  })

  test.each(adjudicatorFunctions)('has $name with Nitro\'s selector', ({ signature, stateMutability, outputs }) => {
    const found = bySelector(abi).get(toFunctionSelector(signature))
    expect(found, `no function with the selector of ${signature}`).toBeDefined()
    expect(found!.stateMutability).toBe(stateMutability)
    expect(found!.outputs.map((output) => output.type)).toEqual(outputs)
  })

  test('has no function beyond those', () => {
    const expected = adjudicatorFunctions.map(({ signature }) => toFunctionSelector(signature)).sort()
    expect([...bySelector(abi).keys()].sort()).toEqual(expected)
  })

  test.each(adjudicatorEvents)('emits $name with Nitro\'s topic', ({ signature, indexed }) => {
    const topic = toEventSelector(signature)
    const found = eventsOf(abi).find((event) => toEventSelector(event) === topic)
    expect(found, `no event with the topic of ${signature}`).toBeDefined()
    expect(found!.inputs.map((input) => input.indexed ?? false)).toEqual(indexed)
    expect(found!.anonymous).toBe(false)
  })

  test('has no event beyond those', () => {
    const expected = adjudicatorEvents.map(({ signature }) => toEventSelector(signature)).sort()
    expect(eventsOf(abi).map((event) => toEventSelector(event)).sort()).toEqual(expected)
  })

  test('is typed for viem: encodes deposit calldata from the const ABI', () => {
    const destination = `0x${'ab'.repeat(32)}` as const
    const data = encodeFunctionData({
      abi,
      functionName: 'deposit',
      args: ['0x0000000000000000000000000000000000000000', destination, 0n, 5n],
    })
    expect(data.slice(0, 10)).toBe('0x2fb1d270')
    expect(data).toHaveLength(2 + 2 * (4 + 4 * 32))
  })
})

describe('apps implement IForceMoveApp', () => {
  test.each(['ConsensusApp', 'VirtualPaymentApp'] as const)('%s: stateIsSupported(FixedPart, RecoveredVariablePart[], RecoveredVariablePart) returns (bool, string)', (name) => {
    const functions = functionsOf(artifacts[name].abi)
    expect(functions).toHaveLength(1)
    expect(toFunctionSelector(functions[0]!)).toBe(toFunctionSelector(appStateIsSupported))
    expect(functions[0]!.outputs.map((output) => output.type)).toEqual(['bool', 'string'])
    expect(['view', 'pure']).toContain(functions[0]!.stateMutability)
  })
})

describe('test tokens are ERC-20', () => {
  const erc20 = [
    'transfer(address to, uint256 amount)',
    'transferFrom(address from, address to, uint256 amount)',
    'approve(address spender, uint256 amount)',
    'balanceOf(address owner)',
    'allowance(address owner, address spender)',
    'totalSupply()',
    'mint(address to, uint256 amount)',
  ]
  test.each(['TestToken', 'ReentrantToken'] as const)('%s has the ERC-20 functions and mint', (name) => {
    const selectors = bySelector(artifacts[name].abi)
    for (const signature of erc20) expect(selectors.has(toFunctionSelector(signature)), signature).toBe(true)
  })

  test('ReentrantToken can be armed with a target and calldata', () => {
    const selectors = bySelector(artifacts.ReentrantToken.abi)
    expect(selectors.has(toFunctionSelector('arm(address target, bytes data, bool onTransferFrom)'))).toBe(true)
  })
})
