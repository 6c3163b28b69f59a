import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { SAFETY_HEADERS } from './response-headers'

// What a cross-origin page needs to read: the message's name, and a publisher's receiver count.
// Content-Type and Content-Length are safelisted already.
const EXPOSED = 'Content-Disposition, X-Httpipe-Receivers'
const METHODS = 'GET, POST, PUT, DELETE'
const REQUEST_HEADERS = 'Content-Type, Content-Disposition, Last-Event-ID'

/**
 * Sets the CORS headers a response to `req` needs, and answers a preflight. Returns `true` when
 * the request was a preflight and has been answered: no channel is touched by it.
 */
export function applyCors (allowed: string, req: IncomingMessage, res: ServerResponse): boolean {
  const origin = req.headers.origin
  if (allowed === '*') {
    res.setHeader('Access-Control-Allow-Origin', '*')
  } else {
    res.setHeader('Vary', 'Origin')
    if (origin !== allowed) return false
    res.setHeader('Access-Control-Allow-Origin', allowed)
  }
  res.setHeader('Access-Control-Expose-Headers', EXPOSED)
  if (req.method !== 'OPTIONS' || req.headers['access-control-request-method'] === undefined) return false
  const headers: OutgoingHttpHeaders = {
    'Access-Control-Allow-Methods': METHODS,
    'Access-Control-Allow-Headers': REQUEST_HEADERS,
    'Access-Control-Max-Age': '600',
    'Content-Length': '0',
    ...SAFETY_HEADERS
  }
  res.writeHead(204, headers).end()
  return true
}
