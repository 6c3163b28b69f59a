import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Route } from './route'
import type { ChannelQuery } from './channel-query'
import * as errors from './errors'
import { lingerOnError, type LingerBounds } from './linger'
import { PendingVerdicts } from './pending-verdicts'

/**
 * What a request asks to do. `request` and `respond` are the request/response mode's (a requester
 * on `/req/…`; a responder on `/res/…`, or a two-step reply), asked by reqres-mode.ts itself.
 */
export type HttpipeAction = 'produce' | 'consume' | 'publish' | 'subscribe' | 'delete' | 'list' | 'request' | 'respond'

/** What `authorize` is asked about: `channel` is absent for namespace routes and listings. */
export interface HttpipeAccess {
  readonly action: HttpipeAction
  readonly namespace: string
  readonly channel?: string
}

/**
 * A refusal with a status of its own: `401` (`access.unauthenticated`, with `headers` such as
 * `WWW-Authenticate`), `403` (`access.denied`) or `404` (as if the channel or namespace did not
 * exist). `message` replaces the default message.
 */
export interface HttpipeDenial {
  readonly status: 401 | 403 | 404
  readonly message?: string | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
}

export type HttpipeVerdict = boolean | HttpipeDenial

/**
 * Decides whether a request may do what it asks: `true` lets it through, `false` is a `403`, a
 * {@link HttpipeDenial} chooses the answer. May return a Promise. A throw or a rejection goes to
 * `next(err)` as it is. `req` is the request as earlier middleware left it (`req.user`, `req.auth`).
 */
export type HttpipeAuthorize = (req: IncomingMessage, access: HttpipeAccess) => HttpipeVerdict | PromiseLike<HttpipeVerdict>

type Next = (err?: unknown) => void

/**
 * How much of a denied upload is read so that its answer reaches the client (see linger.ts): far
 * less than after other errors, since nobody asked for this body. A client that writes its whole
 * body before reading (wget) may then see a reset instead of the answer; curl stops at the answer.
 */
const DENIED_LINGER: LingerBounds = Object.freeze({ time: 5000, idle: 1000, bytes: 1024 * 1024 })

/**
 * The action a routed request asks for; `undefined` when the method takes none (its `405` needs no
 * hook). Channel routes only: the request/response mode's paths are not routes of the router.
 */
export function accessOf (route: Route, query: ChannelQuery | undefined, method: string | undefined): HttpipeAccess | undefined {
  switch (route.kind) {
    case 'channel': {
      const { namespace, channel } = route
      const pubsub = query?.pubsub === true
      switch (method) {
        case 'POST':
        case 'PUT': return { action: pubsub ? 'publish' : 'produce', namespace, channel }
        case 'GET':
          if (query?.link !== undefined) return { action: pubsub ? 'publish' : 'produce', namespace, channel }
          return { action: pubsub ? 'subscribe' : 'consume', namespace, channel }
        case 'DELETE': return { action: 'delete', namespace, channel }
        default: return undefined
      }
    }
    case 'namespaces':
      // The listing itself is filtered namespace by namespace (AccessGate.filter).
      if (method === 'GET') return undefined
      return namespaceAccess('namespaces', method)
    case 'namespace': return namespaceAccess(route.namespace, method)
    case 'root': return undefined
  }
}

function namespaceAccess (namespace: string, method: string | undefined): HttpipeAccess | undefined {
  if (method === 'GET') return { action: 'list', namespace }
  if (method === 'DELETE') return { action: 'delete', namespace }
  return undefined
}

/**
 * Runs the `authorize` hook once per request, before it joins any queue or has a byte of its
 * body read. While an asynchronous verdict is pending the request is held here, not in any queue:
 * its body stays unread, a client that leaves is forgotten, `close()` answers it `503`, and a
 * channel request still undecided after `timeout` ms gets `408`.
 */
export class AccessGate {
  readonly #authorize: HttpipeAuthorize
  readonly #pending: PendingVerdicts

  constructor (authorize: HttpipeAuthorize, timeout: number) {
    this.#authorize = authorize
    this.#pending = new PendingVerdicts(timeout)
  }

  /** Pending verdicts, for tests and stats. */
  get pending (): number {
    return this.#pending.size
  }

  /**
   * Asks the hook about a request: `true` when it lets it through at once (the caller goes on in
   * the same turn: a synchronous verdict costs no continuation), `false` when the request was
   * answered (a denial or a throw, through `next`), or the pending verdict, for {@link wait}.
   */
  ask (req: IncomingMessage, res: ServerResponse, next: Next, access: HttpipeAccess): boolean | PromiseLike<HttpipeVerdict> {
    let verdict: HttpipeVerdict | PromiseLike<HttpipeVerdict>
    try {
      verdict = this.#authorize(req, access)
    } catch (err) {
      next(err)
      return false
    }
    if (isPromiseLike(verdict)) return verdict
    return this.#apply(verdict, req, res, next, access)
  }

  /** Holds a request while its verdict is pending: `allowed` once it lets it through, answered through `next` otherwise. */
  wait (verdict: PromiseLike<HttpipeVerdict>, req: IncomingMessage, res: ServerResponse, next: Next, access: HttpipeAccess, allowed: () => void): void {
    const key = access.channel === undefined ? undefined : `${access.namespace}/${access.channel}`
    this.#pending.hold(verdict, res, next, key, result => { if (this.#apply(result, req, res, next, access)) allowed() })
  }

  /** The namespaces among `namespaces` the hook allows `list` for, in order, to `send`. */
  filter (req: IncomingMessage, res: ServerResponse, next: Next, namespaces: readonly string[], send: (allowed: string[]) => void): void {
    const verdicts: Array<HttpipeVerdict | PromiseLike<HttpipeVerdict>> = []
    try {
      for (const namespace of namespaces) verdicts.push(this.#authorize(req, { action: 'list', namespace }))
    } catch (err) {
      return next(err)
    }
    const pick = (results: readonly HttpipeVerdict[]): void => { send(namespaces.filter((_, i) => results[i] === true)) }
    if (!verdicts.some(isPromiseLike)) return pick(verdicts as HttpipeVerdict[])
    this.#pending.hold(Promise.all(verdicts), res, next, undefined, pick)
  }

  /** Answers every request whose verdict is still pending with `503`; later verdicts are ignored. */
  close (): void {
    this.#pending.close()
  }

  /** Whether the verdict lets the request through; it is answered through `next` if not. */
  #apply (verdict: HttpipeVerdict, req: IncomingMessage, res: ServerResponse, next: Next, access: HttpipeAccess): boolean {
    if (verdict === true) {
      continueIfExpected(req, res)
      return true
    }
    const error = denialError(verdict, access)
    // Nobody will read this body: only as much of it as the answer needs (see DENIED_LINGER).
    if (!(error instanceof TypeError)) lingerOnError(req, res, DENIED_LINGER)
    next(error)
    return false
  }
}

/** The error for a verdict other than `true`: a denial's, or a TypeError for a verdict that is none. */
export function denialError (verdict: unknown, access: HttpipeAccess): Error {
  const { action, namespace, channel } = access
  if (verdict === false) return errors.accessDenied(action, namespace, channel)
  if (typeof verdict === 'object' && verdict !== null) {
    const { status, message, headers } = verdict as Partial<HttpipeDenial>
    const text = typeof message === 'string' ? message : undefined
    const extra = typeof headers === 'object' && headers !== null ? { ...headers } : undefined
    if (status === 403) return errors.accessDenied(action, namespace, channel, text, extra)
    if (status === 401) return errors.accessUnauthenticated(action, namespace, channel, text, extra)
    if (status === 404) {
      return channel === undefined ? errors.namespaceNotFound(namespace) : errors.channelNotFound(`${namespace}/${channel}`, text, extra)
    }
  }
  return new TypeError(`httpipe: authorize must return true, false or { status: 401 | 403 | 404 } (or a Promise of one), got ${describe(verdict)}`)
}

/**
 * `authorize` as the request/response mode asks it (reqres-mode.ts's `AccessCheck`): `undefined`
 * to allow, the error {@link denialError} makes of any other verdict, or a Promise of either; a
 * throw or a rejection passes through unchanged.
 */
export function accessCheck (authorize: HttpipeAuthorize): (req: IncomingMessage, access: HttpipeAccess) => Error | undefined | Promise<Error | undefined> {
  const errorOf = (verdict: HttpipeVerdict, access: HttpipeAccess): Error | undefined => verdict === true ? undefined : denialError(verdict, access)
  return (req, access) => {
    const verdict = authorize(req, access)
    if (!isPromiseLike(verdict)) return errorOf(verdict, access)
    return Promise.resolve(verdict).then(result => errorOf(result, access))
  }
}

function describe (value: unknown): string {
  if (typeof value === 'function') return 'a function'
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

function isPromiseLike<T> (value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function'
}

/**
 * A producer that sent `Expect: 100-continue` to a server that left the `100` to the app (the
 * standalone server's `checkContinue`) is told to send its body now that it may.
 */
export function continueIfExpected (req: IncomingMessage, res: ServerResponse): void {
  if (req.httpVersionMajor !== 1 || (req.method !== 'POST' && req.method !== 'PUT')) return
  const expect = req.headers.expect
  if (expect === undefined || !/100-continue/i.test(expect)) return
  // Node's own flag: set when it has already answered the expectation (no checkContinue listener).
  if ((res as { _sent100?: boolean })._sent100 === true) return
  res.writeContinue()
}
