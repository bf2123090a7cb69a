// A JSON-RPC proxy for tests (issue 15): node:http in front of a chain node's URL that passes requests through
// until told to fail in one of the ways a real endpoint fails:
// - an outage: every request is answered HTTP 503 for a while (a provider down or rate-limiting), from now or
//   from the first request for one of given methods (so a test can start it exactly when the node begins to send);
// - swallowed transactions: the next N eth_sendRawTransaction calls are answered with the transaction's hash,
//   as if accepted, and never forwarded (a load-balanced endpoint whose node dropped them).
// It records every eth_sendRawTransaction it saw, so a test can read the versions of a transaction that were sent.
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { keccak256 } from 'viem'
import type { Hex } from '../../src/core/types.js'

interface JsonRpcRequest {
  readonly jsonrpc?: string
  readonly id?: unknown
  readonly method?: string
  readonly params?: readonly unknown[]
}

/** One eth_sendRawTransaction the proxy saw (outside an outage). */
export interface SeenRawTransaction {
  readonly raw: Hex
  /** keccak256 of the raw bytes: the transaction's hash. */
  readonly hash: Hex
  readonly swallowed: boolean
}

export interface RpcProxy {
  /** http://127.0.0.1:PORT */
  readonly url: string
  /** HTTP 503 to every request for `durationMs`: from now, or from the first request for one of the `startOn` methods. */
  outage(durationMs: number, p?: { readonly startOn?: readonly string[] }): void
  /** Whether requests are being refused now. */
  readonly down: boolean
  /** The next `count` eth_sendRawTransaction calls are answered with their hash and never forwarded. */
  swallowRawTransactions(count: number): void
  /** Every eth_sendRawTransaction that arrived outside an outage, in order. */
  readonly rawTransactions: readonly SeenRawTransaction[]
  /** Requests answered with 503 so far. */
  readonly refused: number
  close(): Promise<void>
}

export async function startRpcProxy(target: string): Promise<RpcProxy> {
  let downUntil = 0
  let armed: { readonly startOn: readonly string[]; readonly durationMs: number } | undefined
  let toSwallow = 0
  let refused = 0
  const rawTransactions: SeenRawTransaction[] = []

  const forward = async (request: JsonRpcRequest): Promise<unknown> => {
    const response = await fetch(target, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) })
    return response.json()
  }
  const answer = async (request: JsonRpcRequest): Promise<unknown> => {
    if (request.method !== 'eth_sendRawTransaction') return forward(request)
    const raw = request.params?.[0] as Hex
    const swallowed = toSwallow > 0
    rawTransactions.push({ raw, hash: keccak256(raw), swallowed })
    if (!swallowed) return forward(request)
    toSwallow--
    return { jsonrpc: '2.0', id: request.id, result: keccak256(raw) }
  }
  const isDown = (requests: readonly JsonRpcRequest[]): boolean => {
    if (armed && requests.some((r) => r.method !== undefined && armed!.startOn.includes(r.method))) {
      downUntil = Date.now() + armed.durationMs
      armed = undefined
    }
    return Date.now() < downUntil
  }
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as JsonRpcRequest | JsonRpcRequest[]
    const requests = Array.isArray(body) ? body : [body]
    if (isDown(requests)) {
      refused++
      res.writeHead(503, { 'content-type': 'text/plain' }).end('service unavailable (rpcProxy outage)')
      return
    }
    // A batch is answered element by element, so one swallowed transaction in it does not hide the others.
    const answers = await Promise.all(requests.map(answer))
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(Array.isArray(body) ? answers : answers[0]))
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // The target itself failed (anvil stopped): say so as a gateway would, and let the client decide.
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' })
      res.end(`rpcProxy: ${error instanceof Error ? error.message : String(error)}`)
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    outage(durationMs, p = {}) {
      if (p.startOn === undefined) downUntil = Date.now() + durationMs
      else armed = { startOn: p.startOn, durationMs }
    },
    get down() {
      return Date.now() < downUntil
    },
    swallowRawTransactions(count) {
      toSwallow += count
    },
    rawTransactions,
    get refused() {
      return refused
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()))
        server.closeAllConnections() // clients keep connections alive; close would wait for them
      }),
  }
}
