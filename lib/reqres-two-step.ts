import type { IncomingMessage, ServerResponse } from 'node:http'
import { cutConnection } from './cut'
import * as errors from './errors'
import { writeRequestHead, type Exchange, type ExchangeContext } from './reqres-exchange'
import { parseReply, replyHead, requestHead, type Reply } from './reqres-headers'
import { JobTable, type JobEnd } from './reqres-jobs'
import { answerRequester, refuse, type Next, type Party, type PartyTransfer, type Requester } from './reqres-party'
import { pump, type PumpResult } from './reqres-pump'
import type { ExchangeRoute } from './reqres-route'
import { SAFETY_HEADERS } from './response-headers'

type ReplyRoute = Extract<ExchangeRoute, { kind: 'reply' }>

interface Job {
  readonly key: string
  readonly requester: Party
  readonly exchange: Exchange
  timer: NodeJS.Timeout | undefined
  /** Called once the job is over (reply delivered or failed, expired, requester gone). */
  readonly done: () => void
}

/** What the two-step mode needs of the mode around it, besides an exchange's context. */
export interface TwoStepHost {
  /** Whether the router is closed: a `?switch=true` reply then stands for no next request. */
  readonly closed: () => boolean
  /** Queues a `?switch=true` reply, once delivered, as a two-step responder waiting for the next request. */
  readonly standBy: (req: IncomingMessage, res: ServerResponse, next: Next, route: ReplyRoute) => void
}

/**
 * Two-step mode (patchbay's double clutch): the responder's response carries the request and a
 * job id; the reply comes later, in a request of its own to `/res/{ns}/{ch}/{job}`.
 */
export class TwoStep {
  readonly #context: ExchangeContext
  readonly #host: TwoStepHost
  readonly #jobTimeout: number
  readonly #jobs: JobTable<Job>

  constructor (context: ExchangeContext, host: TwoStepHost, jobTimeout: number) {
    this.#context = context
    this.#host = host
    this.#jobTimeout = jobTimeout
    // Ended jobs are remembered long enough for a slow responder's late reply to learn why it is
    // refused (at most 10 000 of them, see reqres-jobs.ts).
    this.#jobs = new JobTable<Job>(Math.max(jobTimeout, 10 * 60_000))
  }

  /** Two-step jobs whose reply has not started yet. */
  get jobs (): number {
    return this.#jobs.size
  }

  /** Hands the request to the responder, with its job id; the job then waits for its reply. */
  async run (transfer: PartyTransfer, exchange: Exchange): Promise<void> {
    const { key, producer: requester } = transfer
    const { bodySize, forward } = this.#context
    const jobs = this.#jobs
    const context = this.#context
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
        if (delivered) context.untrack(exchange)
      }
    }
    const requestDelivered = (): void => {
      delivered = true
      if (over) context.untrack(exchange)
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
    head['Pb-Job'] = id
    const responder = transfer.consumer
    // Most requests have no body: the responder's response is its head alone, written and ended
    // at once (one write, nothing to pump).
    const bodiless = length === '0'
    if (!writeRequestHead(transfer, head, bodiless)) {
      context.finish(transfer)
      jobs.end(id, 'used')
      delivered = true
      return job.done()
    }
    const outcome = bodiless ? await ended(responder.res) : await pump(requester.req, responder.res, { limit: bodySize, progress: exchange.request, shared: exchange.tracked }).result
    context.finish(transfer)
    if (outcome.ok) {
      // The wait for a reply starts once the responder has the whole request, and ends when it starts.
      if (jobs.isOpen(id)) {
        job.timer = setTimeout(() => {
          if (!jobs.isOpen(id)) return
          jobs.end(id, 'expired')
          answerRequester(requester, errors.jobTimedOut(key, this.#jobTimeout))
          job.done()
        }, this.#jobTimeout)
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

  /** A reply to `/res/{ns}/{ch}/{job}`: streamed to the job's requester, `200` once it has it all. */
  acceptReply (route: ReplyRoute, req: IncomingMessage, res: ServerResponse, next: Next): void {
    const taken = this.#jobs.take(route.job, route.key)
    if (typeof taken === 'string') return refuse(req, res, next, this.#refusal(taken, route.key))
    const job = taken
    const { requester, exchange, key } = job
    const { bodySize, forward } = this.#context
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
        if (route.twoStep && !this.#host.closed()) return this.#host.standBy(req, res, next, route)
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

  #refusal (why: JobEnd | 'unknown', key: string): Error {
    switch (why) {
      case 'unknown': return errors.jobUnknown(key)
      case 'used': return errors.jobUsed(key)
      case 'expired': return errors.jobExpired(key, this.#jobTimeout)
      case 'requester.gone': return errors.requesterGone(key)
    }
  }
}

/** How a response written whole fares: `ok` once it is all out, `sink` failed when its connection closes first. */
async function ended (res: ServerResponse): Promise<PumpResult> {
  if (res.writableFinished) return OK
  if (res.destroyed) return SINK_FAILED
  return await new Promise<PumpResult>(resolve => {
    function onFinish (): void {
      res.off('close', onClose)
      resolve(OK)
    }
    function onClose (): void {
      res.off('finish', onFinish)
      resolve(res.writableFinished ? OK : SINK_FAILED)
    }
    res.once('finish', onFinish).once('close', onClose)
  })
}
const OK: PumpResult = { ok: true }
const SINK_FAILED: PumpResult = { ok: false, failed: 'sink' }

/** The requester's body length: declared, or `0` when it sent no body at all. */
function requestLength (req: IncomingMessage): string | undefined {
  const declared = req.headers['content-length']
  if (declared !== undefined) return declared
  return req.headers['transfer-encoding'] === undefined ? '0' : undefined
}
