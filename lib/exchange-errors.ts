import { httpipeError, quote, type HttpipeError } from './http-error'

// The errors of request/response mode (lib/reqres-*.ts). `channel` is the request/response channel.

export function exchangeRouteNotFound (path: string): HttpipeError {
  return httpipeError(404, `no route for ${quote(path)}: use /req/{namespace}/{channel}[/{path}] (requesters), /res/{namespace}/{channel} (responders) or /res/{namespace}/{channel}/{job} (replies)`, {
    type: 'route.not.found'
  })
}

export function statusInvalid (value: string): HttpipeError {
  return httpipeError(400, `Pb-Status must be an integer from 200 to 599, got ${quote(value.slice(0, 100))}`, { type: 'status.invalid' })
}

export function replyInvalid (key: string, reason: string): HttpipeError {
  return httpipeError(502, `the responder on ${key} sent an invalid reply (${reason})`, { type: 'reply.invalid', channel: key })
}

export function replyTooLarge (key: string, limit: number): HttpipeError {
  return httpipeError(502, `the responder on ${key} sent a reply larger than ${limit} bytes (limits.bodySize)`, {
    type: 'reply.too.large',
    channel: key,
    limit
  })
}

export function responderGone (key: string): HttpipeError {
  return httpipeError(502, `the responder on ${key} disconnected before its reply was complete`, { type: 'responder.gone', channel: key })
}

export function requesterGone (key: string): HttpipeError {
  return httpipeError(410, `the requester on ${key} disconnected; the reply was not delivered`, { type: 'requester.gone', channel: key })
}

export function jobUnknown (key: string): HttpipeError {
  return httpipeError(404, `no job with this id on ${key}: job ids come from the Pb-Job header of POST /res/{namespace}/{channel}?switch=true`, {
    type: 'job.unknown',
    channel: key
  })
}

export function jobUsed (key: string): HttpipeError {
  return httpipeError(409, `this job on ${key} has already been answered; a job takes one reply`, { type: 'job.used', channel: key })
}

export function jobExpired (key: string, jobTimeout: number): HttpipeError {
  return httpipeError(410, `this job on ${key} expired: no reply came within ${jobTimeout} ms (reqres.jobTimeout), and its requester got 504`, {
    type: 'job.expired',
    channel: key,
    jobTimeout
  })
}

export function jobTimedOut (key: string, jobTimeout: number): HttpipeError {
  return httpipeError(504, `the responder on ${key} took the request but sent no reply within ${jobTimeout} ms (reqres.jobTimeout)`, {
    type: 'job.timeout',
    channel: key,
    jobTimeout
  })
}
