import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http'
import express, { type ErrorRequestHandler } from 'express'
import { createHandler, httpipe, type HttpipeControls, type HttpipeOptions } from '../../lib'

export interface TestApp {
  /** A request listener serving the pipe at /channels, as supertest and http.createServer take it. */
  readonly app: RequestListener
  readonly pipe: HttpipeControls
}

/** `stats().reqres` of a router whose request/response mode has seen no traffic. */
export const IDLE_REQRES = Object.freeze({ waitingRequesters: 0, waitingResponders: 0, exchanges: 0, jobs: 0, bytesTransferred: 0 })

export interface Adapter {
  readonly name: string
  readonly create: (options?: HttpipeOptions) => TestApp
}

// Echoes `[type] message` so tests can assert which error it was (body-parser's tests do the same).
const echoError: ErrorRequestHandler = (err: { status?: number, type?: string, message: string, headers?: Record<string, string> }, _req, res, next) => {
  if (res.headersSent) return next(err)
  res.status(err.status ?? 500).set(err.headers ?? {}).type('text/plain').send(`[${err.type ?? 'unknown'}] ${err.message}`)
}

export function createExpressApp (options?: HttpipeOptions): TestApp & { readonly express: express.Express } {
  const pipe = httpipe(options)
  const app = express()
  app.use('/channels', pipe)
  app.use(pipe.reqres)
  app.use(echoError)
  return { app, pipe, express: app }
}

/** The plain node:http handler behind the same /channels prefix; errors use its own text/plain writer. */
export function createRawApp (options?: HttpipeOptions): TestApp {
  const pipe = createHandler(options)
  function app (req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/'
    if (url.startsWith('/req/') || url.startsWith('/res/')) return pipe.reqres(req, res)
    if (!url.startsWith('/channels')) {
      res.writeHead(404).end()
      return
    }
    req.url = url.slice('/channels'.length) || '/'
    pipe(req, res)
  }
  return { app, pipe }
}

/** Both adapters: the HTTP-level suites run against each, since they share one contract. */
export const adapters: readonly Adapter[] = [
  { name: 'express router', create: createExpressApp },
  { name: 'node:http handler', create: createRawApp }
]

/** Strips the `[type] ` prefix the Express test app adds, so both adapters compare alike. */
export function errorType (text: string): string | undefined {
  return /^\[([\w.]+)\]/.exec(text)?.[1]
}
