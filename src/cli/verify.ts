// `channels verify <file> [--module <path.wasm>]` (issue 7): checks an exported app-channel log offline, with
// no node — the hash chain, the genesis, every event replayed through the app module to reproduce every
// signed state exactly, and every participant's signature on each (verifyLog, src/protocols/app/replay.ts).
// The file is MessagePack or JSON (src/protocols/app/exportFormat.ts). The module is the one the log's
// appId names in apps/build/manifest.json, unless --module gives one, which must hash to that appId
// (docs/architecture/app-abi.md: appId = keccak256(module bytes)).
//
// Exit codes, as for every command (commands.ts): 0 the log verifies; 1 it diverges (the first divergence
// is printed: seq, kind, detail), or the file or module cannot be read or is refused; 2 a usage error.
// The WebAssembly runtime (and binaryen with it) is loaded only when a log is about to be replayed, so the
// other commands and this one's usage errors stay quick.
import { readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Bytes32 } from '../core/types.js'
import { ChannelsError } from '../core/errors.js'
import { keccak256 } from '../core/keccak.js'
import type { ExportedLogFile } from '../protocols/app/exportFormat.js'
import { decodeExportedLog } from '../protocols/app/exportFormat.js'
import { MAX_EXPORTED_LOG_BYTES } from '../protocols/app/limits.js'
import type { VerifyResult } from '../protocols/app/replay.js'
import { verifyLog } from '../protocols/app/replay.js'
import { MAX_MODULE_BYTES } from '../wasm/limits.js'
import type { Writer } from './format.js'
import { CliFailure, UsageError, toJson } from './format.js'
import { escapeText } from './sanitize.js'
import type { CommandHelp } from './help.js'

/** The sample apps as built (apps/README.md): `<name>.wasm` and manifest.json, from src/cli or dist/cli alike. */
export const APPS_BUILD_DIR = fileURLToPath(new URL('../../apps/build/', import.meta.url))

/** A manifest is a few hundred bytes per app. */
const MAX_MANIFEST_BYTES = 1024 * 1024
const MODULE_FILE_RE = /^[A-Za-z0-9_-]+\.wasm$/

export const VERIFY_COMMAND: CommandHelp = {
  name: 'verify',
  args: ['<file>'],
  options: {
    module: { type: 'string', value: '<path.wasm>', help: 'the app module (default: the one apps/build/manifest.json names for the log\'s appId)' },
  },
  summary: 'Offline: checks an exported app-channel log (hash chain, every event replayed through the app, every signature); exits 1 at the first divergence.',
  example: 'channels verify game.channels-log',
}

export interface VerifyOutput {
  readonly out: Writer
  readonly json: boolean
}

/**
 * Verifies the exported log in `file`; resolves to the exit code (0 verified, 1 diverged).
 * @throws UsageError (exit 2) for an empty --module; CliFailure (exit 1) for a file or module that cannot be
 *   read or is refused; a module the runtime refuses is AppModuleError (`app_module`, exit 1).
 */
export async function runVerify(output: VerifyOutput, p: { readonly file: string; readonly module?: string | boolean | undefined }): Promise<number> {
  if (p.module !== undefined && (typeof p.module !== 'string' || p.module === '')) throw new UsageError('--module needs a path to a .wasm file')
  const file = decodeFile(p.file)
  const moduleBytes = typeof p.module === 'string' ? givenModule(p.module, file.appId) : manifestModule(file.appId)
  const { WasmAppRuntime } = await import('../wasm/wasmRuntime.js')
  const runtime = WasmAppRuntime.load(moduleBytes)
  const result = verifyLog(file.log, runtime)
  const events = file.log.events.length
  const signedStates = file.log.signedStates.length
  if (!result.ok) return printDivergence(output, result, { events, signedStates })
  const final = runtime.isFinal(result.appState)
  const { head } = result
  if (output.json) {
    output.out.write(`${toJson({ ok: true, appId: file.appId, encoding: file.encoding, events, signedStates, head, turnNum: result.latest.state.turnNum, final })}\n`)
  } else {
    output.out.write(`ok: ${events} events, ${signedStates} signed states, head ${head.hash} (seq ${head.seq}), ${final ? 'final' : 'not final'}\n`)
  }
  return 0
}

function printDivergence(output: VerifyOutput, result: Extract<VerifyResult, { ok: false }>, counts: { events: number; signedStates: number }): number {
  const { divergence: d } = result
  if (output.json) {
    output.out.write(`${toJson({ ok: false, ...counts, divergence: d })}\n`)
    return 1
  }
  // The detail may quote the file, which came from someone else: escaped.
  output.out.write(`diverged at seq ${d.seq} (${escapeText(d.kind)}): ${escapeText(d.detail)}${d.code ? ` [${escapeText(d.code)}]` : ''}\n`)
  output.out.write(d.seq > 1n ? `  events 1..${d.seq - 1n} and their signed states verify; the log has ${counts.events} events\n` : `  nothing verifies; the log has ${counts.events} events\n`)
  return 1
}

/** Reads and decodes the log; every failure is one readable line naming the file. */
function decodeFile(file: string): ExportedLogFile {
  const bytes = readBounded(file, 'the log', MAX_EXPORTED_LOG_BYTES)
  try {
    return decodeExportedLog(bytes)
  } catch (error) {
    if (error instanceof ChannelsError) throw new CliFailure(`${file} is not an exported app-channel log`, {}, { cause: error })
    throw error
  }
}

function givenModule(file: string, appId: Bytes32): Uint8Array {
  const bytes = readBounded(file, 'the module', MAX_MODULE_BYTES)
  const actual = keccak256(bytes)
  if (actual !== appId.toLowerCase()) {
    throw new CliFailure(`refused ${file}: it is app ${actual}, the log is of app ${appId}`)
  }
  return bytes
}

/** The module the manifest names for `appId`, checked against it (a stale build would replay another app). */
function manifestModule(appId: Bytes32): Uint8Array {
  const manifestFile = path.join(APPS_BUILD_DIR, 'manifest.json')
  const apps = readManifest(manifestFile)
  const entry = Object.entries(apps).find(([, app]) => app.appId.toLowerCase() === appId.toLowerCase())
  if (!entry) throw new CliFailure(`no app with id ${appId} in ${manifestFile}: pass its module with --module <path.wasm>`)
  const [name, app] = entry
  const moduleFile = path.join(APPS_BUILD_DIR, app.file)
  const bytes = readBounded(moduleFile, `the module of ${name}`, MAX_MODULE_BYTES)
  if (keccak256(bytes) !== appId.toLowerCase()) {
    throw new CliFailure(`${moduleFile} does not hash to the appId ${manifestFile} gives it: rebuild the apps (npm run build:apps) or pass --module`)
  }
  return bytes
}

export type ManifestApps = Readonly<Record<string, { readonly file: string; readonly appId: string }>>

export function readManifest(file: string): ManifestApps {
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(readBounded(file, 'the app manifest', MAX_MANIFEST_BYTES)).toString('utf8'))
  } catch (error) {
    if (error instanceof CliFailure) throw error
    throw new CliFailure(`the app manifest ${file} is not JSON`, {}, { cause: error })
  }
  const apps = (parsed as { apps?: unknown } | null)?.apps
  const valid =
    typeof apps === 'object' && apps !== null &&
    Object.values(apps).every((a: unknown) => {
      const app = a as { file?: unknown; appId?: unknown } | null
      return typeof app?.file === 'string' && MODULE_FILE_RE.test(app.file) && typeof app.appId === 'string'
    })
  if (!valid) throw new CliFailure(`the app manifest ${file} is not { apps: { <name>: { file, appId } } }`)
  return apps as ManifestApps
}

/** A regular file of at most `max` bytes, or a CliFailure saying why not. */
function readBounded(file: string, what: string, max: number): Uint8Array {
  try {
    const stat = statSync(file)
    if (!stat.isFile()) throw new CliFailure(`cannot read ${what} ${file}: not a regular file`)
    if (stat.size > max) throw new CliFailure(`cannot read ${what} ${file}: ${stat.size} bytes, above the ${max}-byte limit`)
    return new Uint8Array(readFileSync(file))
  } catch (error) {
    if (error instanceof CliFailure) throw error
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : error instanceof Error ? error.message : String(error)
    throw new CliFailure(`cannot read ${what} ${file}: ${reason}`)
  }
}
