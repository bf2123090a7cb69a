// Compiles every sample app (apps/<name>/<name>.ts, AssemblyScript against apps/sdk/) with the pinned asc and
// writes apps/build/<name>.wasm plus apps/build/manifest.json with each module's size and appId =
// keccak256(module bytes) (docs/architecture/app-abi.md, DESIGN §4 and §9). It also writes the prepared
// module apps/build/<name>.metered.wasm: the module checked and metered by the runtime's own code
// (prepareAppModule, src/wasm/wasmRuntime.ts) with the default limits, so a node runs it without loading
// binaryen (src/wasm/preparedRuntime.ts, src/node/appRegistry.ts); the manifest records its keccak256
// (meteredHash) and the metering parameters. The flags make a module the ABI
// accepts: the stub runtime (a bump allocator that reset() rewinds), the host's memory imported as env.memory
// and not exported, `abort` aliased away so a failed assertion is `unreachable` rather than an import, -O3
// until binaryen converges. Same sources, same bytes: test/apps/build.test.ts rebuilds into a temporary
// directory and compares, and refuses a module that imports anything else or uses a float.
//
//   npx tsx scripts/buildApps.ts            (writes apps/build/)
import asc from 'assemblyscript/asc'
import { mkdirSync, readFileSync, readdirSync, existsSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { keccak256 } from '../src/core/keccak.js'
import { PREPARED_METERING } from '../src/wasm/preparedRuntime.js'
import type { MeteringParameters } from '../src/wasm/preparedRuntime.js'
import { prepareAppModule } from '../src/wasm/wasmRuntime.js'

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..')
export const appsDir = join(projectRoot, 'apps')
export const appsBuildDir = join(appsDir, 'build')

/** Folders under apps/ that are not apps. */
const notApps = new Set(['sdk', 'build'])

/** The exports the ABI requires, and nothing else. */
export const abiExports = ['alloc', 'apply', 'init', 'isFinal', 'outcome', 'reset', 'whoseTurn'] as const

/** asc flags, in order (the manifest records them). No --debug: no names section, so paths never leak in. */
export const ascFlags = [
  '--runtime', 'stub',
  '--importMemory',
  '--noExportMemory',
  '--use', 'abort=',
  '-O3',
  '--converge',
  '--noColors',
] as const

export interface BuiltApp {
  readonly name: string
  readonly wasm: Uint8Array
  /** keccak256 of `wasm`: the app's identity. */
  readonly appId: string
  /** `wasm` checked and metered with PREPARED_METERING (prepareAppModule). */
  readonly metered: Uint8Array
}

/** One app in the manifest: the module as built and its prepared (metered) form. */
export interface ManifestApp {
  readonly file: string
  readonly bytes: number
  readonly appId: string
  readonly meteredFile: string
  readonly meteredBytes: number
  readonly meteredHash: string
}

export interface Manifest {
  readonly assemblyscript: string
  readonly flags: readonly string[]
  /** binaryen's version and the parameters every metered module was made with. */
  readonly metering: MeteringParameters & { readonly binaryen: string }
  readonly apps: Readonly<Record<string, ManifestApp>>
}

/** App names: every folder apps/<name>/ holding <name>.ts, sorted. */
export function listApps(): string[] {
  return readdirSync(appsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !notApps.has(entry.name))
    .map((entry) => entry.name)
    .filter((name) => existsSync(join(appsDir, name, `${name}.ts`)))
    .sort()
}

/**
 * Compiles one AssemblyScript entry (a path relative to the project root) with `ascFlags`, in memory.
 * Returns the module and its text form (used to check for floats).
 */
export async function compileEntry(entry: string): Promise<{ wasm: Uint8Array; text: string }> {
  const outputs = new Map<string, Uint8Array | string>()
  const stderr = asc.createMemoryStream()
  const { error } = await asc.main(
    [entry, ...ascFlags, '--baseDir', projectRoot, '--outFile', 'out.wasm', '--textFile', 'out.wat'],
    {
      stdout: asc.createMemoryStream(),
      stderr,
      writeFile: (name, contents) => { outputs.set(name, contents) },
    },
  )
  if (error !== null) throw new Error(`asc failed on ${entry}: ${error.message}\n${stderr.toString()}`)
  const wasm = outputs.get('out.wasm')
  const text = outputs.get('out.wat')
  if (!(wasm instanceof Uint8Array) || typeof text !== 'string') throw new Error(`asc wrote no module for ${entry}`)
  return { wasm, text }
}

/** Node's WebAssembly API as used here (the project's TypeScript libs do not declare it). */
interface WasmModules {
  Module: {
    new (bytes: Uint8Array): object
    imports(module: object): { module: string; name: string; kind: string }[]
    exports(module: object): { name: string; kind: string }[]
  }
}
const webAssembly = (globalThis as unknown as { WebAssembly: WasmModules }).WebAssembly

/** Refuses a module the runtime would refuse (app-abi.md "What a module may contain"), naming the problem. */
export function checkAppModule(name: string, wasm: Uint8Array, text: string): void {
  const module = new webAssembly.Module(wasm)
  const imports = webAssembly.Module.imports(module).map((i) => `${i.module}.${i.name}:${i.kind}`)
  if (imports.join() !== 'env.memory:memory') throw new Error(`${name}: imports ${imports.join(', ')}; only env.memory is allowed`)
  const exports = webAssembly.Module.exports(module).map((e) => e.name).sort()
  if (exports.join() !== abiExports.join()) throw new Error(`${name}: exports ${exports.join(', ')}; the ABI wants ${abiExports.join(', ')}`)
  const float = /\bf(32|64)\b/.exec(text)
  if (float !== null) throw new Error(`${name}: uses floating point (${float[0]})`)
}

export async function buildApp(name: string): Promise<BuiltApp> {
  const { wasm, text } = await compileEntry(`apps/${name}/${name}.ts`)
  checkAppModule(name, wasm, text)
  return { name, wasm, appId: keccak256(wasm), metered: prepareAppModule(wasm, PREPARED_METERING) }
}

export function manifestOf(apps: readonly BuiltApp[]): Manifest {
  return {
    assemblyscript: asc.version,
    flags: [...ascFlags],
    metering: { binaryen: binaryenVersion(), ...PREPARED_METERING },
    apps: Object.fromEntries(
      apps.map((app) => [
        app.name,
        {
          file: `${app.name}.wasm`,
          bytes: app.wasm.length,
          appId: app.appId,
          meteredFile: meteredFileOf(app.name),
          meteredBytes: app.metered.length,
          meteredHash: keccak256(app.metered),
        },
      ]),
    ),
  }
}

export const meteredFileOf = (name: string): string => `${name}.metered.wasm`

function binaryenVersion(): string {
  return (JSON.parse(readFileSync(join(projectRoot, 'node_modules', 'binaryen', 'package.json'), 'utf8')) as { version: string }).version
}

export function renderManifest(manifest: Manifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`
}

/** Builds every app into `outDir` (<name>.wasm, <name>.metered.wasm and manifest.json) and returns them. */
export async function buildApps(outDir: string = appsBuildDir): Promise<BuiltApp[]> {
  const apps: BuiltApp[] = []
  for (const name of listApps()) apps.push(await buildApp(name)) // one at a time: asc is not reentrant-safe
  mkdirSync(outDir, { recursive: true })
  for (const app of apps) {
    writeFileSync(join(outDir, `${app.name}.wasm`), app.wasm)
    writeFileSync(join(outDir, meteredFileOf(app.name)), app.metered)
  }
  writeFileSync(join(outDir, 'manifest.json'), renderManifest(manifestOf(apps)))
  return apps
}

async function main(): Promise<void> {
  const started = performance.now()
  const apps = await buildApps()
  for (const app of apps) process.stdout.write(`${app.name}: ${app.wasm.length} bytes, appId ${app.appId}; metered ${app.metered.length} bytes\n`)
  const ms = Math.round(performance.now() - started)
  process.stdout.write(`asc ${asc.version} -> ${relative(projectRoot, appsBuildDir)}/ in ${ms} ms\n`)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main()
