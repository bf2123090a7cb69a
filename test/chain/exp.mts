import { startAnvil } from '../../src/chain/anvil.js'
import { createTestClient, createPublicClient, http } from 'viem'
import { foundry } from 'viem/chains'
const a = await startAnvil({ port: 0 })
const t = createTestClient({ chain: foundry, transport: http(a.url), mode: 'anvil' })
const p = createPublicClient({ chain: foundry, transport: http(a.url) })
const b0 = await p.getBlock()
console.log('b0', b0.number, b0.timestamp)
const id = await t.snapshot()
await t.increaseTime({ seconds: 1000 }); await t.mine({ blocks: 1 })
console.log('after inc', (await p.getBlock()).timestamp)
await t.revert({ id })
await t.mine({ blocks: 1 })
console.log('after revert+mine', (await p.getBlock()).number, (await p.getBlock()).timestamp)
await a.stop()
