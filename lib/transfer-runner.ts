import type { ServerResponse } from 'node:http'
import { mayHideDeparture, connectionEnded, probe } from './departure-probe'
import * as diagnostics from './diagnostics'
import * as errors from './errors'
import { EventCollector } from './event-stream'
import { fanOut, type FanOutOutcome } from './fan-out'
import { type LiveSubscription, subscriptionOf } from './live-subscription'
import { normalizeIfReprototyped } from './object-shape'
import type { ResolvedOptions } from './options'
import { relay, type MessageSource, type RelayOutcome } from './relay'
import { SAFETY_HEADERS } from './response-headers'
import type { ChannelRoute } from './route'
import type { Tracked, TransferTracker } from './transfer-tracker'
import type { ConsumerWaiter } from './waiter'
import type { PipeBroadcast, PipeRegistry, PipeTransfer, WaitingRoom } from './waiting-room'

/**
 * Runs what the registry matched: a queue-mode transfer (relay.ts) or a pubsub broadcast
 * (fan-out.ts), each tracked from start to end, its outcome told to its producer, and its channel
 * given back to the registry, whose next matches it starts.
 */
export class TransferRunner {
  readonly #config: ResolvedOptions
  readonly #registry: PipeRegistry
  readonly #tracker: TransferTracker
  readonly #room: WaitingRoom

  constructor (config: ResolvedOptions, registry: PipeRegistry, tracker: TransferTracker, room: WaitingRoom) {
    this.#config = config
    this.#registry = registry
    this.#tracker = tracker
    this.#room = room
  }

  /** Starts a matched pair; its waiters leave the waiting room. */
  start (transfer: PipeTransfer): void {
    const { producer, consumer } = transfer
    // First: settle() itself removes a listener from each response.
    normalizeIfReprototyped(producer.res)
    normalizeIfReprototyped(consumer.res)
    this.#room.settle(producer)
    this.#room.settle(consumer)
    this.#run(transfer).catch(err => {
      // relay() settles every stream failure itself; this is a bug guard that fails closed
      // (#run has already given the channel back).
      producer.res.destroy(err as Error)
      consumer.res.destroy(err as Error)
    })
  }

  /** A pubsub message: to every subscriber waiting now; dropped, as in patchbay, when there is none. */
  publish (route: ChannelRoute, source: MessageSource, res: ServerResponse, next: (err: Error) => void): void {
    const taken = this.#registry.publish(route.namespace, route.channel, isLive)
    // Nobody subscribed: the message is dropped, and the publisher is told so.
    if (taken === undefined) return answerProducer(res, 0)
    this.#broadcast(route, taken, source, res, next).catch(err => { res.destroy(err as Error) })
  }

  async #broadcast (route: ChannelRoute, taken: PipeBroadcast, source: MessageSource, res: ServerResponse, next: (err: Error) => void): Promise<void> {
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
      this.#room.settle(subscriber)
      raw.push(subscriber.res)
    }
    normalizeIfReprototyped(res)
    const progress = this.#track(route, source, raw.length + live.length, true)
    const published = diagnostics.publishTransferStart(this.#config, 'pubsub', route, res, taken.subscribers)
    let outcome: FanOutOutcome
    try {
      outcome = await fanOut(route.key, source, raw, live, this.#config, progress)
    } finally {
      this.#tracker.end(progress)
      const next = this.#registry.finish(taken)
      if (next !== undefined) this.start(next)
    }
    diagnostics.publishTransferEnd(published, progress.bytes, outcome.error, outcome.receivers)
    if (outcome.error === undefined) answerProducer(res, outcome.receivers)
    else if (!res.headersSent && !res.destroyed) next(outcome.error)
  }

  async #run (transfer: PipeTransfer): Promise<void> {
    const { key, producer, consumer } = transfer
    const { source } = producer
    const events = consumer.live ? new EventCollector(key, this.#config.eventSize, consumer.res) : undefined
    const progress = this.#track(transfer, source, 1, false)
    const published = diagnostics.publishTransferStart(this.#config, 'queue', transfer, producer, consumer)
    // A producer whose client may have left unseen while it waited (Node had stopped reading its
    // connection) is probed now: such a client resets the connection, so the transfer fails (the
    // consumer is cut off) instead of delivering a departed producer's message. What its kernel had
    // already sent, FIN included, is read before the reset: relay() checks that the connection
    // outlived the body.
    const unseen = producer.waited && source.body === producer.req && mayHideDeparture(producer.req)
    if (unseen && this.#room.departuresProbed) probe(producer.req, producer.res)
    let outcome: RelayOutcome
    try {
      outcome = await relay(key, source, events ?? consumer.res, this.#config.bodySize, progress, unseen ? () => connectionEnded(producer.req) : undefined)
    } finally {
      // Whatever happened, the channel's gate must open again and the counters come back down.
      this.#tracker.end(progress)
      const next = this.#registry.finish(transfer)
      if (next !== undefined) this.start(next)
    }
    const subscription = subscriptionOf(consumer.res)
    // A live consumer takes the event into its socket (or backlog) and its producer is answered;
    // it queues for the next message only once its socket has room again.
    if (outcome.delivered && events !== undefined && subscription?.send(events.frame as Buffer) !== true) {
      outcome = { delivered: false, bytes: outcome.bytes, error: errors.consumerAborted(key, outcome.bytes) }
    }
    diagnostics.publishTransferEnd(published, outcome.bytes, outcome.delivered ? undefined : outcome.error, outcome.delivered ? 1 : 0)
    if (outcome.delivered) answerProducer(producer.res, undefined)
    else this.#room.turnAway(producer, outcome.error)
    subscription?.whenIdle(() => { this.#room.resubscribe(consumer) })
  }

  #track (of: { readonly namespace: string, readonly channel: string }, source: MessageSource, receivers: number, pubsub: boolean): Tracked {
    const length = source.headers['content-length']
    return this.#tracker.start({
      namespace: of.namespace,
      channel: of.channel,
      total: length === undefined ? undefined : Number(length),
      receivers,
      pubsub,
      startedAt: Date.now()
    })
  }
}

function isLive (waiter: ConsumerWaiter): boolean {
  return waiter.live
}

/** The producer's `200`: a publisher also learns how many subscribers received its message. */
function answerProducer (res: ServerResponse, receivers: number | undefined): void {
  if (res.headersSent || res.destroyed) return
  const headers = receivers === undefined ? SAFETY_HEADERS : { ...SAFETY_HEADERS, 'X-Httpipe-Receivers': String(receivers) }
  res.writeHead(200, { 'Content-Length': '0', ...headers }).end()
}
