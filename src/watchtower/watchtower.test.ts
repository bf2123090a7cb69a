// The shell against a scripted chain (the anvil runs are test/integration/watchtower.test.ts): refused
// checkpoints are retried while the challenge is open and reported when it finalized first; an event that a
// later one undid sends nothing; hand-overs added while running, and re-orgs, lead to a status check.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, expect, test } from 'vitest'
import type { Bytes32, Hex } from '../core/types.js'
import type { SignedState } from '../core/signedState.js'
import type { LogOrigin, WatchedEvent } from '../chain/eventWatcher.js'
import { ChainUnavailableError } from '../chain/errors.js'
import { Custody } from './custody.js'
import { watchtowerEntry } from './handover.js'
import type { WatchtowerLog } from './watchtower.js'
import type { WatchtowerChain } from './watchtowerChain.js'
import { Watchtower } from './watchtower.js'
import { ADJUDICATOR, CHAIN_ID, alice, bob, handoverOf, ledgerState, signedBy } from './testHandover.js'

const NOW = 10_000n
const held = watchtowerEntry(signedBy(ledgerState(3n), [alice, bob]))
const id = held.channelId

/** The adjudicator as far as the watchtower sees it; `refuse` scripts the next checkpoints' failures. */
class ScriptedChain implements WatchtowerChain {
  now = NOW
  readonly statuses = new Map<Bytes32, { turnNumRecord: bigint; finalizesAt: bigint }>()
  readonly checkpoints: SignedState[] = []
  refuse: Error[] = []
  /** How many of the next status reads / chain time reads fail (the chain node unreachable). */
  failStatus = 0
  failTime = 0
  onCheckpoint: () => void = () => undefined
  listener: ((event: WatchedEvent, origin: LogOrigin) => void) | undefined
  reorg: ((r: { forkBlock: bigint }) => void) | undefined

  subscribeAll(listener: (event: WatchedEvent, origin: LogOrigin) => void, _cursor?: unknown, onReorg?: (r: { forkBlock: bigint }) => void) {
    this.listener = listener
    this.reorg = onReorg
    return () => (this.listener = undefined)
  }
  async checkpoint(args: { readonly candidate: SignedState }): Promise<Hex> {
    this.checkpoints.push(args.candidate)
    this.onCheckpoint()
    const failure = this.refuse.shift()
    if (failure) throw failure
    this.statuses.set(id, { turnNumRecord: args.candidate.state.turnNum, finalizesAt: 0n })
    return '0xabc'
  }
  async status(channelId: Bytes32) {
    if (this.failStatus > 0 && this.failStatus--) throw new ChainUnavailableError('chain node down')
    return this.statuses.get(channelId) ?? { turnNumRecord: 0n, finalizesAt: 0n }
  }
  async chainTime() {
    if (this.failTime > 0 && this.failTime--) throw new ChainUnavailableError('chain node down')
    return this.now
  }
  emit(event: WatchedEvent) {
    this.listener!(event, { blockHash: '0x01', transactionHash: '0x02' })
  }
}

function memoryLog(): WatchtowerLog & { readonly events: string[] } {
  const events: string[] = []
  const at = (facts: object) => void events.push(String((facts as { event?: string }).event))
  return { events, debug: at, info: at, warn: at, error: at }
}

let dir: string
let tower: Watchtower | undefined
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'channels-watchtower-shell-'))
})
afterEach(async () => {
  await tower?.stop()
  tower = undefined
  rmSync(dir, { recursive: true, force: true })
})

async function start(chain: ScriptedChain, options: { retryFirstDelayMs?: number; hold?: boolean } = {}) {
  if (options.hold !== false) Custody.open(dir).hold(handoverOf([held]))
  const log = memoryLog()
  tower = await Watchtower.start({ custody: Custody.open(dir), chain, log, serves: { chainId: CHAIN_ID, adjudicator: ADJUDICATOR }, retryFirstDelayMs: options.retryFirstDelayMs ?? 5, refreshIntervalMs: 10, cursorFlushMs: 10 })
  return { tower, log }
}

const challengeAt = (turnNum: bigint, finalizesAt: bigint, block = 5n): WatchedEvent => ({
  kind: 'challengeRegistered',
  channelId: id,
  finalizesAt,
  proof: [],
  candidate: { variablePart: { ...held.candidate.state, turnNum }, signatures: [] },
  block,
  logIndex: 0,
})

test('a refused checkpoint is tried again after a delay while the challenge is open; the second lands', async () => {
  const chain = new ScriptedChain()
  chain.refuse = [new ChainUnavailableError('chain node down')]
  const { tower, log } = await start(chain)
  chain.statuses.set(id, { turnNumRecord: 1n, finalizesAt: NOW + 600n })
  chain.emit(challengeAt(1n, NOW + 600n))
  await tower.idle()
  expect(chain.checkpoints.map((c) => c.state.turnNum)).toEqual([3n, 3n])
  expect(log.events.filter((e) => e.startsWith('checkpoint'))).toEqual(['checkpoint_sending', 'checkpoint_refused', 'checkpoint_sending', 'checkpointed'])
})

test('refused until the challenge finalized: answer_too_late, and no more tries', async () => {
  const chain = new ScriptedChain()
  chain.refuse = [new ChainUnavailableError('down'), new ChainUnavailableError('down'), new ChainUnavailableError('down')]
  // The chain's clock reaches the deadline after the second refusal.
  chain.onCheckpoint = () => {
    if (chain.checkpoints.length === 2) chain.now = NOW + 600n
  }
  const { tower, log } = await start(chain)
  chain.statuses.set(id, { turnNumRecord: 1n, finalizesAt: NOW + 600n })
  chain.emit(challengeAt(1n, NOW + 600n))
  await tower.idle()
  expect(chain.checkpoints).toHaveLength(2)
  expect(log.events.at(-1)).toBe('answer_too_late')
})

test('no retry that could only land after the deadline (judged on the chain\'s clock as last read)', async () => {
  const chain = new ScriptedChain()
  chain.refuse = [new ChainUnavailableError('down')]
  const { tower, log } = await start(chain, { retryFirstDelayMs: 5_000 })
  chain.statuses.set(id, { turnNumRecord: 1n, finalizesAt: NOW + 2n })
  chain.emit(challengeAt(1n, NOW + 2n))
  await tower.idle()
  expect(chain.checkpoints).toHaveLength(1)
  expect(log.events.at(-1)).toBe('answer_too_late')
})

test('an event that a later one undid (replayed after the challenge was cleared) sends nothing: the status is read first', async () => {
  const chain = new ScriptedChain()
  const { tower, log } = await start(chain)
  chain.statuses.set(id, { turnNumRecord: 3n, finalizesAt: 0n })
  chain.emit(challengeAt(1n, NOW + 600n))
  await tower.idle()
  expect(log.events).toContain('challenge_seen')
  expect(chain.checkpoints).toEqual([])
})

test('a hand-over added while running is picked up, and the challenge already open on it answered', async () => {
  const chain = new ScriptedChain()
  chain.statuses.set(id, { turnNumRecord: 1n, finalizesAt: NOW + 600n })
  const { tower } = await start(chain, { hold: false })
  expect(tower.heldCount).toBe(0)
  Custody.open(dir).hold(handoverOf([held]))
  const deadline = Date.now() + 5_000
  while (chain.checkpoints.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
  await tower.idle()
  expect([tower.heldCount, chain.checkpoints.map((c) => c.state.turnNum)]).toEqual([1, [3n]])
})

test('after a re-org every held channel is checked again (an answer in a dropped block is gone)', async () => {
  const chain = new ScriptedChain()
  const { tower } = await start(chain)
  await tower.idle()
  expect(chain.checkpoints).toEqual([])
  chain.statuses.set(id, { turnNumRecord: 1n, finalizesAt: NOW + 600n }) // the chain after the re-org
  chain.reorg!({ forkBlock: 3n })
  await tower.idle()
  expect(chain.checkpoints.map((c) => c.state.turnNum)).toEqual([3n])
})

test('the cursor follows the events and is saved; a custody for another adjudicator is refused at start', async () => {
  const chain = new ScriptedChain()
  const { tower } = await start(chain)
  chain.emit({ kind: 'deposited', channelId: id, asset: held.candidate.state.outcome[0]!.asset, nowHeld: 1n, block: 9n, logIndex: 2 })
  expect(tower.cursor).toEqual({ block: 9n, logIndex: 2 })
  await tower.stop()
  expect(Custody.open(dir).readCursor()).toEqual({ block: 9n, logIndex: 2 })
  await expect(Watchtower.start({ custody: Custody.open(dir), chain: new ScriptedChain(), log: memoryLog(), serves: { chainId: CHAIN_ID, adjudicator: alice.address } })).rejects.toMatchObject({ code: 'custody_mismatch' })
})

test('the chain unreachable when a challenge event arrives: the answer still starts, and lands once the chain answers', async () => {
  const chain = new ScriptedChain()
  const { tower, log } = await start(chain)
  await tower.idle()
  chain.statuses.set(id, { turnNumRecord: 1n, finalizesAt: NOW + 600n })
  chain.failTime = 2 // the event's decision, and the answer's first status check
  chain.emit(challengeAt(1n, NOW + 600n))
  await tower.idle()
  expect(log.events).toContain('chain_time_failed')
  expect(chain.checkpoints.map((c) => c.state.turnNum)).toEqual([3n])
})

test('a status check that failed at start is made again at the next refresh: the challenge registered while down is answered', async () => {
  const chain = new ScriptedChain()
  chain.statuses.set(id, { turnNumRecord: 1n, finalizesAt: NOW + 600n })
  chain.failStatus = 1
  const { tower, log } = await start(chain)
  await tower.idle()
  expect(log.events).toContain('status_failed')
  const deadline = Date.now() + 5_000
  while (chain.checkpoints.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
  await tower.idle()
  expect(chain.checkpoints.map((c) => c.state.turnNum)).toEqual([3n])
})
