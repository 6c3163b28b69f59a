import type { IncomingMessage, ServerResponse } from 'node:http'
import { createPipeCore, type HttpipeControls } from './core'
import { sendError } from './error-response'
import { exchangeRouteNotFound, routeNotFound } from './errors'
import type { HttpipeOptions } from './options'

/** A plain `node:http` request listener serving httpipe channels, with `stats()` and `close()`. */
export type HttpipeHandler = ((req: IncomingMessage, res: ServerResponse) => void) & HttpipeControls & {
  /**
   * The request/response mode: serves `/req/{ns}/{ch}[/{path}]` and `/res/{ns}/{ch}` (paths read
   * from the root, as for the handler itself); any other path gets `404`.
   */
  readonly reqres: (req: IncomingMessage, res: ServerResponse) => void
}

/**
 * Creates a framework-free request listener with the same contract as {@link httpipe}, for
 * `http.createServer()`. Paths are read from the root: strip any prefix before calling it.
 * Errors are answered as `text/plain` (message and newline).
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http'
 * import { createHandler } from 'httpipe'
 *
 * const server = createServer(createHandler({ timeout: 60_000 })).listen(3000)
 * server.requestTimeout = 0
 * ```
 * @throws TypeError when an option is invalid, naming it.
 */
export function createHandler (options?: HttpipeOptions): HttpipeHandler {
  // The returned function (hoisted) is the router named in diagnostics_channel messages.
  const core = createPipeCore(options, httpipeHandler)
  function httpipeHandler (req: IncomingMessage, res: ServerResponse): void {
    core.handle(req, res, err => { sendError(req, res, err ?? routeNotFound(req.url ?? '/')) })
  }
  function httpipeReqRes (req: IncomingMessage, res: ServerResponse): void {
    const answer = (err?: unknown): void => { sendError(req, res, err ?? exchangeRouteNotFound(req.url ?? '/')) }
    core.handleReqRes(req, res, answer, answer)
  }
  return Object.assign(httpipeHandler, { stats: core.stats, close: core.close, reqres: httpipeReqRes })
}
