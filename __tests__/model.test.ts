import { afterEach, describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { ChannelRegistry, type Admission, type RegistryStats, type Role, type Ticket, type Transfer } from '../lib/channel-registry'
import { createRawApp } from './helpers/app'
import { received, ZERO, type Received } from './helpers/faults'
import { listen, open, send, waitUntil, type Listening, type OpenRequest } from './helpers/http'

// Model-based tests: random command sequences run against the real thing and against a tiny
// reference model written from the SPEC (FIFO queues per channel, a concurrency gate, channels
// that exist only while something waits or runs); after every command both must agree.

const NAMESPACES = ['v1', 'v2'] as const
const CHANNELS = ['x', 'y'] as const

// ---------------------------------------------------------------------------------------------
// (a) ChannelRegistry against the model
// ---------------------------------------------------------------------------------------------

interface Waiter {
  readonly id: string
}

interface Limits {
  readonly concurrency: number
  readonly waitersPerChannel: number
  readonly waiters: number
  /** Every n-th match is finished the moment it is returned (0: never), as a transfer that fails at once. */
  readonly finishInsideMatchEvery: number
}

type Command =
  /** `times` waiters of one role arriving one after the other (bursts fill queues up to their limits). */
  | { readonly kind: 'arrive', readonly role: Role, readonly namespace: string, readonly channel: string, readonly times: number }
  /** Disconnect of the `pick`-th ticket ever issued (possibly matched or gone already). */
  | { readonly kind: 'withdraw', readonly pick: number }
  /** End of the `pick`-th transfer ever started (possibly finished already). */
  | { readonly kind: 'finish', readonly pick: number }
  | { readonly kind: 'deleteChannel', readonly namespace: string, readonly channel: string }
  | { readonly kind: 'deleteNamespace', readonly namespace: string }
  | { readonly kind: 'evictAll' }

const commandArbitrary: fc.Arbitrary<Command> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('arrive' as const),
      role: fc.constantFrom<Role>('producer', 'consumer'),
      namespace: fc.constantFrom(...NAMESPACES),
      channel: fc.constantFrom(...CHANNELS),
      times: fc.integer({ min: 1, max: 3 })
    }),
    weight: 6
  },
  { arbitrary: fc.record({ kind: fc.constant('withdraw' as const), pick: fc.nat() }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('finish' as const), pick: fc.nat() }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('deleteChannel' as const), namespace: fc.constantFrom(...NAMESPACES), channel: fc.constantFrom(...CHANNELS) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('deleteNamespace' as const), namespace: fc.constantFrom(...NAMESPACES) }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'evictAll' as const }), weight: 1 }
)

const limitsArbitrary: fc.Arbitrary<Limits> = fc.record({
  concurrency: fc.integer({ min: 1, max: 3 }),
  waitersPerChannel: fc.integer({ min: 1, max: 6 }),
  waiters: fc.integer({ min: 2, max: 12 }),
  finishInsideMatchEvery: fc.constantFrom(0, 0, 2, 3)
})

interface ModelChannel {
  readonly producers: string[]
  readonly consumers: string[]
  running: number
}

interface ModelTransfer {
  readonly namespace: string
  readonly channel: string
  finished: boolean
}

/** The reference: what the SPEC says, written the obvious way (arrays, linear scans). */
class Model {
  readonly namespaces = new Map<string, Map<string, ModelChannel>>()
  /** `producer>consumer@namespace/channel`, in match order. */
  readonly matches: string[] = []
  readonly transfers: ModelTransfer[] = []
  readonly #limits: Limits

  constructor (limits: Limits) {
    this.#limits = limits
  }

  waiting (): number {
    let count = 0
    for (const channels of this.namespaces.values()) for (const c of channels.values()) count += c.producers.length + c.consumers.length
    return count
  }

  isWaiting (id: string): boolean {
    for (const channels of this.namespaces.values()) {
      for (const c of channels.values()) if (c.producers.includes(id) || c.consumers.includes(id)) return true
    }
    return false
  }

  arrive (namespace: string, channel: string, role: Role, id: string): 'admitted' | 'channel.full' | 'router.full' {
    const existing = this.namespaces.get(namespace)?.get(channel)
    const counterparts = role === 'producer' ? existing?.consumers : existing?.producers
    const matchesAtOnce = existing !== undefined && existing.running < this.#limits.concurrency && (counterparts?.length ?? 0) > 0
    if (!matchesAtOnce) {
      if (existing !== undefined && existing.producers.length + existing.consumers.length >= this.#limits.waitersPerChannel) return 'channel.full'
      if (this.waiting() >= this.#limits.waiters) return 'router.full'
    }
    let channels = this.namespaces.get(namespace)
    if (channels === undefined) this.namespaces.set(namespace, channels = new Map())
    let state = channels.get(channel)
    if (state === undefined) channels.set(channel, state = { producers: [], consumers: [], running: 0 })
    ;(role === 'producer' ? state.producers : state.consumers).push(id)
    this.#match(namespace, channel, state)
    return 'admitted'
  }

  withdraw (id: string): boolean {
    for (const [namespace, channels] of this.namespaces) {
      for (const [channel, state] of channels) {
        for (const queue of [state.producers, state.consumers]) {
          const at = queue.indexOf(id)
          if (at === -1) continue
          queue.splice(at, 1)
          this.#prune(namespace, channel)
          return true
        }
      }
    }
    return false
  }

  finish (index: number): void {
    const transfer = this.transfers[index] as ModelTransfer
    if (transfer.finished) return
    transfer.finished = true
    const state = this.namespaces.get(transfer.namespace)?.get(transfer.channel) as ModelChannel
    state.running--
    this.#match(transfer.namespace, transfer.channel, state)
    this.#prune(transfer.namespace, transfer.channel)
  }

  deleteChannel (namespace: string, channel: string): string[] {
    const state = this.namespaces.get(namespace)?.get(channel)
    if (state === undefined) return []
    const evicted = [...state.producers.splice(0), ...state.consumers.splice(0)]
    this.#prune(namespace, channel)
    return evicted
  }

  deleteNamespace (namespace: string): string[] {
    return [...(this.namespaces.get(namespace)?.keys() ?? [])].flatMap(channel => this.deleteChannel(namespace, channel))
  }

  evictAll (): string[] {
    return [...this.namespaces.keys()].flatMap(namespace => this.deleteNamespace(namespace))
  }

  stats (): ModelStats {
    const all = [...this.namespaces.values()].flatMap(channels => [...channels.values()])
    return {
      namespaces: this.namespaces.size,
      channels: all.length,
      waitingProducers: all.reduce((sum, c) => sum + c.producers.length, 0),
      waitingConsumers: all.reduce((sum, c) => sum + c.consumers.length, 0),
      runningTransfers: all.reduce((sum, c) => sum + c.running, 0)
    }
  }

  #match (namespace: string, channel: string, state: ModelChannel): void {
    while (state.running < this.#limits.concurrency && state.producers.length > 0 && state.consumers.length > 0) {
      const producer = state.producers.shift() as string
      const consumer = state.consumers.shift() as string
      state.running++
      this.matches.push(`${producer}>${consumer}@${namespace}/${channel}`)
      this.transfers.push({ namespace, channel, finished: false })
      const every = this.#limits.finishInsideMatchEvery
      if (every > 0 && this.transfers.length % every === 0) this.finish(this.transfers.length - 1)
    }
  }

  #prune (namespace: string, channel: string): void {
    const channels = this.namespaces.get(namespace)
    const state = channels?.get(channel)
    if (channels === undefined || state === undefined) return
    if (state.running > 0 || state.producers.length > 0 || state.consumers.length > 0) return
    channels.delete(channel)
    if (channels.size === 0) this.namespaces.delete(namespace)
  }
}

/** What the model counts: the registry's waiting counts, and the transfers it returned that have not been finished. */
type ModelStats = RegistryStats & { runningTransfers: number }

function pickStats (stats: RegistryStats): RegistryStats {
  const { namespaces, channels, waitingProducers, waitingConsumers } = stats
  return { namespaces, channels, waitingProducers, waitingConsumers }
}

/** Runs `commands` against a fresh registry and a fresh model, comparing them after every step. */
function runAgainstModel (limits: Limits, commands: readonly Command[]): void {
  const model = new Model(limits)
  const matches: string[] = []
  const transfers: Array<Transfer<Waiter, Waiter>> = []
  const registry = new ChannelRegistry<Waiter, Waiter>(limits)
  /** Unfinished transfers: the model counts them per channel, the registry leaves that to its caller. */
  const running = new Set<Transfer<Waiter, Waiter>>()
  /** What core does with a transfer the registry returns: start it (here: record it, and maybe end it at once). */
  function start (transfer: Transfer<Waiter, Waiter> | undefined): void {
    if (transfer === undefined) return
    matches.push(`${transfer.producer.id}>${transfer.consumer.id}@${transfer.namespace}/${transfer.channel}`)
    transfers.push(transfer)
    running.add(transfer)
    const every = limits.finishInsideMatchEvery
    if (every > 0 && transfers.length % every === 0) finish(transfer)
  }
  function finish (transfer: Transfer<Waiter, Waiter>): void {
    running.delete(transfer)
    start(registry.finish(transfer))
  }
  function enqueue (namespace: string, channel: string, role: Role, waiter: Waiter): Admission<Waiter, Waiter> {
    const admitted = role === 'producer' ? registry.enqueueProducer(namespace, channel, waiter) : registry.enqueueConsumer(namespace, channel, waiter)
    if (typeof admitted !== 'string' && admitted.kind === 'transfer') start(admitted)
    return admitted
  }
  const stats = (): ModelStats => ({ ...pickStats(registry.stats()), runningTransfers: running.size })
  const tickets: Array<{ id: string, ticket: Ticket<Waiter, Waiter> }> = []
  let nextId = 0

  commands.forEach((command, step) => {
    const where = `step ${step}: ${JSON.stringify(command)}`
    switch (command.kind) {
      case 'arrive': {
        for (let time = 0; time < command.times; time++) {
          const id = `${command.role === 'producer' ? 'p' : 'c'}${nextId++}`
          const expected = model.arrive(command.namespace, command.channel, command.role, id)
          const actual = enqueue(command.namespace, command.channel, command.role, { id })
          expect({ where, id, outcome: typeof actual === 'string' ? actual : 'admitted' }).toEqual({ where, id, outcome: expected })
          if (typeof actual !== 'string' && actual.kind === 'ticket') tickets.push({ id, ticket: actual })
        }
        break
      }
      case 'withdraw': {
        if (tickets.length === 0) return
        const { id, ticket } = tickets[command.pick % tickets.length] as { id: string, ticket: Ticket<Waiter, Waiter> }
        const expected = model.withdraw(id)
        expect({ where, withdrawn: registry.withdraw(ticket) }).toEqual({ where, withdrawn: expected })
        break
      }
      case 'finish': {
        if (transfers.length === 0) return
        const index = command.pick % transfers.length
        model.finish(index)
        finish(transfers[index] as Transfer<Waiter, Waiter>)
        break
      }
      case 'deleteChannel': {
        const expected = model.deleteChannel(command.namespace, command.channel).sort()
        expect({ where, evicted: registry.deleteChannel(command.namespace, command.channel).map(w => w.id).sort() }).toEqual({ where, evicted: expected })
        break
      }
      case 'deleteNamespace': {
        const expected = model.deleteNamespace(command.namespace).sort()
        expect({ where, evicted: registry.deleteNamespace(command.namespace).map(w => w.id).sort() }).toEqual({ where, evicted: expected })
        break
      }
      case 'evictAll': {
        const expected = model.evictAll().sort()
        expect({ where, evicted: registry.evictAll().map(w => w.id).sort() }).toEqual({ where, evicted: expected })
        break
      }
    }
    expect({ where, matches }).toEqual({ where, matches: model.matches })
    expect({ where, stats: stats() }).toEqual({ where, stats: model.stats() })
    expect({ where, namespaces: registry.namespaces() }).toEqual({ where, namespaces: [...model.namespaces.keys()] })
    for (const namespace of NAMESPACES) {
      expect({ where, namespace, channels: registry.channels(namespace) })
        .toEqual({ where, namespace, channels: [...(model.namespaces.get(namespace)?.keys() ?? [])] })
    }
  })

  // Whatever happened, finishing every transfer and evicting every waiter leaves nothing behind.
  // (Finishing one may start the next pair on its channel, so the list grows while it is walked.)
  for (let index = 0; index < transfers.length; index++) {
    model.finish(index)
    finish(transfers[index] as Transfer<Waiter, Waiter>)
  }
  expect(registry.evictAll().map(w => w.id).sort()).toEqual(model.evictAll().sort())
  expect(matches).toEqual(model.matches)
  expect(stats()).toEqual(ZERO)
  expect(registry.namespaces()).toEqual([])
}

describe('ChannelRegistry<W> against a reference model', () => {
  it('agrees with the model on every match, stats(), namespaces() and channels() after every command', () => {
    fc.assert(fc.property(limitsArbitrary, fc.array(commandArbitrary, { maxLength: 60, size: 'large' }), runAgainstModel), { numRuns: 200 })
  })

  it('agrees with the model on a known sequence of transfers finished the moment they are returned', () => {
    // A regression anchor that does not depend on what the random runs happen to draw.
    runAgainstModel({ concurrency: 1, waitersPerChannel: 4, waiters: 8, finishInsideMatchEvery: 1 }, [
      { kind: 'arrive', role: 'consumer', namespace: 'v1', channel: 'x', times: 1 },
      { kind: 'arrive', role: 'consumer', namespace: 'v1', channel: 'x', times: 1 },
      { kind: 'arrive', role: 'producer', namespace: 'v1', channel: 'x', times: 1 },
      { kind: 'arrive', role: 'producer', namespace: 'v1', channel: 'x', times: 1 },
      { kind: 'arrive', role: 'producer', namespace: 'v1', channel: 'x', times: 1 },
      { kind: 'withdraw', pick: 4 },
      { kind: 'arrive', role: 'consumer', namespace: 'v1', channel: 'y', times: 1 }
    ])
  })
})

// ---------------------------------------------------------------------------------------------
// (b) HTTP: producers and consumers arriving and leaving on two channels
// ---------------------------------------------------------------------------------------------

type Event =
  | { readonly kind: 'producer' | 'consumer', readonly channel: 'a' | 'b' }
  /** The `pick`-th request still waiting (per the model) disconnects. */
  | { readonly kind: 'leave', readonly pick: number }

const eventArbitrary: fc.Arbitrary<Event> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constantFrom('producer' as const, 'consumer' as const), channel: fc.constantFrom('a' as const, 'b' as const) }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('leave' as const), pick: fc.nat() }), weight: 1 }
)

interface HttpParty {
  readonly role: 'producer' | 'consumer'
  readonly channel: 'a' | 'b'
  readonly request: OpenRequest
  /** A producer's message; for a consumer, the message the model says it gets (undefined: none). */
  message: string | undefined
  left: boolean
}

describe('httpipe over HTTP against a FIFO model (node:http handler)', () => {
  let server: Listening | undefined
  afterEach(async () => { await server?.close(); server = undefined })

  it('gives each consumer exactly the message of the producer the model pairs it with, and producers 200 iff delivered', async () => {
    const { app, pipe } = createRawApp()
    server = await listen(app)
    const base = `${server.url}/channels`
    let run = 0
    /** Requests of the previous run: a failed run may leave some waiting, which the next run clears. */
    let previous: HttpParty[] = []

    await fc.assert(fc.asyncProperty(fc.array(eventArbitrary, { minLength: 1, maxLength: 16, size: 'large' }), async events => {
      for (const party of previous) party.request.destroy()
      await waitUntil(() => pipe.stats().waitingProducers + pipe.stats().waitingConsumers + pipe.stats().runningTransfers === 0, 2000)
      const namespace = `run${run++}`
      const parties: HttpParty[] = []
      previous = parties
      const waiting: Record<'a' | 'b', { producers: HttpParty[], consumers: HttpParty[] }> = {
        a: { producers: [], consumers: [] },
        b: { producers: [], consumers: [] }
      }
      const waitingNow = (): HttpParty[] => [...waiting.a.producers, ...waiting.a.consumers, ...waiting.b.producers, ...waiting.b.consumers]
      const settled = (): boolean => {
        const stats = pipe.stats()
        return stats.runningTransfers === 0 &&
          stats.waitingProducers === waiting.a.producers.length + waiting.b.producers.length &&
          stats.waitingConsumers === waiting.a.consumers.length + waiting.b.consumers.length
      }

      for (const event of events) {
        if (event.kind === 'leave') {
          const all = waitingNow()
          if (all.length === 0) continue
          const party = all[event.pick % all.length] as HttpParty
          const queues = waiting[party.channel]
          const queue = party.role === 'producer' ? queues.producers : queues.consumers
          queue.splice(queue.indexOf(party), 1)
          party.left = true
          party.request.destroy()
        } else {
          const url = `${base}/${namespace}/${event.channel}`
          const queues = waiting[event.channel]
          let party: HttpParty
          if (event.kind === 'producer') {
            const message = `message #${parties.length} on ${namespace}/${event.channel}`
            party = { role: 'producer', channel: event.channel, request: open(url, 'POST', { 'Content-Length': Buffer.byteLength(message) }), message, left: false }
            party.request.end(message)
            const consumer = queues.consumers.shift()
            if (consumer === undefined) queues.producers.push(party)
            else consumer.message = message
          } else {
            party = { role: 'consumer', channel: event.channel, request: open(url, 'GET'), message: undefined, left: false }
            const producer = queues.producers.shift()
            if (producer === undefined) queues.consumers.push(party)
            else party.message = producer.message
          }
          parties.push(party)
        }
        // One step at a time: the next arrival comes once this one has been queued or served.
        await waitUntil(settled, 2000)
      }

      // Whoever is still waiting is turned away, and the namespace disappears.
      const leftovers = new Set(waitingNow())
      expect((await send(`${base}/${namespace}`, 'DELETE')).status).toBe(204)

      const outcomes = new Map<HttpParty, Received>()
      for (const party of parties) if (!party.left) outcomes.set(party, await received(party.request, `${party.role} on ${party.channel}`))
      const delivered = new Set(parties.filter(p => p.role === 'consumer' && p.message !== undefined).map(p => p.message))
      for (const party of parties) {
        if (party.left) continue
        const got = outcomes.get(party) as Received
        const label = `${party.role} on ${party.channel}`
        if (leftovers.has(party)) {
          expect({ label, status: got.status }).toEqual({ label, status: 410 })
        } else if (party.role === 'consumer') {
          expect({ label, status: got.status, complete: got.complete, body: got.body.toString() })
            .toEqual({ label, status: 200, complete: true, body: party.message })
        } else {
          expect({ label, status: got.status, delivered: delivered.has(party.message) }).toEqual({ label, status: 200, delivered: true })
        }
      }
      await waitUntil(() => pipe.stats().runningTransfers === 0)
      expect(pipe.stats()).toMatchObject(ZERO)
    }), { numRuns: 25, plugins: [fc.interruptAfterTimeLimit(15_000, { failOnInterrupt: true })] })
  })
})
