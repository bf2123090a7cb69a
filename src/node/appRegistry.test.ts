// The node's app registry (appRegistry.ts): the prepared sample apps of apps/build, checked at start and
// instantiated on first use; a tampered module, metered module or manifest refuses the start.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'
import { keccak256 } from '../core/keccak.js'
import type { Bytes32 } from '../core/types.js'
import { DEFAULT_APPS_DIR, loadAppRegistry } from './appRegistry.js'

interface ManifestFile {
  metering: Record<string, unknown>
  apps: Record<string, { file: string; appId: string; meteredFile: string; meteredHash: string }>
}
const manifest = JSON.parse(readFileSync(path.join(DEFAULT_APPS_DIR, 'manifest.json'), 'utf8')) as ManifestFile

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** A copy of apps/build to tamper with. */
function copy(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'channels-apps-'))
  dirs.push(dir)
  cpSync(DEFAULT_APPS_DIR, dir, { recursive: true })
  return dir
}

function editManifest(dir: string, edit: (m: ManifestFile) => void): void {
  const file = path.join(dir, 'manifest.json')
  const m = JSON.parse(readFileSync(file, 'utf8')) as ManifestFile
  edit(m)
  writeFileSync(file, JSON.stringify(m))
}

const refused = expect.objectContaining({ code: 'app_registry' })

describe('loadAppRegistry', () => {
  test('finds apps/build from the module file and names every sample app by its appId', () => {
    const registry = loadAppRegistry()
    expect([...registry.names.keys()]).toEqual(['dice', 'document', 'rps', 'tictactoe'])
    for (const [name, appId] of registry.names) expect(appId).toBe(manifest.apps[name]!.appId)
  })

  test('runs every sample app, instantiated once and kept', () => {
    const registry = loadAppRegistry()
    for (const [name, appId] of registry.names) {
      const runtime = registry.apps(appId)
      expect(runtime?.appId, name).toBe(appId)
      const init = runtime!.init(name === 'rps' || name === 'dice' ? Uint8Array.of(2, 1) : Uint8Array.of(2)) // two participants (best of one)
      expect(init.ok, name).toBe(true)
      if (init.ok) expect(runtime!.isFinal(init.state)).toBe(false)
    }
  })

  test('plays a tic-tac-toe move', () => {
    const registry = loadAppRegistry()
    const app = registry.apps(registry.names.get('tictactoe')!)!
    const init = app.init(Uint8Array.of(2))
    if (!init.ok) throw new Error('init refused')
    expect(app.whoseTurn(init.state)).toBe(0)
    const moved = app.apply(init.state, Uint8Array.of(0x01, 4), 0)
    expect(moved.ok).toBe(true)
    if (moved.ok) expect(app.whoseTurn(moved.state)).toBe(1)
  })

  test('an unknown appId has no runtime', () => {
    expect(loadAppRegistry().apps(keccak256(Uint8Array.of(1, 2, 3)))).toBeUndefined()
  })

  test('a directory without a manifest has no apps', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'channels-apps-'))
    dirs.push(dir)
    const registry = loadAppRegistry(dir)
    expect(registry.names.size).toBe(0)
    expect(registry.apps(manifest.apps['tictactoe']!.appId as Bytes32)).toBeUndefined()
  })

  test('refuses a tampered metered module', () => {
    const dir = copy()
    const file = path.join(dir, manifest.apps['tictactoe']!.meteredFile)
    const bytes = readFileSync(file)
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1
    writeFileSync(file, bytes)
    expect(() => loadAppRegistry(dir)).toThrow(expect.objectContaining({ code: 'app_registry', details: expect.objectContaining({ app: 'tictactoe' }) }))
  })

  test('refuses a tampered module', () => {
    const dir = copy()
    writeFileSync(path.join(dir, manifest.apps['dice']!.file), readFileSync(path.join(dir, manifest.apps['rps']!.file)))
    expect(() => loadAppRegistry(dir)).toThrow(expect.objectContaining({ code: 'app_registry', details: expect.objectContaining({ app: 'dice' }) }))
  })

  test('refuses a manifest whose hashes do not match the files', () => {
    const dir = copy()
    editManifest(dir, (m) => {
      m.apps['rps']!.meteredHash = m.apps['dice']!.meteredHash
    })
    expect(() => loadAppRegistry(dir)).toThrow(refused)
    const other = copy()
    editManifest(other, (m) => {
      m.apps['rps']!.appId = m.apps['dice']!.appId
    })
    expect(() => loadAppRegistry(other)).toThrow(refused)
  })

  test('refuses a manifest made with other metering parameters, a malformed one, or a missing file', () => {
    const fuel = copy()
    editManifest(fuel, (m) => {
      m.metering['fuel'] = 1000
    })
    expect(() => loadAppRegistry(fuel)).toThrow(expect.objectContaining({ code: 'app_registry', details: expect.objectContaining({ mismatched: ['fuel'] }) }))
    const escaping = copy()
    editManifest(escaping, (m) => {
      m.apps['rps']!.meteredFile = '../rps.metered.wasm'
    })
    expect(() => loadAppRegistry(escaping)).toThrow(refused)
    const notJson = copy()
    writeFileSync(path.join(notJson, 'manifest.json'), '{')
    expect(() => loadAppRegistry(notJson)).toThrow(refused)
    const missing = copy()
    rmSync(path.join(missing, manifest.apps['document']!.meteredFile))
    expect(() => loadAppRegistry(missing)).toThrow(refused)
  })
})
