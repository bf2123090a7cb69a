// Move deadlines (issue 7): a participant who does not move within the channel's moveTimeout can be timed
// out with the app's timeout event (0xff), which each node admits only once the deadline passed on its own
// clock. Two engines on the in-memory network, each with its own hand-driven clock, play tic-tac-toe, and
// rock-paper-scissors where a player who committed does not reveal in time and forfeits (commit–reveal).
import { afterEach, expect, test } from 'vitest'
import type { Address, Bytes32, Hex } from '../../src/core/types.js'
import { createSigner } from '../../src/core/signer.js'
import { MemoryStore } from '../../src/store/memoryStore.js'
import { MemoryNetwork } from '../../src/transport/memoryTransport.js'
import { MEMORY_CONSENSUS_APP } from '../../src/chain/memoryChain.js'
import { Engine } from '../../src/engine/engine.js'
import { loadBuiltApp } from '../support/appSessions.js'
import { commitEvent, commitmentOf, revealEvent, secretOf } from '../apps/commitReveal.js'
import { verifyLog } from '../../src/protocols/app/replay.js'
import { TEST_POLICY } from '../support/ledgerNetwork.js'

const TICTACTOE = loadBuiltApp('tictactoe')
const RPS = loadBuiltApp('rps')
const apps = (appId: Bytes32) => [TICTACTOE, RPS].find((app) => app.appId.toLowerCase() === appId.toLowerCase())
const TIMEOUT = Uint8Array.of(0xff)
const move = (cell: number) => Uint8Array.of(0x01, cell)

let engines: Engine[] = []
afterEach(async () => {
  for (const e of engines) await e.close()
  engines = []
})

/** Two engines whose clocks only move when the test says so. */
async function players() {
  const network = new MemoryNetwork({ seed: 5 })
  const clocks = [1_000_000, 1_000_000]
  const make = async (i: number) => {
    const signer = createSigner(`0x${(0xd1 + i).toString(16).repeat(32)}` as Hex)
    const engine = await Engine.open({
      store: new MemoryStore(),
      signer,
      transport: network.connect(signer.address),
      consensusApp: MEMORY_CONSENSUS_APP,
      policy: TEST_POLICY,
      apps,
      clock: () => clocks[i]!,
      tickIntervalMs: 5,
    })
    engines.push(engine)
    return { engine, address: signer.address }
  }
  const alice = await make(0)
  const bob = await make(1)
  return { alice, bob, advance: (i: number, ms: number) => (clocks[i] = clocks[i]! + ms) }
}

interface Player {
  readonly engine: Engine
  readonly address: Address
}

/** A channel with the move timeout given, in which alice (X) has taken the centre: bob is on turn (turn 1 signed by both). */
async function openAfterFirstMove(alice: Player, bob: Player, moveTimeout: number, nonce: bigint): Promise<Bytes32> {
  const id = await alice.engine.createAppChannel({ participants: [alice.address, bob.address], appId: TICTACTOE.appId, params: Uint8Array.of(2), deposits: [10n, 10n], funding: 'none', moveTimeout, nonce })
  for (const p of [alice, bob]) await p.engine.waitForAppTurn(id, 0n)
  await alice.engine.submitEvent(id, move(4))
  for (const p of [alice, bob]) await p.engine.waitForAppTurn(id, 1n)
  return id
}

test('a timeout is refused before the deadline, held by a peer whose clock is behind, and countersigned once it passes there', async () => {
  const { alice, bob, advance } = await players()
  const id = await openAfterFirstMove(alice, bob, 60, 1n)

  // bob is on turn; alice may claim he is late only 60 s after turn 1 was signed by all (her clock)
  await expect(alice.engine.submitEvent(id, TIMEOUT)).rejects.toMatchObject({ code: 'timeout_too_early' })
  advance(0, 61_000)
  advance(1, 30_000) // bob's node saw turn 1 later, or its clock is behind: his deadline has not passed
  const claimed = await alice.engine.submitEvent(id, TIMEOUT)
  expect(claimed.turnNum).toBe(2n)
  await new Promise((resolve) => setTimeout(resolve, 150)) // the update reaches bob and ticks run: not due at his node
  expect(alice.engine.getAppChannel(id)!.pending).toMatchObject({ turnNum: 2n, missing: [1] })
  expect(bob.engine.getAppChannel(id)!.turnNum).toBe(1n)

  advance(1, 31_000) // now due at bob's: his node countersigns on the next tick
  for (const p of [alice, bob]) await p.engine.waitForAppTurn(id, 2n)
  for (const p of [alice, bob]) expect(p.engine.getAppChannel(id)).toMatchObject({ isFinal: true, whoseTurn: 'nobody', outcome: [20n, 0n] })
  // the log replays anywhere: a timeout by the participant not on turn is a valid event
  expect(verifyLog(await bob.engine.exportAppLog(id), TICTACTOE).ok).toBe(true)
}, 30_000)

test('a late move made before the deadline at the mover\'s node wins over nothing: the game goes on', async () => {
  const { alice, bob, advance } = await players()
  const id = await openAfterFirstMove(alice, bob, 60, 2n)
  advance(1, 59_000)
  await bob.engine.submitEvent(id, move(0))
  for (const p of [alice, bob]) await p.engine.waitForAppTurn(id, 2n)
  // the deadline restarted with turn 2: alice is on turn, and bob must wait the full 60 s again
  advance(1, 59_000)
  await expect(bob.engine.submitEvent(id, TIMEOUT)).rejects.toMatchObject({ code: 'timeout_too_early' })
  advance(1, 2_000)
  await bob.engine.submitEvent(id, TIMEOUT)
  advance(0, 61_000)
  for (const p of [alice, bob]) await p.engine.waitForAppTurn(id, 3n)
  expect(alice.engine.getAppChannel(id)).toMatchObject({ isFinal: true, outcome: [0n, 20n] })
}, 30_000)

test('a channel opened with moveTimeout 0 admits no timeout event at all', async () => {
  const { alice, bob, advance } = await players()
  const id = await openAfterFirstMove(alice, bob, 0, 3n)
  advance(0, 10 ** 9)
  await expect(alice.engine.submitEvent(id, TIMEOUT)).rejects.toMatchObject({ code: 'invalid_event' })
  expect(alice.engine.getAppChannel(id)!.pending).toBeNull()
}, 30_000)

test('rock-paper-scissors: bob commits but never reveals; after the deadline alice claims the timeout and takes the pot', async () => {
  const { alice, bob, advance } = await players()
  const id = await alice.engine.createAppChannel({ participants: [alice.address, bob.address], appId: RPS.appId, params: Uint8Array.of(2, 1), deposits: [10n, 10n], funding: 'none', moveTimeout: 30, nonce: 4n })
  for (const p of [alice, bob]) await p.engine.waitForAppTurn(id, 0n)
  const ROCK = 0
  const SCISSORS = 2
  const secrets = [secretOf('alice/0'), secretOf('bob/0')]
  const step = async (who: Player, event: Uint8Array) => {
    const { turnNum } = await who.engine.submitEvent(id, event)
    for (const p of [alice, bob]) await p.engine.waitForAppTurn(id, turnNum)
  }
  await step(alice, commitEvent(commitmentOf(secrets[0]!, ROCK, 0, 0)))
  await step(bob, commitEvent(commitmentOf(secrets[1]!, SCISSORS, 1, 0)))
  await step(alice, revealEvent(secrets[0]!, ROCK))
  // bob's player sees that he lost and goes quiet; his node stays up
  await expect(alice.engine.submitEvent(id, TIMEOUT)).rejects.toMatchObject({ code: 'timeout_too_early' })
  advance(0, 31_000)
  advance(1, 31_000)
  const { turnNum } = await alice.engine.submitEvent(id, TIMEOUT)
  for (const p of [alice, bob]) await p.engine.waitForAppTurn(id, turnNum)
  for (const p of [alice, bob]) expect(p.engine.getAppChannel(id)).toMatchObject({ isFinal: true, outcome: [20n, 0n] })
  expect(verifyLog(await alice.engine.exportAppLog(id), RPS).ok).toBe(true)
}, 30_000)
