// `channels verify` as people run it: the `channels` executable in a child process (channelsCommand(), what
// bin/channels.js runs in a checkout), on files exported from sessions played in process with the pure
// app-channel core, the production WebAssembly runtime and real signers — a tic-tac-toe game between two and
// a document edited by four. Each log verifies from both encodings (exit 0); then, at positions drawn from a
// fixed seed, one byte of an event payload or of a signature is changed in the file itself, or two events
// are swapped (each change in each encoding), and the command exits 1 naming the seq of the change. src/cli/verify.test.ts runs many more
// positions in process; here each run pays the executable's start-up (through tsx, loading binaryen takes
// seconds), so the sample is small and runs two at a time.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { Bytes32 } from '../../src/core/types.js'
import { createRandom } from '../../src/core/seededRandom.js'
import type { Random } from '../../src/core/seededRandom.js'
import { hexToBytes } from '../../src/core/hex.js'
import { channelsCommand } from '../../src/node/launcher.js'
import type { ExportedLog } from '../../src/protocols/app/replay.js'
import type { ExportEncoding } from '../../src/protocols/app/exportFormat.js'
import { encodeExportedLog } from '../../src/protocols/app/exportFormat.js'
import { alice, bob, carol, dave } from '../../src/protocols/app/testApps.js'
import { DOCUMENT_FINISH, documentEdits, loadBuiltApp, playSession, ticTacToeGame } from '../support/appSessions.js'

const SEED = 20_260_721
const dir = mkdtempSync(path.join(tmpdir(), 'channels-verify-cli-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** `channels verify <args>` in a child process, from an unrelated working directory. */
function verify(...args: string[]): Promise<Run> {
  const [command, ...prefix] = channelsCommand()
  return new Promise((resolve, reject) => {
    const child = spawn(command!, [...prefix, 'verify', ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** Runs `jobs` at most two at a time (the machine has two cores), in order of their results. */
async function twoAtATime<T>(jobs: readonly (() => Promise<T>)[]): Promise<T[]> {
  const results = new Array<T>(jobs.length)
  let next = 0
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++
      results[i] = await jobs[i]!()
    }
  }
  await Promise.all([worker(), worker()])
  return results
}

interface Played {
  readonly name: string
  readonly appId: Bytes32
  readonly log: ExportedLog
}

const played: Played[] = []
const files = new Map<string, string>() // `${name}.${encoding}` → path
const encodings: readonly ExportEncoding[] = ['msgpack', 'json']

beforeAll(() => {
  const random = createRandom(SEED)
  const tictactoe = loadBuiltApp('tictactoe')
  const document = loadBuiltApp('document')
  played.push({ name: 'tictactoe', appId: tictactoe.appId, log: playSession(tictactoe, [alice, bob], ticTacToeGame(random)) })
  const edits = documentEdits(random, { participants: 4, count: 24 })
  played.push({ name: 'document', appId: document.appId, log: playSession(document, [alice, bob, carol, dave], [...edits, { author: 3, payload: DOCUMENT_FINISH }]) })
  for (const p of played) {
    for (const encoding of encodings) {
      const file = path.join(dir, `${p.name}.${encoding}`)
      writeFileSync(file, encodeExportedLog(p.log, encoding))
      files.set(`${p.name}.${encoding}`, file)
    }
  }
})

test('each log verifies from both encodings: exit 0 and the head, final', async () => {
  const cases = played.flatMap((p) => encodings.map((encoding) => ({ p, file: files.get(`${p.name}.${encoding}`)! })))
  const runs = await twoAtATime(cases.map(({ file }) => () => verify(file)))
  runs.forEach((run, i) => {
    const { log } = cases[i]!.p
    const n = log.events.length
    expect(run).toEqual({ code: 0, stdout: `ok: ${n} events, ${n} signed states, head ${log.events[n - 1]!.hash} (seq ${n}), final\n`, stderr: '' })
  })
}, 240_000)

// ---- one change in the file: the first divergence is at its seq ----

type Change = 'payload' | 'signature' | 'swap'

/** Flips one byte of `hex` digits in a JSON file's text at character `at` (the first of the byte's two digits). */
function flipHexDigits(text: string, at: number, xor: number): string {
  const byte = Number.parseInt(text.slice(at, at + 2), 16) ^ xor
  return `${text.slice(0, at)}${byte.toString(16).padStart(2, '0')}${text.slice(at + 2)}`
}

/** The file with one byte of event k's payload changed, found in the encoded bytes themselves. */
function changePayload(file: Buffer, encoding: ExportEncoding, log: ExportedLog, k: number, random: Random): Buffer {
  const event = log.events[k]!
  const at = random.int(event.payload.length)
  const xor = 1 + random.int(255)
  if (encoding === 'json') {
    const text = file.toString('utf8')
    const prefix = `"seq":"${event.seq}","kind":"${event.kind}","payload":"0x`
    const start = text.indexOf(prefix)
    expect(start).toBeGreaterThan(0)
    expect(text.indexOf(prefix, start + 1)).toBe(-1)
    return Buffer.from(flipHexDigits(text, start + prefix.length + 2 * at, xor), 'utf8')
  }
  // An event tuple is [seq, kind, payload, author, prevHash, hash]: the payload ends where `bin8(20) author,
  // bin8(32) prevHash` begins, a sequence no other part of the file holds.
  const after = Buffer.concat([Uint8Array.of(0xc4, 20), hexToBytes(event.author, 'author', 20), Uint8Array.of(0xc4, 32), hexToBytes(event.prevHash, 'prevHash', 32)])
  const end = file.indexOf(after)
  expect(end).toBeGreaterThan(0)
  expect(file.indexOf(after, end + 1)).toBe(-1)
  const start = end - event.payload.length
  expect(file.subarray(start, end)).toEqual(Buffer.from(event.payload))
  const changed = Buffer.from(file)
  changed[start + at]! ^= xor
  return changed
}

/** The file with one byte of one signature of turn k changed. */
function changeSignature(file: Buffer, encoding: ExportEncoding, log: ExportedLog, k: number, random: Random): Buffer {
  const signatures = log.signedStates[k]!.signatures
  const signature = signatures[random.int(signatures.length)]!
  const at = random.int(65)
  const xor = 1 + random.int(255)
  if (encoding === 'json') {
    const text = file.toString('utf8')
    const start = text.indexOf(signature.slice(2))
    expect(start).toBeGreaterThan(0)
    return Buffer.from(flipHexDigits(text, start + 2 * at, xor), 'utf8')
  }
  const start = file.indexOf(hexToBytes(signature, 'signature', 65))
  expect(start).toBeGreaterThan(0)
  const changed = Buffer.from(file)
  changed[start + at]! ^= xor
  return changed
}

/** Events k and another swapped (re-encoded: the envelope still names the app). Returns the first changed seq. */
function swapEvents(p: Played, encoding: ExportEncoding, k: number, random: Random): { bytes: Uint8Array; seq: number } {
  const n = p.log.events.length
  const other = (k + 1 + random.int(n - 1)) % n
  const events = p.log.events.map((e, j) => (j === k ? p.log.events[other]! : j === other ? p.log.events[k]! : e))
  return { bytes: encodeExportedLog({ ...p.log, events }, encoding, { appId: p.appId }), seq: Math.min(k, other) + 1 }
}

describe('one change in the file: exit 1 at the changed seq', () => {
  const random = createRandom(SEED + 1)
  const cases: { name: string; make: () => { file: string; seq: number } }[] = []
  // Every change in both encodings, each app in both: tic-tac-toe takes one encoding per change, the document the other.
  for (const [a, name] of ['tictactoe', 'document'].entries()) {
    for (const [c, change] of (['payload', 'signature', 'swap'] as const satisfies readonly Change[]).entries()) {
      const encoding = encodings[(a + c) % 2]!
      const draw = random.fork()
      cases.push({
        name: `${name}, ${encoding}, ${change}`,
        make: () => {
          const p = played.find((x) => x.name === name)!
          const k = draw.int(p.log.events.length)
          const file = path.join(dir, `${name}-${change}-${k}.${encoding}`)
          if (change === 'swap') {
            const swapped = swapEvents(p, encoding, k, draw)
            writeFileSync(file, swapped.bytes)
            return { file, seq: swapped.seq }
          }
          const original = readFileSync(files.get(`${name}.${encoding}`)!)
          writeFileSync(file, change === 'payload' ? changePayload(original, encoding, p.log, k, draw) : changeSignature(original, encoding, p.log, k, draw))
          return { file, seq: k + 1 }
        },
      })
    }
  }

  test(`${cases.length} changes at seeded positions (seed ${SEED + 1})`, async () => {
    const made = cases.map((c) => ({ ...c, ...c.make() }))
    const runs = await twoAtATime(made.map(({ file }) => () => verify(file)))
    const report = runs.map((run, i) => ({ case: made[i]!.name, code: run.code, seq: /^diverged at seq (\d+) /.exec(run.stdout)?.[1], stderr: run.stderr }))
    expect(report).toEqual(made.map((m) => ({ case: m.name, code: 1, seq: String(m.seq), stderr: '' })))
  }, 600_000)
})

test('usage errors exit 2, an unreadable file exits 1, each with one line', async () => {
  const [usage, missing] = await twoAtATime([() => verify(), () => verify(path.join(dir, 'missing.log'))])
  expect(usage).toMatchObject({ code: 2, stdout: '', stderr: 'channels: missing <file>\nusage: channels verify <file> [--module <path.wasm>]  (channels help verify)\n' })
  expect(missing).toMatchObject({ code: 1, stdout: '', stderr: `error: cannot read the log ${path.join(dir, 'missing.log')}: no such file\n` })
}, 60_000)
