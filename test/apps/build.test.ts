// The committed app modules: apps/build/*.wasm, the prepared *.metered.wasm and manifest.json must be exactly
// what scripts/buildApps.ts makes from apps/ (so a module can never drift from its source, its appId is
// reproducible, and the metered module a node runs is what the runtime's own metering makes of it), and every
// module must keep the ABI's rules (docs/architecture/app-abi.md): one import, env.memory; no floating point in
// any signature, local, global or instruction; exactly the ABI's exports. The rules are checked here with
// binaryen, independently of the build script's own check.
import binaryen from 'binaryen'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { abiExports, appsBuildDir, buildApps, listApps } from '../../scripts/buildApps.js'
import type { Manifest } from '../../scripts/buildApps.js'
import { keccak256 } from '../../src/core/keccak.js'
import { MeteredAppRuntime, PREPARED_METERING } from '../../src/wasm/preparedRuntime.js'
import { WasmAppRuntime, prepareAppModule } from '../../src/wasm/wasmRuntime.js'

const floatTypes = new Set([binaryen.f32, binaryen.f64])

/** Every way `wasm` breaks the module rules, as readable lines; [] when it keeps them. */
function contractViolations(wasm: Uint8Array): string[] {
  const module = binaryen.readBinary(wasm)
  try {
    const problems: string[] = []
    const memory = module.hasMemory() ? module.getMemoryInfo() : null
    if (memory === null || memory.module !== 'env' || memory.base !== 'memory') problems.push('memory: not imported as env.memory')
    for (let i = 0; i < module.getNumFunctions(); i++) {
      const f = binaryen.getFunctionInfo(module.getFunctionByIndex(i))
      if (f.module) problems.push(`import: function ${f.module}.${f.base}`)
      const types = [...binaryen.expandType(f.params), ...binaryen.expandType(f.results), ...f.vars]
      if (types.some((type) => floatTypes.has(type))) problems.push(`float: in the signature or locals of function ${f.name}`)
    }
    for (let i = 0; i < module.getNumGlobals(); i++) {
      const g = binaryen.getGlobalInfo(module.getGlobalByIndex(i))
      if (g.module) problems.push(`import: global ${g.module}.${g.base}`)
      if (floatTypes.has(g.type)) problems.push(`float: global ${g.name}`)
    }
    for (let i = 0; i < module.getNumTables(); i++) {
      const t = binaryen.getTableInfo(module.getTableByIndex(i))
      if (t.module) problems.push(`import: table ${t.module}.${t.base}`)
    }
    const instruction = /\bf(32|64)\.[a-z0-9_]+/.exec(module.emitText())
    if (instruction !== null) problems.push(`float: instruction ${instruction[0]}`)
    const exports = Array.from({ length: module.getNumExports() }, (_, i) => binaryen.getExportInfo(module.getExportByIndex(i)).name).sort()
    if (exports.join() !== abiExports.join()) problems.push(`exports: ${exports.join(', ')}`)
    return problems
  } finally {
    module.dispose()
  }
}

const committed = (file: string): Uint8Array => new Uint8Array(readFileSync(join(appsBuildDir, file)))

describe('the committed app modules', () => {
  const outDir = mkdtempSync(join(tmpdir(), 'channels-apps-'))
  afterAll(() => rmSync(outDir, { recursive: true, force: true }))

  test('are what the sources build to, byte for byte, manifest included', async () => {
    const built = await buildApps(outDir)
    expect(built.map((app) => app.name)).toEqual(['dice', 'document', 'rps', 'tictactoe'])
    expect(readdirSync(outDir).sort()).toEqual(readdirSync(appsBuildDir).sort())
    for (const file of readdirSync(outDir)) {
      expect(Buffer.from(readFileSync(join(outDir, file))).equals(Buffer.from(committed(file))), `${file} drifted: run npx tsx scripts/buildApps.ts`).toBe(true)
    }
  }, 180_000)

  test('manifest appIds and meteredHashes are keccak256 of the files, metered with the runtime\'s defaults', () => {
    const manifest = JSON.parse(readFileSync(join(appsBuildDir, 'manifest.json'), 'utf8')) as Manifest
    expect(Object.keys(manifest.apps)).toEqual(listApps())
    expect(manifest.metering).toMatchObject(PREPARED_METERING)
    for (const [name, app] of Object.entries(manifest.apps)) {
      expect(committed(app.file).length).toBe(app.bytes)
      expect(app.appId).toBe(keccak256(committed(app.file)))
      expect(app.meteredFile).toBe(`${name}.metered.wasm`)
      expect(committed(app.meteredFile).length).toBe(app.meteredBytes)
      expect(app.meteredHash).toBe(keccak256(committed(app.meteredFile)))
    }
  })

  test.each(listApps())('%s: the metered module is what the runtime meters the module into, and runs as it does', (name) => {
    const moduleBytes = committed(`${name}.wasm`)
    const metered = committed(`${name}.metered.wasm`)
    expect(Buffer.from(prepareAppModule(moduleBytes, PREPARED_METERING)).equals(Buffer.from(metered)), `${name}.metered.wasm drifted: run npx tsx scripts/buildApps.ts`).toBe(true)
    const loaded = WasmAppRuntime.load(moduleBytes)
    const prepared = MeteredAppRuntime.fromPrepared(moduleBytes, metered, { appId: keccak256(moduleBytes), meteredHash: keccak256(metered) })
    const params = Uint8Array.of(2, 1)
    expect(prepared.init(params)).toEqual(loaded.init(params))
    expect(prepared.lastFuelUsed).toBe(loaded.lastFuelUsed)
  })

  test.each(listApps())('%s imports only env.memory, uses no float and exports the ABI', (name) => {
    expect(contractViolations(committed(`${name}.wasm`))).toEqual([])
  })
})

test('the module check catches an import, a float and a missing export', () => {
  const bad = new binaryen.Module()
  bad.addFunctionImport('now', 'env', 'now', binaryen.none, binaryen.f64)
  bad.addFunction('half', binaryen.createType([binaryen.i32]), binaryen.i32, [binaryen.f32],
    bad.i32.trunc_s.f32(bad.f32.convert_s.i32(bad.local.get(0, binaryen.i32))))
  bad.addFunctionExport('half', 'apply')
  const wasm = bad.emitBinary()
  bad.dispose()
  expect(contractViolations(wasm)).toEqual([
    'memory: not imported as env.memory',
    'import: function env.now',
    expect.stringMatching(/^float: in the signature or locals of function /), // the import (names are not kept)
    expect.stringMatching(/^float: in the signature or locals of function /), // half
    'float: instruction f32.convert_i32_s',
    'exports: apply',
  ])
})
