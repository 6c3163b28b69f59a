import type { OutgoingHttpHeaders } from 'node:http'
import { cutConnection } from './cut'
import * as errors from './errors'
import type { ForwardPolicy } from './reqres-headers'
import { answerRequester, type PartyTransfer } from './reqres-party'
import type { Tracked } from './transfer-tracker'

/** One exchange's byte counts, per body: each has its own `limits.bodySize`. */
export interface Exchange {
  readonly request: { bytes: number }
  readonly reply: { bytes: number }
  /** Its entry in the router's tracker: stats() count it, close() waits for it. */
  readonly tracked: Tracked
}

/** What running an exchange (direct or two-step) needs of the mode around it. */
export interface ExchangeContext {
  readonly bodySize: number
  readonly forward: ForwardPolicy
  /** The pair leaves its channel (the registry's transfer is over; the exchange may go on). */
  readonly finish: (transfer: PartyTransfer) => void
  /** The exchange is over: out of stats() and of the tracker. Idempotent. */
  readonly untrack: (exchange: Exchange) => void
}

/**
 * The responder's response head (and, for a request known to have no body, its end, in the same
 * write); `false` when Node refused it (both sides are dealt with).
 */
export function writeRequestHead (transfer: PartyTransfer, head: OutgoingHttpHeaders, whole = false): boolean {
  const { key, producer: requester, consumer: responder } = transfer
  try {
    responder.res.writeHead(200, head)
    if (whole) responder.res.end()
    // Now, not with the first body byte: a body may take long to start.
    else responder.res.flushHeaders()
    return true
  } catch (err) {
    cutConnection(responder.res)
    answerRequester(requester, errors.headerNotRelayable(key, (err as Error).message))
    return false
  }
}
