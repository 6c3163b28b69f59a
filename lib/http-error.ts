import type CreateError from 'http-errors'

// The base every errors module builds on: the stable types, the shape passed to next(err), and quote().

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

// Loaded with the first error, not at start: http-errors and what it loads (depd, statuses and
// three more) are about 1.3 MB of a process's memory, and a server that has had no error has no use
// for them (issue 11: the standalone server's idle memory is mostly the code it has loaded).
let createError: typeof CreateError | undefined

export function httpipeError (status: number, message: string, properties: Record<string, unknown> & { type: HttpipeErrorType }): HttpipeError {
  createError ??= require('http-errors') as typeof CreateError
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
