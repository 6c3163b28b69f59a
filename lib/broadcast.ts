import { consumerHeaders } from './consumer-headers'
import { entityTooLarge, headerNotRelayable } from './errors'
import { isServerResponse } from './http2-compat'
import type { MessageSink, MessageSource, RelayProgress } from './relay'

/** What became of one pubsub message: how many subscribers received all of it. */
export interface BroadcastOutcome {
  readonly receivers: number
  /** Set when the message itself failed (too large, publisher gone); every subscriber was cut off. */
  readonly error?: Error
}

/**
 * Streams one publisher's body to every subscriber at once, paced by the slowest: the publisher is
 * paused while any subscriber's socket is full. A subscriber that leaves is dropped and the rest go
 * on; the outcome counts those that received the whole message.
 */
export async function broadcast (
  key: string,
  source: MessageSource,
  subscribers: readonly MessageSink[],
  bodySize: number,
  progress: RelayProgress
): Promise<BroadcastOutcome> {
  const publisher = source.body
  return await new Promise<BroadcastOutcome>(resolve => {
    const live = new Set<MessageSink>()
    const blocked = new Set<MessageSink>()
    const detachers: Array<() => void> = []
    let receivers = 0
    let ended = false
    let settled = false

    function settle (error?: Error): void {
      if (settled) return
      settled = true
      publisher.off('data', onData).off('end', onEnd).off('close', onPublisherGone).off('error', onPublisherGone)
      for (const detach of detachers) detach()
      if (error !== undefined) {
        for (const sink of live) sink.destroy()
        if (!ended) publisher.pause()
      }
      resolve(error === undefined ? { receivers } : { receivers, error })
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

    function onData (chunk: Buffer): void {
      progress.bytes += chunk.length
      if (progress.bytes > bodySize) return settle(entityTooLarge(bodySize, progress.bytes))
      for (const sink of live) if (!sink.write(chunk)) blocked.add(sink)
      if (blocked.size > 0) publisher.pause()
    }
    function onEnd (): void {
      ended = true
      for (const sink of live) sink.end()
    }
    function onPublisherGone (): void {
      if (!ended) settle(new Error('the publisher disconnected before sending its whole message'))
    }

    for (const sink of subscribers) {
      if (sink.destroyed) continue
      live.add(sink)
      const onDrain = (): void => { unblock(sink) }
      const onFinish = (): void => {
        receivers++
        live.delete(sink)
        if (live.size === 0) settle()
      }
      const onGone = (): void => { if (!sink.writableFinished && live.has(sink)) drop(sink) }
      sink.on('drain', onDrain).on('finish', onFinish).on('close', onGone).on('error', onGone)
      detachers.push(() => { sink.off('drain', onDrain).off('finish', onFinish).off('close', onGone).off('error', onGone) })
      if (isServerResponse(sink)) {
        try {
          sink.writeHead(200, consumerHeaders(source.headers))
        } catch (err) {
          return settle(headerNotRelayable(key, (err as Error).message))
        }
      }
    }
    if (live.size === 0) return settle()
    publisher.on('data', onData).on('end', onEnd).on('close', onPublisherGone).on('error', onPublisherGone)
    publisher.resume()
  })
}
