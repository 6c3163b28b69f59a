import { ChannelRegistry, type Admission, type Role } from './channel-registry'
import { DepartureProbe, canProbe, mayHideDeparture, probe } from './departure-probe'
import * as errors from './errors'
import type { ResolvedOptions } from './options'
import { isQueuedBehind, whenCurrent } from './pipelining'
import { refuse, type Party, type PartyTransfer } from './reqres-party'

/** Requesters queue as the registry's producers, responders as its consumers. */
type Side = Exclude<Role, 'subscriber'>

/** What the waiting needs of the mode around it. */
export interface WaitingHost {
  /** Requests waiting on the router's channels, since `limits.waiters` counts both. */
  readonly waitingElsewhere: () => number
  /** Whether the router is closed: a request whose pipelined turn comes then gets `503`. */
  readonly closed: () => boolean
  /** Given every pair the registry matches. */
  readonly start: (transfer: PartyTransfer) => void
}

/**
 * Requesters and responders waiting for each other: they meet FIFO per channel in a registry of
 * their own (requesters as its producers, responders as its consumers), under the router's
 * `timeout` and `limits`, watched as channel waiters are (waiting-room.ts): a departure seen by
 * its connection's 'close' or by the probe (departure-probe.ts), a request pipelined behind an
 * unfinished response held until its turn (pipelining.ts).
 */
export class ReqResWaiting {
  readonly #config: ResolvedOptions
  readonly #host: WaitingHost
  readonly #registry: ChannelRegistry<Party, Party>
  readonly #departures: DepartureProbe<Party>
  readonly #withdrawGone = (party: Party): void => { this.#withdraw(party) }

  constructor (config: ResolvedOptions, host: WaitingHost) {
    this.#config = config
    this.#host = host
    // Each responder takes one request at a time, so the number of responders is the concurrency:
    // no gate. `waiters` is read per admission: the router's channels draw on the same budget.
    this.#registry = new ChannelRegistry<Party, Party>({
      concurrency: Infinity,
      waitersPerChannel: config.waitersPerChannel,
      get waiters () { return config.waiters - host.waitingElsewhere() }
    })
    this.#departures = new DepartureProbe<Party>(config.probeInterval)
  }

  /** Queues a party on its channel; `timeout` is what is left of its wait (less once it was parked). */
  enqueue (party: Party, role: Side, timeout = this.#config.timeout): void {
    if (isQueuedBehind(party.res)) return this.#park(party, role)
    const { namespace, channel, key } = party.route
    const admitted: Admission<Party, Party> = role === 'producer' ? this.#registry.enqueueProducer(namespace, channel, party) : this.#registry.enqueueConsumer(namespace, channel, party)
    if (typeof admitted === 'string') return refuse(party.req, party.res, party.next, errors.refusalError(admitted, key, this.#config))
    // Matched by its own arrival: the exchange starts.
    if (admitted.kind === 'transfer') return this.#matched(admitted)
    party.ticket = admitted
    party.waited = true
    party.onGone = this.#withdrawGone
    party.res.on('close', party.onClose)
    // Every tick asks whether the connection hides a departure now (an upload larger than the
    // socket buffers, or a request pipelined behind it, makes Node stop reading it).
    if (this.#departures.enabled && canProbe(party.req, party.res)) {
      party.probed = true
      this.#departures.add(party)
    }
    if (timeout !== Infinity) {
      party.timer = setTimeout(() => {
        if (party.ticket === undefined || !this.#registry.withdraw(party.ticket)) return
        this.#settle(party)
        refuse(party.req, party.res, party.next, errors.waitTimedOut(key, this.#config.timeout))
      }, timeout)
    }
  }

  /** Gives the channel back; with no concurrency gate, nothing waits behind it (but start it if so). */
  finish (transfer: PartyTransfer): void {
    const next = this.#registry.finish(transfer)
    if (next !== undefined) this.#matched(next)
  }

  /** Waiting requesters and responders, those held behind a pipelined response included. */
  stats (): { waitingRequesters: number, waitingResponders: number } {
    const { waitingProducers, waitingConsumers } = this.#registry.stats()
    return { waitingRequesters: waitingProducers, waitingResponders: waitingConsumers }
  }

  /** At close(): every waiting requester and responder gets `503`. */
  turnAwayAll (): void {
    for (const party of this.#registry.evictAll()) {
      this.#settle(party)
      refuse(party.req, party.res, party.next, errors.routerClosed())
    }
  }

  #matched (transfer: PartyTransfer): void {
    for (const party of [transfer.producer, transfer.consumer]) {
      this.#settle(party)
      // A party whose client may have left unseen while it waited is probed now, as a channel
      // producer is (transfer-runner.ts): a client gone resets the connection, so its body fails
      // to arrive in full and the exchange is cut instead of going on with a ghost.
      if (party.waited && this.#departures.enabled && mayHideDeparture(party.req)) probe(party.req, party.res)
    }
    this.#host.start(transfer)
  }

  #withdraw (party: Party): void {
    if (party.ticket !== undefined) this.#registry.withdraw(party.ticket)
    this.#settle(party)
  }

  #settle (party: Party): void {
    if (party.timer !== undefined) clearTimeout(party.timer)
    party.timer = undefined
    if (party.onGone !== undefined) party.res.off('close', party.onClose)
    party.onGone = undefined
    if (party.probed) {
      party.probed = false
      this.#departures.delete(party)
    }
  }

  /**
   * Holds a request pipelined behind an unfinished response on its connection until its turn (see
   * pipelining.ts), as the channel routes do. It counts as waiting meanwhile, against
   * `limits.waiters` too, and its `timeout` runs from its arrival.
   */
  #park (party: Party, role: Side): void {
    const { waitingRequesters, waitingResponders } = this.stats()
    const budget = this.#config.waiters - this.#host.waitingElsewhere()
    if (waitingRequesters + waitingResponders >= budget) return refuse(party.req, party.res, party.next, errors.routerFull(this.#config.waiters))
    this.#registry.hold(role, 1)
    const arrived = Date.now()
    whenCurrent(party.req, party.res, () => {
      this.#registry.hold(role, -1)
      if (this.#host.closed()) return refuse(party.req, party.res, party.next, errors.routerClosed())
      const left = this.#config.timeout - (Date.now() - arrived)
      if (left <= 0) return refuse(party.req, party.res, party.next, errors.waitTimedOut(party.route.key, this.#config.timeout))
      this.enqueue(party, role, left)
    }, () => { this.#registry.hold(role, -1) })
  }
}
