import { Readable } from 'node:stream'
import type * as Undici from 'undici'

// The workers' HTTP client (serve.ts, serve-forward.ts): undici's dispatcher API, under the
// smallest handler that does what a worker needs. A job costs a worker two requests (its reply,
// which is its next poll, and the local server's); on node:http's client they were most of its
// CPU, about twice a reverse proxy's per request, and undici's dispatch costs about half as much.
// undici is loaded only when a worker starts: a relay, the router and the CLI's server never load it.

/** Headers flat (name, value, …), as undici takes them. */
export type FlatHeaders = string[]

/** Bytes of a response body held before anyone reads it; then the connection pauses. */
const HELD_BYTES = 64 * 1024

let undici: typeof Undici | undefined

/**
 * Connections to one origin, kept alive. No timeouts of undici's own: a poll waits as long as the
 * relay lets it (the relay's `timeout` answers it `408`), and a local answer streams as slowly
 * as its server sends it, as with node:http.
 */
export function connections (origin: URL): Undici.Dispatcher {
  undici ??= require('undici') as typeof Undici
  return new undici.Pool(origin.origin, { headersTimeout: 0, bodyTimeout: 0 })
}

/** Sends a request; its answer (or failure) comes through the returned {@link Call}. */
export function call (to: Undici.Dispatcher, path: string, method: string, headers: FlatHeaders, body: Buffer | Readable | null): Call {
  const sent = new Call()
  try {
    to.dispatch({ path, method: method as Undici.Dispatcher.HttpMethod, headers, body }, sent)
  } catch (err) {
    // Refused before it went out (a header undici will not send, the pool closed).
    sent.onError(err as Error)
  }
  return sent
}

/** Compares a header name with one written in lower case. */
function sameName (name: string, lower: string): boolean {
  return name.length === lower.length && name.toLowerCase() === lower
}

/**
 * One request in flight and its response: its status and raw headers once {@link answered}, then
 * its body read {@link whole}, {@link stream}ed with backpressure, or {@link drain}ed. What
 * node:http's ClientRequest and IncomingMessage did together, without their streams and events.
 */
export class Call implements Undici.Dispatcher.DispatchHandlers {
  statusCode = 0
  /** Name, value, … as received (names as spelled). */
  rawHeaders: string[] = []
  /** Resolves once the response head is in; rejects when the request fails first. */
  readonly answered: Promise<Call>
  /** Resolves once all of the request is out, or it failed (then {@link answered} says how). */
  readonly sent: Promise<void>
  #answer: { resolve: (call: Call) => void, reject: (err: Error) => void } | undefined
  #sent: (() => void) | undefined
  #abort: ((err?: Error) => void) | undefined
  #resume: (() => void) | undefined
  #paused = false
  #held: Buffer[] = []
  #heldBytes = 0
  #ended = false
  #error: Error | undefined
  #reader: { readonly resolve: (body: Buffer) => void, readonly reject: (err: Error) => void, readonly limit: number } | Readable | 'drain' | undefined

  constructor () {
    this.answered = new Promise<Call>((resolve, reject) => { this.#answer = { resolve, reject } })
    // Read by whoever awaits it; a failure before the head is also theirs to handle.
    this.answered.catch(() => {})
    this.sent = new Promise<void>(resolve => { this.#sent = resolve })
  }

  /** The first value of a header (`lower`: its name in lower case). */
  header (lower: string): string | undefined {
    const raw = this.rawHeaders
    for (let i = 0; i + 1 < raw.length; i += 2) if (sameName(raw[i] as string, lower)) return raw[i + 1]
    return undefined
  }

  /** Aborts the request (and its connection): its {@link answered}, or its body, fails. */
  abort (err: Error = new Error('aborted')): void {
    if (this.#error !== undefined || this.#ended) return
    // Still queued for a connection: failed now, and aborted as soon as it gets one (onConnect).
    if (this.#abort === undefined) this.onError(err)
    else this.#abort(err)
  }

  /** The whole body; rejects when it is cut before its end. At most `limit` bytes: the rest is dropped. */
  async whole (limit = Infinity): Promise<Buffer> {
    return await new Promise<Buffer>((resolve, reject) => {
      if (this.#error !== undefined) return reject(this.#error)
      if (this.#ended || this.#heldBytes >= limit) return resolve(this.#take())
      this.#reader = { resolve, reject, limit }
      this.#wake()
    })
  }

  /** The body as a stream, with backpressure: the connection pauses while it is not read. */
  stream (): Readable {
    const readable = new Readable({ read: () => { this.#wake() } })
    for (const chunk of this.#held) readable.push(chunk)
    this.#held = []
    if (this.#error !== undefined) readable.destroy(this.#error)
    else if (this.#ended) readable.push(null)
    else this.#reader = readable
    return readable
  }

  /** Reads the body and drops it. */
  drain (): void {
    this.#held = []
    this.#reader = 'drain'
    this.#wake()
  }

  #take (): Buffer {
    const held = this.#held
    this.#held = []
    return held.length === 1 ? held[0] as Buffer : Buffer.concat(held)
  }

  #wake (): void {
    if (!this.#paused) return
    this.#paused = false
    this.#resume?.()
  }

  onConnect (abort: (err?: Error) => void): void {
    this.#abort = abort
    if (this.#error !== undefined) abort(this.#error)
  }

  onHeaders (statusCode: number, headers: Buffer[], resume: () => void): boolean {
    // An interim answer (`103 Early Hints`): the final one follows.
    if (statusCode < 200) return true
    this.statusCode = statusCode
    const raw: string[] = new Array<string>(headers.length)
    // latin1 both ways, as node:http does, so that any byte of a value passes through unchanged.
    for (let i = 0; i < headers.length; i++) raw[i] = (headers[i] as Buffer).toString('latin1')
    this.rawHeaders = raw
    this.#resume = resume
    this.#answer?.resolve(this)
    return true
  }

  onData (chunk: Buffer): boolean {
    const reader = this.#reader
    if (reader === 'drain') return true
    if (reader instanceof Readable) {
      if (reader.push(chunk)) return true
    } else {
      this.#held.push(chunk)
      this.#heldBytes += chunk.length
      if (reader !== undefined) {
        if (this.#heldBytes < reader.limit) return true
        this.#reader = 'drain'
        reader.resolve(this.#take())
        return true
      }
      if (this.#heldBytes < HELD_BYTES) return true
    }
    this.#paused = true
    return false
  }

  onComplete (): void {
    this.#ended = true
    const reader = this.#reader
    if (reader instanceof Readable) reader.push(null)
    else if (reader !== undefined && reader !== 'drain') reader.resolve(this.#take())
  }

  onError (err: Error): void {
    if (this.#error !== undefined) return
    this.#error = err
    this.#sent?.()
    this.#answer?.reject(err)
    const reader = this.#reader
    if (reader instanceof Readable) reader.destroy(err)
    else if (reader !== undefined && reader !== 'drain') reader.reject(err)
  }

  onRequestSent (): void {
    this.#sent?.()
  }
}
