import { request as httpsRequest } from 'node:https'
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type RequestListener } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Listening {
  readonly url: string
  readonly port: number
  readonly close: () => Promise<void>
}

/** Listens on an ephemeral 127.0.0.1 port; `close()` also drops open connections. */
export async function listen (app: RequestListener): Promise<Listening> {
  const server = createServer(app)
  server.requestTimeout = 0
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}

/**
 * Resolves once `predicate` holds, re-checking once per event-loop turn (no timers, so it works
 * under fake timers). The one polling helper of the suite: `predicate` may be async (a listing
 * fetched over HTTP, when the server is another process). Fails after `ms` of wall time, naming
 * `what` it waited for (or the predicate's source), so a broken test reports instead of hanging.
 */
export async function waitUntil (predicate: () => boolean | Promise<boolean>, ms = 5000, what?: string): Promise<void> {
  const deadline = Date.now() + ms
  while (!await predicate()) {
    if (Date.now() > deadline) throw new Error(`waitUntil: still waiting after ${ms} ms for ${what ?? predicate.toString()}`)
    await new Promise(resolve => setImmediate(resolve))
  }
}

export interface RawResponse {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: Buffer
  /** True when the body ended cleanly; false when the connection was cut mid-body. */
  readonly complete: boolean
}

export interface OpenRequest {
  /** Resolves when the response headers arrive. */
  readonly response: Promise<IncomingMessage>
  /** Resolves with the whole response (or what arrived before the connection was cut). */
  readonly done: Promise<RawResponse>
  /** Writes part of the body (the request stays open until end()). */
  readonly write: (chunk: Buffer | string) => Promise<void>
  readonly end: (chunk?: Buffer | string) => void
  /** Cuts the connection, as a client that goes away does. */
  readonly destroy: () => void
}

/**
 * A raw node:http request, for what supertest cannot do: stream a body piece by piece, disconnect
 * at a chosen moment, and tell a cut-off body from a complete one.
 */
export function open (url: string, method: string, headers: Record<string, string | number> = {}): OpenRequest {
  // https: for the standalone server with --tls-cert, whose test certificate is self-signed.
  const req = url.startsWith('https:')
    ? httpsRequest(url, { method, headers, agent: false, rejectUnauthorized: false })
    : httpRequest(url, { method, headers, agent: false })
  let onResponse: (res: IncomingMessage) => void = () => {}
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    onResponse = resolve
    req.on('error', reject)
  })
  req.once('response', res => { onResponse(res) })
  const done = new Promise<RawResponse>((resolve, reject) => {
    let finish: ((complete: boolean) => void) | undefined
    // A reset once the response has begun is a cut body (a consumer cut off), not a failed request.
    req.on('error', err => { if (finish === undefined) reject(err); else finish(false) })
    req.once('response', res => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      const settle = (complete: boolean): void => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), complete })
      }
      finish = settle
      res.once('end', () => { settle(res.complete) })
      res.once('error', () => { settle(false) })
      res.once('close', () => { if (!res.complete) settle(false) })
    })
  })
  // Callers that only care about `response` should not see unhandled rejections from `done`.
  done.catch(() => {})
  response.catch(() => {})
  if (method === 'GET' || method === 'DELETE' || method === 'HEAD') req.end()
  return {
    response,
    done,
    write: async chunk => { await new Promise<void>((resolve, reject) => req.write(chunk, err => { if (err == null) resolve(); else reject(err) })) },
    end: chunk => { req.end(chunk) },
    destroy: () => { req.destroy() }
  }
}

/** A full request with a whole body, for when only the outcome matters. */
export async function send (url: string, method: string, body?: Buffer | string, headers: Record<string, string | number> = {}): Promise<RawResponse> {
  const request = open(url, method, headers)
  if (!(method === 'GET' || method === 'DELETE' || method === 'HEAD')) request.end(body)
  return await request.done
}
