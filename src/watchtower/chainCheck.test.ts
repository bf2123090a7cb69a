// checkTarget (chainCheck.ts): the watchtower serves a custody only on its chain and adjudicator, and only where
// both contracts run code the node knows for their role: this build's, or official Nitro 2.0.1-alpha.6's.
import { expect, test } from 'vitest'
import type { Hex } from 'viem'
import type { Address } from '../core/types.js'
import { toAddress } from '../core/canonical.js'
import { NODE_CONTRACTS } from '../chain/contractCode.js'
import { TestToken } from '../chain/artifacts.js'
import { OFFICIAL_NITRO } from '../../test/support/officialNitro.js'
import { checkTarget } from './chainCheck.js'

const adjudicator = toAddress(`0x${'ad'.repeat(20)}`)
const virtualPaymentApp = toAddress(`0x${'f0'.repeat(20)}`)
const target = { chainId: 31337, adjudicator, virtualPaymentApp }
const served = { chainId: 31337, adjudicator, url: 'http://127.0.0.1:8545' }
const reader = (codes: Record<string, Hex | undefined>) => ({ getCode: async ({ address }: { address: Address }) => codes[address] })

test('this build\'s contracts and the official build\'s are served, mixed too', async () => {
  const ours = { adjudicator: NODE_CONTRACTS.adjudicator, vpa: NODE_CONTRACTS.virtualPaymentApp }
  const official = { adjudicator: OFFICIAL_NITRO.adjudicator.deployedBytecode, vpa: OFFICIAL_NITRO.virtualPaymentApp.deployedBytecode }
  for (const [a, v] of [[ours.adjudicator, ours.vpa], [official.adjudicator, official.vpa], [ours.adjudicator, official.vpa]] as const) {
    await expect(checkTarget(reader({ [adjudicator]: a, [virtualPaymentApp]: v }), target, served)).resolves.toBeUndefined()
  }
})

test('other code, no code, a contract in another role, or another chain or adjudicator is refused', async () => {
  const refused = (codes: Record<string, Hex | undefined>, s = served) => checkTarget(reader(codes), target, s)
  await expect(refused({ [adjudicator]: TestToken.deployedBytecode as Hex, [virtualPaymentApp]: NODE_CONTRACTS.virtualPaymentApp })).rejects.toMatchObject({ code: 'contract_code' })
  await expect(refused({ [adjudicator]: NODE_CONTRACTS.adjudicator, [virtualPaymentApp]: '0x' })).rejects.toMatchObject({ code: 'contract_code' })
  await expect(refused({ [adjudicator]: NODE_CONTRACTS.adjudicator, [virtualPaymentApp]: NODE_CONTRACTS.consensusApp })).rejects.toMatchObject({ code: 'contract_code' })
  await expect(refused({ [adjudicator]: NODE_CONTRACTS.adjudicator, [virtualPaymentApp]: NODE_CONTRACTS.virtualPaymentApp }, { ...served, chainId: 1 })).rejects.toMatchObject({ code: 'custody_mismatch' })
})
