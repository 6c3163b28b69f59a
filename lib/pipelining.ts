import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

// HTTP/1.1 answers pipelined requests in order, so Node gives a connection to a response only once
// the response before it has finished, and until then it emits nothing on it: not even 'close'
// when the connection goes. A request pipelined behind one that waits on a channel can therefore
// neither be answered nor be seen leaving, so it must not wait on a channel itself (and a POST and
// a GET for one channel on one connection would wait for each other forever). It is taken up when
// its turn comes, as if it arrived then, the way nginx serves pipelined requests one at a time.

/** Whether a response is queued behind an earlier, unfinished one on its connection. */
export function isQueuedBehind (res: ServerResponse): boolean {
  // HTTP/2 responses always have a socket (a proxy to the session's); they have no such queue.
  return res.socket === null && !res.writableEnded && !res.destroyed
}

interface Pending {
  readonly onGone: () => void
}

/** Requests waiting for their turn, by connection: one 'close' listener per connection, however many. */
const pendingOn = new WeakMap<Socket, Set<Pending>>()

/**
 * Calls `onTurn` once the queued response `res` becomes its connection's current one, or `onGone`
 * if the connection closes first (at once when it already has): exactly one of them, once.
 */
export function whenCurrent (req: IncomingMessage, res: ServerResponse, onTurn: () => void, onGone: () => void): void {
  const socket = req.socket
  if (socket.destroyed) return onGone()
  let pending = pendingOn.get(socket)
  if (pending === undefined) {
    const created = new Set<Pending>()
    pendingOn.set(socket, created)
    socket.once('close', () => {
      pendingOn.delete(socket)
      for (const entry of created) entry.onGone()
      created.clear()
    })
    pending = created
  }
  const entry: Pending = { onGone }
  const queue = pending
  queue.add(entry)
  res.once('socket', () => {
    if (!queue.delete(entry)) return
    // Node hands the next response a connection that may have closed just before.
    if (socket.destroyed) return onGone()
    onTurn()
  })
}
