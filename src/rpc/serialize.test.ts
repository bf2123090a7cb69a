// The views the API shows, derived from an engine's tables at each pause point: a ledger while funding
// (its counterparty unreachable) and once open, a payment channel while opening and once open, objectives
// with where they wait; and the step to JSON, which checks each view against its schema.
import { afterEach, expect, test } from 'vitest'
import type { Bytes32, Hex } from '../core/types.js'
import type { TestNetwork } from '../../test/support/ledgerNetwork.js'
import { createTestNetwork } from '../../test/support/ledgerNetwork.js'
import { ledgerChannelInfoSchema } from './schemas.js'
import { ledgerChannelInfo, objectiveInfo, paymentChannelInfo, paymentChannelsByLedger, toWire } from './serialize.js'

let net: TestNetwork | undefined
afterEach(async () => {
  await net?.close()
  net = undefined
})

const key = (i: number) => `0x${(i + 1).toString(16).padStart(2, '0').repeat(32)}` as Hex
const UNKNOWN = `0x${'12'.repeat(32)}` as Bytes32

async function pair() {
  net = await createTestNetwork({ network: { seed: 11 } })
  return { network: net.network, alice: await net.node('alice', key(0)), bob: await net.node('bob', key(1)) }
}

test('a ledger: funding while the counterparty is unreachable, then open; its objective says where it waits', async () => {
  const { network, alice, bob } = await pair()
  network.partition(alice.address, bob.address, true)
  const objectiveId = await alice.engine.directFund({ counterparty: bob.address, myDeposit: 10n, theirDeposit: 20n, nonce: 1n })
  const ledgerId = objectiveId.slice('directfund:'.length) as Bytes32
  expect(ledgerChannelInfo(alice.engine, ledgerId)).toEqual({
    channelId: ledgerId,
    status: 'funding',
    participants: [alice.address, bob.address],
    leader: alice.address,
    follower: bob.address,
    myRole: 'leader',
    counterparty: bob.address,
    asset: '0x0000000000000000000000000000000000000000',
    nonce: 1n,
    challengeDuration: 86_400,
    turnNum: 0n,
    myBalance: 10n,
    theirBalance: 20n,
    guarantees: [],
    holdings: 0n,
  })
  expect(ledgerChannelInfo(bob.engine, ledgerId)).toBeUndefined() // bob never heard of it
  expect(objectiveInfo(alice.engine, alice.engine.getObjective(objectiveId)!.objective)).toEqual({
    id: objectiveId,
    kind: 'directfund',
    status: 'approved',
    waitingFor: 'prefund',
    failure: null,
    channelId: ledgerId,
  })

  network.partition(alice.address, bob.address, false)
  await alice.engine.waitForObjective(objectiveId)
  expect(ledgerChannelInfo(alice.engine, ledgerId)).toMatchObject({ status: 'open', turnNum: 1n, holdings: 30n })
  expect(objectiveInfo(alice.engine, alice.engine.getObjective(objectiveId)!.objective)).toMatchObject({ status: 'completed', waitingFor: null })
})

test('a payment channel: opening while the payee is unreachable, then open, and found by its ledger', async () => {
  const { network, alice, bob } = await pair()
  const fund = await alice.engine.directFund({ counterparty: bob.address, myDeposit: 10n, theirDeposit: 10n, nonce: 2n })
  await alice.engine.waitForObjective(fund)
  const ledgerId = fund.slice('directfund:'.length) as Bytes32
  network.partition(alice.address, bob.address, true)
  const objectiveId = await alice.engine.createPaymentChannel({ counterparty: bob.address, amount: 4n, nonce: 3n })
  const channelId = objectiveId.slice('virtualfund:'.length) as Bytes32
  const opening = {
    channelId,
    status: 'opening',
    role: 'payer',
    payer: alice.address,
    payee: bob.address,
    intermediaries: [],
    asset: '0x0000000000000000000000000000000000000000',
    startingBalance: 4n,
    paid: 0n,
    remaining: 4n,
    voucher: null,
  }
  expect(paymentChannelInfo(alice.engine, channelId)).toEqual(opening)
  expect(paymentChannelsByLedger(alice.engine, ledgerId)).toEqual([opening])

  network.partition(alice.address, bob.address, false)
  await alice.engine.waitForObjective(objectiveId)
  const voucher = await alice.engine.pay(channelId, 3n)
  expect(paymentChannelInfo(alice.engine, channelId)).toEqual({ ...opening, status: 'open', paid: 3n, remaining: 1n, voucher })
})

test('unknown ids have no view', async () => {
  const { alice } = await pair()
  expect(ledgerChannelInfo(alice.engine, UNKNOWN)).toBeUndefined()
  expect(paymentChannelInfo(alice.engine, UNKNOWN)).toBeUndefined()
  expect(paymentChannelsByLedger(alice.engine, UNKNOWN)).toBeUndefined()
})

test('toWire: bigints become decimal strings; a view outside the contract is refused on the way out', async () => {
  const { network, alice, bob } = await pair()
  network.partition(alice.address, bob.address, true)
  const objectiveId = await alice.engine.directFund({ counterparty: bob.address, myDeposit: 2n ** 255n, theirDeposit: 0n, nonce: 4n })
  const view = ledgerChannelInfo(alice.engine, objectiveId.slice('directfund:'.length) as Bytes32)!
  expect(toWire(ledgerChannelInfoSchema, view)).toMatchObject({ myBalance: (2n ** 255n).toString(), theirBalance: '0', nonce: '4', turnNum: '0' })
  expect(() => toWire(ledgerChannelInfoSchema, { ...view, theirBalance: -1n })).toThrow()
})
