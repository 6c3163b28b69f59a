import { request as httpRequest, type Agent as HttpAgent, type ClientRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { Readable, Writable } from 'node:stream'

/** What forwarding a job needs of the workers that took it (see serve.ts). */
export interface Link {
  readonly relay: URL
  readonly relayAgent: HttpAgent
  /** `Authorization` for the relay's requests only (name, value), or nothing: the local server never sees it. */
  readonly credentials: readonly string[]
  /** The local server, and the agent that keeps connections to it. */
  readonly local: { readonly url: URL, readonly agent: HttpAgent }
  readonly onError: (err: Error) => void
  readonly stopping: () => boolean
  /** The relay's answer to a request, withdrawable by close() (a reply only once all of it is out: `sent`). */
  readonly waitFor: (req: ClientRequest, sent?: Promise<unknown>) => Promise<IncomingMessage>
}

/** Headers as `http.request()` takes them flat (name, value, …): rendered once, with no setHeader() per name. */
export type FlatHeaders = string[]

// Hop-by-hop headers belong to one connection (RFC 9110 §7.6.1): never passed on by a proxy.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host'])

/**
 * Local answers of at most this many bytes (declared) are read whole and sent as the reply in one
 * write; larger and chunked ones stream. Most of what a development server answers is this small,
 * and a pipe between two sockets cost more than the rest of the reply.
 */
const WHOLE_REPLY_BYTES = 64 * 1024

/**
 * Forwards one taken request to the local server and its answer to the job URL. Returns the
 * relay's answer to the reply: with `?switch=true` (unless stopping), the next job.
 */
export async function answer (link: Link, taken: IncomingMessage, job: string): Promise<IncomingMessage | undefined> {
  const { relay, relayAgent, credentials, local, onError } = link
  const method = String(taken.headers['pb-method'] ?? 'GET')
  const uri = String(taken.headers['pb-uri'] ?? '/')
  const forwarded = send(local.url, joinPath(local.url.pathname, uri), method, requestHeaders(taken.rawHeaders), local.agent)
  const replyPath = `${relay.pathname}/${encodeURIComponent(job)}${link.stopping() ? '' : '?switch=true'}`
  let localRes: IncomingMessage
  let whole: Buffer | undefined
  try {
    const answered = response(forwarded)
    if (taken.headers['content-length'] === '0') {
      // Most requests have no body: nothing to stream.
      taken.resume()
      forwarded.end()
      localRes = await answered
    } else {
      localRes = (await Promise.all([forward(taken, forwarded), answered]))[1]
    }
    const bodiless = method === 'HEAD' || localRes.statusCode === 204 || localRes.statusCode === 304
    const length = localRes.headers['content-length']
    if (bodiless || (length !== undefined && Number(length) <= WHOLE_REPLY_BYTES)) whole = await readWhole(localRes)
  } catch (err) {
    forwarded.destroy()
    onError(new Error(`the local server ${local.url.origin} failed on ${method} ${uri}: ${(err as Error).message}`))
    const body = `the local server behind this channel did not answer: ${(err as Error).message}\n`
    const reply = send(relay, replyPath, 'POST', [...credentials, 'Pb-Status', '502', 'Pb-H-Content-Type', 'text/plain; charset=utf-8', 'Content-Length', String(Buffer.byteLength(body))], relayAgent)
    reply.end(body)
    return await replied(link, reply, method, uri)
  }
  const headers = replyHeaders(localRes, credentials)
  const length = whole === undefined ? localRes.headers['content-length'] : String(whole.length)
  if (length !== undefined) headers.push('Content-Length', length)
  const reply = send(relay, replyPath, 'POST', headers, relayAgent)
  const answered = replied(link, reply, method, uri)
  if (whole !== undefined) reply.end(whole)
  // A local answer cut mid-body destroys the reply: the relay cuts the requester.
  else forward(localRes, reply).catch((err: unknown) => { onError(new Error(`the reply to ${method} ${uri} failed: ${(err as Error).message}`)) })
  return await answered
}

/** The relay's answer to a reply; `undefined` when the reply failed (reported already). */
async function replied (link: Link, reply: ClientRequest, method: string, uri: string): Promise<IncomingMessage | undefined> {
  try {
    return await link.waitFor(reply, finished(reply))
  } catch (err) {
    if (!link.stopping()) link.onError(new Error(`the reply to ${method} ${uri} failed: ${(err as Error).message}`))
    return undefined
  }
}

/**
 * Streams `from` into `to` with backpressure; rejects (destroying `to`) when either fails. What
 * stream.pipeline() does for two streams, without its per-call AbortController, which cost a
 * tenth of a worker's CPU on small requests.
 */
async function forward (from: Readable, to: Writable): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let ended = false
    function fail (err?: Error): void {
      cleanup()
      to.destroy(err)
      reject(err ?? new Error('the connection closed before the body ended'))
    }
    function onFromClose (): void { if (!ended) fail() }
    function onToClose (): void { if (!to.writableFinished) fail() }
    function onEnd (): void { ended = true }
    function onFinish (): void {
      cleanup()
      resolve()
    }
    function cleanup (): void {
      from.off('error', fail).off('close', onFromClose).off('end', onEnd)
      to.off('error', fail).off('close', onToClose).off('finish', onFinish)
    }
    from.on('error', fail).on('close', onFromClose).on('end', onEnd)
    to.on('error', fail).on('close', onToClose).on('finish', onFinish)
    from.pipe(to)
  })
}

/** A body known to be small, whole; rejects when it is cut before its end. */
async function readWhole (res: IncomingMessage): Promise<Buffer> {
  return await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = []
    function onData (chunk: Buffer): void { chunks.push(chunk) }
    function onEnd (): void {
      res.off('data', onData).off('error', onClose).off('close', onClose)
      resolve(chunks.length === 1 ? chunks[0] as Buffer : Buffer.concat(chunks))
    }
    function onClose (err?: Error): void {
      res.off('data', onData).off('end', onEnd)
      reject(err ?? new Error('its answer was cut before its end'))
    }
    res.on('data', onData).once('end', onEnd).once('error', onClose).once('close', onClose)
  })
}

/** Sends a request to `base`'s origin; `headers` gets its `Host` (Node adds none to flat headers). */
export function send (base: URL, path: string, method: string, headers: FlatHeaders, agent: HttpAgent): ClientRequest {
  headers.push('Host', base.host)
  const options = { protocol: base.protocol, hostname: base.hostname, port: base.port, path, method, headers, agent }
  const req = base.protocol === 'https:' ? httpsRequest(options) : httpRequest(options)
  // A head and a body written apart would wait for the peer's delayed ACK (Nagle): 40 ms a request.
  req.setNoDelay(true)
  return req
}

/** The response to `req`; rejects when `req` fails first. Lighter than events.once(), with no AbortSignal to watch. */
export async function response (req: ClientRequest): Promise<IncomingMessage> {
  return await new Promise<IncomingMessage>((resolve, reject) => {
    function onResponse (res: IncomingMessage): void {
      req.off('error', onError)
      resolve(res)
    }
    function onError (err: Error): void {
      req.off('response', onResponse)
      reject(err)
    }
    req.once('response', onResponse).once('error', onError)
  })
}

/** Resolves once all of `req` is out (or it failed: its response, awaited beside, says how). */
async function finished (req: ClientRequest): Promise<void> {
  await new Promise<void>(resolve => {
    function done (): void {
      req.off('finish', done).off('close', done)
      resolve()
    }
    req.once('finish', done).once('close', done)
  })
}

/** The requester's headers, from the relay's `Pb-H-*` (duplicates kept). */
function requestHeaders (raw: readonly string[]): FlatHeaders {
  const headers: FlatHeaders = []
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string
    if (name.length <= 5 || name.slice(0, 5).toLowerCase() !== 'pb-h-') continue
    const relayed = name.slice(5)
    if (HOP_BY_HOP.has(relayed.toLowerCase())) continue
    headers.push(relayed, raw[i + 1] as string)
  }
  return headers
}

/** The reply's head: the local answer's status, its headers as `Pb-H-*` (duplicates kept; the relay drops what must not pass). */
function replyHeaders (res: IncomingMessage, credentials: readonly string[]): FlatHeaders {
  const headers: FlatHeaders = [...credentials, 'Pb-Status', String(res.statusCode ?? 502)]
  const raw = res.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string
    if (HOP_BY_HOP.has(name.toLowerCase())) continue
    headers.push(`Pb-H-${name}`, raw[i + 1] as string)
  }
  return headers
}

function joinPath (base: string, uri: string): string {
  return base === '/' || base === '' ? uri : base.replace(/\/$/, '') + uri
}
