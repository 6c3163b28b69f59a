import { STATUS_CODES, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http'
import { SAFETY_HEADERS } from './response-headers'
import { lingerOnError } from './linger'

/**
 * Answers an error as `text/plain`: the message and a newline (SPEC §6). Used where no Express
 * error handler exists: the plain `node:http` handler and the standalone server.
 */
export function sendError (req: IncomingMessage, res: ServerResponse, err: unknown): void {
  // Once a response has started, a clean end would pass a truncated body off as complete.
  if (res.headersSent) {
    res.destroy()
    return
  }
  const status = statusOf(err)
  const exposed = err instanceof Error && (err as { expose?: unknown }).expose === true
  const body = `${exposed ? err.message : STATUS_CODES[status] ?? 'Error'}\n`
  const headers: OutgoingHttpHeaders = {
    ...extraHeaders(err),
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    ...SAFETY_HEADERS
  }
  // A producer turned away while still uploading: see linger.ts for why the answer needs this.
  lingerOnError(req, res)
  res.writeHead(status, headers).end(body)
}

function statusOf (err: unknown): number {
  const status = (err as { status?: unknown, statusCode?: unknown } | undefined)?.status ??
    (err as { statusCode?: unknown } | undefined)?.statusCode
  return typeof status === 'number' && status >= 400 && status <= 599 ? status : 500
}

function extraHeaders (err: unknown): OutgoingHttpHeaders {
  const headers = (err as { headers?: unknown } | undefined)?.headers
  return typeof headers === 'object' && headers !== null ? headers as OutgoingHttpHeaders : {}
}
