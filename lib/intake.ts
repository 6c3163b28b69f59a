import type { IncomingHttpHeaders } from 'node:http'
import { Readable } from 'node:stream'
import type { ChannelQuery } from './channel-query'
import * as errors from './errors'
import { wantsEventStream } from './event-stream'
import type { ResolvedOptions } from './options'
import type { MessageSource } from './relay'
import type { ChannelRoute } from './route'
import type { TransferRunner } from './transfer-runner'
import { ConsumerWaiter, ProducerWaiter, type Exchange } from './waiter'
import type { WaitingRoom } from './waiting-room'

/**
 * Turns a checked channel request into a waiter for the waiting room, or a message for the
 * publisher: the limits a request can be held to before it waits (a declared body size, a body
 * already read) are applied here.
 */
export class Intake {
  readonly #config: ResolvedOptions
  readonly #room: WaitingRoom
  readonly #runner: TransferRunner

  constructor (config: ResolvedOptions, room: WaitingRoom, runner: TransferRunner) {
    this.#config = config
    this.#room = room
    this.#runner = runner
  }

  /** A POST or PUT. */
  producer (exchange: Exchange, route: ChannelRoute, pubsub: boolean): void {
    const { req } = exchange
    const declared = req.headers['content-length']
    if (declared !== undefined && Number(declared) > this.#config.bodySize) {
      return exchange.next(errors.entityTooLarge(this.#config.bodySize, Number(declared)))
    }
    if (req.readableDidRead || req.readableEnded) return exchange.next(errors.bodyConsumed())
    this.#produce(exchange, route, pubsub, { body: req, headers: req.headers })
  }

  /** `GET ?method=post&body=TEXT`: a producer a browser link can be (patchbay's form). */
  linkProducer (exchange: Exchange, route: ChannelRoute, query: ChannelQuery): void {
    const body = Buffer.from(query.link?.body ?? '')
    if (body.length > this.#config.bodySize) return exchange.next(errors.entityTooLarge(this.#config.bodySize, body.length))
    const headers: IncomingHttpHeaders = { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(body.length) }
    this.#produce(exchange, route, query.pubsub, { body: Readable.from([body]), headers })
  }

  /** A GET: a queue-mode consumer or a pubsub subscriber, raw or live (text/event-stream). */
  consumer (exchange: Exchange, route: ChannelRoute, pubsub: boolean): void {
    const waiter = new ConsumerWaiter(exchange, route, pubsub ? 'subscriber' : 'consumer', wantsEventStream(exchange.req))
    if (waiter.live) this.#room.enqueueLive(waiter)
    else this.#room.enqueue(waiter)
  }

  #produce (exchange: Exchange, route: ChannelRoute, pubsub: boolean, source: MessageSource): void {
    if (pubsub) return this.#runner.publish(route, source, exchange.res, exchange.next)
    this.#room.enqueue(new ProducerWaiter(exchange, route, source))
  }
}
