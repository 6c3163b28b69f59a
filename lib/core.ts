import type { IncomingMessage, ServerResponse } from 'node:http'
import { parseRoute, type Route } from './channel-key'
import { ChannelRegistry, type Role, type Ticket, type Transfer } from './channel-registry'
import { SAFETY_HEADERS } from './consumer-headers'
import * as errors from './errors'
import { resolveOptions, type HttpipeOptions, type ResolvedOptions } from './options'
import { relay, type RelayProgress } from './relay'

/** Counters of a router or handler at one moment. */
export interface HttpipeStats {
  namespaces: number
  channels: number
  waitingProducers: number
  waitingConsumers: number
  runningTransfers: number
  /** Message bytes relayed to consumers since creation, running transfers included. */
  bytesTransferred: number
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

interface Waiter {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly next: Next
  readonly key: string
  ticket: Ticket<Waiter> | undefined
  timer: NodeJS.Timeout | undefined
  onClose: (() => void) | undefined
}

const CHANNEL_METHODS = ['GET', 'POST', 'PUT', 'DELETE'] as const
const NAMESPACE_METHODS = ['GET', 'DELETE'] as const

/** The request handling shared by the Express router and the plain `node:http` handler. */
export function createPipeCore (options?: HttpipeOptions): PipeCore {
  const config: ResolvedOptions = resolveOptions(options)
  const registry = new ChannelRegistry<Waiter>(config, startTransfer)
  const running = new Set<RelayProgress>()
  let bytesDelivered = 0
  let closed = false
  let idle: (() => void) | undefined
  const whenIdle = new Promise<void>(resolve => { idle = resolve })

  function handle (req: IncomingMessage, res: ServerResponse, next: Next): void {
    if (closed) return next(errors.routerClosed())
    let route: Route
    try {
      route = parseRoute(req.url ?? '/')
    } catch (err) {
      return next(err)
    }
    switch (route.kind) {
      case 'channel': return handleChannel(route.namespace, route.channel, route.key, req, res, next)
      case 'namespace': return handleNamespace(route.namespace, req, res, next)
      case 'namespaces':
        // Only the one-segment GET lists; `namespaces` stays a namespace for everything else.
        if (req.method === 'GET') return listNamespaces(res, next)
        return handleNamespace('namespaces', req, res, next)
      case 'root': return next(errors.routeNotFound('/'))
    }
  }

  function handleChannel (namespace: string, channel: string, key: string, req: IncomingMessage, res: ServerResponse, next: Next): void {
    switch (req.method) {
      case 'POST':
      case 'PUT': return acceptProducer(namespace, channel, key, req, res, next)
      case 'GET': return acceptConsumer(namespace, channel, key, req, res, next)
      case 'DELETE':
        reject(registry.deleteChannel(namespace, channel), errors.channelDeleted(key))
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
        for (const channel of registry.channels(namespace)) {
          reject(registry.deleteChannel(namespace, channel), errors.channelDeleted(`${namespace}/${channel}`))
        }
        return noContent(res)
      default: return next(errors.methodNotAllowed(req.method ?? '', NAMESPACE_METHODS))
    }
  }

  function listNamespaces (res: ServerResponse, next: Next): void {
    if (!config.listing) return next(errors.listingDisabled())
    sendJson(res, registry.namespaces())
  }

  function acceptProducer (namespace: string, channel: string, key: string, req: IncomingMessage, res: ServerResponse, next: Next): void {
    const declared = req.headers['content-length']
    if (declared !== undefined && Number(declared) > config.bodySize) {
      return next(errors.entityTooLarge(config.bodySize, Number(declared)))
    }
    if (req.readableDidRead || req.readableEnded) return next(errors.bodyConsumed())
    wait(namespace, channel, key, 'producer', req, res, next)
  }

  function acceptConsumer (namespace: string, channel: string, key: string, req: IncomingMessage, res: ServerResponse, next: Next): void {
    if (req.headers['service-worker'] === 'script') return next(errors.serviceWorkerRefused())
    wait(namespace, channel, key, 'consumer', req, res, next)
  }

  function wait (namespace: string, channel: string, key: string, role: Role, req: IncomingMessage, res: ServerResponse, next: Next): void {
    const waiter: Waiter = { req, res, next, key, ticket: undefined, timer: undefined, onClose: undefined }
    // Armed before enqueueing, because enqueue may match this waiter synchronously.
    waiter.onClose = () => {
      if (waiter.ticket !== undefined) registry.withdraw(waiter.ticket)
      settle(waiter)
    }
    res.once('close', waiter.onClose)
    if (config.timeout !== Infinity) {
      waiter.timer = setTimeout(() => {
        if (waiter.ticket !== undefined && registry.withdraw(waiter.ticket)) {
          settle(waiter)
          next(errors.waitTimedOut(key, config.timeout))
        }
      }, config.timeout)
    }
    const admitted = registry.enqueue(namespace, channel, role, waiter)
    if (typeof admitted === 'string') {
      settle(waiter)
      return next(admitted === 'channel.full' ? errors.channelFull(key, config.waitersPerChannel) : errors.routerFull(config.waiters))
    }
    // When matched at once, settle() has already run; the ticket is then spent and never used.
    waiter.ticket = admitted
  }

  /** Detaches a waiter's timer and close listener; idempotent. */
  function settle (waiter: Waiter): void {
    if (waiter.timer !== undefined) clearTimeout(waiter.timer)
    if (waiter.onClose !== undefined) waiter.res.removeListener('close', waiter.onClose)
    waiter.timer = undefined
    waiter.onClose = undefined
  }

  function startTransfer (transfer: Transfer<Waiter>): void {
    settle(transfer.producer)
    settle(transfer.consumer)
    runTransfer(transfer).catch(err => {
      // relay() settles every stream failure itself; this is a bug guard that fails closed.
      transfer.producer.res.destroy(err as Error)
      transfer.consumer.res.destroy(err as Error)
    })
  }

  async function runTransfer (transfer: Transfer<Waiter>): Promise<void> {
    const { key, producer, consumer } = transfer
    const progress: RelayProgress = { bytes: 0 }
    running.add(progress)
    const outcome = await relay(key, producer.req, consumer.res, config.bodySize, progress)
    running.delete(progress)
    bytesDelivered += outcome.bytes
    registry.finish(transfer)
    if (outcome.delivered) {
      producer.res.writeHead(200, { 'Content-Length': '0', ...SAFETY_HEADERS }).end()
    } else if (!producer.res.headersSent && !producer.res.destroyed) {
      producer.next(outcome.error)
    }
    if (closed && registry.stats().runningTransfers === 0) idle?.()
  }

  function reject (waiters: readonly Waiter[], error: Error): void {
    for (const waiter of waiters) {
      settle(waiter)
      waiter.next(error)
    }
  }

  function stats (): HttpipeStats {
    let inFlight = 0
    for (const progress of running) inFlight += progress.bytes
    return { ...registry.stats(), bytesTransferred: bytesDelivered + inFlight }
  }

  function close (): Promise<void> {
    if (!closed) {
      closed = true
      reject(registry.evictAll(), errors.routerClosed())
      if (registry.stats().runningTransfers === 0) idle?.()
    }
    return whenIdle
  }

  return { handle, stats, close }
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
