// Compiles contracts/**/*.sol with solc-js (the pinned `solc` devDependency, its bundled soljson: nothing is
// downloaded) and writes src/chain/artifacts.ts: per deployable contract its ABI `as const` (so viem infers
// argument and event types), creation bytecode and runtime bytecode, plus the compiler version and settings.
// DESIGN §6 and §9; docs/adr/0008-contracts.md. Same sources, same output, byte for byte:
// src/chain/contracts.test.ts recompiles and compares with the committed file.
//
//   npm run build:contracts
import { createRequire } from 'node:module'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, sep } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

/** The subset of solc-js's API used here (the package ships no types). */
interface Solc {
  version(): string
  compile(input: string, callbacks?: { import: (path: string) => { error: string } | { contents: string } }): string
}

interface SolcError {
  severity: 'error' | 'warning' | 'info'
  formattedMessage: string
}

interface SolcContractOutput {
  abi: unknown[]
  evm: { bytecode: { object: string }; deployedBytecode: { object: string } }
}

interface SolcOutput {
  errors?: SolcError[]
  contracts?: Record<string, Record<string, SolcContractOutput>>
}

export interface ContractArtifact {
  readonly sourceName: string
  readonly abi: unknown[]
  /** Creation code, 0x-prefixed. */
  readonly bytecode: string
  /** Runtime code (what eth_getCode returns once deployed), 0x-prefixed. */
  readonly deployedBytecode: string
}

export interface Compilation {
  readonly solcVersion: string
  readonly contracts: Readonly<Record<string, ContractArtifact>>
  readonly warnings: readonly string[]
}

/** Optimizer on (200 runs, solc's default trade-off between deployment and call cost); EVM target pinned
 * rather than left to the compiler's default, which changes between releases (anvil 1.7 runs cancun). */
export const compilerSettings = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: 'cancun',
} as const

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..')
export const contractsDir = join(projectRoot, 'contracts')
export const artifactsPath = join(projectRoot, 'src', 'chain', 'artifacts.ts')

/** Folders whose contracts are never deployed on their own (interfaces, internal libraries). */
const notDeployed = ['contracts/interfaces/', 'contracts/libraries/']

/** Every .sol file under `dir`, as source unit names relative to the project root, sorted. */
function listSources(dir: string): string[] {
  const found: string[] = []
  const walk = (folder: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.name.endsWith('.sol')) found.push(relative(projectRoot, path).split(sep).join('/'))
    }
  }
  walk(dir)
  return found.sort()
}

export function compileContracts(): Compilation {
  const require = createRequire(import.meta.url)
  const solc = require('solc') as Solc
  const sources: Record<string, { content: string }> = {}
  for (const name of listSources(contractsDir)) sources[name] = { content: readFileSync(join(projectRoot, name), 'utf8') }

  const input = {
    language: 'Solidity',
    sources,
    settings: {
      ...compilerSettings,
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
    },
  }
  // Every source is passed in; an import of anything else is a mistake, not something to fetch.
  const output = JSON.parse(
    solc.compile(JSON.stringify(input), { import: (path) => ({ error: `not under contracts/: ${path}` }) }),
  ) as SolcOutput
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error')
  if (errors.length > 0) throw new Error(`solc failed:\n${errors.map((e) => e.formattedMessage).join('\n')}`)
  const warnings = (output.errors ?? []).filter((e) => e.severity === 'warning').map((e) => e.formattedMessage)

  const contracts: Record<string, ContractArtifact> = {}
  for (const sourceName of Object.keys(output.contracts ?? {}).sort()) {
    if (notDeployed.some((folder) => sourceName.startsWith(folder))) continue
    const units = output.contracts![sourceName]!
    for (const contractName of Object.keys(units).sort()) {
      const unit = units[contractName]!
      if (unit.evm.bytecode.object === '') continue // abstract
      if (contracts[contractName]) throw new Error(`two contracts named ${contractName}`)
      contracts[contractName] = {
        sourceName,
        abi: unit.abi,
        bytecode: `0x${unit.evm.bytecode.object}`,
        deployedBytecode: `0x${unit.evm.deployedBytecode.object}`,
      }
    }
  }
  return { solcVersion: solc.version(), contracts, warnings }
}

// ---- rendering: a TypeScript module in the house style (single quotes, no semicolons) ----

const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/

function renderString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
}

function renderValue(value: unknown, indent: string): string {
  if (typeof value === 'string') return renderString(value)
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (value === null) return 'null'
  const inner = `${indent}  `
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]'
    return `[\n${value.map((item) => `${inner}${renderValue(item, inner)},\n`).join('')}${indent}]`
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
    if (entries.length === 0) return '{}'
    const key = (k: string): string => (identifier.test(k) ? k : renderString(k))
    // An ABI parameter without components fits on one line.
    if (entries.every(([, v]) => typeof v !== 'object' || v === null)) {
      return `{ ${entries.map(([k, v]) => `${key(k)}: ${renderValue(v, inner)}`).join(', ')} }`
    }
    return `{\n${entries.map(([k, v]) => `${inner}${key(k)}: ${renderValue(v, inner)},\n`).join('')}${indent}}`
  }
  throw new Error(`cannot render ${typeof value}`)
}

export function renderArtifacts(compilation: Compilation): string {
  const names = Object.keys(compilation.contracts)
  const lines = [
    '// Generated by scripts/compileContracts.ts (npm run build:contracts) from contracts/**/*.sol. Do not edit:',
    '// src/chain/contracts.test.ts fails when this file and the sources disagree. docs/adr/0008-contracts.md.',
    '',
    `export const solcVersion = ${renderString(compilation.solcVersion)}`,
    '',
    `export const compilerSettings = ${renderValue(compilerSettings, '')} as const`,
    '',
  ]
  for (const name of names) {
    const artifact = compilation.contracts[name]!
    lines.push(`export const ${name} = ${renderValue(artifact, '')} as const`, '')
  }
  lines.push(`export const contractNames = ${renderValue(names, '')} as const`, '')
  return lines.join('\n')
}

function main(): void {
  const started = performance.now()
  const compilation = compileContracts()
  for (const warning of compilation.warnings) process.stderr.write(`${warning}\n`)
  writeFileSync(artifactsPath, renderArtifacts(compilation))
  const names = Object.keys(compilation.contracts).join(', ')
  const ms = Math.round(performance.now() - started)
  process.stdout.write(`solc ${compilation.solcVersion}: ${names} -> ${relative(projectRoot, artifactsPath)} in ${ms} ms\n`)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main()
