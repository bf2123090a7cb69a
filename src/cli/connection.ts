// How a `channels` command finds its node (ADR 0011): `<data dir>/node.json` names its RPC URL and
// `<data dir>/rpc.secret` holds the API secret; or `--url` with `--secret` / CHANNELS_RPC_SECRET. A missing
// data dir, node.json or secret, or nothing listening at the URL, is one readable line (CliFailure, exit 1).
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { ChannelsClient, RequestFailedError } from '../client/client.js'
import { NODE_INFO_FILE, SECRET_FILE } from '../node/files.js'
import type { NodeInfoFile } from '../node/node.js'
import type { Writer } from './format.js'
import { CliFailure, UsageError } from './format.js'
import { escapeText } from './sanitize.js'

export interface Connection {
  readonly url: string
  readonly secret: string
  /** node.json, when the node was found through its data dir. */
  readonly file?: NodeInfoFile
}

/** Where the node is, from the global options (--data-dir, --url, --secret) and the environment; reads no network. */
export function resolveConnection(values: Readonly<Record<string, string | boolean | undefined>>, env: Readonly<Record<string, string | undefined>>): Connection {
  const secretGiven = typeof values.secret === 'string' ? values.secret : env.CHANNELS_RPC_SECRET
  const dirGiven = typeof values['data-dir'] === 'string' ? values['data-dir'] : undefined
  if (typeof values.url === 'string') {
    if (!/^https?:\/\/[^\s]+$/.test(values.url)) throw new UsageError(`--url must be an http:// URL, got '${values.url.slice(0, 80)}'`)
    if (secretGiven) return { url: values.url, secret: secretGiven.trim() }
    if (dirGiven) return { url: values.url, secret: readSecret(path.resolve(dirGiven)) }
    throw new UsageError(`no API secret for ${values.url}: pass --secret <hex> or set CHANNELS_RPC_SECRET (a node keeps it in <data dir>/${SECRET_FILE})`)
  }
  const dataDir = path.resolve(dirGiven ?? env.CHANNELS_DATA_DIR ?? 'data')
  if (!existsSync(dataDir)) throw new CliFailure(`no data dir ${dataDir}: pass --data-dir <dir> of a node, or --url and --secret`)
  const infoFile = path.join(dataDir, NODE_INFO_FILE)
  if (!existsSync(infoFile)) {
    const nested = readdirSync(dataDir).filter((name) => existsSync(path.join(dataDir, name, NODE_INFO_FILE)))
    const hint = nested.length > 0 ? `; running nodes keep their data in ${nested.map((n) => path.join(dirGiven ?? 'data', n)).join(', ')}: pass one as --data-dir` : ' (start one with `npm start` or `channels node`)'
    throw new CliFailure(`no node running with data dir ${dataDir}: it has no ${NODE_INFO_FILE}${hint}`)
  }
  let file: NodeInfoFile
  try {
    file = JSON.parse(readFileSync(infoFile, 'utf8')) as NodeInfoFile
  } catch (error) {
    throw new CliFailure(`cannot read ${infoFile}`, {}, { cause: error })
  }
  if (typeof file.rpcUrl !== 'string') throw new CliFailure(`${infoFile} names no rpcUrl`)
  return { url: file.rpcUrl, secret: secretGiven?.trim() ?? readSecret(dataDir), file }
}

function readSecret(dataDir: string): string {
  const file = path.join(dataDir, SECRET_FILE)
  try {
    return readFileSync(file, 'utf8').trim()
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : (error as Error).message
    throw new CliFailure(`cannot read the API secret ${file}: ${reason} (pass --secret or set CHANNELS_RPC_SECRET)`)
  }
}

/** A client for the node; nothing listening at its URL is a CliFailure saying how to start one. */
export async function connect(connection: Connection, err: Writer): Promise<ChannelsClient> {
  try {
    return await ChannelsClient.connect({ url: connection.url, secret: connection.secret, onError: (error) => err.write(`warning: ${escapeText(error.message)}\n`) })
  } catch (error) {
    if (error instanceof RequestFailedError && causedBy(error, 'ECONNREFUSED')) {
      throw new CliFailure(`no node running at ${connection.url} (start one with \`npm start\` or \`channels node\`)`)
    }
    throw error
  }
}

function causedBy(error: unknown, code: string): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if ((e as NodeJS.ErrnoException).code === code) return true
    if (e instanceof AggregateError && e.errors.some((inner) => causedBy(inner, code))) return true
  }
  return false
}
