import { isUtf8 } from 'node:buffer'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Writable } from 'node:stream'
import { SAFETY_HEADERS } from './response-headers'
import { entityTooLarge, notText, type HttpipeError } from './errors'

/** A consumer asking for `text/event-stream` wants a live subscription (EventSource, `curl -N`). */
export function wantsEventStream (req: IncomingMessage): boolean {
  return req.headers.accept?.includes('text/event-stream') === true
}

/** Starts a live subscription's response: the stream's `200` and a first comment line. */
export function openEventStream (res: ServerResponse, key: string): void {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    ...SAFETY_HEADERS,
    // nginx buffers responses unless told otherwise; an event must reach the client at once.
    'X-Accel-Buffering': 'no'
  })
  res.write(`: subscribed to ${key}\n\n`)
  flattenHead(res)
}

/**
 * Node keeps a response's head, built by concatenation, as a tree of about 30 string pieces for as
 * long as the response lives: ~750 bytes per live subscription, 3.7 MB for 5 000 of them. Reading
 * a character makes V8 flatten it into one string and drop the pieces. Only after the head is
 * written: Node appends to it until then. (An HTTP/2 response has no such string.)
 */
function flattenHead (res: ServerResponse): void {
  const head = (res as { _header?: unknown })._header
  if (typeof head === 'string') head.charCodeAt(0)
}

/** The `error` event a live subscription ends with: its data is the reason (deleted, shutting down, lagging). */
export function errorEvent (reason: Error): Buffer {
  return frameEvent(Buffer.from(reason.message), ERROR_EVENT)
}

const LF = 0x0a
const CR = 0x0d
const DATA = Buffer.from('data: ')
const ERROR_EVENT = Buffer.from('event: error\n')
const BLANK_LINE = Buffer.from('\n\n')
const EMPTY = Buffer.alloc(0)

/**
 * One message as an event: each line prefixed with `data: ` (EventSource joins them back with
 * "\n"), then a blank line. Any of CRLF, CR and LF ends a line in the event-stream format.
 * Linear in the bytes and a single allocation, whatever the number of lines: a megabyte of "\n"
 * is a million lines, and splitting it as a string cost about 350 ms.
 */
export function frameEvent (message: Buffer, prefix: Buffer = EMPTY): Buffer {
  const length = message.length
  if (message.indexOf(LF) === -1 && message.indexOf(CR) === -1) return Buffer.concat([prefix, DATA, message, BLANK_LINE])
  let lines = 1
  let terminators = 0
  for (let i = 0; i < length; i++) {
    const byte = message[i]
    if (byte === LF) {
      lines++
      terminators++
    } else if (byte === CR) {
      lines++
      terminators++
      if (i + 1 < length && message[i + 1] === LF) {
        i++
        terminators++
      }
    }
  }
  const out = Buffer.allocUnsafe(prefix.length + length - terminators + lines * (DATA.length + 1) + 1)
  prefix.copy(out, 0)
  let at = writeData(out, prefix.length)
  let start = 0
  for (let i = 0; i < length; i++) {
    const byte = message[i]
    if (byte !== LF && byte !== CR) continue
    at = copyLine(message, start, i, out, at)
    if (byte === CR && i + 1 < length && message[i + 1] === LF) i++
    start = i + 1
    at = writeData(out, at)
  }
  at = copyLine(message, start, length, out, at)
  out[at] = LF
  return out
}

/** Copies `message[start, end)` and a line feed into `out` at `at`; returns where the next byte goes. */
function copyLine (message: Buffer, start: number, end: number, out: Buffer, at: number): number {
  // Byte by byte for short lines: a native copy call per line costs more than it saves there.
  if (end - start < 32) {
    for (let k = start; k < end; k++) out[at++] = message[k] as number
  } else {
    at += message.copy(out, at, start, end)
  }
  out[at] = LF
  return at + 1
}

function writeData (out: Buffer, at: number): number {
  for (let k = 0; k < DATA.length; k++) out[at + k] = DATA[k] as number
  return at + DATA.length
}

/** The `413` for a message over `limits.eventSize`, which only live subscribers have. */
export function eventTooLarge (limit: number, received: number): HttpipeError {
  return entityTooLarge(limit, received, 'limits.eventSize', 'a live (text/event-stream) subscriber')
}

/** A whole message framed as an event, or the `415` when it is not UTF-8 text. */
export function frameText (key: string, message: Buffer): Buffer | HttpipeError {
  return isUtf8(message) ? frameEvent(message) : notText(key)
}

/**
 * Collects a message for live subscribers: whole (up to `limit` bytes), checked once to be UTF-8,
 * framed once; `frame` is set when it finishes. Fails with `413` past the limit and `415` for
 * bytes that are not UTF-8: errors meant for the producer. It destroys itself when `watched`
 * (a queue-mode live consumer's response) closes, so the transfer fails as for any consumer.
 */
export class EventCollector extends Writable {
  frame: Buffer | undefined = undefined
  readonly #key: string
  readonly #limit: number
  readonly #chunks: Buffer[] = []
  readonly #watched: ServerResponse | undefined
  #size = 0
  readonly #onWatchedClose = (): void => { this.destroy() }

  constructor (key: string, limit: number, watched?: ServerResponse) {
    super()
    this.#key = key
    this.#limit = limit
    this.#watched = watched
    watched?.once('close', this.#onWatchedClose)
  }

  override _write (chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#size += chunk.length
    if (this.#size > this.#limit) return callback(eventTooLarge(this.#limit, this.#size))
    this.#chunks.push(chunk)
    callback()
  }

  override _final (callback: (error?: Error | null) => void): void {
    const framed = frameText(this.#key, Buffer.concat(this.#chunks, this.#size))
    this.#chunks.length = 0
    if (framed instanceof Error) return callback(framed)
    this.frame = framed
    callback()
  }

  override _destroy (error: Error | null, callback: (error?: Error | null) => void): void {
    this.#watched?.off('close', this.#onWatchedClose)
    this.#chunks.length = 0
    callback(error)
  }
}
