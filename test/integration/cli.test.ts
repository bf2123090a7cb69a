// The `channels` CLI as people run it: a child process per command (`node --import tsx src/cli/channels.ts`,
// what bin/channels.js does in a checkout) against three real node processes (Alice, Hub, Bob over libp2p)
// and anvil with our contracts. One scripted session: address, ledgers opened and listed, a payment channel
// through the hub, three payments, a voucher piped from Alice's CLI into Bob's, `watch` on Bob's side,
// closes; and the error paths people hit first — an unknown channel, a bad amount, a wrong data dir, a
// missing or wrong secret. Nothing here depends on timing: where the payee learns something
// asynchronously, the test waits for it through the typed client before asking the CLI.
import { afterAll, beforeAll, expect, test } from 'vitest'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Address, Bytes32 } from '../../src/core/types.js'
import { startAnvil } from '../../src/chain/anvil.js'
import type { Anvil } from '../../src/chain/anvil.js'
import { ANVIL_DEV_KEYS, deployContracts } from '../../src/chain/deploy.js'
import { channelsCommand } from '../../src/node/launcher.js'
import { launchLocalNetwork } from '../../src/node/localNetwork.js'
import type { LocalNetwork } from '../../src/node/localNetwork.js'
import { ChannelsClient } from '../../src/client/client.js'

const dataDir = mkdtempSync(path.join(tmpdir(), 'channels-cli-'))
const DEPOSIT = 10n ** 16n // 0.01 ETH each side of each ledger
const UNKNOWN_ID = `0x${'ab'.repeat(32)}`

let anvil: Anvil
let network: LocalNetwork
const clients: ChannelsClient[] = []

beforeAll(async () => {
  anvil = await startAnvil({ port: 0 })
  const deployment = await deployContracts({ rpcUrl: anvil.url, chainId: 31337 })
  network = await launchLocalNetwork({
    dataDir,
    names: ['alice', 'hub', 'bob'],
    chainKeys: ANVIL_DEV_KEYS,
    chain: { url: anvil.url, chainId: 31337, local: true, deployment, pollingIntervalMs: 50 },
  })
}, 60_000)

afterAll(async () => {
  for (const c of clients) await c.close()
  await network?.stop()
  await anvil?.stop()
  rmSync(dataDir, { recursive: true, force: true })
})

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

interface Running {
  readonly child: ReturnType<typeof spawn>
  /** Everything written so far. */
  output(): { stdout: string; stderr: string }
  readonly done: Promise<Run>
}

/** Environment without the variables the CLI reads, so the developer's shell cannot change the outcome. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env }
  delete env.CHANNELS_RPC_SECRET
  delete env.CHANNELS_DATA_DIR
  return env
}

/** Starts `channels ...args`; stdin is closed unless `pipeStdin` (then the caller feeds it). */
function start(args: readonly string[], options: { pipeStdin?: boolean } = {}): Running {
  const [command, ...prefix] = channelsCommand()
  const child = spawn(command!, [...prefix, ...args], { env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] })
  if (!options.pipeStdin) child.stdin!.end()
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const done = new Promise<Run>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout, stderr }))
  })
  return { child, output: () => ({ stdout, stderr }), done }
}

/** `channels --data-dir <dir>/<name> ...args`. */
function cli(name: string, ...args: string[]): Promise<Run> {
  return start(['--data-dir', path.join(dataDir, name), ...args]).done
}

function address(name: string): Address {
  return network.prepared.get(name)!.address
}

async function client(name: string): Promise<ChannelsClient> {
  const c = await ChannelsClient.connect({ url: network.node(name).info.rpcUrl, secret: network.prepared.get(name)!.secret })
  clients.push(c)
  return c
}

/** Resolves once `condition` holds for the output so far (checked as output arrives); rejects if the process ends first. */
function outputMatches(running: Running, condition: (o: { stdout: string; stderr: string }) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (condition(running.output())) {
        running.child.stdout!.off('data', check)
        running.child.stderr!.off('data', check)
        resolve()
      }
    }
    running.child.stdout!.on('data', check)
    running.child.stderr!.on('data', check)
    void running.done.then((r) => reject(new Error(`the process ended (exit ${r.code}) first:\n${r.stdout}\n${r.stderr}`)))
    check()
  })
}

test('a session: address, ledgers, a payment channel through the hub, payments, a piped voucher, watch, closes', async () => {
  // Who am I.
  const [addressRun, infoRun] = await Promise.all([cli('alice', 'address'), cli('alice', '--json', 'info')])
  expect(addressRun).toEqual({ code: 0, stdout: `${address('alice')}\n`, stderr: '' })
  const info = JSON.parse(infoRun.stdout) as Record<string, unknown>
  expect(info).toMatchObject({ address: address('alice'), chainId: 31337, peerId: network.node('alice').info.peerId, rpcUrl: network.node('alice').info.rpcUrl })

  // Ledgers with the hub, both funded on chain: Alice reads the text output, Bob the JSON.
  const [aliceOpen, bobOpen] = await Promise.all([
    cli('alice', 'ledger', 'open', '--with', address('hub'), '--deposit', '0.01eth'),
    cli('bob', '--json', 'ledger', 'open', '--with', address('hub'), '--deposit', DEPOSIT.toString(), '--their-deposit', '10000000gwei'),
  ])
  expect(aliceOpen.code, aliceOpen.stderr).toBe(0)
  const aliceLedger = /^channel\s+(0x[0-9a-f]{64})$/m.exec(aliceOpen.stdout)![1] as Bytes32
  expect(aliceOpen.stdout).toContain(`waiting for directfund:${aliceLedger.slice(0, 10)}… to complete\n`)
  expect(aliceOpen.stdout).toContain(`ledger channel ${aliceLedger} is open: mine 10000000000000000 (0.01 ETH), theirs 10000000000000000 (0.01 ETH)\n`)
  expect(bobOpen.code, bobOpen.stderr).toBe(0)
  const bobStarted = JSON.parse(bobOpen.stdout) as { objectiveId: string; channelId: Bytes32; status: string }
  expect(bobStarted).toEqual({ objectiveId: `directfund:${bobStarted.channelId}`, channelId: bobStarted.channelId, status: 'completed' })
  const bobLedger = bobStarted.channelId

  const hubList = await cli('hub', 'ledger', 'list')
  expect(hubList.code).toBe(0)
  const rows = hubList.stdout.trimEnd().split('\n')
  expect(rows[0]).toMatch(/^ID\s+COUNTERPARTY\s+MY BALANCE\s+THEIR BALANCE\s+GUARANTEES\s+STATUS$/)
  expect(rows.slice(1).sort()).toEqual(
    [
      `${aliceLedger.slice(0, 10)}…  ${address('alice')}  10000000000000000 (0.01 ETH)  10000000000000000 (0.01 ETH)           0  open`,
      `${bobLedger.slice(0, 10)}…  ${address('bob')}  10000000000000000 (0.01 ETH)  10000000000000000 (0.01 ETH)           0  open`,
    ].sort(),
  )

  // Bob watches his payment channels from here on.
  const watch = start(['--data-dir', path.join(dataDir, 'bob'), 'watch', '--topics', 'payment_channel_updated'])
  await outputMatches(watch, (o) => o.stderr.includes('watching payment_channel_updated'))

  // A payment channel Alice → Hub → Bob, then three payments (one by a short id, as tables show it).
  const paymentOpen = await cli('alice', '--json', 'payment', 'open', '--to', address('bob'), '--via', address('hub'), '--amount', '1000000')
  expect(paymentOpen.code, paymentOpen.stderr).toBe(0)
  const { channelId } = JSON.parse(paymentOpen.stdout) as { channelId: Bytes32 }
  const pays = [await cli('alice', 'pay', channelId, '100'), await cli('alice', 'pay', channelId.slice(0, 12), '200'), await cli('alice', 'pay', channelId, '0.0000000000000003eth')]
  expect(pays.map((r) => [r.code, r.stdout])).toEqual([
    [0, `paid 100; total paid 100 (voucher for ${channelId.slice(0, 10)}…)\n`],
    [0, `paid 200; total paid 300 (voucher for ${channelId.slice(0, 10)}…)\n`],
    [0, `paid 300; total paid 600 (voucher for ${channelId.slice(0, 10)}…)\n`],
  ])

  // Bob's side: the vouchers travel asynchronously, so wait for them before asking the CLI.
  const bob = await client('bob')
  await bob.waitForPaymentChannel(channelId, (pc) => pc.paid === 600n, { timeoutMs: 30_000 })
  const show = await cli('bob', 'payment', 'show', channelId)
  expect(show.code).toBe(0)
  expect(show.stdout).toMatch(/^my role\s+payee$/m)
  expect(show.stdout).toMatch(/^paid\s+600$/m)
  expect(show.stdout).toMatch(/^remaining\s+999400$/m)
  expect(show.stdout).toContain(`via        ${address('hub')}\n`)
  await outputMatches(watch, (o) => o.stdout.includes(`${channelId.slice(0, 10)}…  open  payee  paid 600  remaining 999400`))
  watch.child.kill('SIGINT')
  expect((await watch.done).code).toBe(0)
  expect(watch.output().stdout).toMatch(/^\d\d:\d\d:\d\d\.\d{3} {2}payment_channel_updated {2}0x[0-9a-f]{8}… {2}open {2}payee {2}paid 100 {2}remaining 999900$/m)

  // A voucher handed over out of band: Alice's CLI prints it, Bob's reads it from stdin.
  const create = start(['--data-dir', path.join(dataDir, 'alice'), 'voucher', 'create', channelId, '50'])
  const redeem = start(['--data-dir', path.join(dataDir, 'bob'), 'voucher', 'redeem', '-'], { pipeStdin: true })
  create.child.stdout!.pipe(redeem.child.stdin!)
  const [created, redeemed] = await Promise.all([create.done, redeem.done])
  expect(created.code, created.stderr).toBe(0)
  expect(created.stdout.split('\n')).toHaveLength(2) // one JSON line
  expect(JSON.parse(created.stdout)).toMatchObject({ channelId, amount: '650' })
  expect(redeemed).toEqual({ code: 0, stdout: `redeemed: payment channel ${channelId} paid 650, remaining 999350\n`, stderr: '' })

  // Listing by ledger, then closing the payment channel and both ledgers.
  const list = await cli('alice', 'payment', 'list', '--ledger', aliceLedger)
  expect(list.stdout).toMatch(new RegExp(`^${channelId.slice(0, 10)}…  payer\\s+${address('bob')}\\s+650\\s+999350  open$`, 'm'))
  const paymentClose = await cli('alice', 'payment', 'close', channelId.slice(0, 14))
  expect(paymentClose.code, paymentClose.stderr).toBe(0)
  expect(paymentClose.stdout).toContain(`payment channel ${channelId} is closed: paid 650\n`)
  const hub = await client('hub')
  await hub.waitForLedgerChannel(aliceLedger, (l) => l.guarantees.length === 0, { timeoutMs: 30_000 })
  await hub.waitForLedgerChannel(bobLedger, (l) => l.guarantees.length === 0, { timeoutMs: 30_000 })

  const [aliceClose, bobClose] = await Promise.all([cli('alice', 'ledger', 'close', aliceLedger), cli('bob', '--json', 'ledger', 'close', bobLedger)])
  expect(aliceClose.code, aliceClose.stderr).toBe(0)
  expect(aliceClose.stdout).toContain(`ledger channel ${aliceLedger} is closed\n`)
  expect(JSON.parse(bobClose.stdout)).toEqual({ objectiveId: `directdefund:${bobLedger}`, channelId: bobLedger, status: 'completed' })
  const shown = JSON.parse((await cli('alice', '--json', 'ledger', 'show', aliceLedger)).stdout) as Record<string, unknown>
  expect(shown).toMatchObject({ status: 'closed', myBalance: '9999999999999350', theirBalance: '10000000000000650', guarantees: [] })
}, 120_000)

test('errors people hit first are one readable line with the right exit code', async () => {
  const aliceUrl = network.node('alice').info.rpcUrl
  const [unknown, badAmount, wrongDir, noSecret, wrongSecret] = await Promise.all([
    cli('alice', 'ledger', 'show', UNKNOWN_ID),
    cli('alice', 'pay', UNKNOWN_ID, '1.5wei'),
    start(['--data-dir', dataDir, 'ledger', 'list']).done,
    start(['--url', aliceUrl, 'address']).done,
    start(['--url', aliceUrl, '--secret', '00'.repeat(32), 'address']).done,
  ])
  expect(unknown.code).toBe(1)
  expect(unknown.stderr).toBe(`error: no such ledger channel (-32002)\n  no_such_ledger: no such ledger channel\n  details: {"channelId":"${UNKNOWN_ID}"}\n`)
  expect(badAmount.code).toBe(2)
  expect(badAmount.stderr).toBe('channels: amount 1.5wei is not a whole number of wei\nusage: channels pay <channelId> <amount>  (channels help pay)\n')
  expect(wrongDir.code).toBe(1)
  expect(wrongDir.stderr).toContain(`error: no node running with data dir ${dataDir}: it has no node.json; running nodes keep their data in`)
  expect(wrongDir.stderr).toContain(path.join(dataDir, 'alice'))
  expect(noSecret.code).toBe(2)
  expect(noSecret.stderr).toContain(`channels: no API secret for ${aliceUrl}: pass --secret <hex> or set CHANNELS_RPC_SECRET`)
  expect(wrongSecret.code).toBe(1)
  expect(wrongSecret.stderr).toContain('(-32001)\n  the API secret does not match the node\'s')
  for (const run of [unknown, badAmount, wrongDir, noSecret, wrongSecret]) {
    expect(run.stdout).toBe('')
    expect(run.stderr).not.toMatch(/\n\s+at /) // never a stack trace
  }
}, 60_000)
