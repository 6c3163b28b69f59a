import type { RequestListener } from 'node:http'
import { afterEach } from '@jest/globals'
import type { HttpipeControls, HttpipeOptions } from '../../lib'
import { createRawApp, type TestApp } from './app'
import { listen as listenOnce, type Listening } from './http'

/** A pipe listening on an ephemeral port. */
export interface Started extends Listening {
  /** The server's URL with the fixture's `path` appended (`url` of Listening is the bare origin). */
  readonly url: string
  readonly origin: string
  readonly pipe: HttpipeControls
}

export interface ServerFixture {
  /** Creates an app with `options`, listens, and resolves with its URL and controls. */
  readonly start: (options?: HttpipeOptions) => Promise<Started>
  /** Listens with any request listener (a hand-built app); closed after the test like the rest. */
  readonly listen: (app: RequestListener) => Promise<Listening>
}

/**
 * The servers of a describe block: every one started through the fixture during a test is closed
 * (open connections dropped) after it, by an `afterEach` registered here, so hooks declared before
 * the call (destroying clients, restoring real timers) run first. Call it once per describe block,
 * at its top; `path` (such as `/channels/ns/ch`) is appended to each started URL.
 */
export function useServer (create: (options?: HttpipeOptions) => TestApp = createRawApp, path = ''): ServerFixture {
  const open: Listening[] = []
  afterEach(async () => {
    await Promise.all(open.splice(0).map(async server => { await server.close() }))
  })

  async function listen (app: RequestListener): Promise<Listening> {
    const server = await listenOnce(app)
    open.push(server)
    return server
  }

  async function start (options?: HttpipeOptions): Promise<Started> {
    const { app, pipe } = create(options)
    const server = await listen(app)
    return { ...server, url: server.url + path, origin: server.url, pipe }
  }

  return { start, listen }
}
