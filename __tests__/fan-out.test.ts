import { request as httpRequest, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http'
import { afterEach, describe, expect, it, jest } from '@jest/globals'
import { adapters, createRawApp } from './helpers/app'
import { open, send, waitUntil } from './helpers/http'
import { useServer } from './helpers/use-server'

/** A pubsub subscriber. `paused` ones read nothing until `resume()`, as a stalled client. */
interface Subscriber {
  /** Resolves with the response head (a raw subscriber's comes with the first message). */
  readonly response: Promise<IncomingMessage>
  readonly text: () => string
  /** Bytes received so far (cheap: `text()` copies everything). */
  readonly bytes: () => number
  readonly ended: () => boolean
  readonly closed: () => boolean
  readonly resume: () => void
  readonly close: () => void
}

function subscriber (url: string, { paused = false, live = true } = {}): Subscriber {
  const chunks: Buffer[] = []
  let bytes = 0
  let ended = false
  let closed = false
  let message: IncomingMessage | undefined
  const headers: Record<string, string> = live ? { Accept: 'text/event-stream' } : {}
  const req = httpRequest(url, { agent: false, headers })
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    req.on('response', res => {
      message = res
      if (paused) res.pause()
      res.on('data', (chunk: Buffer) => { chunks.push(chunk); bytes += chunk.length })
      res.on('end', () => { ended = true })
      res.on('close', () => { closed = true })
      res.on('error', () => {})
      resolve(res)
    }).on('error', reject).end()
  })
  response.catch(() => {})
  return {
    response,
    text: () => Buffer.concat(chunks).toString(),
    bytes: () => bytes,
    ended: () => ended,
    closed: () => closed,
    resume: () => {
      paused = false
      message?.resume()
    },
    close: () => { req.destroy() }
  }
}

/** A live subscription, once its stream has started. */
async function subscribe (url: string, options: { paused?: boolean } = {}): Promise<Subscriber> {
  const live = subscriber(url, options)
  await live.response
  return live
}

const PREAMBLE = ': subscribed to news/today\n\n'
// Larger than what loopback socket buffers hold, so a client that reads nothing fills its socket.
const BIG = 32 * 1024 * 1024

afterEach(() => { jest.useRealTimers() })

describe.each(adapters)('pubsub fan-out to live subscriptions ($name)', ({ create }) => {
  const { start } = useServer(create, '/channels/news/today?pubsub=true')

  it('queues messages published while a subscription is busy, and delivers them in order', async () => {
    const { url, pipe } = await start({ limits: { eventSize: 2 * BIG } })
    const slow = await subscribe(url, { paused: true })
    const quick = await subscribe(url)
    await waitUntil(() => pipe.stats().waitingConsumers === 2)

    const big = 'b'.repeat(BIG)
    expect((await send(url, 'POST', big)).headers['x-httpipe-receivers']).toBe('2')
    for (const message of ['one', 'two', 'three']) {
      const published = await send(url, 'POST', message)
      expect({ status: published.status, receivers: published.headers['x-httpipe-receivers'] }).toEqual({ status: 200, receivers: '2' })
    }
    const expected = `${PREAMBLE}data: ${big}\n\ndata: one\n\ndata: two\n\ndata: three\n\n`
    await waitUntil(() => quick.bytes() === expected.length, 10_000)
    slow.resume()
    await waitUntil(() => slow.bytes() === expected.length, 10_000)
    expect(slow.text() === expected).toBe(true)
    expect(quick.text() === expected).toBe(true)
    expect(pipe.stats().waitingConsumers).toBe(2)
    slow.close()
    quick.close()
  })

  it('ends a subscription that passes limits.eventBacklog with an error event, after what it took', async () => {
    const { url, pipe } = await start({ limits: { eventSize: 2 * BIG, eventBacklog: 2 } })
    const slow = await subscribe(url, { paused: true })
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    const big = 'b'.repeat(BIG)
    expect((await send(url, 'POST', big)).headers['x-httpipe-receivers']).toBe('1')
    expect((await send(url, 'POST', 'one')).headers['x-httpipe-receivers']).toBe('1')
    expect((await send(url, 'POST', 'two')).headers['x-httpipe-receivers']).toBe('1')
    // The third finds its backlog full: it is not counted, and the subscription is over.
    expect((await send(url, 'POST', 'three')).headers['x-httpipe-receivers']).toBe('0')
    slow.resume()
    await waitUntil(() => slow.ended(), 10_000)
    expect(slow.text().slice(PREAMBLE.length + BIG + 8)).toBe(
      'data: one\n\ndata: two\n\nevent: error\ndata: this subscription to news/today fell behind by more than 2 messages ' +
      'or 16777216 bytes (limits.eventBacklog, limits.eventBacklogBytes); reconnect to go on\n\n')
    await waitUntil(() => pipe.stats().waitingConsumers === 0)
  })

  it('ends a subscription whose socket takes nothing for limits.stallTimeout, and cuts it if it never reads', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] })
    const { url, pipe } = await start({ limits: { eventSize: 2 * BIG, stallTimeout: 1000 } })
    const late = await subscribe(url, { paused: true })
    const never = await subscribe(url, { paused: true })
    await waitUntil(() => pipe.stats().waitingConsumers === 2)
    expect((await send(url, 'POST', 'b'.repeat(BIG))).headers['x-httpipe-receivers']).toBe('2')
    await jest.advanceTimersByTimeAsync(1000)
    // Ended, not yet cut: a client that reads again still gets everything, then the reason.
    await waitUntil(() => pipe.stats().waitingConsumers === 0)
    late.resume()
    await waitUntil(() => late.ended(), 10_000)
    expect(late.text().slice(PREAMBLE.length + BIG + 8)).toBe(
      'event: error\ndata: this subscription to news/today took no data for 1000 ms while a message waited (limits.stallTimeout)\n\n')
    await jest.advanceTimersByTimeAsync(1000)
    // Cut: once it reads again, its client finds the stream broken off, without the final chunk.
    never.resume()
    await waitUntil(() => never.closed(), 10_000)
    expect(never.ended()).toBe(false)
    expect(never.bytes()).toBeLessThan(BIG)
  })

  it('answers 413 and 415 when only live subscriptions wait and none can take the message, and stays open', async () => {
    const { url, pipe } = await start({ limits: { eventSize: 8 } })
    const live = await subscribe(url)
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    const big = await send(url, 'POST', '123456789')
    expect({ status: big.status, body: big.body.toString() }).toEqual({
      status: 413,
      body: expect.stringContaining('larger than 8 bytes a live (text/event-stream) subscriber takes (limits.eventSize)')
    })
    const binary = await send(url, 'POST', Buffer.from([0xff, 0xfe]))
    expect({ status: binary.status, body: binary.body.toString() }).toEqual({
      status: 415,
      body: expect.stringContaining('news/today is a live (text/event-stream) subscription and takes UTF-8 text only')
    })
    expect((await send(url, 'POST', 'text')).headers['x-httpipe-receivers']).toBe('1')
    await waitUntil(() => live.text() === `${PREAMBLE}data: text\n\n`)
    live.close()
  })

  it('delivers nothing of a message whose publisher leaves mid-message, and the next one to all', async () => {
    const { url, pipe } = await start()
    const lives = [await subscribe(url), await subscribe(url)]
    await waitUntil(() => pipe.stats().waitingConsumers === 2)
    const publisher = open(url, 'POST', { 'Transfer-Encoding': 'chunked' })
    await publisher.write('half')
    await waitUntil(() => pipe.stats().bytesTransferred === 4)
    publisher.destroy()
    await waitUntil(() => pipe.stats().runningTransfers === 0)
    expect((await send(url, 'POST', 'whole')).headers['x-httpipe-receivers']).toBe('2')
    for (const live of lives) await waitUntil(() => live.text() === `${PREAMBLE}data: whole\n\n`)
    for (const live of lives) live.close()
  })

  it('answers 413 when a chunked message crosses limits.bodySize, and the subscriptions get nothing of it', async () => {
    const { url, pipe } = await start({ limits: { bodySize: 5 } })
    const live = await subscribe(url)
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    const publisher = open(url, 'POST', { 'Transfer-Encoding': 'chunked' })
    await publisher.write('1234')
    await publisher.write('56')
    const refused = await publisher.response
    expect(refused.statusCode).toBe(413)
    publisher.end()
    expect((await send(url, 'POST', 'next')).headers['x-httpipe-receivers']).toBe('1')
    await waitUntil(() => live.text() === `${PREAMBLE}data: next\n\n`)
    live.close()
  })

  it('still delivers a message live subscriptions cannot take to the raw subscribers waiting with them', async () => {
    const { url, pipe } = await start()
    const live = await subscribe(url)
    const raw = open(url, 'GET')
    await waitUntil(() => pipe.stats().waitingConsumers === 2)
    const published = await send(url, 'POST', Buffer.from([0xff, 0xfe]))
    expect({ status: published.status, receivers: published.headers['x-httpipe-receivers'] }).toEqual({ status: 200, receivers: '1' })
    expect((await raw.done).body).toEqual(Buffer.from([0xff, 0xfe]))
    expect((await send(url, 'POST', 'next')).headers['x-httpipe-receivers']).toBe('1')
    await waitUntil(() => live.text() === `${PREAMBLE}data: next\n\n`)
    live.close()
  })
})

describe.each(adapters)('pubsub with a stalled raw subscriber ($name)', ({ create }) => {
  const { listen } = useServer()

  it('cuts a subscriber whose socket takes nothing for limits.stallTimeout; the rest finish and the next publish reaches all', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] })
    const { app, pipe } = create({ limits: { stallTimeout: 1000 } })
    const server = await listen(app)
    const url = `${server.url}/channels/news/today?pubsub=true`
    const stalled = subscriber(url, { paused: true, live: false })
    const reader = subscriber(url, { live: false })
    const live = await subscribe(url)
    await waitUntil(() => pipe.stats().waitingConsumers === 3)

    const publisher = open(url, 'POST', { 'Content-Length': BIG })
    publisher.end(Buffer.alloc(BIG, 'r'))
    const served = (): number => pipe.stats().transfers[0]?.bytes ?? -1
    // Held back by the stalled one: the reader has all the server read, and that stays so.
    const held = (): boolean => served() > 0 && served() < BIG && reader.bytes() === served()
    for (let turns = 0; turns < 100; turns = held() ? turns + 1 : 0) {
      await waitUntil(held, 10_000)
      await new Promise(resolve => setImmediate(resolve))
    }
    await jest.advanceTimersByTimeAsync(1000)

    const answer = await publisher.done
    // The live subscription is not counted: the message is over limits.eventSize.
    expect({ status: answer.status, receivers: answer.headers['x-httpipe-receivers'] }).toEqual({ status: 200, receivers: '1' })
    await waitUntil(() => reader.ended())
    expect(reader.bytes()).toBe(BIG)
    // Cut: once it reads again, its client finds the body broken off.
    stalled.resume()
    await waitUntil(() => stalled.closed(), 10_000)
    expect(stalled.ended()).toBe(false)
    expect(stalled.bytes()).toBeLessThan(BIG)

    const next = subscriber(url, { live: false })
    await waitUntil(() => pipe.stats().waitingConsumers === 2)
    expect((await send(url, 'POST', 'next')).headers['x-httpipe-receivers']).toBe('2')
    await waitUntil(() => next.ended() && live.text().endsWith('data: next\n\n'))
    live.close()
  })
})

describe('pubsub when one subscriber response fails', () => {
  const { listen } = useServer()

  /** The raw app, with the responses of requests marked `X-Break` patched to throw in writeHead. */
  function breakable (): ReturnType<typeof createRawApp> {
    const { app, pipe } = createRawApp()
    const patched: RequestListener = (req, res: ServerResponse) => {
      if (req.headers['x-break'] !== undefined) {
        res.writeHead = () => { throw new TypeError('injected writeHead failure') }
      }
      app(req, res)
    }
    return { app: patched, pipe }
  }

  it('answers every other subscriber when one response throws in writeHead', async () => {
    const { app, pipe } = breakable()
    const server = await listen(app)
    const url = `${server.url}/channels/news/today?pubsub=true`
    const first = open(url, 'GET')
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    const broken = open(url, 'GET', { 'X-Break': '1' })
    await waitUntil(() => pipe.stats().waitingConsumers === 2)
    const last = open(url, 'GET')
    await waitUntil(() => pipe.stats().waitingConsumers === 3)

    const published = await send(url, 'POST', 'hello')
    expect({ status: published.status, receivers: published.headers['x-httpipe-receivers'] }).toEqual({ status: 200, receivers: '2' })
    expect((await first.done).body.toString()).toBe('hello')
    expect((await last.done).body.toString()).toBe('hello')
    await expect(broken.done).rejects.toThrow()
    expect(pipe.stats()).toMatchObject({ waitingConsumers: 0, runningTransfers: 0, channels: 0 })
  })

  it('writes the one framed Buffer of a message to every live subscription', async () => {
    const { app, pipe } = createRawApp()
    const written: unknown[][] = []
    const recording: RequestListener = (req, res) => {
      if (req.headers.accept === 'text/event-stream') {
        const chunks: unknown[] = []
        written.push(chunks)
        const write = res.write.bind(res) as (chunk: unknown) => boolean
        res.write = ((chunk: unknown) => { chunks.push(chunk); return write(chunk) }) as typeof res.write
      }
      app(req, res)
    }
    const server = await listen(recording)
    const url = `${server.url}/channels/news/today?pubsub=true`
    const subscribers = await Promise.all([0, 1, 2].map(async () => await subscribe(url)))
    await waitUntil(() => pipe.stats().waitingConsumers === 3)
    expect((await send(url, 'POST', 'a\nb')).headers['x-httpipe-receivers']).toBe('3')
    await Promise.all(subscribers.map(async s => { await waitUntil(() => s.text() === `${PREAMBLE}data: a\ndata: b\n\n`) }))
    const events = written.map(chunks => chunks[chunks.length - 1])
    expect(events[0]).toBeInstanceOf(Buffer)
    expect(events[1]).toBe(events[0])
    expect(events[2]).toBe(events[0])
    for (const s of subscribers) s.close()
  })
})
