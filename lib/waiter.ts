import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Ticket } from './channel-registry'
import type { MessageSource } from './relay'
import type { ChannelRoute } from './route'

/** The continuation of an adapter: `next(err)` to report an error, `next()` to pass. */
export type Next = (err?: unknown) => void

/** One request as an adapter hands it over. */
export interface Exchange {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly next: Next
}

/** A waiter's place in the registry. */
export type WaiterTicket = Ticket<ProducerWaiter, ConsumerWaiter>

/**
 * What every request waiting for its counterpart carries. Classes, so that every waiter of a kind
 * has one shape (a hot path); the fields below the route are the waiting room's (waiting-room.ts).
 */
abstract class WaiterBase {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly next: Next
  ticket: WaiterTicket | undefined = undefined
  timer: NodeJS.Timeout | undefined = undefined
  /** Called when the waiting client disconnects; set while it waits. */
  onGone: ((waiter: this) => void) | undefined = undefined
  /** The listener on the response's 'close' while waiting. */
  readonly onResponseClose = (): void => { this.onGone?.(this) }
  /** In the departure probe's set while waiting. */
  probed = false
  /** It waited in a queue (it was not matched the moment it arrived). */
  waited = false
  /** When it began to wait, for `httpipe:transfer:start` (diagnostics.ts `WaitingParty`); `-1`: not timed. */
  waitingSince = -1

  constructor (exchange: Exchange, readonly route: ChannelRoute) {
    this.req = exchange.req
    this.res = exchange.res
    this.next = exchange.next
  }
}

/** A queue-mode producer: a POST or PUT, or a link producer's GET. */
export class ProducerWaiter extends WaiterBase {
  readonly role = 'producer'

  constructor (exchange: Exchange, route: ChannelRoute, readonly source: MessageSource) {
    super(exchange, route)
  }
}

/** A consumer (queue mode) or pubsub subscriber. */
export class ConsumerWaiter extends WaiterBase {
  constructor (
    exchange: Exchange,
    route: ChannelRoute,
    readonly role: 'consumer' | 'subscriber',
    /** A live (text/event-stream) subscriber: it stays subscribed across messages. */
    readonly live: boolean
  ) {
    super(exchange, route)
  }
}

export type Waiter = ProducerWaiter | ConsumerWaiter
