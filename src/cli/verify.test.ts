// `channels verify` in process (runCommand with captured output): logs of real tic-tac-toe and document sessions
// verify from both encodings; a changed payload byte, signature byte or event order is reported at its seq with
// exit 1; the module comes from the manifest or --module (refused when its hash is not the log's appId); a
// file or module that cannot be read, is not a log or is not a module is one readable line with exit 1; usage
// errors exit 2. test/integration/verify.test.ts runs the same through the `channels` executable.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import fc from 'fast-check'
import type { Bytes32, Hex } from '../core/types.js'
import { bytesToHex, trustedHexToBytes } from '../core/hex.js'
import { keccak256 } from '../core/keccak.js'
import { createRandom } from '../core/seededRandom.js'
import type { ExportedLog } from '../protocols/app/replay.js'
import { genesisEvent } from '../protocols/app/replay.js'
import type { ExportEncoding } from '../protocols/app/exportFormat.js'
import { encodeExportedLog } from '../protocols/app/exportFormat.js'
import { alice, bob, carol, dave, definitionOf, move, openSession, raceApp } from '../protocols/app/testApps.js'
import { exportLog } from '../protocols/app/appChannel.js'
import { DOCUMENT_FINISH, builtModulePath, documentEdits, loadBuiltApp, playSession, ticTacToeGame } from '../../test/support/appSessions.js'
import type { Writer } from './format.js'
import { runCommand } from './commands.js'
import { APPS_BUILD_DIR } from './verify.js'

const dir = mkdtempSync(path.join(tmpdir(), 'channels-verify-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function collector(): Writer & { text: string } {
  const sink = { text: '', write: (chunk: string) => (sink.text += chunk) }
  return sink
}

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = collector()
  const err = collector()
  const code = await runCommand(argv, { stdout: out, stderr: err, env: {}, signal: new AbortController().signal })
  return { code, out: out.text, err: err.text }
}

let fileCount = 0
/** Writes `log` to a new file; `appId` names the module when the genesis itself was changed. */
function write(log: ExportedLog, encoding: ExportEncoding, appId?: Bytes32): string {
  const file = path.join(dir, `log-${fileCount++}.${encoding}`)
  writeFileSync(file, encodeExportedLog(log, encoding, appId ? { appId } : {}))
  return file
}

let game: ExportedLog
let document: ExportedLog
beforeAll(() => {
  const random = createRandom(7)
  game = playSession(loadBuiltApp('tictactoe'), [alice, bob], ticTacToeGame(random))
  const edits = documentEdits(random, { participants: 4, count: 12 })
  document = playSession(loadBuiltApp('document'), [alice, bob, carol, dave], [...edits, { author: 2, payload: DOCUMENT_FINISH }])
})

describe('a log that verifies', () => {
  test.each(['msgpack', 'json'] as const)('tic-tac-toe and document logs in %s: ok, counts, head, final; exit 0', async (encoding) => {
    for (const log of [game, document]) {
      const result = await run('verify', write(log, encoding))
      const n = log.events.length
      expect(result).toEqual({ code: 0, out: `ok: ${n} events, ${n} signed states, head ${log.events[n - 1]!.hash} (seq ${n}), final\n`, err: '' })
    }
  })

  test('a game in progress is not final; --json gives the same facts', async () => {
    const short: ExportedLog = { events: game.events.slice(0, 3), signedStates: game.signedStates.slice(0, 3) }
    expect((await run('verify', write(short, 'msgpack'))).out).toMatch(/^ok: 3 events, 3 signed states, head 0x[0-9a-f]{64} \(seq 3\), not final\n$/)
    const json = await run('--json', 'verify', write(short, 'json'))
    expect(json.code).toBe(0)
    expect(JSON.parse(json.out)).toEqual({
      ok: true, appId: loadBuiltApp('tictactoe').appId, encoding: 'json', events: 3, signedStates: 3,
      head: { seq: '3', hash: short.events[2]!.hash }, turnNum: '2', final: false,
    })
  })

  test('--module with the very module the log names', async () => {
    expect((await run('verify', write(game, 'json'), '--module', builtModulePath('tictactoe'))).code).toBe(0)
  })
})

describe('a log that diverges: exit 1 at the first changed seq', () => {
  const flipHex = (hex: Hex, at: number, xor: number): Hex => {
    const bytes = trustedHexToBytes(hex)
    bytes[at % bytes.length]! ^= xor
    return bytesToHex(bytes)
  }

  test('one changed payload byte, signature byte, or two events swapped, anywhere (fixed seed)', async () => {
    const logs = [game, document]
    const appIds = [loadBuiltApp('tictactoe').appId, loadBuiltApp('document').appId]
    const change = fc.oneof(
      fc.record({ what: fc.constant('payload' as const), log: fc.nat(1), i: fc.nat(), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ what: fc.constant('signature' as const), log: fc.nat(1), i: fc.nat(), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ what: fc.constant('swap' as const), log: fc.nat(1), i: fc.nat(), at: fc.nat(), xor: fc.constant(0) }),
    )
    await fc.assert(
      fc.asyncProperty(change, fc.constantFrom<ExportEncoding>('msgpack', 'json'), async ({ what, log: which, i, at, xor }, encoding) => {
        const log = logs[which]!
        const n = log.events.length
        const k = i % n
        let changed: ExportedLog
        let seq: number
        if (what === 'payload') {
          const events = log.events.map((e, j) => (j === k ? { ...e, payload: trustedHexToBytes(flipHex(bytesToHex(e.payload), at, xor)) } : e))
          changed = { ...log, events }
          seq = k + 1
        } else if (what === 'signature') {
          const signedStates = log.signedStates.map((s, j) => (j === k ? { ...s, signatures: s.signatures.map((sig, m) => (m === at % s.signatures.length ? flipHex(sig!, at, xor) : sig)) } : s))
          changed = { ...log, signedStates }
          seq = k + 1
        } else {
          const other = (k + 1 + (at % (n - 1))) % n
          const events = log.events.map((e, j) => (j === k ? log.events[other]! : j === other ? log.events[k]! : e))
          changed = { ...log, events }
          seq = Math.min(k, other) + 1
        }
        const result = await run('verify', write(changed, encoding, appIds[which]))
        expect(result.code).toBe(1)
        expect(result.out).toMatch(new RegExp(`^diverged at seq ${seq} \\(`))
      }),
      { seed: 20_260_721, numRuns: 40 },
    )
  })

  test('the report says what diverged and how far the log verifies', async () => {
    const signedStates = game.signedStates.map((s, j) => (j === 2 ? { ...s, signatures: [s.signatures[1]!, s.signatures[0]!] } : s))
    const result = await run('verify', write({ ...game, signedStates }, 'msgpack'))
    expect(result).toEqual({
      code: 1,
      out: `diverged at seq 3 (signature): signatures[0] is not participant 0's [bad_signature]\n  events 1..2 and their signed states verify; the log has ${game.events.length} events\n`,
      err: '',
    })
    const json = await run('--json', 'verify', write({ ...game, signedStates }, 'json'))
    expect(JSON.parse(json.out)).toMatchObject({ ok: false, divergence: { seq: '3', kind: 'signature', code: 'bad_signature' } })
  })

  test('an envelope naming another app than its genesis: that app\'s module replays nothing, the genesis diverges', async () => {
    const file = path.join(dir, 'relabelled.json')
    const text = Buffer.from(encodeExportedLog(game, 'json')).toString('utf8')
    writeFileSync(file, text.replace(/"appId":"0x[0-9a-f]{64}"/, `"appId":"${loadBuiltApp('document').appId}"`))
    const result = await run('verify', file)
    expect(result.code).toBe(1)
    expect(result.out).toMatch(/^diverged at seq 1 \(genesis\): the runtime runs another module than the channel committed to \[app_mismatch\]\n/)
  })
})

describe('files and modules that cannot be used: exit 1, one readable line', () => {
  test.each<{ name: string; args: () => string[]; err: RegExp }>([
    { name: 'a missing file', args: () => ['verify', path.join(dir, 'nope.log')], err: /^error: cannot read the log .*nope\.log: no such file\n$/ },
    { name: 'a directory', args: () => ['verify', dir], err: /^error: cannot read the log .*: not a regular file\n$/ },
    {
      name: 'a file that is not a log',
      args: () => {
        writeFileSync(path.join(dir, 'notes.txt'), '{"format": "something else"}')
        return ['verify', path.join(dir, 'notes.txt')]
      },
      err: /^error: .*notes\.txt is not an exported app-channel log\n {2}not a channels-app-log file\n$/,
    },
    {
      name: 'a log of an app the manifest does not know',
      args: () => {
        const s = openSession(raceApp, [alice, bob], definitionOf(raceApp, [alice, bob]))
        move(s, 0, Uint8Array.of(1))
        return ['verify', write(exportLog(s.channels[0]!), 'msgpack')]
      },
      err: /^error: no app with id 0x[0-9a-f]{64} in .*manifest\.json: pass its module with --module <path\.wasm>\n$/,
    },
    { name: 'a --module of another app', args: () => ['verify', write(game, 'msgpack'), '--module', builtModulePath('document')], err: /^error: refused .*document\.wasm: it is app 0x673bbf26.*, the log is of app 0x96637105/ },
    { name: 'a --module that does not exist', args: () => ['verify', write(game, 'msgpack'), '--module', path.join(dir, 'x.wasm')], err: /^error: cannot read the module .*x\.wasm: no such file\n$/ },
    {
      name: 'a --module whose hash is the log\'s appId but is no module',
      args: () => {
        const bytes = Buffer.from('not wasm at all')
        const moduleFile = path.join(dir, 'fake.wasm')
        writeFileSync(moduleFile, bytes)
        const log: ExportedLog = { events: [genesisEvent({ ...definitionOf(raceApp, [alice, bob]), appId: keccak256(bytes) })], signedStates: [] }
        return ['verify', write(log, 'json'), '--module', moduleFile]
      },
      err: /^error: .*\(app_module\)\n/,
    },
  ])('$name', async ({ args, err }) => {
    const result = await run(...args())
    expect(result.code).toBe(1)
    expect(result.out).toBe('')
    expect(result.err).toMatch(err)
  })
})

describe('usage', () => {
  test.each([
    { name: 'no file', args: ['verify'], err: 'channels: missing <file>\n' },
    { name: 'two files', args: ['verify', 'a', 'b'], err: 'channels: unexpected argument \'b\'\n' },
    { name: 'an empty --module', args: ['verify', 'a', '--module', ''], err: 'channels: --module needs a path to a .wasm file\n' },
    { name: 'an unknown option', args: ['verify', 'a', '--modul', 'x'], err: 'channels: Unknown option \'--modul\'\n' },
  ])('$name: exit 2 with the usage line', async ({ args, err }) => {
    const result = await run(...args)
    expect(result.code).toBe(2)
    expect(result.err).toBe(`${err}usage: channels verify <file> [--module <path.wasm>]  (channels help verify)\n`)
  })

  test('help lists verify, and `help verify` shows --module and an example', async () => {
    expect((await run('help')).out).toMatch(/\n {2}verify <file> +Offline: checks an exported app-channel log/)
    const help = await run('help', 'verify')
    expect(help.out).toContain('usage: channels verify <file> [--module <path.wasm>]')
    expect(help.out).toContain('channels verify game.channels-log')
  })

  test('verify looks for the manifest beside the built sample apps', () => {
    expect(path.resolve(APPS_BUILD_DIR)).toBe(path.dirname(builtModulePath('tictactoe')))
  })
})
