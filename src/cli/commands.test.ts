// The `channels` CLI without a node: amounts (exact, and refused when not whole wei), ids, tables, field
// lists, notification lines, progress output, error lines, and the command line itself — usage errors exit
// 2 with a one-line hint, a missing node or secret exits 1 with a readable line. Output is captured by
// injecting writers into runCommand; the signal is injected so no SIGINT handler is installed.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { ObjectiveFailedError, RpcError } from '../client/client.js'
import type { Notification } from '../client/client.js'
import type { LedgerChannelInfo, PaymentChannelInfo } from '../rpc/schemas.js'
import { freePort } from '../node/launcher.js'
import type { CommandIo } from './commands.js'
import { runCommand } from './commands.js'
import type { Writer } from './format.js'
import {
  CliFailure,
  Progress,
  UsageError,
  describeError,
  formatAmount,
  formatNotification,
  parseAmount,
  parseChannelId,
  renderFields,
  renderLedger,
  renderLedgerTable,
  renderPaymentTable,
  renderTable,
  shortObjectiveId,
  toJson,
} from './format.js'
import { toAddress, toBytes32 } from '../core/canonical.js'

const ETH = 10n ** 18n
const ALICE = toAddress('0x1d75aa0A101aB712C6ae35C806365b10B261201F')
const HUB = toAddress('0xd7C39cbFAe1fC7d3FdD7361F50fEC112C6029C20')
const BOB = toAddress('0x78d3f2DA5a6F892554B4eb2255608B2774DBE20e')
const ZERO = toAddress('0x0000000000000000000000000000000000000000')
const LEDGER_ID = `0x9ebd240e${'1'.repeat(56)}` as const
const PAYMENT_ID = toBytes32(`0x2281b1b6${'2'.repeat(56)}`)

function collector(isTTY = false): Writer & { text: string } {
  const sink = { text: '', isTTY, write: (chunk: string) => (sink.text += chunk) }
  return sink
}

async function run(argv: string[], io: Partial<CommandIo> = {}): Promise<{ code: number; out: string; err: string }> {
  const out = collector()
  const err = collector()
  const code = await runCommand(argv, { stdout: out, stderr: err, env: {}, signal: new AbortController().signal, ...io })
  return { code, out: out.text, err: err.text }
}

const ledger: LedgerChannelInfo = {
  channelId: toBytes32(LEDGER_ID),
  status: 'open',
  participants: [ALICE, HUB],
  leader: ALICE,
  follower: HUB,
  myRole: 'leader',
  counterparty: HUB,
  asset: ZERO,
  nonce: 7n,
  challengeDuration: 86_400,
  turnNum: 3n,
  myBalance: ETH / 100n - 1_000_000n,
  theirBalance: ETH / 100n,
  guarantees: [{ target: PAYMENT_ID, amount: 1_000_000n, left: toBytes32(`0x${'0'.repeat(24)}${ALICE.slice(2).toLowerCase()}`), right: toBytes32(`0x${'0'.repeat(24)}${HUB.slice(2).toLowerCase()}`) }],
  holdings: 2n * (ETH / 100n),
}

const payment: PaymentChannelInfo = {
  channelId: PAYMENT_ID,
  status: 'open',
  role: 'payee',
  payer: ALICE,
  payee: BOB,
  intermediaries: [HUB],
  asset: ZERO,
  startingBalance: 1_000_000n,
  paid: 600n,
  remaining: 999_400n,
  voucher: null,
}

describe('amounts', () => {
  test.each([
    ['1000', 1000n],
    ['0', 0n],
    ['1_000_000', 1_000_000n],
    ['1.5eth', 1_500_000_000_000_000_000n],
    ['1.5ETH', 1_500_000_000_000_000_000n],
    ['2ether', 2n * ETH],
    ['200gwei', 200_000_000_000n],
    ['.5gwei', 500_000_000n],
    ['7wei', 7n],
    ['1.0wei', 1n],
    ['0.000000000000000001eth', 1n],
    ['1.000000001gwei', 1_000_000_001n],
    [(2n ** 256n - 1n).toString(), 2n ** 256n - 1n],
  ])('%s is %s wei', (text, wei) => {
    expect(parseAmount(text)).toBe(wei)
  })

  test.each([
    ['a fraction of a wei', '1.5wei', 'not a whole number of wei'],
    ['a fraction of a wei in gwei', '0.0000000001gwei', 'not a whole number of wei'],
    ['a fraction of a wei in eth', '0.0000000000000000015eth', 'not a whole number of wei'],
    ['a negative amount', '-1', 'must be wei'],
    ['an exponent', '1e18', 'must be wei'],
    ['an unknown unit', '3btc', "unknown unit 'btc'"],
    ['a unit alone', 'eth', 'must be wei'],
    ['nothing', '', 'must be wei'],
    ['a comma', '1,5eth', 'must be wei'],
    ['hex', '0x10', 'must be wei'],
    ['above uint256', (2n ** 256n).toString(), 'above 2^256 - 1'],
    ['a huge string', '9'.repeat(500), 'must be wei'],
  ])('refuses %s (%s)', (_name, text, message) => {
    expect(() => parseAmount(text, '--deposit')).toThrow(UsageError)
    expect(() => parseAmount(text, '--deposit')).toThrow(message)
  })

  test('zero is refused where an amount must be positive', () => {
    expect(() => parseAmount('0eth', 'amount', { positive: true })).toThrow('amount must be positive')
  })

  test('wei as digits; large ETH amounts also in ETH, rounded and marked beyond six decimals; tokens in units only', () => {
    expect(formatAmount(999n)).toBe('999')
    expect(formatAmount(10n ** 15n - 1n)).toBe('999999999999999')
    expect(formatAmount(1_500_000_000_000_000_000n)).toBe('1500000000000000000 (1.5 ETH)')
    expect(formatAmount(ETH / 100n)).toBe('10000000000000000 (0.01 ETH)')
    expect(formatAmount(9_999_999_999_999_343n)).toBe('9999999999999343 (≈0.01 ETH)')
    expect(formatAmount(1_234_567_890_000_000_000n)).toBe('1234567890000000000 (≈1.234568 ETH)')
    expect(formatAmount(5n * ETH, HUB)).toBe('5000000000000000000')
  })
})

describe('ids', () => {
  test('a full id, a prefix (with or without the table\'s ellipsis), or a usage error', () => {
    expect(parseChannelId(LEDGER_ID.toUpperCase().replace('0X', '0x'))).toEqual({ id: LEDGER_ID, prefix: false })
    expect(parseChannelId('0x9ebd240e…')).toEqual({ id: '0x9ebd240e', prefix: true })
    expect(() => parseChannelId('0x9eb')).toThrow('unique prefix of at least 4')
    expect(() => parseChannelId('9ebd240e')).toThrow(UsageError)
    expect(() => parseChannelId(`${LEDGER_ID}00`)).toThrow(UsageError)
  })

  test('objective ids show their channel ids short', () => {
    expect(shortObjectiveId(`ledgerUpdate:${LEDGER_ID}:add:${PAYMENT_ID}`)).toBe('ledgerUpdate:0x9ebd240e…:add:0x2281b1b6…')
  })
})

describe('tables and fields', () => {
  test('columns are padded to their widest cell; right-aligned columns align on the right; no trailing spaces', () => {
    const text = renderTable([{ header: 'NAME' }, { header: 'AMOUNT', align: 'right' }, { header: 'STATUS' }], [
      ['a', '5', 'open'],
      ['longer', '12345678', ''],
    ])
    expect(text).toBe(['NAME      AMOUNT  STATUS', 'a              5  open', 'longer  12345678', ''].join('\n'))
  })

  test('field values line up, and a multi-line value continues under itself', () => {
    expect(renderFields([['id', '1'], ['multiaddrs', 'a\nb']])).toBe('id          1\nmultiaddrs  a\n            b\n')
  })

  test('the ledger table: short id, counterparty, both balances with ETH, guarantee count, status', () => {
    expect(renderLedgerTable([ledger]).split('\n')).toEqual([
      'ID           COUNTERPARTY                                                  MY BALANCE                 THEIR BALANCE  GUARANTEES  STATUS',
      `0x9ebd240e…  ${HUB}  9999999999000000 (≈0.01 ETH)  10000000000000000 (0.01 ETH)           1  open`,
      '',
    ])
  })

  test('a ledger in detail lists its guarantees with the destinations as addresses', () => {
    const text = renderLedger(ledger)
    expect(text).toContain(`counterparty   ${HUB}\n`)
    expect(text).toContain('holdings       20000000000000000 (0.02 ETH)\n')
    expect(text).toContain(`${PAYMENT_ID}  1000000  0x1d75…201F  0xd7C3…9C20\n`)
  })

  test('the payment table names the counterparty by my role; an intermediary sees both ends', () => {
    const lines = renderPaymentTable([payment, { ...payment, role: 'intermediary' }]).split('\n')
    expect(lines[0]).toMatch(/^ID\s+ROLE\s+COUNTERPARTY\s+PAID\s+REMAINING\s+STATUS$/)
    expect(lines[1]).toMatch(new RegExp(`^0x2281b1b6…  payee\\s+${ALICE}\\s+600\\s+999400  open$`))
    expect(lines[2]).toContain('0x1d75…201F → 0x78d3…E20e')
  })
})

describe('notifications', () => {
  const at = new Date(2026, 0, 2, 9, 5, 7, 42) // local time: the line shows local time
  const line = (n: Omit<Notification, 'subscription'>) => formatNotification({ ...n, subscription: 's' } as Notification, at)

  test('one line each: time, topic, the facts', () => {
    expect(line({ topic: 'payment_channel_updated', result: payment })).toBe('09:05:07.042  payment_channel_updated  0x2281b1b6…  open  payee  paid 600  remaining 999400')
    expect(line({ topic: 'ledger_channel_updated', result: ledger })).toBe(
      '09:05:07.042  ledger_channel_updated   0x9ebd240e…  open  with 0xd7C3…9C20  mine 9999999999000000  theirs 10000000000000000  guarantees 1',
    )
    const objective = { id: `virtualfund:${PAYMENT_ID}`, kind: 'virtualfund', status: 'failed' as const, waitingFor: null, failure: { code: 'no_such_ledger', summary: 'no ledger with the hub' }, channelId: PAYMENT_ID }
    expect(line({ topic: 'objective_failed', result: objective })).toBe('09:05:07.042  objective_failed         virtualfund:0x2281b1b6…  failed  no_such_ledger: no ledger with the hub')
  })

  test('JSON output carries bigints as decimal strings', () => {
    expect(toJson({ amount: 2n ** 200n, n: 1 })).toBe(`{"amount":"${2n ** 200n}","n":1}`)
  })
})

describe('progress', () => {
  test('in a pipe: the label, then a plain line per status change, no control codes', () => {
    const out = collector(false)
    const progress = new Progress(out, 'waiting for directfund:0x9ebd240e… to complete')
    progress.tick()
    progress.update('prefund')
    progress.update('prefund')
    progress.update('funding')
    progress.finish('done')
    expect(out.text).toBe('waiting for directfund:0x9ebd240e… to complete\n  prefund\n  funding\ndone\n')
  })

  test('on a terminal: one line redrawn in place with a turning spinner, cleared at the end', () => {
    const out = collector(true)
    const progress = new Progress(out, 'waiting')
    progress.update('funding')
    progress.tick()
    progress.finish('done')
    expect(out.text).toBe('\r\x1b[K⠋ waiting: funding\r\x1b[K⠙ waiting: funding\r\x1b[Kdone\n')
  })
})

describe('errors', () => {
  test('a node refusal: message and JSON-RPC code, then the node\'s code, summary and details', () => {
    const error = new RpcError(-32002, 'no such ledger channel', { code: 'no_such_ledger', summary: 'no such ledger channel', details: { channelId: LEDGER_ID } })
    expect(describeError(error)).toEqual(['error: no such ledger channel (-32002)', '  no_such_ledger: no such ledger channel', `  details: {"channelId":"${LEDGER_ID}"}`])
  })

  test('bad params list the fields at fault', () => {
    const error = new RpcError(-32602, 'invalid params: amount: must be positive', { issues: [{ path: 'amount', message: 'must be positive' }] })
    expect(describeError(error)).toEqual(['error: invalid params: amount: must be positive (-32602)', '  amount: must be positive'])
  })

  test('failed objectives, CLI failures and anything else: one line, never a stack', () => {
    const failed = new ObjectiveFailedError({ id: 'directfund:0x1', kind: 'directfund', status: 'failed', waitingFor: null, failure: { code: 'chain', summary: 'deposit reverted' }, channelId: toBytes32(LEDGER_ID) })
    expect(describeError(failed)).toEqual(['error: objective directfund:0x1 failed: deposit reverted'])
    expect(describeError(new CliFailure('no node running at http://x'))).toEqual(['error: no node running at http://x'])
    expect(describeError(new TypeError('boom'))).toEqual(['error: boom'])
    expect(describeError('odd')).toEqual(['error: odd'])
  })
})

describe('the command line', () => {
  const dirs: string[] = []
  const tempDir = () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'channels-cli-'))
    dirs.push(dir)
    return dir
  }
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  })

  test.each([
    ['no command', [], 'no command given', 'usage: channels <command>'],
    ['an unknown command', ['frobnicate'], "unknown command 'frobnicate'", 'channels help lists the commands'],
    ['a group without its subcommand', ['ledger'], "'ledger' needs a subcommand: open, close, challenge, list, show", 'usage: channels ledger open|close|challenge|list|show'],
    ['an unknown subcommand', ['payment', 'opne'], "unknown command 'payment opne'", 'usage: channels payment open|close|challenge|show|list'],
    ['a missing required option', ['ledger', 'open', '--deposit', '1eth'], '--with is required', 'usage: channels ledger open --with <address>'],
    ['an option of another command', ['ledger', 'list', '--to', BOB], "Unknown option '--to'", 'usage: channels ledger list'],
    ['an option without its value', ['ledger', 'open', '--with'], "Option '--with <value>' argument missing", 'channels help ledger open'],
    ['a bad address', ['payment', 'open', '--to', '0x1234', '--amount', '1'], '--to must be a 0x-prefixed 20-byte address', 'usage: channels payment open'],
    ['a bad checksum', ['ledger', 'open', '--with', HUB.replace('d7C3', 'd7c3'), '--deposit', '1'], 'invalid EIP-55 checksum', 'usage: channels ledger open'],
    ['a fraction of a wei', ['ledger', 'open', '--with', HUB, '--deposit', '0.5wei'], '--deposit 0.5wei is not a whole number of wei', 'usage: channels ledger open'],
    ['a zero payment', ['pay', PAYMENT_ID, '0'], 'amount must be positive', 'usage: channels pay <channelId> <amount>'],
    ['a bad amount', ['pay', PAYMENT_ID, 'lots'], "amount must be wei (e.g. 1000) or a decimal with a unit (1.5eth, 200gwei), got 'lots'", 'channels help pay'],
    ['a missing argument', ['pay', PAYMENT_ID], 'missing <amount>', 'usage: channels pay'],
    ['an extra argument', ['address', 'now'], "unexpected argument 'now'", 'usage: channels address'],
    ['a bad channel id', ['ledger', 'show', 'abc'], 'ledger channel id must be 0x and 64 hex digits', 'usage: channels ledger show <id>'],
    ['a bad timeout', ['ledger', 'close', LEDGER_ID, '--timeout', 'soon'], '--timeout must be a whole number of seconds', 'usage: channels ledger close'],
    ['an unknown topic', ['watch', '--topics', 'payment_channel_updated,gossip'], "unknown topic 'gossip'", 'usage: channels watch'],
    ['a voucher that is not JSON', ['voucher', 'redeem', '{nope'], 'the voucher is not JSON', 'usage: channels voucher redeem'],
    ['a voucher of the wrong shape', ['voucher', 'redeem', JSON.stringify({ channelId: PAYMENT_ID, amount: 5, signature: '0x12' })], 'the voucher is not valid: amount:', 'usage: channels voucher redeem'],
    ['`node` after a global option', ['--data-dir', 'x', 'node'], '`node` comes first', 'usage: channels <command>'],
    ['--url without a secret', ['--url', 'http://127.0.0.1:4001', 'address'], 'no API secret for http://127.0.0.1:4001', 'usage: channels address'],
    ['--url that is not http', ['--url', 'ftp://x', '--secret', 'ab', 'address'], '--url must be an http:// URL', 'usage: channels address'],
  ])('%s: exit 2, one line saying what is wrong and a usage hint', async (_name, argv, message, hint) => {
    const { code, out, err } = await run(argv)
    expect(code).toBe(2)
    expect(out).toBe('')
    const lines = err.trimEnd().split('\n')
    expect(lines).toHaveLength(2)
    expect(lines[0]).toContain(message)
    expect(lines[1]).toContain(hint)
  })

  test('a voucher read from stdin is checked before any node is asked', async () => {
    const { code, err } = await run(['voucher', 'redeem', '-'], { stdin: [Buffer.from('{"channelId":"0x12"}')] })
    expect(code).toBe(2)
    expect(err).toContain('the voucher is not valid: channelId: must be 0x-prefixed 32-byte hex')
  })

  test.each([
    [['--help'], 'commands:'],
    [['help'], 'ledger open'],
    [['-h', 'pay'], 'usage: channels pay <channelId> <amount>'],
    [['help', 'ledger', 'open'], 'usage: channels ledger open --with <address> --deposit <amount> [--their-deposit <amount>] [--asset <address>] [--no-wait] [--timeout <seconds>]'],
    [['ledger', 'open', '--help'], 'example:\n  channels --data-dir data/alice ledger open --with'],
    [['payment', '--help'], 'payment open'],
    [['watch', '--help'], '--topics <topic>[,<topic>…]'],
  ])('%j prints help and exits 0', async (argv, expected) => {
    const { code, out, err } = await run(argv)
    expect(code).toBe(0)
    expect(err).toBe('')
    expect(out).toContain(expected)
  })

  test('every command has help with its usage line and an example', async () => {
    for (const name of ['address', 'info', 'rejections', 'ledger open', 'ledger close', 'ledger list', 'ledger show', 'payment open', 'payment close', 'payment show', 'payment list', 'pay', 'voucher create', 'voucher redeem', 'watch']) {
      const { code, out } = await run(['help', ...name.split(' ')])
      expect(code).toBe(0)
      expect(out).toContain(`usage: channels ${name}`)
      expect(out).toMatch(new RegExp(`example:\\n  channels .*${name}`))
    }
  })

  test('a data dir that does not exist: exit 1, readable', async () => {
    const dir = path.join(tempDir(), 'missing')
    const { code, err } = await run(['--data-dir', dir, 'address'])
    expect(code).toBe(1)
    expect(err).toBe(`error: no data dir ${dir}: pass --data-dir <dir> of a node, or --url and --secret\n`)
  })

  test('a data dir without a running node points at the nodes inside it (npm start keeps them in data/<name>)', async () => {
    const dir = tempDir()
    mkdirSync(path.join(dir, 'alice'))
    writeFileSync(path.join(dir, 'alice', 'node.json'), '{}')
    const { code, err } = await run(['--data-dir', dir, 'ledger', 'list'])
    expect(code).toBe(1)
    expect(err).toContain(`error: no node running with data dir ${dir}: it has no node.json; running nodes keep their data in ${path.join(dir, 'alice')}`)
  })

  test('a node.json without the secret beside it: exit 1, names the file and the alternatives', async () => {
    const dir = tempDir()
    writeFileSync(path.join(dir, 'node.json'), JSON.stringify({ rpcUrl: 'http://127.0.0.1:9' }))
    const { code, err } = await run(['--data-dir', dir, 'address'])
    expect(code).toBe(1)
    expect(err).toBe(`error: cannot read the API secret ${path.join(dir, 'rpc.secret')}: it does not exist (pass --secret or set CHANNELS_RPC_SECRET)\n`)
  })

  test('nothing listening at the URL: exit 1, "no node running at <url>" and how to start one', async () => {
    const url = `http://127.0.0.1:${await freePort()}`
    const dir = tempDir()
    writeFileSync(path.join(dir, 'node.json'), JSON.stringify({ rpcUrl: url }))
    writeFileSync(path.join(dir, 'rpc.secret'), `${'ab'.repeat(32)}\n`)
    for (const argv of [['--data-dir', dir, 'ledger', 'list'], ['--url', url, 'address']]) {
      const { code, out, err } = await run(argv, { env: { CHANNELS_RPC_SECRET: 'ab'.repeat(32) } })
      expect(code).toBe(1)
      expect(out).toBe('')
      expect(err).toBe(`error: no node running at ${url} (start one with \`npm start\` or \`channels node\`)\n`)
    }
  })
})

// Text from a peer or the chain reaches the CLI as refusal codes, failure summaries, error messages and the
// node's free-text fields; printed raw, an escape sequence in it would drive the operator's terminal
// (retitle, clear, overprint). It must show as visible escapes (sanitize.ts).
describe('outside text is printed without terminal escapes', () => {
  const PWNED = '\u001b]0;pwned\u0007\u001b[2J'
  const SHOWN = '\\u001b]0;pwned\\u0007\\u001b[2J'
  // eslint-disable-next-line no-control-regex -- the characters that must not reach the terminal
  const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/
  const failedObjective = { id: `virtualfund:${PAYMENT_ID}`, kind: 'virtualfund', status: 'failed' as const, waitingFor: null, failure: { code: `peer_refused${PWNED}`, summary: `hub says: ${PWNED}\nerror: fake line` }, channelId: PAYMENT_ID }

  test('a failure summary in a notification line: visible escapes, one line', () => {
    const line = formatNotification({ topic: 'objective_failed', subscription: 's', result: failedObjective }, new Date(2026, 0, 2, 9, 5, 7, 42))
    expect(line).toBe(`09:05:07.042  objective_failed         virtualfund:0x2281b1b6…  failed  peer_refused${SHOWN}: hub says: ${SHOWN}\\u000aerror: fake line`)
    expect(line).not.toMatch(RAW_CONTROL)
  })

  test('a failed objective, a node refusal and its details, bad-param issues: visible escapes', () => {
    expect(describeError(new ObjectiveFailedError(failedObjective))).toEqual([`error: objective virtualfund:${PAYMENT_ID} failed: hub says: ${SHOWN}\\u000aerror: fake line`])
    const refusal = new RpcError(-32003, `refused ${PWNED}`, { code: `x${PWNED}`, summary: PWNED, details: { reason: `\u009b2J\u202e${PWNED}` }, issues: [{ path: `a${PWNED}`, message: `b${PWNED}` }] })
    expect(describeError(refusal)).toEqual([
      `error: refused ${SHOWN} (-32003)`,
      `  x${SHOWN}: ${SHOWN}`,
      `  details: {"reason":"\\u009b2J\\u202e${SHOWN}"}`,
      `  a${SHOWN}: b${SHOWN}`,
    ])
    expect(describeError(new CliFailure(`closing failed: ${PWNED}`))).toEqual([`error: closing failed: ${SHOWN}`])
  })

  test('a waitingFor from the node on the progress line: the spinner\'s own codes stay, the node\'s are escaped', () => {
    const out = collector(true)
    const progress = new Progress(out, `waiting for ${shortObjectiveId(`directfund:${LEDGER_ID}${PWNED}`)}`)
    progress.update(`funding${PWNED}`)
    progress.finish()
    expect(out.text).toBe(`\r\x1b[K⠋ waiting for directfund:0x9ebd240e…${SHOWN}: funding${SHOWN}\r\x1b[K`)
  })

  test('JSON output escapes what JSON.stringify leaves raw (C1 controls, bidi) and keeps the value', () => {
    const value = { summary: `${PWNED}\u009b\u202e` }
    const json = toJson(value)
    expect(json).toBe(`{"summary":"${SHOWN}\\u009b\\u202e"}`)
    expect(JSON.parse(json)).toEqual(value)
  })

  test('end to end against a node that answers with escape sequences: what reaches stdout and stderr is visible text', async () => {
    const hostile = `${PWNED}\u009b2J\u202e`
    const server = createServer((request, response) => {
      let body = ''
      request.on('data', (chunk: Buffer) => (body += chunk.toString()))
      request.on('end', () => {
        const { id, method } = JSON.parse(body) as { id: number; method: string }
        const answer =
          method === 'version' ? { result: '0.1.0' }
          : method === 'get_node_info' ? { result: { address: ALICE, version: `0.1.0${hostile}`, chainId: 31337, peerId: `12D3${hostile}`, multiaddrs: [`/ip4/1.2.3.4/tcp/1${hostile}`, '/ip4/5.6.7.8/tcp/2'] } }
          : method === 'get_rejections' ? { result: { counts: { peer_not_allowed: 2, [`junk${hostile}`]: 1 }, recent: [{ code: 'peer_not_allowed', summary: `a stranger ${hostile}`, from: ALICE }, { code: 'codec', summary: 'bad bytes', from: null }] } }
          : { error: { code: -32003, message: `refused: ${hostile}`, data: { code: `peer${hostile}`, summary: `the hub says ${hostile}\rok` } } }
        response.setHeader('content-type', 'application/json')
        response.end(JSON.stringify({ jsonrpc: '2.0', id, ...answer }))
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      const shown = `${SHOWN}\\u009b2J\\u202e`
      const refused = await run(['--url', url, '--secret', 'ab', 'address'])
      expect(refused.code).toBe(1)
      expect(refused.err).toBe(`error: refused: ${shown} (-32003)\n  peer${shown}: the hub says ${shown}\\u000dok\n`)
      const info = await run(['--url', url, '--secret', 'ab', 'info'])
      expect(info.code).toBe(0)
      expect(info.out).toContain(`version     0.1.0${shown}\n`)
      expect(info.out).toContain(`peer id     12D3${shown}\n`)
      expect(info.out).toContain(`multiaddrs  /ip4/1.2.3.4/tcp/1${shown}\n            /ip4/5.6.7.8/tcp/2\n`)
      const json = await run(['--url', url, '--secret', 'ab', '--json', 'info'])
      expect((JSON.parse(json.out) as { version: string }).version).toBe(`0.1.0${hostile}`)
      const rejections = await run(['--url', url, '--secret', 'ab', 'rejections'])
      expect(rejections.code).toBe(0)
      expect(rejections.out).toBe(
        `code${' '.repeat(`junk${shown}`.length - 4)}  count\njunk${shown}      1\npeer_not_allowed${' '.repeat(`junk${shown}`.length - 16)}      2\n\nlatest:\n  peer_not_allowed from ${ALICE}: a stranger ${shown}\n  codec: bad bytes\n`,
      )
      for (const text of [refused.err, info.out, json.out, rejections.out]) expect(text).not.toMatch(RAW_CONTROL)
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
