import { channelKey } from './channel-key'
import { WaiterQueue, type QueueNode } from './waiter-queue'

// This module owns the rendezvous state and nothing else: no express, no node:http, no timers,
// so it can be unit-tested with plain objects and reused by any HTTP adapter.

/** Queue-mode producers and consumers match each other; pubsub subscribers wait for a broadcast. */
export type Role = 'producer' | 'consumer' | 'subscriber'

export interface RegistryLimits {
  readonly concurrency: number
  readonly waitersPerChannel: number
  readonly waiters: number
}

/** A matched producer and consumer. Pass it back to {@link ChannelRegistry.finish} when done. */
export interface Transfer<W> {
  readonly namespace: string
  readonly channel: string
  readonly key: string
  readonly producer: W
  readonly consumer: W
}

/** The subscribers a pubsub message goes to. Pass it back to {@link ChannelRegistry.finish} when done. */
export interface Broadcast<W> {
  readonly namespace: string
  readonly channel: string
  readonly key: string
  readonly subscribers: readonly W[]
}

/** Proof of a place in a queue; {@link ChannelRegistry.withdraw} takes it back in O(1). */
export interface Ticket<W> {
  readonly role: Role
  readonly waiter: W
}

export type Rejection = 'channel.full' | 'router.full'

export interface RegistryStats {
  namespaces: number
  channels: number
  waitingProducers: number
  waitingConsumers: number
  runningTransfers: number
}

interface Channel<W> {
  readonly namespace: string
  readonly name: string
  readonly key: string
  readonly producers: WaiterQueue<W>
  readonly consumers: WaiterQueue<W>
  readonly subscribers: WaiterQueue<W>
  /** Queue-mode transfers: what the concurrency gate counts. */
  running: number
  /** Pubsub broadcasts: they keep the channel alive but pass no gate. */
  broadcasting: number
}

interface TicketState<W> extends Ticket<W> {
  readonly channel: Channel<W>
  readonly node: QueueNode<W>
}

interface RunningState<W> {
  readonly state: Channel<W>
  readonly broadcast: boolean
  finished: boolean
}

/**
 * Channels keyed by namespace then name, each with a FIFO of waiting producers and one of waiting
 * consumers, and a gate of `concurrency` running transfers. A channel exists while anything waits
 * or runs on it; every operation is O(1) apart from those returning lists.
 */
export class ChannelRegistry<W> {
  readonly #namespaces = new Map<string, Map<string, Channel<W>>>()
  readonly #limits: RegistryLimits
  readonly #onMatch: (transfer: Transfer<W>) => void
  #channelCount = 0
  #waitingProducers = 0
  #waitingConsumers = 0
  #running = 0

  /** `onMatch` is called synchronously, from whichever call made the pair. */
  constructor (limits: RegistryLimits, onMatch: (transfer: Transfer<W>) => void) {
    this.#limits = limits
    this.#onMatch = onMatch
  }

  /**
   * Queues a waiter, then matches whatever the gate allows (possibly this waiter, at once).
   * A waiter that is matched at once is admitted even when the queues are at their limits.
   */
  enqueue (namespace: string, name: string, role: Role, waiter: W): Ticket<W> | Rejection {
    const refusal = this.refusal(namespace, name, role)
    if (refusal !== undefined) return refusal
    const channel = this.#namespaces.get(namespace)?.get(name) ?? this.#create(namespace, name)
    const ticket: TicketState<W> = { role, waiter, channel, node: queueOf(channel, role).push(waiter) }
    this.#count(role, 1)
    this.#match(channel)
    return ticket
  }

  /** Why {@link enqueue} would turn such a waiter away now; `undefined` when it would not. */
  refusal (namespace: string, name: string, role: Role): Rejection | undefined {
    const existing = this.#namespaces.get(namespace)?.get(name)
    const matchesAtOnce = existing !== undefined && role !== 'subscriber' &&
      existing.running < this.#limits.concurrency &&
      (role === 'producer' ? existing.consumers : existing.producers).size > 0
    if (matchesAtOnce) return undefined
    if (existing !== undefined && waitingOn(existing) >= this.#limits.waitersPerChannel) return 'channel.full'
    if (this.#waitingProducers + this.#waitingConsumers >= this.#limits.waiters) return 'router.full'
    return undefined
  }

  /** Whether the ticket's waiter is still in its queue: `false` once matched (even by the enqueue that issued it) or removed. */
  waits (ticket: Ticket<W>): boolean {
    const { channel, node, role } = ticket as TicketState<W>
    return queueOf(channel, role).holds(node)
  }

  /**
   * Counts a request that waits outside every queue (`1`) or no longer does (`-1`): one pipelined
   * behind an earlier response on its connection. It counts as waiting, in the stats and against
   * `waiters`, but joins a queue only once {@link enqueue}d.
   */
  hold (role: Role, delta: 1 | -1): void {
    this.#count(role, delta)
  }

  /** Takes a waiter out of its queue. `false` when it was already matched or removed. */
  withdraw (ticket: Ticket<W>): boolean {
    const { channel, node, role } = ticket as TicketState<W>
    if (!queueOf(channel, role).remove(node)) return false
    this.#count(role, -1)
    this.#prune(channel)
    return true
  }

  /**
   * Takes every subscriber waiting on a channel for one pubsub message; those `stays` accepts
   * (live subscriptions) stay in the queue, with their tickets, for the next one. Returns
   * `undefined` when none waits: the message then goes nowhere, and no channel is created for it.
   */
  publish (namespace: string, name: string, stays?: (waiter: W) => boolean): Broadcast<W> | undefined {
    const channel = this.#namespaces.get(namespace)?.get(name)
    if (channel === undefined || channel.subscribers.size === 0) return undefined
    const waiting = channel.subscribers.size
    const subscribers = channel.subscribers.sweep(stays)
    this.#waitingConsumers -= waiting - channel.subscribers.size
    channel.broadcasting++
    this.#running++
    const broadcast: Broadcast<W> & RunningState<W> = {
      namespace,
      channel: name,
      key: channel.key,
      subscribers,
      state: channel,
      broadcast: true,
      finished: false
    }
    return broadcast
  }

  /** Ends a transfer or broadcast: a transfer opens the gate for the next pair. Idempotent. */
  finish (running: Transfer<W> | Broadcast<W>): void {
    const state = running as unknown as RunningState<W>
    if (state.finished) return
    state.finished = true
    this.#running--
    if (state.broadcast) {
      state.state.broadcasting--
    } else {
      state.state.running--
      this.#match(state.state)
    }
    this.#prune(state.state)
  }

  /** Removes every waiter of a channel and returns them; running transfers go on. */
  deleteChannel (namespace: string, name: string): W[] {
    const channel = this.#namespaces.get(namespace)?.get(name)
    return channel === undefined ? [] : this.#evict(channel)
  }

  /** Removes every waiter of every channel of a namespace and returns them. */
  deleteNamespace (namespace: string): W[] {
    const channels = this.#namespaces.get(namespace)
    if (channels === undefined) return []
    return [...channels.values()].flatMap(channel => this.#evict(channel))
  }

  /** Removes every waiter of the registry and returns them. */
  evictAll (): W[] {
    return [...this.#namespaces.keys()].flatMap(namespace => this.deleteNamespace(namespace))
  }

  namespaces (): string[] {
    return [...this.#namespaces.keys()]
  }

  /** Channel names of a namespace; empty when it does not exist. */
  channels (namespace: string): string[] {
    return [...(this.#namespaces.get(namespace)?.keys() ?? [])]
  }

  stats (): RegistryStats {
    return {
      namespaces: this.#namespaces.size,
      channels: this.#channelCount,
      waitingProducers: this.#waitingProducers,
      waitingConsumers: this.#waitingConsumers,
      runningTransfers: this.#running
    }
  }

  #create (namespace: string, name: string): Channel<W> {
    let channels = this.#namespaces.get(namespace)
    if (channels === undefined) {
      channels = new Map()
      this.#namespaces.set(namespace, channels)
    }
    const channel: Channel<W> = {
      namespace,
      name,
      key: channelKey(namespace, name),
      producers: new WaiterQueue(),
      consumers: new WaiterQueue(),
      subscribers: new WaiterQueue(),
      running: 0,
      broadcasting: 0
    }
    channels.set(name, channel)
    this.#channelCount++
    return channel
  }

  #match (channel: Channel<W>): void {
    while (channel.running < this.#limits.concurrency && channel.producers.size > 0 && channel.consumers.size > 0) {
      const producer = channel.producers.shift() as W
      const consumer = channel.consumers.shift() as W
      this.#count('producer', -1)
      this.#count('consumer', -1)
      channel.running++
      this.#running++
      const transfer: Transfer<W> & RunningState<W> = {
        namespace: channel.namespace,
        channel: channel.name,
        key: channel.key,
        producer,
        consumer,
        state: channel,
        broadcast: false,
        finished: false
      }
      this.#onMatch(transfer)
    }
  }

  #evict (channel: Channel<W>): W[] {
    const producers = channel.producers.clear()
    const consumers = [...channel.consumers.clear(), ...channel.subscribers.clear()]
    this.#count('producer', -producers.length)
    this.#count('consumer', -consumers.length)
    this.#prune(channel)
    return [...producers, ...consumers]
  }

  #count (role: Role, delta: number): void {
    if (role === 'producer') this.#waitingProducers += delta
    else this.#waitingConsumers += delta
  }

  #prune (channel: Channel<W>): void {
    if (channel.running > 0 || channel.broadcasting > 0 || waitingOn(channel) > 0) return
    const channels = this.#namespaces.get(channel.namespace)
    // A nested match may have pruned it already and a new channel may hold the name since.
    if (channels?.get(channel.name) !== channel) return
    channels.delete(channel.name)
    this.#channelCount--
    if (channels.size === 0) this.#namespaces.delete(channel.namespace)
  }
}

function queueOf<W> (channel: Channel<W>, role: Role): WaiterQueue<W> {
  return role === 'producer' ? channel.producers : role === 'consumer' ? channel.consumers : channel.subscribers
}

function waitingOn<W> (channel: Channel<W>): number {
  return channel.producers.size + channel.consumers.size + channel.subscribers.size
}
