import { ServerResponse } from 'node:http'
import type { Writable } from 'node:stream'

/**
 * Cuts off a response whose message cannot be completed, so that its client sees an error and
 * never a clean, short message. A plain close is not enough: a response without `Content-Length`
 * to an HTTP/1.0 client ends where the connection does, so a FIN would look like the end of the
 * message. A TCP reset is an error to every client. Where the connection is not plain TCP (TLS, a
 * unix socket, HTTP/2), the response is destroyed: TLS without close_notify and an HTTP/2
 * RST_STREAM are errors to clients too. Any other sink (an event writer) is destroyed.
 */
export function cutConnection (sink: ServerResponse | Writable): void {
  const socket = sink instanceof ServerResponse ? sink.socket : null
  if (socket !== null && !socket.destroyed && typeof socket.resetAndDestroy === 'function') {
    try {
      socket.resetAndDestroy()
      return
    } catch {
      // Not a TCP handle (TLS, a unix socket): destroying is the best left.
    }
  }
  sink.destroy()
}
