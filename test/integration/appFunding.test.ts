// Funding and closing app channels (issue 7): in-process engines on the in-memory network (with seeded
// faults) and the in-memory chain, running the built apps through the production WASM runtime. A channel
// funded on chain (2 and 3 participants) is deposited in participant order, played, closed by itself once
// the app is final and paid out exactly; one funded from a ledger locks a guarantee and returns it with the
// game's outcome; funding that cannot happen fails with a reason and no event is accepted meanwhile.
import { afterEach, describe, expect, test } from 'vitest'
import type { Bytes32, Hex } from '../../src/core/types.js'
import type { AppRuntime } from '../../src/wasm/appRuntime.js'
import { loadBuiltApp } from '../support/appSessions.js'
import { appFundId } from '../../src/protocols/app/appFund.js'
import { appDefundId } from '../../src/protocols/app/appDefund.js'
import { appDisputeId } from '../../src/protocols/app/appDispute.js'
import type { MemoryChainOptions } from '../../src/chain/memoryChain.js'
import { createSigner } from '../../src/core/signer.js'
import { hashState } from '../../src/core/hashState.js'
import { hashChallenge } from '../../src/core/signState.js'
import type { TestNetwork, TestNode } from '../support/ledgerNetwork.js'
import { ETH, createTestNetwork, eventually } from '../support/ledgerNetwork.js'
import { toBytes32 } from '../../src/core/canonical.js'

const TICTACTOE = loadBuiltApp('tictactoe')
const DOCUMENT = loadBuiltApp('document')
const REGISTRY = new Map<string, AppRuntime>([TICTACTOE, DOCUMENT].map((r) => [r.appId.toLowerCase(), r]))
const apps = (appId: Bytes32) => REGISTRY.get(appId.toLowerCase())
const key = (i: number) => `0x${(0xc1 + i).toString(16).repeat(32)}` as Hex
const FUNDS = 10n ** 21n // what the in-memory chain gives each node's address

const move = (cell: number) => Uint8Array.of(0x01, cell)
const insert = (position: number, text: string) => Uint8Array.of(0x01, position & 0xff, position >> 8, text.length & 0xff, text.length >> 8, ...Buffer.from(text))
const FINISH = Uint8Array.of(0x03)
/** X (participant 0) takes the top row. */
const X_WINS = [0, 3, 1, 4, 2]

let net: TestNetwork | undefined
afterEach(async () => {
  await net?.close()
  net = undefined
})

async function nodes(count: number, seed: number, chain?: MemoryChainOptions): Promise<TestNode[]> {
  net = await createTestNetwork({ network: { seed, drop: 0.05, duplicate: 0.05, reorder: 0.05, maxDelayMs: 2 }, apps, ...(chain ? { chain } : {}) })
  const list: TestNode[] = []
  for (let i = 0; i < count; i++) list.push(await net.node(`p${i}`, key(i)))
  return list
}

async function play(all: readonly TestNode[], id: Bytes32, author: number, payload: Uint8Array): Promise<void> {
  const node = all[author]!
  const pending = node.engine.getAppChannel(id)!.pending
  if (pending) await node.engine.waitForAppTurn(id, pending.turnNum)
  const { turnNum } = await node.engine.submitEvent(id, payload)
  for (const n of all) await n.engine.waitForAppTurn(id, turnNum)
}

async function statusEverywhere(all: readonly TestNode[], id: Bytes32, status: string): Promise<void> {
  for (const n of all) await eventually(`${n.name}: ${status}`, () => n.engine.getAppChannel(id)?.status === status)
}

async function openLedger(leader: TestNode, follower: TestNode, deposit: bigint): Promise<Bytes32> {
  const id = await leader.engine.directFund({ counterparty: follower.address, myDeposit: deposit, theirDeposit: deposit, nonce: 1n })
  expect((await leader.engine.waitForObjective(id)).status).toBe('completed')
  const ledgerId = id.slice('directfund:'.length) as Bytes32
  await eventually('follower has the ledger', () => follower.engine.getLedger(ledgerId) !== undefined)
  return ledgerId
}

function ledgerView(node: TestNode, ledgerId: Bytes32) {
  const o = node.engine.getLedger(ledgerId)!.supported.vars.outcome
  return { leader: o.leader.amount, follower: o.follower.amount, guarantees: o.guarantees.map((g) => g.target.toLowerCase()) }
}

describe('app channels funded on chain', () => {
  test('tic-tac-toe: deposits in participant order, no move before funded, the winner is paid on chain when the game ends', async () => {
    const all = await nodes(2, 81)
    const [alice, bob] = all as [TestNode, TestNode]
    const chain = net!.chain
    const id = await alice.engine.createAppChannel({ participants: [alice.address, bob.address], appId: TICTACTOE.appId, params: Uint8Array.of(2), deposits: [1_000n, 1_000n], nonce: 1n })
    expect(alice.engine.getAppChannel(id)!).toMatchObject({ funding: 'direct', status: 'opening', moveTimeout: 300 })
    // nothing moves before the deposits are held (the open may still be reaching bob: either refusal is typed)
    await expect(alice.engine.submitEvent(id, move(0))).rejects.toMatchObject({ code: 'not_funded' })
    await statusEverywhere(all, id, 'open')
    expect(await chain.holdings(id, ETH)).toBe(2_000n)
    // each deposited its own share, alice (participant 0) first
    const deposits = chain.events().filter((e) => e.kind === 'deposited' && e.channelId.toLowerCase() === id.toLowerCase())
    expect(deposits.map((e) => (e.kind === 'deposited' ? e.nowHeld : 0n))).toEqual([1_000n, 2_000n])
    for (const n of all) expect(n.engine.getObjective(appFundId(id))?.objective.status).toBe('completed')

    for (const [i, cell] of X_WINS.entries()) await play(all, id, i % 2, move(cell))
    // the app is final: every node signs the concluding state by itself and alice (participant 0) withdraws for both
    await statusEverywhere(all, id, 'closed')
    expect(await chain.holdings(id, ETH)).toBe(0n)
    expect(chain.balanceOf(alice.address, ETH)).toBe(FUNDS + 1_000n)
    expect(chain.balanceOf(bob.address, ETH)).toBe(FUNDS - 1_000n)
    const close = alice.engine.getObjective(appDefundId(id))!.objective
    expect(close.kind === 'appdefund' && close.final.state.isFinal && close.final.signatures.every((s) => s !== null)).toBe(true)
    await expect(alice.engine.closeAppChannel(id)).resolves.toBe(appDefundId(id)) // idempotent
  }, 60_000)

  test('three authors fund a document with different deposits; the pot is paid by surviving contribution', async () => {
    const all = await nodes(3, 82)
    const chain = net!.chain
    const participants = all.map((n) => n.address)
    const id = await all[0]!.engine.createAppChannel({ participants, appId: DOCUMENT.appId, params: Uint8Array.of(3), deposits: [100n, 200n, 300n], funding: 'direct', nonce: 2n })
    await statusEverywhere(all, id, 'open')
    await expect(all[0]!.engine.closeAppChannel(id)).rejects.toMatchObject({ code: 'app_not_final' })
    await play(all, id, 0, insert(0, 'aaa')) // 3 bytes by 0
    await play(all, id, 1, insert(3, 'bbbbbb')) // 6 bytes by 1
    await play(all, id, 2, insert(9, 'ccc')) // 3 bytes by 2
    await play(all, id, 1, FINISH)
    await statusEverywhere(all, id, 'closed')
    // 600 split 3:6:3 = 150, 300, 150
    expect([0, 1, 2].map((i) => chain.balanceOf(participants[i]!, ETH) - FUNDS)).toEqual([150n - 100n, 300n - 200n, 150n - 300n])
    expect(await chain.holdings(id, ETH)).toBe(0n)
  }, 60_000)

  test('a deposit the chain keeps refusing fails the funding with its reason; the channel refuses events, the node goes on', async () => {
    const all = await nodes(2, 83)
    const [alice, bob] = all as [TestNode, TestNode]
    net!.chain.failNext(3, 'reverted')
    const id = await alice.engine.createAppChannel({ participants: [alice.address, bob.address], appId: TICTACTOE.appId, params: Uint8Array.of(2), deposits: [5n, 5n], nonce: 3n })
    const fund = await eventually('alice gave up depositing', () => alice.engine.getObjective(appFundId(id))?.objective.status === 'failed').then(() => alice.engine.getObjective(appFundId(id))!.objective)
    expect(fund.failure?.summary).toMatch(/deposit failed/)
    expect(alice.engine.getAppChannel(id)!.status).toBe('failed')
    await expect(alice.engine.submitEvent(id, move(0))).rejects.toMatchObject({ code: 'not_funded' })
    // the node still opens and funds another channel
    const next = await alice.engine.createAppChannel({ participants: [alice.address, bob.address], appId: TICTACTOE.appId, params: Uint8Array.of(2), deposits: [5n, 5n], nonce: 4n })
    await statusEverywhere(all, next, 'open')
  }, 60_000)
})

describe('app channels settled on chain without the others', () => {
  test('bob\'s node vanishes on his turn: alice\'s node challenges with the latest state signed by both and pays it out', async () => {
    // the chain's clock is the wall clock, moved on by hand: the node waits for finalizesAt on its own clock
    const all = await nodes(2, 87, { genesisTimestampSec: BigInt(Math.floor(Date.now() / 1000)), blockTimeSec: 0n })
    const [alice, bob] = all as [TestNode, TestNode]
    const chain = net!.chain
    const id = await alice.engine.createAppChannel({ participants: [alice.address, bob.address], appId: TICTACTOE.appId, params: Uint8Array.of(2), deposits: [700n, 300n], nonce: 8n, challengeDuration: 1 })
    await statusEverywhere(all, id, 'open')
    for (const [i, cell] of X_WINS.slice(0, 3).entries()) await play(all, id, i % 2, move(cell))
    await bob.engine.close()
    net!.network.partition(alice.address, bob.address, true)

    const dispute = await alice.engine.challengeAppChannel(id)
    expect(dispute).toBe(appDisputeId(id))
    await expect(alice.engine.challengeAppChannel(id)).resolves.toBe(dispute) // idempotent
    await expect(alice.engine.submitEvent(id, move(8))).rejects.toMatchObject({ code: 'channel_disputed' })
    await eventually('the challenge is registered', () => chain.events().some((e) => e.kind === 'challenged' && e.channelId === id.toLowerCase()))
    const challenged = chain.events().find((e) => e.kind === 'challenged')!
    expect(challenged.kind === 'challenged' && challenged.turnNumRecord).toBe(3n)
    expect(alice.engine.getAppChannel(id)!.status).toBe('disputing')
    chain.advanceTime(2n)
    await eventually('alice is paid out', () => alice.engine.getAppChannel(id)?.status === 'closed', 20_000)
    // turn 3 (the game undecided) returns the deposits
    expect(chain.balanceOf(alice.address, ETH)).toBe(FUNDS)
    expect(chain.balanceOf(bob.address, ETH)).toBe(FUNDS)
    expect(await chain.holdings(id, ETH)).toBe(0n)
  }, 60_000)

  test('bob (his node gone) challenges with an older state: alice\'s node answers with the latest state signed by both and is paid by it', async () => {
    const all = await nodes(2, 89, { genesisTimestampSec: BigInt(Math.floor(Date.now() / 1000)), blockTimeSec: 0n })
    const [alice, bob] = all as [TestNode, TestNode]
    const chain = net!.chain
    const deposits = [700n, 300n]
    const id = await alice.engine.createAppChannel({ participants: [alice.address, bob.address], appId: DOCUMENT.appId, params: Uint8Array.of(2), deposits, nonce: 10n, challengeDuration: 1 })
    await statusEverywhere(all, id, 'open')
    await play(all, id, 0, insert(0, 'aaaa'))
    await play(all, id, 1, insert(4, 'b')) // turn 2: 4 bytes to 1
    await play(all, id, 0, insert(5, 'aaaa')) // turn 3: 8 bytes to 1
    const older = (await bob.engine.exportAppLog(id)).signedStates[2]!
    expect(older.state.turnNum).toBe(2n)
    await bob.engine.close()
    net!.network.partition(alice.address, bob.address, true)

    const bobKey = createSigner(key(1))
    await chain.connect(bob.address).submit({ kind: 'challenge', candidate: older, challengerSignature: bobKey.signHash(hashChallenge(hashState(older.state))) })
    // alice's node sees the stale challenge and challenges with turn 3, which supersedes it
    await eventually('alice answers', () => chain.events().some((e) => e.kind === 'challenged' && e.turnNumRecord === 3n))
    expect(alice.engine.getAppChannel(id)!.status).toBe('disputing')
    chain.advanceTime(2n)
    await eventually('alice is paid out', () => alice.engine.getAppChannel(id)?.status === 'closed', 20_000)
    const outcome = alice.engine.getAppChannel(id)!.outcome
    expect(outcome[0]! > outcome[1]! * 7n).toBe(true) // 8:1, not turn 2's 4:1
    expect([alice, bob].map((n, i) => chain.balanceOf(n.address, ETH) - FUNDS + deposits[i]!)).toEqual([...outcome])
    expect(await chain.holdings(id, ETH)).toBe(0n)
  }, 60_000)

  test('a dispute of a channel funded by nobody (nothing to enforce) or of an unknown channel is refused', async () => {
    const all = await nodes(2, 88)
    const [alice, bob] = all as [TestNode, TestNode]
    const id = await alice.engine.createAppChannel({ participants: [alice.address, bob.address], appId: TICTACTOE.appId, params: Uint8Array.of(2), deposits: [1n, 1n], funding: 'none', nonce: 9n })
    await statusEverywhere(all, id, 'open')
    await expect(alice.engine.challengeAppChannel(id)).rejects.toMatchObject({ code: 'dispute_unsupported' })
    await expect(alice.engine.challengeAppChannel(toBytes32(`0x${'77'.repeat(32)}`))).rejects.toMatchObject({ code: 'no_such_app_channel' })
    await play(all, id, 0, move(4)) // nothing changed
  }, 60_000)
})

describe('app channels funded from a ledger', () => {
  test('a guarantee locks both deposits; the game\'s outcome returns to the ledger balances when it ends', async () => {
    const all = await nodes(2, 84)
    const [alice, bob] = all as [TestNode, TestNode]
    const ledgerId = await openLedger(alice, bob, 1_000n)
    const id = await bob.engine.createAppChannel({ participants: [alice.address, bob.address], appId: TICTACTOE.appId, params: Uint8Array.of(2), deposits: [300n, 200n], funding: 'ledger', nonce: 5n })
    await statusEverywhere(all, id, 'open')
    for (const n of all) expect(ledgerView(n, ledgerId)).toEqual({ leader: 700n, follower: 800n, guarantees: [id.toLowerCase()] })
    expect(await net!.chain.holdings(id, ETH)).toBe(0n) // nothing on chain for the app channel itself
    for (const [i, cell] of X_WINS.entries()) await play(all, id, i % 2, move(cell))
    await statusEverywhere(all, id, 'closed')
    // alice (X) won the 500 pot: her ledger balance is 700 + 500
    for (const n of all) await eventually(`${n.name}'s ledger settled`, () => ledgerView(n, ledgerId).guarantees.length === 0)
    for (const n of all) expect(ledgerView(n, ledgerId)).toEqual({ leader: 1_200n, follower: 800n, guarantees: [] })
  }, 60_000)

  test('a ledger that cannot afford the deposits fails the funding with the ledger\'s reason', async () => {
    const all = await nodes(2, 85)
    const [alice, bob] = all as [TestNode, TestNode]
    const ledgerId = await openLedger(alice, bob, 100n)
    const id = await alice.engine.createAppChannel({ participants: [alice.address, bob.address], appId: TICTACTOE.appId, params: Uint8Array.of(2), deposits: [500n, 50n], funding: 'ledger', nonce: 6n })
    await statusEverywhere(all, id, 'failed')
    const fund = alice.engine.getObjective(appFundId(id))!.objective
    expect(fund.failure?.code).toBe('insufficient_funds')
    expect(ledgerView(alice, ledgerId)).toEqual({ leader: 100n, follower: 100n, guarantees: [] })
    await expect(bob.engine.submitEvent(id, move(0))).rejects.toMatchObject({ code: 'not_funded' })
  }, 60_000)

  test('ledger funding without a ledger between the two fails with no_ledger', async () => {
    const all = await nodes(2, 86)
    const [alice, bob] = all as [TestNode, TestNode]
    const id = await alice.engine.createAppChannel({ participants: [alice.address, bob.address], appId: TICTACTOE.appId, params: Uint8Array.of(2), deposits: [1n, 1n], funding: 'ledger', nonce: 7n })
    await statusEverywhere(all, id, 'failed')
    expect(bob.engine.getObjective(appFundId(id))!.objective.failure?.code).toBe('no_ledger')
  }, 60_000)
})
