import type { IncomingHttpHeaders, ServerResponse } from 'node:http'
import type { Readable, Writable } from 'node:stream'
import { consumerHeaders } from './consumer-headers'
import { cutConnection } from './cut'
import { consumerAborted, entityTooLarge, producerGone } from './errors'
import { isServerResponse } from './http2-compat'
import { writeConsumerHead } from './response-headers'

/** What became of one transfer. `error` is for the producer: its consumer has been dealt with. */
export type RelayOutcome =
  | { readonly delivered: true, readonly bytes: number }
  | { readonly delivered: false, readonly bytes: number, readonly error: Error }

/** Bytes moved so far by one transfer, updated as they pass. */
export interface RelayProgress {
  bytes: number
}

/** A producer's body: its request, or the text of a link producer's query. */
export interface MessageSource {
  readonly body: Readable
  readonly headers: IncomingHttpHeaders
}

/** Where a message goes: a consumer's response, or the event writer of a live subscriber. */
export type MessageSink = ServerResponse | Writable

/**
 * Streams one producer's body into one consumer's response with backpressure: the producer is
 * paused whenever the consumer's socket is full, so memory stays bounded whatever the size.
 * Resolves once the consumer's response has finished (`delivered`), or with the error for the
 * producer.
 *
 * On any failure the consumer's connection is reset ({@link cutConnection}), so its client sees an
 * error, never a clean short message; the producer's request is left open and paused, so it can
 * still be answered.
 *
 * `departed`, when given, is asked one turn of the event loop after the producer's body has ended,
 * before the consumer's response is ended: `true` (its client had gone, its end came with the end of
 * its connection) fails the transfer instead. That is for a producer whose departure could have
 * gone unseen while it waited (see departure-probe.ts): its whole body and its FIN may have been
 * waiting, unread, in the server's buffers. The last byte of a body with a `Content-Length` is
 * held back until then, since a consumer that has every declared byte has a complete message.
 *
 * This is `stream.pipeline()`'s contract for one source and one sink, written out: `pipeline()`
 * would destroy the producer's socket on failure, and its per-call AbortController (a DOMException
 * with a stack trace on every finish) cost about 15 % of the CPU of a small message.
 */
export async function relay (
  key: string,
  source: MessageSource,
  consumer: MessageSink,
  bodySize: number,
  progress: RelayProgress,
  departed?: () => boolean
): Promise<RelayOutcome> {
  const producer = source.body
  return await new Promise<RelayOutcome>(resolve => {
    let settled = false
    let producerEnded = false
    // Attached on the first full write only: a small message never needs it (as in pipe()).
    let drainArmed = false
    const declared = departed === undefined ? NaN : Number(source.headers['content-length'])
    let lastByte: Buffer | undefined

    function settle (error?: Error): void {
      if (settled) return
      settled = true
      cleanup()
      if (error === undefined) return resolve({ delivered: true, bytes: progress.bytes })
      // Cut the consumer off with a reset: a clean end would pass a partial message off as complete.
      cutConnection(consumer)
      if (!producerEnded) producer.pause()
      resolve({ delivered: false, bytes: progress.bytes, error })
    }

    function onData (chunk: Buffer): void {
      progress.bytes += chunk.length
      if (progress.bytes > bodySize) return settle(entityTooLarge(bodySize, progress.bytes))
      if (progress.bytes === declared) {
        lastByte = chunk.subarray(chunk.length - 1)
        chunk = chunk.subarray(0, chunk.length - 1)
        if (chunk.length === 0) return
      }
      if (consumer.write(chunk)) return
      producer.pause()
      if (!drainArmed) {
        drainArmed = true
        consumer.on('drain', onDrain)
      }
    }
    function onDrain (): void { producer.resume() }
    function onProducerEnd (): void {
      producerEnded = true
      if (departed === undefined) {
        consumer.end()
        return
      }
      // The connection's end, read right after the body, is seen within this turn.
      setImmediate(() => {
        if (settled) return
        if (departed()) return settle(producerGone(key, 'at-end'))
        consumer.end(lastByte)
      })
    }
    function onConsumerFinish (): void { settle() }
    function onProducerGone (): void {
      // 'close' after 'end' is the normal end of a request; before it, the producer went away.
      if (!producerEnded) settle(producerGone(key, progress.bytes))
    }
    function onConsumerGone (): void {
      if (!consumer.writableFinished) settle(consumerAborted(key, progress.bytes))
    }
    function onConsumerError (err: Error): void {
      // An event writer refuses a message with an error meant for the producer (415, 413).
      settle(typeof (err as { status?: unknown }).status === 'number' ? err : consumerAborted(key, progress.bytes))
    }

    function cleanup (): void {
      producer.off('data', onData).off('end', onProducerEnd).off('close', onProducerGone).off('error', onProducerGone)
      if (drainArmed) consumer.off('drain', onDrain)
      consumer.off('finish', onConsumerFinish).off('close', onConsumerGone).off('error', onConsumerError)
    }

    // Either side may have gone in the instant between the match and now; its 'close' is past.
    if (producer.destroyed) return settle(producerGone(key, 'before'))
    if (consumer.destroyed) return settle(consumerAborted(key, 0))

    if (isServerResponse(consumer)) {
      const refused = writeConsumerHead(consumer, consumerHeaders(source.headers), key)
      if (refused !== undefined) return settle(refused)
    }
    producer.on('data', onData).on('end', onProducerEnd).on('close', onProducerGone).on('error', onProducerGone)
    consumer.on('finish', onConsumerFinish).on('close', onConsumerGone).on('error', onConsumerError)
    producer.resume()
  })
}
