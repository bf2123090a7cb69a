// Engine properties (issue 3): determinism (replaying a journal rebuilds a byte-identical store) and
// robustness (hostile or broken peer input is refused with a typed, counted rejection; the node goes on).
import { afterEach, describe, expect, test, vi } from 'vitest'
import type { Address, Bytes32, Hex } from '../../src/core/types.js'
import type { Store } from '../../src/store/store.js'
import { MemoryStore } from '../../src/store/memoryStore.js'
import { createSigner } from '../../src/core/signer.js'
import { addressToDestination } from '../../src/core/outcome.js'
import { signBy, unsigned } from '../../src/core/signedState.js'
import { encodeEnvelope, encodeValue } from '../../src/core/codec.js'
import { MAX_MESSAGE_BYTES } from '../../src/core/limits.js'
import { readHead } from '../../src/store/eventStore.js'
import { JOURNAL_LOG_ID } from '../../src/store/keys.js'
import { Engine, readJournal } from '../../src/engine/engine.js'
import { decodeInput } from '../../src/engine/inputs.js'
import { encodeFrame } from '../../src/engine/frames.js'
import { recordKey } from '../../src/engine/records.js'
import type { Payload } from '../../src/protocols/messages.js'
import { directFundId } from '../../src/protocols/directfund/directfund.js'
import { channelId } from '../../src/core/channelId.js'
import { propose } from '../../src/protocols/ledger/consensusChannel.js'
import { MEMORY_CONSENSUS_APP } from '../../src/chain/memoryChain.js'
import type { ChainEvent, ChainService } from '../../src/chain/chainService.js'
import type { Transport } from '../../src/transport/transport.js'
import type { TestNetwork, TestNode } from '../support/ledgerNetwork.js'
import { TEST_POLICY, createTestNetwork, eventually, target, updateAgreed } from '../support/ledgerNetwork.js'
import { REFUSE_UNSOLICITED } from '../../src/engine/policy.js'
import { readFileSync } from 'node:fs'
import { WasmAppRuntime } from '../../src/wasm/wasmRuntime.js'
import { MemoryNetwork } from '../../src/transport/memoryTransport.js'
import { ManualScheduler } from '../../src/engine/scheduler.js'
import { toAddress, toBytes32 } from '../../src/core/canonical.js'

const ALICE_KEY = `0x${'11'.repeat(32)}` as Hex
const BOB_KEY = `0x${'22'.repeat(32)}` as Hex
const MALLORY_KEY = `0x${'33'.repeat(32)}` as Hex
const mallory = createSigner(MALLORY_KEY)

let net: TestNetwork | undefined
afterEach(async () => {
  await net?.close()
  net = undefined
})

async function openLedger(): Promise<{ alice: TestNode; bob: TestNode; ledgerId: Bytes32 }> {
  net = await createTestNetwork({ network: { seed: 9 } })
  const alice = await net.node('alice', ALICE_KEY)
  const bob = await net.node('bob', BOB_KEY)
  const id = await alice.engine.directFund({ counterparty: bob.address, myDeposit: 100n, theirDeposit: 100n, nonce: 1n })
  await alice.engine.waitForObjective(id)
  const ledgerId = id.slice('directfund:'.length) as Bytes32
  await eventually('bob has the ledger', () => bob.engine.getLedger(ledgerId) !== undefined)
  return { alice, bob, ledgerId }
}

const add = (i: number, alice: TestNode, bob: TestNode) => ({
  kind: 'add' as const,
  target: target(i),
  left: addressToDestination(alice.address),
  right: addressToDestination(bob.address),
  leftAmount: 2n,
  rightAmount: 1n,
})

async function dump(store: Store): Promise<[string, string][]> {
  const out: [string, string][] = []
  for await (const [k, v] of store.scan({})) out.push([Buffer.from(k).toString('hex'), Buffer.from(v).toString('hex')])
  return out
}

describe('determinism', () => {
  test('replaying a node\'s journal into a fresh engine reproduces its store byte for byte', async () => {
    const { alice, bob, ledgerId } = await openLedger()
    await Promise.all([0, 1, 2, 3, 4, 5].map((i) => updateAgreed(i % 2 ? bob : alice, i % 2 ? alice : bob, ledgerId, add(i, alice, bob))))
    await eventually('guarantees land', () => alice.engine.getLedger(ledgerId)?.supported.vars.outcome.guarantees.length === 6 && alice.engine.unacknowledged === 0 && bob.engine.unacknowledged === 0)
    // a refused frame that was journaled is part of the state too (one that does not even decode is refused at
    // admission, before the journal, and is not)
    await alice.engine.receive(bob.address, encodeFrame({ seq: 1_000n, payloads: [{ kind: 'syncRequest', ledgerId: toBytes32(`0x${'77'.repeat(32)}`) }], acks: [] }))
    await alice.engine.receive(bob.address, Uint8Array.of(1, 2, 3))
    for (const node of [alice, bob]) {
      await node.engine.idle()
      const journal = []
      for await (const entry of readJournal(node.store)) journal.push(entry)
      expect(journal.length).toBeGreaterThan(10)
      const replayStore = new MemoryStore()
      // no policy given: the one the node ran with is in its journal (setPolicy), and the replay decides with it
      const replayed = await Engine.replay({ store: replayStore, signer: createSigner(node === alice ? ALICE_KEY : BOB_KEY), consensusApp: MEMORY_CONSENSUS_APP }, journal)
      await replayed.close()
      expect(await dump(replayStore)).toEqual(await dump(node.store))
    }
  })

  test('the same holds with app channels: their table, event logs, signed turns and snapshots', async () => {
    const tictactoe = WasmAppRuntime.load(new Uint8Array(readFileSync(new URL('../../apps/build/tictactoe.wasm', import.meta.url))))
    const apps = (appId: Bytes32) => (appId.toLowerCase() === tictactoe.appId.toLowerCase() ? tictactoe : undefined)
    const network = new MemoryNetwork({ seed: 19, drop: 0.1, duplicate: 0.1, reorder: 0.1, maxDelayMs: 2 })
    const options = (key: Hex, store: Store) => ({ store, signer: createSigner(key), consensusApp: MEMORY_CONSENSUS_APP, policy: TEST_POLICY, apps, appSnapshotIntervalEvents: 2 })
    const nodes = [ALICE_KEY, BOB_KEY].map((key) => ({ key, store: new MemoryStore() }))
    const engines = await Promise.all(nodes.map(({ key, store }) => Engine.open({ ...options(key, store), transport: network.connect(createSigner(key).address), tickIntervalMs: 10 })))
    try {
      const [alice, bob] = engines as [Engine, Engine]
      const id = await alice.createAppChannel({ participants: [alice.address, bob.address], appId: tictactoe.appId, params: Uint8Array.of(2), deposits: [5n, 5n], funding: 'none', nonce: 1n })
      for (const [i, cell] of [4, 0, 8, 2].entries()) {
        const mover = i % 2 === 0 ? alice : bob
        await mover.waitForAppTurn(id, BigInt(i))
        await mover.submitEvent(id, Uint8Array.of(1, cell))
      }
      for (const engine of engines) await engine.waitForAppTurn(id, 4n)
      await eventually('outboxes drained', () => engines.every((e) => e.unacknowledged === 0))
      for (const engine of engines) await engine.idle()
      for (const [i, { key, store }] of nodes.entries()) {
        const journal = []
        for await (const entry of readJournal(store)) journal.push(entry)
        const replayStore = new MemoryStore()
        await (await Engine.replay(options(key, replayStore), journal)).close()
        expect(await dump(replayStore)).toEqual(await dump(store))
        expect((await dump(store)).length, `node ${i}`).toBeGreaterThan(journal.length + 10)
      }
    } finally {
      for (const engine of engines) await engine.close()
    }
  })

  test('a replay with a different key diverges (the comparison can fail)', async () => {
    const { alice } = await openLedger()
    await alice.engine.idle()
    const journal = []
    for await (const entry of readJournal(alice.store)) journal.push(entry)
    const replayStore = new MemoryStore()
    await (await Engine.replay({ store: replayStore, signer: mallory, consensusApp: MEMORY_CONSENSUS_APP }, journal)).close()
    expect(await dump(replayStore)).not.toEqual(await dump(alice.store))
  })
})

describe('group commits', () => {
  test('a step that only drops acknowledged outbox entries skips the fsync; one that acknowledges a frame does not; a crash that loses the former loses nothing', async () => {
    const { alice, bob, ledgerId } = await openLedger()
    await eventually('both outboxes drained', () => alice.engine.unacknowledged === 0 && bob.engine.unacknowledged === 0)
    await bob.engine.agreeLedgerUpdate(ledgerId, add(1, alice, bob))
    const commits = vi.spyOn(bob.store, 'commit')
    const id = await alice.engine.updateLedger(ledgerId, add(1, alice, bob))
    expect((await alice.engine.waitForObjective(id)).status).toBe('completed')
    // Alice has nothing to send after the countersignature, so her ack goes alone after a short delay.
    await eventually('bob hears the ack', () => bob.engine.unacknowledged === 0)
    const syncs = commits.mock.calls.map(([, options]) => options?.sync ?? true)
    expect(syncs[0]).toBe(true) // the proposal: countersigned and acknowledged, so durable first
    expect(syncs.at(-1)).toBe(false) // the ack-only frame
    commits.mockRestore()

    // Bob crashes: the unsynced step is lost, his countersignature is back in his outbox and is resent;
    // Alice deduplicates it and acknowledges again. Nothing else changed.
    const turn = bob.engine.getLedger(ledgerId)!.supported.vars.turnNum
    await bob.restart()
    expect(bob.engine.getLedger(ledgerId)!.supported.vars.turnNum).toBe(turn)
    await eventually('bob hears the ack again', () => bob.engine.unacknowledged === 0)
    const next = await updateAgreed(alice, bob, ledgerId, add(2, alice, bob))
    expect((await alice.engine.waitForObjective(next)).status).toBe('completed')
  })
})

describe('hostile and broken peer input', () => {
  let seq = 1_000_000n
  const frame = (...payloads: Payload[]) => encodeFrame({ seq: seq++, payloads, acks: [] })

  async function expectRejected(node: TestNode, from: Address, bytes: Uint8Array, code: string) {
    const before = node.engine.rejections.counts[code] ?? 0
    await node.engine.receive(from, bytes)
    expect(node.engine.rejections.counts[code] ?? 0, `${code}: ${JSON.stringify(node.engine.rejections.recent.at(-1))}`).toBe(before + 1)
    expect(node.engine.rejections.recent.at(-1)?.code).toBe(code)
  }

  test('each bad input is refused with its code, counted, and the ledger keeps working', async () => {
    const { alice, bob, ledgerId } = await openLedger()
    const otherLedger = `0x${'77'.repeat(32)}` as Bytes32
    const ledger = alice.engine.getLedger(ledgerId)!

    // malformed bytes, and a well-formed envelope of the wrong kind
    await expectRejected(alice, bob.address, Uint8Array.of(0xc1, 0x00), 'codec')
    await expectRejected(alice, bob.address, encodeEnvelope('hello', 1), 'codec')
    // a state for an unknown channel
    await expectRejected(alice, bob.address, frame({ kind: 'proposal', ledgerId: otherLedger, signed: { proposal: add(50, alice, bob), turnNum: 3n, signature: `0x${'11'.repeat(64)}1b` } }), 'no_such_ledger')
    // a message from a non-participant
    await expectRejected(alice, mallory.address, frame({ kind: 'syncRequest', ledgerId }), 'not_a_participant')
    // the follower may not propose
    const forged = propose({ ...ledger }, add(51, alice, bob), createSigner(ALICE_KEY)).signed
    await expectRejected(alice, bob.address, frame({ kind: 'proposal', ledgerId, signed: forged }), 'not_a_participant')
    // a countersignature for a turn never proposed (out of turn)
    await expectRejected(alice, bob.address, frame({ kind: 'countersignature', ledgerId, turnNum: 99n, signature: forged.signature }), 'unknown_turn')
    // a proposal not signed by the leader
    const badlySigned = { ...forged, signature: propose({ ...ledger, fixed: { ...ledger.fixed } }, add(52, alice, bob), createSigner(ALICE_KEY)).signed.signature }
    await expectRejected(bob, alice.address, frame({ kind: 'proposal', ledgerId, signed: badlySigned }), 'bad_proposal_signature')
    // a prefund signed by a stranger
    const prefund = unsigned({ ...ledger.fixed, participants: [alice.address, bob.address], channelNonce: 42n, appData: '0x', turnNum: 0n, isFinal: false, outcome: [{ asset: toAddress('0x0000000000000000000000000000000000000000'), assetMetadata: { assetType: 0, metadata: '0x' }, allocations: [{ destination: addressToDestination(alice.address), amount: 1n, allocationType: 0, metadata: '0x' }, { destination: addressToDestination(bob.address), amount: 1n, allocationType: 0, metadata: '0x' }] }] })
    const strangerSigned = { ...prefund, signatures: [signBy(unsigned({ ...prefund.state, participants: [mallory.address, bob.address] }), mallory).signatures[0]!, null] }
    await expectRejected(bob, alice.address, frame({ kind: 'signedState', objectiveId: directFundId(channelId(prefund.state)), signedState: strangerSigned }), 'not_a_participant')

    // a conflicting proposal: the leader's key signs two different proposals for the same turn
    const equivocation = propose(ledger, add(60, alice, bob), createSigner(ALICE_KEY)).signed
    await bob.engine.receive(alice.address, frame({ kind: 'proposal', ledgerId, signed: equivocation }))
    const conflicting = propose(ledger, add(61, alice, bob), createSigner(ALICE_KEY)).signed
    await expectRejected(bob, alice.address, frame({ kind: 'proposal', ledgerId, signed: conflicting }), 'conflicting_proposal')

    // a refused frame changed nothing, so nothing remembers it: a copy is refused again (ADR 0016), and
    // neither leaves a journal entry
    const replayed = frame({ kind: 'syncRequest', ledgerId: otherLedger })
    await eventually('outboxes drained (no retransmission tick will be journaled)', () => alice.engine.unacknowledged === 0 && bob.engine.unacknowledged === 0)
    await alice.engine.idle()
    const journalBefore = (await readHead(alice.store, JOURNAL_LOG_ID)).seq
    await expectRejected(alice, bob.address, replayed, 'no_such_ledger')
    await alice.engine.receive(bob.address, replayed)
    await alice.engine.idle()
    expect(alice.engine.rejections.counts.no_such_ledger).toBe(3)
    expect((await readHead(alice.store, JOURNAL_LOG_ID)).seq).toBe(journalBefore)

    // nothing was lost and the nodes carry on: an update still completes on alice's side
    expect(alice.engine.getLedger(ledgerId)!.supported.vars.turnNum).toBe(ledger.supported.vars.turnNum)
  })

  test('undecodable or oversized messages are refused at admission: counted, never journaled', async () => {
    const { alice, bob } = await openLedger()
    await eventually('both outboxes drained', () => alice.engine.unacknowledged === 0 && bob.engine.unacknowledged === 0)
    await alice.engine.idle()
    const journalLength = async () => {
      let n = 0
      for await (const entry of readJournal(alice.store)) n += entry ? 1 : 0
      return n
    }
    const before = await journalLength()
    for (let i = 0; i < 1000; i++) await alice.engine.receive(bob.address, Uint8Array.of(0xc1, i & 0xff)) // 0xc1: never used in MessagePack
    await alice.engine.receive(bob.address, new Uint8Array(MAX_MESSAGE_BYTES + 1))
    await alice.engine.idle()
    expect(await journalLength()).toBe(before)
    expect(alice.engine.rejections.counts).toMatchObject({ codec: 1000, message_too_large: 1 })
    expect(alice.engine.rejections.recent.at(-1)).toMatchObject({ code: 'message_too_large', from: bob.address })
  })

  test('after bad input the ledger still takes updates', async () => {
    const { alice, bob, ledgerId } = await openLedger()
    await alice.engine.receive(bob.address, Uint8Array.of(0xff))
    await bob.engine.receive(mallory.address, encodeFrame({ seq: 1n, payloads: [{ kind: 'syncRequest', ledgerId }], acks: [] }))
    const id = await updateAgreed(bob, alice, ledgerId, add(1, alice, bob))
    expect((await bob.engine.waitForObjective(id)).status).toBe('completed')
    await eventually('alice completes too', () => alice.engine.getObjective(id)?.objective.status === 'completed')
    expect(alice.engine.rejections.counts).toEqual({ codec: 1 })
    expect(bob.engine.rejections.counts).toEqual({ not_a_participant: 1 })
  })

  test('API requests with bad parameters are refused with typed errors', async () => {
    const { alice, bob, ledgerId } = await openLedger()
    await expect(alice.engine.updateLedger(toBytes32(`0x${'77'.repeat(32)}`), add(1, alice, bob))).rejects.toMatchObject({ code: 'no_such_ledger' })
    await bob.engine.agreeLedgerUpdate(ledgerId, { ...add(1, alice, bob), leftAmount: 10_000n })
    await expect(alice.engine.updateLedger(ledgerId, { ...add(1, alice, bob), leftAmount: 10_000n })).resolves.toBeTypeOf('string')
    const failed = await alice.engine.waitForObjective((await alice.engine.objectives()).find((o) => o.kind === 'ledgerUpdate')!.id)
    expect(failed.status).toBe('failed')
    expect(failed.failure?.code).toBe('insufficient_funds')
    await eventually('bob learns it failed', () => bob.engine.objectives().some((o) => o.kind === 'ledgerUpdate' && o.status === 'failed'))
    await expect(alice.engine.directFund({ counterparty: bob.address, myDeposit: -1n, theirDeposit: 1n, nonce: 2n })).rejects.toMatchObject({ code: 'out_of_range' })
    await expect(alice.engine.directFund({ counterparty: bob.address, myDeposit: 1n, theirDeposit: 1n, nonce: 1n })).rejects.toMatchObject({ code: 'objective_exists' })
    // an argument the journal cannot record (undefined from plain JavaScript) is refused, nothing else is held up
    const unjournalable = alice.engine.directFund({ counterparty: bob.address, myDeposit: 1n, theirDeposit: 1n, nonce: undefined as never })
    await bob.engine.agreeLedgerUpdate(ledgerId, add(7, alice, bob))
    const alongside = alice.engine.updateLedger(ledgerId, add(7, alice, bob))
    await expect(unjournalable).rejects.toMatchObject({ code: 'codec' })
    expect((await alice.engine.waitForObjective(await alongside)).status).toBe('completed')
  })
})

describe('policy and resync', () => {
  test('a counterparty whose policy declines a ledger: it keeps nothing but the counted refusal, the initiator\'s objective fails with the reason', async () => {
    net = await createTestNetwork({ network: { seed: 5 }, policy: REFUSE_UNSOLICITED })
    const alice = await net.node('alice', ALICE_KEY)
    const bob = await net.node('bob', BOB_KEY)
    const id = await alice.engine.directFund({ counterparty: bob.address, myDeposit: 1n, theirDeposit: 1n, nonce: 3n })
    const failed = await alice.engine.waitForObjective(id)
    expect(failed.status).toBe('failed')
    expect(failed.failure).toEqual({ code: 'peer_not_allowed', summary: 'rejected by peer: this node does not accept objectives from this peer' })
    await eventually('bob counted the refusal', () => bob.engine.rejections.counts.peer_not_allowed === 1)
    expect(bob.engine.rejections.recent.at(-1)).toMatchObject({ code: 'peer_not_allowed', from: alice.address })
    expect(bob.engine.getObjective(id)).toBeUndefined()
    expect(net.chain.events()).toEqual([]) // nobody deposited
  })

  test('a peer back from an empty store (a new epoch) is heard again, and numbers its frames for the new session', async () => {
    const { alice, bob, ledgerId } = await openLedger()
    // both sides exchange enough frames that sequence numbers are well past 1 on each side
    for (let i = 1; i <= 3; i++) expect((await alice.engine.waitForObjective(await updateAgreed(alice, bob, ledgerId, add(i, alice, bob)))).status).toBe('completed')
    await eventually('both outboxes drained', () => alice.engine.unacknowledged === 0 && bob.engine.unacknowledged === 0)
    await bob.engine.close()
    await bob.store.close()
    // bob's store is lost; his node starts again with the same key, a new epoch and sequence numbers from 1
    const reborn = await net!.node('bob-reborn', BOB_KEY)
    expect(reborn.engine.getLedger(ledgerId)).toBeUndefined()
    // his frames reach alice (before epochs they were acknowledged and dropped as duplicates of his old ones)
    const fromBob = await reborn.engine.directFund({ counterparty: alice.address, myDeposit: 7n, theirDeposit: 7n, nonce: 9n })
    expect((await reborn.engine.waitForObjective(fromBob)).status).toBe('completed')
    await eventually('alice has the new ledger', () => alice.engine.getLedger(fromBob.slice('directfund:'.length) as Bytes32) !== undefined)
    // and hers reach him: she numbers them for his new session
    const fromAlice = await alice.engine.directFund({ counterparty: bob.address, myDeposit: 5n, theirDeposit: 5n, nonce: 10n })
    expect((await alice.engine.waitForObjective(fromAlice)).status).toBe('completed')
    // she offered him her view of the ledger he lost; his node, which no longer has it, refused it politely
    await eventually('bob was offered the old ledger', () => (reborn.engine.rejections.counts.no_such_ledger ?? 0) >= 1)
    expect(alice.engine.getLedger(ledgerId)!.supported.vars.outcome.guarantees).toHaveLength(3)
  })

  test('holdings a store kept under the channel id alone (before per-asset holdings) move under the channel\'s asset at open', async () => {
    const { alice, ledgerId } = await openLedger()
    expect(alice.engine.holdings(ledgerId)).toBe(200n)
    await alice.engine.close()
    const stranger = `0x${'5a'.repeat(32)}`
    await alice.store.commit([
      { type: 'del', key: recordKey('holdings', `${ledgerId.toLowerCase()}:0x0000000000000000000000000000000000000000`) },
      { type: 'put', key: recordKey('holdings', ledgerId.toLowerCase()), value: encodeValue(200n) },
      { type: 'put', key: recordKey('holdings', stranger), value: encodeValue(7n) },
    ])
    await alice.restart()
    expect(alice.engine.holdings(ledgerId)).toBe(200n)
    expect(alice.engine.holdings(stranger as Bytes32)).toBe(0n)
    expect(await alice.store.get(recordKey('holdings', ledgerId.toLowerCase()))).toBeUndefined()
    expect(await alice.store.get(recordKey('holdings', stranger))).toBeUndefined()
  })

  test('a changed policy is journaled when the node starts with it, and decides from then on', async () => {
    net = await createTestNetwork({ network: { seed: 6 }, policy: REFUSE_UNSOLICITED })
    const alice = await net.node('alice', ALICE_KEY)
    const bob = await net.node('bob', BOB_KEY)
    const refused = await alice.engine.directFund({ counterparty: bob.address, myDeposit: 1n, theirDeposit: 1n, nonce: 1n })
    expect((await alice.engine.waitForObjective(refused)).failure?.code).toBe('peer_not_allowed')
    // bob's operator now accepts alice: his node journals the new policy as it starts
    await bob.engine.close()
    const reopened = await Engine.open({ store: bob.store, signer: createSigner(BOB_KEY), transport: net.network.connect(bob.address), chain: net.chain.connect(bob.address), consensusApp: MEMORY_CONSENSUS_APP, policy: { ...TEST_POLICY, peers: [alice.address] } })
    try {
      const accepted = await alice.engine.directFund({ counterparty: bob.address, myDeposit: 1n, theirDeposit: 1n, nonce: 2n })
      expect((await alice.engine.waitForObjective(accepted)).status).toBe('completed')
      const inputs = []
      for await (const entry of readJournal(bob.store)) inputs.push(decodeInput(entry.payload).input)
      const policies = inputs.flatMap((i) => (i.kind === 'api' && i.request.op === 'setPolicy' ? [i.request.policy.peers] : []))
      expect(policies).toEqual([[], [alice.address]])
    } finally {
      await reopened.close()
    }
  })

  test('a node that lost its latest ledger state catches up by asking the counterparty to resync', async () => {
    const { alice, bob, ledgerId } = await openLedger()
    const key = recordKey('ledgers', ledgerId.toLowerCase())
    const old = await bob.store.get(key)
    const id = await updateAgreed(alice, bob, ledgerId, add(1, alice, bob))
    await alice.engine.waitForObjective(id)
    await eventually('bob acknowledged everything', () => alice.engine.unacknowledged === 0 && bob.engine.unacknowledged === 0)
    const turn = alice.engine.getLedger(ledgerId)!.supported.vars.turnNum
    // bob's ledger record goes back one turn (as after restoring a stale backup of that record)
    await bob.engine.close()
    await bob.store.commit([{ type: 'put', key, value: old! }])
    await bob.restart()
    expect(bob.engine.getLedger(ledgerId)!.supported.vars.turnNum).toBe(turn - 1n)
    await bob.engine.syncLedger(ledgerId)
    await eventually('bob adopts the newer state both signed', () => bob.engine.getLedger(ledgerId)!.supported.vars.turnNum === turn)
    // and the ledger moves on from there
    const next = await updateAgreed(bob, alice, ledgerId, add(2, alice, bob))
    expect((await bob.engine.waitForObjective(next)).status).toBe('completed')
  })
})

describe('chain failures', () => {
  test('a deposit the chain keeps refusing fails the objective on both sides, with the chain\'s reason', async () => {
    net = await createTestNetwork({ network: { seed: 6 } })
    const alice = await net.node('alice', ALICE_KEY)
    const bob = await net.node('bob', BOB_KEY)
    net.chain.failNext(10)
    const id = await alice.engine.directFund({ counterparty: bob.address, myDeposit: 5n, theirDeposit: 5n, nonce: 9n })
    const failed = await alice.engine.waitForObjective(id)
    expect(failed.status).toBe('failed')
    expect(failed.failure?.code).toBe('chain_unavailable')
    await eventually('bob learns it failed', () => bob.engine.getObjective(id)?.objective.status === 'failed')
    expect(bob.engine.getObjective(id)!.objective.failure?.summary).toMatch(/^rejected by peer: deposit failed/)
  })
})

describe('chain re-organisations', () => {
  test('after a re-org notice the engine applies the replacement events for blocks it had already seen', async () => {
    const { alice, ledgerId } = await openLedger()
    // a scripted chain: the engine only ever sees what we emit
    let emit: (event: ChainEvent) => void = () => {}
    const scripted: ChainService = {
      consensusApp: MEMORY_CONSENSUS_APP,
      submit: async () => {},
      holdings: async () => 0n,
      subscribe: (listener) => {
        emit = listener
        return () => {}
      },
    }
    const store = new MemoryStore()
    const engine = await Engine.open({ store, signer: createSigner(ALICE_KEY), chain: scripted, consensusApp: MEMORY_CONSENSUS_APP })
    // the engine records chain events only for channels it takes part in: this one it is funding
    const funding = await engine.directFund({ counterparty: mallory.address, myDeposit: 100n, theirDeposit: 100n, nonce: 1n })
    const channel = funding.slice('directfund:'.length) as Bytes32
    const asset = toAddress('0x0000000000000000000000000000000000000000')
    emit({ kind: 'deposited', channelId: ledgerId, asset, nowHeld: 5n, block: 99n, logIndex: 0 }) // not mine: not kept
    emit({ kind: 'deposited', channelId: channel, asset, nowHeld: 10n, block: 100n, logIndex: 0 })
    await eventually('first deposit seen', () => engine.holdings(channel) === 10n)
    expect(engine.holdings(ledgerId)).toBe(0n)
    // the same position again (a replay) is ignored...
    emit({ kind: 'deposited', channelId: channel, asset, nowHeld: 99n, block: 100n, logIndex: 0 })
    await engine.idle()
    expect(engine.holdings(channel)).toBe(10n)
    // ...until the chain says blocks after 99 were replaced
    emit({ kind: 'reorg', forkBlock: 99n })
    emit({ kind: 'deposited', channelId: channel, asset, nowHeld: 7n, block: 100n, logIndex: 0 })
    await eventually('the replacement deposit applies', () => engine.holdings(channel) === 7n)
    await engine.close()
    expect(alice.engine.holdings(ledgerId)).toBe(200n) // the real node, on its own chain, is unaffected
  })
})

describe('side effects after the commit', () => {
  test('a transport that throws does not lose the step: the objective is stored, waiters are told, the failure is recorded', async () => {
    let sent = 0
    const throwing: Transport = {
      address: createSigner(ALICE_KEY).address,
      send: () => {
        sent++
        throw new Error('socket closed')
      },
      onMessage: () => {},
      close: async () => {},
    }
    const store = new MemoryStore()
    const engine = await Engine.open({ store, signer: createSigner(ALICE_KEY), transport: throwing, consensusApp: MEMORY_CONSENSUS_APP, tickIntervalMs: 0 })
    const id = await engine.directFund({ counterparty: mallory.address, myDeposit: 1n, theirDeposit: 1n, nonce: 1n })
    expect(sent).toBe(1)
    expect(engine.getObjective(id)?.waitingFor).toBe('prefund')
    expect(engine.rejections.recent.at(-1)).toMatchObject({ code: 'effect_failed', summary: 'socket closed' })
    expect(engine.unacknowledged).toBe(1) // still in the outbox: it will be retransmitted
    await engine.close()
  })
})

describe('the shell on an injected scheduler', () => {
  test('time and timers are the scheduler\'s: a lost frame is retransmitted when the hand-moved clock passes its backoff, not before', async () => {
    const scheduler = new ManualScheduler(1_000_000)
    const network = new MemoryNetwork({ seed: 3, mode: 'manual' })
    const open = (key: Hex) =>
      Engine.open({ store: new MemoryStore(), signer: createSigner(key), transport: network.connect(createSigner(key).address), consensusApp: MEMORY_CONSENSUS_APP, policy: TEST_POLICY, scheduler, tickIntervalMs: 50 })
    const [alice, bob] = [await open(ALICE_KEY), await open(BOB_KEY)]
    network.partition(alice.address, bob.address, true)
    const id = await alice.directFund({ counterparty: bob.address, myDeposit: 1n, theirDeposit: 1n, nonce: 1n })
    expect(network.deliverAll()).toBe(0) // the prefund was lost on the cut link
    network.partition(alice.address, bob.address, false)
    scheduler.advance(200) // ticks ran, but the first retransmission is due 250 ms after the send
    await alice.idle()
    expect(network.inFlight).toBe(0)
    expect(alice.getObjective(id)?.waitingFor).toBe('prefund')
    scheduler.advance(100)
    await alice.idle()
    expect(network.inFlight).toBe(1) // retransmitted, at the scheduler's time
    network.deliverAll()
    await bob.idle()
    expect(bob.getObjective(id)?.objective.status).toBe('approved')
    expect(scheduler.now()).toBe(1_000_300) // no real time entered the run
    await alice.close()
    await bob.close()
  })
})
