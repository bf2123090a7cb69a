// Loads the native secp256k1 and keccak bindings (DESIGN §8): both packages silently fall back to pure JS
// when their binary is missing, which would cut throughput 10x without anyone noticing. We load the
// binaries directly so that a missing or broken binary is a NativeBackendError at startup instead.
import { createRequire } from 'node:module'
import path from 'node:path'
import { NativeBackendError } from './errors.js'

const require = createRequire(import.meta.url)

export interface NativeKeccak {
  initialize(rate: number, capacity: number): void
  absorb(data: Uint8Array): void
  squeeze(length: number): Uint8Array
}

export interface NativeSecp256k1 {
  ecdsaSign(message: Uint8Array, privateKey: Uint8Array): { signature: Uint8Array; recid: number }
  ecdsaRecover(signature: Uint8Array, recid: number, message: Uint8Array, compressed: boolean): Uint8Array
  publicKeyCreate(privateKey: Uint8Array, compressed: boolean): Uint8Array
  privateKeyVerify(privateKey: Uint8Array): boolean
}

function loadAddon(pkg: string): unknown {
  try {
    const loadPrebuilt = require('node-gyp-build') as (dir: string) => unknown
    return loadPrebuilt(path.dirname(require.resolve(`${pkg}/package.json`)))
  } catch (cause) {
    throw new NativeBackendError(`native ${pkg} binding failed to load`, { pkg }, { cause })
  }
}

function loadKeccak(): new () => NativeKeccak {
  const Keccak = loadAddon('keccak')
  if (typeof Keccak !== 'function') throw new NativeBackendError('native keccak binding is not a constructor')
  return Keccak as new () => NativeKeccak
}

function loadSecp256k1(): NativeSecp256k1 {
  const addon = loadAddon('secp256k1') as { Secp256k1?: new () => unknown }
  if (typeof addon.Secp256k1 !== 'function') throw new NativeBackendError('native secp256k1 binding is malformed')
  // The package's lib wrapper validates argument types and sizes around the raw addon.
  const wrap = require('secp256k1/lib/index.js') as (addon: unknown) => NativeSecp256k1
  return wrap(new addon.Secp256k1())
}

export const KeccakState = loadKeccak()
export const secp256k1Native = loadSecp256k1()
