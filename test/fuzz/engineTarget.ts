// The engine fuzz target (DESIGN §5 "Consent and money"): frames from a stranger, from random addresses and from
// the owner's real counterparty — valid envelopes with junk payloads aimed at the owner's real ledgers (their ids,
// fixed parts and objective ids), signatures forged or made by the wrong key, random ids, mutated and edited
// frames, random bytes — are fed to a real Engine's `receive` (engineWorld.ts). One world serves a whole run.
// Property, after each case: `receive` never threw nor rejected; no refusal was recorded as `internal`,
// `effect_failed` or `invariant` (a handler crashing on input); the owner's ledger with the counterparty is as it
// was (turn, balances, guarantees, not closing), and so are the owner's money on chain and both ledgers' holdings;
// and an honest ledger update with the third node, whom the fuzzer never impersonates, still completes.
import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { Address, Bytes32, Signature } from '../../src/core/types.js'
import type { State } from '../../src/core/state.js'
import { hashState } from '../../src/core/hashState.js'
import { channelId } from '../../src/core/channelId.js'
import { addressToDestination } from '../../src/core/outcome.js'
import { SECP256K1_N } from '../../src/core/limits.js'
import { FRAME_KIND, encodeFrame } from '../../src/engine/frames.js'
import { ledgerState } from '../../src/protocols/ledger/consensusChannel.js'
import type { Proposal } from '../../src/protocols/ledger/proposal.js'
import { directFundId } from '../../src/protocols/directfund/directfund.js'
import { directDefundId } from '../../src/protocols/directdefund/directdefund.js'
import * as arb from '../arbitraries.js'
import { envelopeOf, frameBody } from './frameTargets.js'
import { mutatedBytes, mutatedTree } from './mutate.js'
import type { AnyTarget } from './target.js'
import { assertSameData, defineTarget, describeThrown } from './target.js'
import type { FrameSession, Pools } from './wireArbitraries.js'
import { DEFAULT_POOLS, canonicalAddress, canonicalBytes32, canonicalChannelId, canonicalState, frameArbitrary, text } from './wireArbitraries.js'
import type { EngineWorld } from './engineWorld.js'
import { ETH, LEDGER_IDS, LEDGER_WITH_COUNTERPARTY, LEDGER_WITH_THIRD, UNSOLICITED_LEDGERS, counterparty, openWorld, owner, stranger, third } from './engineWorld.js'
import { objectiveDone } from '../adversary/harness.js'

/** Guarantee targets of the honest updates, one per case; the first few are also in the fuzzer's pool of ids. */
const honestTarget = (i: number): Bytes32 => `0x${(i + 1).toString(16).padStart(8, '0')}${'fa'.repeat(28)}` as Bytes32

// ---- what the fuzzer sends ----

/** The malleable twin of a signature (r, n − s, v ⊕ 1): well-formed bytes the decoder must refuse (low s only). */
function highS(signature: Signature): Signature {
  const hex = signature.slice(2)
  const s = BigInt(`0x${hex.slice(64, 128)}`)
  return `0x${hex.slice(0, 64)}${(SECP256K1_N - s).toString(16).padStart(64, '0')}${hex.slice(128) === '1b' ? '1c' : '1b'}`
}

const signers = [counterparty, stranger]
const signature: fc.Arbitrary<Signature> = fc.oneof(
  { weight: 2, arbitrary: arb.signature },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...signers), canonicalBytes32).map(([signer, hash]) => signer.signHash(hash)) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...signers), canonicalBytes32).map(([signer, hash]) => highS(signer.signHash(hash))) },
)

/** Turns near the ledgers' own (0 and 1: funding; a few more: updates), and any. */
const smallTurn = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(0n, 1n) }, { weight: 2, arbitrary: fc.bigInt({ min: 0n, max: 8n }) }, { weight: 1, arbitrary: arb.turnNum })
const amount = fc.oneof(fc.bigInt({ min: 0n, max: 2n * 1000n }), arb.amount)
const people: Address[] = [owner.address, counterparty.address, third.address, stranger.address]

/** Channel ids the fuzzer aims at: the owner's ledgers, and ledgers others try to open with it. */
const TARGET_IDS: readonly Bytes32[] = [...LEDGER_IDS, ...UNSOLICITED_LEDGERS.map((fixed) => channelId(fixed))]

/** A ledger state of one of the owner's ledgers, one others try to open with it, or another channel; any turn and balances. */
const ledgerLikeState: fc.Arbitrary<State> = fc
  .record({
    fixed: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(LEDGER_WITH_COUNTERPARTY, LEDGER_WITH_THIRD, ...UNSOLICITED_LEDGERS) }, { weight: 1, arbitrary: arb.fixedPart }),
    turnNum: smallTurn,
    leader: amount,
    follower: amount,
    isFinal: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  })
  .map(({ fixed, turnNum, leader, follower, isFinal }) => {
    const [first, second] = [fixed.participants[0]!, fixed.participants[1] ?? fixed.participants[0]!]
    const vars = { turnNum, outcome: { asset: ETH, leader: { destination: addressToDestination(first), amount: leader }, follower: { destination: addressToDestination(second), amount: follower }, guarantees: [] } }
    return canonicalState({ ...ledgerState(fixed, vars), isFinal })
  })

/**
 * Each slot empty, forged, or signed for real: by the participant at that slot when the fuzzer holds its key
 * (the counterparty, the stranger), else by one of them (a signature, but not the participant's). Never by the
 * owner: only the owner's node signs for it.
 */
function slot(state: State, index: number): fc.Arbitrary<Signature | null> {
  const hash = hashState(state)
  const holder = signers.find((s) => s.address.toLowerCase() === state.participants[index]!.toLowerCase())
  const isOwner = state.participants[index]!.toLowerCase() === owner.address.toLowerCase()
  if (holder) return fc.oneof({ weight: 5, arbitrary: fc.constant(holder.signHash(hash)) }, { weight: 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: signature })
  if (isOwner) return fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: signature })
  return fc.oneof({ weight: 2, arbitrary: fc.constant(null) }, { weight: 2, arbitrary: fc.constantFrom(...signers).map((s) => s.signHash(hash)) }, { weight: 1, arbitrary: signature })
}

const POOLS: Pools = {
  channelId: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...TARGET_IDS) },
    { weight: 1, arbitrary: fc.nat({ max: 3 }).map(honestTarget) },
    { weight: 2, arbitrary: canonicalChannelId },
  ),
  address: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...people) }, { weight: 1, arbitrary: canonicalAddress }),
  signature,
  signedState: fc.oneof(
    { weight: 4, arbitrary: ledgerLikeState.chain((state) => fc.tuple(...state.participants.map((_, i) => slot(state, i))).map((signatures) => ({ state, signatures }))) },
    { weight: 1, arbitrary: DEFAULT_POOLS.signedState },
  ),
  objectiveId: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...TARGET_IDS).chain((id) => fc.constantFrom(directFundId(id), directDefundId(id), `ledgerUpdate:${id}:add:${honestTarget(0)}`)) },
    { weight: 1, arbitrary: text(200) },
  ),
  turnNum: smallTurn,
  amount,
  // the ledger payloads, which the owner's ledgers and policy answer, more often than the app and payment ones
  kindWeights: { signedState: 6, proposal: 3, countersignature: 3, ledgerUpdateRequest: 3, sync: 2, syncRequest: 2 },
  objectiveIdFor: (state) => {
    const id = channelId(state)
    return fc.constantFrom(directFundId(id), directDefundId(id))
  },
}

type Sender = { readonly as: 'stranger' } | { readonly as: 'counterparty' } | { readonly as: 'someone'; readonly address: Address }

const sender: fc.Arbitrary<Sender> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ as: 'stranger' as const }) },
  { weight: 3, arbitrary: fc.constant({ as: 'counterparty' as const }) },
  { weight: 1, arbitrary: canonicalAddress.map((address) => ({ as: 'someone' as const, address })) },
)

/**
 * Mostly no session (a frame of three fields takes part in no session check), since a sender epoch, once a peer
 * used it, makes every later frame with a lower one stale; otherwise small sender epochs, rarely one that jumps
 * (a new session: the owner renumbers its outbox to that peer), and the owner's epoch as unknown (0) mostly.
 */
const session: fc.Arbitrary<FrameSession | undefined> = fc.oneof(
  { weight: 5, arbitrary: fc.constant(undefined) },
  {
    weight: 1,
    arbitrary: fc.record({
      epochs: fc.record({
        sender: fc.oneof({ weight: 12, arbitrary: fc.bigInt({ min: 0n, max: 3n }) }, { weight: 1, arbitrary: fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }) }),
        receiver: fc.oneof({ weight: 6, arbitrary: fc.constant(0n) }, { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }),
      }),
      base: fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 16n }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })),
    }),
  },
)

/** Mostly fresh sequence numbers (a seq seen before is a duplicate, dropped unread), sometimes small ones. */
const seq = fc.oneof({ weight: 6, arbitrary: fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }) }, { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: 8n }) })

const frames = frameArbitrary(POOLS, { maxPayloads: 3, session, seq })
const frameBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 14, arbitrary: frames.map(encodeFrame) },
  { weight: 3, arbitrary: mutatedBytes(frames.map(encodeFrame)) },
  { weight: 2, arbitrary: mutatedTree(frames.map(frameBody)).map((body) => envelopeOf(FRAME_KIND, body) ?? new Uint8Array()) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 128 }) },
)

interface Delivery {
  readonly from: Sender
  readonly bytes: Uint8Array
}

const deliveries: fc.Arbitrary<Delivery[]> = fc.array(fc.record({ from: sender, bytes: frameBytes }), { minLength: 1, maxLength: 4 })

// ---- the property ----

const CRASH_CODES = ['internal', 'effect_failed', 'invariant']

/** What must not move: the owner's ledger with the counterparty, its money on chain, both ledgers' holdings. */
async function snapshot(world: EngineWorld): Promise<unknown> {
  const ledger = world.owner.engine.getLedger(LEDGER_IDS[0]!)
  assert.ok(ledger, 'the owner still has its ledger with the counterparty')
  return {
    ledger: { vars: ledger.supported.vars, closing: ledger.closing },
    balance: world.chain.balanceOf(owner.address, ETH),
    holdings: await Promise.all(LEDGER_IDS.map((id) => world.chain.holdings(id, ETH))),
  }
}

function crashCounts(world: EngineWorld): Record<string, number> {
  const counts = world.owner.engine.rejections.counts
  return Object.fromEntries(CRASH_CODES.map((code) => [code, counts[code] ?? 0]))
}

const addressOf = (from: Sender): Address => (from.as === 'stranger' ? stranger.address : from.as === 'counterparty' ? counterparty.address : from.address)

let world: EngineWorld | undefined
let honestUpdates = 0
let outstanding: Bytes32 | undefined

/** An honest change of the owner's ledger with the third node, agreed by both: lock 1 wei, or release it. */
async function honestUpdate(w: EngineWorld): Promise<void> {
  const ledgerId = LEDGER_IDS[1]!
  const proposal: Proposal = outstanding
    ? { kind: 'remove', target: outstanding, leftAmount: 1n }
    : { kind: 'add', target: honestTarget(honestUpdates), left: addressToDestination(owner.address), right: addressToDestination(third.address), leftAmount: 1n, rightAmount: 0n }
  honestUpdates++
  await w.third.engine.agreeLedgerUpdate(ledgerId, proposal)
  const id = await w.owner.engine.updateLedger(ledgerId, proposal)
  const done = await objectiveDone(w.owner.engine, id, 10_000)
  assert.equal(done.status, 'completed', `an honest ledger update with the third node ended ${done.status}`)
  outstanding = proposal.kind === 'add' ? proposal.target : undefined
}

async function checkDeliveries(cases: readonly Delivery[]): Promise<void> {
  const w = world!
  const before = await snapshot(w)
  const crashesBefore = crashCounts(w)
  for (const { from, bytes } of cases) {
    try {
      await w.owner.engine.receive(addressOf(from), bytes)
    } catch (error) {
      assert.fail(`receive threw ${describeThrown(error)}\n${error instanceof Error ? error.stack : ''}`)
    }
  }
  await w.settle()
  const recent = w.owner.engine.rejections.recent.filter((r) => CRASH_CODES.includes(r.code)).map((r) => `${r.code}: ${r.summary}`)
  assert.deepEqual(crashCounts(w), crashesBefore, `a frame crashed a handler: ${recent.join('; ')}`)
  assertSameData(await snapshot(w), before, 'the owner\'s ledger with the counterparty, its money and the holdings are as they were')
  await honestUpdate(w)
}

export const engineTarget: AnyTarget = defineTarget({
  name: 'engine.receive',
  property: 'frames from a stranger, random peers and the real counterparty never make receive throw or a handler crash, move none of the owner\'s money, and leave an honest update with a third node working',
  weight: 10,
  ciRuns: 200,
  async: true,
  arbitrary: deliveries,
  check: checkDeliveries,
  open: async () => {
    world = await openWorld()
    honestUpdates = 0
    outstanding = undefined
  },
  close: async () => {
    await world?.close()
    world = undefined
  },
})
