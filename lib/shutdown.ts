import type { Server } from 'node:http'
import type { HttpipeControls } from './core'

/** How long connections may stay open once no transfer runs, by default: {@link shutdown}'s bound. */
export const SHUTDOWN_GRACE_MS = 5000

// How often connections that have gone idle are closed while answers are still being written.
const SWEEP_MS = 50

export interface ShutdownOptions {
  /**
   * How long connections may stay open once no transfer runs, in ms, so that answers already
   * written (the `503`s to waiting requests) reach their clients. Then every connection is closed.
   * Default: {@link SHUTDOWN_GRACE_MS}.
   */
  readonly grace?: number | undefined
}

/**
 * Shuts the standalone server down: `pipe.close()` (new and waiting requests get `503`, running
 * transfers finish), then the server stops listening and closes each connection as it goes idle.
 * At most `grace` ms after the last transfer has ended, every connection still open is closed:
 * `server.close()` alone would wait for connections that never go idle, such as clients sending
 * their headers a byte at a time (Node counts a connection with a request begun as active, and
 * `closeIdleConnections()` passes it over). Resolves once the server has closed.
 */
export async function shutdown (server: Server, pipe: HttpipeControls, options: ShutdownOptions = {}): Promise<void> {
  const { grace = SHUTDOWN_GRACE_MS } = options
  await pipe.close()
  const closed = new Promise<void>(resolve => { server.close(() => { resolve() }) })
  // Keep-alive connections go idle as their last responses finish; close each as it does,
  // rather than waiting out keepAliveTimeout.
  server.closeIdleConnections()
  const sweep = setInterval(() => { server.closeIdleConnections() }, SWEEP_MS)
  const deadline = setTimeout(() => { server.closeAllConnections() }, grace)
  try {
    await closed
  } finally {
    clearInterval(sweep)
    clearTimeout(deadline)
  }
}
