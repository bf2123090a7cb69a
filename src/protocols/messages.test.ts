// Protocol payloads on the wire (DESIGN §5, ADR 0003): every payload kind survives payloadToWire →
// envelope bytes → payloadFromWire; the tuple layouts are pinned (changing one needs a new envelope
// version); every refusal carries its code; and the hostile catalogue (test/hostile.ts), placed at every
// position of every payload, only ever gets a typed rejection out of payloadFromWire.
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import type { Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { Address, Bytes32, Signature } from '../core/types.js'
import type { State } from '../core/state.js'
import type { Signer } from '../core/signer.js'
import { createSigner } from '../core/signer.js'
import { hashState } from '../core/hashState.js'
import { signBy, unsigned } from '../core/signedState.js'
import { decodeEnvelope, encodeEnvelope } from '../core/codec.js'
import { signedStateToWire, stateToWire } from '../core/wire.js'
import type { AppDefinition } from './app/appData.js'
import { encodeGenesis } from './app/appData.js'
import type { AppUpdate } from './app/appChannel.js'
import { nextEvent } from '../log/channelLog.js'
import type { Proposal, SignedProposal } from './ledger/proposal.js'
import type { Payload } from './messages.js'
import { payloadFromWire, payloadToWire } from './messages.js'
import * as arb from '../../test/arbitraries.js'
import type { Path } from '../../test/hostile.js'
import { codeOf, hostileMessages, outcomeOf, replaceAt, walkHostile } from '../../test/hostile.js'
import { toAddress, toBytes32 } from '../core/canonical.js'

const actor = (key: Hex) => ({ address: toAddress(privateKeyToAccount(key).address), signer: createSigner(key) })
const alice = actor('0x2d999770f7b5d49b694080f987b82bbc9fc9ac2b4dcc10b0f8aba7d700f69c6d')
const bob = actor('0x0279651921cd800ac560c21ceea27aab0107b67daf436cdd25ce84cad30159b4')

const N = arb.SECP256K1_ORDER
const word = (n: bigint): string => n.toString(16).padStart(64, '0')
const bytesOf = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex.replace(/^0x/, ''), 'hex'))
/** Byte strings as payloadToWire builds them (Node Buffers, which msgpackr writes as bin). */
const bin = (hex: string): Buffer => Buffer.from(hex.replace(/^0x/, ''), 'hex')
/** Lowercases hex strings only (addresses come back checksummed, byte strings lowercase); texts keep their case. */
function lowerHex(value: unknown): unknown {
  if (typeof value === 'string') return /^0x[0-9a-fA-F]*$/.test(value) ? value.toLowerCase() : value
  if (Array.isArray(value)) return value.map(lowerHex)
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, lowerHex(v)]))
  return value
}

const ETH: Address = toAddress('0x0000000000000000000000000000000000000000')
const A = `0x${'0'.repeat(24)}${alice.address.slice(2).toLowerCase()}` as Bytes32
const B = `0x${'0'.repeat(24)}${bob.address.slice(2).toLowerCase()}` as Bytes32
const LEDGER_ID = '0x3f9dfeabcc41d1618dd0711102018ab6c1a1d7c25111a425401c2e524eb073a2' as Bytes32
const V1 = `0x${'e1'.repeat(32)}` as Bytes32

const STATE: State = {
  participants: [alice.address, bob.address],
  channelNonce: 7n,
  appDefinition: toAddress('0x5e29E5Ab8EF33F050c7cc10B5a0456D975C5F88d'),
  challengeDuration: 86_400,
  outcome: [
    {
      asset: ETH,
      assetMetadata: { assetType: 0, metadata: '0x' },
      allocations: [
        { destination: A, amount: 5n, allocationType: 0, metadata: '0x' },
        { destination: B, amount: 3n, allocationType: 0, metadata: '0x' },
      ],
    },
  ],
  appData: '0x',
  turnNum: 1n,
  isFinal: false,
}
const signedBy = (state: State, ...signers: Signer[]) => signers.reduce((s, signer) => signBy(s, signer), unsigned(state))
const sig = (signer: Signer, n: number): Signature => signer.signHash(toBytes32(`0x${word(BigInt(n))}`))

const ADD: Proposal = { kind: 'add', target: V1, left: A, right: B, leftAmount: 2n, rightAmount: 1n }
const REMOVE: Proposal = { kind: 'remove', target: V1, leftAmount: 2n }
const SIGNED_ADD: SignedProposal = { proposal: ADD, turnNum: 2n, signature: sig(alice.signer, 2) }
const SIGNED_REMOVE: SignedProposal = { proposal: REMOVE, turnNum: 3n, signature: sig(alice.signer, 3) }

const APP_DEFINITION: AppDefinition = {
  fixed: { participants: [alice.address, bob.address], channelNonce: 7n, appDefinition: STATE.appDefinition, challengeDuration: 86_400 },
  appId: toBytes32(`0x${'a7'.repeat(32)}`),
  params: Uint8Array.of(2, 9),
  asset: ETH,
  deposits: [5n, 3n],
  funding: 'direct',
  moveTimeout: 30,
}
const APP_EVENT = nextEvent({ seq: 1n, hash: V1 }, { kind: 'app.event', payload: Uint8Array.of(1, 4), author: bob.address })
const APP_UPDATE: AppUpdate = { event: APP_EVENT, signedState: signedBy({ ...STATE, turnNum: 1n }, bob.signer), baseSignatures: [sig(alice.signer, 1), sig(bob.signer, 1)] }

/** One payload of every kind (and both proposal kinds), with real signatures. */
const PAYLOADS: readonly { name: string; payload: Payload }[] = [
  { name: 'signedState (one signature)', payload: { kind: 'signedState', objectiveId: `directfund:${LEDGER_ID}`, signedState: signedBy({ ...STATE, turnNum: 0n }, alice.signer) } },
  { name: 'signedState (final, both signatures)', payload: { kind: 'signedState', objectiveId: `directdefund:${LEDGER_ID}`, signedState: signedBy({ ...STATE, turnNum: 2n, isFinal: true }, alice.signer, bob.signer) } },
  { name: 'ledgerUpdateRequest (add)', payload: { kind: 'ledgerUpdateRequest', objectiveId: `ledgerUpdate:${LEDGER_ID}:add:${V1}`, request: { ledgerId: LEDGER_ID, proposal: ADD } } },
  { name: 'ledgerUpdateRequest (remove)', payload: { kind: 'ledgerUpdateRequest', objectiveId: `ledgerUpdate:${LEDGER_ID}:remove:${V1}`, request: { ledgerId: LEDGER_ID, proposal: REMOVE } } },
  { name: 'proposal (add)', payload: { kind: 'proposal', ledgerId: LEDGER_ID, signed: SIGNED_ADD } },
  { name: 'proposal (remove)', payload: { kind: 'proposal', ledgerId: LEDGER_ID, signed: SIGNED_REMOVE } },
  { name: 'countersignature', payload: { kind: 'countersignature', ledgerId: LEDGER_ID, turnNum: 2n, signature: sig(bob.signer, 2) } },
  { name: 'syncRequest', payload: { kind: 'syncRequest', ledgerId: LEDGER_ID } },
  { name: 'sync (queue of two)', payload: { kind: 'sync', ledgerId: LEDGER_ID, supported: signedBy(STATE, alice.signer, bob.signer), queue: [SIGNED_ADD, SIGNED_REMOVE] } },
  { name: 'sync (empty queue)', payload: { kind: 'sync', ledgerId: LEDGER_ID, supported: signedBy(STATE, alice.signer, bob.signer), queue: [] } },
  { name: 'appOpen', payload: { kind: 'appOpen', definition: APP_DEFINITION, stateHash: V1, signature: sig(alice.signer, 0) } },
  { name: 'appUpdate', payload: { kind: 'appUpdate', channelId: LEDGER_ID, update: APP_UPDATE } },
  { name: 'appCountersignature', payload: { kind: 'appCountersignature', channelId: LEDGER_ID, countersignature: { turnNum: 1n, stateHash: V1, signature: sig(alice.signer, 1) } } },
  { name: 'appRefusal', payload: { kind: 'appRefusal', channelId: LEDGER_ID, turnNum: 4n, eventHash: V1, code: 'app_rejected' } },
  { name: 'objectiveRejected', payload: { kind: 'objectiveRejected', objectiveId: `ledgerUpdate:${LEDGER_ID}:add:${V1}`, code: 'insufficient_funds', summary: 'the leader cannot afford the guarantee' } },
]

/** What a peer receives: the payload's wire form in envelope bytes, decoded. */
const viaWire = (p: Payload): Payload => payloadFromWire(decodeEnvelope(encodeEnvelope('payload', payloadToWire(p))).body)
/** A raw wire value sent in an envelope, then decoded as a payload. */
const throughEnvelope = (value: unknown) => () => payloadFromWire(decodeEnvelope(encodeEnvelope('payload', value)).body)

describe('round trips through the envelope', () => {
  test.each(PAYLOADS)('$name', ({ payload }) => {
    const back = viaWire(payload)
    // addresses come back checksummed and byte strings lowercase: equal up to hex case
    expect(lowerHex(back)).toEqual(lowerHex(payload))
    if (back.kind === 'signedState' && payload.kind === 'signedState') expect(hashState(back.signedState.state)).toBe(hashState(payload.signedState.state))
  })

  test('every payload kind is covered', () => {
    expect(new Set(PAYLOADS.map((p) => p.payload.kind))).toEqual(
      new Set(['signedState', 'ledgerUpdateRequest', 'proposal', 'countersignature', 'syncRequest', 'sync', 'objectiveRejected', 'appOpen', 'appUpdate', 'appCountersignature', 'appRefusal']),
    )
  })

  const proposal: fc.Arbitrary<Proposal> = fc.oneof(
    fc.record({ kind: fc.constant('add' as const), target: arb.channelId, left: arb.bytes32, right: arb.bytes32, leftAmount: arb.amount, rightAmount: arb.amount }),
    fc.record({ kind: fc.constant('remove' as const), target: arb.channelId, leftAmount: arb.amount }),
  )
  const signedProposal: fc.Arbitrary<SignedProposal> = fc.record({ proposal, turnNum: arb.turnNum, signature: arb.signature })
  const text = (max: number) => fc.string({ minLength: 1, maxLength: max })
  const payload: fc.Arbitrary<Payload> = fc.oneof(
    fc.record({ kind: fc.constant('ledgerUpdateRequest' as const), objectiveId: text(200), request: fc.record({ ledgerId: arb.channelId, proposal }) }),
    fc.record({ kind: fc.constant('proposal' as const), ledgerId: arb.channelId, signed: signedProposal }),
    fc.record({ kind: fc.constant('countersignature' as const), ledgerId: arb.channelId, turnNum: arb.turnNum, signature: arb.signature }),
    fc.record({ kind: fc.constant('syncRequest' as const), ledgerId: arb.channelId }),
    fc.record({ kind: fc.constant('objectiveRejected' as const), objectiveId: text(200), code: text(64), summary: text(1000) }),
  )
  test('payloadFromWire(payloadToWire(p)) = p up to hex case, for arbitrary proposals, turns, amounts and texts', () => {
    fc.assert(
      fc.property(payload, (p) => {
        expect(lowerHex(viaWire(p))).toEqual(lowerHex(p))
      }),
      { numRuns: 500 },
    )
  })
})

describe('wire layouts (ADR 0003: tuples, byte strings as bin, bigints as bigints)', () => {
  test('a countersignature is [kind, ledgerId, turnNum, signature]', () => {
    const signature = sig(bob.signer, 2)
    expect(payloadToWire({ kind: 'countersignature', ledgerId: LEDGER_ID, turnNum: 2n, signature })).toEqual(['countersignature', bin(LEDGER_ID), 2n, bin(signature)])
  })

  test('a proposal is [kind, ledgerId, [[add, target, left, right, leftAmount, rightAmount], turnNum, signature]]', () => {
    expect(payloadToWire({ kind: 'proposal', ledgerId: LEDGER_ID, signed: SIGNED_ADD })).toEqual([
      'proposal',
      bin(LEDGER_ID),
      [['add', bin(V1), bin(A), bin(B), 2n, 1n], 2n, bin(SIGNED_ADD.signature)],
    ])
  })

  test('a removal request is [kind, objectiveId, ledgerId, [remove, target, leftAmount]]', () => {
    expect(payloadToWire({ kind: 'ledgerUpdateRequest', objectiveId: 'x', request: { ledgerId: LEDGER_ID, proposal: REMOVE } })).toEqual([
      'ledgerUpdateRequest',
      'x',
      bin(LEDGER_ID),
      ['remove', bin(V1), 2n],
    ])
  })

  test('app payloads: [appOpen, genesis payload, stateHash, signature], [appUpdate, channelId, event, signedState, baseSignatures], [appCountersignature, channelId, turnNum, stateHash, signature]', () => {
    const signature = sig(alice.signer, 1)
    expect(payloadToWire({ kind: 'appOpen', definition: APP_DEFINITION, stateHash: V1, signature })).toEqual(['appOpen', encodeGenesis(APP_DEFINITION), bin(V1), bin(signature)])
    const e = APP_EVENT
    expect(payloadToWire({ kind: 'appUpdate', channelId: LEDGER_ID, update: APP_UPDATE })).toEqual([
      'appUpdate',
      bin(LEDGER_ID),
      [e.seq, e.kind, e.payload, bin(e.author), bin(e.prevHash), bin(e.hash)],
      signedStateToWire(APP_UPDATE.signedState),
      APP_UPDATE.baseSignatures.map(bin),
    ])
    expect(payloadToWire({ kind: 'appCountersignature', channelId: LEDGER_ID, countersignature: { turnNum: 3n, stateHash: V1, signature } })).toEqual(['appCountersignature', bin(LEDGER_ID), 3n, bin(V1), bin(signature)])
    expect(payloadToWire({ kind: 'appRefusal', channelId: LEDGER_ID, turnNum: 3n, eventHash: V1, code: 'wrong_turn' })).toEqual(['appRefusal', bin(LEDGER_ID), 3n, bin(V1), 'wrong_turn'])
  })

  test('a signed state is [kind, objectiveId, [state, signatures]] with null for a missing signature', () => {
    const signed = signedBy(STATE, bob.signer)
    expect(payloadToWire({ kind: 'signedState', objectiveId: 'o', signedState: signed })).toEqual(['signedState', 'o', [stateToWire(STATE), [null, bin(signed.signatures[1]!)]]])
  })
})

describe('payloadFromWire rejections', () => {
  const wire = (name: string): unknown => payloadToWire(PAYLOADS.find((p) => p.name === name)!.payload)
  const at = (name: string, path: Path, value: unknown): unknown => replaceAt(wire(name), path, value)
  const highS = bytesOf(`${word(1234567n)}${word(N - 7654321n)}1c`)
  const v29 = bytesOf(`${word(1234567n)}${word(7654321n)}1d`)
  const externalLooking = bytesOf(`${'00'.repeat(12)}${'11'.repeat(20)}`)
  test.each([
    { name: 'a map, not a tuple', value: { kind: 'syncRequest' }, code: 'codec' },
    { name: 'appOpen with a definition that is not canonical', value: at('appOpen', [1], Uint8Array.from([...encodeGenesis(APP_DEFINITION), 0])), code: 'codec' },
    { name: 'appOpen with a definition over the size cap', value: at('appOpen', [1], new Uint8Array(70 * 1024)), code: 'codec' },
    { name: 'appUpdate with event seq 0', value: at('appUpdate', [2, 0], 0n), code: 'codec' },
    { name: 'appUpdate with an event of 64 KiB + 1', value: at('appUpdate', [2, 2], new Uint8Array(64 * 1024 + 1)), code: 'codec' },
    { name: 'appUpdate with an event kind of 65 bytes', value: at('appUpdate', [2, 1], 'k'.repeat(65)), code: 'codec' },
    { name: 'appUpdate with a 19-byte author', value: at('appUpdate', [2, 3], new Uint8Array(19)), code: 'invalid_length' },
    { name: 'appUpdate with 17 base signatures', value: at('appUpdate', [4], new Array(17).fill(bytesOf(sig(alice.signer, 1)))), code: 'codec' },
    { name: 'appUpdate with a high-s base signature', value: at('appUpdate', [4, 0], highS), code: 'invalid_signature' },
    { name: 'appCountersignature with turnNum 2^48', value: at('appCountersignature', [2], 2n ** 48n), code: 'out_of_range' },
    { name: 'appRefusal with turnNum 2^48', value: at('appRefusal', [2], 2n ** 48n), code: 'out_of_range' },
    { name: 'appRefusal with a 31-byte event hash', value: at('appRefusal', [3], new Uint8Array(31)), code: 'invalid_length' },
    { name: 'appRefusal with a code that is not an error code', value: at('appRefusal', [4], 'Refused\nby bob'), code: 'codec' },
    { name: 'appRefusal with a code of 65 characters', value: at('appRefusal', [4], 'x'.repeat(65)), code: 'codec' },
    { name: 'appRefusal with an empty code', value: at('appRefusal', [4], ''), code: 'codec' },
    { name: 'an empty tuple', value: [], code: 'codec' },
    { name: 'a kind that is not a string', value: [1, bytesOf(LEDGER_ID)], code: 'codec' },
    { name: 'an unknown kind', value: ['voucher', bytesOf(LEDGER_ID)], code: 'codec' },
    { name: 'a kind in another case', value: ['SyncRequest', bytesOf(LEDGER_ID)], code: 'codec' },
    { name: 'syncRequest with an extra field', value: ['syncRequest', bytesOf(LEDGER_ID), 1], code: 'codec' },
    { name: 'signedState as a 2-tuple', value: (wire('signedState (one signature)') as unknown[]).slice(0, 2), code: 'codec' },
    { name: 'an empty objectiveId', value: at('signedState (one signature)', [1], ''), code: 'codec' },
    { name: 'an objectiveId of 201 characters', value: at('signedState (one signature)', [1], 'x'.repeat(201)), code: 'codec' },
    { name: 'an objectiveId as bytes', value: at('signedState (one signature)', [1], new Uint8Array(4)), code: 'codec' },
    { name: 'a signed state whose turnNum is 2^48', value: at('signedState (one signature)', [2, 0, 6], 2n ** 48n), code: 'out_of_range' },
    { name: 'a signed state with one signature slot too few', value: at('signedState (one signature)', [2, 1], [null]), code: 'invalid_length' },
    { name: 'a signed state with a high-s signature', value: at('signedState (one signature)', [2, 1, 0], highS), code: 'invalid_signature' },
    { name: 'a ledgerId of 31 bytes', value: at('syncRequest', [1], new Uint8Array(31).fill(1)), code: 'invalid_length' },
    { name: 'a ledgerId of 33 bytes', value: at('syncRequest', [1], new Uint8Array(33).fill(1)), code: 'invalid_length' },
    { name: 'a ledgerId that looks like an external destination', value: at('syncRequest', [1], externalLooking), code: 'invalid_channel_id' },
    { name: 'a ledgerId as a hex string', value: at('syncRequest', [1], LEDGER_ID), code: 'codec' },
    { name: 'a proposal kind other than add or remove', value: at('ledgerUpdateRequest (add)', [3, 0], 'swap'), code: 'codec' },
    { name: 'a proposal that is not a tuple', value: at('ledgerUpdateRequest (add)', [3], 'add'), code: 'codec' },
    { name: 'an add proposal as a 5-tuple', value: at('ledgerUpdateRequest (add)', [3], ['add', bytesOf(V1), bytesOf(A), bytesOf(B), 2n]), code: 'codec' },
    { name: 'a remove proposal as a 4-tuple', value: at('ledgerUpdateRequest (remove)', [3], ['remove', bytesOf(V1), 2n, 0n]), code: 'codec' },
    { name: 'a proposal target that looks like an external destination', value: at('ledgerUpdateRequest (add)', [3, 1], externalLooking), code: 'invalid_channel_id' },
    { name: 'a guarantee side of 20 bytes', value: at('ledgerUpdateRequest (add)', [3, 2], bytesOf(alice.address)), code: 'invalid_length' },
    { name: 'a leftAmount of -1', value: at('ledgerUpdateRequest (add)', [3, 4], -1n), code: 'out_of_range' },
    { name: 'a rightAmount of 2^256', value: at('ledgerUpdateRequest (add)', [3, 5], 2n ** 256n), code: 'out_of_range' },
    { name: 'a removal leftAmount as a number', value: at('ledgerUpdateRequest (remove)', [3, 2], 2), code: 'out_of_range' },
    { name: 'a signed proposal as a 2-tuple', value: at('proposal (add)', [2], [wire('ledgerUpdateRequest (add)'), 2n]), code: 'codec' },
    { name: 'a proposal turnNum of 2^48', value: at('proposal (add)', [2, 1], 2n ** 48n), code: 'out_of_range' },
    { name: 'a proposal turnNum as a number', value: at('proposal (add)', [2, 1], 2), code: 'out_of_range' },
    { name: 'a proposal signature of 64 bytes', value: at('proposal (add)', [2, 2], new Uint8Array(64).fill(1)), code: 'invalid_length' },
    { name: 'a proposal signature with high s', value: at('proposal (add)', [2, 2], highS), code: 'invalid_signature' },
    { name: 'a countersignature turnNum of -1', value: at('countersignature', [2], -1n), code: 'out_of_range' },
    { name: 'a countersignature with v = 29', value: at('countersignature', [3], v29), code: 'invalid_signature' },
    { name: 'a countersignature as a hex string', value: at('countersignature', [3], '0x1234'), code: 'codec' },
    { name: 'a sync queue that is not a list', value: at('sync (queue of two)', [3], {}), code: 'codec' },
    { name: 'a sync queue of 1025 proposals', value: at('sync (queue of two)', [3], new Array(1025).fill((wire('proposal (add)') as unknown[])[2])), code: 'codec' },
    { name: 'a sync queue with a broken entry', value: at('sync (queue of two)', [3, 1, 1], -1n), code: 'out_of_range' },
    { name: 'a sync state that is not a signed state', value: at('sync (queue of two)', [2], []), code: 'codec' },
    { name: 'a rejection code of 65 characters', value: at('objectiveRejected', [2], 'c'.repeat(65)), code: 'codec' },
    { name: 'an empty rejection code', value: at('objectiveRejected', [2], ''), code: 'codec' },
    { name: 'a rejection summary of 1001 characters', value: at('objectiveRejected', [3], 's'.repeat(1001)), code: 'codec' },
  ])('refuses $name with $code (directly and through the envelope)', ({ value, code }) => {
    expect(codeOf(() => payloadFromWire(value))).toBe(code)
    expect(codeOf(throughEnvelope(value))).toBe(code)
  })

  test('accepts the longest texts allowed: objectiveId 200, code 64, summary 1000 characters', () => {
    const value = ['objectiveRejected', 'o'.repeat(200), 'c'.repeat(64), 's'.repeat(1000)]
    expect(payloadFromWire(value)).toEqual({ kind: 'objectiveRejected', objectiveId: 'o'.repeat(200), code: 'c'.repeat(64), summary: 's'.repeat(1000) })
  })

  test('accepts a sync queue of 1024 proposals', () => {
    const entry = (wire('proposal (add)') as unknown[])[2]
    const decoded = payloadFromWire(at('sync (queue of two)', [3], new Array(1024).fill(entry)))
    expect(decoded.kind === 'sync' && decoded.queue.length).toBe(1024)
  })
})

/** Every position inside a wire value: the root, each tuple entry, and recursively inside tuples (not inside byte strings). */
function pathsOf(value: unknown, prefix: Path = []): Path[] {
  if (!Array.isArray(value)) return [prefix]
  return [prefix, ...value.flatMap((item, i) => pathsOf(item, [...prefix, i]))]
}

/** What a node does with a payload it accepted: encode it again (to store or forward it) and read it back. */
function reencode(decoded: unknown): unknown {
  const p = decoded as Payload
  const again = viaWire(p)
  expect(lowerHex(again)).toEqual(lowerHex(p))
  if (p.kind === 'signedState') hashState(p.signedState.state)
  if (p.kind === 'sync') hashState(p.supported.state)
  return again
}

describe('the hostile catalogue against payloadFromWire', () => {
  test.each(PAYLOADS)('$name: every hostile value at every position gets a value or a typed rejection', ({ payload }) => {
    const base = payloadToWire(payload)
    const paths = pathsOf(base)
    expect(paths.length).toBeGreaterThan(1)
    const failures = paths.flatMap((path) => walkHostile(base, path, payloadFromWire, reencode))
    expect(failures).toEqual([])
  })

  test.each(PAYLOADS)('$name: the same through the envelope', ({ payload }) => {
    const base = payloadToWire(payload)
    const decode = (value: unknown) => payloadFromWire(decodeEnvelope(encodeEnvelope('payload', value)).body)
    const failures = pathsOf(base).flatMap((path) => walkHostile(base, path, decode, reencode))
    expect(failures).toEqual([])
  })

  test.each(hostileMessages)('hostile message bytes ($name) are refused with a typed error', ({ value }) => {
    expect(outcomeOf(() => payloadFromWire(decodeEnvelope(value as Uint8Array).body)).kind).toBe('rejected')
  })
})
