import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http'
import { connect, type AddressInfo, type Socket } from 'node:net'
import { waitUntil, type OpenRequest, type RawResponse } from './http'

/** What `stats()` reads when nothing waits or runs (compare with `toMatchObject`: stats may grow fields). */
export const ZERO = Object.freeze({ namespaces: 0, channels: 0, waitingProducers: 0, waitingConsumers: 0, runningTransfers: 0 })

// Events the pipe listens to on a request or a response while it holds them.
const REQUEST_EVENTS = ['data', 'end', 'close', 'error', 'readable'] as const
const RESPONSE_EVENTS = ['close', 'finish', 'drain', 'error'] as const
// Listeners node:http itself attaches once a response has finished (not the app's to remove).
const NODE_OWN = new Set(['clearIncoming'])

type Listeners = Map<string, ReadonlySet<unknown>>

function listenersOf (req: IncomingMessage, res: ServerResponse): Listeners {
  const found: Listeners = new Map()
  for (const event of REQUEST_EVENTS) found.set(`req.${event}`, new Set(req.listeners(event)))
  for (const event of RESPONSE_EVENTS) found.set(`res.${event}`, new Set(res.listeners(event)))
  return found
}

/** One request the server handed to the app, and the listener counts it had on the way in. */
export interface Exchange {
  readonly method: string
  readonly url: string
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly atEntry: Listeners
}

export interface TrackedServer {
  readonly url: string
  readonly port: number
  /** Every request the app received, in arrival order. */
  readonly exchanges: readonly Exchange[]
  /** Client connections still open on the server. */
  readonly connections: () => number
  /**
   * Listeners added to a request or response while the app held it and still attached now, as
   * `"POST /channels/ns/ch res.close onClose"`. Empty when the app cleaned up after itself.
   */
  readonly leftoverListeners: () => string[]
  /** Drops open connections and closes the server. */
  readonly close: () => Promise<void>
}

/**
 * Like `listen()` from ./http, but it also records every request/response pair and every socket,
 * so a test can prove that nothing is left behind: no connection stuck open, no listener left on a
 * request or response the pipe has finished with.
 */
export async function listenTracked (app: RequestListener): Promise<TrackedServer> {
  const exchanges: Exchange[] = []
  const sockets = new Set<Socket>()
  const server = createServer((req, res) => {
    // Measured before the app (and its framework) sees the request.
    exchanges.push({ method: req.method ?? '', url: req.url ?? '', req, res, atEntry: listenersOf(req, res) })
    app(req, res)
  })
  server.requestTimeout = 0
  server.on('connection', socket => {
    sockets.add(socket)
    socket.once('close', () => { sockets.delete(socket) })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    exchanges,
    connections: () => sockets.size,
    leftoverListeners: () => exchanges.flatMap(({ method, url, req, res, atEntry }) =>
      [...listenersOf(req, res)].flatMap(([event, now]) => [...now]
        .filter(listener => !(atEntry.get(event)?.has(listener) ?? false) && !NODE_OWN.has((listener as () => void).name))
        .map(listener => `${method} ${url} ${event} ${(listener as () => void).name || 'anonymous'}`))),
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}

/** What a client saw; `status` is undefined when the connection closed before any response. */
export interface Received {
  readonly status: number | undefined
  readonly body: Buffer
  readonly complete: boolean
}

/**
 * The outcome of an open request, never rejecting: a connection cut before any response counts as
 * nothing received. Throws when there is no outcome within `ms`, so a request stuck on the server
 * fails the test quickly instead of hanging it (polled per setImmediate turn: works under fake timers).
 */
export async function received (request: OpenRequest, label = 'request', ms = 3000): Promise<Received> {
  const outcome = request.done.then(
    (res: RawResponse): Received => ({ status: res.status, body: res.body, complete: res.complete }),
    (): Received => ({ status: undefined, body: Buffer.alloc(0), complete: false })
  )
  await waitUntil(tracker(outcome), ms, `a response to ${label} (stuck on the server?)`)
  return await outcome
}

/** True once `promise` has settled, checked without waiting. */
export function tracker (promise: Promise<unknown>): () => boolean {
  let settled = false
  promise.then(() => { settled = true }, () => { settled = true })
  return () => settled
}

/** A response read off a raw socket. `status` is undefined when the server closed without answering. */
export interface RawExchange {
  readonly status: number | undefined
  readonly head: string
  readonly body: Buffer
}

/**
 * Sends `request` byte for byte over a fresh TCP connection and reads until the server closes it
 * (so send `Connection: close`). Rejects when the connection is still open after `ms` (a real
 * timer: not for use under fake timers), naming the request, so a request stuck on the server
 * fails the test instead of hanging it.
 */
export async function rawExchange (port: number, request: Buffer, ms = 5000): Promise<RawExchange> {
  return await new Promise<RawExchange>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no end of response within ${ms} ms to ${JSON.stringify(request.subarray(0, 300).toString('latin1'))}`))
    }, ms)
    socket.on('data', chunk => chunks.push(chunk))
    // A reset after the answer (the server closing while we still send) is not a failure.
    socket.on('error', () => {})
    socket.once('close', () => {
      clearTimeout(timer)
      const all = Buffer.concat(chunks)
      const end = all.indexOf('\r\n\r\n')
      const head = end === -1 ? all.toString('latin1') : all.subarray(0, end).toString('latin1')
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]
      resolve({ status: status === undefined ? undefined : Number(status), head, body: end === -1 ? Buffer.alloc(0) : all.subarray(end + 4) })
    })
    // Not end(): Node's server aborts a request whose client half-closes, and that would end a wait.
    socket.write(request)
  })
}
