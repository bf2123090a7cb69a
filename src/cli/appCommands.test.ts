// The `channels app …` and `channels export` commands: the command line (usage errors exit 2 before any
// node is needed), app names from the manifest, the export plan, and one game end to end against an RPC
// server in front of two in-process engines running the built tic-tac-toe module (no node process).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { Address, Bytes32, Hex } from '../core/types.js'
import type { Engine } from '../engine/engine.js'
import type { AppServers } from '../../test/support/appServers.js'
import { startAppServers } from '../../test/support/appServers.js'
import type { RpcServer } from '../rpc/server.js'
import type { CommandIo } from './commands.js'
import { runCommand } from './commands.js'
import type { Writer } from './format.js'
import { UsageError } from './format.js'
import { exportPlan, parseApp, parseHex, parseSeq, renderApp, renderEvents } from './appCommands.js'
import type { AppChannelInfo } from '../rpc/schemas.js'
import { APPS_BUILD_DIR } from './verify.js'
import { toAddress } from '../core/canonical.js'

const MANIFEST = JSON.parse(readFileSync(path.join(APPS_BUILD_DIR, 'manifest.json'), 'utf8')) as { apps: Record<string, { appId: string }> }
const TICTACTOE_ID = MANIFEST.apps.tictactoe!.appId.toLowerCase()
const ID = `0x${'ab'.repeat(32)}`
const BOB = toAddress('0x78d3f2DA5a6F892554B4eb2255608B2774DBE20e')

function collector(): Writer & { text: string } {
  const sink = { text: '', isTTY: false, write: (chunk: string) => (sink.text += chunk) }
  return sink
}

async function run(argv: string[], io: Partial<CommandIo> = {}): Promise<{ code: number; out: string; err: string }> {
  const out = collector()
  const err = collector()
  const code = await runCommand(argv, { stdout: out, stderr: err, env: {}, signal: new AbortController().signal, ...io })
  return { code, out: out.text, err: err.text }
}

describe('parsing', () => {
  test('an app by manifest name or by appId; an unknown name is a usage error naming the built apps', () => {
    expect(parseApp('tictactoe')).toBe(TICTACTOE_ID)
    expect(parseApp(ID.toUpperCase().replace('0X', '0x'))).toBe(ID)
    expect(() => parseApp('chess')).toThrow(/no app 'chess'.*tictactoe/)
    expect(() => parseApp('__proto__')).toThrow(UsageError)
  })

  test('hex bytes and seqs', () => {
    expect([...parseHex('0x0104', 'event')]).toEqual([1, 4])
    expect(parseHex('0x', 'event').length).toBe(0)
    for (const bad of ['0104', '0x1', '0xzz']) expect(() => parseHex(bad, 'event')).toThrow(UsageError)
    expect(parseSeq('12', 'seq')).toBe(12n)
    for (const bad of ['0', '-1', '1.5', '01', 'x', '99999999999999999999']) expect(() => parseSeq(bad, 'seq')).toThrow(UsageError)
  })

  test('show: the turn being signed, and who refused it with their code', () => {
    const info: AppChannelInfo = {
      channelId: ID as Bytes32, participants: [toAddress(`0x${'a1'.repeat(20)}`), toAddress(`0x${'b2'.repeat(20)}`)], appId: TICTACTOE_ID as Bytes32, asset: toAddress(`0x${'00'.repeat(20)}`),
      deposits: [5n, 5n], funding: 'direct', status: 'open', moveTimeout: 300, turnNum: 2n, head: { seq: 3n, hash: ID as Bytes32 },
      pending: { turnNum: 3n, author: toAddress(`0x${'a1'.repeat(20)}`), missing: [1], refusedBy: [] }, appState: Uint8Array.of(1), whoseTurn: 1, isFinal: false, outcome: [5n, 5n],
    }
    expect(renderApp(info)).toMatch(/signing\s+turn 3 by 0xa1a1.*, missing 1\n/i)
    expect(renderApp(info)).not.toMatch(/refused by/)
    const refused = renderApp({ ...info, pending: { ...info.pending!, refusedBy: [{ participant: 1, code: 'app_rejected' }] } })
    expect(refused).toMatch(/refused by\s+1 \(app_rejected\)/)
  })

  test('show and events: a peer\'s refusal code and an event kind print as visible escapes, not terminal commands', () => {
    const pwned = '\u001b]0;pwned\u0007\u001b[2J'
    const info: AppChannelInfo = {
      channelId: ID as Bytes32, participants: [toAddress(`0x${'a1'.repeat(20)}`), toAddress(`0x${'b2'.repeat(20)}`)], appId: TICTACTOE_ID as Bytes32, asset: toAddress(`0x${'00'.repeat(20)}`),
      deposits: [5n, 5n], funding: 'direct', status: 'open', moveTimeout: 300, turnNum: 2n, head: { seq: 3n, hash: ID as Bytes32 },
      pending: { turnNum: 3n, author: toAddress(`0x${'a1'.repeat(20)}`), missing: [1], refusedBy: [{ participant: 1, code: `app_rejected${pwned}\n` }] }, appState: Uint8Array.of(1), whoseTurn: 1, isFinal: false, outcome: [5n, 5n],
    }
    expect(renderApp(info)).toContain('refused by    1 (app_rejected\\u001b]0;pwned\\u0007\\u001b[2J\\u000a)\n')
    const events = renderEvents([{ seq: 2n, kind: `app.event${pwned}`, author: BOB, payload: Uint8Array.of(1, 4), prevHash: ID as Bytes32, hash: ID as Bytes32 }])
    expect(events).toContain('app.event\\u001b]0;pwned\\u0007\\u001b[2J')
    expect(events).not.toContain('\u001b')
  })

  test('export: json by default to stdout; msgpack needs --out; other formats are refused', () => {
    expect(exportPlan({})).toEqual({ format: 'json', out: undefined })
    expect(exportPlan({ format: 'msgpack', out: 'game.log' })).toEqual({ format: 'msgpack', out: 'game.log' })
    expect(() => exportPlan({ format: 'msgpack' })).toThrow(/--out/)
    expect(() => exportPlan({ format: 'xml' })).toThrow(/json or msgpack/)
  })

  test('usage errors exit 2 with a hint, before any node is needed', async () => {
    const cases: [string[], string][] = [
      [['app'], '\'app\' needs a subcommand: open, close, challenge, move, show, events, state-at, diff'],
      [['app', 'open', '--app', 'tictactoe', '--deposit', '1'], '--with is required'],
      [['app', 'open', '--with', BOB, '--deposit', '1'], '--app is required'],
      [['app', 'open', '--with', BOB, '--app', 'tictactoe'], '--deposit is required'],
      [['app', 'open', '--with', 'nobody', '--app', 'tictactoe', '--deposit', '1'], '--with must be a 0x-prefixed 20-byte address'],
      [['app', 'open', '--with', BOB, '--app', 'chess', '--deposit', '1'], '--app: no app \'chess\''],
      [['app', 'open', '--with', BOB, '--app', 'tictactoe', '--params', '0x2', '--deposit', '1'], '--params must be 0x-prefixed hex'],
      [['app', 'open', '--with', BOB, '--app', 'tictactoe', '--deposit', '1,2,3'], '--deposit gives 3 amounts for 2 participants'],
      [['app', 'open', '--with', BOB, '--app', 'tictactoe', '--deposit', '1', '--funding', 'bank'], '--funding is direct, ledger or none'],
      [['app', 'open', '--with', BOB, '--app', 'tictactoe', '--deposit', '1', '--move-timeout', '1.5'], '--move-timeout must be a whole number of seconds'],
      [['app', 'close'], 'missing <channelId>'],
      [['app', 'challenge', '0xabcdef12'], 'must be given in full'],
      [['app', 'move', ID], 'missing <event hex>'],
      [['app', 'move', ID, '0104'], 'event must be 0x-prefixed hex'],
      [['app', 'move', '0xabcdef12', '0x0104'], 'must be given in full'],
      [['app', 'show'], 'missing <channelId>'],
      [['app', 'events', ID, '--from', '5', '--to', '2'], '--from must be at most --to'],
      [['app', 'events', ID, '--from', 'x'], '--from must be a seq'],
      [['app', 'state-at', ID, '0'], 'seq must be a seq'],
      [['app', 'diff', ID, '3'], 'missing <toSeq>'],
      [['app', 'diff', ID, '4', '3'], 'fromSeq must be at most toSeq'],
      [['export', ID, '--format', 'msgpack'], '--format msgpack writes binary: give --out <file>'],
      [['export', ID, '--format', 'yaml'], '--format must be json or msgpack'],
    ]
    for (const [argv, message] of cases) {
      const { code, err } = await run(argv)
      expect(code, argv.join(' ')).toBe(2)
      expect(err, argv.join(' ')).toContain(message)
      expect(err, argv.join(' ')).toContain('usage: channels')
    }
  })

  test('help lists the app commands and shows their options', async () => {
    const all = await run(['help'])
    for (const name of ['app open', 'app move', 'app show', 'app events', 'app state-at', 'app diff', 'export']) expect(all.out).toContain(name)
    const open = await run(['help', 'app', 'open'])
    expect(open.out).toContain('usage: channels app open --with <address>[,<address>…] --app <name|appId>')
    expect((await run(['app', '--help'])).out).toContain('app state-at <channelId> <seq>')
  })
})

describe('against in-process engines', () => {
  const SECRET = 'cli-apps-secret-0123456789'
  const key = (i: number) => `0x${(0xd1 + i).toString(16).repeat(32)}` as Hex
  const dir = mkdtempSync(path.join(tmpdir(), 'channels-cli-apps-'))
  let setup: AppServers
  let engines: Engine[] = []
  let servers: RpcServer[] = []
  let addresses: Address[] = []

  beforeAll(async () => {
    setup = await startAppServers({ keys: [key(0), key(1)], secret: SECRET, seed: 3, maxDeposit: 10_000n })
    ;({ engines, servers, addresses } = setup)
  })
  afterAll(async () => {
    await setup.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const as = (i: number, argv: string[]) => run(['--url', servers[i]!.url, '--secret', SECRET, ...argv])
  const json = async (i: number, argv: string[]) => {
    const r = await as(i, ['--json', ...argv])
    expect(r.err).toBe('')
    expect(r.code).toBe(0)
    return JSON.parse(r.out)
  }

  test('open, move, show, events, state-at, diff, export — and the file verifies', async () => {
    const opened = await json(0, ['app', 'open', '--with', addresses[1]!, '--app', 'tictactoe', '--params', '0x02', '--deposit', '1000', '--funding', 'none'])
    const id = opened.channelId as Bytes32
    expect(opened).toMatchObject({ turnNum: '0', deposits: ['1000', '1000'], participants: addresses })
    for (const [n, cell] of [0, 3, 1, 4, 2].entries()) {
      const moved = await json(n % 2, ['app', 'move', id, `0x010${cell}`])
      expect(moved).toEqual({ seq: String(n + 2), turnNum: String(n + 1) })
      for (const engine of engines) await engine.waitForAppTurn(id, BigInt(n + 1))
    }
    const shown = await as(1, ['app', 'show', id])
    expect(shown.out).toContain('nobody (final)')
    expect(shown.out).toContain('outcome 2000')
    const events = await as(1, ['app', 'events', id, '--from', '2', '--to', '3'])
    expect(events.out).toContain(addresses[0]!)
    expect(events.out).toContain(addresses[1]!)
    expect(events.out.trim().split('\n')).toHaveLength(3)
    expect((await json(0, ['app', 'state-at', id, '1'])).seq).toBe('1')
    const diff = await json(0, ['app', 'diff', id, '2', '4'])
    expect(diff.events.map((e: { seq: string }) => e.seq)).toEqual(['3', '4'])
    expect((await as(0, ['app', 'diff', id, '2', '4'])).out).toMatch(/^from\n {2}seq/)

    for (const format of ['json', 'msgpack']) {
      const file = path.join(dir, `game.${format}`)
      const wrote = await as(0, ['export', id, '--format', format, '--out', file])
      expect(wrote.code).toBe(0)
      const verified = await run(['--json', 'verify', file])
      expect(JSON.parse(verified.out)).toMatchObject({ ok: true, events: 6, final: true, encoding: format })
    }
    const stdout = await as(1, ['export', id])
    expect(JSON.parse(stdout.out)).toMatchObject({ format: 'channels-app-log' })
    expect((await as(0, ['app', 'show', `0x${'12'.repeat(32)}`])).code).toBe(1)
  })

  test('open declined by the other node: exit 1 naming who refused and why, and the channel shows it', async () => {
    const declined = await as(0, ['app', 'open', '--with', addresses[1]!, '--app', 'tictactoe', '--params', '0x02', '--deposit', '20000', '--funding', 'none', '--timeout', '20'])
    expect(declined.code).toBe(1)
    expect(declined.err).toMatch(/^error: turn 0 of app channel (0x[0-9a-f]{64}) was refused by participant 1 \(app_declined\) \(proposal_refused\)\n/)
    const id = /app channel (0x[0-9a-f]{64})/.exec(declined.err)![1]!
    const shown = await as(0, ['app', 'show', id])
    expect(shown.out).toMatch(/status\s+failed/)
    expect(shown.out).toMatch(/refused by\s+1 \(app_declined\)/)
  })
})
