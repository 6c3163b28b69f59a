import type { IncomingMessage, ServerResponse } from 'node:http'
import { createPipeCore, type HttpipeControls } from './core'
import type { HttpipeOptions } from './options'

/**
 * An Express-compatible middleware serving httpipe channels at its mount path, with `stats()` and
 * `close()`. Typed with `node:http` types only, so that the package's types need no Express types;
 * Express's `Request`, `Response` and `NextFunction` are assignable to these parameters.
 */
export type HttpipeMiddleware = ((req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void) & HttpipeControls & {
  /**
   * The request/response mode: mount it with `app.use(router.reqres)` to serve
   * `/req/{ns}/{ch}[/{path}]` and `/res/{ns}/{ch}` below the mount path; every other path is
   * passed on with `next()`. It shares the router's options, `stats()` and `close()`.
   */
  readonly reqres: (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void
}

/**
 * Creates the middleware. Mount it before any body parser, and give long waits room on the HTTP
 * server (`server.requestTimeout = 0`). It answers every request under its mount path itself and
 * reports errors with `next(err)`; it never calls `next()` without one.
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
export function httpipe (options?: HttpipeOptions): HttpipeMiddleware {
  // The returned function (hoisted) is the router named in diagnostics_channel messages.
  const core = createPipeCore(options, httpipeMiddleware)
  // A plain function rather than an Express Router: the host's app.use() already strips the mount
  // path and restores req.url afterwards, which is all a Router added, and without one the
  // package loads no Express code (createHandler() and the standalone server need none).
  function httpipeMiddleware (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void {
    core.handle(req, res, next)
  }
  function httpipeReqRes (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void {
    core.handleReqRes(req, res, next, () => { next() })
  }
  return Object.assign(httpipeMiddleware, { stats: core.stats, close: core.close, reqres: httpipeReqRes })
}
