import type { IncomingMessage, ServerResponse } from 'node:http'
import { Socket } from 'node:net'

/**
 * How long and how much a connection goes on being read after an error answer to a client that
 * was still uploading (nginx's lingering close: its `lingering_time` and `lingering_timeout`).
 */
export interface LingerBounds {
  /** Longest time the rest of the upload is read and discarded after the answer, in ms. */
  readonly time: number
  /** Longest silence from the client while doing so, in ms. */
  readonly idle: number
  /** Most bytes read and discarded after the answer. */
  readonly bytes: number
}

/**
 * nginx's defaults for time (30 s) and silence (5 s). The byte bound keeps one refused client from
 * using the bandwidth of a whole upload: 256 MiB is what a client that writes its whole body before
 * reading (wget) can send in the 30 s at about 70 Mbit/s, and loopback or a LAN takes under 2 s.
 */
export const LINGER_BOUNDS: LingerBounds = Object.freeze({ time: 30_000, idle: 5_000, bytes: 256 * 1024 * 1024 })

// Sockets already lingering (or set to), so that engaging twice (core, then the error writer) is harmless.
const engaged = new WeakSet<Socket>()

/**
 * True while the client is still sending a body nobody will read. Synchronous errors run before
 * Node marks even a bodiless request complete, hence the header check.
 */
export function bodyStillArriving (req: IncomingMessage): boolean {
  if (req.complete) return false
  const length = req.headers['content-length']
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

/**
 * Makes sure an error answer about to be sent to a client still uploading reaches it.
 *
 * Closing a socket whose receive buffer holds unread bytes makes the kernel send a reset, and the
 * reset makes the client's kernel drop the answer it has not read yet: curl printed the `100` of
 * `Expect: 100-continue` instead of the `413` that followed it, and wget, which writes its whole
 * body before it reads, never saw its `502` and sent the whole upload again. So, as nginx does: the
 * answer carries `Connection: close`; the rest of the body is read and thrown away; once the
 * answer has been written, our side is half-closed (a FIN the client sees after the answer), and the
 * socket is destroyed when the body has ended, the client has closed, or a bound of `bounds` is
 * reached (then the client may see a reset: it went on sending far past its answer).
 *
 * Call it before the answer is written; it does nothing when the body has already arrived. Works
 * whoever writes the answer (an Express error handler answering at once, or `sendError()`); one
 * that first drains the body (Express's default handler) finds nothing left to linger on.
 */
export function lingerOnError (req: IncomingMessage, res: ServerResponse, bounds: LingerBounds = LINGER_BOUNDS): void {
  const socket = req.socket as Socket | null
  // HTTP/2 streams have their own reset (RST_STREAM) and no destroySoon(); nothing to do there.
  if (socket === null || req.httpVersionMajor !== 1 || res.headersSent || !bodyStillArriving(req)) return
  if (engaged.has(socket)) return
  engaged.add(socket)
  // Node closes the connection after a `Connection: close` answer through destroySoon(); the
  // answer also tells the client not to send another request on this connection.
  res.setHeader('Connection', 'close')
  req.resume()
  socket.destroySoon = function lingeringClose () {
    if (req.complete || socket.destroyed) return nodeDestroySoon.call(socket)
    linger(req, socket, bounds)
  }
}

// Node's own, for a patched instance to fall back on.
const nodeDestroySoon = Socket.prototype.destroySoon

function linger (req: IncomingMessage, socket: Socket, bounds: LingerBounds): void {
  let read = 0
  function done (): void {
    cleanup()
    socket.destroy()
  }
  function onData (chunk: Buffer): void {
    read += chunk.length
    if (read > bounds.bytes) return done()
    idle.refresh()
  }
  function cleanup (): void {
    clearTimeout(total)
    clearTimeout(idle)
    req.off('data', onData).off('end', done)
    socket.off('close', cleanup)
  }
  const total = setTimeout(done, bounds.time)
  const idle = setTimeout(done, bounds.idle)
  // Unref'd: a lingering connection must not keep a process that is otherwise done alive.
  total.unref()
  idle.unref()
  // Node removes 'data' listeners when it dumps a finished response's request; this runs after.
  req.on('data', onData).once('end', done)
  socket.once('close', cleanup)
  req.resume()
  // Half-close: the answer is out and the client learns that nothing more follows it.
  socket.end()
}
