import type { IncomingMessage, ServerResponse } from 'node:http'
import { pipeline } from 'node:stream/promises'
import { consumerHeaders } from './consumer-headers'
import { consumerAborted } from './errors'
import { meteredBody, type RelayProgress } from './producer-body'

export type { RelayProgress }

/** What became of one transfer. `error` is for the producer: its consumer has been dealt with. */
export type RelayOutcome =
  | { readonly delivered: true, readonly bytes: number }
  | { readonly delivered: false, readonly bytes: number, readonly error: Error }

/**
 * Streams one producer's body into one consumer's response, with backpressure, counting bytes
 * into `progress` as they pass and failing past `bodySize`.
 *
 * The consumer's response is destroyed on any failure, so its client sees a truncated body, never
 * a clean one. The producer's request is left open, so the caller can still answer it.
 */
export async function relay (
  key: string,
  producer: IncomingMessage,
  consumer: ServerResponse,
  bodySize: number,
  progress: RelayProgress
): Promise<RelayOutcome> {
  consumer.writeHead(200, consumerHeaders(producer.headers))
  try {
    await pipeline(meteredBody(producer, bodySize, progress), consumer)
    return { delivered: true, bytes: progress.bytes }
  } catch (err) {
    return { delivered: false, bytes: progress.bytes, error: producerError(key, err, producer, progress.bytes) }
  }
}

function producerError (key: string, err: unknown, producer: IncomingMessage, bytes: number): Error {
  if (isHttpError(err)) return err
  // The producer's own stream failed: it disconnected, and there is nobody left to tell.
  if (producer.destroyed) return err instanceof Error ? err : new Error(String(err))
  return consumerAborted(key, bytes)
}

function isHttpError (err: unknown): err is Error & { status: number } {
  return err instanceof Error && typeof (err as { status?: unknown }).status === 'number'
}
