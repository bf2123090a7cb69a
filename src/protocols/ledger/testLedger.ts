// Test fixtures of the ledger module (STYLE §6, go-nitro's internal/testactors): named actors, alice the
// leader and bob the follower of a funded ledger, irene a stranger, and short builders for proposals.
// The keys are go-nitro's test actors' (internal/testactors, its client tests), so the addresses they
// derive are known independently of our code. Used by the *.test.ts files beside it; never by the node.
import type { Address, Bytes32, Destination, Hex, Signature } from '../../core/types.js'
import type { Signer } from '../../core/signer.js'
import type { FixedPart, State } from '../../core/state.js'
import type { SignedState } from '../../core/signedState.js'
import { createSigner } from '../../core/signer.js'
import { addressToDestination } from '../../core/outcome.js'
import { signBy, unsigned } from '../../core/signedState.js'
import type { FollowerChannel, LeaderChannel } from './consensusChannel.js'
import { createConsensusChannel, ledgerState } from './consensusChannel.js'
import type { Guarantee, LedgerOutcome } from './ledgerOutcome.js'
import { ledgerOutcomeToExit } from './ledgerOutcome.js'
import type { LedgerVars, Proposal } from './proposal.js'
import { channelId } from '../../core/channelId.js'
import { hashStateOfChannel } from '../../core/hashState.js'
import { ZERO_ADDRESS, toAddress, toBytes32 } from '../../core/canonical.js'

export interface Actor {
  readonly name: string
  readonly privateKey: Hex
  readonly signer: Signer
  readonly address: Address
  /** The actor's external destination, lowercase (as a ledger outcome holds it). */
  readonly destination: Destination
}

function actor(name: string, privateKey: Hex): Actor {
  const signer = createSigner(privateKey)
  return { name, privateKey, signer, address: signer.address, destination: addressToDestination(signer.address) }
}

export const alice = actor('alice', '0x2d999770f7b5d49b694080f987b82bbc9fc9ac2b4dcc10b0f8aba7d700f69c6d')
export const bob = actor('bob', '0x0279651921cd800ac560c21ceea27aab0107b67daf436cdd25ce84cad30159b4')
export const irene = actor('irene', '0xfebb3b74b0b52d0976f6571d555f4ac8b91c308dfa25c7b58d1e6a7c3f50c781')

export const ETH: Address = ZERO_ADDRESS
export const CONSENSUS_APP: Address = toAddress('0x5e29E5Ab8EF33F050c7cc10B5a0456D975C5F88d')

export const ledgerFixed: FixedPart = {
  participants: [alice.address, bob.address],
  channelNonce: 37140676580n,
  appDefinition: CONSENSUS_APP,
  challengeDuration: 60,
}
export const ledgerId: Bytes32 = channelId(ledgerFixed)

/** The postfund turn a ledger starts from (turn 0 is the prefund). */
export const POSTFUND_TURN = 1n

/** The id of the n-th virtual channel a test locks funds for: not an external destination. */
export function target(n: number): Bytes32 {
  return toBytes32(`0x${'ab'.repeat(12)}${n.toString(16).padStart(40, '0')}`)
}

export function ledgerOutcome(p: { leader?: bigint; follower?: bigint; guarantees?: readonly Guarantee[] } = {}): LedgerOutcome {
  return {
    asset: ETH,
    leader: { destination: alice.destination, amount: p.leader ?? 10n },
    follower: { destination: bob.destination, amount: p.follower ?? 10n },
    guarantees: p.guarantees ?? [],
  }
}

export function postfundState(outcome: LedgerOutcome = ledgerOutcome(), turnNum: bigint = POSTFUND_TURN): State {
  return { ...ledgerFixed, appData: '0x', outcome: ledgerOutcomeToExit(outcome), turnNum, isFinal: false }
}

export function signedByBoth(state: State): SignedState {
  return signBy(signBy(unsigned(state), alice.signer), bob.signer)
}

/** Alice's and bob's views of one ledger, funded with `leader` and `follower` (10 each by default). */
export function fundedLedger(p: { leader?: bigint; follower?: bigint } = {}): { leader: LeaderChannel; follower: FollowerChannel } {
  const postfund = signedByBoth(postfundState(ledgerOutcome(p)))
  const leader = createConsensusChannel(postfund, alice.address)
  const follower = createConsensusChannel(postfund, bob.address)
  if (leader.role !== 'leader' || follower.role !== 'follower') throw new Error('alice leads and bob follows')
  return { leader, follower }
}

/** Adds a guarantee for target(n) of leftAmount + rightAmount; alice is left unless `left` says otherwise. */
export function add(n: number, leftAmount: bigint, rightAmount: bigint, left: Actor = alice): Proposal {
  const right = left === alice ? bob : alice
  return { kind: 'add', target: target(n), left: left.destination, right: right.destination, leftAmount, rightAmount }
}

export function remove(n: number, leftAmount: bigint): Proposal {
  return { kind: 'remove', target: target(n), leftAmount }
}

/** The hash the participants sign for `vars` of the test ledger. */
export function hashLedgerVars(vars: LedgerVars): Bytes32 {
  return hashStateOfChannel(ledgerId, ledgerState(ledgerFixed, vars))
}

/** Both participants' signatures on `vars`, as a resync would carry them. */
export function signVarsByBoth(vars: LedgerVars): readonly [Signature, Signature] {
  const hash = hashLedgerVars(vars)
  return [alice.signer.signHash(hash), bob.signer.signHash(hash)]
}
