import type { IncomingMessage, ServerResponse } from 'node:http'
import { continueIfExpected } from './authorize'
import * as errors from './errors'
import type { ResolvedOptions } from './options'
import { runDirect } from './reqres-direct'
import type { Exchange, ExchangeContext } from './reqres-exchange'
import { PendingVerdicts } from './pending-verdicts'
import { withoutConsumedParameters } from './query-credentials'
import { parseReply, type Reply } from './reqres-headers'
import { Party, refuse, type Next, type PartyTransfer } from './reqres-party'
import { isExchangePath, parseExchangeRoute, type ExchangeRoute } from './reqres-route'
import { TwoStep } from './reqres-two-step'
import { ReqResWaiting } from './reqres-waiting'
import type { TransferTracker } from './transfer-tracker'

/** Counters of the request/response mode, in `router.stats().reqres`. */
export interface ReqResStats {
  /** Requesters waiting for a responder. */
  waitingRequesters: number
  /** Responders waiting for a requester (direct and two-step). */
  waitingResponders: number
  /** Exchanges under way: a request or reply moving, or a two-step job waiting for its reply. */
  exchanges: number
  /** Two-step jobs whose reply has not started yet. */
  jobs: number
  /** Request and reply body bytes moved since creation, running exchanges included. */
  bytesTransferred: number
}

/** What an `authorize` hook is asked in this mode (the `access` argument). */
export interface ReqResAccess {
  /** `request`: a requester on `/req/…`; `respond`: a responder on `/res/…`, or a two-step reply. */
  readonly action: 'request' | 'respond'
  readonly namespace: string
  readonly channel: string
}

/**
 * The router's access check, adapted: an error to deny with, `undefined` to allow, or a Promise
 * of either; a throw or rejection goes to `next(err)` unchanged.
 */
export type AccessCheck = (req: IncomingMessage, access: ReqResAccess) => Error | undefined | Promise<Error | undefined>

/** What the mode shares with the channel router it is attached to. */
export interface SharedWithRouter {
  /** Requests waiting on the router's channels: `limits.waiters` counts both. */
  readonly waitingElsewhere: () => number
  readonly authorize?: AccessCheck | undefined
}

export interface ReqResMode {
  /** Serves `/req/…` and `/res/…`; any other path is handed to `pass`. */
  readonly handle: (req: IncomingMessage, res: ServerResponse, next: Next, pass: () => void) => void
  readonly stats: () => ReqResStats
  /** Requesters and responders waiting (those held behind a pipelined response included). */
  readonly waiting: () => number
  /**
   * For the router's close(): waiting requesters and responders get `503`. New ones get it once
   * the tracker is closed; running exchanges, and replies to open jobs, finish, and the tracker's
   * close() waits for them.
   */
  readonly turnAwayAll: () => void
}

/**
 * The request/response mode (patchbay's `/req` and `/res`): a requester's whole HTTP request goes
 * to a responder that is only an HTTP client, and the responder's answer goes back. Wired from its
 * parts: the waiting (reqres-waiting.ts), the direct exchange (reqres-direct.ts) and the two-step
 * one with its jobs (reqres-two-step.ts); each exchange runs in the router's tracker.
 */
export function createReqResMode (config: ResolvedOptions, tracker: TransferTracker, shared: SharedWithRouter): ReqResMode {
  const { bodySize, reqres: { jobTimeout, forward } } = config
  const running = new Set<Exchange>()
  let bytesDone = 0
  const waiting = new ReqResWaiting(config, { waitingElsewhere: shared.waitingElsewhere, closed: () => tracker.closed, start: startExchange })
  // Requests whose `authorize` verdict is pending, as the channel routes hold theirs (authorize.ts);
  // replies apart, since close() lets replies to open jobs finish their exchanges.
  const pending = new PendingVerdicts(config.timeout)
  const pendingReplies = new PendingVerdicts(config.timeout)
  const context: ExchangeContext = { bodySize, forward, finish: transfer => { waiting.finish(transfer) }, untrack }
  const twoStep = new TwoStep(context, {
    closed: () => tracker.closed,
    standBy: (req, res, next, { namespace, channel, key }) => {
      waiting.enqueue(new Party(req, res, next, { kind: 'responder', namespace, channel, key, twoStep: true }, undefined), 'consumer')
    }
  }, jobTimeout)

  function handle (req: IncomingMessage, res: ServerResponse, next: Next, pass: () => void): void {
    const url = req.url ?? '/'
    if (!isExchangePath(url)) return pass()
    let route: ExchangeRoute
    try {
      route = parseExchangeRoute(url)
    } catch (err) {
      return refuse(req, res, next, err)
    }
    const refusal = admissionRefusal(route, req)
    if (refusal !== undefined) return refuse(req, res, next, refusal)
    authorizeThen(req, res, next, route, () => { accept(route, req, res, next) })
  }

  function admissionRefusal (route: ExchangeRoute, req: IncomingMessage): Error | undefined {
    if (route.kind === 'requester') {
      // A relayed script must not become a service worker of the host's origin.
      if (req.headers['service-worker'] === 'script') return errors.serviceWorkerRefused()
    } else if (req.method !== 'POST' && req.method !== 'PUT') {
      return errors.methodNotAllowed(req.method ?? '', ['POST', 'PUT'])
    }
    // Replies to open jobs are still taken: they finish exchanges that are under way.
    if (tracker.closed && route.kind !== 'reply') return errors.routerClosed()
    const declared = req.headers['content-length']
    if (declared !== undefined && Number(declared) > bodySize && route.kind !== 'reply') {
      return errors.entityTooLarge(bodySize, Number(declared))
    }
    if (req.readableDidRead || req.readableEnded) return errors.bodyConsumed()
    return undefined
  }

  function authorizeThen (req: IncomingMessage, res: ServerResponse, next: Next, route: ExchangeRoute, go: () => void): void {
    const check = shared.authorize
    if (check === undefined) return go()
    const access: ReqResAccess = { action: route.kind === 'requester' ? 'request' : 'respond', namespace: route.namespace, channel: route.channel }
    let verdict: ReturnType<AccessCheck>
    try {
      verdict = check(req, access)
    } catch (err) {
      return refuse(req, res, next, err)
    }
    // Allowed: a client waiting for `100 Continue` (the standalone server leaves it to the verdict) sends its body.
    const allowed = (): void => { continueIfExpected(req, res); go() }
    if (!(verdict instanceof Promise)) return verdict === undefined ? allowed() : refuse(req, res, next, verdict)
    // Meanwhile the request is no waiter and its body stays unread; a client gone leaves nothing,
    // close() answers it 503 (not a reply's: see above), and after `timeout` it gets 408.
    const held = route.kind === 'reply' ? pendingReplies : pending
    held.hold(verdict, res, err => { refuse(req, res, next, err) }, route.key, denial => {
      if (denial !== undefined) return refuse(req, res, next, denial)
      allowed()
    })
  }

  function accept (route: ExchangeRoute, req: IncomingMessage, res: ServerResponse, next: Next): void {
    switch (route.kind) {
      case 'requester': {
        // A credential the hook read from the query (`?token=`) is the relay's, not the responder's.
        const uri = withoutConsumedParameters(req, route.uri)
        return waiting.enqueue(new Party(req, res, next, uri === route.uri ? route : { ...route, uri }, undefined), 'producer')
      }
      case 'responder': {
        let reply: Reply | undefined
        if (!route.twoStep) {
          try {
            reply = parseReply(req, forward)
          } catch (err) {
            return refuse(req, res, next, err)
          }
        } else {
          // A two-step responder's body means nothing: its reply comes in a request of its own.
          req.resume()
        }
        return waiting.enqueue(new Party(req, res, next, route, reply), 'consumer')
      }
      case 'reply':
        return twoStep.acceptReply(route, req, res, next)
    }
  }

  function startExchange (transfer: PartyTransfer): void {
    const length = transfer.producer.req.headers['content-length']
    const tracked = tracker.start({
      namespace: transfer.namespace,
      channel: transfer.channel,
      total: length === undefined ? undefined : Number(length),
      receivers: 1,
      pubsub: false,
      startedAt: Date.now()
    })
    const exchange: Exchange = { request: { bytes: 0 }, reply: { bytes: 0 }, tracked }
    running.add(exchange)
    const run = transfer.consumer.reply === undefined ? twoStep.run(transfer, exchange) : runDirect(transfer, exchange, context)
    run.catch((err: unknown) => {
      // A guard that fails closed: every stream failure is handled inside.
      transfer.producer.res.destroy(err as Error)
      transfer.consumer.res.destroy(err as Error)
      waiting.finish(transfer)
      untrack(exchange)
    })
  }

  function untrack (exchange: Exchange): void {
    if (!running.delete(exchange)) return
    bytesDone += exchange.request.bytes + exchange.reply.bytes
    tracker.end(exchange.tracked)
  }

  function stats (): ReqResStats {
    let inFlight = 0
    for (const exchange of running) inFlight += exchange.request.bytes + exchange.reply.bytes
    return {
      ...waiting.stats(),
      exchanges: running.size,
      jobs: twoStep.jobs,
      bytesTransferred: bytesDone + inFlight
    }
  }

  function turnAwayAll (): void {
    pending.close()
    waiting.turnAwayAll()
  }

  function waitingNow (): number {
    const { waitingRequesters, waitingResponders } = waiting.stats()
    return waitingRequesters + waitingResponders
  }

  return { handle, stats, waiting: waitingNow, turnAwayAll }
}
