import type { Broadcast, ChannelRegistry, Role, Transfer } from './channel-registry'
import { DepartureProbe, canProbe } from './departure-probe'
import * as diagnostics from './diagnostics'
import * as errors from './errors'
import { LiveSubscription, subscriptionOf } from './live-subscription'
import { normalizeIfReprototyped } from './object-shape'
import type { ResolvedOptions } from './options'
import { isQueuedBehind, whenCurrent } from './pipelining'
import type { TransferTracker } from './transfer-tracker'
import type { ConsumerWaiter, ProducerWaiter, Waiter, WaiterTicket } from './waiter'

/** The registry of one router, over its waiters. */
export type PipeRegistry = ChannelRegistry<ProducerWaiter, ConsumerWaiter>

/** A matched pair of waiters, to be started (transfer-runner.ts). */
export type PipeTransfer = Transfer<ProducerWaiter, ConsumerWaiter>

/** The subscribers a pubsub message is taken to (transfer-runner.ts). */
export type PipeBroadcast = Broadcast<ProducerWaiter, ConsumerWaiter>

/**
 * The lifecycle of a waiting request: it is queued (or matched at once, or turned away), watched
 * while it waits (its timeout, its client's departure), and settled when it leaves the queue,
 * matched or not. "Turning away" is the one way a waiter is answered with an error.
 */
export class WaitingRoom {
  readonly #config: ResolvedOptions
  readonly #registry: PipeRegistry
  readonly #tracker: TransferTracker
  readonly #start: (transfer: PipeTransfer) => void
  readonly #departures: DepartureProbe<Waiter>
  readonly #withdrawGone = (waiter: Waiter): void => { this.#withdraw(waiter) }

  /** `start` is given every pair the registry matches. */
  constructor (config: ResolvedOptions, registry: PipeRegistry, tracker: TransferTracker, start: (transfer: PipeTransfer) => void) {
    this.#config = config
    this.#registry = registry
    this.#tracker = tracker
    this.#start = start
    this.#departures = new DepartureProbe<Waiter>(config.probeInterval)
  }

  get departuresProbed (): boolean {
    return this.#departures.enabled
  }

  /** Queues a waiter on its channel; `timeout` is what is left of its wait (less once it was parked). */
  enqueue (waiter: Waiter, timeout = this.#config.timeout): void {
    if (isQueuedBehind(waiter.res)) return this.#park(waiter)
    const { namespace, channel, key } = waiter.route
    const admitted = waiter.role === 'producer'
      ? this.#registry.enqueueProducer(namespace, channel, waiter)
      : waiter.role === 'consumer'
        ? this.#registry.enqueueConsumer(namespace, channel, waiter)
        : this.#registry.enqueueSubscriber(namespace, channel, waiter)
    if (typeof admitted === 'string') return this.turnAway(waiter, errors.refusalError(admitted, key, this.#config))
    // Paired at once (the second request of a pair, usually): there is no wait to watch.
    if (admitted.kind === 'transfer') return this.#start(admitted)
    this.#watch(waiter, admitted, timeout)
  }

  /**
   * A live (text/event-stream) consumer: its stream's 200 goes out before the first message, so
   * what the queue would refuse is refused first. It then stays subscribed across messages.
   */
  enqueueLive (waiter: ConsumerWaiter): void {
    const refusal = this.#registry.refusal(waiter.route.namespace, waiter.route.channel, waiter.role)
    if (refusal !== undefined) return this.turnAway(waiter, errors.refusalError(refusal, waiter.route.key, this.#config))
    // Written to from now on, message after message: worth its shape at once (object-shape.ts).
    normalizeIfReprototyped(waiter.res)
    // eslint-disable-next-line no-new -- it lives as long as its response (subscriptionOf() finds it)
    new LiveSubscription(waiter.res, waiter.route.key, this.#config, () => { this.#withdraw(waiter) })
    if (diagnostics.liveStart.hasSubscribers) {
      const { namespace, channel } = waiter.route
      diagnostics.liveStart.publish({ router: diagnostics.routerOf(this.#config), req: waiter.req, res: waiter.res, namespace, channel, pubsub: waiter.role === 'subscriber' })
    }
    this.enqueue(waiter)
  }

  /** Queues a live consumer again after a message, unless it or the router is gone. */
  resubscribe (waiter: ConsumerWaiter): void {
    if (waiter.res.destroyed || waiter.res.writableEnded) return
    if (this.#tracker.closed) return subscriptionOf(waiter.res)?.end(errors.routerClosed())
    this.enqueue(waiter)
  }

  /** Detaches a waiter's timer, close listener and probe, as it leaves its queue; idempotent. */
  settle (waiter: Waiter): void {
    if (waiter.timer !== undefined) clearTimeout(waiter.timer)
    if (waiter.onGone !== undefined) waiter.res.removeListener('close', waiter.onResponseClose)
    if (waiter.probed) {
      waiter.probed = false
      this.#departures.delete(waiter)
    }
    waiter.timer = undefined
    waiter.onGone = undefined
  }

  /**
   * Settles a waiter and tells it why it is turned away: an error response, or an error event on
   * a live stream. Nothing is written to a response that has started or is gone.
   */
  turnAway (waiter: Waiter, error: Error): void {
    this.settle(waiter)
    const subscription = subscriptionOf(waiter.res)
    if (subscription !== undefined) return subscription.end(error)
    if (!waiter.res.headersSent && !waiter.res.destroyed) waiter.next(error)
  }

  /** Turns away waiters the registry has evicted (DELETE, close()). */
  turnAwayAll (waiters: readonly Waiter[], error: (waiter: Waiter) => Error): void {
    for (const waiter of waiters) this.turnAway(waiter, error(waiter))
  }

  #watch (waiter: Waiter, ticket: WaiterTicket, timeout: number): void {
    waiter.ticket = ticket
    waiter.waited = true
    // Timed here rather than by a subscriber keeping a map of waiting responses (the metrics did).
    waiter.waitingSince = diagnostics.waitingSinceNow()
    if (diagnostics.waitStart.hasSubscribers) {
      const { namespace, channel } = waiter.route
      diagnostics.waitStart.publish({ router: diagnostics.routerOf(this.#config), req: waiter.req, res: waiter.res, role: waiter.role, namespace, channel })
    }
    waiter.onGone = this.#withdrawGone
    waiter.res.on('close', waiter.onResponseClose)
    const live = waiter.role !== 'producer' && waiter.live
    // Every tick asks whether the connection hides a departure now: a request pipelined behind this
    // one can make Node stop reading it later. A live subscription has written its head: its
    // keep-alive comments probe it.
    if (!live && this.#departures.enabled && canProbe(waiter.req, waiter.res)) {
      waiter.probed = true
      this.#departures.add(waiter)
    }
    // A live subscription has no wait to time out: it is meant to stay open.
    if (timeout !== Infinity && !live) {
      waiter.timer = setTimeout(() => {
        if (waiter.ticket !== undefined && this.#registry.withdraw(waiter.ticket)) {
          this.turnAway(waiter, errors.waitTimedOut(waiter.route.key, this.#config.timeout))
        }
      }, timeout)
    }
  }

  /** A waiting client left: out of its queue at once. */
  #withdraw (waiter: Waiter): void {
    if (waiter.ticket !== undefined) this.#registry.withdraw(waiter.ticket)
    this.settle(waiter)
  }

  /**
   * Holds a request pipelined behind an unfinished response on its connection until its turn (see
   * pipelining.ts). It counts as waiting meanwhile, against `limits.waiters` too, and its `timeout`
   * runs from its arrival.
   */
  #park (waiter: Waiter): void {
    if (this.#registry.isFull()) return this.turnAway(waiter, errors.routerFull(this.#config.waiters))
    const role: Role = waiter.role
    this.#registry.hold(role, 1)
    const arrived = Date.now()
    whenCurrent(waiter.req, waiter.res, () => {
      this.#registry.hold(role, -1)
      if (this.#tracker.closed) return this.turnAway(waiter, errors.routerClosed())
      const left = this.#config.timeout - (Date.now() - arrived)
      if (left <= 0) return this.turnAway(waiter, errors.waitTimedOut(waiter.route.key, this.#config.timeout))
      this.enqueue(waiter, left)
    }, () => { this.#registry.hold(role, -1) })
  }
}
