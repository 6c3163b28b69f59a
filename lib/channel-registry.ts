import { channelKey } from './channel-key'
import { WaiterQueue, type QueueNode } from './waiter-queue'

// This module owns the rendezvous state and nothing else: no express, no node:http, no timers,
// so it can be unit-tested with plain objects and reused by any HTTP adapter. It never calls
// back: every call returns what it matched, and the caller starts it.

/** Queue-mode producers and consumers match each other; pubsub subscribers wait for a broadcast. */
export type Role = 'producer' | 'consumer' | 'subscriber'

export interface RegistryLimits {
  readonly concurrency: number
  readonly waitersPerChannel: number
  readonly waiters: number
}

/** Why the registry turns a waiter away: its channel's queue or the router's is full. */
export type Refusal = 'channel.full' | 'router.full'

/** The registry's state of one channel; opaque outside this module. */
export interface ChannelState<P, C> {
  readonly namespace: string
  readonly name: string
  readonly key: string
  /** Its namespace's channels, itself included: pruning needs no lookup. */
  readonly siblings: Map<string, ChannelState<P, C>>
  readonly producers: WaiterQueue<P>
  readonly consumers: WaiterQueue<C>
  readonly subscribers: WaiterQueue<C>
  /** Queue-mode transfers: what the concurrency gate counts. */
  running: number
  /** Pubsub broadcasts: they keep the channel alive but pass no gate. */
  broadcasting: number
}

interface Running<P, C> {
  readonly namespace: string
  readonly channel: string
  readonly key: string
  /** @internal */ readonly state: ChannelState<P, C>
  /** @internal */ finished: boolean
}

/** A matched producer and consumer, to be started. Pass it back to {@link ChannelRegistry.finish} when done. */
export interface Transfer<P, C> extends Running<P, C> {
  readonly kind: 'transfer'
  readonly producer: P
  readonly consumer: C
}

/** The subscribers a pubsub message goes to. Pass it back to {@link ChannelRegistry.finish} when done. */
export interface Broadcast<P, C> extends Running<P, C> {
  readonly kind: 'broadcast'
  readonly subscribers: readonly C[]
}

/** Proof of a place in a queue; {@link ChannelRegistry.withdraw} takes it back in O(1). */
export type Ticket<P, C> =
  | { readonly kind: 'ticket', readonly role: 'producer', readonly waiter: P, /** @internal */ readonly node: QueueNode<P>, /** @internal */ readonly state: ChannelState<P, C> }
  | { readonly kind: 'ticket', readonly role: 'consumer' | 'subscriber', readonly waiter: C, /** @internal */ readonly node: QueueNode<C>, /** @internal */ readonly state: ChannelState<P, C> }

/** What an enqueue did: queued the waiter (its ticket), matched it at once (the transfer to start), or refused it. */
export type Admission<P, C> = Ticket<P, C> | Transfer<P, C> | Refusal

export interface RegistryStats {
  namespaces: number
  channels: number
  waitingProducers: number
  waitingConsumers: number
}

/**
 * Channels keyed by namespace then name, each with a FIFO of waiting producers (`P`) and one of
 * waiting consumers (`C`), and a gate of `concurrency` running transfers. A channel exists while
 * anything waits or runs on it; every operation is O(1) apart from those returning lists.
 *
 * Between calls no channel has an open gate with both queues non-empty, so an enqueue matches at
 * most one pair, and that pair holds the waiter it enqueued.
 */
export class ChannelRegistry<P, C> {
  readonly #namespaces = new Map<string, Map<string, ChannelState<P, C>>>()
  readonly #limits: RegistryLimits
  #channelCount = 0
  #waitingProducers = 0
  #waitingConsumers = 0

  constructor (limits: RegistryLimits) {
    this.#limits = limits
  }

  /**
   * Queues a producer, or matches it at once with the first waiting consumer. One matched at once
   * is admitted even when the queues are at their limits.
   */
  enqueueProducer (namespace: string, name: string, producer: P): Admission<P, C> {
    const refusal = this.refusal(namespace, name, 'producer')
    if (refusal !== undefined) return refusal
    const state = this.#channel(namespace, name)
    const ticket: Ticket<P, C> = { kind: 'ticket', role: 'producer', waiter: producer, node: state.producers.push(producer), state }
    this.#waitingProducers++
    return this.#match(state) ?? ticket
  }

  /** Queues a consumer, or matches it at once with the first waiting producer (as {@link enqueueProducer}). */
  enqueueConsumer (namespace: string, name: string, consumer: C): Admission<P, C> {
    const refusal = this.refusal(namespace, name, 'consumer')
    if (refusal !== undefined) return refusal
    const state = this.#channel(namespace, name)
    const ticket: Ticket<P, C> = { kind: 'ticket', role: 'consumer', waiter: consumer, node: state.consumers.push(consumer), state }
    this.#waitingConsumers++
    return this.#match(state) ?? ticket
  }

  /** Queues a pubsub subscriber for the next {@link publish}. */
  enqueueSubscriber (namespace: string, name: string, subscriber: C): Ticket<P, C> | Refusal {
    const refusal = this.refusal(namespace, name, 'subscriber')
    if (refusal !== undefined) return refusal
    const state = this.#channel(namespace, name)
    this.#waitingConsumers++
    return { kind: 'ticket', role: 'subscriber', waiter: subscriber, node: state.subscribers.push(subscriber), state }
  }

  /** Why an enqueue would turn such a waiter away now; `undefined` when it would not. */
  refusal (namespace: string, name: string, role: Role): Refusal | undefined {
    const existing = this.#namespaces.get(namespace)?.get(name)
    const matchesAtOnce = existing !== undefined && role !== 'subscriber' &&
      existing.running < this.#limits.concurrency &&
      (role === 'producer' ? existing.consumers : existing.producers).size > 0
    if (matchesAtOnce) return undefined
    if (existing !== undefined && waitingOn(existing) >= this.#limits.waitersPerChannel) return 'channel.full'
    if (this.isFull()) return 'router.full'
    return undefined
  }

  /** Whether the router's `waiters` budget is spent: no request may start waiting. */
  isFull (): boolean {
    return this.#waitingProducers + this.#waitingConsumers >= this.#limits.waiters
  }

  /**
   * Counts a request that waits outside every queue (`1`) or no longer does (`-1`): one pipelined
   * behind an earlier response on its connection. It counts as waiting, in the stats and against
   * `waiters`, but joins a queue only once enqueued.
   */
  hold (role: Role, delta: 1 | -1): void {
    this.#count(role, delta)
  }

  /** Takes a waiter out of its queue. `false` when it was already matched or removed. */
  withdraw (ticket: Ticket<P, C>): boolean {
    const removed = ticket.role === 'producer'
      ? ticket.state.producers.remove(ticket.node)
      : (ticket.role === 'consumer' ? ticket.state.consumers : ticket.state.subscribers).remove(ticket.node)
    if (!removed) return false
    this.#count(ticket.role, -1)
    this.#prune(ticket.state)
    return true
  }

  /**
   * Takes every subscriber waiting on a channel for one pubsub message; those `stays` accepts
   * (live subscriptions) stay in the queue, with their tickets, for the next one. Returns
   * `undefined` when none waits: the message then goes nowhere, and no channel is created for it.
   */
  publish (namespace: string, name: string, stays?: (subscriber: C) => boolean): Broadcast<P, C> | undefined {
    const state = this.#namespaces.get(namespace)?.get(name)
    if (state === undefined || state.subscribers.size === 0) return undefined
    const waiting = state.subscribers.size
    const subscribers = state.subscribers.sweep(stays)
    this.#waitingConsumers -= waiting - state.subscribers.size
    state.broadcasting++
    return { kind: 'broadcast', namespace, channel: name, key: state.key, subscribers, state, finished: false }
  }

  /**
   * Ends a transfer or broadcast. A transfer frees one place behind its channel's gate: returns
   * the pair that takes it, if one waits, to be started. Idempotent: a second call returns nothing.
   */
  finish (running: Transfer<P, C> | Broadcast<P, C>): Transfer<P, C> | undefined {
    if (running.finished) return undefined
    running.finished = true
    const { state } = running
    if (running.kind === 'broadcast') state.broadcasting--
    else state.running--
    const next = this.#match(state)
    if (next === undefined) this.#prune(state)
    return next
  }

  /** Removes every waiter of a channel and returns them; running transfers go on. */
  deleteChannel (namespace: string, name: string): Array<P | C> {
    const state = this.#namespaces.get(namespace)?.get(name)
    return state === undefined ? [] : this.#evict(state)
  }

  /** Removes every waiter of every channel of a namespace and returns them. */
  deleteNamespace (namespace: string): Array<P | C> {
    const channels = this.#namespaces.get(namespace)
    if (channels === undefined) return []
    return [...channels.values()].flatMap(state => this.#evict(state))
  }

  /** Removes every waiter of the registry and returns them. */
  evictAll (): Array<P | C> {
    return [...this.#namespaces.keys()].flatMap(namespace => this.deleteNamespace(namespace))
  }

  namespaces (): string[] {
    return [...this.#namespaces.keys()]
  }

  /** Channel names of a namespace; empty when it does not exist. */
  channels (namespace: string): string[] {
    return [...(this.#namespaces.get(namespace)?.keys() ?? [])]
  }

  /** What waits, and where. What runs is counted by whoever runs it (transfer-tracker.ts). */
  stats (): RegistryStats {
    return {
      namespaces: this.#namespaces.size,
      channels: this.#channelCount,
      waitingProducers: this.#waitingProducers,
      waitingConsumers: this.#waitingConsumers
    }
  }

  #channel (namespace: string, name: string): ChannelState<P, C> {
    let channels = this.#namespaces.get(namespace)
    const existing = channels?.get(name)
    if (existing !== undefined) return existing
    if (channels === undefined) {
      channels = new Map()
      this.#namespaces.set(namespace, channels)
    }
    const state: ChannelState<P, C> = {
      namespace,
      name,
      key: channelKey(namespace, name),
      siblings: channels,
      producers: new WaiterQueue(),
      consumers: new WaiterQueue(),
      subscribers: new WaiterQueue(),
      running: 0,
      broadcasting: 0
    }
    channels.set(name, state)
    this.#channelCount++
    return state
  }

  /** Matches the first waiting pair if the gate is open; `undefined` when it cannot. */
  #match (state: ChannelState<P, C>): Transfer<P, C> | undefined {
    if (state.running >= this.#limits.concurrency || state.producers.size === 0 || state.consumers.size === 0) return undefined
    const producer = state.producers.shift() as P
    const consumer = state.consumers.shift() as C
    this.#waitingProducers--
    this.#waitingConsumers--
    state.running++
    return { kind: 'transfer', namespace: state.namespace, channel: state.name, key: state.key, producer, consumer, state, finished: false }
  }

  #evict (state: ChannelState<P, C>): Array<P | C> {
    const producers = state.producers.clear()
    const consumers = [...state.consumers.clear(), ...state.subscribers.clear()]
    this.#waitingProducers -= producers.length
    this.#waitingConsumers -= consumers.length
    this.#prune(state)
    return [...producers, ...consumers]
  }

  #count (role: Role, delta: number): void {
    if (role === 'producer') this.#waitingProducers += delta
    else this.#waitingConsumers += delta
  }

  #prune (state: ChannelState<P, C>): void {
    if (state.running > 0 || state.broadcasting > 0 || waitingOn(state) > 0) return
    state.siblings.delete(state.name)
    this.#channelCount--
    if (state.siblings.size === 0) this.#namespaces.delete(state.namespace)
  }
}

function waitingOn<P, C> (state: ChannelState<P, C>): number {
  return state.producers.size + state.consumers.size + state.subscribers.size
}
