// Files that hold secrets (issue 13, docs/security.md): the node's key files, a keystore, a
// keystore password file, a config file with a key in it. Each must be private to its owner — no permission
// bit for group or others (mode & 0o077 = 0), as ssh insists for ~/.ssh/id_*: a secret another local user
// can read is no longer the owner's alone. A file that is not is refused with the chmod that fixes it.
// New secrets are written atomically with mode 0600 (a temporary file, fsync'd, renamed, the directory
// fsync'd), so neither a crash nor the umask leaves a half-written or readable key behind.
// POSIX permissions only: on Windows, where Node reports no meaningful mode, the check is skipped.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { RejectedInputError } from '../core/errors.js'

/** A secret's file that other users may access (or that is not a regular file). */
export class InsecureFileError extends RejectedInputError {
  readonly code = 'insecure_file'
}

/** Permission bits of group and others: none may be set on a file holding a secret. */
export const GROUP_OTHER_BITS = 0o077

/**
 * Refuses a secret's file that group or others may read, write or execute, naming `what`, the file, its
 * mode and the chmod that fixes it. A missing file is left to the reader to report.
 * @throws InsecureFileError (`insecure_file`)
 */
export function checkPrivateFile(file: string, what: string): void {
  if (process.platform === 'win32') return
  let stats
  try {
    stats = statSync(file)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
    throw error
  }
  if (!stats.isFile()) throw new InsecureFileError(`${what} ${file} is not a regular file`, { file, what })
  const mode = stats.mode & 0o777
  if ((mode & GROUP_OTHER_BITS) !== 0) {
    throw new InsecureFileError(
      `${what} ${file} is accessible to other users (mode ${mode.toString(8).padStart(4, '0')}); it holds a secret: run chmod 600 ${shellQuote(file)}`,
      { file, what, mode: `0${mode.toString(8)}` },
    )
  }
}

/**
 * Writes `text` to `file` with mode 0600, all or nothing: a temporary file beside it (created 0600, so the
 * umask cannot widen it), fsync'd, renamed over `file`, and the directory fsync'd so the rename survives a
 * crash. The directory is created (mode 0700) when missing.
 */
export function writePrivateFile(file: string, text: string): void {
  const dir = path.dirname(file)
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const temporary = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`)
  const fd = openSync(temporary, 'wx', 0o600)
  try {
    writeSync(fd, text)
    fsyncSync(fd)
  } catch (error) {
    closeSync(fd)
    rmSync(temporary, { force: true })
    throw error
  }
  closeSync(fd)
  renameSync(temporary, file)
  syncDirectory(dir)
}

function syncDirectory(dir: string): void {
  if (process.platform === 'win32') return // directories cannot be opened for fsync there
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** `file` as one shell word: as is when it is plain, else in single quotes. */
export function shellQuote(file: string): string {
  return /^[\w@%+=:,./-]+$/.test(file) ? file : `'${file.replace(/'/g, `'\\''`)}'`
}
