import { call, type Call, type FlatHeaders } from './serve-client'
import type { Dispatcher } from 'undici'

/** What forwarding a job needs of the workers that took it (see serve.ts). */
export interface Link {
  readonly relay: URL
  /** Connections to the relay. */
  readonly toRelay: Dispatcher
  /** `Authorization` for the relay's requests only (name, value), or nothing: the local server never sees it. */
  readonly credentials: readonly string[]
  /** The local server, and the connections kept to it. */
  readonly local: { readonly url: URL, readonly to: Dispatcher }
  readonly onError: (err: Error) => void
  readonly stopping: () => boolean
  /** The relay's answer to a request, withdrawable by close() once all of the request is out. */
  readonly waitFor: (sent: Call) => Promise<Call>
}

// Hop-by-hop headers belong to one connection (RFC 9110 §7.6.1): never passed on by a proxy.
// `expect` too: a relay has answered it already, and undici refuses to send one.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host', 'expect'])

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
export async function answer (link: Link, taken: Call, job: string): Promise<Call | undefined> {
  const { relay, toRelay, credentials, local, onError } = link
  const method = taken.header('pb-method') ?? 'GET'
  const uri = taken.header('pb-uri') ?? '/'
  // Most requests have no body: nothing to stream.
  const bodiless = taken.header('content-length') === '0'
  const forwarded = call(local.to, joinPath(local.url.pathname, uri), method, requestHeaders(taken.rawHeaders), bodiless ? null : taken.stream())
  if (bodiless) taken.drain()
  const replyPath = `${relay.pathname}/${encodeURIComponent(job)}${link.stopping() ? '' : '?switch=true'}`
  let localRes: Call
  let whole: Buffer | undefined
  try {
    localRes = await forwarded.answered
    const status = localRes.statusCode
    const length = localRes.header('content-length')
    if (method === 'HEAD' || status === 204 || status === 304 || (length !== undefined && Number(length) <= WHOLE_REPLY_BYTES)) whole = await localRes.whole()
  } catch (err) {
    forwarded.abort()
    onError(new Error(`the local server ${local.url.origin} failed on ${method} ${uri}: ${(err as Error).message}`))
    const body = Buffer.from(`the local server behind this channel did not answer: ${(err as Error).message}\n`)
    const reply = call(toRelay, replyPath, 'POST', [...credentials, 'Pb-Status', '502', 'Pb-H-Content-Type', 'text/plain; charset=utf-8', 'Content-Length', String(body.length)], body)
    return await replied(link, reply, method, uri)
  }
  const headers = replyHeaders(localRes, credentials)
  const length = whole === undefined ? localRes.header('content-length') : String(whole.length)
  if (length !== undefined) headers.push('Content-Length', length)
  // Streamed, a local answer cut mid-body aborts the reply: the relay cuts the requester.
  const reply = call(toRelay, replyPath, 'POST', headers, whole ?? localRes.stream())
  return await replied(link, reply, method, uri)
}

/** The relay's answer to a reply; `undefined` when the reply failed (reported already). */
async function replied (link: Link, reply: Call, method: string, uri: string): Promise<Call | undefined> {
  try {
    return await link.waitFor(reply)
  } catch (err) {
    if (!link.stopping()) link.onError(new Error(`the reply to ${method} ${uri} failed: ${(err as Error).message}`))
    return undefined
  }
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
function replyHeaders (res: Call, credentials: readonly string[]): FlatHeaders {
  const headers: FlatHeaders = [...credentials, 'Pb-Status', String(res.statusCode)]
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
