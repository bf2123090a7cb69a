import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { KeyFileError, decryptKeystore, loadOrCreateKey, loadOrCreateSecret, readPasswordFile } from './keys.js'
import { loadOrCreatePeerKey } from './peerIdentity.js'
import { InsecureFileError } from './privateFile.js'

// The Web3 Secret Storage definition's test vectors (password "testpassword").
const VECTOR_KEY = '0x7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d'
const PBKDF2 = {
  crypto: {
    cipher: 'aes-128-ctr',
    cipherparams: { iv: '6087dab2f9fdbbfaddc31a909735c1e6' },
    ciphertext: '5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46',
    kdf: 'pbkdf2',
    kdfparams: { c: 262144, dklen: 32, prf: 'hmac-sha256', salt: 'ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd' },
    mac: '517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2',
  },
  id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
  version: 3,
}
const SCRYPT = {
  crypto: {
    cipher: 'aes-128-ctr',
    cipherparams: { iv: '83dbcc02d8ccb40e466191a123791e0e' },
    ciphertext: 'd172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c',
    kdf: 'scrypt',
    kdfparams: { dklen: 32, n: 262144, r: 1, p: 8, salt: 'ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19' },
    mac: '2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097',
  },
  id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
  version: 3,
}

const dir = () => mkdtempSync(path.join(tmpdir(), 'keys-'))
const modeOf = (file: string) => statSync(file).mode & 0o777
/** Runs `f` with the given umask (0: files get exactly the mode asked for), then restores it. */
function withUmask<T>(mask: number, f: () => T): T {
  const previous = process.umask(mask)
  try {
    return f()
  } finally {
    process.umask(previous)
  }
}

describe('keystore v3', () => {
  it('decrypts the pbkdf2 and scrypt vectors', () => {
    expect(decryptKeystore(JSON.stringify(PBKDF2), 'testpassword')).toBe(VECTOR_KEY)
    expect(decryptKeystore(JSON.stringify(SCRYPT), 'testpassword')).toBe(VECTOR_KEY)
  })

  it('refuses a wrong password, a tampered ciphertext, hostile parameters and garbage with KeyFileError', () => {
    expect(() => decryptKeystore(JSON.stringify(PBKDF2), 'wrong')).toThrow(/MAC mismatch/)
    const tampered = structuredClone(PBKDF2)
    tampered.crypto.ciphertext = '6' + tampered.crypto.ciphertext.slice(1)
    expect(() => decryptKeystore(JSON.stringify(tampered), 'testpassword')).toThrow(KeyFileError)
    const huge = structuredClone(SCRYPT)
    huge.crypto.kdfparams.n = 2 ** 30
    expect(() => decryptKeystore(JSON.stringify(huge), 'testpassword')).toThrow(/out of range/)
    for (const bad of ['', '{', '[]', '{"version":4}', JSON.stringify({ ...PBKDF2, crypto: { ...PBKDF2.crypto, cipher: 'aes-256-gcm' } })]) {
      expect(() => decryptKeystore(bad, 'x')).toThrow(KeyFileError)
    }
  })
})

describe('key files', () => {
  it('generates once, keeps the key owner-only, and a stored key wins over a later import', () => {
    const file = path.join(dir(), 'sub', 'channel.key')
    const key = loadOrCreateKey(file)
    expect(key).toMatch(/^0x[0-9a-f]{64}$/)
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(loadOrCreateKey(file, { kind: 'hex', key: VECTOR_KEY })).toBe(key)
  })

  it('imports hex (with or without 0x) and keystores; refuses invalid keys', () => {
    const d = dir()
    expect(loadOrCreateKey(path.join(d, 'a.key'), { kind: 'hex', key: VECTOR_KEY.slice(2).toUpperCase() })).toBe(VECTOR_KEY)
    const ks = path.join(d, 'ks.json')
    writeFileSync(ks, JSON.stringify(PBKDF2), { mode: 0o600 })
    expect(loadOrCreateKey(path.join(d, 'b.key'), { kind: 'keystore', file: ks, password: 'testpassword' })).toBe(VECTOR_KEY)
    expect(() => loadOrCreateKey(path.join(d, 'c.key'), { kind: 'hex', key: '0x' + '00'.repeat(32) })).toThrow(KeyFileError)
    writeFileSync(path.join(d, 'corrupt.key'), 'not a key', { mode: 0o600 })
    expect(() => loadOrCreateKey(path.join(d, 'corrupt.key'))).toThrow(KeyFileError)
  })

  it('generates a random API secret once and refuses a malformed one', () => {
    const d = dir()
    const a = loadOrCreateSecret(path.join(d, 'rpc.secret'))
    expect(a).toMatch(/^[0-9a-f]{64}$/)
    expect(loadOrCreateSecret(path.join(d, 'rpc.secret'))).toBe(a)
    expect(loadOrCreateSecret(path.join(dir(), 'rpc.secret'))).not.toBe(a)
    writeFileSync(path.join(d, 'bad.secret'), 'hunter2', { mode: 0o600 })
    expect(() => loadOrCreateSecret(path.join(d, 'bad.secret'))).toThrow(KeyFileError)
    expect(readFileSync(path.join(d, 'rpc.secret'), 'utf8').trim()).toBe(a)
  })
})

describe('keys at rest', () => {
  it('writes generated keys, imported keys, the API secret and the peer key with mode 0600 whatever the umask, leaving no temporary file', async () => {
    const d = path.join(dir(), 'data')
    await withUmask(0, async () => {
      loadOrCreateKey(path.join(d, 'channel.key'))
      loadOrCreateKey(path.join(d, 'chain.key'), { kind: 'hex', key: VECTOR_KEY })
      loadOrCreateSecret(path.join(d, 'rpc.secret'))
      await loadOrCreatePeerKey(path.join(d, 'peer.key'))
    })
    for (const name of ['channel.key', 'chain.key', 'rpc.secret', 'peer.key']) expect(modeOf(path.join(d, name)), name).toBe(0o600)
    expect(modeOf(d)).toBe(0o700)
    expect(readdirSync(d).sort()).toEqual(['chain.key', 'channel.key', 'peer.key', 'rpc.secret'])
  })

  it('refuses a key file, API secret or peer key that group or others can access, naming the file and the chmod', async () => {
    const d = dir()
    const key = path.join(d, 'channel.key')
    loadOrCreateKey(key)
    for (const mode of [0o640, 0o604, 0o620, 0o644, 0o666]) {
      chmodSync(key, mode)
      expect(() => loadOrCreateKey(key), mode.toString(8)).toThrow(InsecureFileError)
    }
    chmodSync(key, 0o644)
    expect(() => loadOrCreateKey(key)).toThrow(`the key file ${key} is accessible to other users (mode 0644); it holds a secret: run chmod 600 ${key}`)
    chmodSync(key, 0o400)
    expect(loadOrCreateKey(key)).toMatch(/^0x[0-9a-f]{64}$/) // owner-only read is fine
    const secret = path.join(d, 'rpc.secret')
    loadOrCreateSecret(secret)
    chmodSync(secret, 0o644)
    expect(() => loadOrCreateSecret(secret)).toThrow(/the API secret .*rpc\.secret is accessible to other users/)
    const peer = path.join(d, 'peer.key')
    await loadOrCreatePeerKey(peer)
    chmodSync(peer, 0o660)
    await expect(loadOrCreatePeerKey(peer)).rejects.toThrow(/the peer key .*peer\.key is accessible to other users \(mode 0660\)/)
  })

  it('keeps a keystore key encrypted: decrypted at every start, never written to the data dir', () => {
    const d = dir()
    const keystore = path.join(d, 'keystore.json')
    writeFileSync(keystore, JSON.stringify(PBKDF2), { mode: 0o600 })
    const file = path.join(d, 'data', 'channel.key')
    const source = { kind: 'keystore', file: keystore, password: 'testpassword' } as const
    expect(loadOrCreateKey(file, source)).toBe(VECTOR_KEY)
    expect(existsSync(file)).toBe(false)
    expect(loadOrCreateKey(file, source)).toBe(VECTOR_KEY)
    expect(() => loadOrCreateKey(file, { ...source, password: 'wrong' })).toThrow(`the keystore ${keystore}: wrong keystore password (MAC mismatch)`)
  })

  it('refuses a keystore others can access, and a data dir key that differs from the keystore\'s', () => {
    const d = dir()
    const keystore = path.join(d, 'keystore.json')
    writeFileSync(keystore, JSON.stringify(PBKDF2))
    chmodSync(keystore, 0o644)
    const source = { kind: 'keystore', file: keystore, password: 'testpassword' } as const
    expect(() => loadOrCreateKey(path.join(d, 'channel.key'), source)).toThrow(`the keystore ${keystore} is accessible to other users (mode 0644); it holds a secret: run chmod 600 ${keystore}`)
    chmodSync(keystore, 0o600)
    const other = path.join(d, 'other.key')
    loadOrCreateKey(other)
    expect(() => loadOrCreateKey(other, source)).toThrow(/holds the key of 0x[0-9a-fA-F]{40}, but .*other\.key holds another .*a node keeps one identity/)
    const same = path.join(d, 'same.key')
    loadOrCreateKey(same, { kind: 'hex', key: VECTOR_KEY })
    expect(loadOrCreateKey(same, source)).toBe(VECTOR_KEY)
    expect(() => loadOrCreateKey(path.join(d, 'x.key'), { ...source, file: path.join(d, 'missing.json') })).toThrow(/cannot read the keystore .*missing\.json/)
  })

  it('reads a password file without its final line break, and refuses one others can access', () => {
    const d = dir()
    const file = path.join(d, 'password')
    writeFileSync(file, 'correct horse\n\n', { mode: 0o600 })
    expect(readPasswordFile(file)).toBe('correct horse\n')
    chmodSync(file, 0o604)
    expect(() => readPasswordFile(file)).toThrow(`the keystore password file ${file} is accessible to other users (mode 0604); it holds a secret: run chmod 600 ${file}`)
  })
})
