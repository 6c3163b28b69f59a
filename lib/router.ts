import { Router } from 'express'
import { createPipeCore, type HttpipeControls } from './core'
import type { HttpipeOptions } from './options'

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
  return Object.assign(router, { stats: core.stats, close: core.close })
}
