// Attack 4 (issue 13): hostile frames. Bytes that are no frame, frames of the right shape whose payloads a
// non-participant signed or sent, a frame replayed after the honest node acknowledged it, and floods of small
// junk frames. The node keeps running (each refusal is recorded with a typed code, never `internal`), handles
// a sequence number once, and at the end its owner's money is all there once the ledger closes.
import { afterEach, expect, test } from 'vitest'
import { encodeEnvelope } from '../../src/core/codec.js'
import { MAX_MESSAGE_BYTES } from '../../src/core/limits.js'
import { MAX_EVENT_PAYLOAD_BYTES } from '../../src/log/limits.js'
import { FRAME_KIND, decodeFrame, encodeFrame } from '../../src/engine/frames.js'
import { directDefundId } from '../../src/protocols/directdefund/directdefund.js'
import { addressToDestination } from '../../src/core/outcome.js'
import { hostileMessages, hostileValues } from '../hostile.js'
import type { Attacker, LedgerView, World } from './harness.js'
import { ATTACKER_FUNDS, ETH, HONEST_FUNDS, JUNK, createWorld, madeUpTarget } from './harness.js'
import { openingState } from '../../src/protocols/openingState.js'
import { channelId } from '../../src/core/channelId.js'
import { fixedPart } from '../../src/core/state.js'
import { virtualFundId } from '../../src/protocols/virtualfund/virtualfund.js'
import { MAX_ANSWERS_IN_FLIGHT_PER_PEER } from '../../src/engine/limits.js'
import { MEMORY_VIRTUAL_PAYMENT_APP } from '../support/ledgerNetwork.js'

const SHARE = 1000n

let world: World | undefined
afterEach(async () => {
  await world?.close()
  world = undefined
})

/** Mallory, having held back its acknowledgements, gives them all: nothing stays queued, and the ledger closes with the funds intact. */
async function ackAllThenClose(w: World, mallory: Attacker, ledger: LedgerView): Promise<void> {
  mallory.autoAck = true
  mallory.ackAll(w.honest.address)
  await w.settle()
  expect(w.honest.engine.unacknowledged).toBe(0)
  await closeAndCheckFunds(w, mallory, ledger)
}

/** The honest node opens and funds a ledger [honest, mallory]; mallory plays along. */
async function openLedger(): Promise<{ w: World; mallory: Attacker; ledger: LedgerView }> {
  const w = (world = await createWorld())
  const mallory = w.attacker('mallory')
  const id = await w.honest.engine.directFund({ counterparty: mallory.address, myDeposit: SHARE, theirDeposit: SHARE, nonce: 1n })
  const ledger = await mallory.fundLedger(await mallory.acceptLedger(w.honest.address))
  expect((await w.objectiveDone(id)).status).toBe('completed')
  await w.settle()
  return { w, mallory, ledger }
}

function totalRejections(w: World): number {
  return Object.values(w.honest.engine.rejections.counts).reduce((a, b) => a + b, 0)
}

/** Every refusal so far carries a typed rejection code (an `internal` one means a handler crashed on input). */
function expectTypedRefusals(w: World): void {
  const codes = Object.keys(w.honest.engine.rejections.counts)
  expect(codes.filter((code) => code === 'internal' || code === 'effect_failed')).toEqual([])
  for (const r of w.honest.engine.rejections.recent) expect(r.code).not.toBe('internal')
}

/** Whether the frame decoder refuses `bytes` (what a node must then record as a refusal, not drop). */
function undecodable(bytes: Uint8Array): boolean {
  try {
    decodeFrame(bytes)
    return false
  } catch {
    return true
  }
}

/** The ledger is as funded, it still closes, and the honest owner holds everything again. */
async function closeAndCheckFunds(w: World, mallory: Attacker, ledger: LedgerView): Promise<void> {
  const mine = w.honest.engine.getLedger(ledger.id)!
  expect(mine.supported.vars.turnNum).toBe(1n)
  expect(mine.supported.vars.outcome.leader.amount).toBe(SHARE)
  const id = await w.honest.engine.directDefund(ledger.id)
  await mallory.cooperateDefund(ledger)
  expect((await w.objectiveDone(id)).status).toBe('completed')
  await w.settle()
  expect(await w.chain.holdings(ledger.id, ETH)).toBe(0n)
  expect(w.honestBalance()).toBe(HONEST_FUNDS)
  expect(mallory.balance()).toBe(ATTACKER_FUNDS)
}

test('bytes that are no frame, and frames of hostile shape, are refused one by one; the node keeps running', async () => {
  const { w, mallory, ledger } = await openLedger()
  const honest = w.honest.address
  const before = totalRejections(w)
  let sent = 0
  // Raw bytes as a transport delivers them (MemoryNetwork itself carries only wire envelopes; libp2p carries anything).
  for (const { value } of hostileMessages) {
    expect(undecodable(value as Uint8Array)).toBe(true)
    await w.honest.engine.receive(mallory.address, value as Uint8Array)
    sent++
  }
  // Envelopes of other kinds, and frames whose seq, payloads or acks are each hostile value the codec can carry.
  mallory.sendEnvelope(honest, 'nonsense', [])
  mallory.sendEnvelope(honest, FRAME_KIND, 'not a frame')
  sent += 2
  const bodies: unknown[] = []
  for (const { value } of hostileValues) {
    bodies.push([value, [], []], [1n, value, []], [1n, [], value], [1n, [value], []], [1n, [['proposal', value, value]], []])
  }
  bodies.push([1n, [['unknownKind']], []], [null, [['syncRequest', new Uint8Array(32)]], []], [1n, [], Array.from({ length: 5000 }, () => 1n)], [2n ** 64n, [], []])
  for (const body of bodies) {
    let bytes: Uint8Array
    try {
      bytes = encodeEnvelope(FRAME_KIND, body)
    } catch {
      continue // the codec cannot carry it (undefined, functions, class instances): no peer can send it either
    }
    if (!undecodable(bytes)) continue // a valid frame after all (an empty list, a seq in range): not hostile
    if (bytes.length > MAX_EVENT_PAYLOAD_BYTES) continue // oversized: the next test
    mallory.sendBytes(honest, bytes)
    sent++
  }
  await w.settle()
  expect(totalRejections(w) - before).toBe(sent)
  expectTypedRefusals(w)
  expect(mallory.undecodable).toEqual([])
  await closeAndCheckFunds(w, mallory, ledger)
})

test('an oversized message is refused and counted, never dropped silently', async () => {
  const { w, mallory, ledger } = await openLedger()
  const honest = w.honest.address
  const before = totalRejections(w)
  // Garbage of 2 MiB, and a frame of hostile shape carrying 1 MiB of hex, as a raw transport would deliver them.
  await w.honest.engine.receive(mallory.address, new Uint8Array(2 * 1024 * 1024).fill(0x90))
  await w.honest.engine.receive(mallory.address, encodeEnvelope(FRAME_KIND, [1n, [['proposal', `0x${'0'.repeat(2 * 1024 * 1024)}`]], []]))
  await w.settle()
  const oversizedRefused = totalRejections(w) - before
  // A valid frame under the wire's cap (1 MiB) but over the journal's old cap (256 KiB, when it was dropped
  // silently and retransmitted forever): the journal takes any message the wire takes, so it is handled.
  const lockMine = (i: number) => ({ kind: 'add' as const, target: madeUpTarget(i), left: mallory.destination, right: addressToDestination(honest), leftAmount: 1n, rightAmount: 0n })
  const requests = Array.from({ length: 2500 }, (_, i) => mallory.ledgerUpdateRequest(ledger, lockMine(i)))
  const seq = mallory.send(honest, requests)!
  const size = mallory.sent.at(-1)!.bytes.length
  expect(size).toBeGreaterThan(256 * 1024)
  expect(size).toBeLessThanOrEqual(MAX_MESSAGE_BYTES)
  expect(MAX_EVENT_PAYLOAD_BYTES).toBeGreaterThan(MAX_MESSAGE_BYTES)
  await w.settle()
  expect(oversizedRefused).toBe(2)
  expect(w.rejected('message_too_large')).toBe(2)
  expect(w.rejected('unsolicited_ledger_update')).toBe(requests.length)
  expect(mallory.ackCount(honest, seq)).toBeGreaterThan(0)
  await closeAndCheckFunds(w, mallory, ledger)
})

test('payloads sent or signed by a non-participant move nothing and tell it nothing', async () => {
  const { w, mallory, ledger } = await openLedger()
  const honest = w.honest.address
  const eve = w.attacker('eve')
  const final = ledger.finalState()
  const everything = { turnNum: 2n, outcome: { ...ledger.supported.vars.outcome, leader: { ...ledger.supported.vars.outcome.leader, amount: 0n }, follower: { ...ledger.supported.vars.outcome.follower, amount: 2n * SHARE } } }
  const eveSigns = (vars: typeof everything) => eve.signHash(ledger.hash(vars))
  // Eve, no participant, speaks for the ledger.
  eve.send(honest, [{ kind: 'syncRequest', ledgerId: ledger.id }])
  eve.send(honest, [{ kind: 'proposal', ledgerId: ledger.id, signed: { proposal: { kind: 'remove', target: madeUpTarget(1), leftAmount: 0n }, turnNum: 2n, signature: eveSigns(everything) } }])
  eve.send(honest, [{ kind: 'countersignature', ledgerId: ledger.id, turnNum: 2n, signature: eveSigns(everything) }])
  eve.send(honest, [{ kind: 'sync', ledgerId: ledger.id, supported: { state: ledger.state(everything), signatures: [eveSigns(everything), eveSigns(everything)] }, queue: [] }])
  eve.send(honest, [{ kind: 'signedState', objectiveId: directDefundId(ledger.id), signedState: { state: final, signatures: [null, eve.signState(final)] } }])
  eve.send(honest, [{ kind: 'objectiveRejected', objectiveId: `directfund:${ledger.id}`, code: 'nope', summary: 'eve says no' }])
  await w.settle()
  expect(w.rejected('not_a_participant')).toBeGreaterThanOrEqual(5)
  expect(eve.payloads('sync')).toEqual([])
  expect(eve.payloads('signedState')).toEqual([])
  // Mallory, a participant, carries Eve's signatures.
  mallory.send(honest, [{ kind: 'sync', ledgerId: ledger.id, supported: { state: ledger.state(everything), signatures: [eveSigns(everything), mallory.signVars(ledger, everything)] }, queue: [] }])
  mallory.send(honest, [{ kind: 'signedState', objectiveId: directDefundId(ledger.id), signedState: { state: final, signatures: [eve.signState(final), null] } }])
  await w.settle()
  expect(w.rejected('invalid_signature')).toBe(1)
  expect(w.honest.engine.getObjective(directDefundId(ledger.id))).toBeUndefined()
  expect(w.honest.engine.getLedger(ledger.id)!.closing).toBe(false)
  expectTypedRefusals(w)
  await closeAndCheckFunds(w, mallory, ledger)
})

test('a frame replayed after the honest node acknowledged it is acknowledged again and handled once', async () => {
  const { w, mallory, ledger } = await openLedger()
  const honest = w.honest.address
  const seq = mallory.send(honest, [{ kind: 'syncRequest', ledgerId: ledger.id }])!
  await mallory.waitFor('sync')
  await w.settle()
  expect(mallory.ackCount(honest, seq)).toBe(1)
  const frame = mallory.sent.find((f) => f.seq === seq)!
  for (let i = 0; i < 5; i++) mallory.resend(frame)
  await w.settle()
  expect(mallory.ackCount(honest, seq)).toBeGreaterThanOrEqual(2)
  expect(mallory.payloads('sync')).toHaveLength(1)
  await closeAndCheckFunds(w, mallory, ledger)
})

test('1,000 small junk frames: each refused or ignored, nothing grows, the node keeps running', async () => {
  const { w, mallory, ledger } = await openLedger()
  const honest = w.honest.address
  const objectives = w.honest.engine.objectives().length
  const before = totalRejections(w)
  for (let i = 0; i < 1000; i++) {
    switch (i % 5) {
      case 0: // an unknown ledger
        mallory.send(honest, [{ kind: 'syncRequest', ledgerId: madeUpTarget(i) }])
        break
      case 1: // a countersignature of a turn nobody proposed (the honest node leads)
        mallory.send(honest, [{ kind: 'countersignature', ledgerId: ledger.id, turnNum: BigInt(2 + i), signature: mallory.signHash(madeUpTarget(i)) }])
        break
      case 2: // acknowledgements of frames the honest node never sent
        mallory.send(honest, [], { acks: [BigInt(10_000 + i), 2n ** 64n - 1n] })
        break
      case 3: // the rejection of an objective that does not exist
        mallory.send(honest, [{ kind: 'objectiveRejected', objectiveId: `junk:${i}`, code: 'junk', summary: 'junk' }])
        break
      case 4: // a final-state request for a payment channel that does not exist
        mallory.send(honest, [{ kind: 'finalStateRequest', channelId: madeUpTarget(i) }])
        break
    }
  }
  await w.settle()
  expect(totalRejections(w) - before).toBeGreaterThanOrEqual(600)
  expectTypedRefusals(w)
  expect(w.honest.engine.rejections.recent.length).toBeLessThanOrEqual(100)
  expect(w.honest.engine.objectives().length).toBe(objectives)
  expect(w.honest.engine.unacknowledged).toBe(0)
  await closeAndCheckFunds(w, mallory, ledger)
})

test('syncRequests from a peer that never acknowledges do not queue one reply each', async () => {
  const { w, mallory, ledger } = await openLedger()
  const honest = w.honest.address
  mallory.autoAck = false
  for (let i = 0; i < 1000; i++) mallory.send(honest, [{ kind: 'syncRequest', ledgerId: ledger.id }])
  await w.settle()
  // What a peer can make the node queue is bounded per peer (DESIGN §5): not one persisted reply per request.
  expect(w.honest.engine.unacknowledged).toBeLessThan(100)
  await ackAllThenClose(w, mallory, ledger)
})

test('signed states for objectives the node refuses, from a peer that never acknowledges, queue a bounded number of answers', async () => {
  const { w, mallory, ledger } = await openLedger()
  const honest = w.honest.address
  mallory.autoAck = false
  const mark = mallory.frames.length
  // Each names a payment channel through a hub the honest node has no ledger with: refused (no_ledger), and
  // answered so that an honest payer would stop waiting — reliably for the first few, then as notices.
  for (let i = 0; i < 300; i++) {
    const prefund = openingState({ participants: [mallory.address, honest, JUNK], channelNonce: BigInt(i + 1), appDefinition: MEMORY_VIRTUAL_PAYMENT_APP, challengeDuration: 86_400, asset: ETH, amounts: [1n, 0n] })
    const id = channelId(fixedPart(prefund))
    mallory.send(honest, [{ kind: 'signedState', objectiveId: virtualFundId(id), signedState: mallory.signedState(prefund) }])
  }
  await w.settle()
  const answers = mallory.frames.slice(mark).flatMap((f) => f.payloads.filter((p) => p.kind === 'objectiveRejected').map((p) => ({ seq: f.seq, p })))
  expect(answers.filter((a) => a.seq === null).length).toBeGreaterThan(0) // beyond the bound: notices
  expect(new Set(answers.filter((a) => a.seq !== null).map((a) => a.seq)).size).toBeLessThanOrEqual(MAX_ANSWERS_IN_FLIGHT_PER_PEER)
  expect(w.honest.engine.unacknowledged).toBeLessThanOrEqual(MAX_ANSWERS_IN_FLIGHT_PER_PEER)
  await ackAllThenClose(w, mallory, ledger)
})

test('a peer that claims a new epoch again and again gets its session renumbered, never a growing outbox', async () => {
  const { w, mallory, ledger } = await openLedger()
  const honest = w.honest.address
  mallory.autoAck = false
  mallory.newSession(honest)
  const mark = mallory.frames.length
  // Each frame says "I started again from an empty store": the honest node renumbers what it has unacknowledged
  // for mallory and offers its view of their ledger once; mallory never acknowledges anything.
  for (let i = 1; i <= 50; i++) mallory.sendBytes(honest, encodeFrame({ seq: null, payloads: [], acks: [], epochs: { sender: BigInt(i) << 40n, receiver: 0n } }), null)
  await w.settle()
  // (renumbered from 1 for each new session, so the harness, which knows no epochs, sees them as duplicates)
  const syncs = mallory.frames.slice(mark).filter((f) => !f.duplicate && f.payloads.some((p) => p.kind === 'sync' && p.ledgerId.toLowerCase() === ledger.id.toLowerCase()))
  expect(syncs.length).toBe(1) // the first copy; the others are the same entry renumbered as seq 1 again
  expect(syncs[0]!.seq).toBe(1n)
  expect(w.honest.engine.unacknowledged).toBe(1) // one sync in flight, renumbered each time, not fifty
  await ackAllThenClose(w, mallory, ledger)
})

test('a frame refused and not remembered leaves no gap: the sender\'s lowest unacknowledged seq closes it, so 2,100 later frames are all taken', async () => {
  const { w, mallory, ledger } = await openLedger()
  const honest = w.honest.address
  const first = mallory.peekSeq(honest)
  // refused (no such ledger): acknowledged, but changed nothing, so not remembered as delivered
  const frame = (seq: bigint, payloads: Parameters<typeof mallory.send>[1], base: bigint) =>
    mallory.sendBytes(honest, encodeFrame({ seq, payloads, acks: [], epochs: { sender: 0n, receiver: 0n }, base }), seq)
  frame(first, [{ kind: 'syncRequest', ledgerId: madeUpTarget(1) }], first)
  await w.settle()
  expect(mallory.ackCount(honest, first)).toBe(1)
  // an honest sender's next frames say "everything below mine is acknowledged"
  const count = 2_100
  for (let i = 1; i <= count; i++) {
    frame(first + BigInt(i), [{ kind: 'objectiveRejected', objectiveId: `nothing:${i}`, code: 'x', summary: 'x' }], first + BigInt(i))
    if (i % 500 === 0) await w.settle() // within its share of the queue (MAX_QUEUED_INPUTS_PER_PEER)
  }
  await w.settle()
  expect(w.honest.engine.rejections.counts.engine_busy).toBeUndefined()
  expect(mallory.ackCount(honest, first + BigInt(count))).toBe(1) // past MAX_DELIVERED_ABOVE (2,048) above the gap
  mallory.setNextSeq(honest, first + BigInt(count) + 1n)
  await closeAndCheckFunds(w, mallory, ledger)
})
