// Funding and closing app channels (issue 7), on the simulator's seeded scheduler (issue 14), running the built
// apps through the production WASM runtime. A channel funded on chain (2 and 3 participants) is deposited in
// participant order, played, closed by itself once the app is final and paid out exactly; one funded from a ledger
// locks a guarantee and returns it with the game's outcome; funding that cannot happen fails with a reason and no
// event is accepted meanwhile; a node whose counterparty vanished settles on chain by itself. Time is the
// cluster's: a dispute's deadline passes when the scenario moves the chain's clock and the nodes' on.
import { describe, expect, test } from 'vitest'
import type { Bytes32 } from '../../../src/core/types.js'
import type { AppRuntime } from '../../../src/wasm/appRuntime.js'
import type { SignedState } from '../../../src/core/signedState.js'
import { toBytes32 } from '../../../src/core/canonical.js'
import { hashState } from '../../../src/core/hashState.js'
import { hashChallenge } from '../../../src/core/signState.js'
import { decodeValue } from '../../../src/core/codec.js'
import { signedTurnRange } from '../../../src/engine/records.js'
import { appChannelView } from '../../../src/engine/views.js'
import type { AppChannelView } from '../../../src/engine/views.js'
import type { CreateAppChannelRequest } from '../../../src/engine/apps.js'
import { appFundId } from '../../../src/protocols/app/appFund.js'
import { appDefundId } from '../../../src/protocols/app/appDefund.js'
import { appDisputeId } from '../../../src/protocols/app/appDispute.js'
import { loadBuiltApp } from '../../support/appSessions.js'
import type { SimNode } from '../cluster.js'
import { ETH, STARTING_BALANCE } from '../cluster.js'
import { Scenario } from '../scenario.js'

const TICTACTOE = loadBuiltApp('tictactoe')
const DOCUMENT = loadBuiltApp('document')
const REGISTRY = new Map<Bytes32, AppRuntime>([TICTACTOE, DOCUMENT].map((r) => [r.appId, r]))
const apps = (appId: Bytes32) => REGISTRY.get(appId)

const move = (cell: number) => Uint8Array.of(0x01, cell)
const insert = (position: number, text: string) => Uint8Array.of(0x01, position & 0xff, position >> 8, text.length & 0xff, text.length >> 8, ...Buffer.from(text))
const FINISH = Uint8Array.of(0x03)
/** X (participant 0) takes the top row. */
const X_WINS = [0, 3, 1, 4, 2]

const start = (seed: number, nodes: number) => Scenario.start({ seed, nodes, apps, faults: { drop: 0.05, duplicate: 0.05, reorder: 0.05 } })

const view = (node: SimNode, id: Bytes32): AppChannelView | undefined => (node.up ? appChannelView(node.machine.tables, node.deps, id) : undefined)

type Create = Omit<CreateAppChannelRequest, 'asset' | 'funding' | 'moveTimeout' | 'challengeDuration'> & Partial<Pick<CreateAppChannelRequest, 'funding' | 'challengeDuration'>>
const create = (s: Scenario, node: SimNode, p: Create) =>
  s.call<Bytes32>(node, { op: 'createAppChannel', asset: ETH, moveTimeout: 300, challengeDuration: 86_400, funding: p.deposits.some((d) => d > 0n) ? 'direct' : 'none', ...p })

const submit = (s: Scenario, node: SimNode, channelId: Bytes32, payload: Uint8Array) => s.call<{ turnNum: bigint }>(node, { op: 'submitAppEvent', channelId, payload })

/** `author` moves once the turn before is signed by all, and every node holds the new turn signed by all. */
async function play(s: Scenario, id: Bytes32, author: number, payload: Uint8Array): Promise<void> {
  const node = s.nodes[author]!
  const pending = view(node, id)!.pending
  if (pending) await s.until('the turn before is signed', () => (view(node, id)?.turnNum ?? -1n) >= pending.turnNum)
  const { turnNum } = await submit(s, node, id, payload)
  await s.until(`turn ${turnNum} signed everywhere`, () => s.nodes.every((n) => !n.up || (view(n, id)?.turnNum ?? -1n) >= turnNum))
}

const statusEverywhere = (s: Scenario, id: Bytes32, status: string, nodes: readonly SimNode[] = s.nodes) =>
  s.until(`${id.slice(0, 10)} ${status} everywhere`, () => nodes.every((n) => view(n, id)?.status === status))

async function openLedger(s: Scenario, leader: SimNode, follower: SimNode, deposit: bigint): Promise<Bytes32> {
  const id = await s.call(leader, { op: 'directFund', counterparty: follower.address, asset: ETH, myDeposit: deposit, theirDeposit: deposit, nonce: 1n, challengeDuration: 86_400 })
  expect((await s.settled(leader, id)).status).toBe('completed')
  const ledgerId = toBytes32(id.slice('directfund:'.length))
  await s.until('the follower has the ledger', () => follower.machine.tables.ledgers.get(ledgerId) !== undefined)
  return ledgerId
}

const ledgerView = (node: SimNode, ledgerId: Bytes32) => {
  const o = node.machine.tables.ledgers.get(ledgerId)!.supported.vars.outcome
  return { leader: o.leader.amount, follower: o.follower.amount, guarantees: o.guarantees.map((g) => g.target) }
}

/** Moves the chain's clock and the nodes' on by `seconds`, as a wait for a deadline does. */
function passTime(s: Scenario, seconds: bigint): void {
  s.cluster.chain.advanceTime(seconds)
  s.cluster.advance(Number(seconds) * 1_000)
}

describe('app channels funded on chain', () => {
  test('tic-tac-toe: deposits in participant order, no move before funded, the winner is paid on chain when the game ends', async () => {
    const s = await start(81, 2)
    const [alice, bob] = s.nodes as [SimNode, SimNode]
    const chain = s.cluster.chain
    const id = await create(s, alice, { participants: [alice.address, bob.address], appId: TICTACTOE.appId, params: Uint8Array.of(2), deposits: [1_000n, 1_000n], nonce: 1n })
    expect(view(alice, id)).toMatchObject({ funding: 'direct', status: 'opening', moveTimeout: 300 })
    // Nothing moves before the deposits are held.
    await expect(submit(s, alice, id, move(0))).rejects.toMatchObject({ code: 'not_funded' })
    await statusEverywhere(s, id, 'open')
    expect(await chain.holdings(id, ETH)).toBe(2_000n)
    // Each deposited its own share, alice (participant 0) first.
    const deposits = chain.events().filter((e) => e.kind === 'deposited' && e.channelId === id)
    expect(deposits.map((e) => (e.kind === 'deposited' ? e.nowHeld : 0n))).toEqual([1_000n, 2_000n])
    await s.until('funding completed everywhere', () => s.nodes.every((n) => s.objective(n, appFundId(id))?.status === 'completed'))

    for (const [i, cell] of X_WINS.entries()) await play(s, id, i % 2, move(cell))
    // The app is final: every node signs the concluding state by itself and alice (participant 0) withdraws for both.
    await statusEverywhere(s, id, 'closed')
    expect(await chain.holdings(id, ETH)).toBe(0n)
    expect(chain.balanceOf(alice.address, ETH)).toBe(STARTING_BALANCE + 1_000n)
    expect(chain.balanceOf(bob.address, ETH)).toBe(STARTING_BALANCE - 1_000n)
    const close = s.objective(alice, appDefundId(id))!
    expect(close.kind === 'appdefund' && close.final.state.isFinal && close.final.signatures.every((sig) => sig !== null)).toBe(true)
    await expect(s.call(alice, { op: 'closeAppChannel', channelId: id })).resolves.toBe(appDefundId(id)) // idempotent
    await s.checkReplays()
  }, 60_000)

  test('three authors fund a document with different deposits; the pot is paid by surviving contribution', async () => {
    const s = await start(82, 3)
    const chain = s.cluster.chain
    const participants = s.nodes.map((n) => n.address)
    const id = await create(s, s.nodes[0]!, { participants, appId: DOCUMENT.appId, params: Uint8Array.of(3), deposits: [100n, 200n, 300n], funding: 'direct', nonce: 2n })
    await statusEverywhere(s, id, 'open')
    await expect(s.call(s.nodes[0]!, { op: 'closeAppChannel', channelId: id })).rejects.toMatchObject({ code: 'app_not_final' })
    await play(s, id, 0, insert(0, 'aaa')) // 3 bytes by 0
    await play(s, id, 1, insert(3, 'bbbbbb')) // 6 bytes by 1
    await play(s, id, 2, insert(9, 'ccc')) // 3 bytes by 2
    await play(s, id, 1, FINISH)
    await statusEverywhere(s, id, 'closed')
    // 600 split 3:6:3 = 150, 300, 150.
    expect(participants.map((p) => chain.balanceOf(p, ETH) - STARTING_BALANCE)).toEqual([150n - 100n, 300n - 200n, 150n - 300n])
    expect(await chain.holdings(id, ETH)).toBe(0n)
  }, 60_000)

  test('a deposit the chain keeps refusing fails the funding with its reason; the channel refuses events, the node goes on', async () => {
    const s = await start(83, 2)
    const [alice, bob] = s.nodes as [SimNode, SimNode]
    s.cluster.chain.failNext(3, 'reverted')
    const id = await create(s, alice, { participants: [alice.address, bob.address], appId: TICTACTOE.appId, params: Uint8Array.of(2), deposits: [5n, 5n], nonce: 3n })
    const fund = await s.settled(alice, appFundId(id))
    expect(fund.status).toBe('failed')
    expect(fund.failure?.summary).toMatch(/deposit failed/)
    expect(view(alice, id)!.status).toBe('failed')
    await expect(submit(s, alice, id, move(0))).rejects.toMatchObject({ code: 'not_funded' })
    // The node still opens and funds another channel.
    const next = await create(s, alice, { participants: [alice.address, bob.address], appId: TICTACTOE.appId, params: Uint8Array.of(2), deposits: [5n, 5n], nonce: 4n })
    await statusEverywhere(s, next, 'open')
  }, 60_000)
})

describe('app channels settled on chain without the others', () => {
  test("bob's node vanishes on his turn: alice's node challenges with the latest state signed by both and pays it out", async () => {
    const s = await start(87, 2)
    const [alice, bob] = s.nodes as [SimNode, SimNode]
    const chain = s.cluster.chain
    const id = await create(s, alice, { participants: [alice.address, bob.address], appId: TICTACTOE.appId, params: Uint8Array.of(2), deposits: [700n, 300n], nonce: 8n, challengeDuration: 1 })
    await statusEverywhere(s, id, 'open')
    for (const [i, cell] of X_WINS.slice(0, 3).entries()) await play(s, id, i % 2, move(cell))
    s.stop(bob)

    const dispute = await s.call(alice, { op: 'challengeAppChannel', channelId: id })
    expect(dispute).toBe(appDisputeId(id))
    await expect(s.call(alice, { op: 'challengeAppChannel', channelId: id })).resolves.toBe(dispute) // idempotent
    await expect(submit(s, alice, id, move(8))).rejects.toMatchObject({ code: 'channel_disputed' })
    await s.until('the challenge is registered', () => chain.events().some((e) => e.kind === 'challenged' && e.channelId === id))
    const challenged = chain.events().find((e) => e.kind === 'challenged')!
    expect(challenged.kind === 'challenged' && challenged.turnNumRecord).toBe(3n)
    expect(view(alice, id)!.status).toBe('disputing')
    passTime(s, 2n)
    await s.until('alice is paid out', () => view(alice, id)?.status === 'closed')
    // Turn 3 (the game undecided) returns the deposits.
    expect(chain.balanceOf(alice.address, ETH)).toBe(STARTING_BALANCE)
    expect(chain.balanceOf(bob.address, ETH)).toBe(STARTING_BALANCE)
    expect(await chain.holdings(id, ETH)).toBe(0n)
  }, 60_000)

  test("bob (his node gone) challenges with an older state: alice's node answers with the latest state signed by both and is paid by it", async () => {
    const s = await start(89, 2)
    const [alice, bob] = s.nodes as [SimNode, SimNode]
    const chain = s.cluster.chain
    const deposits = [700n, 300n]
    const id = await create(s, alice, { participants: [alice.address, bob.address], appId: DOCUMENT.appId, params: Uint8Array.of(2), deposits, nonce: 10n, challengeDuration: 1 })
    await statusEverywhere(s, id, 'open')
    await play(s, id, 0, insert(0, 'aaaa'))
    await play(s, id, 1, insert(4, 'b')) // turn 2: 4 bytes to 1
    await play(s, id, 0, insert(5, 'aaaa')) // turn 3: 8 bytes to 1
    const signed: SignedState[] = []
    for await (const [, value] of bob.store.scan(signedTurnRange(id))) signed.push(decodeValue(value, Number.MAX_SAFE_INTEGER) as SignedState)
    const older = signed.find((st) => st.state.turnNum === 2n)!
    s.stop(bob)

    await chain.connect(bob.address).submit({ kind: 'challenge', candidate: older, challengerSignature: bob.signer.signHash(hashChallenge(hashState(older.state))) })
    // Alice's node sees the stale challenge and challenges with turn 3, which supersedes it.
    await s.until('alice answers', () => chain.events().some((e) => e.kind === 'challenged' && e.turnNumRecord === 3n))
    expect(view(alice, id)!.status).toBe('disputing')
    passTime(s, 2n)
    await s.until('alice is paid out', () => view(alice, id)?.status === 'closed')
    const outcome = view(alice, id)!.outcome
    expect(outcome[0]! > outcome[1]! * 7n).toBe(true) // 8:1, not turn 2's 4:1
    expect([alice, bob].map((n, i) => chain.balanceOf(n.address, ETH) - STARTING_BALANCE + deposits[i]!)).toEqual([...outcome])
    expect(await chain.holdings(id, ETH)).toBe(0n)
  }, 60_000)

  test('a dispute of a channel funded by nobody (nothing to enforce) or of an unknown channel is refused', async () => {
    const s = await start(88, 2)
    const [alice, bob] = s.nodes as [SimNode, SimNode]
    const id = await create(s, alice, { participants: [alice.address, bob.address], appId: TICTACTOE.appId, params: Uint8Array.of(2), deposits: [1n, 1n], funding: 'none', nonce: 9n })
    await statusEverywhere(s, id, 'open')
    await expect(s.call(alice, { op: 'challengeAppChannel', channelId: id })).rejects.toMatchObject({ code: 'dispute_unsupported' })
    await expect(s.call(alice, { op: 'challengeAppChannel', channelId: toBytes32(`0x${'77'.repeat(32)}`) })).rejects.toMatchObject({ code: 'no_such_app_channel' })
    await play(s, id, 0, move(4)) // nothing changed
  }, 60_000)
})

describe('app channels funded from a ledger', () => {
  test("a guarantee locks both deposits; the game's outcome returns to the ledger balances when it ends", async () => {
    const s = await start(84, 2)
    const [alice, bob] = s.nodes as [SimNode, SimNode]
    const ledgerId = await openLedger(s, alice, bob, 1_000n)
    const id = await create(s, bob, { participants: [alice.address, bob.address], appId: TICTACTOE.appId, params: Uint8Array.of(2), deposits: [300n, 200n], funding: 'ledger', nonce: 5n })
    await statusEverywhere(s, id, 'open')
    for (const n of s.nodes) expect(ledgerView(n, ledgerId)).toEqual({ leader: 700n, follower: 800n, guarantees: [id] })
    expect(await s.cluster.chain.holdings(id, ETH)).toBe(0n) // nothing on chain for the app channel itself
    for (const [i, cell] of X_WINS.entries()) await play(s, id, i % 2, move(cell))
    await statusEverywhere(s, id, 'closed')
    // Alice (X) won the 500 pot: her ledger balance is 700 + 500.
    await s.until('both ledgers settled', () => s.nodes.every((n) => ledgerView(n, ledgerId).guarantees.length === 0))
    for (const n of s.nodes) expect(ledgerView(n, ledgerId)).toEqual({ leader: 1_200n, follower: 800n, guarantees: [] })
    await s.checkReplays()
  }, 60_000)

  test("a ledger that cannot afford the deposits fails the funding with the ledger's reason", async () => {
    const s = await start(85, 2)
    const [alice, bob] = s.nodes as [SimNode, SimNode]
    const ledgerId = await openLedger(s, alice, bob, 100n)
    const id = await create(s, alice, { participants: [alice.address, bob.address], appId: TICTACTOE.appId, params: Uint8Array.of(2), deposits: [500n, 50n], funding: 'ledger', nonce: 6n })
    await statusEverywhere(s, id, 'failed')
    expect(s.objective(alice, appFundId(id))!.failure?.code).toBe('insufficient_funds')
    expect(ledgerView(alice, ledgerId)).toEqual({ leader: 100n, follower: 100n, guarantees: [] })
    await expect(submit(s, bob, id, move(0))).rejects.toMatchObject({ code: 'not_funded' })
  }, 60_000)

  test('ledger funding without a ledger between the two fails with no_ledger', async () => {
    const s = await start(86, 2)
    const [alice, bob] = s.nodes as [SimNode, SimNode]
    const id = await create(s, alice, { participants: [alice.address, bob.address], appId: TICTACTOE.appId, params: Uint8Array.of(2), deposits: [1n, 1n], funding: 'ledger', nonce: 7n })
    await statusEverywhere(s, id, 'failed')
    expect(s.objective(bob, appFundId(id))!.failure?.code).toBe('no_ledger')
  }, 60_000)
})
