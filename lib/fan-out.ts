import type { ServerResponse } from 'node:http'
import { broadcast } from './broadcast'
import { EventCollector } from './event-stream'
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
 */
export async function fanOut (
  key: string,
  source: MessageSource,
  raw: readonly ServerResponse[],
  live: readonly LiveSubscription[],
  limits: FanOutLimits,
  progress: RelayProgress
): Promise<FanOutOutcome> {
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
