// Attack 3 (issue 13): what others start passes the node's policy (DESIGN §5, src/engine/policy.ts). A
// DirectFund prefund naming the honest node asks it to deposit its owner's money: with the default policy
// (none configured: REFUSE_UNSOLICITED) every such start is refused `peer_not_allowed`; with a PeerPolicy that
// accepts the peer, the per-channel and per-peer caps, the challenge-duration bounds and the asset list each
// refuse with their own code. Each refusal is counted, told to the peer (an objectiveRejected with the code),
// and leaves nothing signed or deposited.
import { afterEach, describe, expect, test } from 'vitest'
import type { Address } from '../../src/core/types.js'
import type { State } from '../../src/core/state.js'
import { channelId } from '../../src/core/channelId.js'
import { fixedPart } from '../../src/core/state.js'
import { directFundId } from '../../src/protocols/directfund/directfund.js'
import type { PeerPolicy } from '../../src/engine/policy.js'
import type { Attacker, World } from './harness.js'
import { ATTACKER_FUNDS, DAY_SEC, ETH, HONEST_FUNDS, JUNK, createWorld, keyOf, statesSignedBy } from './harness.js'
import { createSigner } from '../../src/core/signer.js'

const MALLORY = createSigner(keyOf('mallory')).address

let world: World | undefined
afterEach(async () => {
  await world?.close()
  world = undefined
})

/** Accepts mallory's ETH ledgers of up to 500 each and 800 in all, with challenge durations of 1 min..30 days. */
function capped(peer: Address): PeerPolicy {
  return { peers: [peer], assets: [ETH], maxPerChannel: 500n, maxPerPeer: 800n, challengeDurationSec: { min: 60, max: 30 * DAY_SEC } }
}

/** The refusal of `prefund` with `code`: counted, told to the peer, nothing signed, stored or deposited. */
async function expectRefused(w: World, mallory: Attacker, prefund: State, code: string, theirDeposit = 0n): Promise<void> {
  const objectiveId = directFundId(channelId(fixedPart(prefund)))
  await mallory.waitFor('objectiveRejected', (p) => p.objectiveId === objectiveId && p.code === code)
  await w.settle()
  expect(w.rejected(code)).toBe(1)
  expect(w.honest.engine.rejections.recent.filter((r) => r.code === code).at(-1)).toMatchObject({ code, from: mallory.address })
  expect(statesSignedBy(mallory, w.honest.address).filter((s) => channelId(fixedPart(s)) === channelId(fixedPart(prefund)))).toEqual([])
  expect(w.honest.engine.getObjective(objectiveId)?.objective.status ?? 'none').not.toMatch(/approved|completed/)
  expect(await w.chain.holdings(channelId(fixedPart(prefund)), ETH)).toBe(theirDeposit)
  expect(w.honestBalance()).toBe(HONEST_FUNDS)
}

describe('the default policy: everything others start is refused', () => {
  test.each([
    { name: 'the stranger first (it would deposit first)', myIndex: 0 as const },
    { name: 'the honest node first (it would deposit first)', myIndex: 1 as const },
  ])('a stranger\'s DirectFund prefund naming the node, $name → peer_not_allowed', async ({ myIndex }) => {
    const w = (world = await createWorld())
    const stranger = w.attacker('stranger')
    const prefund = stranger.openLedger(w.honest.address, { myIndex, amounts: [1000n, 1000n], nonce: 1n })
    // It funds its own share regardless, and says it is fully funded.
    const deposited = myIndex === 0 ? 1000n : 0n
    if (deposited > 0n) await stranger.deposit(channelId(fixedPart(prefund)), ETH, deposited, 0n)
    await expectRefused(w, stranger, prefund, 'peer_not_allowed', deposited)
    expect(w.honest.engine.objectives()).toEqual([])
    expect(stranger.payloads('signedState')).toEqual([])
  })
})

describe('a PeerPolicy that accepts the peer', () => {
  test('a prefund asking more than maxPerChannel of mine → over_channel_limit', async () => {
    const w = (world = await createWorld({ policy: capped(MALLORY) }))
    const mallory = w.attacker('mallory')
    const prefund = mallory.openLedger(w.honest.address, { amounts: [1n, 501n], nonce: 1n })
    await expectRefused(w, mallory, prefund, 'over_channel_limit')
  })

  test('a ledger whose starter goes first with nothing, so the honest node would deposit alone first → deposit_order', async () => {
    const w = (world = await createWorld({ policy: capped(MALLORY) }))
    const mallory = w.attacker('mallory')
    const prefund = mallory.openLedger(w.honest.address, { myIndex: 0, amounts: [0n, 100n], nonce: 1n })
    await expectRefused(w, mallory, prefund, 'deposit_order')
  })

  test('a ledger that puts the honest node first to deposit → deposit_order (the starter deposits first, not me)', async () => {
    const w = (world = await createWorld({ policy: capped(MALLORY) }))
    const mallory = w.attacker('mallory')
    const prefund = mallory.openLedger(w.honest.address, { myIndex: 1, amounts: [100n, 100n], nonce: 1n })
    await expectRefused(w, mallory, prefund, 'deposit_order')
  })

  test('two ledgers that together ask more than maxPerPeer → over_peer_limit; closing the first frees it', async () => {
    const w = (world = await createWorld({ policy: capped(MALLORY) }))
    const mallory = w.attacker('mallory')
    // The peer starts both, first to deposit (a ledger that puts the honest node first is refused: deposit_order).
    const myIndex = 0 as const
    const amounts = (honest: bigint): [bigint, bigint] => [100n, honest]
    // The first ledger (500 of mine) is accepted, funded and open.
    const ledger = await mallory.openAndFundLedger(w.honest.address, { myIndex, amounts: amounts(500n), nonce: 1n })
    expect((await w.objectiveDone(directFundId(ledger.id))).status).toBe('completed')
    expect(w.honest.engine.getLedger(ledger.id)).toBeDefined()
    expect(w.honestBalance()).toBe(HONEST_FUNDS - 500n)
    // 500 + 400 > 800.
    const second = mallory.openLedger(w.honest.address, { myIndex, amounts: amounts(400n), nonce: 2n })
    const secondId = directFundId(channelId(fixedPart(second)))
    await mallory.waitFor('objectiveRejected', (p) => p.objectiveId === secondId && p.code === 'over_peer_limit', 2_000).catch(async () => {
      await w.settle()
      const signed = statesSignedBy(mallory, w.honest.address).filter((s) => s.channelNonce === 2n).length
      throw new Error(`over_peer_limit not applied: the honest node signed ${signed} state(s) of the second ledger and holds ${w.honestBalance()} of ${HONEST_FUNDS}`)
    })
    await w.settle()
    expect(w.rejected('over_peer_limit')).toBe(1)
    expect(statesSignedBy(mallory, w.honest.address).filter((s) => s.channelNonce === 2n)).toEqual([])
    expect(w.honestBalance()).toBe(HONEST_FUNDS - 500n)

    // Closed, the first ledger commits nothing: the same ask is accepted now (the prefund is countersigned).
    const defund = await w.honest.engine.directDefund(ledger.id)
    await mallory.cooperateDefund(ledger)
    expect((await w.objectiveDone(defund)).status).toBe('completed')
    await w.settle()
    expect(w.honestBalance()).toBe(HONEST_FUNDS)
    const third = mallory.openLedger(w.honest.address, { myIndex, amounts: amounts(400n), nonce: 3n })
    const thirdLedger = await mallory.fundLedger(third)
    expect((await w.objectiveDone(directFundId(thirdLedger.id))).status).toBe('completed')
    const close = await w.honest.engine.directDefund(thirdLedger.id)
    await mallory.cooperateDefund(thirdLedger)
    expect((await w.objectiveDone(close)).status).toBe('completed')
    await w.settle()
    expect(w.honestBalance()).toBe(HONEST_FUNDS)
    expect(mallory.balance()).toBe(ATTACKER_FUNDS)
  })

  test.each([
    { challengeDuration: 2 ** 47, why: 'money stuck for millions of years' },
    { challengeDuration: 1, why: 'no time to answer a challenge' },
    { challengeDuration: 59, why: 'just under the minimum' },
  ])('a challenge duration of $challengeDuration s ($why) → challenge_duration_out_of_bounds', async ({ challengeDuration }) => {
    const w = (world = await createWorld({ policy: capped(MALLORY) }))
    const mallory = w.attacker('mallory')
    const prefund = mallory.openLedger(w.honest.address, { amounts: [100n, 100n], nonce: 1n, challengeDuration })
    await expectRefused(w, mallory, prefund, 'challenge_duration_out_of_bounds')
  })

  test('a ledger in an asset not on the list → asset_not_allowed', async () => {
    const w = (world = await createWorld({ policy: capped(MALLORY) }))
    const mallory = w.attacker('mallory')
    const prefund = mallory.openLedger(w.honest.address, { amounts: [100n, 100n], nonce: 1n, asset: JUNK })
    await expectRefused(w, mallory, prefund, 'asset_not_allowed')
  })
})
