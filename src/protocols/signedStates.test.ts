// mergePeerSignatures: a peer's copy of a state we hold adds its signatures only if it is exactly our
// state (same hash) and each signature recovers to the participant at its index. Actors: alice (0),
// bob (1), carol (2, for a three-party channel), mallory (never a participant).
import { describe, expect, test } from 'vitest'
import type { Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { Address, Bytes32, Signature } from '../core/types.js'
import type { State } from '../core/state.js'
import type { SignedState } from '../core/signedState.js'
import type { Signer } from '../core/signer.js'
import { createSigner } from '../core/signer.js'
import { signBy, unsigned } from '../core/signedState.js'
import { mergePeerSignatures } from './signedStates.js'
import { codeOf } from '../../test/hostile.js'
import { toAddress } from '../core/canonical.js'
import { addressToDestination } from '../core/outcome.js'

const actor = (key: Hex) => ({ address: toAddress(privateKeyToAccount(key).address), signer: createSigner(key) })
const alice = actor('0x2d999770f7b5d49b694080f987b82bbc9fc9ac2b4dcc10b0f8aba7d700f69c6d')
const bob = actor('0x0279651921cd800ac560c21ceea27aab0107b67daf436cdd25ce84cad30159b4')
const carol = actor(`0x${'22'.repeat(32)}`)
const mallory = actor(`0x${'33'.repeat(32)}`)

const dest = (a: Address): Bytes32 => addressToDestination(a)
const STATE: State = {
  participants: [alice.address, bob.address],
  channelNonce: 7n,
  appDefinition: toAddress('0x5e29E5Ab8EF33F050c7cc10B5a0456D975C5F88d'),
  challengeDuration: 86_400,
  outcome: [
    {
      asset: toAddress('0x0000000000000000000000000000000000000000'),
      assetMetadata: { assetType: 0, metadata: '0x' },
      allocations: [
        { destination: dest(alice.address), amount: 5n, allocationType: 0, metadata: '0x' },
        { destination: dest(bob.address), amount: 3n, allocationType: 0, metadata: '0x' },
      ],
    },
  ],
  appData: '0x',
  turnNum: 0n,
  isFinal: false,
}

const signedBy = (state: State, ...signers: Signer[]): SignedState => signers.reduce((s, signer) => signBy(s, signer), unsigned(state))
const withSignatures = (state: State, signatures: (Signature | null)[]): SignedState => ({ state, signatures })

describe('mergePeerSignatures', () => {
  test("adds the peer's signature at its index; mine stays", () => {
    const mine = signedBy(STATE, alice.signer)
    const merged = mergePeerSignatures(mine, signedBy(STATE, bob.signer))
    expect(merged).toEqual(signedBy(STATE, alice.signer, bob.signer))
  })

  test('a peer copy carrying every signature, mine included, gives the fully signed state', () => {
    expect(mergePeerSignatures(unsigned(STATE), signedBy(STATE, alice.signer, bob.signer))).toEqual(signedBy(STATE, alice.signer, bob.signer))
  })

  test('a duplicate, or a copy with no signatures, changes nothing', () => {
    const both = signedBy(STATE, alice.signer, bob.signer)
    expect(mergePeerSignatures(both, signedBy(STATE, bob.signer))).toEqual(both)
    expect(mergePeerSignatures(signedBy(STATE, alice.signer), unsigned(STATE))).toEqual(signedBy(STATE, alice.signer))
  })

  test('three participants: carol signs at index 2', () => {
    const three: State = { ...STATE, participants: [alice.address, bob.address, carol.address] }
    const merged = mergePeerSignatures(signedBy(three, alice.signer, bob.signer), signedBy(three, carol.signer))
    expect(merged).toEqual(signedBy(three, alice.signer, bob.signer, carol.signer))
  })

  const other = (over: Partial<State>): State => ({ ...STATE, ...over })
  const highS = `0x${'11'.repeat(32)}${'ff'.repeat(32)}1b` as Hex
  const bobsSig = signedBy(STATE, bob.signer).signatures[1]!
  const mallorysSig = signedBy(other({ participants: [alice.address, mallory.address] }), mallory.signer).signatures[1]!
  test.each([
    { name: 'another turn', theirs: () => signedBy(other({ turnNum: 1n }), bob.signer), code: 'unexpected_state' },
    { name: 'other appData', theirs: () => signedBy(other({ appData: '0x00' }), bob.signer), code: 'unexpected_state' },
    { name: 'another outcome', theirs: () => signedBy(other({ outcome: [{ ...STATE.outcome[0]!, allocations: STATE.outcome[0]!.allocations.map((a) => ({ ...a, amount: 4n })) }] }), bob.signer), code: 'unexpected_state' },
    { name: 'the final version', theirs: () => signedBy(other({ isFinal: true }), bob.signer), code: 'unexpected_state' },
    { name: 'another channel (nonce)', theirs: () => signedBy(other({ channelNonce: 8n }), bob.signer), code: 'unexpected_state' },
    { name: 'another channel (participants swapped)', theirs: () => signedBy(other({ participants: [bob.address, alice.address] }), bob.signer), code: 'unexpected_state' },
    { name: "mallory's signature (not a participant)", theirs: () => withSignatures(STATE, [null, mallorysSig]), code: 'not_a_participant' },
    { name: "bob's signature of another state", theirs: () => withSignatures(STATE, [null, signedBy(other({ turnNum: 1n }), bob.signer).signatures[1]!]), code: 'not_a_participant' },
    { name: "bob's signature at alice's index", theirs: () => withSignatures(STATE, [bobsSig, null]), code: 'unexpected_state' },
    { name: "bob's signature at both indexes", theirs: () => withSignatures(STATE, [bobsSig, bobsSig]), code: 'unexpected_state' },
    { name: 'a malformed (high-s) signature', theirs: () => withSignatures(STATE, [null, highS]), code: 'invalid_signature' },
  ])('refuses $name with $code', ({ theirs, code }) => {
    expect(codeOf(() => mergePeerSignatures(unsigned(STATE), theirs()))).toBe(code)
  })

  test('a refused merge leaves nothing half-merged: the caller keeps its own copy', () => {
    const mine = signedBy(STATE, alice.signer)
    const before = structuredClone(mine)
    expect(codeOf(() => mergePeerSignatures(mine, withSignatures(STATE, [null, mallorysSig])))).toBe('not_a_participant')
    expect(mine).toEqual(before)
  })
})
