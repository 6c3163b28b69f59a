import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { continueIfExpected } from './authorize'
import { ChannelRegistry, type Admission, type Ticket, type Transfer } from './channel-registry'
import { cutConnection } from './cut'
import * as errors from './errors'
import { lingerOnError } from './linger'
import type { ResolvedOptions } from './options'
import { SAFETY_HEADERS } from './response-headers'
import type { TransferTracker, Tracked } from './transfer-tracker'
import { parseReply, replyHead, requestHead, type Reply } from './reqres-headers'
import { JobTable } from './reqres-jobs'
import { pump, type PumpFailure } from './reqres-pump'
import { isExchangePath, parseExchangeRoute, type ExchangeRoute } from './reqres-route'

type Next = (err?: unknown) => void

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
  /**
   * For the router's close(): waiting requesters and responders get `503`. New ones get it once
   * the tracker is closed; running exchanges, and replies to open jobs, finish, and the tracker's
   * close() waits for them.
   */
  readonly turnAwayAll: () => void
}

type Requester = Extract<ExchangeRoute, { kind: 'requester' }>
type Responder = Extract<ExchangeRoute, { kind: 'responder' }>

/** A requester or responder waiting for its counterpart. */
class Party {
  ticket: Ticket<Party, Party> | undefined = undefined
  timer: NodeJS.Timeout | undefined = undefined
  onGone: ((party: Party) => void) | undefined = undefined
  readonly onClose = (): void => { this.onGone?.(this) }

  constructor (
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly next: Next,
    readonly route: Requester | Responder,
    /** A direct-mode responder's reply, read from its request headers when it arrived. */
    readonly reply: Reply | undefined
  ) {}
}

/** One exchange's byte counts, per body: each has its own `limits.bodySize`. */
interface Exchange {
  readonly request: { bytes: number }
  readonly reply: { bytes: number }
  /** Its entry in the router's tracker: stats() count it, close() waits for it. */
  readonly tracked: Tracked
}

interface Job {
  readonly key: string
  readonly requester: Party
  readonly exchange: Exchange
  timer: NodeJS.Timeout | undefined
  /** Called once the job is over (reply delivered or failed, expired, requester gone). */
  readonly done: () => void
}

/**
 * The request/response mode (patchbay's `/req` and `/res`): a requester's whole HTTP request goes
 * to a responder that is only an HTTP client, and the responder's answer goes back. Requesters and
 * responders meet FIFO per channel in a registry of their own (requesters as its producers,
 * responders as its consumers), under the router's `timeout` and `limits`.
 */
export function createReqResMode (config: ResolvedOptions, tracker: TransferTracker, shared: SharedWithRouter): ReqResMode {
  const { bodySize, reqres: { jobTimeout, forward } } = config
  // Each responder takes one request at a time, so the number of responders is the concurrency:
  // no gate. `waiters` is read per admission: the router's channels draw on the same budget.
  const limits = {
    concurrency: Infinity,
    waitersPerChannel: config.waitersPerChannel,
    get waiters () { return config.waiters - shared.waitingElsewhere() }
  }
  const registry = new ChannelRegistry<Party, Party>(limits)
  // Ended jobs are remembered long enough for a slow responder's late reply to learn why it is
  // refused (at most 10 000 of them, see reqres-jobs.ts).
  const jobs = new JobTable<Job>(Math.max(jobTimeout, 10 * 60_000))
  const running = new Set<Exchange>()
  let bytesDone = 0

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
    // Meanwhile the request is no waiter and its body stays unread; a client gone leaves nothing.
    verdict.then(denial => {
      if (res.destroyed || res.writableEnded) return
      if (denial !== undefined) return refuse(req, res, next, denial)
      if (tracker.closed && route.kind !== 'reply') return refuse(req, res, next, errors.routerClosed())
      allowed()
    }, (err: unknown) => { refuse(req, res, next, err) })
  }

  function accept (route: ExchangeRoute, req: IncomingMessage, res: ServerResponse, next: Next): void {
    switch (route.kind) {
      case 'requester':
        return enqueue(new Party(req, res, next, route, undefined), 'requester')
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
        return enqueue(new Party(req, res, next, route, reply), 'responder')
      }
      case 'reply':
        return acceptReply(route, req, res, next)
    }
  }

  function enqueue (party: Party, role: 'requester' | 'responder'): void {
    const { namespace, channel, key } = party.route
    const admitted: Admission<Party, Party> = role === 'requester' ? registry.enqueueProducer(namespace, channel, party) : registry.enqueueConsumer(namespace, channel, party)
    if (typeof admitted === 'string') {
      return refuse(party.req, party.res, party.next, admitted === 'channel.full' ? errors.channelFull(key, config.waitersPerChannel) : errors.routerFull(config.waiters))
    }
    // Matched by its own arrival: the exchange starts.
    if (admitted.kind === 'transfer') return startExchange(admitted)
    party.ticket = admitted
    party.onGone = withdraw
    party.res.on('close', party.onClose)
    if (config.timeout !== Infinity) {
      party.timer = setTimeout(() => {
        if (party.ticket === undefined || !registry.withdraw(party.ticket)) return
        settle(party)
        refuse(party.req, party.res, party.next, errors.waitTimedOut(key, config.timeout))
      }, config.timeout)
    }
  }

  function withdraw (party: Party): void {
    if (party.ticket !== undefined) registry.withdraw(party.ticket)
    settle(party)
  }

  function settle (party: Party): void {
    if (party.timer !== undefined) clearTimeout(party.timer)
    party.timer = undefined
    if (party.onGone !== undefined) party.res.off('close', party.onClose)
    party.onGone = undefined
  }

  function startExchange (transfer: Transfer<Party, Party>): void {
    settle(transfer.producer)
    settle(transfer.consumer)
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
    const run = transfer.consumer.reply === undefined ? runTwoStep : runDirect
    run(transfer, exchange).catch((err: unknown) => {
      // A guard that fails closed: every stream failure is handled inside.
      transfer.producer.res.destroy(err as Error)
      transfer.consumer.res.destroy(err as Error)
      finish(transfer)
      untrack(exchange)
    })
  }

  /** Gives the channel back; with no concurrency gate, nothing waits behind it (but start it if so). */
  function finish (transfer: Transfer<Party, Party>): void {
    const next = registry.finish(transfer)
    if (next !== undefined) startExchange(next)
  }

  /**
   * Direct mode: the responder's response carries the request while its own request body, the
   * reply, streams to the requester. Its response ends only once the reply has reached the
   * requester in full: a reply that fails cuts it instead, which is how the responder learns.
   */
  async function runDirect (transfer: Transfer<Party, Party>, exchange: Exchange): Promise<void> {
    const { key, producer: requester, consumer: responder } = transfer
    const reply = responder.reply as Reply
    if (!writeRequestHead(transfer, requestHead(requester.req, (requester.route as Requester).uri, forward))) {
      finish(transfer)
      return untrack(exchange)
    }
    const requestLeg = pump(requester.req, responder.res, { limit: bodySize, progress: exchange.request, shared: exchange.tracked, end: false })
    // The requester's response is ended below, once its request has been read in full too: Node
    // closes a `Connection: close` socket as soon as its response finishes, and the rest of an
    // upload still under way would then never arrive, nor end (the exchange would stall).
    const replyLeg = pump(responder.req, requester.res, {
      limit: bodySize,
      progress: exchange.reply,
      shared: exchange.tracked,
      head: () => { requester.res.writeHead(reply.status, replyHead(reply, requester.req.method)) },
      end: false
    })
    let failed = false
    function onFailure (leg: 'request' | 'reply', why: PumpFailure): void {
      if (failed || why === 'stopped') return
      failed = true
      requestLeg.stop()
      replyLeg.stop()
      cutConnection(responder.res)
      if (leg === 'request') {
        if (why === 'source') cutConnection(requester.res)
        else answerRequester(requester, why === 'limit' ? errors.entityTooLarge(bodySize, exchange.request.bytes) : errors.responderGone(key))
      } else if (why !== 'sink') {
        answerRequester(requester, why === 'limit' ? errors.replyTooLarge(key, bodySize) : errors.responderGone(key))
      }
    }
    // Each leg's failure is acted on at once: the other leg may not end by itself.
    await Promise.all([
      requestLeg.result.then(outcome => { if (!outcome.ok) onFailure('request', outcome.failed) }),
      replyLeg.result.then(outcome => { if (!outcome.ok) onFailure('reply', outcome.failed) })
    ])
    if (!failed) {
      // The responder's response ends only once the requester has the whole reply (see above).
      if (await endResponse(requester.res)) responder.res.end()
      else cutConnection(responder.res)
    }
    finish(transfer)
    untrack(exchange)
  }

  /**
   * Two-step mode: the responder's response carries the request and a job id; the reply comes
   * later, to `/res/{ns}/{ch}/{job}` (see acceptReply).
   */
  async function runTwoStep (transfer: Transfer<Party, Party>, exchange: Exchange): Promise<void> {
    const { key, producer: requester, consumer: responder } = transfer
    let over = false
    let delivered = false
    const job: Job = {
      key,
      requester,
      exchange,
      timer: undefined,
      done: () => {
        if (over) return
        over = true
        if (job.timer !== undefined) clearTimeout(job.timer)
        requester.res.off('close', onRequesterClose)
        if (delivered) untrack(exchange)
      }
    }
    const requestDelivered = (): void => {
      delivered = true
      if (over) untrack(exchange)
    }
    const id = jobs.add(job)
    function onRequesterClose (): void {
      if (requester.res.writableFinished || !jobs.isOpen(id)) return
      jobs.end(id, 'requester.gone')
      job.done()
    }
    requester.res.on('close', onRequesterClose)
    const head = requestHead(requester.req, (requester.route as Requester).uri, forward)
    const length = requestLength(requester.req)
    if (length !== undefined) head['Content-Length'] = length
    if (!writeRequestHead(transfer, { ...head, 'Pb-Job': id })) {
      finish(transfer)
      jobs.end(id, 'used')
      delivered = true
      return job.done()
    }
    const outcome = await pump(requester.req, responder.res, { limit: bodySize, progress: exchange.request, shared: exchange.tracked }).result
    finish(transfer)
    if (outcome.ok) {
      // The wait for a reply starts once the responder has the whole request, and ends when it starts.
      if (jobs.isOpen(id)) {
        job.timer = setTimeout(() => {
          if (!jobs.isOpen(id)) return
          jobs.end(id, 'expired')
          answerRequester(requester, errors.jobTimedOut(key, jobTimeout))
          job.done()
        }, jobTimeout)
      }
      return requestDelivered()
    }
    cutConnection(responder.res)
    if (outcome.failed === 'source') cutConnection(requester.res)
    else answerRequester(requester, outcome.failed === 'limit' ? errors.entityTooLarge(bodySize, exchange.request.bytes) : errors.responderGone(key))
    if (jobs.isOpen(id)) {
      jobs.end(id, outcome.failed === 'source' ? 'requester.gone' : 'used')
      job.done()
    }
    requestDelivered()
  }

  /** The responder's response head; `false` when Node refused it (both sides are dealt with). */
  function writeRequestHead (transfer: Transfer<Party, Party>, head: OutgoingHttpHeaders): boolean {
    const { key, producer: requester, consumer: responder } = transfer
    try {
      responder.res.writeHead(200, head)
      // Now, not with the first body byte: a bodiless request (most) has none until its reply is done.
      responder.res.flushHeaders()
      return true
    } catch (err) {
      cutConnection(responder.res)
      answerRequester(requester, errors.headerNotRelayable(key, (err as Error).message))
      return false
    }
  }

  function acceptReply (route: Extract<ExchangeRoute, { kind: 'reply' }>, req: IncomingMessage, res: ServerResponse, next: Next): void {
    const taken = jobs.take(route.job, route.key)
    if (typeof taken === 'string') return refuse(req, res, next, jobRefusal(taken, route.key))
    const job = taken
    const { requester, exchange, key } = job
    if (job.timer !== undefined) clearTimeout(job.timer)
    job.timer = undefined
    let reply: Reply
    try {
      reply = parseReply(req, forward)
    } catch (err) {
      answerRequester(requester, errors.replyInvalid(key, (err as Error).message))
      job.done()
      return refuse(req, res, next, err)
    }
    const declared = req.headers['content-length']
    if (declared !== undefined && Number(declared) > bodySize) {
      answerRequester(requester, errors.replyTooLarge(key, bodySize))
      job.done()
      return refuse(req, res, next, errors.entityTooLarge(bodySize, Number(declared)))
    }
    if (requester.res.destroyed || requester.res.writableEnded) {
      job.done()
      return refuse(req, res, next, errors.requesterGone(key))
    }
    pump(req, requester.res, {
      limit: bodySize,
      progress: exchange.reply,
      shared: exchange.tracked,
      head: () => { requester.res.writeHead(reply.status, replyHead(reply, requester.req.method)) }
    }).result.then(outcome => {
      job.done()
      if (outcome.ok) {
        if (res.headersSent || res.destroyed) return
        // `?switch=true`: delivered, so this request takes the next one, saving the responder a
        // round trip (its answer, carrying Pb-Job, says the reply arrived); after close(), 200.
        if (route.twoStep && !tracker.closed) {
          const { namespace, channel } = route
          return enqueue(new Party(req, res, next, { kind: 'responder', namespace, channel, key, twoStep: true }, undefined), 'responder')
        }
        // As a producer's: 200 only once the requester has the whole reply.
        res.writeHead(200, { 'Content-Length': '0', ...SAFETY_HEADERS }).end()
        return
      }
      if (outcome.failed === 'sink') return refuse(req, res, next, errors.requesterGone(key))
      if (outcome.failed === 'limit') {
        answerRequester(requester, errors.replyTooLarge(key, bodySize))
        return refuse(req, res, next, errors.entityTooLarge(bodySize, exchange.reply.bytes))
      }
      // The replier went away mid-body: its requester must not take a short reply for a whole one.
      answerRequester(requester, errors.responderGone(key))
    }, (err: unknown) => {
      job.done()
      requester.res.destroy(err as Error)
      res.destroy(err as Error)
    })
  }

  function jobRefusal (why: 'unknown' | 'used' | 'expired' | 'requester.gone', key: string): Error {
    switch (why) {
      case 'unknown': return errors.jobUnknown(key)
      case 'used': return errors.jobUsed(key)
      case 'expired': return errors.jobExpired(key, jobTimeout)
      case 'requester.gone': return errors.requesterGone(key)
    }
  }

  function untrack (exchange: Exchange): void {
    if (!running.delete(exchange)) return
    bytesDone += exchange.request.bytes + exchange.reply.bytes
    tracker.end(exchange.tracked)
  }

  function stats (): ReqResStats {
    const { waitingProducers, waitingConsumers } = registry.stats()
    let inFlight = 0
    for (const exchange of running) inFlight += exchange.request.bytes + exchange.reply.bytes
    return {
      waitingRequesters: waitingProducers,
      waitingResponders: waitingConsumers,
      exchanges: running.size,
      jobs: jobs.size,
      bytesTransferred: bytesDone + inFlight
    }
  }

  /** At close(): every waiting requester and responder gets `503`. */
  function turnAwayAll (): void {
    for (const party of registry.evictAll()) {
      settle(party)
      refuse(party.req, party.res, party.next, errors.routerClosed())
    }
  }

  return { handle, stats, turnAwayAll }
}

/** Ends `res`; resolves `true` once it has been handed to the OS in full, `false` if it was cut first. */
async function endResponse (res: ServerResponse): Promise<boolean> {
  if (res.destroyed) return false
  return await new Promise<boolean>(resolve => {
    res.once('finish', () => { resolve(true) })
    res.once('close', () => { resolve(res.writableFinished) })
    res.end()
  })
}

/** An error answer, unless the response has started (then it is cut: never a clean short body). */
function refuse (req: IncomingMessage, res: ServerResponse, next: Next, err: unknown): void {
  if (res.headersSent) return cutConnection(res)
  if (res.destroyed) return
  // A client still uploading must read the answer before the connection closes (see linger.ts).
  lingerOnError(req, res)
  next(err)
}

function answerRequester (requester: Party, err: Error): void {
  refuse(requester.req, requester.res, requester.next, err)
}

/** The requester's body length: declared, or `0` when it sent no body at all. */
function requestLength (req: IncomingMessage): string | undefined {
  const declared = req.headers['content-length']
  if (declared !== undefined) return declared
  return req.headers['transfer-encoding'] === undefined ? '0' : undefined
}
