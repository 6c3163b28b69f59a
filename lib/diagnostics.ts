import { channel, type Channel } from 'node:diagnostics_channel'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { HttpipeAccess } from './authorize'

// The lifecycle of every router on `node:diagnostics_channel` (as undici and fastify publish
// theirs): metrics and logs subscribe here instead of being welded into the request path, and an
// app can subscribe for its own tracing. Each publish is guarded by `hasSubscribers`, so nobody
// listening costs one property read. Requests are identified by their response object, which
// every message carries (a link producer's or a publisher's request is not always a stream).

/** `router`: the function `httpipe()` or `createHandler()` returned, to tell routers apart. */
interface RouterMessage {
  readonly router: object
}

/** `httpipe:request:routed`: a request's route and action are known (before `authorize`). */
export interface RequestRoutedMessage extends RouterMessage {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly access: HttpipeAccess
}

/** `httpipe:request:error`: an error is passed to `next(err)` for a request (refusals and failures). */
export interface RequestErrorMessage extends RouterMessage {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly error: unknown
}

/** `httpipe:wait:start`: a request joins a queue to wait (one matched on arrival never does). */
export interface WaitStartMessage extends RouterMessage {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly role: 'producer' | 'consumer' | 'subscriber'
  readonly namespace: string
  readonly channel: string
}

/** `httpipe:transfer:start`: a queue-mode pair is matched, or a pubsub message starts out. */
export interface TransferStartMessage extends RouterMessage {
  readonly mode: 'queue' | 'pubsub'
  readonly namespace: string
  readonly channel: string
  /** The producer's (or publisher's) response. */
  readonly producer: ServerResponse
  /** The consumer's response, or every subscriber's. */
  readonly consumers: readonly ServerResponse[]
}

/** `httpipe:transfer:end`: the same transfer is over. */
export interface TransferEndMessage extends TransferStartMessage {
  readonly outcome: 'delivered' | 'failed'
  /** Message bytes taken from the producer. */
  readonly bytes: number
  /** From its start, in ms (fractional). */
  readonly duration: number
  /** Why it failed: the error its producer is answered with. */
  readonly error: Error | undefined
  /** Consumers that received it: `1` or `0` in queue mode, `X-Httpipe-Receivers` in pubsub. */
  readonly receivers: number
}

/** `httpipe:live:start`: a live (`text/event-stream`) subscription opens; it ends when its `res` closes. */
export interface LiveStartMessage extends RouterMessage {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly namespace: string
  readonly channel: string
  readonly pubsub: boolean
}

/** The channel names, for `diagnostics_channel.subscribe(name, onMessage)`. */
export const CHANNELS = Object.freeze({
  requestRouted: 'httpipe:request:routed',
  requestError: 'httpipe:request:error',
  waitStart: 'httpipe:wait:start',
  transferStart: 'httpipe:transfer:start',
  transferEnd: 'httpipe:transfer:end',
  liveStart: 'httpipe:live:start'
} as const)

// Typed, so that the published declarations name `node:diagnostics_channel` (not a bare module).
export const requestRouted: Channel = channel(CHANNELS.requestRouted)
export const requestError: Channel = channel(CHANNELS.requestError)
export const waitStart: Channel = channel(CHANNELS.waitStart)
export const transferStart: Channel = channel(CHANNELS.transferStart)
export const transferEnd: Channel = channel(CHANNELS.transferEnd)
export const liveStart: Channel = channel(CHANNELS.liveStart)

// The router of each core, by its resolved options (one frozen object per core, which every part
// of the core holds): so the parts publish with its name without one more constructor argument.
const routers = new WeakMap<object, object>()

/** Names `router` as the source of what the core with these options publishes. */
export function registerRouter (config: object, router: object): void {
  routers.set(config, router)
}

/** The router of a core's options (an empty object for a core no adapter named). */
export function routerOf (config: object): object {
  let router = routers.get(config)
  if (router === undefined) routers.set(config, router = {})
  return router
}

/** A transfer being published: what its end needs of its start. */
export interface PublishedTransfer {
  readonly start: TransferStartMessage
  readonly began: number
}

/**
 * Publishes a transfer's start; `undefined` (and nothing allocated) when nobody listens to either
 * end. `consumers`: one response, or the waiters (anything with a `res`) of a broadcast.
 */
export function publishTransferStart (
  config: object,
  mode: 'queue' | 'pubsub',
  of: { readonly namespace: string, readonly channel: string },
  producer: ServerResponse,
  consumers: ServerResponse | ReadonlyArray<{ readonly res: ServerResponse }>
): PublishedTransfer | undefined {
  if (!transferStart.hasSubscribers && !transferEnd.hasSubscribers) return undefined
  const responses = Array.isArray(consumers) ? consumers.map(consumer => consumer.res) : [consumers as ServerResponse]
  const start: TransferStartMessage = { router: routerOf(config), mode, namespace: of.namespace, channel: of.channel, producer, consumers: responses }
  if (transferStart.hasSubscribers) transferStart.publish(start)
  return { start, began: performance.now() }
}

export function publishTransferEnd (published: PublishedTransfer | undefined, bytes: number, error: Error | undefined, receivers: number): void {
  if (published === undefined || !transferEnd.hasSubscribers) return
  const { start } = published
  // Spelled out: V8 takes a slow path for a spread followed by more properties (about 2 µs here
  // against 0.05 for this literal), and this runs once per transfer.
  const message: TransferEndMessage = {
    router: start.router,
    mode: start.mode,
    namespace: start.namespace,
    channel: start.channel,
    producer: start.producer,
    consumers: start.consumers,
    outcome: error === undefined ? 'delivered' : 'failed',
    bytes,
    duration: performance.now() - published.began,
    error,
    receivers
  }
  transferEnd.publish(message)
}

/** `next` that publishes each error first: wrapped only while someone listens. */
export function reportingNext (router: object, req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): (err?: unknown) => void {
  return function reportingNext (err?: unknown) {
    if (err !== undefined && requestError.hasSubscribers) requestError.publish({ router, req, res, error: err } satisfies RequestErrorMessage)
    next(err)
  }
}
