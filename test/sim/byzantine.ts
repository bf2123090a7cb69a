// The byzantine participant of a simulated run: Mallory, an Attacker of the adversary harness
// (test/adversary/harness.ts) with her own key, on the cluster's network and chain. She takes part where an
// honest node lets anyone take part — she opens ledgers with honest nodes, and names their real ledgers,
// payment channels and objectives — but she equivocates, withholds, replays and sends valid-looking junk. Every
// act is synchronous and drawn from the cluster's random source, so the run stays a function of its seed.
//
// What an honest node may do about her is bounded by what it runs with her: a ledger she opens waits for her
// deposit, which never comes (she deposits first or not at all, and withholds), so no honest money is at stake;
// objectives she takes part in are excused from the liveness and agreement checks (answering a counterparty that
// stalls needs disputes: issue 15). Every other check holds for the honest nodes as if she were not there.
import type { Address, Bytes32 } from '../../src/core/types.js'
import type { Payload } from '../../src/protocols/messages.js'
import { openingState } from '../../src/protocols/openingState.js'
import { channelId } from '../../src/core/channelId.js'
import { fixedPart } from '../../src/core/state.js'
import { directFundId } from '../../src/protocols/directfund/directfund.js'
import { MEMORY_CONSENSUS_APP } from '../../src/chain/memoryChain.js'
import { Attacker, garbageSignature, highS, madeUpTarget } from '../adversary/harness.js'
import type { Cluster, SimNode } from './cluster.js'
import { ETH, STARTING_BALANCE } from './cluster.js'

export class Mallory {
  readonly attacker: Attacker
  #nonce = 1_000_000n
  #tag = 0

  constructor(private readonly cluster: Cluster) {
    this.attacker = new Attacker('mallory', cluster.network, cluster.chain)
    cluster.chain.fund(this.attacker.address, ETH, STARTING_BALANCE)
  }

  get address(): Address {
    return this.attacker.address
  }

  /** One byzantine act, chosen by the cluster's random source; returns what it did, for the trace. */
  act(): string {
    const { random } = this.cluster
    const victim = random.pick(this.cluster.nodes)
    switch (random.int(5)) {
      case 0:
        return this.#equivocate(victim)
      case 1:
        return this.#junk(victim)
      case 2:
        return this.#replay()
      case 3:
        return this.#forgeRejection(victim)
      default:
        return this.#outOfTurn(victim)
    }
  }

  /** Two prefunds of one ledger (same participants, nonce, app, duration: one channel id) with different outcomes. */
  #equivocate(victim: SimNode): string {
    const nonce = this.#nonce++
    const prefund = (mine: bigint) => openingState({ participants: [this.address, victim.address], channelNonce: nonce, appDefinition: MEMORY_CONSENSUS_APP, challengeDuration: 86_400, asset: ETH, amounts: [mine, 10n] })
    const [a, b] = [prefund(10n), prefund(11n)]
    const id = directFundId(channelId(fixedPart(a)))
    this.attacker.send(victim.address, [{ kind: 'signedState', objectiveId: id, signedState: this.attacker.signedState(a) }])
    this.attacker.send(victim.address, [{ kind: 'signedState', objectiveId: id, signedState: this.attacker.signedState(b) }])
    return `mallory equivocates on a ledger with ${victim.name}`
  }

  /** Valid-looking payloads about the victim's real ledgers and payment channels, signed wrongly or by her. */
  #junk(victim: SimNode): string {
    const { random } = this.cluster
    const ledgers = [...victim.machine.tables.ledgers.keys()] as Bytes32[]
    const payments = [...victim.machine.tables.payments.keys()] as Bytes32[]
    const ledgerId = ledgers.length > 0 ? random.pick(ledgers) : madeUpTarget(this.#tag)
    const tag = this.#tag++
    const payloads: Payload[] = [
      { kind: 'proposal', ledgerId, signed: { proposal: { kind: 'remove', target: madeUpTarget(tag), leftAmount: 1n }, turnNum: BigInt(1 + random.int(50)), signature: garbageSignature(tag) } },
      { kind: 'countersignature', ledgerId, turnNum: BigInt(1 + random.int(50)), signature: garbageSignature(tag + 1) },
      { kind: 'syncRequest', ledgerId },
      { kind: 'finalStateRequest', channelId: payments.length > 0 ? random.pick(payments) : madeUpTarget(tag) },
    ]
    if (payments.length > 0) {
      const channelId = random.pick(payments)
      const signature = this.attacker.signHash(channelId)
      payloads.push({ kind: 'voucher', voucher: { channelId, amount: 10n ** 30n, signature } }, { kind: 'voucher', voucher: { channelId, amount: 1n, signature: highS(signature) } })
    }
    this.attacker.send(victim.address, [random.pick(payloads)])
    return `mallory sends junk to ${victim.name}`
  }

  /** One of her earlier frames again, byte for byte. */
  #replay(): string {
    const { sent } = this.attacker
    if (sent.length === 0) return 'mallory has nothing to replay'
    const frame = this.cluster.random.pick(sent)
    this.attacker.resend(frame)
    return `mallory replays a frame to ${frame.to.slice(0, 8)}`
  }

  /** A rejection of one of the victim's objectives she does not take part in. */
  #forgeRejection(victim: SimNode): string {
    const ids = [...victim.machine.tables.objectives.keys()]
    if (ids.length === 0) return 'mallory finds nothing to reject'
    const objectiveId = this.cluster.random.pick(ids)
    this.attacker.send(victim.address, [{ kind: 'objectiveRejected', objectiveId, code: 'no', summary: 'mallory says no' }])
    return `mallory rejects ${objectiveId.slice(0, 16)} at ${victim.name}`
  }

  /** A frame numbered far ahead, or one reusing an old seq with other payloads. */
  #outOfTurn(victim: SimNode): string {
    const { random } = this.cluster
    const seq = random.chance(0.5) ? this.attacker.peekSeq(victim.address) + BigInt(1 + random.int(5_000)) : 1n
    this.attacker.send(victim.address, [{ kind: 'syncRequest', ledgerId: madeUpTarget(this.#tag++) }], { seq })
    return `mallory sends seq ${seq} to ${victim.name}`
  }

}
