import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals'
import { adapters, type TestApp } from './helpers/app'
import { listenTracked, received, tracker, ZERO, type Received, type TrackedServer } from './helpers/faults'
import { open, send, waitUntil, type OpenRequest } from './helpers/http'

// Every fault at every phase of a transfer, on both adapters. Whatever happens, one invariant
// holds: a producer gets 200 if and only if its consumer received every byte of its message, and
// afterwards nothing is left behind (no waiter, channel, timer, listener or open connection).

const HEAD = Buffer.from('head:' + 'h'.repeat(995))
const TAIL = Buffer.from('tail:' + 't'.repeat(64 * 1024 - 5))
const BODY = Buffer.concat([HEAD, TAIL])
/** The message of a counterpart sent afterwards to serve a request the fault left waiting. */
const FRESH = Buffer.from('a fresh message for whoever is still waiting')
/** Every case runs with a wait timeout (so forgotten timers show) and a body limit the message fits exactly. */
const OPTIONS = { timeout: 60_000, limits: { bodySize: BODY.length } }

type Phase = 'producer waiting' | 'consumer waiting' | 'matched, no body byte yet' | 'mid-transfer'
type Fault = 'producer aborts' | 'consumer aborts' | 'DELETE channel' | 'DELETE namespace' | 'close()' | 'body crosses limits.bodySize'
type Framing = 'Content-Length' | 'chunked'

/**
 * What a party ends with:
 * - a number: that status (an error, or 200 for a producer whose message was delivered);
 * - `whole`: a consumer's 200 with the entire message, cleanly ended;
 * - `cut`: a consumer's response that is not complete, holding exactly the bytes named: nothing,
 *   HEAD, or the whole message (delivered, then one byte too many: still not a clean end);
 * - `gone`: the test disconnected it;
 * - `fresh`: left waiting by the fault, then served by a fresh counterpart (FRESH, or a new consumer).
 */
type Outcome = number | 'whole' | 'gone' | 'fresh' | { cut: 'nothing' | 'head' | 'message' }

interface Expected {
  readonly producer: Outcome
  readonly consumer: Outcome
}

const CUT_AFTER_HEAD = { cut: 'head' } as const
const CUT_BEFORE_ANY_BYTE = { cut: 'nothing' } as const
const CUT_AFTER_MESSAGE = { cut: 'message' } as const
const DELIVERED: Expected = { producer: 200, consumer: 'whole' }

// The matrix. A string marks a combination that cannot happen, and says why.
const MATRIX: Record<Phase, Record<Fault, Expected | string>> = {
  'producer waiting': {
    'producer aborts': { producer: 'gone', consumer: 'fresh' },
    'consumer aborts': 'no consumer yet: one arriving now is matched at once (next phase)',
    'DELETE channel': { producer: 410, consumer: 'fresh' },
    'DELETE namespace': { producer: 410, consumer: 'fresh' },
    'close()': { producer: 503, consumer: 503 },
    'body crosses limits.bodySize': { producer: 413, consumer: CUT_AFTER_MESSAGE }
  },
  'consumer waiting': {
    'producer aborts': 'no producer yet: one arriving now is matched at once (next phase)',
    'consumer aborts': { producer: 'fresh', consumer: 'gone' },
    'DELETE channel': { producer: 'fresh', consumer: 410 },
    'DELETE namespace': { producer: 'fresh', consumer: 410 },
    'close()': { producer: 503, consumer: 503 },
    'body crosses limits.bodySize': { producer: 413, consumer: CUT_AFTER_MESSAGE }
  },
  'matched, no body byte yet': {
    'producer aborts': { producer: 'gone', consumer: CUT_BEFORE_ANY_BYTE },
    'consumer aborts': { producer: 502, consumer: 'gone' },
    'DELETE channel': DELIVERED,
    'DELETE namespace': DELIVERED,
    'close()': DELIVERED,
    'body crosses limits.bodySize': { producer: 413, consumer: CUT_AFTER_MESSAGE }
  },
  'mid-transfer': {
    'producer aborts': { producer: 'gone', consumer: CUT_AFTER_HEAD },
    'consumer aborts': { producer: 502, consumer: 'gone' },
    'DELETE channel': DELIVERED,
    'DELETE namespace': DELIVERED,
    'close()': DELIVERED,
    'body crosses limits.bodySize': { producer: 413, consumer: CUT_AFTER_MESSAGE }
  }
}

const FRAMINGS: readonly Framing[] = ['Content-Length', 'chunked']

interface Case {
  readonly phase: Phase
  readonly fault: Fault
  readonly framing: Framing
  readonly expected: Expected
}

const CASES: Case[] = Object.entries(MATRIX).flatMap(([phase, row]) => Object.entries(row).flatMap(([fault, expected]) =>
  typeof expected === 'string'
    ? []
    // A declared Content-Length over the limit is refused before queueing (limits.test.ts): no phase to cut into.
    : FRAMINGS.filter(framing => fault !== 'body crosses limits.bodySize' || framing === 'chunked')
      .map(framing => ({ phase: phase as Phase, fault: fault as Fault, framing, expected }))))

interface Party {
  readonly request: OpenRequest
  /** The message it sends (producers) or should end up with (consumers served by a fresh producer). */
  readonly body: Buffer
  /** Disconnected by the test. */
  gone: boolean
  /** Body bytes written so far (producers). */
  sent: number
}

describe.each(adapters)('fault matrix ($name)', ({ create }) => {
  let server: TrackedServer | undefined
  beforeEach(() => {
    // Only the pipe's wait timers are faked, so jest.getTimerCount() counts exactly those.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask', 'Date'] })
  })
  afterEach(async () => {
    jest.useRealTimers()
    await server?.close()
    server = undefined
  })

  it.each(CASES)('$phase × $fault ($framing): a producer gets 200 iff its consumer got every byte', async ({ phase, fault, framing, expected }) => {
    const { app, pipe }: TestApp = create(OPTIONS)
    server = await listenTracked(app)
    const base = `${server.url}/channels`
    const url = `${base}/ns/ch`
    const stats = pipe.stats
    const framingHeader = framing === 'chunked' ? { 'Transfer-Encoding': 'chunked' } : { 'Content-Length': BODY.length }

    let producer: Party | undefined
    let consumer: Party | undefined
    const producers: Party[] = []
    const consumers: Party[] = []
    function arriveProducer (): Party {
      const party: Party = { request: open(url, 'POST', framingHeader), body: BODY, gone: false, sent: 0 }
      producers.push(party)
      return party
    }
    function arriveConsumer (): Party {
      const party: Party = { request: open(url, 'GET'), body: BODY, gone: false, sent: 0 }
      consumers.push(party)
      return party
    }
    async function write (party: Party, chunk: Buffer): Promise<void> {
      await party.request.write(chunk)
      party.sent += chunk.length
    }
    function leave (party: Party): void {
      party.gone = true
      party.request.destroy()
    }

    // 1. Bring one producer and one consumer to the phase.
    switch (phase) {
      case 'producer waiting':
        producer = arriveProducer()
        await write(producer, HEAD)
        await waitUntil(() => stats().waitingProducers === 1)
        break
      case 'consumer waiting':
        consumer = arriveConsumer()
        await waitUntil(() => stats().waitingConsumers === 1)
        break
      case 'matched, no body byte yet':
        // Matched per stats(). The consumer's response head is not on the wire yet: the pipe
        // writes it with the first body byte, so "head received, no byte" cannot be observed.
        producer = arriveProducer()
        await write(producer, Buffer.alloc(0)) // sends the request head only
        await waitUntil(() => stats().waitingProducers === 1)
        consumer = arriveConsumer()
        await waitUntil(() => stats().runningTransfers === 1)
        expect(stats().bytesTransferred).toBe(0)
        break
      case 'mid-transfer':
        producer = arriveProducer()
        await write(producer, HEAD)
        await waitUntil(() => stats().waitingProducers === 1)
        consumer = arriveConsumer()
        await consumer.request.response
        await waitUntil(() => stats().bytesTransferred === HEAD.length)
        break
    }
    const runningBefore = stats().runningTransfers

    // 2. The fault.
    let closing: Promise<void> | undefined
    switch (fault) {
      case 'producer aborts':
        leave(producer as Party)
        await waitUntil(() => stats().waitingProducers === 0 && stats().runningTransfers === 0)
        break
      case 'consumer aborts':
        leave(consumer as Party)
        await waitUntil(() => stats().waitingConsumers === 0 && stats().runningTransfers === 0)
        break
      case 'DELETE channel':
        expect((await send(url, 'DELETE')).status).toBe(204)
        break
      case 'DELETE namespace':
        expect((await send(`${base}/ns`, 'DELETE')).status).toBe(204)
        break
      case 'close()':
        closing = pipe.close()
        break
      case 'body crosses limits.bodySize':
        // The rest of the message, then one byte too many in a chunk of its own.
        producer ??= arriveProducer()
        if (producer.sent === 0) await write(producer, HEAD)
        await write(producer, TAIL)
        // Not awaited: the producer may be answered 413, and its connection closed, at once.
        producer.request.write('X')
        producer.sent++
        break
    }
    if (fault === 'DELETE channel' || fault === 'DELETE namespace' || fault === 'close()') {
      // Waiting requests are turned away at once; a running transfer goes on.
      await waitUntil(() => stats().waitingProducers === 0 && stats().waitingConsumers === 0)
      expect(stats().runningTransfers).toBe(runningBefore)
    }
    const isClosed = closing === undefined ? undefined : tracker(closing)
    if (isClosed !== undefined && runningBefore > 0) {
      // close() resolves only when the running transfer is over.
      await new Promise(resolve => setImmediate(resolve))
      expect(isClosed()).toBe(false)
    }

    // 3. The counterpart the phase had not brought in arrives now.
    producer ??= arriveProducer()
    consumer ??= arriveConsumer()

    // 4. A producer still connected sends the rest of its message and ends its upload. Express
    //    answers an error only once the upload is over; the raw handler may already have answered
    //    and closed, so this write is not awaited: it may fail, and that is not what is tested.
    if (!producer.gone) producer.request.end(producer.sent < BODY.length ? BODY.subarray(producer.sent) : undefined)

    // 5. Whoever the fault left waiting is served by a fresh counterpart: it must still work.
    if (expected.consumer === 'fresh') {
      await waitUntil(() => stats().waitingConsumers === 1 && stats().runningTransfers === 0)
      const fresh = open(url, 'POST', { 'Content-Length': FRESH.length })
      producers.push({ request: fresh, body: FRESH, gone: false, sent: FRESH.length })
      fresh.end(FRESH)
    }
    if (expected.producer === 'fresh') {
      await waitUntil(() => stats().waitingProducers === 1 && stats().runningTransfers === 0)
      consumers.push({ request: open(url, 'GET'), body: BODY, gone: false, sent: 0 })
    }

    // 6. Outcomes.
    const outcomes = new Map<Party, Received>()
    for (const party of [...producers, ...consumers]) {
      if (!party.gone) outcomes.set(party, await received(party.request, producers.includes(party) ? 'a producer' : 'a consumer'))
    }
    if (isClosed !== undefined) await waitUntil(isClosed, 3000)

    const producerOutcome = outcomes.get(producer)
    const consumerOutcome = outcomes.get(consumer)
    checkOutcome('producer', expected.producer, producerOutcome, BODY)
    checkOutcome('consumer', expected.consumer, consumerOutcome, expected.consumer === 'fresh' ? FRESH : BODY)
    if (expected.producer === 'fresh') checkOutcome('consumer', 'whole', outcomes.get(consumers[1] as Party), BODY)
    if (expected.consumer === 'fresh') expect(outcomes.get(producers[1] as Party)?.status).toBe(200)

    // The invariant, over every producer and consumer of the case.
    for (const party of producers) {
      const outcome = outcomes.get(party)
      const deliveredWhole = consumers.some(c => {
        const got = outcomes.get(c)
        return got !== undefined && got.status === 200 && got.complete && got.body.equals(party.body)
      })
      expect({ producerGot200: outcome?.status === 200 }).toEqual({ producerGot200: deliveredWhole })
    }
    for (const party of consumers) {
      const got = outcomes.get(party)
      if (got?.status !== 200 || !got.complete) continue
      // A consumer that saw a clean 200 holds a whole message whose producer was told 200.
      expect(producers.some(p => p.body.equals(got.body) && outcomes.get(p)?.status === 200)).toBe(true)
    }

    // 7. Nothing left behind.
    await waitUntil(() => stats().runningTransfers === 0)
    expect(stats()).toMatchObject(ZERO)
    const tracked = server
    await waitUntil(() => tracked.connections() === 0)
    // After the connections: a producer answered mid-upload holds the lingering close's timers
    // (linger.ts) until its connection ends.
    expect(jest.getTimerCount()).toBe(0)
    expect(tracked.leftoverListeners()).toEqual([])
    if (fault === 'close()') {
      // From now on every request is turned away.
      expect((await send(url, 'GET')).status).toBe(503)
    }
  })
})

function checkOutcome (role: 'producer' | 'consumer', expected: Outcome, got: Received | undefined, message: Buffer): void {
  if (expected === 'gone') {
    expect(got).toBeUndefined()
    return
  }
  expect(got).toBeDefined()
  const outcome = got as Received
  const seen = { role, status: outcome.status, complete: outcome.complete, bytes: outcome.body.length }
  if (typeof expected === 'number') {
    expect(seen).toMatchObject({ status: expected })
    if (role === 'producer' && expected === 200) expect(outcome.body.length).toBe(0)
  } else if (expected === 'whole' || expected === 'fresh') {
    if (role === 'producer') {
      expect(seen).toMatchObject({ status: 200 })
    } else {
      expect(seen).toEqual({ role, status: 200, complete: true, bytes: message.length })
      expect(outcome.body.equals(message)).toBe(true)
    }
  } else {
    // Cut off: never a clean end. Whether the head of the response went out before the cut
    // depends on the first body byte; the bytes that did arrive are exact.
    const bytes = { nothing: Buffer.alloc(0), head: HEAD, message: BODY }[expected.cut]
    expect(seen.complete).toBe(false)
    expect([200, undefined]).toContain(seen.status)
    expect(seen.bytes).toBe(bytes.length)
    expect(outcome.body.equals(bytes)).toBe(true)
  }
}
