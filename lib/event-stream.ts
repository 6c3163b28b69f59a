import type { IncomingMessage, ServerResponse } from 'node:http'
import { Writable } from 'node:stream'
import { SAFETY_HEADERS } from './consumer-headers'
import { entityTooLarge, notText } from './errors'

/** How often an idle live subscription gets a comment line, so proxies do not cut it. */
export const KEEP_ALIVE_MS = 15_000

/** A consumer asking for `text/event-stream` wants a live subscription (EventSource, `curl -N`). */
export function wantsEventStream (req: IncomingMessage): boolean {
  return req.headers.accept?.includes('text/event-stream') === true
}

/** Starts a live subscription's response; the keep-alive stops when the response closes. */
export function openEventStream (res: ServerResponse, key: string): void {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    ...SAFETY_HEADERS,
    // nginx buffers responses unless told otherwise; an event must reach the client at once.
    'X-Accel-Buffering': 'no'
  })
  res.write(`: subscribed to ${key}\n\n`)
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), KEEP_ALIVE_MS)
  res.once('close', () => { clearInterval(keepAlive) })
}

/** Ends a live subscription with an `error` event saying why (deleted, shutting down). */
export function endEventStream (res: ServerResponse, reason: Error): void {
  if (res.destroyed || res.writableEnded) return
  res.end(`event: error\n${eventData(reason.message)}\n`)
}

/** One message as the `data:` lines of an event; EventSource joins them back with "\n". */
export function eventData (text: string): string {
  // Any of CRLF, CR and LF ends a line in the event-stream format.
  return text.split(/\r\n|\r|\n/).map(line => `data: ${line}\n`).join('')
}

/**
 * The sink a message is relayed into for a live subscriber: it holds the message whole (up to
 * `limit` bytes), checks it is UTF-8 text, and writes it as one event. Destroying it discards the
 * message and leaves the subscription open; the subscription closing destroys it.
 */
export class EventWriter extends Writable {
  readonly #res: ServerResponse
  readonly #key: string
  readonly #limit: number
  readonly #chunks: Buffer[] = []
  #size = 0
  readonly #onResponseClose = (): void => { this.destroy() }

  constructor (res: ServerResponse, key: string, limit: number) {
    super()
    this.#res = res
    this.#key = key
    this.#limit = limit
    res.once('close', this.#onResponseClose)
  }

  override _write (chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#size += chunk.length
    if (this.#size > this.#limit) return callback(entityTooLarge(this.#limit, this.#size, 'limits.eventSize', 'a live (text/event-stream) subscriber'))
    this.#chunks.push(chunk)
    callback()
  }

  override _final (callback: (error?: Error | null) => void): void {
    let text: string
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(this.#chunks, this.#size))
    } catch {
      return callback(notText(this.#key))
    }
    this.#res.write(`${eventData(text)}\n`, err => { callback(err) })
  }

  override _destroy (error: Error | null, callback: (error?: Error | null) => void): void {
    this.#res.off('close', this.#onResponseClose)
    this.#chunks.length = 0
    callback(error)
  }
}
