import type { ServerResponse } from 'node:http'
import { cutConnection } from './cut'
import * as errors from './errors'
import { writeRequestHead, type Exchange, type ExchangeContext } from './reqres-exchange'
import { replyHead, requestHead, type Reply } from './reqres-headers'
import { answerRequester, type PartyTransfer, type Requester } from './reqres-party'
import { pump, type PumpFailure } from './reqres-pump'

/**
 * Direct mode: the responder's response carries the request while its own request body, the
 * reply, streams to the requester. Its response ends only once the reply has reached the
 * requester in full: a reply that fails cuts it instead, which is how the responder learns.
 */
export async function runDirect (transfer: PartyTransfer, exchange: Exchange, context: ExchangeContext): Promise<void> {
  const { key, producer: requester, consumer: responder } = transfer
  const { bodySize, forward } = context
  const reply = responder.reply as Reply
  if (!writeRequestHead(transfer, requestHead(requester.req, (requester.route as Requester).uri, forward))) {
    context.finish(transfer)
    return context.untrack(exchange)
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
  context.finish(transfer)
  context.untrack(exchange)
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
