import { Router } from 'express'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createPipeCore, type HttpipeControls, type Next } from './core'
import type { HttpipeOptions } from './options'

/** What Express routers have at run time and `@types/express` leaves out. */
interface Dispatcher {
  stack: unknown[]
  handle: (req: IncomingMessage, res: ServerResponse, next: Next) => void
}

/** An Express router that serves httpipe channels, with `stats()` and `close()`. */
export type HttpipeRouter = Router & HttpipeControls

/**
 * Creates the Express router. Mount it before any body parser, and give long waits room on the
 * HTTP server (`server.requestTimeout = 0`).
 *
 * @example
 * ```ts
 * import express from 'express'
 * import { httpipe } from 'httpipe'
 *
 * const app = express()
 * app.use('/channels', httpipe({ timeout: 60_000, limits: { bodySize: 100 * 1024 * 1024 } }))
 * const server = app.listen(3000)
 * server.requestTimeout = 0
 * ```
 * @throws TypeError when an option is invalid, naming it.
 */
export function httpipe (options?: HttpipeOptions): HttpipeRouter {
  const core = createPipeCore(options)
  const router = Router()
  router.use(function httpipeChannels (req, res, next) {
    core.handle(req, res, next)
  })
  // While that layer, which takes every path, is the router's only one, the router's dispatch
  // (a stack walk, URL parsing, and restoring req.baseUrl and req.params on the way out) changes
  // nothing but costs time on every request: about 3 % of the pairs/s of small messages (bench/).
  // Layers added later get the full dispatch back.
  const dispatcher = router as unknown as Dispatcher
  const dispatch = dispatcher.handle
  dispatcher.handle = function handle (req, res, next) {
    if (dispatcher.stack.length !== 1 || typeof next !== 'function') return dispatch.call(router, req, res, next)
    core.handle(req, res, next)
  }
  return Object.assign(router, { stats: core.stats, close: core.close })
}
