import type { ServerResponse } from 'node:http'
import { subscriberLagging, subscriberStalled } from './errors'
import { errorEvent, openEventStream } from './event-stream'

/** How often an idle live subscription gets a comment line, so proxies do not cut it. */
export const KEEP_ALIVE_MS = 15_000

const KEEP_ALIVE = Buffer.from(': keep-alive\n\n')

/** The bounds of one live subscription's backlog (`limits.eventBacklog*`, `limits.stallTimeout`). */
export interface BacklogLimits {
  readonly eventBacklog: number
  readonly eventBacklogBytes: number
  readonly stallTimeout: number
}

const subscriptions = new WeakMap<ServerResponse, LiveSubscription>()

/**
 * The open subscriptions, all kept alive by one timer: a timer each (its Timeout, callback and
 * context) was about 300 bytes per subscription, 1.5 MB for 5 000 of them. Each still gets a comment
 * every {@link KEEP_ALIVE_MS} while idle; only the first comes sooner, within that time.
 */
const kept = new Set<LiveSubscription>()
let keepAliveTimer: NodeJS.Timeout | undefined

function keepAliveAll (): void {
  for (const subscription of kept) subscription.keepAlive()
}

/** The live subscription streaming into `res`, if it is one. */
export function subscriptionOf (res: ServerResponse): LiveSubscription | undefined {
  return subscriptions.get(res)
}

/**
 * One `text/event-stream` response and the events waiting to go into it. An event is a framed
 * Buffer shared by every subscriber it goes to: the backlog holds references, never copies.
 *
 * Writes go by `res.write()`'s return value and `'drain'`, never by a write callback, which
 * middleware such as `compression()` drops. While the socket is full, events queue here up to the
 * bounds, and are written in order as it drains; past a bound, or after `stallTimeout` ms without a
 * drain, the subscription is ended with an `error` event naming the reason (and destroyed if it
 * cannot even take that within `stallTimeout`), so one slow reader never holds up the others.
 */
export class LiveSubscription {
  readonly #res: ServerResponse
  readonly #key: string
  readonly #limits: BacklogLimits
  readonly #backlog: Buffer[] = []
  #backlogBytes = 0
  /** The last write returned `false`: wait for `'drain'`. */
  #full = false
  #stallTimer: NodeJS.Timeout | undefined = undefined
  #onIdle: (() => void) | undefined = undefined
  /** Set once it passed a backlog bound: the `error` event it ends with once its backlog is written. */
  #lastEvent: Buffer | undefined = undefined
  /** Told once when the subscription is over for good (ended or gone), to take it off its channel. */
  #onOver: (() => void) | undefined

  // One listener each for every subscription, which finds its own by the response it is called on:
  // two arrow functions per subscription and the context they shared were ~150 bytes each.
  static #onDrain (this: ServerResponse): void {
    const subscription = subscriptions.get(this)
    if (subscription !== undefined) subscription.#drained()
  }

  static #onClose (this: ServerResponse): void {
    const subscription = subscriptions.get(this)
    if (subscription !== undefined) subscription.#release()
  }

  constructor (res: ServerResponse, key: string, limits: BacklogLimits, onOver?: () => void) {
    this.#res = res
    this.#onOver = onOver
    this.#key = key
    this.#limits = limits
    openEventStream(res, key)
    // 'close' comes once; on() spares the wrapper once() would allocate for each subscription.
    subscriptions.set(res, this)
    res.on('close', LiveSubscription.#onClose)
    kept.add(this)
    keepAliveTimer ??= setInterval(keepAliveAll, KEEP_ALIVE_MS)
  }

  /** Still open: it can take events. */
  get open (): boolean {
    return !this.#res.destroyed && !this.#res.writableEnded && this.#lastEvent === undefined
  }

  /** Its socket is full or events wait in its backlog. */
  get busy (): boolean {
    return this.#full || this.#backlog.length > 0
  }

  /**
   * Takes one framed event into the socket or the backlog. `false` when the subscription is closed
   * or has just been ended for passing a backlog bound: it did not take the event.
   */
  send (frame: Buffer): boolean {
    if (!this.open) return false
    if (!this.busy) return this.#write(frame)
    if (this.#backlog.length >= this.#limits.eventBacklog || this.#backlogBytes + frame.length > this.#limits.eventBacklogBytes) {
      // What it took already is still delivered (its publishers were told so), then the reason.
      this.#lastEvent = errorEvent(subscriberLagging(this.#key, this.#limits.eventBacklog, this.#limits.eventBacklogBytes))
      this.#onIdle = undefined
      this.#over()
      return false
    }
    this.#backlog.push(frame)
    this.#backlogBytes += frame.length
    return true
  }

  /** Writes a keep-alive comment, unless events are on their way (they keep it alive). */
  keepAlive (): void {
    if (this.open && !this.busy) this.#write(KEEP_ALIVE)
  }

  /** Calls `callback` once nothing waits to be written (at once if so), unless it closes first. */
  whenIdle (callback: () => void): void {
    if (!this.busy) return callback()
    this.#onIdle = callback
  }

  /** Ends the stream at once with an `error` event saying why; what its backlog held is dropped. */
  end (reason: Error): void {
    this.#backlog.length = 0
    this.#backlogBytes = 0
    this.#onIdle = undefined
    if (this.#res.destroyed || this.#res.writableEnded) return
    this.#finish(errorEvent(reason))
    this.#over()
  }

  #over (): void {
    const onOver = this.#onOver
    this.#onOver = undefined
    onOver?.()
  }

  #finish (event: Buffer): void {
    this.#res.end(event)
    // A client that reads nothing would never take even that, and hold its buffers: cut it then.
    if (this.#res.writableFinished) return
    const cut = setTimeout(() => { this.#res.destroy() }, this.#limits.stallTimeout)
    this.#res.once('close', () => { clearTimeout(cut) })
  }

  /** Writes one event; a sync throw (a broken response) ends this subscription only. */
  #write (frame: Buffer): boolean {
    let ok: boolean
    try {
      ok = this.#res.write(frame)
    } catch {
      this.#res.destroy()
      return false
    }
    if (!ok && !this.#full) {
      this.#full = true
      this.#res.once('drain', LiveSubscription.#onDrain)
      this.#stallTimer = setTimeout(() => {
        this.end(subscriberStalled(this.#key, this.#limits.stallTimeout))
      }, this.#limits.stallTimeout)
    }
    return true
  }

  #drained (): void {
    this.#full = false
    clearTimeout(this.#stallTimer)
    this.#stallTimer = undefined
    while (this.#backlog.length > 0 && !this.#full && !this.#res.destroyed) {
      const frame = this.#backlog.shift() as Buffer
      this.#backlogBytes -= frame.length
      this.#write(frame)
    }
    if (this.busy || this.#res.destroyed || this.#res.writableEnded) return
    if (this.#lastEvent !== undefined) return this.#finish(this.#lastEvent)
    const onIdle = this.#onIdle
    this.#onIdle = undefined
    onIdle?.()
  }

  #release (): void {
    kept.delete(this)
    if (kept.size === 0) {
      clearInterval(keepAliveTimer)
      keepAliveTimer = undefined
    }
    this.#res.off('close', LiveSubscription.#onClose)
    clearTimeout(this.#stallTimer)
    this.#res.off('drain', LiveSubscription.#onDrain)
    this.#backlog.length = 0
    this.#backlogBytes = 0
    this.#onIdle = undefined
  }
}
