// The node's on-chain disputes on anvil (issue 15), in two parts.
//
// 1. How fast a node answers a stale challenge on a ledger (our contracts), with automine: mallory (the adversary
//    harness's attacker) opens a ledger with the honest node, moves one share to it in two agreed updates, then
//    registers the postfund on chain. Measured per round, from the block of mallory's challenge to the block of the
//    node's answer (the supported state registered): blocks and wall-clock seconds, with the node's chain poll at
//    20 ms, and the gas of the answer. Median of the rounds.
//
// 2. The gas of each dispute transaction the node sends, on our contracts and on the official build of
//    `@statechannels/nitro-protocol@2.0.1-alpha.6` (test/support/officialNitro.ts), beside Nitro's published figure
//    for the nearest scenario (go-nitro 64c4ee9, packages/nitro-protocol/gas-benchmarks/gasResults.json, quoted in
//    NITRO-NOTES §5.1; the npm package ships no gas benchmarks). The states are the nodes' own: engines open the
//    ledgers alice–hub and hub–bob and two payment channels from alice to bob through the hub (3,000 paid in the
//    first; the second closed cooperatively, off chain), carol and dave open and close a ledger (8), and the
//    engines stop. Each transaction is then the one the node's AppDispute objective submits for those states
//    (src/protocols/app/appDispute.ts; the checkpoint is the watchtower's), sent through ViemChainService, gasUsed
//    from its receipt; gas is deterministic for given calldata and chain state, so each is sent once. Bob
//    registers (1) his ledger's supported state (3 allocations: a guarantee for the first payment channel), (3)
//    that channel's redemption of alice's voucher, (4) the second channel's final state (3 signatures); the hub
//    registers alice–hub's postfund (1b: 2 allocations), which (5) a checkpoint clears (undone) and (2) alice's
//    node answers with the supported state (3 allocations; Nitro's X has 2); a day later bob's dispute (6)
//    reclaims the guarantee and (7) pays the ledger out. Every payee is a fresh account (25,000 gas to create);
//    (7) and (8) pay two, Nitro's ETHexit one. Calibration: Nitro's own scenarios (bench/gasScenarios.ts, which
//    bench/gas.bench.ts runs on our contracts) on the official build here: where they reproduce the published
//    figure, what differs from it comes from the states and the contracts, not the chain.
import { performance } from 'node:perf_hooks'
import { createTestClient, decodeEventLog, decodeFunctionData, http } from 'viem'
import type { Bytes32, Hex } from '../src/core/types.js'
import type { BenchResult, Benchmark } from './harness.js'
import { round } from './harness.js'
import { ACCEPT_ANY_PEER } from '../src/engine/policy.js'
import { hashState } from '../src/core/hashState.js'
import { hashChallenge } from '../src/core/signState.js'
import { adjudicatorAbi } from '../src/chain/abi.js'
import { appDisputeId, claimOf, crank, newAppDispute, update } from '../src/protocols/app/appDispute.js'
import type { AppDispute, AppDisputeWaitingFor, Claim } from '../src/protocols/app/appDispute.js'
import type { Cranked } from '../src/protocols/objective.js'
import type { ChainTransaction } from '../src/protocols/onchain.js'
import { redemptionState } from '../src/protocols/payments/redemption.js'
import { computeReclaimEffects } from '../src/protocols/outcome/reclaim.js'
import { supportedSignedState } from '../src/protocols/ledger/consensusChannel.js'
import { isFullySigned, signBy, unsigned } from '../src/core/signedState.js'
import type { Signer } from '../src/core/signer.js'
import { createSigner } from '../src/core/signer.js'
import { startAnvil } from '../src/chain/anvil.js'
import type { Anvil } from '../src/chain/anvil.js'
import type { ContractSet, Deployment } from '../src/chain/deploy.js'
import { OUR_CONTRACTS, deployContracts } from '../src/chain/deploy.js'
import { ViemChainService } from '../src/chain/viemChainService.js'
import { Engine } from '../src/engine/engine.js'
import { MemoryStore } from '../src/store/memoryStore.js'
import { MemoryNetwork } from '../src/transport/memoryTransport.js'
import { virtualFundId } from '../src/protocols/virtualfund/virtualfund.js'
import { virtualDefundId } from '../src/protocols/virtualdefund/virtualdefund.js'
import { DAY_SEC, ETH, keyOf, until } from '../test/adversary/harness.js'
import { createAnvilWorld, ledgerThatPaidHonest, startAnvilChain } from '../test/adversary/anvilWorld.js'
import { TEST_POLICY } from '../test/support/ledgerNetwork.js'
import { OFFICIAL_NITRO } from '../test/support/officialNitro.js'
import { checkpointClearingChallenge, cooperativeExitEth, nitroFixtures, openRig, sadExitDirect, sadExitVirtual } from './gasScenarios.js'
import { privateKeyToAccount } from 'viem/accounts'

const ROUNDS = 5
const SHARE = 10n ** 17n

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

// ---- part 1: from a stale challenge to the node's answer ----

async function answerTiming(): Promise<BenchResult[]> {
  const chain = await startAnvilChain()
  const blocks: number[] = []
  const seconds: number[] = []
  const gas: number[] = []
  try {
    for (let i = 0; i < ROUNDS; i++) {
      const policy = { ...ACCEPT_ANY_PEER, challengeDurationSec: { min: 0, max: ACCEPT_ANY_PEER.challengeDurationSec.max } }
      const w = await createAnvilWorld(chain, { label: `dispute-bench-${i}`, policy })
      try {
        const mallory = await w.attacker('mallory')
        const { ledger, postfund } = await ledgerThatPaidHonest(w, mallory, { amounts: [3n * SHARE, 2n * SHARE], paid: SHARE, nonce: BigInt(100 + i), challengeDuration: 3_600 })
        const challengedAt = await chain.client.getBlockNumber()
        const start = performance.now()
        await mallory.viem.submit({ kind: 'challenge', candidate: postfund, challengerSignature: mallory.signHash(hashChallenge(hashState(postfund.state))) })
        await until('the answer is on chain', () => w.honest.engine.getObjective(appDisputeId(ledger.id))?.waitingFor === 'finalization', 30_000)
        const answeredIn = performance.now() - start
        // The answer: the honest node's transaction that registered turn 3.
        const head = await chain.client.getBlockNumber()
        for (let n = challengedAt + 1n; n <= head; n++) {
          const block = await chain.client.getBlock({ blockNumber: n, includeTransactions: true })
          for (const tx of block.transactions) {
            if (tx.from.toLowerCase() !== w.honest.txAccount.toLowerCase()) continue
            const receipt = await chain.client.getTransactionReceipt({ hash: tx.hash })
            const registered = receipt.logs.some((log) => {
              try {
                const event = decodeEventLog({ abi: adjudicatorAbi, topics: log.topics as never, data: log.data })
                return event.eventName === 'ChallengeRegistered'
              } catch {
                return false // another contract's log
              }
            })
            if (!registered) continue
            blocks.push(Number(n - (challengedAt + 1n)))
            gas.push(Number(receipt.gasUsed))
          }
        }
        seconds.push(answeredIn / 1000)
      } finally {
        await w.close()
      }
    }
  } finally {
    await chain.stop()
  }
  return [
    { name: 'blocks from the stale challenge to the answer (median)', value: median(blocks), unit: 'blocks' },
    { name: 'seconds from the stale challenge mined to the answer registered (median)', value: round(median(seconds), 3), unit: 's' },
    { name: 'gas of the answer (challenge with the supported state)', value: median(gas), unit: 'gas' },
    { name: 'rounds', value: ROUNDS, unit: 'rounds' },
  ]
}

// ---- part 2: gas of each dispute path ----

/** Nitro's figures: gasResults.json at go-nitro 64c4ee9 (the scenario's key in that file). */
const NITRO = {
  'ETHexitSadVirtualFunded.challengeL': 122_389,
  'ETHexitSad.challenge': 113_146,
  'ETHClearChallenge.challengeResponseX': 96_482,
  'ETHexitSadVirtualFunded.challengeV': 172_692,
  'ETHClearChallenge.checkpointX': 73_936,
  'ETHexitSadVirtualFunded.reclaimL': 61_713,
  'ETHexitSadVirtualFunded.transferAllAssetsL': 113_726,
  ETHexit: 111_514,
} as const
type NitroScenario = keyof typeof NITRO

const PATHS = {
  ledgerChallenge: { name: '(1) challenge: a ledger with a guarantee', nitro: 'ETHexitSadVirtualFunded.challengeL' },
  plainLedgerChallenge: { name: '(1b) challenge: a ledger without one', nitro: 'ETHexitSad.challenge' },
  answer: { name: '(2) answer to a stale challenge', nitro: 'ETHClearChallenge.challengeResponseX' },
  redemption: { name: '(3) redemption challenge of a payment channel', nitro: 'ETHexitSadVirtualFunded.challengeV' },
  conclude: { name: '(4) conclude: a payment channel\'s final state', nitro: undefined },
  checkpoint: { name: '(5) checkpoint clearing a stale challenge', nitro: 'ETHClearChallenge.checkpointX' },
  reclaim: { name: '(6) reclaim: a guarantee from a finalized ledger', nitro: 'ETHexitSadVirtualFunded.reclaimL' },
  transfer: { name: '(7) transferAllAssets: the ledger after reclaim', nitro: 'ETHexitSadVirtualFunded.transferAllAssetsL' },
  cooperative: { name: '(8) concludeAndTransferAllAssets: a ledger', nitro: 'ETHexit' },
} as const satisfies Record<string, { name: string; nitro: NitroScenario | undefined }>
type PathGas = Record<keyof typeof PATHS, bigint>

const DEPOSIT = 10n ** 16n
const V_AMOUNT = 5000n
const PAYMENTS = [1000n, 500n, 1500n]
const PAID = 3000n
/** Paid in the second payment channel, closed cooperatively: bob's share of the hub–bob ledger grows by it. */
const PAID_CLOSED = 500n

interface Node {
  readonly signer: Signer
  readonly chain: ViemChainService
  readonly engine: Engine
}

/** A node whose channel and transaction keys come from `label` (fresh accounts; the transaction one funded). */
async function openNode(anvil: Anvil, deployment: Deployment, network: MemoryNetwork, label: string): Promise<Node> {
  const signer = createSigner(keyOf(`dispute-gas:${label}`))
  const txKey = keyOf(`dispute-gas:${label}:tx`)
  await testClientOf(anvil).setBalance({ address: privateKeyToAccount(txKey).address, value: 10n ** 20n })
  const { adjudicator, consensusApp, virtualPaymentApp } = deployment
  const chain = new ViemChainService({ rpcUrl: anvil.url, chainId: anvil.chainId, adjudicator, consensusApp, txKey, pollingIntervalMs: 20 })
  const engine = await Engine.open({ store: new MemoryStore(), signer, transport: network.connect(signer.address), chain, consensusApp, virtualPaymentApp, policy: TEST_POLICY })
  return { signer, chain, engine }
}

const testClientOf = (anvil: Anvil) => createTestClient({ mode: 'anvil', transport: http(anvil.url) })

async function completed(node: Node, id: string): Promise<void> {
  const o = await node.engine.waitForObjective(id)
  if (o.status !== 'completed') throw new Error(`${id} ended ${o.status}: ${o.failure?.summary}`)
}

async function openLedger(leader: Node, follower: Node, nonce: bigint): Promise<Bytes32> {
  const id = await leader.engine.directFund({ counterparty: follower.signer.address, myDeposit: DEPOSIT, theirDeposit: DEPOSIT, nonce })
  await completed(leader, id)
  const ledgerId = id.slice('directfund:'.length) as Bytes32
  await until('the follower holds the ledger', () => follower.engine.getLedger(ledgerId) !== undefined, 30_000)
  return ledgerId
}

async function openPaymentChannel(nodes: { alice: Node; hub: Node; bob: Node }, amount: bigint, nonce: bigint): Promise<Bytes32> {
  const { alice, hub, bob } = nodes
  const fund = await alice.engine.createPaymentChannel({ counterparty: bob.signer.address, intermediaries: [hub.signer.address], amount, nonce })
  await completed(alice, fund)
  const id = fund.slice('virtualfund:'.length) as Bytes32
  await until('bob can be paid', () => bob.engine.getObjective(fund)?.objective.status === 'completed' && bob.engine.getPaymentChannel(id) !== undefined, 30_000)
  return id
}

/** What the nodes hold when they stop, and the gas of the cooperative close (8), which carol's node sent. */
async function runNodes(anvil: Anvil, deployment: Deployment) {
  const network = new MemoryNetwork({ seed: 15 })
  const [alice, hub, bob, carol, dave] = await Promise.all(['alice', 'hub', 'bob', 'carol', 'dave'].map((l) => openNode(anvil, deployment, network, l))) as [Node, Node, Node, Node, Node]
  const nodes = { alice, hub, bob }
  try {
    const ledgerAH = await openLedger(alice, hub, 1n)
    const staleAH = supportedSignedState(hub.engine.getLedger(ledgerAH)!) // the postfund, before any guarantee
    const ledgerHB = await openLedger(hub, bob, 2n)
    const v = await openPaymentChannel(nodes, V_AMOUNT, 3n)
    for (const amount of PAYMENTS) await alice.engine.pay(v, amount)
    await until('bob holds every payment', () => bob.engine.getPaymentChannel(v)?.paid === PAID, 30_000)
    const v2 = await openPaymentChannel(nodes, 2000n, 4n)
    await alice.engine.pay(v2, PAID_CLOSED)
    await completed(alice, await alice.engine.closePaymentChannel(v2))
    const v2Defund = alice.engine.getObjective(virtualDefundId(v2))!.objective
    if (v2Defund.kind !== 'virtualdefund' || !v2Defund.final || !isFullySigned(v2Defund.final)) throw new Error('no final state of the second payment channel signed by all')
    for (const [x, y, id] of [[alice, hub, ledgerAH], [hub, bob, ledgerHB]] as const) {
      await until('the ledger agrees on both sides', () => x.engine.getLedger(id)?.supported.vars.turnNum === y.engine.getLedger(id)?.supported.vars.turnNum, 30_000)
    }
    const fund = bob.engine.getObjective(virtualFundId(v))!.objective
    if (fund.kind !== 'virtualfund') throw new Error('not a virtual fund')
    const ledgerCD = await openLedger(carol, dave, 5n)
    const before = await alice.chain.publicClient.getBlockNumber()
    for (const n of [carol, dave]) await expectBalance(n, 0n, 'a fresh payee')
    await completed(carol, await carol.engine.directDefund(ledgerCD))
    for (const n of [carol, dave]) await expectBalance(n, DEPOSIT, 'the cooperative close pays each its deposit')
    return {
      nodes,
      ledgerAH,
      ledgerHB,
      staleAH,
      supportedAH: supportedSignedState(alice.engine.getLedger(ledgerAH)!),
      supportedHB: supportedSignedState(bob.engine.getLedger(ledgerHB)!),
      v,
      vPostfund: fund.postfund,
      voucher: bob.engine.getPaymentChannel(v)!.voucher!,
      v2,
      v2Final: v2Defund.final,
      cooperative: await gasOfOnlyCall(alice.chain, before, 'concludeAndTransferAllAssets'),
    }
  } finally {
    for (const n of [alice, hub, bob, carol, dave]) await n.engine.close() // the disputes below are sent by hand
    for (const n of [carol, dave]) n.chain.close()
  }
}

async function expectBalance(node: Node, wei: bigint, what: string): Promise<void> {
  const balance = await node.chain.publicClient.getBalance({ address: node.signer.address })
  if (balance !== wei) throw new Error(`${what}: ${node.signer.address} holds ${balance} wei, expected ${wei}`)
}

/** The gas of the one successful adjudicator call to `functionName` mined after block `after`. */
async function gasOfOnlyCall(chain: ViemChainService, after: bigint, functionName: string): Promise<bigint> {
  const client = chain.publicClient
  const found: bigint[] = []
  for (let n = after + 1n; n <= (await client.getBlockNumber()); n++) {
    for (const tx of (await client.getBlock({ blockNumber: n, includeTransactions: true })).transactions) {
      if (tx.to?.toLowerCase() !== chain.adjudicator.toLowerCase() || decodeFunctionData({ abi: adjudicatorAbi, data: tx.input }).functionName !== functionName) continue
      const receipt = await client.getTransactionReceipt({ hash: tx.hash })
      if (receipt.status === 'success') found.push(receipt.gasUsed)
    }
  }
  if (found.length !== 1) throw new Error(`expected one ${functionName} after block ${after}, found ${found.length}`)
  return found[0]!
}

/** The one transaction a dispute's crank submitted. */
function submitted(step: Cranked<AppDispute, AppDisputeWaitingFor>): ChainTransaction {
  const txs = step.effects.flatMap((e) => (e.kind === 'submit' ? [e.tx] : []))
  if (txs.length !== 1) throw new Error(`expected one transaction, the dispute submitted ${txs.length} (waiting for ${step.waitingFor})`)
  return txs[0]!
}

/** Sends a dispute transaction as ViemChainService.submit does, and returns its gasUsed. */
async function gasOf(chain: ViemChainService, tx: ChainTransaction): Promise<bigint> {
  const sent = (): Promise<Hex> => {
    switch (tx.kind) {
      case 'challenge':
        return chain.challenge({ proof: tx.proof ?? [], candidate: tx.candidate, challengerSignature: tx.challengerSignature })
      case 'conclude':
        return chain.conclude(tx.signedState)
      case 'checkpoint':
        return chain.checkpoint({ proof: tx.proof ?? [], candidate: tx.candidate })
      case 'reclaim':
        return chain.reclaim(tx)
      case 'transferAllAssets':
        return chain.transferAllAssets(tx)
      default:
        throw new Error(`not a dispute transaction: ${tx.kind}`)
    }
  }
  const receipt = await chain.publicClient.getTransactionReceipt({ hash: await sent() })
  if (receipt.status !== 'success') throw new Error(`${tx.kind} ${receipt.transactionHash} reverted`)
  return receipt.gasUsed
}

/** A dispute as the node starts it, and its first crank (which registers the claim). */
function startDispute(p: { channelId: Bytes32; claim: Claim; holdings: bigint; signer: Signer; deadline?: bigint }) {
  return crank(newAppDispute(p), 0)
}

type Held = Awaited<ReturnType<typeof runNodes>>

/** Every dispute path, from what the nodes held, in the order a hub's disappearance would bring them. */
async function disputePaths(anvil: Anvil, held: Held): Promise<Omit<PathGas, 'cooperative'>> {
  const { alice, hub, bob } = held.nodes
  // (4) the payee concludes the payment channel whose final state all three signed.
  const conclude = await gasOf(bob.chain, submitted(startDispute({ channelId: held.v2, claim: { candidate: held.v2Final, proof: [], register: 'conclude' }, holdings: 0n, signer: bob.signer })))
  // (1) bob disputes his ledger with the hub; (3) and the payment channel, with his redemption of alice's voucher.
  const bobsLedger = startDispute({ channelId: held.ledgerHB, claim: claimOf(held.supportedHB), holdings: 2n * DEPOSIT, signer: bob.signer })
  const ledgerChallenge = await gasOf(bob.chain, submitted(bobsLedger))
  const redemption = signBy(unsigned(redemptionState(held.vPostfund.state, held.voucher)), bob.signer) // as the engine's paymentClaim
  const redemptionClaim: Claim = { candidate: redemption, proof: [held.vPostfund], register: 'challenge' }
  const redemptionGas = await gasOf(bob.chain, submitted(startDispute({ channelId: held.v, claim: redemptionClaim, holdings: 0n, signer: bob.signer })))
  // (1b) the hub registers the stale postfund of its ledger with alice; (5) a checkpoint clears it (undone), (2) alice's node answers.
  const plainLedgerChallenge = await gasOf(hub.chain, submitted(startDispute({ channelId: held.ledgerAH, claim: claimOf(held.staleAH), holdings: 2n * DEPOSIT, signer: hub.signer })))
  const stale = await alice.chain.status(held.ledgerAH)
  const testClient = testClientOf(anvil)
  const snapshot = await testClient.snapshot()
  const checkpoint = await gasOf(alice.chain, { kind: 'checkpoint', candidate: held.supportedAH, proof: [] })
  await testClient.revert({ id: snapshot })
  const answer = await gasOf(alice.chain, submitted(startDispute({ channelId: held.ledgerAH, claim: claimOf(held.supportedAH), holdings: 2n * DEPOSIT, signer: alice.signer, deadline: stale.finalizesAt })))
  if ((await alice.chain.status(held.ledgerAH)).turnNumRecord !== held.supportedAH.state.turnNum) throw new Error('the answer did not register the supported turn')

  // (6), (7) once both finalized, bob's ledger dispute reclaims the payment channel's guarantee and pays out.
  await testClient.increaseTime({ seconds: DAY_SEC + 1 })
  await testClient.mine({ blocks: 1 })
  const now = Number((await alice.chain.publicClient.getBlock()).timestamp) * 1000
  const [ledgerStatus, vStatus] = await Promise.all([bob.chain.status(held.ledgerHB), bob.chain.status(held.v)])
  const targets = (id: Bytes32) => (id === held.v ? { state: redemption.state, stateHash: hashState(redemption.state), finalizesAt: vStatus.finalizesAt } : undefined)
  const registered = update(bobsLedger.objective, { kind: 'challenged', turnNumRecord: ledgerStatus.turnNumRecord, finalizesAt: ledgerStatus.finalizesAt })
  const reclaimStep = crank(registered, now, targets)
  const reclaimTx = submitted(reclaimStep)
  if (reclaimTx.kind !== 'reclaim') throw new Error(`expected a reclaim, the dispute sent ${reclaimTx.kind}`)
  const reclaim = await gasOf(bob.chain, reclaimTx)
  const source = reclaimTx.sourceOutcome[0]!
  const allocations = computeReclaimEffects({ sourceAllocations: source.allocations, targetAllocations: reclaimTx.targetOutcome[0]!.allocations, indexOfTargetInSource: Number(reclaimTx.indexOfTargetInSource) })
  for (const n of [hub, bob]) await expectBalance(n, 0n, 'a fresh payee')
  const transfer = await gasOf(bob.chain, submitted(crank(update(reclaimStep.objective, { kind: 'reclaimed', outcome: [{ ...source, allocations }] }), now, targets)))
  await expectBalance(bob, DEPOSIT + PAID + PAID_CLOSED, 'bob is paid his deposit and alice\'s vouchers in both channels')
  if ((await bob.chain.holdings(held.ledgerHB, ETH)) !== 0n) throw new Error('the ledger still holds funds')
  return { ledgerChallenge, plainLedgerChallenge, answer, redemption: redemptionGas, conclude, checkpoint, reclaim, transfer }
}

/** Every path's gas on `contracts`, on a fresh anvil. */
async function pathGas(contracts: ContractSet): Promise<PathGas> {
  const anvil = await startAnvil({ port: 0 })
  try {
    const deployment = await deployContracts({ rpcUrl: anvil.url, chainId: anvil.chainId, contracts })
    const held = await runNodes(anvil, deployment)
    try {
      return { ...(await disputePaths(anvil, held)), cooperative: held.cooperative }
    } finally {
      for (const n of Object.values(held.nodes)) n.chain.close()
    }
  } finally {
    await anvil.stop()
  }
}

/** Nitro's own scenarios (bench/gasScenarios.ts) on `contracts`, each from the same chain state. */
async function nitroScenarios(contracts: ContractSet): Promise<Record<NitroScenario, bigint | undefined>> {
  const anvil = await startAnvil({ port: 0 })
  try {
    const deployment = await deployContracts({ rpcUrl: anvil.url, chainId: anvil.chainId, contracts })
    const rig = openRig({ rpcUrl: anvil.url, chainId: anvil.chainId, deployment })
    const fx = nitroFixtures(deployment)
    const direct = await rig.isolated(() => sadExitDirect(rig, fx))
    const virtual = await rig.isolated(() => sadExitVirtual(rig, fx))
    return {
      'ETHexitSadVirtualFunded.challengeL': virtual.challengeLedger,
      'ETHexitSad.challenge': direct.challenge,
      'ETHClearChallenge.challengeResponseX': undefined, // not among bench/gasScenarios.ts's scenarios
      'ETHexitSadVirtualFunded.challengeV': virtual.challengeVirtual,
      'ETHClearChallenge.checkpointX': await rig.isolated(() => checkpointClearingChallenge(rig, fx)),
      'ETHexitSadVirtualFunded.reclaimL': virtual.reclaim,
      'ETHexitSadVirtualFunded.transferAllAssetsL': virtual.transferLedger,
      ETHexit: await rig.isolated(() => cooperativeExitEth(rig, fx)),
    }
  } finally {
    await anvil.stop()
  }
}

const ratio = (a: bigint | number, b: bigint | number) => round(Number(a) / Number(b), 3)

function pathRows(ours: PathGas, official: PathGas): BenchResult[] {
  return Object.entries(PATHS).flatMap(([key, { name, nitro }]) => {
    const [o, n] = [ours[key as keyof PathGas], official[key as keyof PathGas]]
    const rows: BenchResult[] = [
      { name: `${name}: ours`, value: Number(o), unit: 'gas' },
      { name: `${name}: official`, value: Number(n), unit: 'gas' },
      { name: `${name}: ours / official`, value: ratio(o, n), unit: 'x' },
    ]
    if (!nitro) return rows
    return [
      ...rows,
      { name: `${name}: Nitro ${nitro}`, value: NITRO[nitro], unit: 'gas' },
      { name: `${name}: official / Nitro`, value: ratio(n, NITRO[nitro]), unit: 'x' },
    ]
  })
}

function calibrationRows(measured: Record<NitroScenario, bigint | undefined>): BenchResult[] {
  return (Object.keys(NITRO) as NitroScenario[]).flatMap((key) => {
    const gas = measured[key]
    return gas === undefined ? [] : [{ name: `calibration: Nitro's ${key} on the official build here, minus published`, value: Number(gas) - NITRO[key], unit: 'gas' }]
  })
}

const bench: Benchmark = {
  estimate:
    'the answer in the next block or two after the node sees the challenge (a 20 ms poll, one transaction): ~0.1 s. ' +
    'Gas: 21k base + calldata + 20k a new status slot + ~3-4k a signature: a ledger challenge ~120k (3 signatures), its answer ~100k ' +
    '(the status slot rewritten, not created), the redemption ~175k (4 signatures, the voucher\'s), conclude ~80k (3 signatures), ' +
    'checkpoint ~70k, reclaim ~60k, transferAllAssets ~110k and concludeAndTransferAllAssets ~135k (2 fresh payees at 25k each); ' +
    'the official build within ~10% of ours, Nitro\'s figures within ~10% where the states match theirs',
  async run(): Promise<BenchResult[]> {
    const timing = await answerTiming()
    const ours = await pathGas(OUR_CONTRACTS)
    const official = await pathGas(OFFICIAL_NITRO)
    const calibration = await nitroScenarios(OFFICIAL_NITRO)
    return [...timing, ...pathRows(ours, official), ...calibrationRows(calibration)]
  },
}

export default bench
