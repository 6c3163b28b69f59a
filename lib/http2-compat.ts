import { ServerResponse, type IncomingMessage } from 'node:http'
import type * as Http2 from 'node:http2'
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2'

/**
 * Lets the node:http core serve a request of node:http2's compatibility API. The two agree on
 * what the core uses (headers, `writeHead`, streaming both ways, `'close'` when the stream ends
 * or is reset, `destroy()` as RST_STREAM), except that HTTP/2 forbids the connection-specific
 * headers of HTTP/1.1 (RFC 9113 §8.2.2): Node throws on `Connection: close`, which the core sets
 * on some error answers for HTTP/1.1 only, and would throw on any other that reached it. They are
 * dropped here; each stream has its own end and reset, so nothing else needs them.
 *
 * And `destroy()` without an error, which the core uses to cut a consumer whose transfer failed,
 * resets an HTTP/2 stream with NO_ERROR: a client reads that as a normal end when the message
 * has no Content-Length. The core's cut must stay visible, so it resets with INTERNAL_ERROR.
 */
export function asHttp1 (req: Http2ServerRequest, res: Http2ServerResponse): [IncomingMessage, ServerResponse]
// What it returns is what it was given: the signature above is the one claim, made here only, that
// the compatibility objects do what the core asks of node:http's (the paragraph above says why).
export function asHttp1 (req: Http2ServerRequest, res: Http2ServerResponse): [object, object] {
  const { constants } = http2 ??= require('node:http2') as typeof Http2
  const setHeader = res.setHeader.bind(res)
  const writeHead = res.writeHead.bind(res) as (status: number, headers?: Record<string, unknown>) => Http2ServerResponse
  res.setHeader = function setHttp2Header (name: string, value: number | string | readonly string[]) {
    if (!CONNECTION_HEADERS.has(name.toLowerCase())) setHeader(name, value)
    return this
  }
  res.writeHead = function writeHttp2Head (status: number, ...rest: unknown[]) {
    const headers = rest.find(arg => typeof arg === 'object' && arg !== null) as Record<string, unknown> | undefined
    return writeHead(status, headers === undefined ? undefined : withoutConnectionHeaders(headers))
  } as typeof res.writeHead
  const destroy = res.destroy.bind(res)
  res.destroy = function destroyHttp2Response (err?: Error) {
    if (err === undefined && !res.stream.closed) res.stream.close(constants.NGHTTP2_INTERNAL_ERROR)
    return destroy(err)
  }
  return [req, res]
}

/**
 * node:http2, once an HTTP/2 request has come through asHttp1(): loaded only then, so that a
 * plain-HTTP server never loads it (and no HTTP/2 response can exist before).
 */
let http2: typeof Http2 | undefined

const CONNECTION_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade'])

function withoutConnectionHeaders (headers: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !CONNECTION_HEADERS.has(name.toLowerCase())))
}

/**
 * Whether a sink is an HTTP response (whose head the core writes) rather than a plain stream: a
 * node:http response, or a node:http2 one that asHttp1() passed off as one.
 */
export function isServerResponse (sink: unknown): sink is ServerResponse {
  return sink instanceof ServerResponse || (http2 !== undefined && sink instanceof http2.Http2ServerResponse)
}
