// Payment channels against the official VirtualPaymentApp (ETH only, issue 15): a node started with
// `paymentTokens: false` refuses a token payment channel before anything is locked — one it would open, and one a
// peer opens with it — and still opens one in ETH.
import { afterEach, expect, test } from 'vitest'
import { Engine } from './engine.js'
import { MemoryStore } from '../store/memoryStore.js'
import { MemoryNetwork } from '../transport/memoryTransport.js'
import { MemoryChain, MEMORY_CONSENSUS_APP } from '../chain/memoryChain.js'
import { createSigner } from '../core/signer.js'
import { toAddress } from '../core/canonical.js'
import { ACCEPT_ANY_PEER } from './policy.js'
import { ETH, MEMORY_VIRTUAL_PAYMENT_APP } from '../../test/support/ledgerNetwork.js'

const TOKEN = toAddress('0x00000000000000000000000000000000000000aa')
const engines: Engine[] = []
afterEach(async () => {
  for (const e of engines.splice(0)) await e.close()
})

async function pair(paymentTokens: [boolean, boolean]) {
  const network = new MemoryNetwork({ seed: 5 })
  const chain = new MemoryChain({ virtualPaymentApp: MEMORY_VIRTUAL_PAYMENT_APP })
  const [a, b] = [createSigner(`0x${'a1'.repeat(32)}`), createSigner(`0x${'b1'.repeat(32)}`)]
  for (const s of [a, b]) for (const asset of [ETH, TOKEN]) chain.fund(s.address, asset, 10n ** 18n)
  const open = (signer: typeof a, tokens: boolean) =>
    Engine.open({ store: new MemoryStore(), signer, transport: network.connect(signer.address), chain: chain.connect(signer.address), consensusApp: MEMORY_CONSENSUS_APP, virtualPaymentApp: MEMORY_VIRTUAL_PAYMENT_APP, policy: { ...ACCEPT_ANY_PEER, assets: 'any', challengeDurationSec: { min: 0, max: ACCEPT_ANY_PEER.challengeDurationSec.max } }, tickIntervalMs: 10, paymentTokens: tokens })
  const alice = await open(a, paymentTokens[0])
  const bob = await open(b, paymentTokens[1])
  engines.push(alice, bob)
  for (const [asset, nonce] of [[ETH, 1n], [TOKEN, 2n]] as const) {
    const id = await alice.directFund({ counterparty: b.address, asset, myDeposit: 1_000n, theirDeposit: 1_000n, nonce })
    expect((await alice.waitForObjective(id)).status).toBe('completed')
  }
  return { alice, bob, bobAddress: b.address }
}

test('a node whose payment app takes ETH only refuses to open a token payment channel, and opens one in ETH', async () => {
  const { alice, bobAddress } = await pair([false, true])
  await expect(alice.createPaymentChannel({ counterparty: bobAddress, intermediaries: [], asset: TOKEN, amount: 10n, nonce: 7n })).rejects.toMatchObject({ code: 'payment_asset_unsupported' })
  const id = await alice.createPaymentChannel({ counterparty: bobAddress, intermediaries: [], asset: ETH, amount: 10n, nonce: 8n })
  expect((await alice.waitForObjective(id)).status).toBe('completed')
})

test('a peer\'s token payment channel is refused by a node whose payment app takes ETH only: nothing is locked in its ledger', async () => {
  const { alice, bob, bobAddress } = await pair([true, false])
  const id = await alice.createPaymentChannel({ counterparty: bobAddress, intermediaries: [], asset: TOKEN, amount: 10n, nonce: 9n })
  const done = await alice.waitForObjective(id)
  expect(done.status).toBe('failed')
  expect(bob.getObjective(id)).toBeUndefined()
  expect(bob.rejections.counts.payment_asset_unsupported).toBe(1)
})
