// The attacker harness (harness.ts) on a real chain (issue 13): ONE honest Engine on a RocksStore in a temp
// dir, a MemoryNetwork for peer messages, and a ViemChainService on anvil with our deployed contracts; each
// attacker is harness.ts's Attacker whose chain actions go to anvil through a ViemChainService of its own
// (its own funded transaction account), and who can deploy a worthless ERC20 of its own (our TestToken
// artifact, deployed fresh, minted by the attacker to itself).
//
// Every actor's transaction account is a fresh key (derived from a label) funded with anvil_setBalance, so a
// test starts with nonce 0 for each: "the honest node sent no transaction" is "its nonce is still 0".
// Channel keys are separate from transaction keys (as a real node has them): payouts go to channel addresses.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createPublicClient, createWalletClient, http } from 'viem'
import type { Chain, PublicClient, Transport as ViemTransport } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { Address, Bytes32, Hex } from '../../src/core/types.js'
import type { State } from '../../src/core/state.js'
import { createSigner } from '../../src/core/signer.js'
import { channelId } from '../../src/core/channelId.js'
import { fixedPart } from '../../src/core/state.js'
import { openingState } from '../../src/protocols/openingState.js'
import { directFundId } from '../../src/protocols/directfund/directfund.js'
import { MemoryChain } from '../../src/chain/memoryChain.js'
import { MemoryNetwork } from '../../src/transport/memoryTransport.js'
import { RocksStore } from '../../src/store/rocksStore.js'
import { Engine } from '../../src/engine/engine.js'
import type { PeerPolicy } from '../../src/engine/policy.js'
import type { Objective } from '../../src/protocols/objectives.js'
import type { Anvil } from '../../src/chain/anvil.js'
import { startAnvil } from '../../src/chain/anvil.js'
import type { Deployment } from '../../src/chain/deploy.js'
import { deployContracts } from '../../src/chain/deploy.js'
import { ViemChainService } from '../../src/chain/viemChainService.js'
import { TestToken } from '../../src/chain/artifacts.js'
import { adjudicatorAbi } from '../../src/chain/abi.js'
import { Attacker, DAY_SEC, ETH, keyOf, madeUpTarget, objectiveDone, sleep, until } from './harness.js'
import type { LedgerView } from './harness.js'
import type { SignedState } from '../../src/core/signedState.js'
import type { Proposal } from '../../src/protocols/ledger/proposal.js'
import { addressToDestination } from '../../src/core/outcome.js'
import { toAddress } from '../../src/core/canonical.js'

export const CHAIN_ID = 31337
/** What every fresh transaction account starts with: 100 ETH. */
export const TX_FUNDS = 100n * 10n ** 18n
const POLL_MS = 20

/** One anvil with our contracts, shared by a test file. */
export interface AnvilChain {
  readonly anvil: Anvil
  readonly deployment: Deployment
  readonly client: PublicClient<ViemTransport, Chain>
  /** ETH of `owner`, or `token`'s balance of `owner`. */
  balance(owner: Address, token?: Address): Promise<bigint>
  /** Transactions `owner` has sent (mined and pending). */
  nonce(owner: Address): Promise<number>
  /** The adjudicator's holdings of `asset` for `channel`. */
  holdings(channel: Bytes32, asset: Address): Promise<bigint>
  /** Wei `from` paid for gas in blocks after `sinceBlock`, from the receipts. */
  gasSpent(from: Address, sinceBlock: bigint): Promise<bigint>
  /** Sets `owner`'s ETH balance (anvil_setBalance). */
  setBalance(owner: Address, wei: bigint): Promise<void>
  /** evm_snapshot: the chain as it is now, to go back to with `revert` (a re-org, as a node watching it sees one). */
  snapshot(): Promise<Hex>
  /** evm_revert to a snapshot, then `blocks` empty blocks mined: every block after the snapshot is replaced. */
  revert(snapshot: Hex, blocks: number): Promise<void>
  stop(): Promise<void>
}

export async function startAnvilChain(): Promise<AnvilChain> {
  const anvil = await startAnvil({ port: 0, chainId: CHAIN_ID })
  const deployment = await deployContracts({ rpcUrl: anvil.url, chainId: CHAIN_ID })
  const client = createPublicClient({ chain: chainOf(anvil.url), transport: http(anvil.url), cacheTime: 0 }) as PublicClient<ViemTransport, Chain>
  const adjudicatorHoldings = [{ type: 'function', name: 'holdings', stateMutability: 'view', inputs: [{ type: 'address' }, { type: 'bytes32' }], outputs: [{ type: 'uint256' }] }] as const
  return {
    anvil,
    deployment,
    client,
    async balance(owner, token) {
      if (token === undefined || token.toLowerCase() === ETH) return client.getBalance({ address: owner })
      return client.readContract({ address: token, abi: TestToken.abi, functionName: 'balanceOf', args: [owner] })
    },
    nonce: (owner) => client.getTransactionCount({ address: owner, blockTag: 'pending' }),
    holdings: (channel, asset) => client.readContract({ address: deployment.adjudicator, abi: adjudicatorHoldings, functionName: 'holdings', args: [asset, channel] }),
    async gasSpent(from, sinceBlock) {
      const head = await client.getBlockNumber()
      let spent = 0n
      for (let n = sinceBlock + 1n; n <= head; n++) {
        const block = await client.getBlock({ blockNumber: n, includeTransactions: true })
        for (const tx of block.transactions) {
          if (tx.from.toLowerCase() !== from.toLowerCase()) continue
          const receipt = await client.getTransactionReceipt({ hash: tx.hash })
          spent += receipt.gasUsed * receipt.effectiveGasPrice
        }
      }
      return spent
    },
    async setBalance(owner, wei) {
      await client.request({ method: 'anvil_setBalance' as never, params: [owner, `0x${wei.toString(16)}`] as never })
    },
    snapshot: () => client.request({ method: 'evm_snapshot' as never, params: [] as never }) as Promise<Hex>,
    async revert(snapshot, blocks) {
      await client.request({ method: 'evm_revert' as never, params: [snapshot] as never })
      await client.request({ method: 'anvil_mine' as never, params: [`0x${blocks.toString(16)}`] as never })
    },
    stop: () => anvil.stop(),
  }
}

function chainOf(url: string): Chain {
  return { id: CHAIN_ID, name: 'anvil', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [url] } } }
}

function chainService(chain: AnvilChain, txKey: Hex): ViemChainService {
  const { adjudicator, consensusApp } = chain.deployment
  return new ViemChainService({ rpcUrl: chain.anvil.url, chainId: CHAIN_ID, adjudicator, consensusApp, txKey, pollingIntervalMs: POLL_MS })
}

/**
 * harness.ts's Attacker with its chain on anvil: `chain` (deposits, holdings, concludeAndWithdraw in
 * fundLedger / cooperateDefund) is a ViemChainService paying from `txAccount`; ledgers it opens run our
 * deployed ConsensusApp (an honest node refuses a ledger of any other appDefinition).
 */
export class AnvilAttacker extends Attacker {
  readonly txKey: Hex
  readonly txAccount: Address
  readonly viem: ViemChainService

  constructor(
    label: string,
    network: MemoryNetwork,
    readonly anvilChain: AnvilChain,
  ) {
    // The MemoryChain is a placeholder: the base class connects to it, and `chain` is replaced right below.
    super(label, network, new MemoryChain())
    this.txKey = keyOf(`${label}:tx`)
    this.txAccount = toAddress(privateKeyToAccount(this.txKey).address)
    this.viem = chainService(anvilChain, this.txKey)
    Object.defineProperty(this, 'chain', { value: this.viem, writable: false, enumerable: true, configurable: true })
  }

  /** As Attacker.openLedger, with the deployed ConsensusApp as appDefinition. */
  override openLedger(
    honest: Address,
    p: { myIndex?: 0 | 1; amounts?: readonly [bigint, bigint]; asset?: Address; nonce: bigint; challengeDuration?: number },
  ): State {
    const myIndex = p.myIndex ?? 0
    const prefund = openingState({
      participants: myIndex === 0 ? [this.address, honest] : [honest, this.address],
      channelNonce: p.nonce,
      appDefinition: this.anvilChain.deployment.consensusApp,
      challengeDuration: p.challengeDuration ?? DAY_SEC,
      asset: p.asset ?? ETH,
      amounts: p.amounts ?? [1000n, 1000n],
    })
    this.send(honest, [{ kind: 'signedState', objectiveId: directFundId(channelId(fixedPart(prefund))), signedState: this.signedState(prefund) }])
    return prefund
  }

  /**
   * deposit(asset, channel, expectedHeld, amount) sent straight to the adjudicator, bypassing the
   * ViemChainService's own checks (it refuses a zero amount, which the contract takes): resolves when mined.
   */
  async rawDeposit(channel: Bytes32, asset: Address, expectedHeld: bigint, amount: bigint): Promise<void> {
    const wallet = createWalletClient({ account: privateKeyToAccount(this.txKey), chain: chainOf(this.anvilChain.anvil.url), transport: http(this.anvilChain.anvil.url) })
    const hash = await wallet.writeContract({
      address: this.anvilChain.deployment.adjudicator,
      abi: adjudicatorAbi,
      functionName: 'deposit',
      args: [asset, channel, expectedHeld, amount],
      value: asset.toLowerCase() === ETH ? amount : 0n,
    })
    const receipt = await this.anvilChain.client.waitForTransactionReceipt({ hash })
    if (receipt.status !== 'success') throw new Error(`deposit reverted: ${hash}`)
  }

  /** Deploys a fresh TestToken from my transaction account and mints `amount` of it to me: a token worth nothing. */
  async deployWorthlessToken(amount: bigint): Promise<Address> {
    const wallet = createWalletClient({ account: privateKeyToAccount(this.txKey), chain: chainOf(this.anvilChain.anvil.url), transport: http(this.anvilChain.anvil.url) })
    const client = this.anvilChain.client
    const deployed = await client.waitForTransactionReceipt({ hash: await wallet.deployContract({ abi: TestToken.abi, bytecode: TestToken.bytecode, args: ['Worthless', 'JUNK'] }) })
    const token = toAddress(deployed.contractAddress!)
    await client.waitForTransactionReceipt({ hash: await wallet.writeContract({ address: token, abi: TestToken.abi, functionName: 'mint', args: [this.txAccount, amount] }) })
    return token
  }

  /** My transaction account's ETH on anvil. */
  txBalance(token?: Address): Promise<bigint> {
    return this.anvilChain.balance(this.txAccount, token)
  }

  /** My channel address's ETH on anvil (where payouts to me go). */
  channelBalance(): Promise<bigint> {
    return this.anvilChain.balance(this.address)
  }
}

export interface AnvilHonestNode {
  readonly engine: Engine
  /** The channel-signing address: payouts land here. */
  readonly address: Address
  /** The transaction account: pays gas and deposits. */
  readonly txAccount: Address
  readonly chain: ViemChainService
  readonly store: RocksStore
}

export interface AnvilWorld {
  readonly network: MemoryNetwork
  readonly chain: AnvilChain
  readonly honest: AnvilHonestNode
  /** A new attacker on this network with a fresh transaction account holding TX_FUNDS on anvil. */
  attacker(label: string): Promise<AnvilAttacker>
  /** Lets messages, engine steps and a few chain polls run until nothing moves. */
  settle(ms?: number): Promise<void>
  /** How many refusals the honest node recorded with `code`. */
  rejected(code: string): number
  /** Waits until the honest node's objective is no longer active. */
  objectiveDone(id: string, timeoutMs?: number): Promise<Objective>
  close(): Promise<void>
}

/**
 * An honest node on `chain`: channel key and transaction key derived from `label` (use one label per test:
 * fresh accounts, fresh channel ids), its transaction account funded with TX_FUNDS.
 */
export async function createAnvilWorld(chain: AnvilChain, p: { label: string; policy?: PeerPolicy; stallTimeoutMs?: number }): Promise<AnvilWorld> {
  const network = new MemoryNetwork({ seed: 13 })
  const dir = mkdtempSync(path.join(tmpdir(), 'channels-adversary-anvil-'))
  const signer = createSigner(keyOf(`${p.label}:honest`))
  const txKey = keyOf(`${p.label}:honest:tx`)
  const txAccount = toAddress(privateKeyToAccount(txKey).address)
  await chain.setBalance(txAccount, TX_FUNDS)
  const viem = chainService(chain, txKey)
  const store = await RocksStore.open(path.join(dir, 'honest'))
  const engine = await Engine.open({
    store,
    signer,
    transport: network.connect(signer.address),
    chain: viem,
    consensusApp: chain.deployment.consensusApp,
    tickIntervalMs: 20,
    ...(p.policy ? { policy: p.policy } : {}),
    ...(p.stallTimeoutMs ? { stallTimeoutMs: p.stallTimeoutMs } : {}),
  })
  const attackers: AnvilAttacker[] = []
  return {
    network,
    chain,
    honest: { engine, address: signer.address, txAccount, chain: viem, store },
    async attacker(label) {
      const a = new AnvilAttacker(`${p.label}:${label}`, network, chain)
      await chain.setBalance(a.txAccount, TX_FUNDS)
      attackers.push(a)
      return a
    },
    async settle(ms = 300) {
      const start = Date.now()
      do {
        await network.idle()
        await engine.idle()
        await sleep(POLL_MS * 3) // event polls, delayed acks
      } while (Date.now() - start < ms)
      await network.idle()
      await engine.idle()
    },
    rejected: (code) => engine.rejections.counts[code] ?? 0,
    objectiveDone: (id, timeoutMs = 15_000) => objectiveDone(engine, id, timeoutMs),
    async close() {
      await engine.close()
      viem.close()
      await store.close()
      for (const a of attackers) {
        a.viem.close()
        await a.transport.close()
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/**
 * A ledger mallory opens with the honest node (she leads), funded by both, that then pays the honest node `paid`
 * in two updates its owner agreed to (a guarantee locked from her side, released to the honest node): the honest
 * node holds turn 3. Mallory keeps the postfund (turn 1), signed by both, which pays her `paid` more: the stale
 * state she may register on chain.
 */
export async function ledgerThatPaidHonest(
  w: AnvilWorld,
  mallory: AnvilAttacker,
  p: { readonly amounts: readonly [bigint, bigint]; readonly paid: bigint; readonly nonce: bigint; readonly challengeDuration: number },
): Promise<{ readonly ledger: LedgerView; readonly postfund: SignedState }> {
  const ledger = await mallory.openAndFundLedger(w.honest.address, { myIndex: 0, amounts: p.amounts, nonce: p.nonce, challengeDuration: p.challengeDuration })
  await w.objectiveDone(directFundId(ledger.id))
  const postfund: SignedState = { state: ledger.state(), signatures: [...ledger.supported.signatures] }
  const add: Proposal = { kind: 'add', target: madeUpTarget(7), left: mallory.destination, right: addressToDestination(w.honest.address), leftAmount: p.paid, rightAmount: 0n }
  const remove: Proposal = { kind: 'remove', target: madeUpTarget(7), leftAmount: 0n }
  for (const [turn, proposal] of [[2n, add], [3n, remove]] as const) {
    await w.honest.engine.agreeLedgerUpdate(ledger.id, proposal)
    mallory.send(w.honest.address, [mallory.proposalPayload(ledger, mallory.propose(ledger, proposal))])
    await mallory.awaitCountersignature(ledger, turn)
  }
  await until('the honest node holds turn 3', () => w.honest.engine.getLedger(ledger.id)?.supported.vars.turnNum === 3n)
  return { ledger, postfund }
}
