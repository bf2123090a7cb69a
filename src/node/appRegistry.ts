// The apps a node runs (issue 7, docs/architecture/app-abi.md "Prepared modules"): the sample apps as
// `npm run build:apps` prepared them in apps/build/ — each module as built (its keccak256 is the appId) and
// its metered form — run through MeteredAppRuntime.fromPrepared, which never loads binaryen (~6 s under tsx).
// At start every manifest entry's files must hash to what the manifest says, and the manifest must have been
// made with this build's metering parameters; otherwise the node refuses to start (AppRegistryError). Each
// app is instantiated on first use and kept.
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { OperatingError } from '../core/errors.js'
import { keccak256 } from '../core/keccak.js'
import type { Bytes32 } from '../core/types.js'
import { toBytes32 } from '../core/canonical.js'
import type { AppRuntime } from '../wasm/appRuntime.js'
import { MAX_MODULE_BYTES } from '../wasm/limits.js'
import { MeteredAppRuntime, PREPARED_METERING } from '../wasm/preparedRuntime.js'
import type { MeteringParameters } from '../wasm/preparedRuntime.js'

/** apps/build from src/node (tsx) and dist/node (compiled) alike; the package ships it ("files"). */
export const DEFAULT_APPS_DIR = fileURLToPath(new URL('../../apps/build/', import.meta.url))

/** apps/build/manifest.json, or one of the files it names, is missing, malformed or does not match. */
export class AppRegistryError extends OperatingError {
  readonly code = 'app_registry'
}

export interface AppRegistry {
  /** The runtime of an app by its id, instantiated on first use; undefined for an app the node does not have. */
  readonly apps: (appId: Bytes32) => AppRuntime | undefined
  /** Each app's name in the manifest and its appId. */
  readonly names: ReadonlyMap<string, Bytes32>
}

interface Entry {
  readonly name: string
  readonly moduleBytes: Uint8Array
  readonly meteredBytes: Uint8Array
  readonly appId: Bytes32
  readonly meteredHash: Bytes32
  runtime?: MeteredAppRuntime
}

/** The manifest's fields this file reads (scripts/buildApps.ts writes them). */
interface Manifest {
  readonly metering: MeteringParameters
  readonly apps: Readonly<Record<string, { readonly file: string; readonly appId: string; readonly meteredFile: string; readonly meteredHash: string }>>
}

const MAX_MANIFEST_BYTES = 1024 * 1024

/**
 * Reads and checks `<dir>/manifest.json` and every module it names. A missing directory is a node with no
 * apps (a manifest that exists must be right).
 *
 * @throws AppRegistryError (`app_registry`) for a malformed manifest, a missing or oversized file, a file
 *   whose keccak256 is not the manifest's, or metering parameters other than this build's
 */
export function loadAppRegistry(dir: string = DEFAULT_APPS_DIR): AppRegistry {
  const manifestFile = path.join(dir, 'manifest.json')
  const byId = new Map<string, Entry>()
  const names = new Map<string, Bytes32>()
  if (existsSync(manifestFile)) {
    const manifest = readManifest(manifestFile)
    for (const [name, app] of Object.entries(manifest.apps)) {
      const entry: Entry = {
        name,
        moduleBytes: readChecked(dir, app.file, app.appId, name),
        meteredBytes: readChecked(dir, app.meteredFile, app.meteredHash, name),
        appId: toBytes32(app.appId),
        meteredHash: toBytes32(app.meteredHash),
      }
      byId.set(entry.appId, entry)
      names.set(name, entry.appId)
    }
  }
  const apps = (appId: Bytes32): AppRuntime | undefined => {
    const entry = byId.get(appId)
    if (entry === undefined) return undefined
    entry.runtime ??= MeteredAppRuntime.fromPrepared(entry.moduleBytes, entry.meteredBytes, {
      appId: entry.appId,
      meteredHash: entry.meteredHash,
      fuel: PREPARED_METERING.fuel,
      memoryPages: PREPARED_METERING.memoryPages,
    })
    return entry.runtime
  }
  return { apps, names }
}

function readManifest(file: string): Manifest {
  let parsed: unknown
  try {
    parsed = JSON.parse(readBounded(file, MAX_MANIFEST_BYTES).toString('utf8'))
  } catch (error) {
    if (error instanceof AppRegistryError) throw error
    throw new AppRegistryError(`the app manifest ${file} is not JSON`, { file }, { cause: error })
  }
  const manifest = parsed as Partial<Manifest> | null
  const hash = (value: unknown) => typeof value === 'string' && /^0x[0-9a-fA-F]{64}$/.test(value)
  const fileName = (value: unknown) => typeof value === 'string' && value === path.basename(value) && value !== '' && !value.startsWith('.')
  const apps = manifest?.apps
  const valid =
    typeof apps === 'object' && apps !== null &&
    Object.values(apps).every((a: unknown) => {
      const app = a as Record<string, unknown> | null
      return app !== null && typeof app === 'object' && fileName(app.file) && fileName(app.meteredFile) && hash(app.appId) && hash(app.meteredHash)
    })
  if (!valid) throw new AppRegistryError(`the app manifest ${file} is malformed: rebuild the apps (npm run build:apps)`, { file })
  const metering = manifest?.metering as Partial<MeteringParameters> | undefined
  const mismatched = (Object.keys(PREPARED_METERING) as (keyof MeteringParameters)[]).filter((key) => metering?.[key] !== PREPARED_METERING[key])
  if (mismatched.length > 0) {
    throw new AppRegistryError(`the apps in ${file} were metered with other parameters than this build's: rebuild the apps (npm run build:apps)`, {
      file,
      mismatched,
    })
  }
  return manifest as Manifest
}

function readChecked(dir: string, file: string, expected: string, name: string): Uint8Array {
  const full = path.join(dir, file)
  const bytes = new Uint8Array(readBounded(full, 2 * MAX_MODULE_BYTES))
  const actual = keccak256(bytes)
  if (actual !== expected.toLowerCase()) {
    throw new AppRegistryError(`${full} does not hash to what the app manifest says: rebuild the apps (npm run build:apps)`, { app: name, file: full, expected, actual })
  }
  return bytes
}

function readBounded(file: string, max: number): Buffer {
  let bytes: Buffer
  try {
    bytes = readFileSync(file)
  } catch (error) {
    throw new AppRegistryError(`cannot read ${file}`, { file }, { cause: error })
  }
  if (bytes.length > max) throw new AppRegistryError(`${file} is larger than ${max} bytes`, { file, bytes: bytes.length, max })
  return bytes
}
