import type { ServerResponse } from 'node:http'
import { broadcast } from './broadcast'
import { entityTooLarge } from './errors'
import { EventCollector, eventTooLarge, frameText } from './event-stream'
import type { LiveSubscription } from './live-subscription'
import type { MessageSink, MessageSource, RelayProgress } from './relay'

/** What the publisher of one pubsub message is told. */
export interface FanOutOutcome {
  /**
   * Raw subscribers that received the whole message, plus live subscriptions that took it into
   * their socket or backlog: the publisher's `X-Httpipe-Receivers`.
   */
  readonly receivers: number
  /** For the publisher instead of a `200`: the message failed, or no subscriber could take it. */
  readonly error?: Error
}

export interface FanOutLimits {
  readonly bodySize: number
  readonly eventSize: number
  readonly stallTimeout: number
}

/**
 * One pubsub message to everyone subscribed when it was published. Raw subscribers get it streamed
 * with backpressure ({@link broadcast}). For live subscriptions it is read once (up to
 * `limits.eventSize`), checked once to be UTF-8 and framed once, and that one Buffer goes to every
 * one of them as soon as the message has ended, whatever the raw subscribers still take: a live
 * subscription never waits on, nor holds up, anyone else.
 *
 * A message no live subscription can take (too large, not UTF-8) still goes to the raw subscribers;
 * the publisher gets the `413`/`415` only when nobody received it.
 *
 * With live subscriptions only (the usual pubsub channel) the message is read straight off the
 * publisher ({@link readEvent}), and it is written to them in the same run of the event loop as
 * the caller answers the publisher, as a hand-written fan-out does: their sockets take it then,
 * and Node flushes it right after the publisher's `200` (see readEvent).
 */
export async function fanOut (
  key: string,
  source: MessageSource,
  raw: readonly ServerResponse[],
  live: readonly LiveSubscription[],
  limits: FanOutLimits,
  progress: RelayProgress
): Promise<FanOutOutcome> {
  if (raw.length === 0) {
    const frame = await readEvent(key, source, limits, progress)
    if (frame instanceof Error) return { receivers: 0, error: frame }
    let receivers = 0
    for (const subscription of live) if (subscription.send(frame)) receivers++
    return { receivers }
  }
  let taken = 0
  let sinks: readonly MessageSink[] = raw
  let collector: EventCollector | undefined
  if (live.length > 0) {
    const events = collector = new EventCollector(key, limits.eventSize)
    // Registered before broadcast() listens, so the events are out before the outcome is counted.
    events.once('finish', () => {
      const frame = events.frame as Buffer
      for (const subscription of live) if (subscription.send(frame)) taken++
    })
    sinks = [...raw, events]
  }
  const outcome = await broadcast(key, source, sinks, limits, progress)
  if (outcome.error !== undefined) return { receivers: 0, error: outcome.error }
  const receivers = outcome.receivers + taken
  if (receivers > 0) return { receivers }
  // Nobody received it: say why, if a subscriber refused it (rather than left).
  const refusal = collector?.errored ?? outcome.headerError
  return refusal === undefined || refusal === null ? { receivers } : { receivers, error: refusal }
}

/**
 * Reads a message whole for live subscriptions: up to `limits.bodySize` and `limits.eventSize`,
 * checked to be UTF-8, framed once. Resolves with the frame, or with the error for the publisher
 * (`413`, `415`, or its going away), having stopped reading (the publisher's request is left
 * paused, to be answered). What {@link EventCollector} does for a stream, without one: a Writable
 * and {@link broadcast}'s bookkeeping cost more than the rest of a small message's publish.
 *
 * Resolved from the request's `'end'`, so the caller's writes and its answer to the publisher run
 * in one drain of the microtask queue, before the `process.nextTick()` in which Node flushes the
 * subscribers' corked sockets: the `200` goes out first. The other way round (events flushed from
 * a stream's 'finish', then the answer), the client of one subscriber was woken twice per message,
 * and the server spent 3x the baseline's time in writev(): 0.37 ms of CPU per 1 KiB message, now
 * 0.24-0.31 ms (the node:http SSE baseline: 0.18-0.25 ms).
 */
function readEvent (key: string, source: MessageSource, limits: FanOutLimits, progress: RelayProgress): Promise<Buffer | Error> {
  const publisher = source.body
  return new Promise(resolve => {
    const chunks: Buffer[] = []
    let size = 0
    function settle (outcome: Buffer | Error): void {
      publisher.off('data', onData).off('end', onEnd).off('close', onGone).off('error', onGone)
      if (outcome instanceof Error && !publisher.readableEnded) publisher.pause()
      resolve(outcome)
    }
    function onData (chunk: Buffer): void {
      progress.bytes += chunk.length
      size += chunk.length
      if (size > limits.bodySize) return settle(entityTooLarge(limits.bodySize, size))
      if (size > limits.eventSize) return settle(eventTooLarge(limits.eventSize, size))
      chunks.push(chunk)
    }
    function onEnd (): void {
      settle(frameText(key, chunks.length === 1 ? chunks[0] as Buffer : Buffer.concat(chunks, size)))
    }
    function onGone (): void {
      settle(new Error('the publisher disconnected before sending its whole message'))
    }
    if (publisher.destroyed) return onGone()
    publisher.on('data', onData).on('end', onEnd).on('close', onGone).on('error', onGone)
    publisher.resume()
  })
}
