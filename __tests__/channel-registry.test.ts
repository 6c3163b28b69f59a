import { describe, expect, it } from '@jest/globals'
import { ChannelRegistry, type RegistryLimits, type RegistryStats, type Role, type Ticket, type Transfer } from '../lib/channel-registry'

interface Waiter {
  readonly id: string
}

type OnMatch = (transfer: Transfer<Waiter>) => void

/**
 * A registry of plain-object waiters that records every match. `onMatch` can be replaced during a
 * test to act from inside the callback (reentrancy).
 */
function createRegistry (limits: Partial<RegistryLimits> = {}) {
  const matched: Array<Transfer<Waiter>> = []
  const hooks: { onMatch: OnMatch | undefined } = { onMatch: undefined }
  const registry = new ChannelRegistry<Waiter>(
    { concurrency: 1, waitersPerChannel: 5000, waiters: 50_000, ...limits },
    transfer => {
      matched.push(transfer)
      hooks.onMatch?.(transfer)
    })

  /** Enqueues a waiter with id `id` and expects it to be admitted. */
  function admit (namespace: string, name: string, role: Role, id: string): Ticket<Waiter> {
    const ticket = registry.enqueue(namespace, name, role, { id })
    if (typeof ticket === 'string') throw new Error(`expected ${id} to be admitted, got ${ticket}`)
    return ticket
  }

  /** Matched pairs as "producer>consumer", in match order. */
  function pairs (): string[] {
    return matched.map(transfer => `${transfer.producer.id}>${transfer.consumer.id}`)
  }

  function transfer (index: number): Transfer<Waiter> {
    const found = matched[index]
    if (found === undefined) throw new Error(`no transfer #${index}`)
    return found
  }

  return { registry, matched, hooks, admit, pairs, transfer }
}

function stats (namespaces: number, channels: number, waitingProducers: number, waitingConsumers: number, runningTransfers: number): RegistryStats {
  return { namespaces, channels, waitingProducers, waitingConsumers, runningTransfers }
}

const EMPTY = stats(0, 0, 0, 0, 0)

function ids (waiters: readonly Waiter[]): string[] {
  return waiters.map(waiter => waiter.id).sort()
}

describe('ChannelRegistry<W>', () => {
  describe('enqueue(namespace, name, role, waiter)', () => {
    it('queues a producer until a consumer arrives, then matches them', () => {
      const { registry, matched, admit } = createRegistry()
      const producer = admit('v1', 'do_work', 'producer', 'p1')
      expect(matched).toHaveLength(0)
      expect(registry.stats()).toStrictEqual(stats(1, 1, 1, 0, 0))

      const consumer = admit('v1', 'do_work', 'consumer', 'c1')
      expect(matched).toHaveLength(1)
      expect(matched[0]).toMatchObject({ namespace: 'v1', channel: 'do_work', key: 'v1/do_work' })
      expect(matched[0]?.producer).toBe(producer.waiter)
      expect(matched[0]?.consumer).toBe(consumer.waiter)
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

    it('returns a ticket with the role and waiter, also when the waiter is matched at once', () => {
      const { registry } = createRegistry()
      const producer = { id: 'p1' }
      const consumer = { id: 'c1' }
      const first = registry.enqueue('ns', 'ch', 'producer', producer)
      const second = registry.enqueue('ns', 'ch', 'consumer', consumer)
      expect(first).toMatchObject({ role: 'producer' })
      expect((first as Ticket<Waiter>).waiter).toBe(producer)
      expect(second).toMatchObject({ role: 'consumer' })
      expect((second as Ticket<Waiter>).waiter).toBe(consumer)
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
      const { registry, admit, pairs } = createRegistry({ concurrency: 10 })
      admit('ns', 'ch', 'producer', 'p1')
      const p2 = admit('ns', 'ch', 'producer', 'p2')
      admit('ns', 'ch', 'producer', 'p3')
      registry.withdraw(p2)
      admit('ns', 'ch', 'consumer', 'c1')
      admit('ns', 'ch', 'consumer', 'c2')
      admit('ns', 'ch', 'consumer', 'c3')
      expect(pairs()).toStrictEqual(['p1>c1', 'p3>c2'])
      expect(registry.stats()).toStrictEqual(stats(1, 1, 0, 1, 2))
    })
  })

  describe('waits(ticket)', () => {
    it('is true while queued, false once matched or withdrawn', () => {
      const { registry, admit } = createRegistry()
      const producer = admit('ns', 'ch', 'producer', 'p1')
      const withdrawn = admit('ns', 'other', 'consumer', 'c0')
      expect([registry.waits(producer), registry.waits(withdrawn)]).toStrictEqual([true, true])
      registry.withdraw(withdrawn)
      expect(registry.waits(withdrawn)).toBe(false)
      // The consumer is matched by the very enqueue that issues its ticket.
      const consumer = admit('ns', 'ch', 'consumer', 'c1')
      expect([registry.waits(producer), registry.waits(consumer)]).toStrictEqual([false, false])
    })
  })

  describe('withdraw(ticket)', () => {
    it('returns true, then false for the same ticket', () => {
      const { registry, admit } = createRegistry()
      const ticket = admit('ns', 'ch', 'producer', 'p1')
      expect(registry.withdraw(ticket)).toBe(true)
      expect(registry.withdraw(ticket)).toBe(false)
    })

    it('uncounts the waiter and removes its now empty channel and namespace', () => {
      const { registry, admit } = createRegistry()
      const ticket = admit('ns', 'ch', 'consumer', 'c1')
      registry.withdraw(ticket)
      expect(registry.stats()).toStrictEqual(EMPTY)
      expect(registry.namespaces()).toStrictEqual([])
      expect(registry.channels('ns')).toStrictEqual([])
    })

    it('keeps a channel on which others still wait', () => {
      const { registry, admit } = createRegistry()
      const p1 = admit('ns', 'ch', 'producer', 'p1')
      admit('ns', 'ch', 'producer', 'p2')
      registry.withdraw(p1)
      expect(registry.stats()).toStrictEqual(stats(1, 1, 1, 0, 0))
      expect(registry.channels('ns')).toStrictEqual(['ch'])
    })

    it('returns false for the tickets of a matched pair, and changes nothing', () => {
      const { registry, admit } = createRegistry()
      const producer = admit('ns', 'ch', 'producer', 'p1')
      const consumer = admit('ns', 'ch', 'consumer', 'c1')
      expect(registry.withdraw(producer)).toBe(false)
      expect(registry.withdraw(consumer)).toBe(false)
      expect(registry.stats()).toStrictEqual(stats(1, 1, 0, 0, 1))
    })

    it('returns false for a waiter already evicted by deleteChannel', () => {
      const { registry, admit } = createRegistry()
      const ticket = admit('ns', 'ch', 'producer', 'p1')
      registry.deleteChannel('ns', 'ch')
      expect(registry.withdraw(ticket)).toBe(false)
      expect(registry.stats()).toStrictEqual(EMPTY)
    })

    it('never matches a withdrawn waiter', () => {
      const { registry, admit, pairs } = createRegistry()
      const ticket = admit('ns', 'ch', 'producer', 'p1')
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
      registry.finish(transfer(0))
      registry.finish(transfer(0))
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
      expect(registry.enqueue('ns', 'ch', 'consumer', { id: 'c1' })).toMatchObject({ role: 'consumer' })
      expect(pairs()).toStrictEqual(['p1>c1'])
      expect(registry.stats()).toStrictEqual(stats(1, 1, 1, 0, 1))
    })

    it('admits a producer that would be matched at once, even at the limit', () => {
      const { registry, pairs, admit } = createRegistry({ waitersPerChannel: 1 })
      admit('ns', 'ch', 'consumer', 'c1')
      expect(registry.enqueue('ns', 'ch', 'producer', { id: 'p1' })).toMatchObject({ role: 'producer' })
      expect(pairs()).toStrictEqual(['p1>c1'])
    })

    it('frees a place when a waiter withdraws', () => {
      const { registry, admit } = createRegistry({ waitersPerChannel: 1 })
      const p1 = admit('ns', 'ch', 'producer', 'p1')
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
      expect(registry.enqueue('b', 'y', 'consumer', { id: 'c1' })).toMatchObject({ role: 'consumer' })
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
      const { registry, admit } = createRegistry()
      const a = admit('ns', 'a', 'producer', 'p1')
      const b = admit('ns', 'b', 'producer', 'p2')
      registry.withdraw(a)
      expect(registry.namespaces()).toStrictEqual(['ns'])
      expect(registry.channels('ns')).toStrictEqual(['b'])
      registry.withdraw(b)
      expect(registry.namespaces()).toStrictEqual([])
    })

    it('leaves nothing behind after 10 000 distinct channels used once each', () => {
      const { registry, admit, transfer, matched } = createRegistry()
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
            registry.withdraw(admit(namespace, name, 'producer', `p${i}`))
            break
          case 2: // a consumer that gives up
            registry.withdraw(admit(namespace, name, 'consumer', `c${i}`))
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

  describe('reentrancy', () => {
    it('handles finish() called from inside onMatch, matching the queued pairs in order', () => {
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

    it('handles finish() from inside onMatch when the pair is made by enqueue()', () => {
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

    it('handles a new waiter enqueued from inside onMatch on a channel that finish() just pruned', () => {
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

    it('handles a waiter enqueued from inside onMatch that matches at once', () => {
      const { registry, hooks, admit, pairs } = createRegistry({ concurrency: 2 })
      admit('ns', 'ch', 'producer', 'p1')
      admit('ns', 'ch', 'producer', 'p2')
      hooks.onMatch = matched => { if (matched.producer.id === 'p1') admit('ns', 'ch', 'consumer', 'c2') }
      admit('ns', 'ch', 'consumer', 'c1')
      expect(pairs()).toStrictEqual(['p1>c1', 'p2>c2'])
      expect(registry.stats()).toStrictEqual(stats(1, 1, 0, 0, 2))
    })

    it('handles withdraw() from inside onMatch', () => {
      const { registry, hooks, admit, pairs } = createRegistry({ concurrency: 2 })
      admit('ns', 'ch', 'producer', 'p1')
      const p2 = admit('ns', 'ch', 'producer', 'p2')
      hooks.onMatch = () => { registry.withdraw(p2) }
      admit('ns', 'ch', 'consumer', 'c1')
      admit('ns', 'ch', 'consumer', 'c2')
      expect(pairs()).toStrictEqual(['p1>c1'])
      expect(registry.stats()).toStrictEqual(stats(1, 1, 0, 1, 1))
    })

    it('handles deleteChannel() from inside onMatch', () => {
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
    it('keeps the subscribers `stays` accepts in the queue, with their tickets, and takes the rest', () => {
      const { registry, admit } = createRegistry()
      admit('ns', 'ch', 'subscriber', 'raw1')
      const live = admit('ns', 'ch', 'subscriber', 'live1')
      admit('ns', 'ch', 'subscriber', 'raw2')
      const taken = registry.publish('ns', 'ch', waiter => waiter.id.startsWith('live'))
      expect(taken?.subscribers.map(waiter => waiter.id)).toStrictEqual(['raw1', 'live1', 'raw2'])
      expect(registry.stats()).toStrictEqual(stats(1, 1, 0, 1, 1))
      expect(registry.waits(live)).toBe(true)
      if (taken !== undefined) registry.finish(taken)
      expect(registry.publish('ns', 'ch', () => true)?.subscribers.map(waiter => waiter.id)).toStrictEqual(['live1'])
      expect(registry.withdraw(live)).toBe(true)
      expect(registry.stats()).toStrictEqual(stats(1, 1, 0, 0, 1))
    })
  })
})
