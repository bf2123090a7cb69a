// decide: a checkpoint exactly when a held state is later than an open challenge, and nothing otherwise.
import { describe, expect, test } from 'vitest'
import type { WatchedEvent } from '../chain/eventWatcher.js'
import type { ChannelFact } from './decide.js'
import { decide, factOf } from './decide.js'
import { watchtowerEntry } from './handover.js'
import { alice, bob, ledgerState, signedBy } from './testHandover.js'

const held = watchtowerEntry(signedBy(ledgerState(3n), [alice, bob]))
const other = watchtowerEntry(signedBy(ledgerState(3n, { nonce: 8n }), [alice, bob]))
const id = held.channelId
const NOW = 1_000n

const registered = (turnNum: bigint, finalizesAt = NOW + 600n): ChannelFact => ({ kind: 'challengeRegistered', channelId: id, turnNum, finalizesAt })
const status = (turnNumRecord: bigint, finalizesAt: bigint): ChannelFact => ({ kind: 'status', channelId: id, turnNumRecord, finalizesAt })

describe('a stale challenge is answered with the held state', () => {
  test.each<[string, ChannelFact, bigint, bigint]>([
    ['a challenge at the postfund, the ledger at turn 3', registered(1n), 1n, NOW + 600n],
    ['a challenge one turn below the held one', registered(2n), 2n, NOW + 600n],
    ['a challenge at turn 0', registered(0n), 0n, NOW + 600n],
    ['a challenge finalizing the next second', registered(1n, NOW + 1n), 1n, NOW + 1n],
    ['the status of a challenge registered while the watchtower was down', status(1n, NOW + 1n), 1n, NOW + 1n],
  ])('%s → checkpoint', (_name, fact, registeredTurnNum, finalizesAt) => {
    expect(decide(held, fact, NOW)).toEqual([{ kind: 'checkpoint', channelId: id, candidate: held.candidate, proof: held.proof, registeredTurnNum, finalizesAt }])
  })
})

describe('nothing else is answered', () => {
  test.each<[string, ChannelFact]>([
    ['a challenge at the held turn (the held state is not later)', registered(3n)],
    ['a challenge above the held turn', registered(4n)],
    ['a challenge that finalizes now', registered(1n, NOW)],
    ['a challenge that finalized', registered(1n, NOW - 1n)],
    ['a status with no challenge open (finalizesAt 0), at a lower turn', status(1n, 0n)],
    ['a status with an open challenge at the held turn', status(3n, NOW + 600n)],
    ['a status finalized', status(1n, NOW)],
    ['a challenge cleared', { kind: 'challengeCleared', channelId: id, newTurnNumRecord: 1n }],
    ['a checkpoint', { kind: 'checkpointed', channelId: id, newTurnNumRecord: 1n }],
    ['a conclusion', { kind: 'concluded', channelId: id, finalizesAt: NOW }],
    ['a challenge of another channel', { ...registered(1n), channelId: other.channelId }],
  ])('%s → nothing', (_name, fact) => {
    expect(decide(held, fact, NOW)).toEqual([])
  })

  test('a channel not held → nothing', () => {
    expect(decide(undefined, registered(1n), NOW)).toEqual([])
  })
})

test('deciding twice on one fact gives the same answer (the shell may see a fact again after a restart)', () => {
  expect(decide(held, registered(1n), NOW)).toEqual(decide(held, registered(1n), NOW))
})

describe('factOf reads the adjudicator events the watchtower needs', () => {
  const base = { channelId: id, block: 5n, logIndex: 0 }
  const variablePart = { ...held.candidate.state, turnNum: 1n }
  test.each<[string, WatchedEvent, ChannelFact | undefined]>([
    ['ChallengeRegistered: the candidate\'s turn', { ...base, kind: 'challengeRegistered', finalizesAt: 77n, proof: [], candidate: { variablePart, signatures: [] } }, { kind: 'challengeRegistered', channelId: id, turnNum: 1n, finalizesAt: 77n }],
    ['ChallengeCleared', { ...base, kind: 'challengeCleared', newTurnNumRecord: 3n }, { kind: 'challengeCleared', channelId: id, newTurnNumRecord: 3n }],
    ['Checkpointed', { ...base, kind: 'checkpointed', newTurnNumRecord: 3n }, { kind: 'checkpointed', channelId: id, newTurnNumRecord: 3n }],
    ['Concluded', { ...base, kind: 'concluded', finalizesAt: 9n }, { kind: 'concluded', channelId: id, finalizesAt: 9n }],
    ['Deposited: none', { ...base, kind: 'deposited', asset: held.candidate.state.outcome[0]!.asset, nowHeld: 1n }, undefined],
  ])('%s', (_name, event, fact) => {
    expect(factOf(event)).toEqual(fact)
  })
})
