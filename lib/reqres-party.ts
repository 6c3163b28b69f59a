import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Ticket, Transfer } from './channel-registry'
import { cutConnection } from './cut'
import { lingerOnError } from './linger'
import type { Reply } from './reqres-headers'
import type { ExchangeRoute } from './reqres-route'

export type Next = (err?: unknown) => void

export type Requester = Extract<ExchangeRoute, { kind: 'requester' }>
export type Responder = Extract<ExchangeRoute, { kind: 'responder' }>

/** A requester or responder waiting for its counterpart. */
export class Party {
  ticket: Ticket<Party, Party> | undefined = undefined
  timer: NodeJS.Timeout | undefined = undefined
  onGone: ((party: Party) => void) | undefined = undefined
  readonly onClose = (): void => { this.onGone?.(this) }
  /** In the departure probe's set while waiting. */
  probed = false
  /** It waited in a queue (it was not matched the moment it arrived). */
  waited = false

  constructor (
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly next: Next,
    readonly route: Requester | Responder,
    /** A direct-mode responder's reply, read from its request headers when it arrived. */
    readonly reply: Reply | undefined
  ) {}
}

/** A requester (the registry's producer) matched with a responder (its consumer). */
export type PartyTransfer = Transfer<Party, Party>

/** An error answer, unless the response has started (then it is cut: never a clean short body). */
export function refuse (req: IncomingMessage, res: ServerResponse, next: Next, err: unknown): void {
  if (res.headersSent) return cutConnection(res)
  if (res.destroyed) return
  // A client still uploading must read the answer before the connection closes (see linger.ts).
  lingerOnError(req, res)
  next(err)
}

export function answerRequester (requester: Party, err: Error): void {
  refuse(requester.req, requester.res, requester.next, err)
}
