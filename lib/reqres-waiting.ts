import { ChannelRegistry, type Admission } from './channel-registry'
import * as errors from './errors'
import type { ResolvedOptions } from './options'
import { refuse, type Party, type PartyTransfer } from './reqres-party'

/**
 * Requesters and responders waiting for each other: they meet FIFO per channel in a registry of
 * their own (requesters as its producers, responders as its consumers), under the router's
 * `timeout` and `limits`; a matched pair is handed to `start`.
 */
export class ReqResWaiting {
  readonly #config: ResolvedOptions
  readonly #registry: ChannelRegistry<Party, Party>
  readonly #start: (transfer: PartyTransfer) => void
  readonly #withdrawGone = (party: Party): void => { this.#withdraw(party) }

  /** `waitingElsewhere`: requests waiting on the router's channels, since `limits.waiters` counts both. */
  constructor (config: ResolvedOptions, waitingElsewhere: () => number, start: (transfer: PartyTransfer) => void) {
    this.#config = config
    this.#start = start
    // Each responder takes one request at a time, so the number of responders is the concurrency:
    // no gate. `waiters` is read per admission: the router's channels draw on the same budget.
    this.#registry = new ChannelRegistry<Party, Party>({
      concurrency: Infinity,
      waitersPerChannel: config.waitersPerChannel,
      get waiters () { return config.waiters - waitingElsewhere() }
    })
  }

  enqueue (party: Party, role: 'requester' | 'responder'): void {
    const { namespace, channel, key } = party.route
    const admitted: Admission<Party, Party> = role === 'requester' ? this.#registry.enqueueProducer(namespace, channel, party) : this.#registry.enqueueConsumer(namespace, channel, party)
    if (typeof admitted === 'string') {
      return refuse(party.req, party.res, party.next, admitted === 'channel.full' ? errors.channelFull(key, this.#config.waitersPerChannel) : errors.routerFull(this.#config.waiters))
    }
    // Matched by its own arrival: the exchange starts.
    if (admitted.kind === 'transfer') return this.#matched(admitted)
    party.ticket = admitted
    party.onGone = this.#withdrawGone
    party.res.on('close', party.onClose)
    if (this.#config.timeout !== Infinity) {
      party.timer = setTimeout(() => {
        if (party.ticket === undefined || !this.#registry.withdraw(party.ticket)) return
        this.#settle(party)
        refuse(party.req, party.res, party.next, errors.waitTimedOut(key, this.#config.timeout))
      }, this.#config.timeout)
    }
  }

  /** Gives the channel back; with no concurrency gate, nothing waits behind it (but start it if so). */
  finish (transfer: PartyTransfer): void {
    const next = this.#registry.finish(transfer)
    if (next !== undefined) this.#matched(next)
  }

  /** Waiting requesters and responders. */
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
    this.#settle(transfer.producer)
    this.#settle(transfer.consumer)
    this.#start(transfer)
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
  }
}
