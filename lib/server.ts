import { createServer, type Server } from 'node:http'
import { sendError } from './error-response'
import { methodNotAllowed, routeNotFound } from './errors'
import { createHandler, type HttpipeHandler } from './handler'
import type { HttpipeOptions } from './options'
import { serveHelp, type HelpContext } from './server-help'

export const MOUNT_PATH = '/channels'

export interface StandaloneServer {
  readonly server: Server
  readonly pipe: HttpipeHandler
}

const HELP_PATHS = new Set(['/', '/help'])
const HELP_METHODS = ['GET', 'HEAD'] as const

/**
 * The standalone server: the handler mounted at `/channels`, errors answered as `text/plain`, and
 * `GET /` and `GET /help` outside it: the web page for a browser, usage for anything else.
 */
export function createStandaloneServer (options: HttpipeOptions = {}): StandaloneServer {
  const pipe = createHandler(options)
  // createHandler() has validated the options, so these read them as it does.
  const help: HelpContext = { mount: MOUNT_PATH, listing: options.listing !== false, ui: options.ui === true }
  const server = createServer(function standaloneRequest (req, res) {
    const url = req.url ?? '/'
    const rest = url.slice(MOUNT_PATH.length)
    if (url.startsWith(MOUNT_PATH) && (rest === '' || rest[0] === '/' || rest[0] === '?')) {
      req.url = rest === '' || rest[0] === '?' ? '/' + rest : rest
      pipe(req, res)
      return
    }
    const path = url.split('?')[0] as string
    if (HELP_PATHS.has(path)) {
      if (req.method === 'GET' || req.method === 'HEAD') return serveHelp(req, res, help)
      return sendError(req, res, methodNotAllowed(req.method ?? '', HELP_METHODS))
    }
    sendError(req, res, routeNotFound(url, MOUNT_PATH))
  })
  // A waiting producer has not sent its whole body yet: Node's default (300 s) would cut it off.
  // Waits are bounded by the router's own `timeout` instead.
  server.requestTimeout = 0
  return { server, pipe }
}
