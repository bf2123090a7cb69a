// A node's keys (issue 6): the channel key signs states and vouchers, the chain key pays for transactions;
// they are separate so that a hot wallet's exposure never reaches channel funds' signatures, and vice
// versa. Each is generated at first start, imported from hex (kept in the data dir from then on), or kept
// encrypted at rest in an Ethereum keystore (v3) file that the node decrypts at every start and never
// copies in plaintext (issue 13). Every file holding a secret must be private to its owner (privateFile.ts):
// key files, keystores and password files that group or others can access are refused.
import { createDecipheriv, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto'
import { scrypt } from '@noble/hashes/scrypt.js'
import { existsSync, readFileSync } from 'node:fs'
import { z } from 'zod'
import type { Hex } from '../core/types.js'
import { RejectedInputError } from '../core/errors.js'
import { parsePrivateKey, privateKeyToAddress } from '../core/signatures.js'
import { keccak256Bytes } from '../core/keccak.js'
import { bytesToHex } from '../core/hex.js'
import { checkPrivateFile, writePrivateFile } from './privateFile.js'

/** A key file or keystore that cannot be read, parsed or decrypted. */
export class KeyFileError extends RejectedInputError {
  readonly code = 'key_file'
}

/** Where a key comes from when it is not in the data dir yet. */
export type KeySource = { readonly kind: 'generate' } | { readonly kind: 'hex'; readonly key: string } | { readonly kind: 'keystore'; readonly file: string; readonly password: string }

/**
 * The node's key for `file` (`<data dir>/channel.key` or `chain.key`):
 * - from a keystore: decrypted at every start and never written out in plaintext; if `file` exists too it
 *   must hold the same key (a node keeps one identity), else KeyFileError;
 * - otherwise the key at `file` if present (a stored key wins over an import, so a restart never silently
 *   switches identity), else generated or imported from hex and stored with mode 0600.
 * @throws KeyFileError (`key_file`), InsecureFileError (`insecure_file`) for a file others can access.
 */
export function loadOrCreateKey(file: string, source: KeySource = { kind: 'generate' }): Hex {
  if (source.kind === 'keystore') {
    const key = readKeystore(source.file, source.password)
    if (existsSync(file)) {
      const stored = readKeyFile(file)
      if (stored !== key) {
        throw new KeyFileError(`the keystore ${source.file} holds the key of ${privateKeyToAddress(key)}, but ${file} holds another (${privateKeyToAddress(stored)}): a node keeps one identity; remove one of them`, { file, keystore: source.file })
      }
    }
    return key
  }
  if (existsSync(file)) return readKeyFile(file)
  const key = source.kind === 'generate' ? bytesToHex(randomBytes(32)) : checkKey(source.key.trim(), 'the imported key')
  writePrivateFile(file, `${key}\n`)
  return key
}

/** The key in a plain key file (hex, with or without 0x); the file must be private to its owner. */
export function readKeyFile(file: string): Hex {
  checkPrivateFile(file, 'the key file')
  let text: string
  try {
    text = readFileSync(file, 'utf8').trim()
  } catch (error) {
    throw new KeyFileError(`cannot read the key file ${file}`, { file }, { cause: error })
  }
  return checkKey(text, file)
}

/** Decrypts the keystore file `file` (which must be private to its owner) with `password`. */
export function readKeystore(file: string, password: string): Hex {
  checkPrivateFile(file, 'the keystore')
  let json: string
  try {
    json = readFileSync(file, 'utf8')
  } catch (error) {
    throw new KeyFileError(`cannot read the keystore ${file}`, { file }, { cause: error })
  }
  try {
    return decryptKeystore(json, password)
  } catch (error) {
    if (error instanceof KeyFileError) throw new KeyFileError(`the keystore ${file}: ${error.summary}`, { file, ...error.details }, { cause: error })
    throw error
  }
}

/**
 * A keystore password kept in a file (`--keystore-password-file`): the file's text without one trailing
 * line break, as geth and foundry write them; the file must be private to its owner.
 */
export function readPasswordFile(file: string): string {
  checkPrivateFile(file, 'the keystore password file')
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '')
  } catch (error) {
    throw new KeyFileError(`cannot read the keystore password file ${file}`, { file }, { cause: error })
  }
}

function checkKey(text: string, where: string): Hex {
  const key = (text.startsWith('0x') ? text : `0x${text}`).toLowerCase() as Hex
  try {
    parsePrivateKey(key)
  } catch (error) {
    throw new KeyFileError(`${where} is not a valid secp256k1 private key`, { where }, { cause: error })
  }
  return key
}

const hexString = z.string().regex(/^(0x)?[0-9a-fA-F]*$/)
const keystoreSchema = z.object({
  version: z.literal(3),
  crypto: z.object({
    cipher: z.literal('aes-128-ctr'),
    ciphertext: hexString,
    cipherparams: z.object({ iv: hexString }),
    kdf: z.enum(['scrypt', 'pbkdf2']),
    kdfparams: z.record(z.string(), z.union([z.number(), z.string()])),
    mac: hexString,
  }),
})

// A keystore's KDF parameters come from a file someone handed us: cap the work and memory they can ask for.
const MAX_SCRYPT_N = 2 ** 20
const MAX_PBKDF2_ROUNDS = 10_000_000

/** Decrypts an Ethereum keystore v3 JSON (scrypt or pbkdf2-sha256, aes-128-ctr; MAC = keccak(dk[16..32] ‖ ciphertext)). */
export function decryptKeystore(json: string, password: string): Hex {
  let parsed: z.infer<typeof keystoreSchema>
  try {
    parsed = keystoreSchema.parse(JSON.parse(json))
  } catch (error) {
    throw new KeyFileError('not an Ethereum keystore v3 file (scrypt or pbkdf2, aes-128-ctr)', {}, { cause: error })
  }
  const c = parsed.crypto
  const bytes = (hex: string) => Buffer.from(hex.replace(/^0x/, ''), 'hex')
  const p = c.kdfparams
  const salt = bytes(String(p.salt ?? ''))
  const dkLen = Number(p.dklen ?? 32)
  if (dkLen < 32 || dkLen > 64) throw new KeyFileError('keystore dklen must be 32..64', { dklen: p.dklen })
  let derived: Buffer
  if (c.kdf === 'scrypt') {
    const N = Number(p.n)
    const r = Number(p.r)
    const pp = Number(p.p)
    if (!Number.isInteger(N) || N < 2 || N > MAX_SCRYPT_N || (N & (N - 1)) !== 0 || !Number.isInteger(r) || r < 1 || r > 32 || !Number.isInteger(pp) || pp < 1 || pp > 16) {
      throw new KeyFileError('keystore scrypt parameters out of range', { n: p.n, r: p.r, p: p.p })
    }
    // noble, not node:crypto: OpenSSL refuses N >= 2^(16r), which real keystores (the spec's vector: r=1, N=2^18) use.
    derived = Buffer.from(scrypt(new TextEncoder().encode(password), salt, { N, r, p: pp, dkLen, maxmem: 256 * N * r * pp + 32 * 1024 * 1024 }))
  } else {
    const rounds = Number(p.c)
    if (p.prf !== 'hmac-sha256' || !Number.isInteger(rounds) || rounds < 1 || rounds > MAX_PBKDF2_ROUNDS) throw new KeyFileError('keystore pbkdf2 parameters unsupported', { c: p.c, prf: p.prf })
    derived = pbkdf2Sync(password, salt, rounds, dkLen, 'sha256')
  }
  const ciphertext = bytes(c.ciphertext)
  const mac = keccak256Bytes(derived.subarray(16, 32), ciphertext)
  const expected = bytes(c.mac)
  if (expected.length !== 32 || !timingSafeEqual(Buffer.from(mac), expected)) throw new KeyFileError('wrong keystore password (MAC mismatch)')
  const iv = bytes(c.cipherparams.iv)
  if (iv.length !== 16) throw new KeyFileError('keystore iv must be 16 bytes')
  const decipher = createDecipheriv('aes-128-ctr', derived.subarray(0, 16), iv)
  const key = Buffer.concat([decipher.update(ciphertext), decipher.final()])
  return checkKey(bytesToHex(key), 'the keystore')
}

/** The per-node API secret: 32 random bytes, generated at first start, kept beside the keys (mode 0600). */
export function loadOrCreateSecret(file: string): string {
  if (existsSync(file)) {
    checkPrivateFile(file, 'the API secret')
    const secret = readFileSync(file, 'utf8').trim()
    if (/^[0-9a-f]{64}$/.test(secret)) return secret
    throw new KeyFileError(`the API secret in ${file} is malformed (expected 64 hex digits)`, { file })
  }
  const secret = randomBytes(32).toString('hex')
  writePrivateFile(file, `${secret}\n`)
  return secret
}
