import { createServer, type RequestListener } from 'node:http'
import type { AddressInfo } from 'node:net'
import { call, connections, type Call } from './serve-client'
import { answer, type Link } from './serve-forward'

/** Options of {@link serve}. `undefined` means "the default". */
export interface ServeOptions {
  /** Responders polling the relay at once, each taking one request at a time. Default: `4`. */
  workers?: number | undefined
  /**
   * Told of every failure a worker gets over by itself: the relay unreachable or refusing (the
   * worker retries with backoff, 100 ms doubling up to 5 s), the local server failing (the
   * requester gets `502`), a reply the relay did not deliver. Default: ignored.
   */
  onError?: ((err: Error) => void) | undefined
  /**
   * A token for a relay that requires one (`authorize`, the standalone server's `--auth`), sent as
   * `Authorization: Bearer TOKEN` on every poll and reply; never passed to the handler. Default: none.
   */
  token?: string | undefined
}

/** What {@link serve} returns. */
export interface Serving {
  /** The relay URL the workers answer on (`…/res/{namespace}/{channel}`). */
  readonly url: string
  /**
   * Stops: workers waiting for a request withdraw, those serving one finish it first. Resolves
   * once every worker has stopped (and, for {@link serve}, the handler's private server has closed).
   */
  readonly close: () => Promise<void>
}

const DEFAULT_WORKERS = 4
const MIN_BACKOFF_MS = 100
const MAX_BACKOFF_MS = 5000

/**
 * Turns an ordinary `(req, res)` handler (an Express app included) into responders on an httpipe
 * relay's request/response mode (two-step), so that it serves HTTP on the relay's
 * `/req/{namespace}/{channel}` with outbound connections only: from a laptop behind NAT, a CI job,
 * a container without an ingress. The handler runs on a private `node:http` server on 127.0.0.1,
 * so it gets real requests and responses.
 *
 * @example
 * ```ts
 * import express from 'express'
 * import { serve } from 'httpipe'
 *
 * const app = express().get('/', (req, res) => { res.send('hello from behind NAT') })
 * const serving = serve('https://relay.example/res/demo/app', app, { workers: 8 })
 * // curl https://relay.example/req/demo/app/
 * process.on('SIGTERM', () => { serving.close().then(() => process.exit(0)) })
 * ```
 * @throws TypeError when the URL or an option is invalid.
 */
export function serve (url: string | URL, handler: RequestListener, options: ServeOptions = {}): Serving {
  const relay = relayUrl(url)
  if (typeof handler !== 'function') throw new TypeError(`httpipe: serve() needs a (req, res) handler, got ${typeof handler}`)
  checkWorkers(options.workers ?? DEFAULT_WORKERS)
  checkToken(options.token)
  const server = createServer(handler)
  const listening = new Promise<URL>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => { resolve(new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)) })
  })
  let workers: Serving | undefined
  const started = listening.then(target => { workers = expose(relay, target, options) })
  return {
    url: relay.href,
    close: async () => {
      await started.catch(() => {})
      await workers?.close()
      server.closeAllConnections()
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    }
  }
}

/**
 * Responders that forward every request they take to the HTTP server at `target` and stream its
 * answer back as the reply (what `httpipe expose` runs).
 */
export function expose (url: string | URL, target: string | URL, options: ServeOptions = {}): Serving {
  const relay = relayUrl(url)
  const to = new URL(target)
  if (to.protocol !== 'http:') throw new TypeError(`httpipe: the local server must be an http: URL, got ${JSON.stringify(to.href)}`)
  const { workers = DEFAULT_WORKERS, onError = () => {}, token } = options
  checkWorkers(workers)
  checkToken(token)
  // In the head of the relay's requests only: the local server never sees it.
  const credentials = token === undefined ? [] : ['Authorization', `Bearer ${token}`]
  const toRelay = connections(relay)
  const local = { url: to, to: connections(to) }
  const polls = new Set<Call>()
  const sleeps = new Set<() => void>()
  const state = { stopping: false }

  /**
   * The answer to a request that waits on the relay for the next job: close() withdraws it. A
   * reply is withdrawable only once all of it is out; a poll (`now`) at once.
   */
  async function waitFor (req: Call, now = false): Promise<Call> {
    if (!now) {
      await req.sent
      // Stopped meanwhile: withdrawn as close() withdrew the others.
      if (state.stopping) req.abort()
    }
    polls.add(req)
    try {
      return await req.answered
    } finally {
      polls.delete(req)
    }
  }

  const link: Link = { relay, toRelay, credentials, local, onError, stopping: () => state.stopping, waitFor }

  /**
   * Handles what the relay answered a poll (or a reply sent with `?switch=true`, which doubles as
   * the next poll): a job is served, and the answer to its reply is returned, to be handled next.
   */
  async function handle (res: Call, afterReply: boolean): Promise<Call | undefined> {
    const job = res.header('pb-job')
    if (res.statusCode === 200 && job !== undefined) return await answer(link, res, job)
    // A wait the relay's `timeout` ended, or a delivered reply with no next request (after close()).
    if (res.statusCode === 408 || (afterReply && res.statusCode === 200)) {
      res.drain()
      return undefined
    }
    const text = (await res.whole(32 * 1024)).toString('utf8').slice(0, 500).trim()
    if (afterReply && res.statusCode < 500) {
      onError(new Error(`the relay did not deliver a reply: ${res.statusCode} ${text}`))
      return undefined
    }
    throw new Error(`the relay answered ${String(res.statusCode)} to ${relay.href}?switch=true${job === undefined && res.statusCode === 200 ? ' without a Pb-Job header (not an httpipe request/response relay?)' : ''}: ${text}`)
  }

  async function work (): Promise<void> {
    let delay = 0
    while (!state.stopping) {
      try {
        let res: Call | undefined = await poll()
        let afterReply = false
        // Each reply doubles as the next poll; one in flight is seen through even when stopping,
        // since its answer may be a job to serve (then replied to without asking for another).
        while (res !== undefined) {
          res = await handle(res, afterReply)
          afterReply = true
        }
        delay = 0
      } catch (err) {
        if (state.stopping) break
        onError(err as Error)
        delay = delay === 0 ? MIN_BACKOFF_MS : Math.min(delay * 2, MAX_BACKOFF_MS)
        // Jittered, so that workers (and several exposes) do not hit a restarting relay together.
        await sleep(delay / 2 + Math.random() * delay / 2)
      }
    }
  }

  async function poll (): Promise<Call> {
    return await waitFor(call(toRelay, `${relay.pathname}?switch=true`, 'POST', [...credentials, 'Content-Length', '0'], null), true)
  }

  async function sleep (ms: number): Promise<void> {
    await new Promise<void>(resolve => {
      const wake = (): void => {
        clearTimeout(timer)
        sleeps.delete(wake)
        resolve()
      }
      const timer = setTimeout(wake, ms)
      sleeps.add(wake)
    })
  }

  const running = Promise.all(Array.from({ length: workers }, work))
  let closing: Promise<void> | undefined
  return {
    url: relay.href,
    close: async () => {
      closing ??= (async () => {
        state.stopping = true
        for (const wake of sleeps) wake()
        // Polls not taken yet are withdrawn; requests being served finish first.
        for (const poll of polls) poll.abort()
        await running
        await Promise.all([toRelay.destroy(), local.to.destroy()])
      })()
      await closing
    }
  }
}

function checkToken (token: unknown): void {
  if (token !== undefined && (typeof token !== 'string' || !/^[\x21-\x7e]+$/.test(token))) {
    throw new TypeError('httpipe: option token must be a non-empty string of printable ASCII without spaces')
  }
}

function checkWorkers (workers: unknown): void {
  if (typeof workers !== 'number' || !Number.isInteger(workers) || workers < 1 || workers > 10_000) {
    throw new TypeError(`httpipe: option workers must be an integer from 1 to 10000, got ${JSON.stringify(workers)}`)
  }
}

function relayUrl (url: string | URL): URL {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new TypeError(`httpipe: expected a relay URL such as "https://relay.example/res/namespace/channel", got ${JSON.stringify(String(url))}`)
  }
  if (parsed.pathname.length > 1 && parsed.pathname.endsWith('/')) parsed.pathname = parsed.pathname.slice(0, -1)
  if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || !/\/res\/[^/]+\/[^/]+$/.test(parsed.pathname) || parsed.search !== '') {
    throw new TypeError(`httpipe: expected a relay URL such as "https://relay.example/res/namespace/channel" (http or https, ending in /res/{namespace}/{channel}, no query), got ${JSON.stringify(parsed.href)}`)
  }
  return parsed
}
