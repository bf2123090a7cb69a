// EventWatcher: confirmations, catch-up in bounded chunks, re-orgs, exactly-once delivery and asset
// resolution for AllocationUpdated. First against a scripted chain (FakeChain: blocks, hashes and logs we
// control exactly), then on a real anvil with a hand-assembled contract that emits whatever log its
// calldata describes (the adjudicator is not deployed here), using evm_snapshot/evm_revert for re-orgs.
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  concatHex,
  createPublicClient,
  createWalletClient,
  encodeAbiParameters,
  encodeEventTopics,
  encodeFunctionData,
  getAbiItem,
  http,
  keccak256,
  numberToHex,
  toHex,
} from 'viem'
import type { AbiEvent, Hex, PublicClient, WalletClient } from 'viem'
import type { Address, Bytes32 } from '../core/types.js'
import { privateKeyToAccount } from 'viem/accounts'
import type { ChainLog, LogSource, WatchedEvent } from './eventWatcher.js'
import type { ChannelsError } from '../core/errors.js'
import type { SingleAssetExit } from '../core/outcome.js'
import { AllocationType, addressToDestination, encodeOutcome } from '../core/outcome.js'
import { encodeGuaranteeMetadata } from '../core/guarantee.js'
import type { Anvil } from './anvil.js'
import { EventWatcher, viemLogSource } from './eventWatcher.js'
import { adjudicatorAbi } from './abi.js'
import { startAnvil } from './anvil.js'
import { channelId } from '../core/channelId.js'
import { toAddress, toBytes32 } from '../core/canonical.js'

type EventName = Extract<(typeof adjudicatorAbi)[number], { type: 'event' }>['name']
type Emitted = { readonly topics: readonly Hex[]; readonly data: Hex }

/** An adjudicator log as the contract would emit it: indexed args in topics, the rest ABI-encoded in data. */
function emitted(eventName: EventName, args: Record<string, unknown>): Emitted {
  const event = getAbiItem({ abi: adjudicatorAbi, name: eventName }) as AbiEvent
  const indexed = Object.fromEntries(event.inputs.filter((i) => i.indexed).map((i) => [i.name!, args[i.name!]]))
  const topics = encodeEventTopics({ abi: [event], eventName, args: indexed } as never) as Hex[]
  const rest = event.inputs.filter((i) => !i.indexed)
  return { topics, data: encodeAbiParameters(rest, rest.map((i) => args[i.name!])) }
}
const deposited = (destination: Hex, asset: Address, destinationHoldings: bigint) => emitted('Deposited', { destination, asset, destinationHoldings })
const allocationUpdated = (channelId: Hex, assetIndex: bigint, finalHoldings: bigint) =>
  emitted('AllocationUpdated', { channelId, assetIndex, initialHoldings: 100n, finalHoldings })
const concluded = (channelId: Hex, finalizesAt: number) => emitted('Concluded', { channelId, finalizesAt })

const ETH: Address = toAddress('0x0000000000000000000000000000000000000000')
const TOKEN: Address = toAddress('0x5e29E5Ab8EF33F050c7cc10B5a0456D975C5F88d')
const C1 = `0x${'c1'.repeat(32)}` as Hex
const C2 = `0x${'c2'.repeat(32)}` as Hex

let hashCounter = 0n
const freshHash = () => keccak256(numberToHex(++hashCounter, { size: 32 }))

type Entry = Emitted & { readonly input?: Hex }
/** A scripted chain: one block per `mine`, fresh hashes for every block ever made, re-orgs on demand. */
class FakeChain implements LogSource {
  blocks: { hash: Hex; logs: ChainLog[] }[] = [{ hash: freshHash(), logs: [] }]
  readonly inputs = new Map<Hex, Hex>()
  readonly ranges: [bigint, bigint][] = []
  /** Refuse eth_getLogs over more blocks than this, as providers do. */
  maxRange: bigint | undefined
  down = false
  /** Blocks whose hash the node misreports once (a load-balanced RPC answering from a lagging node). */
  readonly lieAbout = new Set<bigint>()
  /** Runs after eth_getLogs computed its answer and before it returns: a re-org in between. */
  afterLogs: (() => void) | undefined

  mine(...entries: Entry[]): bigint {
    const number = BigInt(this.blocks.length)
    const hash = freshHash()
    const logs = entries.map((entry, logIndex) => {
      const transactionHash = freshHash()
      this.inputs.set(transactionHash, entry.input ?? '0x')
      return { blockNumber: number, blockHash: hash, logIndex, transactionHash, topics: entry.topics, data: entry.data }
    })
    this.blocks.push({ hash, logs })
    return number
  }
  mineEmpty(count: number): void {
    for (let i = 0; i < count; i++) this.mine()
  }
  /** Drops every block above `keep`: the next `mine` builds the new branch. */
  fork(keep: bigint): void {
    this.blocks = this.blocks.slice(0, Number(keep) + 1)
  }
  private up(): void {
    if (this.down) throw new Error('fetch failed (node down)')
  }
  async headNumber() {
    this.up()
    return BigInt(this.blocks.length - 1)
  }
  async blockHash(number: bigint) {
    this.up()
    if (this.lieAbout.delete(number)) return freshHash()
    return this.blocks[Number(number)]?.hash
  }
  async logs(from: bigint, to: bigint) {
    this.up()
    if (this.maxRange !== undefined && to - from + 1n > this.maxRange) throw new Error('query exceeds max block range')
    this.ranges.push([from, to])
    const logs = this.blocks.slice(Number(from), Number(to) + 1).flatMap((b) => b.logs)
    this.afterLogs?.()
    this.afterLogs = undefined
    return logs
  }
  async transactionInput(hash: Hex) {
    this.up()
    return this.inputs.get(hash) ?? '0x'
  }
}

/** A compact, order-preserving view of delivered events. */
const show = (e: WatchedEvent) => {
  const at = `${e.block}:${e.logIndex}`
  switch (e.kind) {
    case 'deposited':
      return `deposited ${e.channelId.slice(0, 4)} ${e.nowHeld} @${at}`
    case 'allocationUpdated':
      return `allocationUpdated ${e.channelId.slice(0, 4)} ${e.asset === ETH ? 'ETH' : e.asset} ${e.finalHoldings} @${at}`
    default:
      return `${e.kind} ${e.channelId.slice(0, 4)} @${at}`
  }
}

function watch(source: LogSource, options: Partial<ConstructorParameters<typeof EventWatcher>[0]> = {}, cursor?: { block: bigint; logIndex: number; blockHash?: Hex }) {
  const events: string[] = []
  const raw: WatchedEvent[] = []
  const errors: ChannelsError[] = []
  const reorgs: bigint[] = []
  const watcher = new EventWatcher(
    { source, onError: (e) => errors.push(e), onReorg: (r) => reorgs.push(r.forkBlock), ...options },
    (event) => {
      raw.push(event)
      events.push(show(event))
    },
    cursor,
  )
  return { watcher, events, raw, errors, reorgs }
}

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a condition')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe('EventWatcher on a scripted chain', () => {
  test('delivers in chain order, then only what is new', async () => {
    const chain = new FakeChain()
    chain.mine(deposited(C1, ETH, 5n), deposited(C2, ETH, 7n))
    chain.mine(concluded(C1, 1_000))
    const { watcher, events } = watch(chain)
    await watcher.poll()
    expect(events).toEqual(['deposited 0xc1 5 @1:0', 'deposited 0xc2 7 @1:1', 'concluded 0xc1 @2:0'])
    await watcher.poll()
    chain.mine(deposited(C1, ETH, 9n))
    await Promise.all([watcher.poll(), watcher.poll()]) // overlapping rounds are serialised
    expect(events.slice(3)).toEqual(['deposited 0xc1 9 @3:0'])
  })

  test('resumes after a cursor: later logs of the cursor block, nothing at or before it', async () => {
    const chain = new FakeChain()
    chain.mine(deposited(C1, ETH, 1n))
    chain.mine(deposited(C1, ETH, 2n), deposited(C1, ETH, 3n), deposited(C1, ETH, 4n))
    chain.mine(deposited(C1, ETH, 5n))
    const { watcher, events } = watch(chain, {}, { block: 2n, logIndex: 1 })
    await watcher.poll()
    expect(events).toEqual(['deposited 0xc1 4 @2:2', 'deposited 0xc1 5 @3:0'])
  })

  test('delivers a log only once it has `confirmations` blocks on top', async () => {
    const chain = new FakeChain()
    chain.mine(deposited(C1, ETH, 5n))
    const { watcher, events } = watch(chain, { confirmations: 2 })
    await watcher.poll()
    chain.mineEmpty(1)
    await watcher.poll()
    expect(events).toEqual([]) // head 2 < 1 + 2
    chain.mineEmpty(1)
    await watcher.poll()
    expect(events).toEqual(['deposited 0xc1 5 @1:0'])
  })

  test('catches up in chunks of at most chunkBlocks, each log once', async () => {
    const chain = new FakeChain()
    for (let i = 1; i <= 10_000; i++) chain.mine(...(i % 1_000 === 0 ? [deposited(C1, ETH, BigInt(i))] : []))
    const { watcher, events } = watch(chain, { chunkBlocks: 2_000n })
    await watcher.poll()
    expect(events).toHaveLength(10)
    expect(events[9]).toBe('deposited 0xc1 10000 @10000:0')
    expect(chain.ranges).toEqual([
      [0n, 1_999n],
      [2_000n, 3_999n],
      [4_000n, 5_999n],
      [6_000n, 7_999n],
      [8_000n, 9_999n],
      [10_000n, 10_000n],
    ])
  })

  test('halves a range the node refuses and still delivers everything in order', async () => {
    const chain = new FakeChain()
    for (let i = 1; i <= 1_000; i++) chain.mine(...(i % 100 === 0 ? [deposited(C1, ETH, BigInt(i))] : []))
    chain.maxRange = 300n
    const { watcher, events } = watch(chain, { chunkBlocks: 1_000n })
    await watcher.poll()
    expect(events.map((e) => e.split(' ')[2])).toEqual(['100', '200', '300', '400', '500', '600', '700', '800', '900', '1000'])
    expect(chain.ranges.every(([from, to]) => to - from + 1n <= 300n)).toBe(true)
  })

  test('a re-org replaces delivered blocks: the new branch is delivered, unchanged blocks are not repeated', async () => {
    const chain = new FakeChain()
    chain.mine(deposited(C1, ETH, 1n)) // 1
    chain.mine(deposited(C1, ETH, 2n)) // 2
    chain.mine(deposited(C2, ETH, 3n)) // 3: replaced
    chain.mine(deposited(C2, ETH, 4n)) // 4: replaced
    const { watcher, events, reorgs } = watch(chain)
    await watcher.poll()
    expect(events).toHaveLength(4)

    chain.fork(2n)
    chain.mine(deposited(C2, ETH, 30n), deposited(C2, ETH, 31n)) // new 3
    chain.mine() // new 4
    chain.mine(deposited(C1, ETH, 50n)) // 5
    await watcher.poll()
    expect(reorgs).toEqual([2n])
    expect(events.slice(4)).toEqual(['deposited 0xc2 30 @3:0', 'deposited 0xc2 31 @3:1', 'deposited 0xc1 50 @5:0'])
    await watcher.poll()
    expect(events).toHaveLength(7)
  })

  test('a re-org while nobody watched: a cursor whose block hash changed rewinds the re-org window and delivers the new chain from there', async () => {
    const chain = new FakeChain()
    for (let i = 1n; i <= 6n; i++) chain.mine(deposited(C1, ETH, i)) // 1..6
    const first = watch(chain)
    await first.watcher.poll()
    const last = first.raw.at(-1)!
    const cursor = { block: last.block, logIndex: last.logIndex, blockHash: chain.blocks[Number(last.block)]!.hash }

    // Unchanged: resumes after the cursor, no re-org.
    chain.mine(deposited(C1, ETH, 7n)) // 7
    const same = watch(chain, {}, cursor)
    await same.watcher.poll()
    expect(same.reorgs).toEqual([])
    expect(same.events).toEqual(['deposited 0xc1 7 @7:0'])

    // Blocks 5 on replaced while the consumer was down: its cursor block (6) has another hash now.
    chain.fork(4n)
    chain.mine(deposited(C2, ETH, 50n)) // new 5
    chain.mine() // new 6
    chain.mine(deposited(C2, ETH, 70n)) // new 7
    const after = watch(chain, { reorgWindowBlocks: 3n }, cursor)
    await after.watcher.poll()
    expect(after.reorgs).toEqual([3n]) // 6 - 3: the window before the cursor is scanned again
    expect(after.events).toEqual(['deposited 0xc1 4 @4:0', 'deposited 0xc2 50 @5:0', 'deposited 0xc2 70 @7:0'])
    await after.watcher.poll()
    expect(after.reorgs).toEqual([3n]) // checked once
  })

  test('a re-org to a shorter chain rewinds; nothing stale within confirmations is ever delivered', async () => {
    const chain = new FakeChain()
    chain.mine(deposited(C1, ETH, 1n)) // 1
    chain.mineEmpty(2) // 2, 3
    chain.mine(deposited(C1, ETH, 99n)) // 4: within confirmations, then re-orged away
    const { watcher, events, reorgs } = watch(chain, { confirmations: 2 })
    await watcher.poll()
    expect(events).toEqual(['deposited 0xc1 1 @1:0'])

    chain.fork(3n)
    chain.mine(deposited(C1, ETH, 2n)) // new 4
    chain.mineEmpty(2)
    await watcher.poll()
    expect(events).toEqual(['deposited 0xc1 1 @1:0', 'deposited 0xc1 2 @4:0'])
    expect(reorgs).toEqual([]) // the replaced block was never delivered from

    // Deeper than confirmations and the chain gets shorter: the tip check finds the fork point.
    chain.fork(2n)
    chain.mine(deposited(C2, ETH, 7n)) // new 3
    chain.mineEmpty(2) // head 5 < previous head 6
    await watcher.poll()
    expect(reorgs).toEqual([2n])
    expect(events.slice(2)).toEqual(['deposited 0xc2 7 @3:0'])
  })

  test('a re-org below every remembered hash rescans the window without repeating unchanged logs', async () => {
    const chain = new FakeChain()
    chain.mine(deposited(C1, ETH, 1n)) // 1
    chain.mineEmpty(20) // 2..21, scanned as one chunk: only 1 and 21 are remembered
    const { watcher, events, reorgs } = watch(chain, { reorgWindowBlocks: 8n })
    await watcher.poll()
    expect(events).toEqual(['deposited 0xc1 1 @1:0'])

    chain.fork(18n) // the fork point (18) is not a remembered block
    chain.mine(deposited(C2, ETH, 5n)) // 19
    chain.mineEmpty(3)
    await watcher.poll()
    expect(reorgs).toEqual([13n]) // 21 - 8: the whole window is scanned again
    expect(events).toEqual(['deposited 0xc1 1 @1:0', 'deposited 0xc2 5 @19:0'])
  })

  test('a node that misreports hashes causes a rescan but no log is delivered twice', async () => {
    const chain = new FakeChain()
    chain.mine(deposited(C1, ETH, 1n))
    chain.mine(deposited(C1, ETH, 2n))
    chain.mineEmpty(3)
    const { watcher, events, reorgs } = watch(chain)
    await watcher.poll()
    expect(events).toHaveLength(2)
    for (const block of [1n, 2n, 5n]) chain.lieAbout.add(block) // every remembered block seems replaced
    await watcher.poll()
    expect(reorgs).toEqual([-1n]) // nothing matched: everything from the first block is scanned again
    expect(chain.ranges.at(-1)).toEqual([0n, 5n])
    expect(events).toEqual(['deposited 0xc1 1 @1:0', 'deposited 0xc1 2 @2:0'])
  })

  test('a re-org while eth_getLogs answers: the stale answer is dropped, never delivered', async () => {
    const chain = new FakeChain()
    chain.mineEmpty(3)
    const { watcher, events } = watch(chain)
    await watcher.poll()
    chain.mine(deposited(C1, ETH, 666n)) // 4: the node answers with it, then re-orgs it away
    chain.afterLogs = () => {
      chain.fork(2n)
      chain.mine() // new 3
      chain.mine(deposited(C1, ETH, 4n)) // new 4
    }
    await watcher.poll()
    expect(events).toEqual(['deposited 0xc1 4 @4:0'])
  })

  test('AllocationUpdated: the asset comes from calldata of each payout function, or from what is known', async () => {
    const participants: Address[] = [toAddress('0x70997970C51812dc3A010C7d01b50e0d17dc79C8'), toAddress('0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC')]
    const fixedPart = { participants, channelNonce: 7n, appDefinition: TOKEN, challengeDuration: 60 }
    const id = channelId(fixedPart)
    const exit = (asset: Address): SingleAssetExit => ({ asset, assetMetadata: { assetType: 0, metadata: '0x' }, allocations: [] })
    const outcome = [exit(ETH), exit(TOKEN)]
    const conclude = encodeFunctionData({
      abi: adjudicatorAbi,
      functionName: 'concludeAndTransferAllAssets',
      args: [fixedPart, { variablePart: { outcome, appData: '0x', turnNum: 5, isFinal: true }, sigs: [] }],
    })
    const transferAll = encodeFunctionData({ abi: adjudicatorAbi, functionName: 'transferAllAssets', args: [C2, [exit(TOKEN)], C1] })
    const outcomeBytes = encodeAbiParameters([{ type: 'tuple[]', components: getAbiItem({ abi: adjudicatorAbi, name: 'transferAllAssets' }).inputs[1].components }], [[exit(ETH), exit(TOKEN)]])
    const transfer = encodeFunctionData({ abi: adjudicatorAbi, functionName: 'transfer', args: [1n, C1, outcomeBytes, C2, []] })

    const chain = new FakeChain()
    chain.mine({ ...allocationUpdated(id, 0n, 0n), input: conclude }, { ...allocationUpdated(id, 1n, 3n), input: conclude })
    chain.mine({ ...allocationUpdated(C2, 0n, 0n), input: transferAll })
    chain.mine({ ...allocationUpdated(C1, 1n, 4n), input: transfer })
    chain.mine(allocationUpdated(id, 1n, 1n)) // calldata undecodable (a batch call): the outcome learned above
    chain.mine(allocationUpdated(`0x${'dd'.repeat(32)}`, 0n, 2n)) // unknown to the watcher: assetsOf knows
    chain.mine(allocationUpdated(`0x${'ee'.repeat(32)}`, 0n, 2n)) // known to nobody: reported, skipped
    const { watcher, events, errors } = watch(chain, { assetsOf: (c) => (c === `0x${'dd'.repeat(32)}` ? [TOKEN] : undefined) })
    await watcher.poll()
    expect(events).toEqual([
      `allocationUpdated ${id.slice(0, 4)} ETH 0 @1:0`,
      `allocationUpdated ${id.slice(0, 4)} ${TOKEN} 3 @1:1`,
      `allocationUpdated 0xc2 ${TOKEN} 0 @2:0`,
      `allocationUpdated 0xc1 ${TOKEN} 4 @3:0`,
      `allocationUpdated ${id.slice(0, 4)} ${TOKEN} 1 @4:0`,
      `allocationUpdated 0xdd ${TOKEN} 2 @5:0`,
    ])
    expect(errors.map((e) => [e.code, e.details.block])).toEqual([['chain_event_undecodable', 6n]])
  })

  test('dispute events decode into our types; a challenge teaches the outcome', async () => {
    const sig = { v: 28, r: `0x${'11'.repeat(32)}` as Hex, s: `0x${'22'.repeat(32)}` as Hex }
    const candidate = {
      variablePart: { outcome: [{ asset: TOKEN, assetMetadata: { assetType: 0, metadata: '0x' as Hex }, allocations: [] }], appData: '0xab' as Hex, turnNum: 9, isFinal: false },
      sigs: [sig],
    }
    const chain = new FakeChain()
    chain.mine(emitted('ChallengeRegistered', { channelId: C1, finalizesAt: 500, proof: [], candidate }))
    chain.mine(emitted('Checkpointed', { channelId: C1, newTurnNumRecord: 10 }), emitted('ChallengeCleared', { channelId: C1, newTurnNumRecord: 11 }))
    chain.mine(emitted('Reclaimed', { channelId: C1, assetIndex: 0n }), allocationUpdated(C1, 0n, 0n))
    const { watcher, raw, errors } = watch(chain)
    await watcher.poll()
    // The Reclaimed log's transaction has no calldata: its outcome after the reclaim is unknown, and reported.
    expect(errors.map((e) => [e.code, e.details.block])).toEqual([['chain_event_undecodable', 3n]])
    expect(raw[0]).toEqual({
      kind: 'challengeRegistered',
      channelId: C1,
      finalizesAt: 500n,
      proof: [],
      candidate: { variablePart: { ...candidate.variablePart, turnNum: 9n }, signatures: [`0x${'11'.repeat(32)}${'22'.repeat(32)}1c`] },
      block: 1n,
      logIndex: 0,
    })
    expect(raw.slice(1).map(show)).toEqual(['checkpointed 0xc1 @2:0', 'challengeCleared 0xc1 @2:1', 'reclaimed 0xc1 @3:0', `allocationUpdated 0xc1 ${TOKEN} 0 @3:1`])
    expect(raw[1]).toMatchObject({ newTurnNumRecord: 10n })
    expect(raw[3]).toMatchObject({ assetIndex: 0n, asset: undefined, outcome: undefined })
  })

  test('Reclaimed: the source’s whole outcome after the reclaim, from the reclaim calldata; unknown and reported when the calldata does not give it', async () => {
    const [alice, irene, bob] = ['a1', '1e', 'b0'].map((byte) => addressToDestination(toAddress(`0x${byte.repeat(20)}`))) as [Bytes32, Bytes32, Bytes32]
    const V = toBytes32(`0x${'0f'.repeat(32)}`)
    const allocation = (destination: Bytes32, amount: bigint) => ({ destination, amount, allocationType: AllocationType.simple, metadata: '0x' as Hex })
    const exit = (asset: Address, allocations: SingleAssetExit['allocations']): SingleAssetExit => ({ asset, assetMetadata: { assetType: 0, metadata: '0x' }, allocations })
    const guarantee = { destination: V, amount: 10n, allocationType: AllocationType.guarantee, metadata: encodeGuaranteeMetadata({ left: alice, right: irene }) }
    // The source (a ledger) guarantees V in its second asset; its first asset is no part of the reclaim.
    const source = [exit(ETH, [allocation(alice, 7n), allocation(irene, 2n)]), exit(TOKEN, [allocation(irene, 10n), allocation(alice, 5n), guarantee])]
    const reclaim = (target: readonly SingleAssetExit[], over: Partial<{ sourceChannelId: Hex; sourceAssetIndex: bigint }> = {}) =>
      encodeFunctionData({
        abi: adjudicatorAbi,
        functionName: 'reclaim',
        args: [{ sourceChannelId: C1, sourceStateHash: C2, sourceOutcomeBytes: encodeOutcome(source), sourceAssetIndex: 1n, indexOfTargetInSource: 2n, targetStateHash: C2, targetOutcomeBytes: encodeOutcome(target), targetAssetIndex: 0n, ...over }],
      })
    const paysVTo = (...amounts: bigint[]) => [exit(TOKEN, amounts.map((amount, i) => allocation([alice, irene, bob][i]!, amount)))]

    const chain = new FakeChain()
    const reclaimed = (input: Hex) => ({ ...emitted('Reclaimed', { channelId: C1, assetIndex: 1n }), input })
    chain.mine(reclaimed(reclaim(paysVTo(7n, 3n)))) // V: 7 to left (alice), 3 to right (irene)
    chain.mine(reclaimed(encodeFunctionData({ abi: adjudicatorAbi, functionName: 'transferAllAssets', args: [C1, source, C2] }))) // another function
    chain.mine(reclaimed(reclaim(paysVTo(7n, 3n), { sourceChannelId: C2 }))) // a reclaim of another source
    chain.mine(reclaimed(reclaim(paysVTo(5n, 3n, 2n)))) // three allocations in V: reclaim.ts refuses it
    chain.mine(reclaimed(reclaim(paysVTo(7n, 4n)))) // 11 reclaimed from a guarantee of 10
    const { watcher, raw, errors } = watch(chain)
    await watcher.poll()

    expect(raw[0]).toEqual({
      kind: 'reclaimed',
      channelId: C1,
      assetIndex: 1n,
      asset: TOKEN,
      // the guarantee gone, alice 5 + 7, irene 10 + 3; ETH as it was
      outcome: [exit(ETH, [allocation(alice, 7n), allocation(irene, 2n)]), exit(TOKEN, [allocation(irene, 13n), allocation(alice, 12n)])],
      block: 1n,
      logIndex: 0,
    })
    expect(raw.slice(1).map((e) => (e.kind === 'reclaimed' ? [e.block, e.asset, e.outcome] : e.kind))).toEqual([
      [2n, undefined, undefined],
      [3n, undefined, undefined],
      [4n, TOKEN, undefined],
      [5n, TOKEN, undefined],
    ])
    expect(errors.map((e) => [e.code, e.details.block, (e.cause as { code?: string } | undefined)?.code])).toEqual([
      ['chain_event_undecodable', 2n, undefined],
      ['chain_event_undecodable', 3n, undefined],
      ['chain_event_undecodable', 4n, 'invalid_reclaim_target'],
      ['chain_event_undecodable', 5n, 'reclaim_amount_mismatch'],
    ])
  })

  test('a listener that throws is reported and the rest still arrive', async () => {
    const chain = new FakeChain()
    chain.mine(deposited(C1, ETH, 1n), deposited(C1, ETH, 2n))
    const seen: bigint[] = []
    const errors: ChannelsError[] = []
    const watcher = new EventWatcher({ source: chain, onError: (e) => errors.push(e) }, (event) => {
      if (event.kind === 'deposited') seen.push(event.nowHeld)
      if (seen.length === 1) throw new Error('listener bug')
    })
    await watcher.poll()
    expect(seen).toEqual([1n, 2n])
    expect(errors.map((e) => e.code)).toEqual(['chain_listener'])
  })

  test('an unreachable node is reported as chain_unavailable; polling backs off and recovers', async () => {
    const chain = new FakeChain()
    chain.mine(deposited(C1, ETH, 1n))
    chain.down = true
    const { watcher, events, errors } = watch(chain, { pollingIntervalMs: 1 })
    watcher.start()
    await until(() => errors.length >= 2)
    expect(errors[0]!.code).toBe('chain_unavailable')
    expect(errors[1]!.details.consecutiveFailures).toBe(2)
    chain.down = false
    await until(() => events.length === 1)
    watcher.stop()
    chain.mine(deposited(C1, ETH, 2n))
    await watcher.poll() // stopped for good: no more rounds, no more deliveries
    expect(events).toEqual(['deposited 0xc1 1 @1:0'])
  })
})

// ---- on anvil ----

/**
 * A contract that emits LOG2 from its calldata: `prefix ‖ data ‖ topic1 ‖ topic0 ‖ uint256(len(data))`.
 * The prefix is ignored, so the calldata can start as a real adjudicator call whose decoding the watcher
 * relies on. Runtime (34 bytes), top of stack rightmost:
 *   PUSH1 32 CALLDATASIZE SUB                      [pLen]
 *   DUP1 CALLDATALOAD SWAP1                        [len, pLen]
 *   PUSH1 32 SWAP1 SUB DUP1 CALLDATALOAD SWAP1     [len, t0, pT0]
 *   PUSH1 32 SWAP1 SUB DUP1 CALLDATALOAD SWAP1     [len, t0, t1, pT1]
 *   DUP4 SWAP1 SUB                                 [len, t0, t1, pData]
 *   DUP4 SWAP1 PUSH1 0 CALLDATACOPY                [len, t0, t1]         memory[0, len) = data
 *   SWAP2 PUSH1 0 LOG2 STOP                        log(offset 0, len, t0, t1)
 * Init code: PUSH1 34 DUP1 PUSH1 11 PUSH1 0 CODECOPY PUSH1 0 RETURN.
 */
const EMITTER_RUNTIME = '6020360380359060209003803590602090038035908390038390600037916000a200'
const EMITTER_INIT = `0x602280600b6000396000f3${EMITTER_RUNTIME}` as Hex
const emitCalldata = ({ topics, data }: Emitted, prefix: Hex = '0x'): Hex =>
  concatHex([prefix, data, topics[1]!, topics[0]!, numberToHex((data.length - 2) / 2, { size: 32 })])

describe('EventWatcher on anvil', () => {
  let anvil: Anvil
  let client: PublicClient
  let wallet: WalletClient
  let emitter: Address
  const account = privateKeyToAccount('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80') // anvil's account 0
  const rpc = (method: string, params: unknown[] = []) => client.request({ method, params } as never) as Promise<unknown>
  const send = async (log: Emitted, prefix?: Hex) => {
    const hash = await wallet.sendTransaction({ account, chain: null, to: emitter, data: emitCalldata(log, prefix) })
    return hash
  }
  const sendMined = async (log: Emitted, prefix?: Hex) => client.waitForTransactionReceipt({ hash: await send(log, prefix), pollingInterval: 5 })

  beforeAll(async () => {
    anvil = await startAnvil()
    client = createPublicClient({ transport: http(anvil.url), pollingInterval: 10 })
    wallet = createWalletClient({ transport: http(anvil.url) })
    const receipt = await client.waitForTransactionReceipt({
      hash: await wallet.sendTransaction({ account, chain: null, data: EMITTER_INIT }),
      pollingInterval: 5,
    })
    emitter = toAddress(receipt.contractAddress!)
    expect(await client.getCode({ address: emitter })).toBe(`0x${EMITTER_RUNTIME}`)
  })
  afterAll(async () => {
    await anvil?.stop()
  })

  test('the emitter produces logs the watcher decodes; several in one block keep their order', async () => {
    const source = viemLogSource(client, emitter)
    const start = await client.getBlockNumber({ cacheTime: 0 })
    await rpc('evm_setAutomine', [false])
    await send(deposited(C1, ETH, 1n))
    await send(deposited(C2, TOKEN, 2n))
    await rpc('evm_mine')
    await rpc('evm_setAutomine', [true])
    await sendMined(concluded(C1, 77))
    const { watcher, events } = watch(source, { fromBlock: start + 1n })
    await watcher.poll()
    expect(events).toEqual([`deposited 0xc1 1 @${start + 1n}:0`, `deposited 0xc2 2 @${start + 1n}:1`, `concluded 0xc1 @${start + 2n}:0`])
  })

  test('confirmations, catch-up in chunks and a restart from the cursor', async () => {
    const source = viemLogSource(client, emitter)
    const start = (await client.getBlockNumber({ cacheTime: 0 })) + 1n
    for (let i = 1n; i <= 5n; i++) {
      await sendMined(deposited(C1, ETH, i))
      await rpc('anvil_mine', [toHex(3)])
    }
    const head = await client.getBlockNumber({ cacheTime: 0 }) // last deposit at head - 3
    const first = watch(source, { fromBlock: start, confirmations: 4, chunkBlocks: 5n })
    await first.watcher.poll()
    expect(first.events.map((e) => e.split(' ')[2])).toEqual(['1', '2', '3', '4'])
    expect(first.watcher.lastScannedBlock).toBe(head - 4n)
    await rpc('anvil_mine', [toHex(1)])
    await first.watcher.poll()
    expect(first.events.map((e) => e.split(' ')[2])).toEqual(['1', '2', '3', '4', '5'])

    // Downtime: a new watcher resumes from the last delivered (block, logIndex).
    const last = first.raw.at(-1)!
    first.watcher.stop()
    await sendMined(deposited(C1, ETH, 6n))
    const second = watch(source, { chunkBlocks: 2n }, { block: last.block, logIndex: last.logIndex })
    await second.watcher.poll()
    expect(second.events.map((e) => e.split(' ')[2])).toEqual(['6'])
  })

  test('survives a re-org made with evm_snapshot/evm_revert, delivering each log once', async () => {
    const source = viemLogSource(client, emitter)
    const start = (await client.getBlockNumber({ cacheTime: 0 })) + 1n
    await sendMined(deposited(C1, ETH, 10n))
    const snapshot = await rpc('evm_snapshot')
    await sendMined(deposited(C2, ETH, 20n))
    await sendMined(deposited(C2, ETH, 21n))
    const { watcher, events, reorgs } = watch(source, { fromBlock: start })
    await watcher.poll()
    expect(events.map((e) => e.split(' ')[2])).toEqual(['10', '20', '21'])

    expect(await rpc('evm_revert', [snapshot])).toBe(true)
    await rpc('evm_increaseTime', [toHex(10)]) // the new branch's blocks differ even where their logs do not
    await sendMined(deposited(C2, ETH, 30n))
    await rpc('anvil_mine', [toHex(2)])
    await watcher.poll()
    expect(reorgs).toEqual([start])
    expect(events.map((e) => e.split(' ')[2])).toEqual(['10', '20', '21', '30'])
    await watcher.poll()
    expect(events).toHaveLength(4)
  })

  test('AllocationUpdated resolves its asset from concludeAndTransferAllAssets calldata sent on chain', async () => {
    const participants: Address[] = [toAddress(account.address), toAddress('0x70997970C51812dc3A010C7d01b50e0d17dc79C8')]
    const fixedPart = { participants, channelNonce: 42n, appDefinition: TOKEN, challengeDuration: 60 }
    const id = channelId(fixedPart)
    const outcome = [ETH, TOKEN].map((asset) => ({ asset, assetMetadata: { assetType: 0, metadata: '0x' as Hex }, allocations: [] }))
    const prefix = encodeFunctionData({
      abi: adjudicatorAbi,
      functionName: 'concludeAndTransferAllAssets',
      args: [fixedPart, { variablePart: { outcome, appData: '0x', turnNum: 3, isFinal: true }, sigs: [] }],
    })
    const start = (await client.getBlockNumber({ cacheTime: 0 })) + 1n
    await sendMined(allocationUpdated(id, 1n, 0n), prefix)
    const { watcher, raw, errors } = watch(viemLogSource(client, emitter), { fromBlock: start })
    await watcher.poll()
    expect(errors).toEqual([])
    expect(raw).toEqual([{ kind: 'allocationUpdated', channelId: id, asset: TOKEN, finalHoldings: 0n, block: start, logIndex: 0 }])
  })
})
