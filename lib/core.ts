import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import { AccessGate, accessOf } from './authorize'
import * as diagnostics from './diagnostics'
import { parseRoute, type Route } from './channel-key'
import { parseChannelQuery, type ChannelQuery } from './channel-query'
import { ChannelRegistry, type Broadcast, type Role, type Ticket, type Transfer } from './channel-registry'
import { SAFETY_HEADERS } from './consumer-headers'
import { applyCors } from './cors'
import { DepartureProbe, canProbe, connectionEnded, mayHideDeparture, probe } from './departure-probe'
import * as errors from './errors'
import { EventCollector, wantsEventStream } from './event-stream'
import { fanOut, type FanOutOutcome } from './fan-out'
import { lingerOnError } from './linger'
import { LiveSubscription, subscriptionOf } from './live-subscription'
import { resolveOptions, type HttpipeOptions, type ResolvedOptions } from './options'
import { normalizeIfReprototyped } from './object-shape'
import { isQueuedBehind, whenCurrent } from './pipelining'
import { relay, type MessageSource, type RelayOutcome, type RelayProgress } from './relay'
import { servePage, wantsPage } from './ui'

/** A transfer or broadcast under way, for progress displays. */
export interface TransferProgress {
  readonly namespace: string
  readonly channel: string
  /** Message bytes moved so far. */
  readonly bytes: number
  /** The producer's `Content-Length`, when it sent one. */
  readonly total: number | undefined
  /** `1` for a queue-mode transfer; the number of subscribers for a pubsub broadcast. */
  readonly receivers: number
  readonly pubsub: boolean
  /** When it started, in ms since the epoch. */
  readonly startedAt: number
}

/** Counters of a router or handler at one moment. */
export interface HttpipeStats {
  namespaces: number
  channels: number
  waitingProducers: number
  /** Waiting consumers, pubsub subscribers, live pubsub subscriptions, queue-mode live ones between messages. */
  waitingConsumers: number
  runningTransfers: number
  /**
   * Message bytes read from producers and passed on since creation, running transfers included
   * (also those of transfers that failed later). A pubsub message counts once.
   */
  bytesTransferred: number
  /** Each running transfer with its progress. */
  transfers: TransferProgress[]
}

/** The continuation of an adapter: `next(err)` to report an error, `next()` to pass. */
export type Next = (err?: unknown) => void

/** What `httpipe()` and `createHandler()` add to the function they return. */
export interface HttpipeControls {
  /** Counters right now (SPEC §7). */
  stats: () => HttpipeStats
  /**
   * Stops taking requests: new and waiting ones get `503`, running transfers finish.
   * Resolves when no transfer is running. Idempotent.
   */
  close: () => Promise<void>
}

export interface PipeCore extends HttpipeControls {
  handle: (req: IncomingMessage, res: ServerResponse, next: Next) => void
}

/** A request waiting for its counterpart. A class, so every waiter has one shape (a hot path). */
class Waiter {
  ticket: Ticket<Waiter> | undefined = undefined
  timer: NodeJS.Timeout | undefined = undefined
  /** Called when the waiting client disconnects; set while it waits. */
  onGone: ((waiter: Waiter) => void) | undefined = undefined
  /** The listener on the response's 'close' while waiting. */
  readonly onResponseClose = (): void => { this.onGone?.(this) }
  /** In the departure probe's set while waiting. */
  probed = false
  /** It waited in a queue (it was not matched the moment it arrived). */
  waited = false

  constructor (
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly next: Next,
    readonly namespace: string,
    readonly channel: string,
    readonly key: string,
    /** A producer's message; undefined for consumers. */
    readonly source: MessageSource | undefined,
    /** A live (text/event-stream) subscriber: it stays subscribed across messages. */
    readonly live: boolean
  ) {}
}

interface Running extends RelayProgress {
  readonly info: Omit<TransferProgress, 'bytes'>
}

const CHANNEL_METHODS = ['GET', 'POST', 'PUT', 'DELETE'] as const
const NAMESPACE_METHODS = ['GET', 'DELETE'] as const

/** The request handling shared by the Express router and the plain `node:http` handler. */
export function createPipeCore (options?: HttpipeOptions, owner: object = {}): PipeCore {
  const config: ResolvedOptions = resolveOptions(options)
  const registry = new ChannelRegistry<Waiter>(config, startTransfer)
  const departures = new DepartureProbe<Waiter>(config.probeInterval)
  const running = new Set<Running>()
  let bytesDelivered = 0
  let closed = false
  let idle: (() => void) | undefined
  const whenIdle = new Promise<void>(resolve => { idle = resolve })
  const gate = config.authorize === undefined ? undefined : new AccessGate(config.authorize, config.timeout)

  function handle (req: IncomingMessage, res: ServerResponse, hostNext: Next): void {
    // Any error to a producer may find it still uploading: one place makes sure it is read.
    let next = req.method === 'POST' || req.method === 'PUT' ? lingeringNext(req, res, hostNext) : hostNext
    if (diagnostics.requestError.hasSubscribers) next = diagnostics.reportingNext(owner, req, res, next)
    // The request at once: Node's parser goes on working on it (the body, its end) as it waits.
    // Its response only when its transfer starts (it is left alone until then): that keeps the
    // memory a waiting request costs down. See object-shape.ts for why.
    normalizeIfReprototyped(req)
    if (config.cors !== false && applyCors(config.cors, req, res)) return
    if (closed) return next(errors.routerClosed())
    let route: Route
    let query: ChannelQuery | undefined
    try {
      route = parseRoute(req.url ?? '/')
      if (route.kind === 'channel') query = parseChannelQuery(req.url ?? '/')
    } catch (err) {
      return next(err)
    }
    const access = gate === undefined && !diagnostics.requestRouted.hasSubscribers ? undefined : accessOf(route, query, req.method)
    if (access !== undefined && diagnostics.requestRouted.hasSubscribers) diagnostics.requestRouted.publish({ router: owner, req, res, access })
    if (access === undefined || gate === undefined) return dispatch(route, query, req, res, next)
    gate.check(req, res, next, access, () => { dispatch(route, query, req, res, next) })
  }

  function dispatch (route: Route, query: ChannelQuery | undefined, req: IncomingMessage, res: ServerResponse, next: Next): void {
    switch (route.kind) {
      case 'channel': return handleChannel(route.namespace, route.channel, route.key, query as ChannelQuery, req, res, next)
      case 'namespace': return handleNamespace(route.namespace, req, res, next)
      case 'namespaces':
        // Only the one-segment GET lists; `namespaces` stays a namespace for everything else.
        if (req.method === 'GET') return listNamespaces(req, res, next)
        return handleNamespace('namespaces', req, res, next)
      case 'root':
        if (config.ui && wantsPage(req)) return servePage(req, res)
        return next(errors.routeNotFound('/'))
    }
  }

  function handleChannel (namespace: string, channel: string, key: string, query: ChannelQuery, req: IncomingMessage, res: ServerResponse, next: Next): void {
    switch (req.method) {
      case 'POST':
      case 'PUT':
        return acceptProducer(namespace, channel, key, query.pubsub, req, res, next)
      case 'GET':
        if (req.headers['service-worker'] === 'script') return next(errors.serviceWorkerRefused())
        if (req.headers.range !== undefined || req.headers['if-range'] !== undefined) {
          const refusal = partialRequestRefusal(req.headers)
          if (refusal !== undefined) return next(refusal)
        }
        if (query.link !== undefined) {
          // Refused, not served as a consumer: that would take a message where one was to be sent.
          if (!config.links) return next(errors.linksDisabled())
          return acceptLinkProducer(namespace, channel, key, query, req, res, next)
        }
        return acceptConsumer(namespace, channel, key, query.pubsub, req, res, next)
      case 'DELETE':
        for (const waiter of registry.deleteChannel(namespace, channel)) reject(waiter, errors.channelDeleted(key))
        return noContent(res)
      default: return next(errors.methodNotAllowed(req.method ?? '', CHANNEL_METHODS))
    }
  }

  function handleNamespace (namespace: string, req: IncomingMessage, res: ServerResponse, next: Next): void {
    switch (req.method) {
      case 'GET': {
        if (!config.listing) return next(errors.listingDisabled())
        const channels = registry.channels(namespace)
        if (channels.length === 0) return next(errors.namespaceNotFound(namespace))
        return sendJson(res, channels)
      }
      case 'DELETE':
        for (const waiter of registry.deleteNamespace(namespace)) reject(waiter, errors.channelDeleted(waiter.key))
        return noContent(res)
      default: return next(errors.methodNotAllowed(req.method ?? '', NAMESPACE_METHODS))
    }
  }

  function listNamespaces (req: IncomingMessage, res: ServerResponse, next: Next): void {
    if (!config.listing) return next(errors.listingDisabled())
    if (gate === undefined) return sendJson(res, registry.namespaces())
    gate.filter(req, res, next, registry.namespaces(), allowed => { sendJson(res, allowed) })
  }

  function acceptProducer (namespace: string, channel: string, key: string, pubsub: boolean, req: IncomingMessage, res: ServerResponse, next: Next): void {
    const declared = req.headers['content-length']
    if (declared !== undefined && Number(declared) > config.bodySize) {
      return next(errors.entityTooLarge(config.bodySize, Number(declared)))
    }
    if (req.readableDidRead || req.readableEnded) return next(errors.bodyConsumed())
    const source = { body: req, headers: req.headers }
    if (pubsub) return publish(namespace, channel, source, res, next)
    enqueue(new Waiter(req, res, next, namespace, channel, key, source, false), 'producer')
  }

  /** `GET ?method=post&body=TEXT`: a producer a browser link can be (patchbay's form). */
  function acceptLinkProducer (namespace: string, channel: string, key: string, query: ChannelQuery, req: IncomingMessage, res: ServerResponse, next: Next): void {
    const body = Buffer.from(query.link?.body ?? '')
    if (body.length > config.bodySize) return next(errors.entityTooLarge(config.bodySize, body.length))
    const headers: IncomingHttpHeaders = { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(body.length) }
    const source = { body: Readable.from([body]), headers }
    if (query.pubsub) return publish(namespace, channel, source, res, next)
    enqueue(new Waiter(req, res, next, namespace, channel, key, source, false), 'producer')
  }

  function acceptConsumer (namespace: string, channel: string, key: string, pubsub: boolean, req: IncomingMessage, res: ServerResponse, next: Next): void {
    const role: Role = pubsub ? 'subscriber' : 'consumer'
    const waiter = new Waiter(req, res, next, namespace, channel, key, undefined, wantsEventStream(req))
    if (!waiter.live) return enqueue(waiter, role)
    // The stream's 200 goes out before the first message, so refuse now what the queue would.
    const refusal = registry.refusal(namespace, channel, role)
    if (refusal !== undefined) return next(rejection(refusal, key))
    // Written to from now on, message after message: worth its shape at once (object-shape.ts).
    normalizeIfReprototyped(res)
    // eslint-disable-next-line no-new -- it lives as long as its response (subscriptionOf() finds it)
    new LiveSubscription(res, key, config, () => { withdrawGone(waiter) })
    if (diagnostics.liveStart.hasSubscribers) diagnostics.liveStart.publish({ router: owner, req, res, namespace, channel, pubsub })
    enqueue(waiter, role)
  }

  function withdrawGone (waiter: Waiter): void {
    if (waiter.ticket !== undefined) registry.withdraw(waiter.ticket)
    settle(waiter)
  }

  /** Queues a waiter on its channel; `timeout` is what is left of its wait (less once it was parked). */
  function enqueue (waiter: Waiter, role: Role, timeout = config.timeout): void {
    if (isQueuedBehind(waiter.res)) return park(waiter, role)
    const admitted = registry.enqueue(waiter.namespace, waiter.channel, role, waiter)
    if (typeof admitted === 'string') return fail(waiter, rejection(admitted, waiter.key))
    // Paired synchronously (the second request of a pair, usually): its transfer has started, so
    // there is no wait to watch. Its 'close' cannot have fired in between: nothing async ran.
    if (!registry.waits(admitted)) return
    waiter.ticket = admitted
    waiter.waited = true
    if (diagnostics.waitStart.hasSubscribers) diagnostics.waitStart.publish({ router: owner, req: waiter.req, res: waiter.res, role, namespace: waiter.namespace, channel: waiter.channel })
    waiter.onGone = withdrawGone
    waiter.res.on('close', waiter.onResponseClose)
    // Every tick asks whether the connection hides a departure now: a request pipelined behind this
    // one can make Node stop reading it later. A live subscription has written its head: its
    // keep-alive comments probe it.
    if (!waiter.live && departures.enabled && canProbe(waiter.req, waiter.res)) {
      waiter.probed = true
      departures.add(waiter)
    }
    // A live subscription has no wait to time out: it is meant to stay open.
    if (timeout !== Infinity && !waiter.live) {
      waiter.timer = setTimeout(() => {
        if (waiter.ticket !== undefined && registry.withdraw(waiter.ticket)) {
          settle(waiter)
          waiter.next(errors.waitTimedOut(waiter.key, config.timeout))
        }
      }, timeout)
    }
  }

  /**
   * Holds a request pipelined behind an unfinished response on its connection until its turn (see
   * pipelining.ts). It counts as waiting meanwhile, against `limits.waiters` too, and its `timeout`
   * runs from its arrival.
   */
  function park (waiter: Waiter, role: Role): void {
    const { waitingProducers, waitingConsumers } = registry.stats()
    if (waitingProducers + waitingConsumers >= config.waiters) return fail(waiter, errors.routerFull(config.waiters))
    registry.hold(role, 1)
    const arrived = Date.now()
    whenCurrent(waiter.req, waiter.res, () => {
      registry.hold(role, -1)
      if (closed) return fail(waiter, errors.routerClosed())
      const left = config.timeout - (Date.now() - arrived)
      if (left <= 0) return fail(waiter, errors.waitTimedOut(waiter.key, config.timeout))
      enqueue(waiter, role, left)
    }, () => { registry.hold(role, -1) })
  }

  function rejection (reason: 'channel.full' | 'router.full', key: string): Error {
    return reason === 'channel.full' ? errors.channelFull(key, config.waitersPerChannel) : errors.routerFull(config.waiters)
  }

  /** Detaches a waiter's timer, close listener and probe; idempotent. */
  function settle (waiter: Waiter): void {
    if (waiter.timer !== undefined) clearTimeout(waiter.timer)
    if (waiter.onGone !== undefined) {
      waiter.res.removeListener('close', waiter.onResponseClose)
    }
    if (waiter.probed) {
      waiter.probed = false
      departures.delete(waiter)
    }
    waiter.timer = undefined
    waiter.onGone = undefined
  }

  function startTransfer (transfer: Transfer<Waiter>): void {
    // First: settle() itself removes a listener from each response.
    normalizeIfReprototyped(transfer.producer.res)
    normalizeIfReprototyped(transfer.consumer.res)
    settle(transfer.producer)
    settle(transfer.consumer)
    runTransfer(transfer).catch(err => {
      // relay() settles every stream failure itself; this is a bug guard that fails closed
      // (runTransfer has already given the channel back).
      transfer.producer.res.destroy(err as Error)
      transfer.consumer.res.destroy(err as Error)
    })
  }

  async function runTransfer (transfer: Transfer<Waiter>): Promise<void> {
    const { key, producer, consumer } = transfer
    const source = producer.source as MessageSource
    const events = consumer.live ? new EventCollector(key, config.eventSize, consumer.res) : undefined
    const progress = track(transfer, source, 1, false)
    const published = diagnostics.publishTransferStart(owner, 'queue', transfer, producer.res, consumer.res)
    // A producer whose client may have left unseen while it waited (Node had stopped reading its
    // connection) is probed now: such a client resets the connection, so the transfer fails (the
    // consumer is cut off) instead of delivering a departed producer's message. What its kernel had
    // already sent, FIN included, is read before the reset: relay() checks that the connection
    // outlived the body.
    const unseen = producer.waited && source.body === producer.req && mayHideDeparture(producer.req)
    if (unseen && departures.enabled) probe(producer.req, producer.res)
    let outcome: RelayOutcome
    try {
      outcome = await relay(key, source, events ?? consumer.res, config.bodySize, progress, unseen ? () => connectionEnded(producer.req) : undefined)
    } finally {
      // Whatever happened, the channel's gate must open again and the counters come back down.
      untrack(progress)
      registry.finish(transfer)
    }
    const subscription = subscriptionOf(consumer.res)
    // A live consumer takes the event into its socket (or backlog) and its producer is answered;
    // it queues for the next message only once its socket has room again.
    if (outcome.delivered && events !== undefined && subscription?.send(events.frame as Buffer) !== true) {
      outcome = { delivered: false, bytes: outcome.bytes, error: errors.consumerAborted(key, outcome.bytes) }
    }
    diagnostics.publishTransferEnd(published, outcome.bytes, outcome.delivered ? undefined : outcome.error, outcome.delivered ? 1 : 0)
    if (outcome.delivered) answerProducer(producer.res, undefined)
    else fail(producer, outcome.error)
    subscription?.whenIdle(() => { resubscribe(consumer, 'consumer') })
    resolveIfIdle()
  }

  function publish (namespace: string, channel: string, source: MessageSource, res: ServerResponse, next: Next): void {
    const taken = registry.publish(namespace, channel, isLive)
    // Nobody subscribed: the message is dropped, as in patchbay, and the publisher is told so.
    if (taken === undefined) return answerProducer(res, 0)
    runBroadcast(taken, source, res, next).catch(err => { res.destroy(err as Error) })
  }

  async function runBroadcast (taken: Broadcast<Waiter>, source: MessageSource, res: ServerResponse, next: Next): Promise<void> {
    const raw: ServerResponse[] = []
    const live: LiveSubscription[] = []
    for (const subscriber of taken.subscribers) {
      // Live subscriptions stayed in the queue (registry.publish): they are never missing from it
      // between messages, and messages they cannot write yet wait in their backlogs.
      const subscription = subscriber.live ? subscriptionOf(subscriber.res) : undefined
      if (subscription !== undefined) {
        live.push(subscription)
        continue
      }
      normalizeIfReprototyped(subscriber.res)
      settle(subscriber)
      raw.push(subscriber.res)
    }
    normalizeIfReprototyped(res)
    const progress = track(taken, source, raw.length + live.length, true)
    const published = diagnostics.publishTransferStart(owner, 'pubsub', taken, res, taken.subscribers)
    let outcome: FanOutOutcome
    try {
      outcome = await fanOut(taken.key, source, raw, live, config, progress)
    } finally {
      untrack(progress)
      registry.finish(taken)
    }
    diagnostics.publishTransferEnd(published, progress.bytes, outcome.error, outcome.receivers)
    if (outcome.error === undefined) answerProducer(res, outcome.receivers)
    else if (!res.headersSent && !res.destroyed) next(outcome.error)
    resolveIfIdle()
  }

  function resubscribe (waiter: Waiter, role: Role): void {
    if (waiter.res.destroyed || waiter.res.writableEnded) return
    if (closed) return subscriptionOf(waiter.res)?.end(errors.routerClosed())
    enqueue(waiter, role)
  }

  function track (of: { namespace: string, channel: string }, source: MessageSource, receivers: number, pubsub: boolean): Running {
    const length = source.headers['content-length']
    const entry: Running = {
      bytes: 0,
      info: {
        namespace: of.namespace,
        channel: of.channel,
        total: length === undefined ? undefined : Number(length),
        receivers,
        pubsub,
        startedAt: Date.now()
      }
    }
    running.add(entry)
    return entry
  }

  function untrack (entry: Running): void {
    running.delete(entry)
    bytesDelivered += entry.bytes
  }

  /** Tells a waiter why it is turned away: an error response, or an error event on a live stream. */
  function fail (waiter: Waiter, error: Error): void {
    const subscription = subscriptionOf(waiter.res)
    if (subscription !== undefined) return subscription.end(error)
    if (!waiter.res.headersSent && !waiter.res.destroyed) waiter.next(error)
  }

  /** Turns away a waiter that has been taken out of its queue. */
  function reject (waiter: Waiter, error: Error): void {
    settle(waiter)
    fail(waiter, error)
  }

  /** Resolves `close()` once it has been called and nothing runs any more. */
  function resolveIfIdle (): void {
    if (closed && registry.stats().runningTransfers === 0) idle?.()
  }

  function stats (): HttpipeStats {
    let inFlight = 0
    const transfers: TransferProgress[] = []
    for (const entry of running) {
      inFlight += entry.bytes
      transfers.push({ ...entry.info, bytes: entry.bytes })
    }
    return { ...registry.stats(), bytesTransferred: bytesDelivered + inFlight, transfers }
  }

  function close (): Promise<void> {
    if (!closed) {
      closed = true
      gate?.close()
      for (const waiter of registry.evictAll()) reject(waiter, errors.routerClosed())
      resolveIfIdle()
    }
    return whenIdle
  }

  return { handle, stats, close }
}

/** `next` for a producer: an error answer is preceded by lingerOnError() (see linger.ts). */
function lingeringNext (req: IncomingMessage, res: ServerResponse, next: Next): Next {
  return function lingeringNext (err?: unknown) {
    if (err !== undefined) lingerOnError(req, res)
    next(err)
  }
}

/**
 * A `GET` that asks for part of a message: a resuming client (wget after a cut, `curl -C -`) would
 * get the start of the next message and splice it onto the end of the last one. Refused with a 4xx
 * that makes wget fail (it takes a `416` for "already complete" and exits 0). `bytes=0-` asks for
 * the whole message, as media elements do first, and is served.
 */
function partialRequestRefusal (headers: IncomingHttpHeaders): Error | undefined {
  const range = headers.range
  if (range !== undefined && range.replace(/\s/g, '') !== 'bytes=0-') return errors.rangeRefused('Range', range)
  const ifRange = headers['if-range']
  if (ifRange !== undefined && range === undefined) return errors.rangeRefused('If-Range', String(ifRange))
  return undefined
}

function isLive (waiter: Waiter): boolean {
  return waiter.live
}

/** The producer's `200`: a publisher also learns how many subscribers received its message. */
function answerProducer (res: ServerResponse, receivers: number | undefined): void {
  if (res.headersSent || res.destroyed) return
  const headers = receivers === undefined ? SAFETY_HEADERS : { ...SAFETY_HEADERS, 'X-Httpipe-Receivers': String(receivers) }
  res.writeHead(200, { 'Content-Length': '0', ...headers }).end()
}

function sendJson (res: ServerResponse, value: unknown): void {
  const body = JSON.stringify(value)
  res.writeHead(200, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    ...SAFETY_HEADERS
  }).end(body)
}

function noContent (res: ServerResponse): void {
  res.writeHead(204, SAFETY_HEADERS).end()
}
