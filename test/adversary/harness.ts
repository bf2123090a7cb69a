// An attacker for funds-safety tests (issue 13; DESIGN §5 "Consent and money"). `Attacker` is NOT an honest
// Engine with a flag: it holds its own secp256k1 key, connects to the MemoryNetwork under its own address and
// builds every frame itself (src/engine/frames.ts), so it can do what no honest node does — number frames as
// it likes (replay, reorder, reuse a seq, skip), withhold acknowledgements, send payloads out of turn, sign
// with the wrong key or a malleable (high-s) signature, send bytes that are not a frame at all, and deposit
// any asset (a worthless token too) on the MemoryChain through its own account. It records every frame the
// honest node sends it, decoded, with the honest node's acknowledgements of its own frames.
//
// To reach a legitimate position before attacking, it can also play the honest counterpart by hand: open or
// accept a DirectFund (sign the prefund, deposit its share when safe, sign the postfund), propose and
// countersign on a ledger (LedgerView tracks the ledger as the attacker sees it), and cooperate in a
// DirectDefund (countersign the final state, conclude and withdraw when it is participant 0).
//
// `createWorld` builds what each attack runs against: ONE honest Engine on a RocksStore in a temp dir, on a
// MemoryNetwork without faults and a MemoryChain (through ContractChain, which adds the one thing the real
// adjudicator accepts and MemoryChain refuses: a zero-amount deposit). Any number of attackers join it.
//
// Reuse: the seeded simulation (issue 14) drives Attackers as the byzantine actors of a cluster — the harness
// depends only on the wire codec, the pure protocol functions and the in-memory network and chain, never on
// Engine internals — and reuses the checks the tests here make (every state the honest node signed, its
// chain balance after close, its rejection counters).
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

import type { Address, Bytes32, Destination, Hex, Signature } from '../../src/core/types.js'
import type { FixedPart, State } from '../../src/core/state.js'
import type { SignedState } from '../../src/core/signedState.js'
import type { Signer } from '../../src/core/signer.js'
import { createSigner } from '../../src/core/signer.js'
import { channelId } from '../../src/core/channelId.js'
import { fixedPart } from '../../src/core/state.js'
import { hashStateOfChannel } from '../../src/core/hashState.js'
import { addressToDestination } from '../../src/core/outcome.js'
import { participantIndex } from '../../src/core/signedState.js'
import { recoverHashSigner } from '../../src/core/signatures.js'
import { encodeEnvelope } from '../../src/core/codec.js'
import { SECP256K1_N } from '../../src/core/limits.js'
import type { Frame } from '../../src/engine/frames.js'
import { FRAME_KIND, decodeFrame, encodeFrame } from '../../src/engine/frames.js'
import type { Payload } from '../../src/protocols/messages.js'
import { openingState } from '../../src/protocols/openingState.js'
import { directFundId } from '../../src/protocols/directfund/directfund.js'
import { directDefundId } from '../../src/protocols/directdefund/directdefund.js'
import { ledgerUpdateId } from '../../src/protocols/ledgerupdate/ledgerUpdate.js'
import { ledgerState } from '../../src/protocols/ledger/consensusChannel.js'
import { ledgerOutcomeFromExit } from '../../src/protocols/ledger/ledgerOutcome.js'
import type { LedgerVars, Proposal, SignedProposal } from '../../src/protocols/ledger/proposal.js'
import { applyProposal } from '../../src/protocols/ledger/proposal.js'
import { depositSafetyThreshold, depositTarget, fullyFundedThreshold } from '../../src/protocols/outcome/funding.js'
import type { ChainService } from '../../src/chain/chainService.js'
import type { ChainLogEvent, ChainEvent } from '../../src/protocols/onchain.js'
import { MemoryChain, MEMORY_CONSENSUS_APP } from '../../src/chain/memoryChain.js'
import { MemoryNetwork } from '../../src/transport/memoryTransport.js'
import type { Transport } from '../../src/transport/transport.js'
import { RocksStore } from '../../src/store/rocksStore.js'
import { Engine } from '../../src/engine/engine.js'
import type { PeerPolicy } from '../../src/engine/policy.js'
import type { Objective } from '../../src/protocols/objectives.js'
import { toAddress } from '../../src/core/canonical.js'

export const ETH: Address = toAddress('0x0000000000000000000000000000000000000000')
/** A token anyone can mint on the MemoryChain: worth nothing, but deposits of it emit `deposited` events too. */
export const JUNK: Address = toAddress('0x000000000000000000000000000000000000bad0')
/** What the honest owner starts with, in ETH; every test ends by checking it is all there. */
export const HONEST_FUNDS = 1_000_000n
export const ATTACKER_FUNDS = 1_000_000n
export const DAY_SEC = 86_400

const lower = <T extends string>(s: T): T => s.toLowerCase() as T
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** A private key derived from a label: every run of a test uses the same actors. */
export function keyOf(label: string): Hex {
  return `0x${createHash('sha256').update(`adversary:${label}`).digest('hex')}`
}

/** Polls until `condition` holds; throws naming `what` after `timeoutMs`. */
export async function until(what: string, condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const start = Date.now()
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await sleep(2)
  }
}

/** A made-up channel id (a guarantee target no channel has): 0x ‖ tag ‖ 0xee…; never 12 leading zero bytes. */
export function madeUpTarget(tag: number): Bytes32 {
  return `0x${(tag + 1).toString(16).padStart(8, '0')}${'ee'.repeat(28)}` as Bytes32
}

// ---- forged signatures ----

/** The malleable twin of a valid signature: (r, n − s, v ⊕ 1) recovers to the same key; DESIGN §3 refuses it. */
export function highS(signature: Signature): Signature {
  const hex = signature.slice(2)
  const r = hex.slice(0, 64)
  const s = BigInt(`0x${hex.slice(64, 128)}`)
  const v = Number.parseInt(hex.slice(128, 130), 16)
  return `0x${r}${(SECP256K1_N - s).toString(16).padStart(64, '0')}${(v === 27 ? 28 : 27).toString(16)}`
}

/** 65 bytes that parse as a signature (r, s in range, v = 27) but were made by no one for this hash. */
export function garbageSignature(tag: number): Signature {
  const word = createHash('sha256').update(`garbage:${tag}`).digest('hex')
  const s = (BigInt(`0x${word}`) % (SECP256K1_N / 2n - 1n)) + 1n
  return `0x${word}${s.toString(16).padStart(64, '0')}1b`
}

// ---- the ledger as the attacker sees it ----

/** A ledger channel from the attacker's side: the supported state and the proposals it signed as leader. */
export class LedgerView {
  readonly id: Bytes32
  readonly myIndex: 0 | 1
  supported: { vars: LedgerVars; signatures: readonly [Signature, Signature] }
  /** My proposals (as leader) not yet countersigned, in turn order, with the vars each results in. */
  pending: { signed: SignedProposal; vars: LedgerVars }[] = []

  constructor(
    readonly fixed: FixedPart,
    me: Address,
    supported: { vars: LedgerVars; signatures: readonly [Signature, Signature] },
  ) {
    this.id = channelId(fixed)
    const index = fixed.participants.findIndex((p) => lower(p) === lower(me))
    if (index !== 0 && index !== 1) throw new Error('the attacker is not a participant of this ledger')
    this.myIndex = index
    this.supported = supported
  }

  get role(): 'leader' | 'follower' {
    return this.myIndex === 0 ? 'leader' : 'follower'
  }

  get counterparty(): Address {
    return this.fixed.participants[1 - this.myIndex]!
  }

  state(vars: LedgerVars = this.supported.vars): State {
    return ledgerState(this.fixed, vars)
  }

  hash(vars: LedgerVars): Bytes32 {
    return hashStateOfChannel(this.id, this.state(vars))
  }

  /** The vars after the supported state and every pending proposal of mine. */
  latestVars(): LedgerVars {
    return this.pending.at(-1)?.vars ?? this.supported.vars
  }

  /** The final state a DirectDefund signs: the supported state one turn on, final. */
  finalState(): State {
    const s = this.state()
    return { ...s, turnNum: s.turnNum + 1n, isFinal: true }
  }
}

// ---- the attacker ----

export interface ReceivedFrame {
  readonly from: Address
  readonly seq: bigint | null
  readonly payloads: readonly Payload[]
  readonly acks: readonly bigint[]
  /** A retransmission of a seq already received (an honest receiver would handle it once). */
  readonly duplicate: boolean
}

export interface SentFrame {
  readonly to: Address
  readonly seq: bigint | null
  readonly bytes: Uint8Array
}

type PayloadOf<K extends Payload['kind']> = Extract<Payload, { kind: K }>

export class Attacker {
  readonly key: Hex
  readonly signer: Signer
  readonly address: Address
  readonly destination: Destination
  readonly transport: Transport
  /** My own account on the chain: deposits debit my balance. */
  readonly chain: ChainService & { readonly account: Address }
  /** Every frame received, in arrival order, retransmissions included. */
  readonly frames: ReceivedFrame[] = []
  /** Messages that did not decode as frames. */
  readonly undecodable: { from: Address; bytes: Uint8Array; error: unknown }[] = []
  /** Every frame I sent, in order (replay one with `resend`). */
  readonly sent: SentFrame[] = []
  /** Acknowledge each sequenced frame as it arrives (as an honest peer does); off: let the honest node retransmit. */
  autoAck = true
  /** How many times each of my seqs was acknowledged, per peer: `${peer}:${seq}` (lowercase). */
  readonly acks = new Map<string, number>()
  readonly #nextSeq = new Map<string, bigint>()
  readonly #seen = new Map<string, Set<bigint>>()
  readonly #accepted = new Set<string>()

  constructor(
    readonly label: string,
    readonly network: MemoryNetwork,
    readonly memoryChain: MemoryChain,
    key: Hex = keyOf(label),
  ) {
    this.key = key
    this.signer = createSigner(key)
    this.address = this.signer.address
    this.destination = addressToDestination(this.address)
    this.transport = network.connect(this.address)
    this.chain = memoryChain.connect(this.address)
    this.transport.onMessage((from, bytes) => this.#receive(from, bytes))
  }

  #receive(from: Address, bytes: Uint8Array): void {
    let frame: Frame
    try {
      frame = decodeFrame(bytes)
    } catch (error) {
      this.undecodable.push({ from, bytes, error })
      return
    }
    for (const seq of frame.acks) {
      const k = `${lower(from)}:${seq}`
      this.acks.set(k, (this.acks.get(k) ?? 0) + 1)
    }
    let duplicate = false
    if (frame.seq !== null) {
      const seen = this.#seen.get(lower(from)) ?? new Set<bigint>()
      this.#seen.set(lower(from), seen)
      duplicate = seen.has(frame.seq)
      seen.add(frame.seq)
      if (this.autoAck) this.ack(from, [frame.seq])
    }
    this.frames.push({ from, seq: frame.seq, payloads: frame.payloads, acks: frame.acks, duplicate })
  }

  // ---- sending ----

  /** The next seq I would use towards `to` (my own numbering; the honest node dedupes by it). */
  peekSeq(to: Address): bigint {
    return this.#nextSeq.get(lower(to)) ?? 1n
  }

  /** Sets my next seq towards `to` (skip ahead, or go back and reuse one). */
  setNextSeq(to: Address, seq: bigint): void {
    this.#nextSeq.set(lower(to), seq)
  }

  /**
   * Sends `payloads` in one frame. `seq`: my next one (default), any number (reuse, skip, reorder), or null
   * (a notice frame: the honest decoder accepts only notices there). `acks`: acknowledgements to carry.
   * Returns the seq used.
   */
  send(to: Address, payloads: readonly Payload[], opts: { seq?: bigint | null; acks?: readonly bigint[] } = {}): bigint | null {
    const seq = opts.seq === undefined ? this.peekSeq(to) : opts.seq
    // My next fresh seq stays above every one I used (a reused or reordered one does not move it back).
    if (seq !== null && seq >= this.peekSeq(to)) this.#nextSeq.set(lower(to), seq + 1n)
    this.sendBytes(to, encodeFrame({ seq, payloads, acks: opts.acks ?? [] }), seq)
    return seq
  }

  /** A frame body built by hand (wire tuples, not typed payloads): shapes and values no encoder would make. */
  sendWireFrame(to: Address, body: unknown): void {
    this.sendBytes(to, encodeEnvelope(FRAME_KIND, body), null)
  }

  /** Any envelope (MemoryNetwork carries only wire envelopes; for other bytes call the engine's `receive`). */
  sendEnvelope(to: Address, kind: string, body: unknown): void {
    this.sendBytes(to, encodeEnvelope(kind, body), null)
  }

  sendBytes(to: Address, bytes: Uint8Array, seq: bigint | null = null): void {
    this.sent.push({ to, seq, bytes })
    this.transport.send(to, bytes)
  }

  /** Sends a frame I sent before again, byte for byte (a replay). */
  resend(frame: SentFrame): void {
    this.sendBytes(frame.to, frame.bytes, frame.seq)
  }

  /** An ack-only frame. */
  ack(to: Address, seqs: readonly bigint[]): void {
    this.transport.send(to, encodeFrame({ seq: null, payloads: [], acks: seqs }))
  }

  /**
   * Forgets which of `from`'s sequence numbers I saw, as a node starting a new session does: after I claimed a
   * new epoch, the honest node numbers its frames to me from 1 again.
   */
  newSession(from: Address): void {
    this.#seen.delete(lower(from))
  }

  /** Acknowledges every sequenced frame received from `from` so far (after running with autoAck off). */
  ackAll(from: Address): void {
    const seqs = [...(this.#seen.get(lower(from)) ?? [])]
    if (seqs.length > 0) this.ack(from, seqs)
  }

  /** How many times `peer` acknowledged my frame `seq`. */
  ackCount(peer: Address, seq: bigint): number {
    return this.acks.get(`${lower(peer)}:${seq}`) ?? 0
  }

  // ---- what I received ----

  /** Payloads received (each sequenced frame once, as an honest receiver handles it), optionally of one kind. */
  payloads<K extends Payload['kind']>(kind: K, from?: Address): PayloadOf<K>[] {
    const out: PayloadOf<K>[] = []
    for (const f of this.frames) {
      if (f.duplicate || (from && lower(f.from) !== lower(from))) continue
      for (const p of f.payloads) if (p.kind === kind) out.push(p as PayloadOf<K>)
    }
    return out
  }

  /** Waits for a payload of `kind` matching `match`, received at any time (before the call too). */
  async waitFor<K extends Payload['kind']>(kind: K, match: (p: PayloadOf<K>) => boolean = () => true, timeoutMs = 5_000): Promise<PayloadOf<K>> {
    let found: PayloadOf<K> | undefined
    await until(`a ${kind} payload at ${this.label}`, () => (found = this.payloads(kind).find(match)) !== undefined, timeoutMs)
    return found!
  }

  /** The objectiveRejected notices received, optionally with one code. */
  rejectionsReceived(code?: string): PayloadOf<'objectiveRejected'>[] {
    return this.payloads('objectiveRejected').filter((p) => code === undefined || p.code === code)
  }

  // ---- signing (and forging) ----

  signHash(hash: Bytes32): Signature {
    return this.signer.signHash(hash)
  }

  signState(state: State): Signature {
    return this.signHash(hashStateOfChannel(channelId(fixedPart(state)), state))
  }

  /** `state` with my signature at my index (null elsewhere, or `others`' signatures kept). */
  signedState(state: State, others: readonly (Signature | null)[] = []): SignedState {
    const index = participantIndex(state, this.address)
    if (index < 0) throw new Error(`${this.label} is not a participant`)
    const signatures = state.participants.map((_, i) => others[i] ?? null)
    signatures[index] = this.signState(state)
    return { state, signatures }
  }

  /**
   * Leader: signs the ledger state that results from `proposal` on top of my pending proposals (as
   * consensusChannel.ts `propose` does) and remembers it as pending. `sign` forges instead (wrong key,
   * high s, garbage); `turnNum` claims another turn than the one signed; `base` applies it elsewhere.
   */
  propose(
    ledger: LedgerView,
    proposal: Proposal,
    opts: { sign?: (hash: Bytes32, honest: Signature) => Signature; turnNum?: bigint; base?: LedgerVars; remember?: boolean } = {},
  ): SignedProposal {
    const vars = applyProposal(opts.base ?? ledger.latestVars(), proposal)
    const hash = ledger.hash(vars)
    const real = this.signHash(hash)
    const signed: SignedProposal = { proposal, turnNum: opts.turnNum ?? vars.turnNum, signature: opts.sign ? opts.sign(hash, real) : real }
    if (opts.remember ?? (opts.sign === undefined && opts.turnNum === undefined && opts.base === undefined)) ledger.pending.push({ signed, vars })
    return signed
  }

  /** A leader's signature on arbitrary vars (a "proposal" whose numbers do not follow from anything). */
  signVars(ledger: LedgerView, vars: LedgerVars): Signature {
    return this.signHash(ledger.hash(vars))
  }

  // ---- payload builders ----

  ledgerUpdateRequest(ledger: LedgerView, proposal: Proposal): PayloadOf<'ledgerUpdateRequest'> {
    return { kind: 'ledgerUpdateRequest', objectiveId: ledgerUpdateId(ledger.id, proposal), request: { ledgerId: ledger.id, proposal } }
  }

  proposalPayload(ledger: LedgerView, signed: SignedProposal): PayloadOf<'proposal'> {
    return { kind: 'proposal', ledgerId: ledger.id, signed }
  }

  // ---- the chain ----

  /** Deposits `amount` of `asset` into `channel` from my account; `expectedHeld` defaults to what the chain holds. */
  async deposit(channel: Bytes32, asset: Address, amount: bigint, expectedHeld?: bigint): Promise<void> {
    const held = expectedHeld ?? (await this.chain.holdings(channel, asset))
    await this.chain.submit({ kind: 'deposit', channelId: channel, asset, expectedHeld: held, amount })
  }

  balance(asset: Address = ETH): bigint {
    return this.memoryChain.balanceOf(this.address, asset)
  }

  // ---- honest protocol steps, by hand ----

  /**
   * Starts a DirectFund with `honest` as an honest initiator would, except that I choose the order of the
   * participants (`myIndex`; index 0 leads the ledger and deposits first) and every number. Sends my signed
   * prefund; returns it. `amounts` are [participant 0's, participant 1's].
   */
  openLedger(
    honest: Address,
    p: { myIndex?: 0 | 1; amounts?: readonly [bigint, bigint]; asset?: Address; nonce: bigint; challengeDuration?: number },
  ): State {
    const myIndex = p.myIndex ?? 0
    const participants = myIndex === 0 ? [this.address, honest] : [honest, this.address]
    const prefund = openingState({
      participants,
      channelNonce: p.nonce,
      appDefinition: MEMORY_CONSENSUS_APP,
      challengeDuration: p.challengeDuration ?? DAY_SEC,
      asset: p.asset ?? ETH,
      amounts: p.amounts ?? [1000n, 1000n],
    })
    this.send(honest, [{ kind: 'signedState', objectiveId: directFundId(channelId(fixedPart(prefund))), signedState: this.signedState(prefund) }])
    return prefund
  }

  /**
   * Waits for a DirectFund prefund the honest node started with me (`objectiveId`, or any I have not accepted
   * yet) and countersigns it; returns the prefund.
   */
  async acceptLedger(honest: Address, objectiveId?: string, timeoutMs = 5_000): Promise<State> {
    const payload = await this.waitFor(
      'signedState',
      (p) => (objectiveId ? p.objectiveId === objectiveId : p.objectiveId.startsWith('directfund:') && !this.#accepted.has(p.objectiveId)) && p.signedState.state.turnNum === 0n,
      timeoutMs,
    )
    this.#accepted.add(payload.objectiveId)
    const prefund = payload.signedState.state
    this.send(honest, [{ kind: 'signedState', objectiveId: payload.objectiveId, signedState: this.signedState(prefund) }])
    return prefund
  }

  /**
   * Plays the rest of a DirectFund honestly: waits for the honest node's prefund signature, deposits my share
   * of the prefund's asset once the holdings make it safe, signs the postfund once the channel is fully funded,
   * and waits for the honest node's postfund signature. Returns the ledger as I see it.
   */
  async fundLedger(prefund: State, opts: { deposit?: boolean; timeoutMs?: number } = {}): Promise<LedgerView> {
    const timeoutMs = opts.timeoutMs ?? 5_000
    const id = channelId(fixedPart(prefund))
    const objectiveId = directFundId(id)
    const myIndex = participantIndex(prefund, this.address)
    const honest = prefund.participants[1 - myIndex]!
    await this.waitFor('signedState', (p) => p.objectiveId === objectiveId && p.signedState.state.turnNum === 0n && p.signedState.signatures[1 - myIndex] != null, timeoutMs)
    const exit = prefund.outcome[0]!
    if (opts.deposit ?? true) {
      const threshold = depositSafetyThreshold(exit, this.destination)
      const target = depositTarget(exit, this.destination)
      let held = 0n
      const start = Date.now()
      while ((held = await this.chain.holdings(id, exit.asset)) < threshold) {
        if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for holdings ${threshold} before depositing`)
        await sleep(2)
      }
      if (held < target) await this.deposit(id, exit.asset, target - held, held)
    }
    const start = Date.now()
    while ((await this.chain.holdings(id, exit.asset)) < fullyFundedThreshold(exit)) {
      if (Date.now() - start > timeoutMs) throw new Error('timed out waiting for the channel to be fully funded')
      await sleep(2)
    }
    const postfund: State = { ...prefund, turnNum: 1n }
    this.send(honest, [{ kind: 'signedState', objectiveId, signedState: this.signedState(postfund) }])
    const theirs = await this.waitFor('signedState', (p) => p.objectiveId === objectiveId && p.signedState.state.turnNum === 1n && p.signedState.signatures[1 - myIndex] != null, timeoutMs)
    const signatures = [null, null] as (Signature | null)[]
    signatures[myIndex] = this.signState(postfund)
    signatures[1 - myIndex] = theirs.signedState.signatures[1 - myIndex]!
    const vars: LedgerVars = { turnNum: 1n, outcome: ledgerOutcomeFromExit(postfund.outcome) }
    return new LedgerView(fixedPart(prefund), this.address, { vars, signatures: signatures as [Signature, Signature] })
  }

  /** Opens (as `openLedger`) and funds a ledger with `honest`, whose policy must accept me. */
  async openAndFundLedger(honest: Address, p: Parameters<Attacker['openLedger']>[1]): Promise<LedgerView> {
    return this.fundLedger(this.openLedger(honest, p))
  }

  /** The leader's proposal was countersigned: its turn (and those before it) become supported in my view. */
  async awaitCountersignature(ledger: LedgerView, turnNum: bigint, timeoutMs = 5_000): Promise<void> {
    const cs = await this.waitFor('countersignature', (p) => lower(p.ledgerId) === lower(ledger.id) && p.turnNum === turnNum, timeoutMs)
    const index = ledger.pending.findIndex((q) => q.vars.turnNum === turnNum)
    if (index < 0) throw new Error(`no pending proposal of mine at turn ${turnNum}`)
    ledger.supported = { vars: ledger.pending[index]!.vars, signatures: [ledger.pending[index]!.signed.signature, cs.signature] }
    ledger.pending = ledger.pending.slice(index + 1)
  }

  /**
   * Cooperates in closing a ledger: signs its final state (sends it first if `initiate`), waits for the honest
   * node's signature on the same state and, as participant 0, concludes and withdraws for both (as Nitro's
   * DirectDefund does). Resolves once the withdrawal is submitted, or once the honest signature is in.
   */
  async cooperateDefund(ledger: LedgerView, opts: { initiate?: boolean; withdraw?: boolean; timeoutMs?: number } = {}): Promise<SignedState> {
    const final = ledger.finalState()
    const objectiveId = directDefundId(ledger.id)
    const mine = this.signedState(final)
    if (opts.initiate) this.send(ledger.counterparty, [{ kind: 'signedState', objectiveId, signedState: mine }])
    const theirIndex = 1 - ledger.myIndex
    const theirs = await this.waitFor(
      'signedState',
      (p) => p.objectiveId === objectiveId && p.signedState.state.isFinal && p.signedState.signatures[theirIndex] != null,
      opts.timeoutMs ?? 5_000,
    )
    if (!opts.initiate) this.send(ledger.counterparty, [{ kind: 'signedState', objectiveId, signedState: mine }])
    const signatures = [null, null] as (Signature | null)[]
    signatures[ledger.myIndex] = mine.signatures[ledger.myIndex]!
    signatures[theirIndex] = theirs.signedState.signatures[theirIndex]!
    const full: SignedState = { state: final, signatures }
    if (ledger.myIndex === 0 && (opts.withdraw ?? true)) await this.chain.submit({ kind: 'concludeAndWithdraw', signedState: full })
    return full
  }
}

// ---- the chain as the real adjudicator behaves ----

/**
 * The MemoryChain, plus what NitroAdjudicator accepts and MemoryChain refuses (a documented departure there):
 * `deposit` of 0, which emits `Deposited(channel, asset, nowHeld)` with the holdings unchanged. Nodes that
 * connect through `connect` receive those events among the chain's own, after every event so far.
 */
export class ContractChain {
  readonly #listeners = new Set<(event: ChainEvent) => void>()
  #injected = 0

  constructor(readonly chain: MemoryChain) {}

  connect(account: Address): ChainService & { readonly account: Address } {
    const inner = this.chain.connect(account)
    return {
      ...inner,
      subscribe: (listener, cursor) => {
        const unsubscribe = inner.subscribe(listener, cursor)
        this.#listeners.add(listener)
        return () => {
          unsubscribe()
          this.#listeners.delete(listener)
        }
      },
    }
  }

  /** Anyone's zero-amount deposit of `asset` into `channel`: the event a real chain would emit for it. */
  async zeroDeposit(channel: Bytes32, asset: Address): Promise<void> {
    await this.chain.delivered()
    const event: ChainLogEvent = {
      kind: 'deposited',
      channelId: lower(channel),
      asset: toAddress(asset),
      nowHeld: await this.chain.holdings(channel, asset),
      // After every event of the latest block (its adjudicator logs have small indexes), before the next block.
      block: this.chain.blockNumber(),
      logIndex: 1_000_000 + this.#injected++,
    }
    for (const listener of this.#listeners) queueMicrotask(() => listener(event))
    await this.chain.delivered()
  }
}

// ---- the honest node and its world ----

export interface HonestNode {
  readonly engine: Engine
  readonly address: Address
  readonly store: RocksStore
}

export interface World {
  readonly network: MemoryNetwork
  readonly chain: MemoryChain
  readonly contract: ContractChain
  readonly honest: HonestNode
  /** A new attacker on this network and chain, funded with ATTACKER_FUNDS of ETH and of JUNK. */
  attacker(label: string): Attacker
  /** Lets every delivery, chain event, engine step and delayed ack run until nothing moves. */
  settle(): Promise<void>
  /** The honest owner's ETH on chain. */
  honestBalance(): bigint
  /** How many refusals the honest node recorded with `code`. */
  rejected(code: string): number
  /** Waits until the honest node's objective is no longer active. */
  objectiveDone(id: string, timeoutMs?: number): Promise<Objective>
  close(): Promise<void>
}

export async function createWorld(p: { policy?: PeerPolicy; honestKey?: Hex } = {}): Promise<World> {
  const network = new MemoryNetwork({ seed: 13 })
  const chain = new MemoryChain()
  const contract = new ContractChain(chain)
  const dir = mkdtempSync(path.join(tmpdir(), 'channels-adversary-'))
  const signer = createSigner(p.honestKey ?? keyOf('honest'))
  chain.fund(signer.address, ETH, HONEST_FUNDS)
  const store = await RocksStore.open(path.join(dir, 'honest'))
  const engine = await Engine.open({
    store,
    signer,
    transport: network.connect(signer.address),
    chain: contract.connect(signer.address),
    consensusApp: MEMORY_CONSENSUS_APP,
    tickIntervalMs: 20,
    ...(p.policy ? { policy: p.policy } : {}),
  })
  const honest: HonestNode = { engine, address: signer.address, store }
  const attackers: Attacker[] = []
  const world: World = {
    network,
    chain,
    contract,
    honest,
    attacker(label) {
      const a = new Attacker(label, network, chain)
      chain.fund(a.address, ETH, ATTACKER_FUNDS)
      chain.fund(a.address, JUNK, ATTACKER_FUNDS)
      attackers.push(a)
      return a
    },
    async settle() {
      for (let round = 0; round < 4; round++) {
        await chain.delivered()
        await network.idle()
        await engine.idle()
        await sleep(8) // the engine's delayed acks (ACK_DELAY_MS) and the timers of the auto network
      }
    },
    honestBalance: () => chain.balanceOf(signer.address, ETH),
    rejected: (code) => engine.rejections.counts[code] ?? 0,
    objectiveDone: (id, timeoutMs = 5_000) => objectiveDone(engine, id, timeoutMs),
    async close() {
      await engine.close()
      await store.close()
      for (const a of attackers) await a.transport.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
  return world
}

/** The states the honest node signed and sent to `attacker`: signedState payloads (its signature on them). */
export function statesSignedBy(attacker: Attacker, honest: Address): State[] {
  return attacker
    .payloads('signedState', honest)
    .filter((p) => {
      const i = participantIndex(p.signedState.state, honest)
      return i >= 0 && p.signedState.signatures[i] != null
    })
    .map((p) => p.signedState.state)
}

/** Whether `signature` is `signer`'s on the ledger state of `vars`. */
export function signedVars(ledger: LedgerView, vars: LedgerVars, signature: Signature, signer: Address): boolean {
  try {
    return lower(recoverHashSigner(ledger.hash(vars), signature)) === lower(signer)
  } catch {
    return false
  }
}

/** Resolves when the engine's objective `id` ends; fails after `timeoutMs` saying where it stands. */
export async function objectiveDone(engine: Engine, id: string, timeoutMs: number): Promise<Objective> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`objective ${id} still ${engine.getObjective(id)?.objective.status ?? 'missing'} (waiting for ${engine.getObjective(id)?.waitingFor}) after ${timeoutMs} ms`)), timeoutMs)
  })
  try {
    return await Promise.race([engine.waitForObjective(id), timeout])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * The honest owner opens a ledger [honest, attacker] of `share` each; the attacker countersigns the prefund and
 * waits until the honest node (first in order) deposited its share on chain. Returns the prefund and channel id.
 */
export async function honestDepositsFirst(w: World, attacker: Attacker, share: bigint, nonce: bigint): Promise<{ prefund: State; id: Bytes32 }> {
  const objectiveId = await w.honest.engine.directFund({ counterparty: attacker.address, myDeposit: share, theirDeposit: share, nonce })
  const prefund = await attacker.acceptLedger(w.honest.address, objectiveId)
  const id = channelId(fixedPart(prefund))
  const start = Date.now()
  while ((await w.chain.holdings(id, ETH)) < share) {
    if (Date.now() - start > 5_000) throw new Error('the honest node never deposited its share')
    await sleep(2)
  }
  return { prefund, id }
}
