import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type * as Http2 from 'node:http2'
import type { Http2SecureServer, Http2ServerRequest, Http2ServerResponse } from 'node:http2'
import { denialError, type HttpipeVerdict } from './authorize'
import { SAFETY_HEADERS } from './response-headers'
import { sendError } from './error-response'
import { methodNotAllowed, routeNotFound, routerClosed } from './errors'
import { createHandler, type HttpipeHandler } from './handler'
import { asHttp1 } from './http2-compat'
import type { HttpipeOptions } from './options'
import { isExchangePath } from './reqres-route'
import { serveHelp, type HelpContext } from './server-help'

export const MOUNT_PATH = '/channels'

export interface StandaloneServer {
  readonly server: Server
  readonly pipe: HttpipeHandler
}

const HELP_PATHS = new Set(['/', '/help'])
const HELP_METHODS = ['GET', 'HEAD'] as const

/** What the standalone server serves besides the mount: the CLI's `--metrics`, its request log. */
export interface StandaloneFeatures {
  /** `GET /metrics`, outside the mount. Default: not served. */
  readonly metrics?: MetricsEndpoint | undefined
  /** Sees every request as it arrives, before anything answers it (the request log). */
  readonly onRequest?: ((req: IncomingMessage, res: ServerResponse) => void) | undefined
}

export interface MetricsEndpoint {
  readonly contentType: string
  readonly render: () => Promise<string>
  /** Who may scrape: a verdict as `authorize` returns. Default: everyone. */
  readonly allow?: ((req: IncomingMessage) => HttpipeVerdict) | undefined
}

/**
 * The standalone server: the handler mounted at `/channels`, errors answered as `text/plain`, and
 * `GET /` and `GET /help` outside it: the web page for a browser, usage for anything else.
 */
export function createStandaloneServer (options: HttpipeOptions = {}, features: StandaloneFeatures = {}): StandaloneServer {
  const { pipe, listener } = standaloneListener(options, features)
  const server = createServer(listener)
  // With an authorize hook, `Expect: 100-continue` is answered by the hook's verdict: the `100`
  // once it allows (see authorize.ts), a final answer without one when it does not, so a denied
  // client never sends its body. Without one, Node's own answer (an immediate `100`) is right.
  if (options.authorize !== undefined) server.on('checkContinue', listener)
  // A waiting producer has not sent its whole body yet: Node's default (300 s) would cut it off.
  // Waits are bounded by the router's own `timeout` instead.
  server.requestTimeout = 0
  return { server, pipe }
}

export interface SecureStandaloneServer {
  readonly server: Http2SecureServer
  readonly pipe: HttpipeHandler
}

/** A certificate chain and its private key, PEM. */
export interface StandaloneTls {
  readonly cert: string | Buffer
  readonly key: string | Buffer
}

/**
 * The standalone server over TLS: HTTP/2 by ALPN, and HTTP/1.1 on the same port for clients that
 * do not offer it. Express does not run on node:http2; the framework-free handler does, on its
 * compatibility API (see http2-compat.ts); HTTP/1.1 clients get node:http's own request and response.
 */
export function createSecureStandaloneServer (options: HttpipeOptions, tls: StandaloneTls, features: StandaloneFeatures = {}): SecureStandaloneServer {
  const { pipe, listener } = standaloneListener(options, features)
  const secureListener = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse): void => {
    if (req.httpVersionMajor === 2) listener(...asHttp1(req as Http2ServerRequest, res as Http2ServerResponse))
    else listener(req as IncomingMessage, res as ServerResponse)
  }
  // Loaded only now, with TLS: node:http2 (and node:tls under it) are about 4 MB of an idle
  // plain-HTTP server's RSS.
  const { createSecureServer } = require('node:http2') as typeof Http2
  const server = createSecureServer({ allowHTTP1: true, cert: tls.cert, key: tls.key }, secureListener)
  // As in createStandaloneServer(), for the HTTP/1.1 side; an HTTP/2 stream gets Node's own `100`.
  if (options.authorize !== undefined) {
    server.on('checkContinue', (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => {
      if (req.httpVersionMajor === 2) res.writeContinue()
      secureListener(req, res)
    })
  }
  // Node's HTTP/1.1 request timeout (300 s) applies to the HTTP/1.1 side too: off, as above.
  // HTTP/2 streams have no such timeout, and the session idle timeout is off by default.
  // (node:http2's types leave out what its HTTP/1.1 fallback shares with node:http.)
  Object.assign(server, { requestTimeout: 0 })
  return { server, pipe }
}

function standaloneListener (options: HttpipeOptions, features: StandaloneFeatures): { pipe: HttpipeHandler, listener: (req: IncomingMessage, res: ServerResponse) => void } {
  const pipe = createHandler(options)
  // createHandler() has validated the options, so these read them as it does.
  const help: HelpContext = { mount: MOUNT_PATH, listing: options.listing !== false, ui: options.ui === true }
  // /readyz turns 503 as soon as shutdown begins, so a load balancer stops sending new requests.
  let closing = false
  const close = pipe.close
  pipe.close = async () => {
    closing = true
    return await close()
  }
  const { onRequest, metrics } = features
  function standaloneRequest (req: IncomingMessage, res: ServerResponse): void {
    onRequest?.(req, res)
    const url = req.url ?? '/'
    const rest = url.slice(MOUNT_PATH.length)
    if (url.startsWith(MOUNT_PATH) && (rest === '' || rest[0] === '/' || rest[0] === '?')) {
      req.url = rest === '' || rest[0] === '?' ? '/' + rest : rest
      pipe(req, res)
      return
    }
    // The request/response mode (patchbay's /req and /res), outside the channels' mount.
    if (isExchangePath(url)) return pipe.reqres(req, res)
    const path = url.split('?')[0] as string
    const readable = req.method === 'GET' || req.method === 'HEAD'
    const known = HELP_PATHS.has(path) || path === '/healthz' || path === '/readyz' || (path === '/metrics' && metrics !== undefined)
    if (known && !readable) return sendError(req, res, methodNotAllowed(req.method ?? '', HELP_METHODS))
    if (HELP_PATHS.has(path)) return serveHelp(req, res, help)
    if (path === '/healthz') return sendText(req, res, 'ok\n')
    if (path === '/readyz') return closing ? sendError(req, res, routerClosed()) : sendText(req, res, 'ready\n')
    if (path === '/metrics' && metrics !== undefined) return serveMetrics(req, res, metrics)
    // The path only: a query may carry a token, and messages reach logs.
    sendError(req, res, routeNotFound(path, MOUNT_PATH))
  }
  return { pipe, listener: standaloneRequest }
}

function sendText (req: IncomingMessage, res: ServerResponse, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(200, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...SAFETY_HEADERS }).end(req.method === 'HEAD' ? undefined : body)
}

function serveMetrics (req: IncomingMessage, res: ServerResponse, metrics: MetricsEndpoint): void {
  const verdict = metrics.allow?.(req) ?? true
  if (verdict !== true) return sendError(req, res, denialError(verdict, { action: 'list', namespace: 'metrics' }))
  metrics.render().then(text => { sendText(req, res, text, metrics.contentType) }, (err: unknown) => { sendError(req, res, err) })
}
