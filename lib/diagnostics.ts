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

/**
 * What a transfer's start is told of a party that may have waited (a waiter, waiter.ts):
 * `waitingSince` is when it began to wait (`performance.now()`), or `-1` when it did not (or
 * nobody listened to `httpipe:transfer:start` then).
 */
export interface WaitingParty {
  readonly res: ServerResponse
  waitingSince: number
}

/**
 * The start message of a published transfer, and what its end and the metrics need of it. A class
 * with private fields, so that subscribers see exactly the documented fields, and one shape.
 */
class TransferStarted implements TransferStartMessage {
  readonly router: object
  readonly mode: 'queue' | 'pubsub'
  readonly namespace: string
  readonly channel: string
  readonly producer: ServerResponse
  readonly consumers: readonly ServerResponse[]
  /** `performance.now()` at the start. */
  readonly #began: number
  /** How long (ms) the producer and each consumer waited: `-1` for one that did not. */
  readonly #waits: readonly number[]

  constructor (router: object, mode: 'queue' | 'pubsub', namespace: string, channel: string, producer: ServerResponse, consumers: readonly ServerResponse[], began: number, waits: readonly number[]) {
    this.router = router
    this.mode = mode
    this.namespace = namespace
    this.channel = channel
    this.producer = producer
    this.consumers = consumers
    this.#began = began
    this.#waits = waits
  }

  static waitsOf (message: object): readonly number[] | undefined {
    return #waits in message ? message.#waits : undefined
  }

  static end (start: TransferStarted, bytes: number, error: Error | undefined, receivers: number): TransferEndMessage {
    // Field by field, not `...start`: a spread followed by more properties is a slow path (about 2 µs
    // against 0.05 for this literal), and with it V8 kept every message's objects (responses,
    // requests) alive through young-generation GCs until a full one, and the heap tripled (the
    // standalone server's RSS 56 -> 97 MB and 2x the CPU per message in a fan-out loop).
    return {
      router: start.router,
      mode: start.mode,
      namespace: start.namespace,
      channel: start.channel,
      producer: start.producer,
      consumers: start.consumers,
      outcome: error === undefined ? 'delivered' : 'failed',
      bytes,
      duration: performance.now() - start.#began,
      error,
      receivers
    }
  }
}

/** A transfer being published: its start message (what its end needs of it is kept there). */
export type PublishedTransfer = TransferStartMessage

/**
 * How long (ms) the producer, then each consumer, of a `httpipe:transfer:start` message waited in
 * its queue, `-1` for one that did not: for httpipe/metrics, which thus keeps nothing per waiting
 * request. `undefined` for a message httpipe did not publish.
 */
export function waitsOf (message: TransferStartMessage): readonly number[] | undefined {
  return TransferStarted.waitsOf(message)
}

/** When a party that begins to wait now began, for {@link WaitingParty.waitingSince}. */
export function waitingSinceNow (): number {
  return transferStart.hasSubscribers ? performance.now() : -1
}

/**
 * Publishes a transfer's start; `undefined` (and nothing allocated) when nobody listens to either
 * end. `producer`: a waiter, or a publisher's response (a publisher never waits). `consumers`: one
 * waiter, or the waiters of a broadcast. Each waiter's wait is taken (and cleared: a live
 * subscription waits only before its first message).
 */
export function publishTransferStart (
  config: object,
  mode: 'queue' | 'pubsub',
  of: { readonly namespace: string, readonly channel: string },
  producer: WaitingParty | ServerResponse,
  consumers: WaitingParty | readonly WaitingParty[]
): PublishedTransfer | undefined {
  if (!transferStart.hasSubscribers && !transferEnd.hasSubscribers) return undefined
  // One clock reading for the waits and the transfer's duration.
  const now = performance.now()
  let producerRes: ServerResponse
  let producerWait = -1
  if ('waitingSince' in producer) {
    producerRes = producer.res
    producerWait = waitedUntil(producer, now)
  } else {
    producerRes = producer
  }
  let responses: ServerResponse[]
  let waits: number[]
  if (Array.isArray(consumers)) {
    const parties = consumers as readonly WaitingParty[]
    responses = new Array<ServerResponse>(parties.length)
    waits = new Array<number>(parties.length + 1)
    waits[0] = producerWait
    for (let i = 0; i < parties.length; i++) {
      const party = parties[i] as WaitingParty
      responses[i] = party.res
      waits[i + 1] = waitedUntil(party, now)
    }
  } else {
    const party = consumers as WaitingParty
    responses = [party.res]
    waits = [producerWait, waitedUntil(party, now)]
  }
  const start = new TransferStarted(routerOf(config), mode, of.namespace, of.channel, producerRes, responses, now, waits)
  if (transferStart.hasSubscribers) transferStart.publish(start)
  return start
}

function waitedUntil (party: WaitingParty, now: number): number {
  const since = party.waitingSince
  if (since < 0) return -1
  party.waitingSince = -1
  return now - since
}

export function publishTransferEnd (published: PublishedTransfer | undefined, bytes: number, error: Error | undefined, receivers: number): void {
  if (published === undefined || !transferEnd.hasSubscribers) return
  transferEnd.publish(TransferStarted.end(published as TransferStarted, bytes, error, receivers))
}

/** Publishes an error passed to `next(err)` for a request, if anyone listens. */
export function publishRequestError (router: object, req: IncomingMessage, res: ServerResponse, error: unknown): void {
  if (requestError.hasSubscribers) requestError.publish({ router, req, res, error } satisfies RequestErrorMessage)
}
