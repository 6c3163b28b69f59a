// Every error httpipe creates is built by a factory in this module or in the area modules it
// re-exports (request/response mode, access control), so callers import them all from here.
import { httpipeError, quote, type HttpipeError } from './http-error'

export { quote, type HttpipeError, type HttpipeErrorType } from './http-error'
export * from './exchange-errors'
export * from './access-errors'

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
