import type { IncomingMessage, ServerResponse } from 'node:http'
import { createPipeCore, type HttpipeControls } from './core'
import { sendError } from './error-response'
import { routeNotFound } from './errors'
import type { HttpipeOptions } from './options'

/** A plain `node:http` request listener serving httpipe channels, with `stats()` and `close()`. */
export type HttpipeHandler = ((req: IncomingMessage, res: ServerResponse) => void) & HttpipeControls

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
  return Object.assign(httpipeHandler, { stats: core.stats, close: core.close })
}
