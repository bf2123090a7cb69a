// The chain outbox after a restart (issue 15): the shell sends each decided transaction again, except a deposit
// the holdings show landed (mined) or overtaken (stale), and reports each outcome back as an input.
import { describe, expect, test } from 'vitest'
import type { ChainService, ChainTransaction } from '../chain/chainService.js'
import { ChainRevertedError, RevertReason } from '../chain/errors.js'
import { toBytes32 } from '../core/canonical.js'
import { ZERO_ADDRESS } from '../core/canonical.js'
import type { EngineInput } from './inputs.js'
import type { NodeMachine } from './machine.js'
import { ManualScheduler } from './scheduler.js'
import { EffectRunner } from './effects.js'
import { resendDecision } from './chainOutbox.js'

const channelId = toBytes32(`0x${'c4'.repeat(32)}`)
const deposit = (expectedHeld: bigint, amount: bigint): ChainTransaction => ({ kind: 'deposit', channelId, asset: ZERO_ADDRESS, expectedHeld, amount })

describe('resendDecision', () => {
  test.each([
    { name: 'a deposit the holdings do not show yet', held: 5n, decision: 'send' },
    { name: 'a deposit the holdings show landed', held: 8n, decision: 'mined' },
    { name: 'a deposit after others deposited more', held: 20n, decision: 'mined' },
    { name: 'a deposit overtaken by another deposit (would revert)', held: 6n, decision: 'stale' },
    { name: 'a deposit whose holdings could not be read', held: undefined, decision: 'send' },
  ])('$name: $decision', ({ held, decision }) => {
    expect(resendDecision(deposit(5n, 3n), held)).toBe(decision)
  })

  test('any other transaction is sent again', () => {
    expect(resendDecision({ kind: 'transferAllAssets', channelId, outcome: [], stateHash: channelId }, 0n)).toBe('send')
  })
})

describe('EffectRunner.resubmitAll', () => {
  test('sends what is still needed, reports what landed and what is stale, and each result as an input', async () => {
    const pending = [
      { objectiveId: 'directfund:a', tx: deposit(0n, 5n) }, // landed before the crash
      { objectiveId: 'directfund:b', tx: deposit(5n, 5n) }, // never sent
      { objectiveId: 'directfund:c', tx: deposit(2n, 5n) }, // overtaken
      { objectiveId: 'appdispute:d', tx: { kind: 'transferAllAssets', channelId, outcome: [], stateHash: channelId } as ChainTransaction }, // refused now
    ]
    const submitted: ChainTransaction[] = []
    const chain: ChainService = {
      consensusApp: ZERO_ADDRESS,
      subscribe: () => () => undefined,
      holdings: async () => 5n,
      submit: async (tx) => {
        submitted.push(tx)
        if (tx.kind === 'transferAllAssets') throw new ChainRevertedError(RevertReason.notFinalized)
      },
    }
    const inputs: EngineInput[] = []
    const machine = { pendingTransactions: () => pending } as unknown as NodeMachine
    new EffectRunner(machine, new ManualScheduler(), (input) => inputs.push(input), undefined, chain).resubmitAll()
    await new Promise((resolve) => setImmediate(resolve))
    expect(submitted).toEqual(expect.arrayContaining([pending[1]!.tx, pending[3]!.tx])) // the deposit after its holdings are read
    expect(submitted).toHaveLength(2)
    expect(inputs).toEqual(
      expect.arrayContaining([
        { kind: 'chainMined', objectiveId: 'directfund:a', txKind: 'deposit' },
        { kind: 'chainMined', objectiveId: 'directfund:b', txKind: 'deposit' },
        { kind: 'chainResult', objectiveId: 'directfund:c', code: 'deposit_stale', summary: expect.stringMatching(/holdings moved/) },
        { kind: 'chainResult', objectiveId: 'appdispute:d', code: 'chain_reverted', summary: 'transaction reverted: Channel not finalized.' },
      ]),
    )
    expect(inputs).toHaveLength(4)
  })
})
