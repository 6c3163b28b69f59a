import { once } from 'node:events'
import { request as httpRequest, type Agent as HttpAgent, type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { Readable, Writable } from 'node:stream'

/** What forwarding a job needs of the workers that took it (see serve.ts). */
export interface Link {
  readonly relay: URL
  readonly relayAgent: HttpAgent
  /** `Authorization` for the relay's requests only: the local server never sees it. */
  readonly credentials: OutgoingHttpHeaders
  /** The local server, and the agent that keeps connections to it. */
  readonly local: { readonly url: URL, readonly agent: HttpAgent }
  readonly onError: (err: Error) => void
  readonly stopping: () => boolean
  /** The relay's answer to a request, withdrawable by close() (a reply only once all of it is out: `sent`). */
  readonly waitFor: (req: ClientRequest, sent?: Promise<unknown>) => Promise<IncomingMessage>
}

// Hop-by-hop headers belong to one connection (RFC 9110 §7.6.1): never passed on by a proxy.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host'])

/**
 * Forwards one taken request to the local server and its answer to the job URL. Returns the
 * relay's answer to the reply: with `?switch=true` (unless stopping), the next job.
 */
export async function answer (link: Link, taken: IncomingMessage, job: string): Promise<IncomingMessage | undefined> {
  const { relay, relayAgent, credentials, local, onError } = link
  const method = String(taken.headers['pb-method'] ?? 'GET')
  const uri = String(taken.headers['pb-uri'] ?? '/')
  const headers = requestHeaders(taken.rawHeaders)
  headers.Host = local.url.host
  const forwarded = send(local.url, joinPath(local.url.pathname, uri), method, headers, local.agent)
  const replyPath = `${relay.pathname}/${encodeURIComponent(job)}${link.stopping() ? '' : '?switch=true'}`
  let localRes: IncomingMessage
  try {
    const [, answered] = await Promise.all([forward(taken, forwarded), response(forwarded)])
    localRes = answered
  } catch (err) {
    forwarded.destroy()
    onError(new Error(`the local server ${local.url.origin} failed on ${method} ${uri}: ${(err as Error).message}`))
    const body = `the local server behind this channel did not answer: ${(err as Error).message}\n`
    const reply = send(relay, replyPath, 'POST', { ...credentials, 'Pb-Status': '502', 'Pb-H-Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) }, relayAgent)
    reply.end(body)
    return await replied(link, reply, method, uri)
  }
  const bodiless = method === 'HEAD' || localRes.statusCode === 204 || localRes.statusCode === 304
  const replyHeaders: OutgoingHttpHeaders = { ...replyHeadersOf(localRes), 'Pb-Status': String(localRes.statusCode ?? 502) }
  const length = localRes.headers['content-length']
  if (bodiless) replyHeaders['Content-Length'] = '0'
  else if (length !== undefined) replyHeaders['Content-Length'] = length
  const reply = send(relay, replyPath, 'POST', { ...credentials, ...replyHeaders }, relayAgent)
  const answered = replied(link, reply, method, uri)
  // A local answer cut mid-body destroys the reply: the relay cuts the requester.
  forward(localRes, reply).catch((err: unknown) => { onError(new Error(`the reply to ${method} ${uri} failed: ${(err as Error).message}`)) })
  return await answered
}

/** The relay's answer to a reply; `undefined` when the reply failed (reported already). */
async function replied (link: Link, reply: ClientRequest, method: string, uri: string): Promise<IncomingMessage | undefined> {
  try {
    return await link.waitFor(reply, once(reply, 'finish'))
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

export function send (base: URL, path: string, method: string, headers: OutgoingHttpHeaders, agent: HttpAgent): ClientRequest {
  const options = { protocol: base.protocol, hostname: base.hostname, port: base.port, path, method, headers, agent }
  const req = base.protocol === 'https:' ? httpsRequest(options) : httpRequest(options)
  // A head and a body written apart would wait for the peer's delayed ACK (Nagle): 40 ms a request.
  req.setNoDelay(true)
  return req
}

export async function response (req: ClientRequest): Promise<IncomingMessage> {
  const [res] = await once(req, 'response') as [IncomingMessage]
  return res
}

/** The requester's headers, from the relay's `Pb-H-*`, duplicates kept. */
function requestHeaders (raw: readonly string[]): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {}
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string
    if (name.length <= 5 || name.slice(0, 5).toLowerCase() !== 'pb-h-') continue
    const relayed = name.slice(5)
    if (HOP_BY_HOP.has(relayed.toLowerCase())) continue
    const existing = headers[relayed]
    const value = raw[i + 1] as string
    headers[relayed] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value]
  }
  return headers
}

/** The local answer's headers as `Pb-H-*`, duplicates kept; the relay drops what must not pass. */
function replyHeadersOf (res: IncomingMessage): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {}
  const raw = res.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string
    if (HOP_BY_HOP.has(name.toLowerCase())) continue
    const key = `Pb-H-${name}`
    const existing = headers[key]
    const value = raw[i + 1] as string
    headers[key] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value]
  }
  return headers
}

function joinPath (base: string, uri: string): string {
  return base === '/' || base === '' ? uri : base.replace(/\/$/, '') + uri
}
