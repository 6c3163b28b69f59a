import createError from 'http-errors'

/**
 * The stable `type` of every error httpipe creates, for host apps that branch on `err.type`
 * (the body-parser convention). `entity.too.large` is body-parser's own string.
 */
export type HttpipeErrorType =
  | 'channel.name.invalid'
  | 'route.not.found'
  | 'method.not.allowed'
  | 'listing.disabled'
  | 'links.disabled'
  | 'namespace.not.found'
  | 'channel.timeout'
  | 'channel.full'
  | 'router.full'
  | 'channel.deleted'
  | 'router.closed'
  | 'entity.too.large'
  | 'body.consumed'
  | 'consumer.aborted'
  | 'subscriber.lagging'
  | 'subscriber.stalled'
  | 'service.worker.refused'
  | 'range.refused'
  | 'query.invalid'
  | 'message.not.text'
  | 'header.invalid'
  | 'status.invalid'
  | 'reply.invalid'
  | 'reply.too.large'
  | 'responder.gone'
  | 'requester.gone'
  | 'job.unknown'
  | 'job.used'
  | 'job.expired'
  | 'job.timeout'
  | 'access.denied'
  | 'access.unauthenticated'
  | 'channel.not.found'

/**
 * What httpipe passes to `next(err)`: an `http-errors` object at run time, described here on its
 * own so that the published types need neither `http-errors` nor its types.
 */
export interface HttpipeError extends Error {
  /** The HTTP status to answer with (4xx or 5xx). */
  readonly status: number
  /** The same as `status` (the `http-errors` convention). */
  readonly statusCode: number
  /** Always `true`: every message is written for the client, 5xx included. */
  readonly expose: boolean
  readonly type: HttpipeErrorType
  /** Headers to send with the answer: `Allow` on 405, `Retry-After` on 503. */
  readonly headers?: Readonly<Record<string, string>>
  /** `channel.name.invalid`: which segment is invalid. */
  readonly segment?: 'namespace' | 'channel'
  /** The channel involved, as `namespace/channel`. */
  readonly channel?: string
  /** `namespace.not.found`: the namespace asked for. */
  readonly namespace?: string
  /** The limit breached (bytes for `entity.too.large`, requests for `channel.full`, `router.full`). */
  readonly limit?: number
  /** `entity.too.large`: bytes received (or declared) so far. */
  readonly received?: number
  /** `channel.timeout`: the `timeout` option, in ms. */
  readonly timeout?: number
  /** `consumer.aborted`: bytes sent to the consumer before it left. */
  readonly sent?: number
  /** `job.timeout`: the `reqres.jobTimeout` option, in ms. */
  readonly jobTimeout?: number
  /** `access.denied`, `access.unauthenticated`: the action refused (`produce`, `consume`, ...). */
  readonly action?: string
}

function httpipeError (status: number, message: string, properties: Record<string, unknown> & { type: HttpipeErrorType }): HttpipeError {
  // Every message here is written for the client, 5xx included, so let error handlers show it.
  return createError(status, message, { expose: true, ...properties }) as HttpipeError
}

// What JSON.stringify() leaves raw and a terminal, log viewer or listing would act on: DEL and C1
// controls, bidirectional and invisible formatting characters, line and paragraph separators.
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu

/**
 * A string a client sent, as a JSON string literal fit for a message: every control, formatting
 * and separator character escaped as `\uXXXX` (JSON.stringify() does it for C0 only).
 */
export function quote (value: string): string {
  return JSON.stringify(value).replace(UNSAFE, char => {
    let escaped = ''
    for (let i = 0; i < char.length; i++) escaped += '\\u' + char.charCodeAt(i).toString(16).padStart(4, '0')
    return escaped
  })
}

export function invalidName (segment: 'namespace' | 'channel', reason: string): HttpipeError {
  return httpipeError(400, `invalid ${segment} name: ${reason}`, { type: 'channel.name.invalid', segment })
}

/** `mount`: where channels are, for a server that answers outside its mount path too. */
export function routeNotFound (path: string, mount = ''): HttpipeError {
  return httpipeError(404, `no route for ${quote(path)}: use ${mount}/{namespace}/{channel}, ${mount}/{namespace} or ${mount}/namespaces`, { type: 'route.not.found' })
}

export function methodNotAllowed (method: string, allow: readonly string[]): HttpipeError {
  return httpipeError(405, `method ${method} is not allowed here; allowed: ${allow.join(', ')}`, {
    type: 'method.not.allowed',
    headers: { Allow: allow.join(', ') }
  })
}

export function listingDisabled (): HttpipeError {
  return httpipeError(404, 'listing is disabled (option listing: false)', { type: 'listing.disabled' })
}

export function linksDisabled (): HttpipeError {
  return httpipeError(403, 'link producers are disabled (option links: false): send with POST or PUT', { type: 'links.disabled' })
}

export function namespaceNotFound (namespace: string): HttpipeError {
  return httpipeError(404, `namespace ${quote(namespace)} has no channels`, { type: 'namespace.not.found', namespace })
}

export function waitTimedOut (key: string, timeout: number): HttpipeError {
  return httpipeError(408, `no counterpart arrived on channel ${key} within ${timeout} ms (option timeout)`, {
    type: 'channel.timeout',
    channel: key,
    timeout
  })
}

export function channelFull (key: string, limit: number): HttpipeError {
  return httpipeError(503, `channel ${key} already has ${limit} waiting requests (limits.waitersPerChannel)`, {
    type: 'channel.full',
    channel: key,
    limit,
    headers: { 'Retry-After': '1' }
  })
}

export function routerFull (limit: number): HttpipeError {
  return httpipeError(503, `the router already has ${limit} waiting requests (limits.waiters)`, {
    type: 'router.full',
    limit,
    headers: { 'Retry-After': '1' }
  })
}

/** The error for a registry's refusal (channel-registry.ts) of a waiter on channel `key`. */
export function refusalError (refusal: 'channel.full' | 'router.full', key: string, limits: { readonly waitersPerChannel: number, readonly waiters: number }): HttpipeError {
  return refusal === 'channel.full' ? channelFull(key, limits.waitersPerChannel) : routerFull(limits.waiters)
}

export function channelDeleted (key: string): HttpipeError {
  return httpipeError(410, `channel ${key} was deleted while this request was waiting`, { type: 'channel.deleted', channel: key })
}

export function routerClosed (): HttpipeError {
  return httpipeError(503, 'httpipe is shutting down and accepts no more requests', {
    type: 'router.closed',
    headers: { 'Retry-After': '1' }
  })
}

export function entityTooLarge (limit: number, received: number, option = 'limits.bodySize', taker?: string): HttpipeError {
  const whose = taker === undefined ? '' : ` ${taker} takes`
  return httpipeError(413, `message is larger than ${limit} bytes${whose} (${option}); received ${received}`, {
    type: 'entity.too.large',
    limit,
    received
  })
}

export function bodyConsumed (): HttpipeError {
  return httpipeError(500, 'the request body was already read by another middleware: mount httpipe before body parsers (express.json(), express.raw(), ...)', {
    type: 'body.consumed'
  })
}

export function consumerAborted (key: string, sent: number): HttpipeError {
  return httpipeError(502, `the consumer on channel ${key} disconnected after ${sent} bytes; the message was not delivered`, {
    type: 'consumer.aborted',
    channel: key,
    sent
  })
}

/**
 * A producer (or publisher) whose client left mid-transfer. Nobody is left to answer, so it is a
 * plain `Error`, not an HTTP one: it only says, in a destroyed stream or a log, why.
 */
export function producerGone (key: string, when: 'before' | 'at-end' | number): Error {
  const moment = when === 'before' ? 'before the transfer' : when === 'at-end' ? 'as its body ended' : `after ${when} bytes`
  return new Error(`the producer on channel ${key} disconnected ${moment}`)
}

/** {@link producerGone} for a pubsub publisher. */
export function publisherGone (): Error {
  return new Error('the publisher disconnected before sending its whole message')
}

export function subscriberLagging (key: string, messages: number, bytes: number): HttpipeError {
  return httpipeError(503, `this subscription to ${key} fell behind by more than ${messages} messages or ${bytes} bytes (limits.eventBacklog, limits.eventBacklogBytes); reconnect to go on`, {
    type: 'subscriber.lagging',
    channel: key,
    limit: messages,
    bytes
  })
}

export function subscriberStalled (key: string, timeout: number): HttpipeError {
  return httpipeError(503, `this subscription to ${key} took no data for ${timeout} ms while a message waited (limits.stallTimeout)`, {
    type: 'subscriber.stalled',
    channel: key,
    timeout
  })
}

export function serviceWorkerRefused (): HttpipeError {
  return httpipeError(400, 'a channel cannot be registered as a service worker (request header Service-Worker: script)', {
    type: 'service.worker.refused'
  })
}

export function rangeRefused (header: 'Range' | 'If-Range', value: string): HttpipeError {
  return httpipeError(400, `a message cannot be resumed or read in part (request header ${header}: ${quote(value.slice(0, 100))}): each message is delivered once, whole; ask its producer to send it again`, {
    type: 'range.refused'
  })
}

export function invalidQuery (reason: string): HttpipeError {
  return httpipeError(400, `invalid query string: ${reason}`, { type: 'query.invalid' })
}

export function notText (key: string): HttpipeError {
  return httpipeError(415, `the consumer on channel ${key} is a live (text/event-stream) subscription and takes UTF-8 text only`, {
    type: 'message.not.text',
    channel: key
  })
}

export function headerNotRelayable (key: string, reason: string): HttpipeError {
  return httpipeError(400, `a header of the message on channel ${key} cannot be passed on to its consumer: ${reason}`, {
    type: 'header.invalid',
    channel: key
  })
}

// Request/response mode (lib/reqres-*.ts). `channel` is the request/response channel.

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

/** What an `authorize` denial was about, for its message: `namespace/channel` or a namespace. */
function accessTarget (namespace: string, channel: string | undefined): string {
  return channel === undefined ? `namespace ${quote(namespace)}` : `channel ${namespace}/${channel}`
}

export function accessDenied (action: string, namespace: string, channel: string | undefined, message?: string, headers?: Record<string, string>): HttpipeError {
  return httpipeError(403, message ?? `not allowed to ${action} on ${accessTarget(namespace, channel)}`, {
    type: 'access.denied',
    action,
    ...(headers === undefined ? {} : { headers })
  })
}

export function accessUnauthenticated (action: string, namespace: string, channel: string | undefined, message?: string, headers?: Record<string, string>): HttpipeError {
  return httpipeError(401, message ?? `authentication required to ${action} on ${accessTarget(namespace, channel)}`, {
    type: 'access.unauthenticated',
    action,
    ...(headers === undefined ? {} : { headers })
  })
}

/** A denial that hides whether the channel exists: channels are created on first use, so nothing else answers 404. */
export function channelNotFound (key: string, message?: string, headers?: Record<string, string>): HttpipeError {
  return httpipeError(404, message ?? `channel ${key} not found`, {
    type: 'channel.not.found',
    channel: key,
    ...(headers === undefined ? {} : { headers })
  })
}
