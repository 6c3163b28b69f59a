import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import { AccessGate, accessOf } from './authorize'
import { parseChannelQuery, type ChannelQuery } from './channel-query'
import { applyCors } from './cors'
import * as diagnostics from './diagnostics'
import * as errors from './errors'
import { wantsEventStream } from './event-stream'
import { lingerOnError } from './linger'
import { normalizeIfReprototyped } from './object-shape'
import type { ResolvedOptions } from './options'
import { SAFETY_HEADERS } from './response-headers'
import { parseRoute, type ChannelRoute, type Route } from './route'
import type { TransferTracker } from './transfer-tracker'
import { servePage, wantsPage } from './ui'
import type { Exchange, Next } from './waiter'
import type { PipeRegistry, WaitingRoom } from './waiting-room'
import { type Intake } from './intake'

const CHANNEL_METHODS = ['GET', 'POST', 'PUT', 'DELETE'] as const
const NAMESPACE_METHODS = ['GET', 'DELETE'] as const

/** What a valid channel request asks to do, once its method, headers and query have been checked. */
export type ChannelIntent = 'produce' | 'link' | 'consume' | 'delete'

/**
 * Routes one request: CORS preflights, the page, listings and DELETE are answered here; a request
 * that sends or receives a message is checked and handed to the intake (intake.ts) as an intent.
 */
export class Dispatcher {
  readonly #config: ResolvedOptions
  readonly #registry: PipeRegistry
  readonly #tracker: TransferTracker
  readonly #room: WaitingRoom
  readonly #intake: Intake
  /** `authorize`, when set: one verdict per request before it is routed (authorize.ts). */
  readonly #gate: AccessGate | undefined

  constructor (config: ResolvedOptions, registry: PipeRegistry, tracker: TransferTracker, room: WaitingRoom, intake: Intake) {
    this.#config = config
    this.#registry = registry
    this.#tracker = tracker
    this.#room = room
    this.#intake = intake
    this.#gate = config.authorize === undefined ? undefined : new AccessGate(config.authorize, config.timeout)
  }

  handle (req: IncomingMessage, res: ServerResponse, hostNext: Next): void {
    // Any error to a producer may find it still uploading: one place makes sure it is read. And
    // each error is published, while someone listens. One wrapper at most per request.
    const producing = req.method === 'POST' || req.method === 'PUT'
    const reporting = diagnostics.requestError.hasSubscribers
    const next = producing || reporting ? answeringNext(reporting ? diagnostics.routerOf(this.#config) : undefined, producing, req, res, hostNext) : hostNext
    // The request at once: Node's parser goes on working on it (the body, its end) as it waits.
    // Its response only when its transfer starts (it is left alone until then): that keeps the
    // memory a waiting request costs down. See object-shape.ts for why. Not a live subscriber's
    // request: it has no body, and it stays as long as the stream does (2.6 KB each in dictionary mode).
    if (req.method !== 'GET' || !wantsEventStream(req)) normalizeIfReprototyped(req)
    if (this.#config.cors !== false && applyCors(this.#config.cors, req, res)) return
    if (this.#tracker.closed) return next(errors.routerClosed())
    let route: Route
    let query: ChannelQuery | undefined
    try {
      route = parseRoute(req.url ?? '/')
      if (route.kind === 'channel') query = parseChannelQuery(req.url ?? '/')
    } catch (err) {
      return next(err)
    }
    const routed = diagnostics.requestRouted.hasSubscribers
    const access = this.#gate === undefined && !routed ? undefined : accessOf(route, query, req.method)
    if (access !== undefined && routed) diagnostics.requestRouted.publish({ router: diagnostics.routerOf(this.#config), req, res, access })
    if (access === undefined || this.#gate === undefined) return this.#route(req, res, next, route, query)
    const verdict = this.#gate.ask(req, res, next, access)
    if (verdict === true) return this.#route(req, res, next, route, query)
    if (verdict !== false) this.#gate.wait(verdict, req, res, next, access, () => { this.#route(req, res, next, route, query) })
  }

  /** Answers `authorize` verdicts still pending with 503 (close()). */
  closeGate (): void {
    this.#gate?.close()
  }

  #route (req: IncomingMessage, res: ServerResponse, next: Next, route: Route, query: ChannelQuery | undefined): void {
    if (query !== undefined && route.kind === 'channel') return this.#channel({ req, res, next }, route, query)
    switch (route.kind) {
      case 'namespace': return this.#namespace(route.namespace, req, res, next)
      case 'namespaces':
        // Only the one-segment GET lists; `namespaces` stays a namespace for everything else.
        if (req.method === 'GET') return this.#listNamespaces(req, res, next)
        return this.#namespace('namespaces', req, res, next)
      case 'root':
        if (this.#config.ui && wantsPage(req)) return servePage(req, res)
        return next(errors.routeNotFound('/'))
    }
  }

  #channel (exchange: Exchange, route: ChannelRoute, query: ChannelQuery): void {
    const intent = this.#intentOf(exchange.req, query)
    if (typeof intent !== 'string') return exchange.next(intent)
    // The one place every channel request passes, valid and not yet queued, its body unread.
    switch (intent) {
      case 'produce': return this.#intake.producer(exchange, route, query.pubsub)
      case 'link': return this.#intake.linkProducer(exchange, route, query)
      case 'consume': return this.#intake.consumer(exchange, route, query.pubsub)
      case 'delete':
        this.#room.turnAwayAll(this.#registry.deleteChannel(route.namespace, route.channel), waiter => errors.channelDeleted(waiter.route.key))
        return noContent(exchange.res)
    }
  }

  /** What a channel request asks for, or why it is refused before it touches the channel. */
  #intentOf (req: IncomingMessage, query: ChannelQuery): ChannelIntent | Error {
    switch (req.method) {
      case 'POST':
      case 'PUT':
        return 'produce'
      case 'GET': {
        if (req.headers['service-worker'] === 'script') return errors.serviceWorkerRefused()
        if (req.headers.range !== undefined || req.headers['if-range'] !== undefined) {
          const refusal = partialRequestRefusal(req.headers)
          if (refusal !== undefined) return refusal
        }
        if (query.link === undefined) return 'consume'
        // Refused, not served as a consumer: that would take a message where one was to be sent.
        return this.#config.links ? 'link' : errors.linksDisabled()
      }
      case 'DELETE': return 'delete'
      default: return errors.methodNotAllowed(req.method ?? '', CHANNEL_METHODS)
    }
  }

  #namespace (namespace: string, req: IncomingMessage, res: ServerResponse, next: Next): void {
    switch (req.method) {
      case 'GET': {
        if (!this.#config.listing) return next(errors.listingDisabled())
        const channels = this.#registry.channels(namespace)
        if (channels.length === 0) return next(errors.namespaceNotFound(namespace))
        return sendJson(res, channels)
      }
      case 'DELETE':
        this.#room.turnAwayAll(this.#registry.deleteNamespace(namespace), waiter => errors.channelDeleted(waiter.route.key))
        return noContent(res)
      default: return next(errors.methodNotAllowed(req.method ?? '', NAMESPACE_METHODS))
    }
  }

  #listNamespaces (req: IncomingMessage, res: ServerResponse, next: Next): void {
    if (!this.#config.listing) return next(errors.listingDisabled())
    if (this.#gate === undefined) return sendJson(res, this.#registry.namespaces())
    this.#gate.filter(req, res, next, this.#registry.namespaces(), allowed => { sendJson(res, allowed) })
  }
}

/**
 * `next` that publishes each error first when `router` is given (diagnostics.ts), and for a
 * producer (`linger`) precedes an error answer with lingerOnError() (see linger.ts).
 */
function answeringNext (router: object | undefined, linger: boolean, req: IncomingMessage, res: ServerResponse, next: Next): Next {
  return function answeringNext (err?: unknown) {
    if (err !== undefined) {
      if (router !== undefined) diagnostics.publishRequestError(router, req, res, err)
      if (linger) lingerOnError(req, res)
    }
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
