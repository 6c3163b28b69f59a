import { describe, expect, it } from '@jest/globals'
import { ChannelRegistry, type Admission, type Broadcast, type RegistryLimits, type RegistryStats, type Role, type Ticket, type Transfer } from '../lib/channel-registry'

interface Waiter {
  readonly id: string
}

type WaiterTransfer = Transfer<Waiter, Waiter>
type WaiterTicket = Ticket<Waiter, Waiter>
type OnMatch = (transfer: WaiterTransfer) => void

/**
 * The registry as core uses it: every transfer a call returns is started, i.e. recorded (and
 * counted as running until it is finished), and handed to `hooks.onMatch`, which a test can set
 * to act on it at once (a transfer that fails at once, say). `enqueue(role)` picks the method.
 */
class RecordingRegistry extends ChannelRegistry<Waiter, Waiter> {
  readonly matched: WaiterTransfer[] = []
  readonly hooks: { onMatch: OnMatch | undefined } = { onMatch: undefined }
  readonly #running = new Set<WaiterTransfer | Broadcast<Waiter, Waiter>>()

  enqueue (namespace: string, name: string, role: Role, waiter: Waiter): Admission<Waiter, Waiter> {
    const admitted = role === 'producer'
      ? this.enqueueProducer(namespace, name, waiter)
      : role === 'consumer' ? this.enqueueConsumer(namespace, name, waiter) : this.enqueueSubscriber(namespace, name, waiter)
    if (typeof admitted !== 'string' && admitted.kind === 'transfer') this.#start(admitted)
    return admitted
  }

  override publish (namespace: string, name: string, stays?: (subscriber: Waiter) => boolean): Broadcast<Waiter, Waiter> | undefined {
    const taken = super.publish(namespace, name, stays)
    if (taken !== undefined) this.#running.add(taken)
    return taken
  }

  override finish (running: WaiterTransfer | Broadcast<Waiter, Waiter>): WaiterTransfer | undefined {
    this.#running.delete(running)
    const next = super.finish(running)
    if (next !== undefined) this.#start(next)
    return next
  }

  override stats (): RegistryStats & { runningTransfers: number } {
    return { ...super.stats(), runningTransfers: this.#running.size }
  }

  #start (transfer: WaiterTransfer): void {
    this.matched.push(transfer)
    this.#running.add(transfer)
    this.hooks.onMatch?.(transfer)
  }
}

function createRegistry (limits: Partial<RegistryLimits> = {}) {
  const registry = new RecordingRegistry({ concurrency: 1, waitersPerChannel: 5000, waiters: 50_000, ...limits })
  const { matched, hooks } = registry

  /** Enqueues a waiter with id `id` and expects it to be admitted (queued or matched at once). */
  function admit (namespace: string, name: string, role: Role, id: string): WaiterTicket | WaiterTransfer {
    const admitted = registry.enqueue(namespace, name, role, { id })
    if (typeof admitted === 'string') throw new Error(`expected ${id} to be admitted, got ${admitted}`)
    return admitted
  }

  /** Enqueues a waiter with id `id` and expects it to be queued: its ticket. */
  function queue (namespace: string, name: string, role: Role, id: string): WaiterTicket {
    const admitted = admit(namespace, name, role, id)
    if (admitted.kind !== 'ticket') throw new Error(`expected ${id} to be queued, got a transfer`)
    return admitted
  }

  /** Matched pairs as "producer>consumer", in match order. */
  function pairs (): string[] {
    return matched.map(transfer => `${transfer.producer.id}>${transfer.consumer.id}`)
  }

  function transfer (index: number): WaiterTransfer {
    const found = matched[index]
    if (found === undefined) throw new Error(`no transfer #${index}`)
    return found
  }

  return { registry, matched, hooks, admit, queue, pairs, transfer }
}

function stats (namespaces: number, channels: number, waitingProducers: number, waitingConsumers: number, runningTransfers: number): RegistryStats & { runningTransfers: number } {
  return { namespaces, channels, waitingProducers, waitingConsumers, runningTransfers }
}

const EMPTY = stats(0, 0, 0, 0, 0)

function ids (waiters: readonly Waiter[]): string[] {
  return waiters.map(waiter => waiter.id).sort()
}

describe('ChannelRegistry<P, C>', () => {
  describe('enqueueProducer(), enqueueConsumer(), enqueueSubscriber()', () => {
    it('queues a producer until a consumer arrives, then matches them', () => {
      const { registry, matched, queue } = createRegistry()
      const producer = queue('v1', 'do_work', 'producer', 'p1')
      expect(matched).toHaveLength(0)
      expect(registry.stats()).toStrictEqual(stats(1, 1, 1, 0, 0))

      const consumer = { id: 'c1' }
      const started = registry.enqueue('v1', 'do_work', 'consumer', consumer)
      expect(matched).toHaveLength(1)
      expect(started).toBe(matched[0])
      expect(matched[0]).toMatchObject({ kind: 'transfer', namespace: 'v1', channel: 'do_work', key: 'v1/do_work' })
      expect(matched[0]?.producer).toBe(producer.waiter)
      expect(matched[0]?.consumer).toBe(consumer)
      expect(registry.stats()).toStrictEqual(stats(1, 1, 0, 0, 1))
    })

    it('queues a consumer until a producer arrives, then matches them', () => {
      const { registry, admit, pairs } = createRegistry()
      admit('v1', 'do_work', 'consumer', 'c1')
      expect(pairs()).toStrictEqual([])
      expect(registry.stats()).toStrictEqual(stats(1, 1, 0, 1, 0))

      admit('v1', 'do_work', 'producer', 'p1')
      expect(pairs()).toStrictEqual(['p1>c1'])
      expect(registry.stats()).toStrictEqual(stats(1, 1, 0, 0, 1))
    })

    it('returns a ticket with the role and waiter when it queues, the transfer to start when it matches at once', () => {
      const { registry } = createRegistry()
      const producer = { id: 'p1' }
      const consumer = { id: 'c1' }
      const first = registry.enqueue('ns', 'ch', 'producer', producer)
      const second = registry.enqueue('ns', 'ch', 'consumer', consumer)
      expect(first).toMatchObject({ kind: 'ticket', role: 'producer' })
      expect((first as WaiterTicket).waiter).toBe(producer)
      expect(second).toMatchObject({ kind: 'transfer', key: 'ns/ch' })
      expect((second as WaiterTransfer).producer).toBe(producer)
      expect((second as WaiterTransfer).consumer).toBe(consumer)
    })

    it('never matches two producers or two consumers', () => {
      const { registry, admit, pairs } = createRegistry({ concurrency: 10 })
      admit('ns', 'ch', 'producer', 'p1')
      admit('ns', 'ch', 'producer', 'p2')
      admit('ns', 'ch2', 'consumer', 'c1')
      admit('ns', 'ch2', 'consumer', 'c2')
      expect(pairs()).toStrictEqual([])
      expect(registry.stats()).toStrictEqual(stats(1, 2, 2, 2, 0))
    })

    it('does not match across namespaces or channels', () => {
      const { registry, admit, pairs } = createRegistry()
      admit('a', 'ch', 'producer', 'p1')
      admit('b', 'ch', 'consumer', 'c1')
      admit('a', 'other', 'consumer', 'c2')
      expect(pairs()).toStrictEqual([])
      expect(registry.stats()).toStrictEqual(stats(2, 3, 1, 2, 0))
    })

    it('keys channels by namespace and name, so "a/b" + "c" and "a" + "b/c" stay apart', () => {
      const { admit, pairs } = createRegistry()
      admit('a/b', 'c', 'producer', 'p1')
      admit('a', 'b/c', 'consumer', 'c1')
      expect(pairs()).toStrictEqual([])
    })
  })

  describe('FIFO', () => {
    it('matches producers in arrival order', () => {
      const { admit, pairs } = createRegistry({ concurrency: 10 })
      for (const id of ['p1', 'p2', 'p3']) admit('ns', 'ch', 'producer', id)
      for (const id of ['c1', 'c2', 'c3']) admit('ns', 'ch', 'consumer', id)
      expect(pairs()).toStrictEqual(['p1>c1', 'p2>c2', 'p3>c3'])
    })

    it('matches consumers in arrival order', () => {
      const { admit, pairs } = createRegistry({ concurrency: 10 })
      for (const id of ['c1', 'c2', 'c3']) admit('ns', 'ch', 'consumer', id)
      for (const id of ['p1', 'p2', 'p3']) admit('ns', 'ch', 'producer', id)
      expect(pairs()).toStrictEqual(['p1>c1', 'p2>c2', 'p3>c3'])
    })

    it('keeps arrival order on both sides behind the concurrency gate', () => {
      const { registry, admit, pairs, transfer } = createRegistry({ concurrency: 1 })
      for (const id of ['p1', 'p2', 'p3']) admit('ns', 'ch', 'producer', id)
      for (const id of ['c1', 'c2', 'c3']) admit('ns', 'ch', 'consumer', id)
      expect(pairs()).toStrictEqual(['p1>c1'])
      registry.finish(transfer(0))
      expect(pairs()).toStrictEqual(['p1>c1', 'p2>c2'])
      registry.finish(transfer(1))
      expect(pairs()).toStrictEqual(['p1>c1', 'p2>c2', 'p3>c3'])
    })

    it('skips a withdrawn waiter and keeps the others in order', () => {
      const { registry, admit, pairs, queue } = createRegistry({ concurrency: 10 })
      admit('ns', 'ch', 'producer', 'p1')
      const p2 = queue('ns', 'ch', 'producer', 'p2')
      admit('ns', 'ch', 'producer', 'p3')
      registry.withdraw(p2)
      admit('ns', 'ch', 'consumer', 'c1')
      admit('ns', 'ch', 'consumer', 'c2')
      admit('ns', 'ch', 'consumer', 'c3')
      expect(pairs()).toStrictEqual(['p1>c1', 'p3>c2'])
      expect(registry.stats()).toStrictEqual(stats(1, 1, 0, 1, 2))
    })
  })

  describe('what enqueue returns', () => {
    it('is a ticket while the waiter queues, the transfer when it is matched by that very enqueue, or the refusal', () => {
      const { registry, admit } = createRegistry({ waitersPerChannel: 1 })
      expect(admit('ns', 'ch', 'producer', 'p1')).toMatchObject({ kind: 'ticket', role: 'producer' })
      expect(admit('ns', 'other', 'consumer', 'c0')).toMatchObject({ kind: 'ticket', role: 'consumer' })
      expect(registry.enqueue('ns', 'other', 'consumer', { id: 'c9' })).toBe('channel.full')
      expect(admit('ns', 'ch', 'consumer', 'c1')).toMatchObject({ kind: 'transfer', producer: { id: 'p1' }, consumer: { id: 'c1' } })
      expect(admit('ns', 'ch', 'subscriber', 's1')).toMatchObject({ kind: 'ticket', role: 'subscriber' })
    })
  })

  describe('hold(role, delta)', () => {
    it('counts a request that waits outside every queue, against limits.waiters too, until it is released', () => {
      const { registry } = createRegistry({ waiters: 2 })
      registry.hold('producer', 1)
      registry.hold('subscriber', 1)
      expect(registry.stats()).toStrictEqual(stats(0, 0, 1, 1, 0))
      expect(registry.enqueue('ns', 'ch', 'consumer', { id: 'c1' })).toBe('router.full')
      registry.hold('producer', -1)
      registry.hold('subscriber', -1)
      expect(registry.stats()).toStrictEqual(EMPTY)
      expect(registry.enqueue('ns', 'ch', 'consumer', { id: 'c1' })).toMatchObject({ kind: 'ticket' })
    })
  })

  describe('withdraw(ticket)', () => {
    it('returns true, then false for the same ticket', () => {
      const { registry, queue } = createRegistry()
      const ticket = queue('ns', 'ch', 'producer', 'p1')
      expect(registry.withdraw(ticket)).toBe(true)
      expect(registry.withdraw(ticket)).toBe(false)
    })

    it('uncounts the waiter and removes its now empty channel and namespace', () => {
      const { registry, queue } = createRegistry()
      const ticket = queue('ns', 'ch', 'consumer', 'c1')
      registry.withdraw(ticket)
      expect(registry.stats()).toStrictEqual(EMPTY)
      expect(registry.namespaces()).toStrictEqual([])
      expect(registry.channels('ns')).toStrictEqual([])
    })

    it('keeps a channel on which others still wait', () => {
      const { registry, admit, queue } = createRegistry()
      const p1 = queue('ns', 'ch', 'producer', 'p1')
      admit('ns', 'ch', 'producer', 'p2')
      registry.withdraw(p1)
      expect(registry.stats()).toStrictEqual(stats(1, 1, 1, 0, 0))
      expect(registry.channels('ns')).toStrictEqual(['ch'])
    })

    it('returns false for the ticket of a matched waiter, and changes nothing', () => {
      const { registry, admit, queue } = createRegistry()
      const producer = queue('ns', 'ch', 'producer', 'p1')
      admit('ns', 'ch', 'consumer', 'c1')
      expect(registry.withdraw(producer)).toBe(false)
      expect(registry.withdraw(producer)).toBe(false)
      expect(registry.stats()).toStrictEqual(stats(1, 1, 0, 0, 1))
    })

    it('returns false for a waiter already evicted by deleteChannel', () => {
      const { registry, queue } = createRegistry()
      const ticket = queue('ns', 'ch', 'producer', 'p1')
      registry.deleteChannel('ns', 'ch')
      expect(registry.withdraw(ticket)).toBe(false)
      expect(registry.stats()).toStrictEqual(EMPTY)
    })

    it('never matches a withdrawn waiter', () => {
      const { registry, admit, pairs, queue } = createRegistry()
      const ticket = queue('ns', 'ch', 'producer', 'p1')
      registry.withdraw(ticket)
      admit('ns', 'ch', 'consumer', 'c1')
      expect(pairs()).toStrictEqual([])
      expect(registry.stats()).toStrictEqual(stats(1, 1, 0, 1, 0))
    })
  })

  describe('with concurrency 1', () => {
    it('matches the next pair only after finish()', () => {
      const { registry, admit, pairs, transfer } = createRegistry({ concurrency: 1 })
      admit('ns', 'ch', 'producer', 'p1')
      admit('ns', 'ch', 'consumer', 'c1')
      admit('ns', 'ch', 'producer', 'p2')
      admit('ns', 'ch', 'consumer', 'c2')
      expect(pairs()).toStrictEqual(['p1>c1'])
      expect(registry.stats()).toStrictEqual(stats(1, 1, 1, 1, 1))

      registry.finish(transfer(0))
      expect(pairs()).toStrictEqual(['p1>c1', 'p2>c2'])
      expect(registry.stats()).toStrictEqual(stats(1, 1, 0, 0, 1))
    })

    it('treats a second finish() of the same transfer as a no-op', () => {
      const { registry, admit, pairs, transfer } = createRegistry({ concurrency: 1 })
      for (const id of ['p1', 'p2', 'p3']) admit('ns', 'ch', 'producer', id)
      for (const id of ['c1', 'c2', 'c3']) admit('ns', 'ch', 'consumer', id)
      expect(registry.finish(transfer(0))).toBe(transfer(1))
      expect(registry.finish(transfer(0))).toBeUndefined()
      expect(pairs()).toStrictEqual(['p1>c1', 'p2>c2'])
      expect(registry.stats()).toStrictEqual(stats(1, 1, 1, 1, 1))
    })

    it('never counts running transfers below zero', () => {
      const { registry, admit, transfer } = createRegistry({ concurrency: 1 })
      admit('ns', 'ch', 'producer', 'p1')
      admit('ns', 'ch', 'consumer', 'c1')
      registry.finish(transfer(0))
      registry.finish(transfer(0))
      expect(registry.stats()).toStrictEqual(EMPTY)
    })

    it('lets other channels run meanwhile', () => {
      const { admit, pairs } = createRegistry({ concurrency: 1 })
      admit('ns', 'a', 'producer', 'p1')
      admit('ns', 'a', 'consumer', 'c1')
      admit('ns', 'b', 'producer', 'p2')
      admit('ns', 'b', 'consumer', 'c2')
      admit('other', 'a', 'producer', 'p3')
      admit('other', 'a', 'consumer', 'c3')
      expect(pairs()).toStrictEqual(['p1>c1', 'p2>c2', 'p3>c3'])
    })

    it('does not open the gate when a transfer of another channel finishes', () => {
      const { registry, admit, pairs, transfer } = createRegistry({ concurrency: 1 })
      admit('ns', 'a', 'producer', 'p1')
      admit('ns', 'a', 'consumer', 'c1')
      admit('ns', 'b', 'producer', 'p2')
      admit('ns', 'b', 'consumer', 'c2')
      admit('ns', 'a', 'producer', 'p3')
      admit('ns', 'a', 'consumer', 'c3')
      registry.finish(transfer(1))
      expect(pairs()).toStrictEqual(['p1>c1', 'p2>c2'])
      registry.finish(transfer(0))
      expect(pairs()).toStrictEqual(['p1>c1', 'p2>c2', 'p3>c3'])
    })
  })

  describe('with concurrency 3', () => {
    it('runs three pairs at once and matches the fourth when any of them finishes', () => {
      const { registry, admit, pairs, transfer } = createRegistry({ concurrency: 3 })
      for (const i of [1, 2, 3, 4]) {
        admit('ns', 'ch', 'producer', `p${i}`)
        admit('ns', 'ch', 'consumer', `c${i}`)
      }
      expect(pairs()).toStrictEqual(['p1>c1', 'p2>c2', 'p3>c3'])
      expect(registry.stats()).toStrictEqual(stats(1, 1, 1, 1, 3))

      registry.finish(transfer(1))
      expect(pairs()).toStrictEqual(['p1>c1', 'p2>c2', 'p3>c3', 'p4>c4'])
      expect(registry.stats()).toStrictEqual(stats(1, 1, 0, 0, 3))
    })

    it('matches only as many queued pairs as the gate allows', () => {
      const { registry, admit, pairs } = createRegistry({ concurrency: 3 })
      for (const i of [1, 2, 3, 4, 5]) admit('ns', 'ch', 'producer', `p${i}`)
      for (const i of [1, 2, 3, 4, 5]) admit('ns', 'ch', 'consumer', `c${i}`)
      expect(pairs()).toStrictEqual(['p1>c1', 'p2>c2', 'p3>c3'])
      expect(registry.stats()).toStrictEqual(stats(1, 1, 2, 2, 3))
    })
  })

  describe('with limits.waitersPerChannel', () => {
    it('refuses a waiter beyond the limit with "channel.full" and counts nothing', () => {
      const { registry, admit } = createRegistry({ waitersPerChannel: 2 })
      admit('ns', 'ch', 'producer', 'p1')
      admit('ns', 'ch', 'producer', 'p2')
      expect(registry.enqueue('ns', 'ch', 'producer', { id: 'p3' })).toBe('channel.full')
      expect(registry.stats()).toStrictEqual(stats(1, 1, 2, 0, 0))
    })

    it('still admits waiters on other channels', () => {
      const { registry, admit } = createRegistry({ waitersPerChannel: 1 })
      admit('ns', 'a', 'producer', 'p1')
      expect(registry.enqueue('ns', 'b', 'producer', { id: 'p2' })).toMatchObject({ role: 'producer' })
      expect(registry.stats()).toStrictEqual(stats(1, 2, 2, 0, 0))
    })

    it('counts producers and consumers together while the gate is closed', () => {
      const { registry, admit } = createRegistry({ concurrency: 1, waitersPerChannel: 2 })
      admit('ns', 'ch', 'producer', 'p1')
      admit('ns', 'ch', 'consumer', 'c1')
      admit('ns', 'ch', 'producer', 'p2')
      admit('ns', 'ch', 'consumer', 'c2')
      expect(registry.enqueue('ns', 'ch', 'producer', { id: 'p3' })).toBe('channel.full')
      expect(registry.enqueue('ns', 'ch', 'consumer', { id: 'c3' })).toBe('channel.full')
      expect(registry.stats()).toStrictEqual(stats(1, 1, 1, 1, 1))
    })

    it('admits a consumer that would be matched at once, even at the limit', () => {
      const { registry, pairs, admit } = createRegistry({ waitersPerChannel: 2 })
      admit('ns', 'ch', 'producer', 'p1')
      admit('ns', 'ch', 'producer', 'p2')
      expect(registry.enqueue('ns', 'ch', 'consumer', { id: 'c1' })).toMatchObject({ kind: 'transfer', consumer: { id: 'c1' } })
      expect(pairs()).toStrictEqual(['p1>c1'])
      expect(registry.stats()).toStrictEqual(stats(1, 1, 1, 0, 1))
    })

    it('admits a producer that would be matched at once, even at the limit', () => {
      const { registry, pairs, admit } = createRegistry({ waitersPerChannel: 1 })
      admit('ns', 'ch', 'consumer', 'c1')
      expect(registry.enqueue('ns', 'ch', 'producer', { id: 'p1' })).toMatchObject({ kind: 'transfer', producer: { id: 'p1' } })
      expect(pairs()).toStrictEqual(['p1>c1'])
    })

    it('frees a place when a waiter withdraws', () => {
      const { registry, queue } = createRegistry({ waitersPerChannel: 1 })
      const p1 = queue('ns', 'ch', 'producer', 'p1')
      expect(registry.enqueue('ns', 'ch', 'producer', { id: 'p2' })).toBe('channel.full')
      registry.withdraw(p1)
      expect(registry.enqueue('ns', 'ch', 'producer', { id: 'p2' })).toMatchObject({ role: 'producer' })
    })
  })

  describe('with limits.waiters', () => {
    it('refuses a waiter beyond the limit with "router.full", creating no channel', () => {
      const { registry, admit } = createRegistry({ waiters: 3 })
      admit('a', 'x', 'producer', 'p1')
      admit('b', 'y', 'consumer', 'c1')
      admit('b', 'z', 'producer', 'p2')
      expect(registry.enqueue('c', 'w', 'producer', { id: 'p3' })).toBe('router.full')
      expect(registry.enqueue('b', 'y', 'consumer', { id: 'c2' })).toBe('router.full')
      expect(registry.stats()).toStrictEqual(stats(2, 3, 2, 1, 0))
      expect(registry.namespaces().sort()).toStrictEqual(['a', 'b'])
      expect(registry.channels('c')).toStrictEqual([])
    })

    it('admits a waiter that would be matched at once, even at the limit', () => {
      const { registry, admit, pairs } = createRegistry({ waiters: 2 })
      admit('a', 'x', 'producer', 'p1')
      admit('b', 'y', 'producer', 'p2')
      expect(registry.enqueue('b', 'y', 'consumer', { id: 'c1' })).toMatchObject({ kind: 'transfer', consumer: { id: 'c1' } })
      expect(pairs()).toStrictEqual(['p2>c1'])
      expect(registry.stats()).toStrictEqual(stats(2, 2, 1, 0, 1))
    })

    it('refuses a waiter whose counterpart waits behind a closed gate', () => {
      const { registry, admit } = createRegistry({ concurrency: 1, waiters: 1 })
      admit('ns', 'ch', 'producer', 'p1')
      admit('ns', 'ch', 'consumer', 'c1')
      admit('ns', 'ch', 'producer', 'p2')
      expect(registry.enqueue('ns', 'ch', 'consumer', { id: 'c2' })).toBe('router.full')
    })

    it('does not count running transfers as waiting', () => {
      const { registry, admit } = createRegistry({ waiters: 1 })
      admit('ns', 'a', 'producer', 'p1')
      admit('ns', 'a', 'consumer', 'c1')
      admit('ns', 'b', 'producer', 'p2')
      expect(registry.enqueue('ns', 'c', 'producer', { id: 'p3' })).toBe('router.full')
      expect(registry.stats()).toStrictEqual(stats(1, 2, 1, 0, 1))
    })

    it('frees a place when a waiter is matched', () => {
      const { registry, admit } = createRegistry({ waiters: 1 })
      admit('ns', 'a', 'producer', 'p1')
      expect(registry.enqueue('ns', 'b', 'producer', { id: 'p2' })).toBe('router.full')
      admit('ns', 'a', 'consumer', 'c1')
      expect(registry.enqueue('ns', 'b', 'producer', { id: 'p2' })).toMatchObject({ role: 'producer' })
    })
  })

  describe('deleteChannel(namespace, name)', () => {
    it('returns every waiter of the channel and forgets them', () => {
      const { registry, admit } = createRegistry({ concurrency: 1 })
      admit('ns', 'ch', 'producer', 'p1')
      admit('ns', 'ch', 'producer', 'p2')
      admit('ns', 'other', 'consumer', 'c9')
      expect(ids(registry.deleteChannel('ns', 'ch'))).toStrictEqual(['p1', 'p2'])
      expect(registry.stats()).toStrictEqual(stats(1, 1, 0, 1, 0))
      expect(registry.channels('ns')).toStrictEqual(['other'])
    })

    it('returns both producers and consumers waiting behind a running transfer', () => {
      const { registry, admit } = createRegistry({ concurrency: 1 })
      admit('ns', 'ch', 'producer', 'p1')
      admit('ns', 'ch', 'consumer', 'c1')
      admit('ns', 'ch', 'producer', 'p2')
      admit('ns', 'ch', 'producer', 'p3')
      admit('ns', 'ch', 'consumer', 'c2')
      expect(ids(registry.deleteChannel('ns', 'ch'))).toStrictEqual(['c2', 'p2', 'p3'])
    })

    it('leaves a running transfer counted and the channel listed until it finishes', () => {
      const { registry, admit, transfer } = createRegistry({ concurrency: 1 })
      admit('ns', 'ch', 'producer', 'p1')
      admit('ns', 'ch', 'consumer', 'c1')
      admit('ns', 'ch', 'producer', 'p2')
      registry.deleteChannel('ns', 'ch')
      expect(registry.stats()).toStrictEqual(stats(1, 1, 0, 0, 1))
      expect(registry.channels('ns')).toStrictEqual(['ch'])

      registry.finish(transfer(0))
      expect(registry.stats()).toStrictEqual(EMPTY)
      expect(registry.namespaces()).toStrictEqual([])
    })

    it('keeps the gate closed for newcomers while the transfer it left runs', () => {
      const { registry, admit, pairs, transfer } = createRegistry({ concurrency: 1 })
      admit('ns', 'ch', 'producer', 'p1')
      admit('ns', 'ch', 'consumer', 'c1')
      registry.deleteChannel('ns', 'ch')
      admit('ns', 'ch', 'producer', 'p2')
      admit('ns', 'ch', 'consumer', 'c2')
      expect(pairs()).toStrictEqual(['p1>c1'])
      registry.finish(transfer(0))
      expect(pairs()).toStrictEqual(['p1>c1', 'p2>c2'])
    })

    it('returns [] for a channel that does not exist, and creates nothing', () => {
      const { registry } = createRegistry()
      expect(registry.deleteChannel('ns', 'ch')).toStrictEqual([])
      expect(registry.stats()).toStrictEqual(EMPTY)
      expect(registry.namespaces()).toStrictEqual([])
    })

    it('returns [] the second time', () => {
      const { registry, admit } = createRegistry()
      admit('ns', 'ch', 'producer', 'p1')
      registry.deleteChannel('ns', 'ch')
      expect(registry.deleteChannel('ns', 'ch')).toStrictEqual([])
    })

    it('never matches an evicted waiter', () => {
      const { registry, admit, pairs } = createRegistry()
      admit('ns', 'ch', 'producer', 'p1')
      registry.deleteChannel('ns', 'ch')
      admit('ns', 'ch', 'consumer', 'c1')
      expect(pairs()).toStrictEqual([])
    })
  })

  describe('deleteNamespace(namespace)', () => {
    it('returns the waiters of every channel of the namespace, and only those', () => {
      const { registry, admit } = createRegistry()
      admit('ns', 'a', 'producer', 'p1')
      admit('ns', 'b', 'consumer', 'c1')
      admit('ns', 'b', 'consumer', 'c2')
      admit('other', 'a', 'producer', 'p9')
      expect(ids(registry.deleteNamespace('ns'))).toStrictEqual(['c1', 'c2', 'p1'])
      expect(registry.stats()).toStrictEqual(stats(1, 1, 1, 0, 0))
      expect(registry.namespaces()).toStrictEqual(['other'])
      expect(registry.channels('ns')).toStrictEqual([])
    })

    it('leaves running transfers counted and their channels listed', () => {
      const { registry, admit, transfer } = createRegistry()
      admit('ns', 'a', 'producer', 'p1')
      admit('ns', 'a', 'consumer', 'c1')
      admit('ns', 'a', 'producer', 'p2')
      admit('ns', 'b', 'producer', 'p3')
      expect(ids(registry.deleteNamespace('ns'))).toStrictEqual(['p2', 'p3'])
      expect(registry.stats()).toStrictEqual(stats(1, 1, 0, 0, 1))
      expect(registry.channels('ns')).toStrictEqual(['a'])
      registry.finish(transfer(0))
      expect(registry.stats()).toStrictEqual(EMPTY)
    })

    it('returns [] for a namespace that does not exist', () => {
      const { registry } = createRegistry()
      expect(registry.deleteNamespace('nope')).toStrictEqual([])
      expect(registry.stats()).toStrictEqual(EMPTY)
    })
  })

  describe('evictAll()', () => {
    it('returns every waiter and leaves only running transfers', () => {
      const { registry, admit, transfer } = createRegistry()
      admit('a', 'x', 'producer', 'p1')
      admit('a', 'x', 'consumer', 'c1')
      admit('a', 'x', 'consumer', 'c2')
      admit('b', 'y', 'producer', 'p2')
      admit('c', 'z', 'consumer', 'c3')
      expect(ids(registry.evictAll())).toStrictEqual(['c2', 'c3', 'p2'])
      expect(registry.stats()).toStrictEqual(stats(1, 1, 0, 0, 1))
      expect(registry.namespaces()).toStrictEqual(['a'])
      registry.finish(transfer(0))
      expect(registry.stats()).toStrictEqual(EMPTY)
    })

    it('returns [] when nothing waits', () => {
      expect(createRegistry().registry.evictAll()).toStrictEqual([])
    })
  })

  describe('pruning', () => {
    it('removes a channel and its namespace when its transfer finishes and nothing waits', () => {
      const { registry, admit, transfer } = createRegistry()
      admit('ns', 'ch', 'producer', 'p1')
      admit('ns', 'ch', 'consumer', 'c1')
      expect(registry.namespaces()).toStrictEqual(['ns'])
      registry.finish(transfer(0))
      expect(registry.stats()).toStrictEqual(EMPTY)
      expect(registry.namespaces()).toStrictEqual([])
      expect(registry.channels('ns')).toStrictEqual([])
    })

    it('keeps a namespace while any of its channels exists', () => {
      const { registry, queue } = createRegistry()
      const a = queue('ns', 'a', 'producer', 'p1')
      const b = queue('ns', 'b', 'producer', 'p2')
      registry.withdraw(a)
      expect(registry.namespaces()).toStrictEqual(['ns'])
      expect(registry.channels('ns')).toStrictEqual(['b'])
      registry.withdraw(b)
      expect(registry.namespaces()).toStrictEqual([])
    })

    it('leaves nothing behind after 10 000 distinct channels used once each', () => {
      const { registry, admit, transfer, matched, queue } = createRegistry()
      for (let i = 0; i < 10_000; i++) {
        const namespace = `ns-${i}`
        const name = `ch-${i}`
        switch (i % 4) {
          case 0: // a transfer that finishes
            admit(namespace, name, 'producer', `p${i}`)
            admit(namespace, name, 'consumer', `c${i}`)
            registry.finish(transfer(matched.length - 1))
            break
          case 1: // a producer that gives up
            registry.withdraw(queue(namespace, name, 'producer', `p${i}`))
            break
          case 2: // a consumer that gives up
            registry.withdraw(queue(namespace, name, 'consumer', `c${i}`))
            break
          default: // a waiter whose channel is deleted
            admit(namespace, name, 'consumer', `c${i}`)
            registry.deleteChannel(namespace, name)
        }
      }
      expect(matched).toHaveLength(2500)
      expect(registry.stats()).toStrictEqual(EMPTY)
      expect(registry.namespaces()).toStrictEqual([])
    })

    it('leaves nothing behind after 10 000 distinct channels in one namespace', () => {
      const { registry, admit, transfer, matched } = createRegistry()
      for (let i = 0; i < 10_000; i++) {
        admit('ns', `ch-${i}`, 'consumer', `c${i}`)
        admit('ns', `ch-${i}`, 'producer', `p${i}`)
        registry.finish(transfer(matched.length - 1))
      }
      expect(registry.stats()).toStrictEqual(EMPTY)
      expect(registry.channels('ns')).toStrictEqual([])
    })
  })

  describe('namespaces() and channels(namespace)', () => {
    it('list the names that exist now, as given', () => {
      const { registry, admit } = createRegistry()
      admit('v1', 'do_work', 'producer', 'p1')
      admit('v1', 'café au lait', 'consumer', 'c1')
      admit('日本', '\u{1F600}', 'producer', 'p2')
      expect(registry.namespaces().sort()).toStrictEqual(['v1', '日本'])
      expect(registry.channels('v1').sort()).toStrictEqual(['café au lait', 'do_work'])
      expect(registry.channels('日本')).toStrictEqual(['\u{1F600}'])
    })

    it('list a channel that only has a running transfer', () => {
      const { registry, admit } = createRegistry()
      admit('ns', 'ch', 'producer', 'p1')
      admit('ns', 'ch', 'consumer', 'c1')
      expect(registry.namespaces()).toStrictEqual(['ns'])
      expect(registry.channels('ns')).toStrictEqual(['ch'])
    })

    it('return [] for an empty registry and an unknown namespace', () => {
      const { registry } = createRegistry()
      expect(registry.namespaces()).toStrictEqual([])
      expect(registry.channels('nope')).toStrictEqual([])
    })

    it('return copies the caller may modify', () => {
      const { registry, admit } = createRegistry()
      admit('ns', 'ch', 'producer', 'p1')
      registry.namespaces().push('x')
      registry.channels('ns').push('x')
      expect(registry.namespaces()).toStrictEqual(['ns'])
      expect(registry.channels('ns')).toStrictEqual(['ch'])
    })
  })

  describe('a caller acting on a returned transfer at once', () => {
    it('handles finish() called on a returned transfer at once, matching the queued pairs in order', () => {
      const { registry, hooks, admit, pairs, transfer } = createRegistry({ concurrency: 1 })
      admit('ns', 'ch', 'producer', 'p1')
      admit('ns', 'ch', 'consumer', 'c1')
      for (const i of [2, 3, 4]) admit('ns', 'ch', 'producer', `p${i}`)
      for (const i of [2, 3, 4]) admit('ns', 'ch', 'consumer', `c${i}`)

      hooks.onMatch = matched => registry.finish(matched)
      registry.finish(transfer(0))
      expect(pairs()).toStrictEqual(['p1>c1', 'p2>c2', 'p3>c3', 'p4>c4'])
      expect(registry.stats()).toStrictEqual(EMPTY)
      expect(registry.namespaces()).toStrictEqual([])
    })

    it('handles finish() on a returned transfer at once when the pair is made by enqueue()', () => {
      const { registry, hooks, admit, pairs } = createRegistry({ concurrency: 1 })
      hooks.onMatch = matched => registry.finish(matched)
      admit('ns', 'ch', 'producer', 'p1')
      admit('ns', 'ch', 'producer', 'p2')
      admit('ns', 'ch', 'consumer', 'c1')
      expect(pairs()).toStrictEqual(['p1>c1'])
      expect(registry.stats()).toStrictEqual(stats(1, 1, 1, 0, 0))
      admit('ns', 'ch', 'consumer', 'c2')
      expect(pairs()).toStrictEqual(['p1>c1', 'p2>c2'])
      expect(registry.stats()).toStrictEqual(EMPTY)
    })

    it('keeps the gate when onMatch finishes only some transfers', () => {
      const { registry, hooks, admit, pairs } = createRegistry({ concurrency: 1 })
      admit('ns', 'ch', 'producer', 'p1')
      admit('ns', 'ch', 'producer', 'p2')
      admit('ns', 'ch', 'producer', 'p3')
      hooks.onMatch = matched => { if (matched.producer.id === 'p1') registry.finish(matched) }
      admit('ns', 'ch', 'consumer', 'c1')
      admit('ns', 'ch', 'consumer', 'c2')
      admit('ns', 'ch', 'consumer', 'c3')
      expect(pairs()).toStrictEqual(['p1>c1', 'p2>c2'])
      expect(registry.stats()).toStrictEqual(stats(1, 1, 1, 1, 1))
    })

    it('handles a new waiter enqueued on a returned transfer at once on a channel that finish() just pruned', () => {
      const { registry, hooks, admit, pairs } = createRegistry({ concurrency: 1 })
      hooks.onMatch = matched => {
        registry.finish(matched)
        if (matched.producer.id === 'p1') admit('ns', 'ch', 'producer', 'p2')
      }
      admit('ns', 'ch', 'producer', 'p1')
      admit('ns', 'ch', 'consumer', 'c1')
      expect(pairs()).toStrictEqual(['p1>c1'])
      expect(registry.stats()).toStrictEqual(stats(1, 1, 1, 0, 0))
      expect(registry.channels('ns')).toStrictEqual(['ch'])

      admit('ns', 'ch', 'consumer', 'c2')
      expect(pairs()).toStrictEqual(['p1>c1', 'p2>c2'])
      expect(registry.stats()).toStrictEqual(EMPTY)
    })

    it('does not prune a new channel of the same name when finish() returns to a pruned one', () => {
      const { registry, hooks, admit, pairs, transfer } = createRegistry({ concurrency: 1 })
      admit('ns', 'ch', 'producer', 'p1')
      admit('ns', 'ch', 'consumer', 'c1')
      admit('ns', 'ch', 'producer', 'p2')
      admit('ns', 'ch', 'consumer', 'c2')
      hooks.onMatch = matched => {
        registry.finish(matched)
        admit('ns', 'ch', 'producer', 'p3')
      }
      registry.finish(transfer(0))
      expect(pairs()).toStrictEqual(['p1>c1', 'p2>c2'])
      expect(registry.stats()).toStrictEqual(stats(1, 1, 1, 0, 0))
      expect(registry.channels('ns')).toStrictEqual(['ch'])

      hooks.onMatch = undefined
      admit('ns', 'ch', 'consumer', 'c3')
      expect(pairs()).toStrictEqual(['p1>c1', 'p2>c2', 'p3>c3'])
      expect(registry.stats()).toStrictEqual(stats(1, 1, 0, 0, 1))
    })

    it('handles a waiter enqueued on a returned transfer at once that matches at once', () => {
      const { registry, hooks, admit, pairs } = createRegistry({ concurrency: 2 })
      admit('ns', 'ch', 'producer', 'p1')
      admit('ns', 'ch', 'producer', 'p2')
      hooks.onMatch = matched => { if (matched.producer.id === 'p1') admit('ns', 'ch', 'consumer', 'c2') }
      admit('ns', 'ch', 'consumer', 'c1')
      expect(pairs()).toStrictEqual(['p1>c1', 'p2>c2'])
      expect(registry.stats()).toStrictEqual(stats(1, 1, 0, 0, 2))
    })

    it('handles withdraw() on a returned transfer at once', () => {
      const { registry, hooks, admit, pairs, queue } = createRegistry({ concurrency: 2 })
      admit('ns', 'ch', 'producer', 'p1')
      const p2 = queue('ns', 'ch', 'producer', 'p2')
      hooks.onMatch = () => { registry.withdraw(p2) }
      admit('ns', 'ch', 'consumer', 'c1')
      admit('ns', 'ch', 'consumer', 'c2')
      expect(pairs()).toStrictEqual(['p1>c1'])
      expect(registry.stats()).toStrictEqual(stats(1, 1, 0, 1, 1))
    })

    it('handles deleteChannel() on a returned transfer at once', () => {
      const { registry, hooks, admit, pairs, transfer } = createRegistry({ concurrency: 2 })
      for (const i of [1, 2, 3]) admit('ns', 'ch', 'producer', `p${i}`)
      const evicted: Waiter[] = []
      hooks.onMatch = () => { evicted.push(...registry.deleteChannel('ns', 'ch')) }
      admit('ns', 'ch', 'consumer', 'c1')
      expect(pairs()).toStrictEqual(['p1>c1'])
      expect(ids(evicted)).toStrictEqual(['p2', 'p3'])
      expect(registry.stats()).toStrictEqual(stats(1, 1, 0, 0, 1))
      registry.finish(transfer(0))
      expect(registry.stats()).toStrictEqual(EMPTY)
    })
  })

  describe('publish(namespace, name, stays)', () => {
    it('returns undefined, and creates no channel, when no subscriber waits', () => {
      const { registry, queue } = createRegistry()
      expect(registry.publish('ns', 'ch')).toBeUndefined()
      queue('ns', 'ch', 'producer', 'p1')
      expect(registry.publish('ns', 'ch')).toBeUndefined()
      expect(registry.stats()).toStrictEqual(stats(1, 1, 1, 0, 0))
    })

    it('turns a subscriber away like any waiter when its channel is full', () => {
      const { registry, queue } = createRegistry({ waitersPerChannel: 1 })
      queue('ns', 'ch', 'subscriber', 's1')
      expect(registry.enqueue('ns', 'ch', 'subscriber', { id: 's2' })).toBe('channel.full')
      expect(registry.stats()).toStrictEqual(stats(1, 1, 0, 1, 0))
    })

    it('keeps the subscribers `stays` accepts in the queue, with their tickets, and takes the rest', () => {
      const { registry, admit, queue } = createRegistry()
      admit('ns', 'ch', 'subscriber', 'raw1')
      const live = queue('ns', 'ch', 'subscriber', 'live1')
      admit('ns', 'ch', 'subscriber', 'raw2')
      const taken = registry.publish('ns', 'ch', waiter => waiter.id.startsWith('live'))
      expect(taken?.subscribers.map(waiter => waiter.id)).toStrictEqual(['raw1', 'live1', 'raw2'])
      expect(registry.stats()).toStrictEqual(stats(1, 1, 0, 1, 1))
      expect(taken?.kind).toBe('broadcast')
      if (taken !== undefined) expect(registry.finish(taken)).toBeUndefined()
      expect(registry.publish('ns', 'ch', () => true)?.subscribers.map(waiter => waiter.id)).toStrictEqual(['live1'])
      expect(registry.withdraw(live)).toBe(true)
      expect(registry.stats()).toStrictEqual(stats(1, 1, 0, 0, 1))
    })
  })
})
