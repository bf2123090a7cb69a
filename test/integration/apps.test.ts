// App channels in the engine (issue 7): in-process engines on the in-memory network (with seeded drops,
// duplicates and reordering) and on RocksDB, running the built sample apps (apps/build/*.wasm) through
// the production WASM runtime. Two players finish a tic-tac-toe game, four participants edit a document,
// two of four propose one turn at once (it stays contested: never two states at one turn, issue 13), a
// participant crashes mid-game and resumes, hostile peer input is refused and counted while honest play
// goes on, exported logs pass verifyLog, and replaying a node's journal reproduces its store byte for byte.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, test, vi } from 'vitest'
import type { Address, Bytes32, Hex } from '../../src/core/types.js'
import type { Store } from '../../src/store/store.js'
import type { Signer } from '../../src/core/signer.js'
import { createSigner } from '../../src/core/signer.js'
import { MemoryStore } from '../../src/store/memoryStore.js'
import { RocksStore } from '../../src/store/rocksStore.js'
import { MemoryNetwork } from '../../src/transport/memoryTransport.js'
import type { MemoryNetworkOptions } from '../../src/transport/memoryTransport.js'
import { MEMORY_CONSENSUS_APP } from '../../src/chain/memoryChain.js'
import { Engine, readJournal } from '../../src/engine/engine.js'
import { encodeFrame } from '../../src/engine/frames.js'
import type { Payload } from '../../src/protocols/messages.js'
import type { AppRuntime } from '../../src/wasm/appRuntime.js'
import { WasmAppRuntime } from '../../src/wasm/wasmRuntime.js'
import type { AppDefinition } from '../../src/protocols/app/appData.js'
import { APP_EVENT_KIND } from '../../src/protocols/app/appData.js'
import { appContext, replayEvent, stateAt, verifyLog } from '../../src/protocols/app/replay.js'
import { nextEvent } from '../../src/log/channelLog.js'
import { hashStateOfChannel } from '../../src/core/hashState.js'
import { decodeValue } from '../../src/core/codec.js'
import { recordKey } from '../../src/engine/records.js'
import type { AppChannel } from '../../src/protocols/app/appChannel.js'
import { TEST_POLICY } from '../support/ledgerNetwork.js'
import type { PeerPolicy } from '../../src/engine/policy.js'
import { toAddress, toBytes32 } from '../../src/core/canonical.js'

const BUILD = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'apps', 'build')
const load = (name: string) => WasmAppRuntime.load(new Uint8Array(readFileSync(path.join(BUILD, `${name}.wasm`))))
const TICTACTOE = load('tictactoe')
const DOCUMENT = load('document')
const REGISTRY = new Map<string, AppRuntime>([TICTACTOE, DOCUMENT].map((r) => [r.appId.toLowerCase(), r]))
const apps = (appId: Bytes32) => REGISTRY.get(appId.toLowerCase())
const SNAPSHOT_EVERY = 3
const FAULTS: MemoryNetworkOptions = { seed: 0, drop: 0.1, duplicate: 0.1, reorder: 0.1, maxDelayMs: 3 }

const key = (i: number) => `0x${(0xa1 + i).toString(16).repeat(32)}` as Hex
const mallory = createSigner(`0x${'5e'.repeat(32)}`)

interface AppNode {
  readonly name: string
  readonly address: Address
  readonly signer: Signer
  engine: Engine
  store: Store
  restart(): Promise<void>
}

let cleanup: (() => Promise<void>) | undefined
afterEach(async () => {
  await cleanup?.()
  cleanup = undefined
})

async function createNodes(
  count: number,
  p: { network: MemoryNetworkOptions; durable?: boolean; registry?: (i: number) => typeof apps; appPolicy?: (i: number) => ((d: AppDefinition) => boolean) | undefined; policy?: (i: number) => PeerPolicy | undefined },
): Promise<{ nodes: AppNode[]; network: MemoryNetwork }> {
  const network = new MemoryNetwork(p.network)
  const root = mkdtempSync(path.join(tmpdir(), 'channels-apps-'))
  const nodes: AppNode[] = []
  for (let i = 0; i < count; i++) {
    const signer = createSigner(key(i))
    const name = `p${i}`
    const openStore = async (memory?: MemoryStore): Promise<Store> => (p.durable ? RocksStore.open(path.join(root, name)) : (memory ?? new MemoryStore()))
    const start = (store: Store) =>
      Engine.open({
        store,
        signer,
        transport: network.connect(signer.address),
        consensusApp: MEMORY_CONSENSUS_APP,
        policy: p.policy?.(i) ?? TEST_POLICY,
        apps: p.registry?.(i) ?? apps,
        ...(p.appPolicy?.(i) ? { appPolicy: p.appPolicy(i)! } : {}),
        appSnapshotIntervalEvents: SNAPSHOT_EVERY,
        tickIntervalMs: 20,
      })
    const store = await openStore()
    const node: AppNode = {
      name,
      address: signer.address,
      signer,
      store,
      engine: await start(store),
      async restart() {
        await node.engine.close()
        let memory: MemoryStore | undefined
        if (node.store instanceof MemoryStore) memory = new MemoryStore(node.store.snapshot())
        await node.store.close()
        node.store = await openStore(memory)
        node.engine = await start(node.store)
      },
    }
    nodes.push(node)
  }
  cleanup = async () => {
    for (const node of nodes) {
      await node.engine.close()
      await node.store.close()
    }
    rmSync(root, { recursive: true, force: true })
  }
  return { nodes, network }
}

const deposits = (n: number) => Array.from({ length: n }, (_, i) => BigInt(1000 * (i + 1)))

function definitionOf(runtime: AppRuntime, nodes: readonly AppNode[], nonce: bigint): AppDefinition {
  return {
    fixed: { participants: nodes.map((n) => n.address), channelNonce: nonce, appDefinition: MEMORY_CONSENSUS_APP, challengeDuration: 86_400 },
    appId: runtime.appId,
    params: Uint8Array.of(nodes.length),
    asset: toAddress('0x0000000000000000000000000000000000000000'),
    deposits: deposits(nodes.length),
  }
}

async function openChannel(runtime: AppRuntime, nodes: readonly AppNode[], nonce: bigint): Promise<Bytes32> {
  const id = await nodes[0]!.engine.createAppChannel({ participants: nodes.map((n) => n.address), appId: runtime.appId, params: Uint8Array.of(nodes.length), deposits: deposits(nodes.length), funding: 'none', nonce })
  for (const node of nodes) await node.engine.waitForAppTurn(id, 0n)
  return id
}

/** The author proposes once its own node holds the previous turn signed by all; resolves when every node holds the new one. */
async function play(nodes: readonly AppNode[], id: Bytes32, author: number, payload: Uint8Array): Promise<bigint> {
  const node = nodes[author]!
  const before = node.engine.getAppChannel(id)!
  if (before.pending) await node.engine.waitForAppTurn(id, before.pending.turnNum)
  const { seq, turnNum } = await node.engine.submitEvent(id, payload)
  expect(seq).toBe(turnNum + 1n)
  for (const n of nodes) await n.engine.waitForAppTurn(id, turnNum)
  return turnNum
}

const move = (cell: number) => Uint8Array.of(0x01, cell)
const insert = (position: number, text: string) => Uint8Array.of(0x01, position & 0xff, position >> 8, text.length & 0xff, text.length >> 8, ...Buffer.from(text))
const FINISH = Uint8Array.of(0x03)
/** X (participant 0) takes the top row: 0, 3, 1, 4, 2. */
const X_WINS = [0, 3, 1, 4, 2]

async function expectSameLogs(nodes: readonly AppNode[], id: Bytes32, runtime: AppRuntime): Promise<void> {
  const reference = await nodes[0]!.engine.exportAppLog(id)
  const verified = verifyLog(reference, runtime)
  expect(verified.ok, JSON.stringify(verified, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).toBe(true)
  for (const node of nodes.slice(1)) {
    const log = await node.engine.exportAppLog(id)
    expect(log.events.map((e) => e.hash)).toEqual(reference.events.map((e) => e.hash))
    expect(verifyLog(log, runtime).ok).toBe(true)
  }
}

async function waitQuiet(nodes: readonly AppNode[]): Promise<void> {
  const start = Date.now()
  while (nodes.some((n) => n.engine.unacknowledged > 0)) {
    if (Date.now() - start > 30_000) throw new Error('outboxes did not drain')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  for (const n of nodes) await n.engine.idle()
}

describe('app channels in the engine', () => {
  test('two players finish a tic-tac-toe game over a lossy network; the winner takes the pot; logs verify', async () => {
    const { nodes } = await createNodes(2, { network: { ...FAULTS, seed: 71 } })
    const [alice, bob] = nodes as [AppNode, AppNode]
    const id = await openChannel(TICTACTOE, nodes, 1n)
    expect(bob.engine.getAppChannel(id)!.whoseTurn).toBe(0)
    await expect(bob.engine.submitEvent(id, move(4))).rejects.toMatchObject({ code: 'wrong_turn' })
    for (const [i, cell] of X_WINS.entries()) await play(nodes, id, i % 2, move(cell))
    for (const node of nodes) {
      const view = node.engine.getAppChannel(id)!
      expect(view).toMatchObject({ turnNum: 5n, isFinal: true, whoseTurn: 'nobody', pending: null, outcome: [3000n, 0n] })
      expect(view.latest!.signatures.every((s) => s !== null)).toBe(true)
    }
    await expect(alice.engine.submitEvent(id, move(8))).rejects.toMatchObject({ code: 'channel_final' })
    await expectSameLogs(nodes, id, TICTACTOE)

    // events and states at any seq, from the store: snapshots every 3 events agree with a full replay
    const events = await alice.engine.appEvents(id)
    expect(events.map((e) => e.seq)).toEqual([1n, 2n, 3n, 4n, 5n, 6n])
    expect((await alice.engine.appEvents(id, 2n, 3n)).map((e) => e.seq)).toEqual([2n, 3n])
    for (let seq = 1n; seq <= 6n; seq++) expect(await bob.engine.appStateAt(id, seq)).toEqual(stateAt(events, TICTACTOE, seq).appState)
    expect(Buffer.from(await alice.engine.appStateAt(id, 6n))).toEqual(Buffer.from(alice.engine.getAppChannel(id)!.appState!))
    await expect(alice.engine.appStateAt(id, 7n)).rejects.toMatchObject({ code: 'out_of_range' })

    // the store: one signed state per turn, a snapshot every 3 events, and a compact channel record
    const keys = (await dump(alice.store)).map(([k]) => Buffer.from(k, 'hex').toString('latin1'))
    expect(keys.filter((k) => k.startsWith(`t/${id.toLowerCase()}/`))).toHaveLength(6)
    expect(keys.filter((k) => k.startsWith(`n/${id.toLowerCase()}/`))).toHaveLength(2)
    const record = decodeValue((await alice.store.get(recordKey('apps', id.toLowerCase())))!, Number.MAX_SAFE_INTEGER) as AppChannel
    expect(record.earlier).toBeNull()
    expect(record.latest!.signed.state.turnNum).toBe(5n)
  }, 60_000)

  test('four participants edit a document on RocksDB and finish', async () => {
    const { nodes } = await createNodes(4, { network: { ...FAULTS, seed: 72 }, durable: true })
    const id = await openChannel(DOCUMENT, nodes, 2n)
    let text = ''
    for (let i = 0; i < 9; i++) {
      const word = `w${i}`
      await play(nodes, id, i % 4, insert(text.length, word))
      text += word
    }
    const last = await play(nodes, id, 2, FINISH)
    for (const n of nodes) {
      const view = n.engine.getAppChannel(id)!
      expect(view).toMatchObject({ turnNum: last, isFinal: true, pending: null })
      expect(Buffer.from(view.appState!.subarray(4, 4 + text.length)).toString()).toBe(text)
      expect(view.outcome.reduce((s, a) => s + a, 0n)).toBe(10_000n)
    }
    await expectSameLogs(nodes, id, DOCUMENT)
  }, 90_000)

  test('two of four participants propose one turn at once: it is contested, pending everywhere and signed by all nowhere (never two states at one turn)', async () => {
    const { nodes } = await createNodes(4, { network: { seed: 75 } })
    const id = await openChannel(DOCUMENT, nodes, 5n)
    await play(nodes, id, 0, insert(0, 'w0'))
    const refusedBefore = nodes.map((n) => n.engine.rejections.counts['conflicting_update'] ?? 0)
    // Each author signs its own proposal before the other's arrives: neither can ever be signed by all.
    const [one, three] = await Promise.all([nodes[1]!.engine.submitEvent(id, insert(0, 'one')), nodes[3]!.engine.submitEvent(id, insert(0, 'three'))])
    expect(one.turnNum).toBe(2n)
    expect(three.turnNum).toBe(2n)
    await waitQuiet(nodes)
    // Every node signed the one it received first and refused the other, once: conflicting_update.
    nodes.forEach((n, i) => expect(n.engine.rejections.counts['conflicting_update'] ?? 0).toBe(refusedBefore[i]! + 1))
    for (const [i, n] of nodes.entries()) {
      const view = n.engine.getAppChannel(id)!
      expect(view.turnNum).toBe(1n)
      expect(view.pending!.turnNum).toBe(2n)
      expect(view.pending!.missing.length).toBeGreaterThan(0)
      if (i === 1 || i === 3) expect(view.pending!.author).toBe(nodes[i]!.address)
      await expect(n.engine.submitEvent(id, insert(0, 'later'))).rejects.toMatchObject({ code: 'update_in_flight' })
    }
    // Each author's turn lacks the other author's signature, and shows its refusal once the notice arrives.
    for (const [author, other] of [[1, 3], [3, 1]] as const) {
      expect(nodes[author]!.engine.getAppChannel(id)!.pending!.missing).toContain(other)
      await vi.waitFor(() => expect(nodes[author]!.engine.getAppChannel(id)!.pending!.refusedBy).toContainEqual({ participant: other, code: 'conflicting_update' }), { timeout: 10_000 })
    }
    await expectSameLogs(nodes, id, DOCUMENT)
    for (const n of nodes) expect((await n.engine.exportAppLog(id)).signedStates.map((st) => st.state.turnNum)).toEqual([0n, 1n])
  }, 60_000)

  test('a participant crash-restarted mid-game (twice, once with an update in flight) resumes and the game ends', async () => {
    const { nodes } = await createNodes(2, { network: { ...FAULTS, seed: 73 } })
    const [alice, bob] = nodes as [AppNode, AppNode]
    const id = await openChannel(TICTACTOE, nodes, 3n)
    await play(nodes, id, 0, move(X_WINS[0]!))
    await bob.restart()
    expect(bob.engine.getAppChannel(id)!.turnNum).toBe(1n)
    await play(nodes, id, 1, move(X_WINS[1]!))
    // alice proposes and bob crashes before (or while) it arrives: the outboxes deliver after the restart
    const { turnNum } = await alice.engine.submitEvent(id, move(X_WINS[2]!))
    await bob.restart()
    for (const n of nodes) await n.engine.waitForAppTurn(id, turnNum)
    await alice.restart()
    for (const [i, cell] of X_WINS.slice(3).entries()) await play(nodes, id, (i + 3) % 2, move(cell))
    for (const n of nodes) expect(n.engine.getAppChannel(id)).toMatchObject({ turnNum: 5n, isFinal: true, outcome: [3000n, 0n] })
    await expectSameLogs(nodes, id, TICTACTOE)
    for (let seq = 1n; seq <= 6n; seq++) expect(await bob.engine.appStateAt(id, seq)).toEqual(await alice.engine.appStateAt(id, seq))
  }, 60_000)

  test('hostile peer input is refused and counted, nothing is signed, and honest play goes on', async () => {
    const { nodes } = await createNodes(2, { network: { seed: 74 }, registry: (i) => (i === 0 ? apps : (appId) => (appId.toLowerCase() === TICTACTOE.appId.toLowerCase() ? TICTACTOE : undefined)) })
    const [alice, bob] = nodes as [AppNode, AppNode]
    const definition = definitionOf(TICTACTOE, nodes, 4n)
    const id = await openChannel(TICTACTOE, nodes, 4n)
    expect(id).toBe(appContext(definition).id)
    let frameSeq = 1_000_000n
    async function expectRejected(node: AppNode, from: Address, payload: Payload, code: string): Promise<void> {
      const before = node.engine.rejections.counts[code] ?? 0
      const turn = node.engine.getAppChannel(id)!.turnNum
      await node.engine.receive(from, encodeFrame({ seq: frameSeq++, payloads: [payload], acks: [] }))
      await node.engine.idle()
      expect(node.engine.rejections.counts[code] ?? 0, JSON.stringify(node.engine.rejections.recent.at(-1))).toBe(before + 1)
      expect(node.engine.getAppChannel(id)).toMatchObject({ turnNum: turn, pending: null })
    }
    /** Bob's update for the next turn as an honest bob builds it, or signed by `signer`, or linked to `prevHash`. */
    function bobUpdate(cell: number, p: { signer?: Signer; prevHash?: Bytes32 } = {}): Payload {
      const view = alice.engine.getAppChannel(id)!
      const head = { seq: view.head!.seq, hash: p.prevHash ?? view.head!.hash }
      const event = nextEvent(head, { kind: APP_EVENT_KIND, payload: move(cell), author: bob.address })
      let state = { ...view.latest!.state, turnNum: view.turnNum! + 1n }
      try {
        state = replayEvent(appContext(definition), TICTACTOE, view.appState!, event).state
      } catch {
        // not bob's turn: the receiver refuses before it compares states
      }
      const signature = (p.signer ?? bob.signer).signHash(hashStateOfChannel(id, state))
      return { kind: 'appUpdate', channelId: id, update: { event, signedState: { state, signatures: [null, signature] }, baseSignatures: view.latest!.signatures as Hex[] } }
    }

    // alice's turn: an update authored by bob is out of turn
    await expectRejected(alice, bob.address, bobUpdate(4), 'wrong_turn')
    // a stranger's open, and an open of an app bob does not run
    const stranger = { kind: 'appOpen', definition, stateHash: toBytes32(`0x${'00'.repeat(32)}`), signature: mallory.signHash(toBytes32(`0x${'01'.repeat(32)}`)) } as const
    await expectRejected(alice, mallory.address, stranger, 'not_a_participant')
    const before = bob.engine.rejections.counts['unknown_app'] ?? 0
    await expect(alice.engine.createAppChannel({ participants: [alice.address, bob.address], appId: DOCUMENT.appId, params: Uint8Array.of(2), deposits: [1n, 1n], nonce: 5n })).resolves.toBeDefined()
    await waitQuiet(nodes)
    expect(bob.engine.rejections.counts['unknown_app']).toBe(before + 1)
    await expect(bob.engine.createAppChannel({ participants: [alice.address, bob.address], appId: DOCUMENT.appId, params: Uint8Array.of(2), deposits: [1n, 1n], nonce: 6n })).rejects.toMatchObject({ code: 'unknown_app' })

    await play(nodes, id, 0, move(0))
    // bob's turn: a state signed by mallory, and an event that does not link to alice's log
    await expectRejected(alice, bob.address, bobUpdate(3, { signer: mallory }), 'bad_signature')
    await expectRejected(alice, bob.address, bobUpdate(3, { prevHash: toBytes32(`0x${'77'.repeat(32)}`) }), 'bad_log_link')
    // a countersignature that does not recover to its sender
    const forged = { kind: 'appCountersignature', channelId: id, countersignature: { turnNum: 2n, stateHash: toBytes32(`0x${'42'.repeat(32)}`), signature: mallory.signHash(toBytes32(`0x${'42'.repeat(32)}`)) } } as const
    await expectRejected(alice, bob.address, forged, 'bad_signature')
    // a concluding state (closing) while the game goes on, one from a stranger, one for a channel that is not there
    const latest = alice.engine.getAppChannel(id)!.latest!.state
    const concluding = { ...latest, turnNum: latest.turnNum + 1n, isFinal: true }
    const closeBy = (signer: Signer, channelId: Bytes32 = id): Payload => ({
      kind: 'signedState',
      objectiveId: `appdefund:${channelId}`,
      signedState: { state: concluding, signatures: [null, signer.signHash(hashStateOfChannel(id, concluding))] },
    })
    await expectRejected(alice, bob.address, closeBy(bob.signer), 'app_not_final')
    await expectRejected(alice, mallory.address, closeBy(mallory), 'not_a_participant')
    await expectRejected(alice, bob.address, closeBy(bob.signer, toBytes32(`0x${'66'.repeat(32)}`)), 'no_such_objective')
    expect(alice.engine.getObjective(`appdefund:${id}`)).toBeUndefined()

    for (const [i, cell] of X_WINS.slice(1).entries()) await play(nodes, id, (i + 1) % 2, move(cell))
    expect(alice.engine.getAppChannel(id)).toMatchObject({ turnNum: 5n, isFinal: true, outcome: [3000n, 0n] })
    await expectSameLogs(nodes, id, TICTACTOE)
  }, 60_000)

  test('a node whose app policy declines a channel refuses the open with a typed, counted error and joins nothing', async () => {
    const potAtMost = (limit: bigint) => (d: AppDefinition) => d.deposits.reduce((a, b) => a + b, 0n) <= limit
    const { nodes } = await createNodes(2, { network: { seed: 76 }, appPolicy: (i) => (i === 1 ? potAtMost(5_000n) : undefined) })
    const [alice, bob] = nodes as [AppNode, AppNode]
    await openChannel(TICTACTOE, nodes, 1n) // a pot of 3,000: accepted
    const declined = await alice.engine.createAppChannel({ participants: [alice.address, bob.address], appId: TICTACTOE.appId, params: Uint8Array.of(2), deposits: [10_000n, 10_000n], nonce: 2n })
    await waitQuiet(nodes)
    expect(bob.engine.rejections.counts['app_declined']).toBe(1)
    expect(bob.engine.getAppChannel(declined)).toBeUndefined()
    expect(alice.engine.getAppChannel(declined)).toMatchObject({ turnNum: null })
    expect(bob.engine.appChannels()).toHaveLength(1)
    // bob's node said why (a notice): alice's opening shows it and will not open
    await vi.waitFor(() => expect(alice.engine.getAppChannel(declined)).toMatchObject({ status: 'failed', pending: { turnNum: 0n, refusedBy: [{ participant: 1, code: 'app_declined' }] } }))
    expect(alice.engine.getAppChannel(await openChannel(TICTACTOE, nodes, 3n))).toMatchObject({ status: 'open', turnNum: 0n, pending: null })
  })

  test('an app channel another opens passes the node\'s PeerPolicy: a stranger is refused (peer_not_allowed), a deposit over the limit too', async () => {
    const limited = (i: number): PeerPolicy | undefined => (i === 1 ? { ...TEST_POLICY, peers: [], maxPerChannel: 1_000n } : i === 2 ? { ...TEST_POLICY, maxPerChannel: 1_000n } : undefined)
    const { nodes } = await createNodes(3, { network: { seed: 78 }, policy: limited })
    const [alice, bob, carol] = nodes as [AppNode, AppNode, AppNode]
    // bob accepts nobody: even a channel without deposits is refused, and he says why
    const toBob = await alice.engine.createAppChannel({ participants: [alice.address, bob.address], appId: TICTACTOE.appId, params: Uint8Array.of(2), deposits: [0n, 0n], funding: 'none', nonce: 1n })
    // carol accepts alice, but not 5,000 of her own money on chain
    const toCarol = await alice.engine.createAppChannel({ participants: [alice.address, carol.address], appId: TICTACTOE.appId, params: Uint8Array.of(2), deposits: [5_000n, 5_000n], funding: 'direct', nonce: 2n })
    await waitQuiet(nodes)
    expect(bob.engine.rejections.counts).toMatchObject({ peer_not_allowed: 1 })
    expect(carol.engine.rejections.counts).toMatchObject({ over_channel_limit: 1 })
    expect(bob.engine.appChannels()).toHaveLength(0)
    expect(carol.engine.appChannels()).toHaveLength(0)
    await vi.waitFor(() => expect(alice.engine.getAppChannel(toBob)).toMatchObject({ status: 'failed', pending: { refusedBy: [{ participant: 1, code: 'peer_not_allowed' }] } }))
    await vi.waitFor(() => expect(alice.engine.getAppChannel(toCarol)).toMatchObject({ status: 'failed', pending: { refusedBy: [{ participant: 1, code: 'over_channel_limit' }] } }))
    // within the limit, carol joins
    const within = await alice.engine.createAppChannel({ participants: [alice.address, carol.address], appId: TICTACTOE.appId, params: Uint8Array.of(2), deposits: [500n, 500n], funding: 'direct', nonce: 3n })
    await vi.waitFor(() => expect(carol.engine.getAppChannel(within)).toMatchObject({ turnNum: 0n }))
  })

  test('a participant whose node refuses an update tells its author why; the turn stays pending and nothing is signed', async () => {
    // bob's node runs a tic-tac-toe that refuses the centre cell, as a node with another build of the app might
    const picky: AppRuntime = {
      appId: TICTACTOE.appId,
      init: (params) => TICTACTOE.init(params),
      apply: (state, event, author) => (event[1] === 4 ? { ok: false, code: 99 } : TICTACTOE.apply(state, event, author)),
      outcome: (state) => TICTACTOE.outcome(state),
      isFinal: (state) => TICTACTOE.isFinal(state),
      whoseTurn: (state) => TICTACTOE.whoseTurn(state),
    }
    const { nodes } = await createNodes(2, { network: { seed: 77 }, registry: (i) => (i === 1 ? (appId) => (appId.toLowerCase() === TICTACTOE.appId.toLowerCase() ? picky : undefined) : apps) })
    const [alice, bob] = nodes as [AppNode, AppNode]
    const id = await openChannel(TICTACTOE, nodes, 8n)
    await play(nodes, id, 0, move(0))
    await play(nodes, id, 1, move(3))
    const { turnNum } = await alice.engine.submitEvent(id, move(4))
    await vi.waitFor(() => expect(alice.engine.getAppChannel(id)!.pending).toEqual({ turnNum, author: alice.address, missing: [1], refusedBy: [{ participant: 1, code: 'app_rejected' }] }))
    expect(bob.engine.rejections.counts['app_rejected']).toBe(1)
    expect(bob.engine.getAppChannel(id)).toMatchObject({ turnNum: 2n, pending: null })
    expect(alice.engine.getAppChannel(id)).toMatchObject({ status: 'open', turnNum: 2n })
    await expect(alice.engine.submitEvent(id, move(5))).rejects.toMatchObject({ code: 'update_in_flight' })

    // notices are checked like any peer input: a stranger's is refused; one about another proposal changes nothing
    const notice = (code: string, eventHash: Bytes32 = toBytes32(`0x${'77'.repeat(32)}`)): Uint8Array => encodeFrame({ seq: null, payloads: [{ kind: 'appRefusal', channelId: id, turnNum, eventHash, code }], acks: [] })
    const strangers = alice.engine.rejections.counts['not_a_participant'] ?? 0
    await alice.engine.receive(mallory.address, notice('app_declined'))
    await alice.engine.receive(bob.address, notice('wrong_turn'))
    await alice.engine.idle()
    expect(alice.engine.rejections.counts['not_a_participant']).toBe(strangers + 1)
    expect(alice.engine.getAppChannel(id)!.pending!.refusedBy).toEqual([{ participant: 1, code: 'app_rejected' }])
    await waitQuiet(nodes)
  })

  test('replaying a node\'s journal, app channels included, reproduces its store byte for byte', async () => {
    const { nodes } = await createNodes(2, { network: { ...FAULTS, seed: 75 } })
    const id = await openChannel(TICTACTOE, nodes, 7n)
    for (const [i, cell] of X_WINS.slice(0, 4).entries()) await play(nodes, id, i % 2, move(cell))
    await nodes[0]!.engine.receive(nodes[1]!.address, Uint8Array.of(1, 2, 3)) // a rejection is part of the state too
    await waitQuiet(nodes)
    for (const [i, node] of nodes.entries()) {
      const journal = []
      for await (const entry of readJournal(node.store)) journal.push(entry)
      const replayStore = new MemoryStore()
      const replayed = await Engine.replay({ store: replayStore, signer: createSigner(key(i)), consensusApp: MEMORY_CONSENSUS_APP, policy: TEST_POLICY, apps, appSnapshotIntervalEvents: SNAPSHOT_EVERY }, journal)
      await replayed.close()
      expect(await dump(replayStore)).toEqual(await dump(node.store))
      expect(await replayed.exportAppLog(id)).toEqual(await node.engine.exportAppLog(id))
    }
  }, 60_000)
})

async function dump(store: Store): Promise<[string, string][]> {
  const out: [string, string][] = []
  for await (const [k, v] of store.scan({})) out.push([Buffer.from(k).toString('hex'), Buffer.from(v).toString('hex')])
  return out
}
