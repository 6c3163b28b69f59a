import type { IncomingMessage, ServerResponse } from 'node:http'

// Why probing is needed. A client that goes away (killed, or its socket destroyed) leaves its
// kernel to send whatever it still had queued and then a FIN. Node sees that FIN only by reading
// the connection, and it stops reading a request whose body nobody consumes once the socket
// buffers fill (about 64 KiB): a waiting producer with a larger body, or a request pipelined
// behind it. Its departure then goes unseen for as long as it waits, and TCP keepalive does not
// help: the client's kernel is alive and answers keepalive probes for the orphaned socket.
// Writing to the connection does: a socket its program has closed answers incoming data with a
// reset, which Node sees as an error on its next write, and it destroys the connection (the
// response's 'close', where waits are watched). What is written is an interim response, which
// HTTP/1.1 allows any number of times before the final one, and which clients must skip (RFC 9110
// §15.2). Measured: curl, wget, node:http and httpx skip every 1xx; Python's http.client (so
// requests and urllib) skips only 100 and takes any other 1xx as the answer; undici (Node's fetch)
// skips every 1xx but 100, on which it drops the connection. So Fetch clients, which announce
// themselves with Sec-Fetch-Mode (undici's fetch and browsers), get `103 Early Hints` (with no
// hints, a no-op), and everyone else `100 Continue`. HTTP/1.0 has no interim responses.

/** What the probe needs of a waiting request. */
export interface Probed {
  readonly req: IncomingMessage
  readonly res: ServerResponse
}

/**
 * Whether a departure of this request's client could go unseen: Node has stopped reading its
 * connection, or has not read the whole body yet (it may stop once the buffers fill).
 */
export function mayHideDeparture (req: IncomingMessage): boolean {
  // HTTP/2 reads the connection whatever a stream's flow control holds back, and its streams close.
  return req.httpVersionMajor === 1 && (req.socket.isPaused() || (!req.complete && hasBody(req)))
}

function hasBody (req: IncomingMessage): boolean {
  const length = req.headers['content-length']
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

/** Whether the connection a request came on has ended or failed: its client has gone. */
export function connectionEnded (req: IncomingMessage): boolean {
  return req.httpVersionMajor === 1 && (req.socket.destroyed || req.socket.readableEnded)
}

/**
 * Whether interim responses may be written on this response: HTTP/1.1, its connection's current
 * one, nothing sent, and no proxy in between.
 */
export function canProbe (req: IncomingMessage, res: ServerResponse): boolean {
  // res.socket is set only while this response is the connection's current one: never write
  // onto a connection whose current outgoing message is an earlier pipelined response.
  return req.httpVersionMajor === 1 && req.httpVersionMinor >= 1 && !viaProxy(req) &&
    res.socket !== null && !res.headersSent && !res.writableEnded && !res.destroyed
}

/**
 * A request a proxy passed on (it says so in a forwarding header). A probe would reach the proxy,
 * not the client, so it could not see the client leave; and nginx (1.22, measured) answers its
 * client `408` when its upstream sends an interim response in the middle of a request body.
 */
function viaProxy (req: IncomingMessage): boolean {
  const headers = req.headers
  return headers['x-forwarded-for'] !== undefined || headers.forwarded !== undefined ||
    headers.via !== undefined || headers['x-real-ip'] !== undefined
}

const EARLY_HINTS = 'HTTP/1.1 103 Early Hints\r\n\r\n'

/**
 * Writes one interim response if the request may hide a departure and the response allows it.
 * A client that has gone resets the connection; Node notices at the next write to it.
 */
export function probe (req: IncomingMessage, res: ServerResponse): void {
  if (!canProbe(req, res) || !mayHideDeparture(req)) return
  if (req.headers['sec-fetch-mode'] === undefined) res.writeContinue()
  // res.writeEarlyHints() writes nothing without a Link hint; the socket is this response's own.
  else res.socket?.write(EARLY_HINTS)
}

/**
 * The waiting requests of one router, probed every `interval` ms by one timer that runs only while
 * a request waits. A departed client is seen at the second probe after it left at the latest, so
 * within two intervals.
 */
export class DepartureProbe<W extends Probed> {
  readonly #waiting = new Set<W>()
  readonly #interval: number | false
  #timer: NodeJS.Timeout | undefined

  /** `false`: never probes. */
  constructor (interval: number | false) {
    this.#interval = interval
  }

  get enabled (): boolean {
    return this.#interval !== false
  }

  add (waiter: W): void {
    if (this.#interval === false) return
    this.#waiting.add(waiter)
    if (this.#timer !== undefined) return
    this.#timer = setInterval(() => { this.#tick() }, this.#interval)
    // Never what keeps a process alive: the waits themselves are.
    this.#timer.unref()
  }

  delete (waiter: W): void {
    if (!this.#waiting.delete(waiter) || this.#waiting.size > 0 || this.#timer === undefined) return
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  #tick (): void {
    for (const waiter of this.#waiting) probe(waiter.req, waiter.res)
  }
}
