// The watchtower on anvil (issue 15; docs/watchtower.md, ADR 0021), with the attacker harness's stale-ledger
// setup (test/adversary/anvilWorld.ts ledgerThatPaidHonest): mallory opens a ledger with the honest node, pays
// it one share in two updates, and keeps the postfund (turn 1), which pays her that share back. The honest node
// hands its latest supported ledger state (turn 3, signed by both) to a watchtower, then goes offline (its
// engine closed): it cannot answer mallory's stale challenge itself. The watchtower can, with checkpoint,
// which needs no key of either participant; after the challenge duration mallory has nothing to pay out.
// Also: a forged hand-over is refused and holds nothing; a watchtower that starts (or restarts past the
// event) after the challenge still answers it, from the channel's status; and it never sends a checkpoint
// that is not later than the registered state.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest'
import { privateKeyToAccount } from 'viem/accounts'
import type { Address, Hex } from '../../src/core/types.js'
import type { SignedState } from '../../src/core/signedState.js'
import { hashState } from '../../src/core/hashState.js'
import { hashChallenge, signState } from '../../src/core/signState.js'
import { toAddress } from '../../src/core/canonical.js'
import { supportedSignedState } from '../../src/protocols/ledger/consensusChannel.js'
import { ACCEPT_ANY_PEER } from '../../src/engine/policy.js'
import { ViemChainService } from '../../src/chain/viemChainService.js'
import { Custody } from '../../src/watchtower/custody.js'
import type { HandoverEntry } from '../../src/watchtower/handover.js'
import { decodeHandover, encodeHandover, watchtowerEntry } from '../../src/watchtower/handover.js'
import { signedStateToJson } from '../../src/watchtower/signedStateJson.js'
import type { WatchtowerLog } from '../../src/watchtower/watchtower.js'
import { Watchtower } from '../../src/watchtower/watchtower.js'
import { viemWatchtowerChain } from '../../src/watchtower/watchtowerChain.js'
import { checkTarget } from '../../src/watchtower/chainCheck.js'
import { runWatchtowerCommand } from '../../src/cli/watchtowerCommand.js'
import { ETH, keyOf } from '../adversary/harness.js'
import type { AnvilAttacker, AnvilChain, AnvilWorld } from '../adversary/anvilWorld.js'
import { CHAIN_ID, createAnvilWorld, ledgerThatPaidHonest, startAnvilChain } from '../adversary/anvilWorld.js'

const SHARE = 10n ** 17n
const CHALLENGE_SEC = 600
const POLL_MS = 20

let chain: AnvilChain
const cleanups: (() => Promise<void> | void)[] = []

beforeAll(async () => {
  chain = await startAnvilChain()
}, 60_000)
afterAll(async () => {
  await chain?.stop()
})
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function eventually(what: string, condition: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const start = Date.now()
  while (!(await condition())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, POLL_MS))
  }
}

/** A world with a ledger that paid the honest node (it holds turn 3; mallory keeps the postfund). */
async function staleLedger(label: string, nonce: bigint) {
  const policy = { ...ACCEPT_ANY_PEER, challengeDurationSec: { min: 0, max: ACCEPT_ANY_PEER.challengeDurationSec.max } }
  const w: AnvilWorld = await createAnvilWorld(chain, { label, policy })
  cleanups.push(() => w.close())
  const mallory = await w.attacker('mallory')
  const { ledger, postfund } = await ledgerThatPaidHonest(w, mallory, { amounts: [3n * SHARE, 2n * SHARE], paid: SHARE, nonce, challengeDuration: CHALLENGE_SEC })
  // What the honest node hands over: its latest supported state of the ledger, from its engine.
  const supported = supportedSignedState(w.honest.engine.getLedger(ledger.id)!)
  expect(supported.state.turnNum).toBe(3n)
  return { w, mallory, ledger, postfund, supported, entry: watchtowerEntry(supported, []) }
}

/** A hand-over document of `entries` for this anvil's contracts. */
function handoverText(entries: readonly HandoverEntry[]): string {
  const { adjudicator, virtualPaymentApp } = chain.deployment
  return encodeHandover({ chainId: CHAIN_ID, adjudicator, virtualPaymentApp, channels: entries })
}

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A funded gas key of the watchtower's own (no participant's). */
async function towerKey(label: string): Promise<{ key: Hex; account: Address }> {
  const key = keyOf(`${label}:watchtower`)
  const account = toAddress(privateKeyToAccount(key).address)
  await chain.setBalance(account, 10n ** 19n)
  return { key, account }
}

function collector() {
  const out = { text: '', write: (chunk: string) => (out.text += chunk) }
  return out
}

/** Log entries kept for the test to read, as a pino logger would have written them. */
function memoryLog(): WatchtowerLog & { readonly entries: { level: string; event?: string; facts: Record<string, unknown>; message: string }[] } {
  const entries: { level: string; event?: string; facts: Record<string, unknown>; message: string }[] = []
  const at = (level: string) => (facts: object, message: string) => void entries.push({ level, event: (facts as { event?: string }).event, facts: facts as Record<string, unknown>, message })
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}

/** A Watchtower on this anvil, polling fast, on the custody in `dir`. */
async function startTower(dir: string, key: Hex) {
  const { adjudicator, consensusApp } = chain.deployment
  const service = new ViemChainService({ rpcUrl: chain.anvil.url, chainId: CHAIN_ID, adjudicator, consensusApp, txKey: key, pollingIntervalMs: POLL_MS })
  const log = memoryLog()
  const tower = await Watchtower.start({
    custody: Custody.open(dir),
    chain: viemWatchtowerChain(service),
    log,
    serves: { chainId: CHAIN_ID, adjudicator },
    checkTarget: (target) => checkTarget(chain.client as never, target, { chainId: CHAIN_ID, adjudicator, url: chain.anvil.url }),
    retryFirstDelayMs: 50,
  })
  cleanups.push(async () => {
    await tower.stop()
    service.close()
  })
  return { tower, log }
}

async function challenge(mallory: AnvilAttacker, candidate: SignedState): Promise<bigint> {
  await mallory.viem.submit({ kind: 'challenge', candidate, challengerSignature: mallory.signHash(hashChallenge(hashState(candidate.state))) })
  return chain.client.getBlockNumber()
}

async function advanceChainTime(seconds: number): Promise<void> {
  await chain.client.request({ method: 'evm_increaseTime' as never, params: [seconds] as never })
  await chain.client.request({ method: 'evm_mine' as never, params: [] as never })
}

test('the honest node is offline; mallory registers the stale postfund; the watchtower it handed the ledger to checkpoints turn 3, and after the challenge duration mallory cannot pay the postfund out', async () => {
  const { w, mallory, ledger, postfund, entry } = await staleLedger('watchtower-main', 1n)
  const dir = tempDir('channels-watchtower-')
  const file = path.join(dir, '..', `${path.basename(dir)}.handover.json`)
  writeFileSync(file, handoverText([entry]))
  cleanups.push(() => rmSync(file, { force: true }))

  // The operator hands the file over, then runs the watchtower (both through the CLI).
  const added = collector()
  expect(await runWatchtowerCommand(['add', file, '--data', dir], { stdout: added, stderr: added })).toBe(0)
  expect(added.text).toContain(`added    ${ledger.id}  turn 3`)
  const { key, account } = await towerKey('main')
  const stop = new AbortController()
  const logs = collector()
  let running: (tower: Watchtower) => void = () => undefined
  const started = new Promise<Watchtower>((resolve) => (running = resolve))
  const { adjudicator } = chain.deployment
  const exit = runWatchtowerCommand(['run', '--data', dir, '--chain-url', chain.anvil.url, '--adjudicator', adjudicator, '--chain-local', '--log-level', 'debug'], {
    env: { CHANNELS_TX_KEY: key },
    signal: stop.signal,
    logStream: logs,
    stderr: logs,
    onRunning: running,
  })
  cleanups.push(async () => {
    stop.abort()
    await exit
  })
  const tower = await Promise.race([started, exit.then((code) => Promise.reject(new Error(`watchtower run exited ${code}: ${logs.text}`)))])
  expect(tower.heldCount).toBe(1)

  // The honest node goes offline; mallory goes on chain with the postfund.
  await w.honest.engine.close()
  const honestNonce = await chain.nonce(w.honest.txAccount)
  await challenge(mallory, postfund)

  await eventually('the challenge cleared at turn 3', async () => {
    const status = await mallory.viem.status(ledger.id)
    return status.turnNumRecord === 3n && status.finalizesAt === 0n
  })
  // The receipt reaches the watchtower a poll after the block: then it logs what it did.
  const checkpointed = () => logs.text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { event?: string }).filter((e) => e.event === 'checkpointed')
  await eventually('the watchtower logs its checkpoint', () => checkpointed().length > 0)
  expect(checkpointed()).toHaveLength(1)
  expect(await chain.nonce(account)).toBe(1) // the watchtower sent it, from its own key
  expect(await chain.nonce(w.honest.txAccount)).toBe(honestNonce) // not the honest node

  // After the challenge duration, the postfund's outcome cannot be paid out: nothing finalized.
  await advanceChainTime(CHALLENGE_SEC + 1)
  await expect(mallory.viem.transferAllAssets({ channelId: ledger.id, outcome: postfund.state.outcome, stateHash: hashState(postfund.state) })).rejects.toMatchObject({ code: 'chain_reverted' })
  expect(await chain.holdings(ledger.id, ETH)).toBe(5n * SHARE)

  stop.abort()
  expect(await exit).toBe(0)
  // It saved where it got to in the chain.
  expect(JSON.parse(readFileSync(path.join(dir, 'cursor.json'), 'utf8')).block).toMatch(/^\d+$/)
}, 90_000)

test('a hand-over with a forged signature is refused and holds nothing: mallory signs turn 9 of the ledger and puts her signature in the honest node\'s slot too', async () => {
  const { w, mallory, entry, supported } = await staleLedger('watchtower-forged', 2n)
  const dir = tempDir('channels-watchtower-')
  // Turn 9, paying mallory everything, "signed by both": mallory's key in both slots.
  const forgedState = { ...supported.state, turnNum: 9n }
  const forged = { state: forgedState, signatures: [mallory.signState(forgedState), mallory.signState(forgedState)] }
  // And the honest node's real state with a signature by a stranger in the honest node's slot.
  const honestIndex = supported.state.participants.indexOf(w.honest.address)
  const stranger = { ...supported, signatures: supported.signatures.map((s, i) => (i === honestIndex ? signState(supported.state, keyOf('stranger')) : s)) }
  for (const candidate of [forged, stranger]) {
    const file = path.join(dir, 'forged.json')
    // Written by hand: encodeHandover refuses to write it, as it should.
    const document = JSON.parse(handoverText([entry]))
    document.channels[0].candidate = signedStateToJson(candidate)
    const text = JSON.stringify(document)
    writeFileSync(file, text)
    const err = collector()
    expect(await runWatchtowerCommand(['add', file, '--data', dir], { stdout: err, stderr: err })).toBe(1)
    expect(err.text).toContain('(invalid_signature)')
  }
  expect(Custody.open(dir).entries().held).toEqual([])
  // The genuine one is taken.
  writeFileSync(path.join(dir, 'genuine.json'), handoverText([entry]))
  expect(await runWatchtowerCommand(['add', path.join(dir, 'genuine.json'), '--data', dir], { stdout: collector(), stderr: collector() })).toBe(0)
  expect(Custody.open(dir).entries().held).toEqual([entry])
  const listed = collector()
  expect(await runWatchtowerCommand(['list', '--data', dir, '--json'], { stdout: listed, stderr: listed })).toBe(0)
  expect(JSON.parse(listed.text)).toMatchObject({ target: { chainId: CHAIN_ID, adjudicator: chain.deployment.adjudicator }, channels: [{ channelId: entry.channelId, turnNum: '3', proofStates: 0 }], refused: [] })
}, 90_000)

test('run refuses a gas key on the command line and a missing adjudicator, before touching the chain (exit 2)', async () => {
  const dir = tempDir('channels-watchtower-')
  const { adjudicator } = chain.deployment
  for (const [args, said] of [
    [['--adjudicator', adjudicator, '--tx-key', keyOf('cli')], 'every user of this machine can read it'],
    [[], '--adjudicator <address> is required'],
  ] as const) {
    const err = collector()
    expect(await runWatchtowerCommand(['run', '--data', dir, '--chain-url', chain.anvil.url, ...args], { stdout: err, stderr: err, env: {} })).toBe(2)
    expect(err.text).toContain(said)
  }
})

test('a watchtower that starts after the challenge was registered (its cursor already past it) still answers it, from the channel\'s status', async () => {
  const { w, mallory, ledger, postfund, entry } = await staleLedger('watchtower-late', 3n)
  const dir = tempDir('channels-watchtower-')
  Custody.open(dir).hold(decodeHandover(handoverText([entry])))
  await w.honest.engine.close()
  const challengedAt = await challenge(mallory, postfund)
  // As if it had seen the event and stopped before answering: the events replay nothing.
  Custody.open(dir).writeCursor({ block: challengedAt, logIndex: Number.MAX_SAFE_INTEGER })

  const { key, account } = await towerKey('late')
  const { tower, log } = await startTower(dir, key)
  await eventually('the challenge cleared at turn 3', async () => {
    const status = await mallory.viem.status(ledger.id)
    return status.turnNumRecord === 3n && status.finalizesAt === 0n
  })
  await tower.idle()
  expect(log.entries.filter((e) => e.event === 'challenge_seen')).toEqual([]) // no event: the status check did it
  expect(log.entries.filter((e) => e.event === 'checkpointed')).toHaveLength(1)
  expect(await chain.nonce(account)).toBe(1)
}, 90_000)

test('a checkpoint with a state not later than the registered one is never sent: mallory registers turn 3 itself, which the watchtower holds', async () => {
  const { w, mallory, ledger, supported, entry } = await staleLedger('watchtower-same-turn', 4n)
  const dir = tempDir('channels-watchtower-')
  Custody.open(dir).hold(decodeHandover(handoverText([entry])))
  await w.honest.engine.close()
  const { key, account } = await towerKey('same-turn')
  const { tower, log } = await startTower(dir, key)

  const challengedAt = await challenge(mallory, supported)
  await eventually('the watchtower saw the challenge', () => (tower.cursor?.block ?? 0n) >= challengedAt)
  await tower.idle()
  expect(log.entries.filter((e) => e.event === 'challenge_seen').map((e) => e.facts)).toMatchObject([{ registeredTurnNum: '3', heldTurnNum: '3', answer: false }])
  expect(log.entries.filter((e) => e.event?.startsWith('checkpoint'))).toEqual([]) // neither sent nor tried
  expect(await chain.nonce(account)).toBe(0)
  const status = await mallory.viem.status(ledger.id)
  expect([status.turnNumRecord, status.finalizesAt > 0n]).toEqual([3n, true]) // the challenge stands: it is the latest state
}, 90_000)
