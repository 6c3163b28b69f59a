import { consumerHeaders } from './consumer-headers'
import { cutConnection } from './cut'
import { entityTooLarge, publisherGone } from './errors'
import { isServerResponse } from './http2-compat'
import { writeConsumerHead } from './response-headers'
import type { MessageSink, MessageSource, RelayProgress } from './relay'

/** What became of one pubsub message. */
export interface BroadcastOutcome {
  /** Subscriber responses that received all of it (other sinks, such as an event collector, are not counted). */
  readonly receivers: number
  /** Set when the message itself failed (too large, publisher gone); every subscriber was cut off. */
  readonly error?: Error
  /** Why a subscriber could not even be sent the headers (the same for all, usually); they were cut off. */
  readonly headerError?: Error
}

/**
 * Streams one publisher's body to every subscriber at once, paced by the slowest: the publisher is
 * paused while any subscriber's socket is full. A subscriber that leaves, whose response fails, or
 * whose socket takes nothing for `stallTimeout` ms (the lag limit), is dropped (cut off) and the
 * rest go on, so no one subscriber can hold the channel; the outcome counts those that received
 * the whole message.
 */
export async function broadcast (
  key: string,
  source: MessageSource,
  subscribers: readonly MessageSink[],
  limits: { readonly bodySize: number, readonly stallTimeout: number },
  progress: RelayProgress
): Promise<BroadcastOutcome> {
  const publisher = source.body
  return await new Promise<BroadcastOutcome>(resolve => {
    const live = new Set<MessageSink>()
    /** Sinks whose socket is full, with when it filled: the lag limit's clock. */
    const blocked = new Map<MessageSink, number>()
    const detachers: Array<() => void> = []
    let receivers = 0
    let ended = false
    let settled = false
    let headerError: Error | undefined
    let lagTimer: NodeJS.Timeout | undefined

    function settle (error?: Error): void {
      if (settled) return
      settled = true
      clearTimeout(lagTimer)
      publisher.off('data', onData).off('end', onEnd).off('close', onPublisherGone).off('error', onPublisherGone)
      for (const detach of detachers) detach()
      if (error !== undefined) {
        for (const sink of live) cutConnection(sink)
        if (!ended) publisher.pause()
      }
      const outcome: BroadcastOutcome = { receivers, ...(error === undefined ? {} : { error }), ...(headerError === undefined ? {} : { headerError }) }
      resolve(outcome)
    }

    function unblock (sink: MessageSink): void {
      blocked.delete(sink)
      if (blocked.size === 0 && !ended) publisher.resume()
    }
    function drop (sink: MessageSink): void {
      live.delete(sink)
      unblock(sink)
      // With nobody left to receive it, the rest of the message has nowhere to go.
      if (live.size === 0) settle()
    }
    /** Cuts a subscriber off: its client sees a truncated body, never a clean one. */
    function cut (sink: MessageSink): void {
      drop(sink)
      cutConnection(sink)
    }

    function checkLag (): void {
      lagTimer = undefined
      const now = Date.now()
      let next = Infinity
      for (const [sink, since] of blocked) {
        if (now - since >= limits.stallTimeout) cut(sink)
        else next = Math.min(next, since + limits.stallTimeout - now)
      }
      if (!settled && next !== Infinity) lagTimer = setTimeout(checkLag, next)
    }

    function onData (chunk: Buffer): void {
      progress.bytes += chunk.length
      if (progress.bytes > limits.bodySize) return settle(entityTooLarge(limits.bodySize, progress.bytes))
      for (const sink of live) {
        let ok: boolean
        try {
          ok = sink.write(chunk)
        } catch {
          cut(sink)
          continue
        }
        if (!ok && !blocked.has(sink)) blocked.set(sink, Date.now())
      }
      if (blocked.size > 0 && !settled) {
        publisher.pause()
        lagTimer ??= setTimeout(checkLag, limits.stallTimeout)
      }
    }
    function onEnd (): void {
      ended = true
      for (const sink of live) sink.end()
    }
    function onPublisherGone (): void {
      if (!ended) settle(publisherGone())
    }

    const headers = consumerHeaders(source.headers)
    for (const sink of subscribers) {
      if (sink.destroyed) continue
      const isResponse = isServerResponse(sink)
      if (isResponse) {
        // One response that refuses its head must not strand the ones after it: cut it, go on.
        const refused = writeConsumerHead(sink, headers, key)
        if (refused !== undefined) {
          headerError ??= refused
          cutConnection(sink)
          continue
        }
      }
      live.add(sink)
      const onDrain = (): void => { unblock(sink) }
      const onFinish = (): void => {
        if (isResponse) receivers++
        live.delete(sink)
        if (live.size === 0) settle()
      }
      const onGone = (): void => { if (!sink.writableFinished && live.has(sink)) drop(sink) }
      sink.on('drain', onDrain).on('finish', onFinish).on('close', onGone).on('error', onGone)
      detachers.push(() => { sink.off('drain', onDrain).off('finish', onFinish).off('close', onGone).off('error', onGone) })
    }
    if (live.size === 0) return settle()
    publisher.on('data', onData).on('end', onEnd).on('close', onPublisherGone).on('error', onPublisherGone)
    publisher.resume()
  })
}
