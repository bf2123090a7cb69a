// Property (issue 13): whatever a counterparty sends on a ledger — requests, proposals with random amounts and
// targets (well signed, forged, or signed over other numbers, at the next turn or a later one), countersignatures,
// syncs, sync requests, a DirectDefund's final state, replays of its earlier frames and reused sequence numbers —
// every ledger state the honest node signs gives its owner at least the share it put in: its owner agreed to no
// change, so it made no payment. What it signed is read off the frames it sends (countersignatures are matched
// to the states the attacker showed it by recovering the signer; an unmatched one fails the run).
// fast-check runs on the fixed seed of test/setup.ts; one honest node, a fresh ledger per run.
import fc from 'fast-check'
import { afterAll, beforeAll, expect, test } from 'vitest'
import type { Bytes32 } from '../../src/core/types.js'
import type { State } from '../../src/core/state.js'
import { addressToDestination } from '../../src/core/outcome.js'
import { createSigner } from '../../src/core/signer.js'
import { directDefundId } from '../../src/protocols/directdefund/directdefund.js'
import { directFundId } from '../../src/protocols/directfund/directfund.js'
import type { LedgerVars, Proposal, SignedProposal } from '../../src/protocols/ledger/proposal.js'
import { applyProposal } from '../../src/protocols/ledger/proposal.js'
import { ACCEPT_ANY_PEER } from '../../src/engine/policy.js'
import type { Attacker, LedgerView, World } from './harness.js'
import { createWorld, garbageSignature, keyOf, madeUpTarget, signedVars } from './harness.js'

const SHARE = 1000n
const MAX_UINT256 = 2n ** 256n - 1n
const RUNS = 60

let world: World
let mallory: Attacker
let nonce = 0n
beforeAll(async () => {
  world = await createWorld({ policy: ACCEPT_ANY_PEER })
  mallory = world.attacker('mallory')
})
afterAll(async () => {
  await world.close()
})

type Side = 'honest' | 'mallory'
type Forgery = 'none' | 'wrongKey' | 'garbage' | 'otherVars'
type Input =
  | { readonly t: 'request'; readonly proposal: AbstractProposal }
  | { readonly t: 'proposal'; readonly proposal: AbstractProposal; readonly ahead: number; readonly forge: Forgery }
  | { readonly t: 'countersignature'; readonly ahead: number }
  | { readonly t: 'sync'; readonly forged: boolean }
  | { readonly t: 'syncRequest' }
  | { readonly t: 'final' }
  | { readonly t: 'replay'; readonly index: number }
  | { readonly t: 'reuseSeq'; readonly back: number; readonly proposal: AbstractProposal }

type AbstractProposal =
  | { readonly kind: 'add'; readonly target: number; readonly left: Side; readonly right: Side; readonly leftAmount: bigint; readonly rightAmount: bigint }
  | { readonly kind: 'remove'; readonly target: number; readonly leftAmount: bigint }

const amount = fc.oneof(fc.constant(0n), fc.constant(SHARE), fc.constant(2n * SHARE), fc.bigInt({ min: 0n, max: 2n * SHARE }), fc.constant(MAX_UINT256))
const side = fc.constantFrom<Side>('honest', 'mallory')
const target = fc.nat({ max: 4 })
const abstractProposal: fc.Arbitrary<AbstractProposal> = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), target, left: side, right: side, leftAmount: amount, rightAmount: amount }),
  fc.record({ kind: fc.constant('remove' as const), target, leftAmount: amount }),
)
const input: fc.Arbitrary<Input> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ t: fc.constant('request' as const), proposal: abstractProposal }) },
  { weight: 5, arbitrary: fc.record({ t: fc.constant('proposal' as const), proposal: abstractProposal, ahead: fc.nat({ max: 2 }), forge: fc.constantFrom<Forgery>('none', 'none', 'wrongKey', 'garbage', 'otherVars') }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('countersignature' as const), ahead: fc.nat({ max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('sync' as const), forged: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('syncRequest' as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('final' as const) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('replay' as const), index: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('reuseSeq' as const), back: fc.integer({ min: 1, max: 3 }), proposal: abstractProposal }) },
)

const stranger = createSigner(keyOf('stranger'))

/** One run: a fresh ledger, the inputs, then the check of everything the honest node signed on it. */
async function run(attackerLeads: boolean, inputs: readonly Input[]): Promise<void> {
  nonce += 1n
  const honest = world.honest.address
  const honestDestination = addressToDestination(honest)
  let ledger: LedgerView
  if (attackerLeads) {
    ledger = await mallory.openAndFundLedger(honest, { myIndex: 0, amounts: [SHARE, SHARE], nonce })
  } else {
    const id = await world.honest.engine.directFund({ counterparty: mallory.address, myDeposit: SHARE, theirDeposit: SHARE, nonce })
    ledger = await mallory.fundLedger(await mallory.acceptLedger(honest, id))
  }
  await world.objectiveDone(directFundId(ledger.id))
  await world.settle()
  const firstFrame = mallory.frames.length
  const firstSent = mallory.sent.length

  /** Every ledger state shown to the honest node, by the vars it hashes. */
  const shown: LedgerVars[] = [ledger.supported.vars]
  const concrete = (p: AbstractProposal): Proposal => {
    const dest = (s: Side) => (s === 'honest' ? honestDestination : mallory.destination)
    return p.kind === 'add'
      ? { kind: 'add', target: madeUpTarget(p.target), left: dest(p.left), right: dest(p.right), leftAmount: p.leftAmount, rightAmount: p.rightAmount }
      : { kind: 'remove', target: madeUpTarget(p.target), leftAmount: p.leftAmount }
  }
  const craft = (p: Proposal, ahead: number, forge: Forgery): SignedProposal => {
    const base = ledger.latestVars()
    let vars: LedgerVars
    let valid = true
    try {
      vars = applyProposal(base, p)
    } catch {
      valid = false
      vars = { turnNum: base.turnNum + 1n, outcome: base.outcome } // numbers that follow from nothing
    }
    vars = { ...vars, turnNum: vars.turnNum + BigInt(ahead) }
    if (forge === 'otherVars') vars = { ...vars, outcome: { ...vars.outcome, leader: { ...vars.outcome.leader, amount: vars.outcome.leader.amount + vars.outcome.follower.amount }, follower: { ...vars.outcome.follower, amount: 0n } } }
    shown.push(vars)
    const hash = ledger.hash(vars)
    const signature = forge === 'wrongKey' ? stranger.signHash(hash) : forge === 'garbage' ? garbageSignature(Number(vars.turnNum)) : mallory.signHash(hash)
    const signed = { proposal: p, turnNum: vars.turnNum, signature }
    if (valid && ahead === 0 && forge === 'none') ledger.pending.push({ signed, vars })
    return signed
  }

  for (const step of inputs) {
    switch (step.t) {
      case 'request':
        mallory.send(honest, [mallory.ledgerUpdateRequest(ledger, concrete(step.proposal))])
        break
      case 'proposal':
        mallory.send(honest, [mallory.proposalPayload(ledger, craft(concrete(step.proposal), step.ahead, step.forge))])
        break
      case 'countersignature': {
        const vars = { ...ledger.latestVars(), turnNum: ledger.latestVars().turnNum + 1n + BigInt(step.ahead) }
        shown.push(vars)
        mallory.send(honest, [{ kind: 'countersignature', ledgerId: ledger.id, turnNum: vars.turnNum, signature: mallory.signVars(ledger, vars) }])
        break
      }
      case 'sync': {
        const vars = step.forged ? { turnNum: ledger.supported.vars.turnNum + 5n, outcome: ledger.supported.vars.outcome } : ledger.supported.vars
        shown.push(vars)
        const signatures = step.forged ? [mallory.signVars(ledger, vars), mallory.signVars(ledger, vars)] : [...ledger.supported.signatures]
        mallory.send(honest, [{ kind: 'sync', ledgerId: ledger.id, supported: { state: ledger.state(vars), signatures }, queue: ledger.pending.map((q) => q.signed) }])
        break
      }
      case 'syncRequest':
        mallory.send(honest, [{ kind: 'syncRequest', ledgerId: ledger.id }])
        break
      case 'final':
        mallory.send(honest, [{ kind: 'signedState', objectiveId: directDefundId(ledger.id), signedState: mallory.signedState(ledger.finalState()) }])
        break
      case 'replay': {
        const mine = mallory.sent.slice(firstSent)
        if (mine.length > 0) mallory.resend(mine[step.index % mine.length]!)
        break
      }
      case 'reuseSeq': {
        const seq = mallory.peekSeq(honest) - BigInt(step.back)
        if (seq >= 1n) mallory.send(honest, [mallory.ledgerUpdateRequest(ledger, concrete(step.proposal))], { seq })
        break
      }
    }
  }
  await world.settle()

  // Everything the honest node sent on this ledger since it was funded.
  const frames = mallory.frames.slice(firstFrame).filter((f) => !f.duplicate)
  const payloads = frames.flatMap((f) => f.payloads)
  const mine = (id: Bytes32) => id.toLowerCase() === ledger.id.toLowerCase()
  const honestIndex = 1 - ledger.myIndex
  const honestAmount = (vars: LedgerVars) => (honestIndex === 0 ? vars.outcome.leader.amount : vars.outcome.follower.amount)
  for (const p of payloads) {
    if (p.kind === 'countersignature' && mine(p.ledgerId)) {
      const vars = shown.find((v) => v.turnNum === p.turnNum && signedVars(ledger, v, p.signature, honest))
      expect(vars, `the honest node countersigned turn ${p.turnNum}, a state the attacker never showed it`).toBeDefined()
      expect(honestAmount(vars!)).toBeGreaterThanOrEqual(SHARE)
    }
    if (p.kind === 'proposal' && mine(p.ledgerId)) {
      expect.fail(`the honest node proposed ${JSON.stringify(p.signed.proposal, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))} though its owner asked for nothing`)
    }
    if (p.kind === 'signedState' && (p.objectiveId === directDefundId(ledger.id) || p.objectiveId === directFundId(ledger.id))) {
      const state: State = p.signedState.state
      const paid = state.outcome[0]!.allocations.filter((a) => a.destination.toLowerCase() === honestDestination.toLowerCase()).reduce((sum, a) => sum + a.amount, 0n)
      expect(paid).toBeGreaterThanOrEqual(SHARE)
    }
  }
  const view = world.honest.engine.getLedger(ledger.id)
  if (view) expect(honestAmount(view.supported.vars)).toBeGreaterThanOrEqual(SHARE)
}

test('whatever the counterparty sends, every ledger state the honest node signs pays its owner at least its share', async () => {
  await fc.assert(
    fc.asyncProperty(fc.boolean(), fc.array(input, { minLength: 1, maxLength: 20 }), async (attackerLeads, inputs) => run(attackerLeads, inputs)),
    { numRuns: RUNS },
  )
  // The runs did reach the honest node: it refused requests it had no objective for.
  expect(world.rejected('unsolicited_ledger_update')).toBeGreaterThan(0)
}, 60_000)
