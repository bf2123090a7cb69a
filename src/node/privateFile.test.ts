// Files holding secrets (privateFile.ts), with real files and modes: any group or other permission bit is
// refused with the chmod that fixes it, quoted for a shell; writes are 0600 whatever the umask, replace an
// older file whole, and leave nothing else behind.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { InsecureFileError, checkPrivateFile, shellQuote, writePrivateFile } from './privateFile.js'

const dir = () => mkdtempSync(path.join(tmpdir(), 'private-'))
const modeOf = (file: string) => statSync(file).mode & 0o777

describe('checkPrivateFile', () => {
  test.each([0o600, 0o400, 0o700, 0o200])('mode %o (owner only) passes', (mode) => {
    const file = path.join(dir(), 'secret')
    writeFileSync(file, 'x')
    chmodSync(file, mode)
    expect(() => checkPrivateFile(file, 'the secret')).not.toThrow()
  })

  test.each([0o640, 0o604, 0o660, 0o644, 0o610, 0o601, 0o602, 0o620, 0o777])('mode %o is refused', (mode) => {
    const file = path.join(dir(), 'secret')
    writeFileSync(file, 'x')
    chmodSync(file, mode)
    expect(() => checkPrivateFile(file, 'the secret')).toThrow(InsecureFileError)
  })

  test('the message names what, the file, its mode and the chmod, quoted for a shell', () => {
    const folder = path.join(dir(), "it's mine")
    mkdirSync(folder)
    const file = path.join(folder, 'key file')
    writeFileSync(file, 'x')
    chmodSync(file, 0o644)
    expect(() => checkPrivateFile(file, 'the key file')).toThrow(`the key file ${file} is accessible to other users (mode 0644); it holds a secret: run chmod 600 '${folder.replace("'", "'\\''")}/key file'`)
  })

  test('a missing file is left to its reader; a directory or a symlink to a shared file is refused', () => {
    const d = dir()
    expect(() => checkPrivateFile(path.join(d, 'absent'), 'x')).not.toThrow()
    expect(() => checkPrivateFile(d, 'the key file')).toThrow(/is not a regular file/)
    const shared = path.join(d, 'shared')
    writeFileSync(shared, 'x')
    chmodSync(shared, 0o644)
    symlinkSync(shared, path.join(d, 'link'))
    expect(() => checkPrivateFile(path.join(d, 'link'), 'the key file')).toThrow(InsecureFileError)
  })
})

describe('writePrivateFile', () => {
  test('creates the directory 0700 and the file 0600 whatever the umask; replaces an older file whole; no temporary file stays', () => {
    const folder = path.join(dir(), 'a', 'b')
    const file = path.join(folder, 'channel.key')
    const previous = process.umask(0)
    try {
      writePrivateFile(file, 'one\n')
    } finally {
      process.umask(previous)
    }
    expect(modeOf(file)).toBe(0o600)
    expect(modeOf(folder)).toBe(0o700)
    chmodSync(file, 0o644)
    writePrivateFile(file, 'two\n')
    expect(readFileSync(file, 'utf8')).toBe('two\n')
    expect(modeOf(file)).toBe(0o600) // a new file renamed over the old one, not the old one rewritten
    expect(readdirSync(folder)).toEqual(['channel.key'])
  })
})

test('shellQuote leaves plain paths alone and single-quotes the rest', () => {
  expect(shellQuote('/home/me/data/alice/channel.key')).toBe('/home/me/data/alice/channel.key')
  expect(shellQuote('/tmp/a b')).toBe("'/tmp/a b'")
  expect(shellQuote("/tmp/it's")).toBe("'/tmp/it'\\''s'")
  expect(shellQuote('/tmp/$(rm -rf ~)')).toBe("'/tmp/$(rm -rf ~)'")
})
