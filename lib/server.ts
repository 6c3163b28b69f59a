import { createServer, type Server } from 'node:http'
import { sendError } from './error-response'
import { routeNotFound } from './errors'
import { createHandler, type HttpipeHandler } from './handler'
import type { HttpipeOptions } from './options'

export const MOUNT_PATH = '/channels'

export interface StandaloneOptions extends HttpipeOptions {
  /**
   * Node's limit on receiving a whole request, in ms; `0` for none. A waiting producer has not
   * sent its whole body yet, so any limit also caps how long it can wait. Default: `0`.
   */
  requestTimeout?: number | undefined
}

export interface StandaloneServer {
  readonly server: Server
  readonly pipe: HttpipeHandler
}

/** The standalone server: the handler mounted at `/channels`, errors answered as `text/plain`. */
export function createStandaloneServer (options: StandaloneOptions = {}): StandaloneServer {
  const { requestTimeout = 0, ...pipeOptions } = options
  const pipe = createHandler(pipeOptions)
  const server = createServer(function standaloneRequest (req, res) {
    const url = req.url ?? '/'
    const rest = url.slice(MOUNT_PATH.length)
    if (url.startsWith(MOUNT_PATH) && (rest === '' || rest[0] === '/' || rest[0] === '?')) {
      req.url = rest === '' || rest[0] === '?' ? '/' + rest : rest
      pipe(req, res)
      return
    }
    sendError(req, res, routeNotFound(url))
  })
  server.requestTimeout = requestTimeout
  return { server, pipe }
}
