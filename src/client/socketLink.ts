// One WebSocket to the node, for the client's subscriptions: requests matched to answers by id,
// notifications handed on, the secret on the upgrade request.
import WebSocket from 'ws'
import { z } from 'zod'
import { InvalidResponseError, RequestFailedError, RpcError } from './errors.js'

/** The largest WebSocket message accepted from the node (a ledger view with 1,000 guarantees is ~250 KB). */
const MAX_SOCKET_MESSAGE_BYTES = 16 * 1024 * 1024

export interface LinkHandlers {
  readonly onMessage: (notification: Record<string, unknown>) => void
  readonly onError: (error: Error) => void
  readonly onClose: () => void
}

/** A WebSocket to the node: requests matched to answers by id, notifications handed on. */
export class SocketLink {
  readonly #pending = new Map<number, { resolve: (answer: unknown) => void; reject: (error: Error) => void }>()
  #closed = false

  private constructor(
    readonly ws: WebSocket,
    readonly handlers: LinkHandlers,
  ) {
    ws.on('message', (data: WebSocket.RawData) => this.#onMessage(data))
    ws.on('close', () => {
      this.#closed = true
      for (const { reject } of this.#pending.values()) reject(new RequestFailedError('the WebSocket closed before the answer'))
      this.#pending.clear()
      handlers.onClose()
    })
  }

  get closed(): boolean {
    return this.#closed
  }

  /** Opens a socket with the secret on the upgrade request. A refusal (401, …) rejects with the node's RpcError. */
  static open(url: string, secret: string, handlers: LinkHandlers): Promise<SocketLink> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${secret}` }, maxPayload: MAX_SOCKET_MESSAGE_BYTES })
      let settled = false
      const fail = (error: Error) => {
        if (settled) return handlers.onError(error)
        settled = true
        reject(error)
      }
      ws.once('unexpected-response', (req, res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => {
          fail(refusalOf(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')))
          req.destroy()
        })
      })
      ws.on('error', (error) => fail(new RequestFailedError(`WebSocket ${url}: ${error.message}`, {}, { cause: error })))
      ws.once('open', () => {
        settled = true
        resolve(new SocketLink(ws, handlers))
      })
    })
  }

  request(text: string, id: number, timeoutMs: number): Promise<unknown> {
    if (this.#closed) return Promise.reject(new RequestFailedError('the WebSocket is closed'))
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new RequestFailedError(`no answer within ${timeoutMs} ms`, { timeoutMs }))
      }, timeoutMs)
      const done = <A extends unknown[]>(f: (...a: A) => void) => (...a: A) => {
        clearTimeout(timer)
        this.#pending.delete(id)
        f(...a)
      }
      this.#pending.set(id, { resolve: done(resolve), reject: done(reject) })
      this.ws.send(text, (error) => error && this.#pending.get(id)?.reject(new RequestFailedError('the WebSocket send failed', {}, { cause: error })))
    })
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve()
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve())
      this.ws.close(1000)
    })
  }

  #onMessage(data: WebSocket.RawData): void {
    let message: unknown
    try {
      message = JSON.parse((Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer)).toString('utf8'))
    } catch (cause) {
      this.handlers.onError(new InvalidResponseError('a WebSocket message is not JSON', {}, { cause }))
      return
    }
    for (const item of Array.isArray(message) ? message : [message]) {
      if (typeof item !== 'object' || item === null) continue
      const record = item as Record<string, unknown>
      if (typeof record.method === 'string' && !Object.hasOwn(record, 'id')) this.handlers.onMessage(record)
      else if (typeof record.id === 'number' && this.#pending.has(record.id)) this.#pending.get(record.id)!.resolve(record)
      else this.handlers.onError(new InvalidResponseError('a WebSocket answer matches no call', { id: String(record.id).slice(0, 40) }))
    }
  }
}

/** The node's JSON-RPC error from a refused upgrade, or a description of what came back instead. */
function refusalOf(status: number, body: string): Error {
  try {
    const parsed = z.object({ error: z.object({ code: z.number(), message: z.string(), data: z.unknown().optional() }) }).parse(JSON.parse(body))
    return new RpcError(parsed.error.code, parsed.error.message, parsed.error.data)
  } catch {
    return new RequestFailedError(`the WebSocket upgrade was refused with HTTP ${status}`, { status })
  }
}
