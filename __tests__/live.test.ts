import { request as httpRequest, type IncomingMessage } from 'node:http'
import { afterEach, describe, expect, it, jest } from '@jest/globals'
import { adapters } from './helpers/app'
import { open, send, waitUntil } from './helpers/http'
import { useServer } from './helpers/use-server'

interface Subscription {
  readonly response: IncomingMessage
  /** Everything received so far. */
  readonly text: () => string
  readonly ended: () => boolean
  readonly close: () => void
}

/** A live subscriber, as EventSource or `curl -N -H 'Accept: text/event-stream'` is. */
async function subscribe (url: string): Promise<Subscription> {
  return await new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false, headers: { Accept: 'text/event-stream' } }, response => {
      let text = ''
      let ended = false
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => { text += chunk })
      response.on('end', () => { ended = true })
      response.on('error', () => {})
      resolve({ response, text: () => text, ended: () => ended, close: () => { req.destroy() } })
    })
    req.on('error', reject).end()
  })
}

describe.each(adapters)('live subscriptions ($name)', ({ create }) => {
  // Before the servers close (hooks run in the order declared), as it was.
  afterEach(() => { jest.useRealTimers() })
  const { start } = useServer(create, '/channels/chat/room')

  // First in this file: the keep-alive timer is one for all of the module's subscriptions, so one
  // that an earlier test left unreleased would keep a real timer running and hide this test's own.
  it('lets go of a subscription that closes: the shared keep-alive timer stops with the last one', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] })
    const { url, pipe } = await start()
    const lives = [await subscribe(url), await subscribe(`${url}?pubsub=true`)]
    await waitUntil(() => pipe.stats().waitingConsumers === 2)
    lives[0]?.close()
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    await jest.advanceTimersByTimeAsync(15_000)
    await waitUntil(() => lives[1]?.text().endsWith(': keep-alive\n\n') === true)
    lives[1]?.close()
    await waitUntil(() => pipe.stats().waitingConsumers === 0)
    expect(jest.getTimerCount()).toBe(0)
  })

  it('streams message after message as server-sent events, multi-line text as data lines', async () => {
    const { url, pipe } = await start()
    const live = await subscribe(url)
    expect(live.response.statusCode).toBe(200)
    expect(live.response.headers['content-type']).toBe('text/event-stream; charset=utf-8')
    expect(live.response.headers['cache-control']).toBe('no-store, no-transform')
    await waitUntil(() => pipe.stats().waitingConsumers === 1)

    expect((await send(url, 'POST', 'hello')).status).toBe(200)
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    expect((await send(url, 'POST', 'line one\nline two\r\nline three\n')).status).toBe(200)
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    expect((await send(url, 'POST', '')).status).toBe(200)
    // The producer's 200 means the event is in the subscriber's socket, not yet read by its client.
    await waitUntil(() => live.text().endsWith('data: \n\ndata: \n\n'))
    expect(live.text()).toBe(
      ': subscribed to chat/room\n\n' +
      'data: hello\n\n' +
      'data: line one\ndata: line two\ndata: line three\ndata: \n\n' +
      'data: \n\n'
    )
    live.close()
  })

  it('takes its place at the back of the consumer queue after each message', async () => {
    const { url, pipe } = await start()
    const live = await subscribe(url)
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    const plain = open(url, 'GET')
    await waitUntil(() => pipe.stats().waitingConsumers === 2)

    await send(url, 'POST', 'first')
    await waitUntil(() => live.text().includes('data: first\n\n') && pipe.stats().waitingConsumers === 2)
    await send(url, 'POST', 'second')
    expect((await plain.done).body.toString()).toBe('second')
    await send(url, 'POST', 'third')
    await waitUntil(() => live.text().includes('data: third\n\n'))
    expect(live.text()).not.toContain('second')
    live.close()
  })

  it('refuses a binary message with 415 and stays open for the next text one', async () => {
    const { url, pipe } = await start()
    const live = await subscribe(url)
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    const binary = await send(url, 'POST', Buffer.from([0xff, 0xfe, 0x00, 0x80]))
    expect(binary.status).toBe(415)
    expect(binary.body.toString()).toContain('chat/room is a live (text/event-stream) subscription and takes UTF-8 text only')
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    expect((await send(url, 'POST', 'text again')).status).toBe(200)
    await waitUntil(() => live.text().endsWith('\n\n\n') || live.text().includes('data: text again'))
    expect(live.text()).toBe(': subscribed to chat/room\n\ndata: text again\n\n')
    live.close()
  })

  it('refuses a message over limits.eventSize with 413', async () => {
    const { url, pipe } = await start({ limits: { eventSize: 8 } })
    const live = await subscribe(url)
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    const big = await send(url, 'POST', '123456789')
    expect(big.status).toBe(413)
    expect(big.body.toString()).toContain('larger than 8 bytes a live (text/event-stream) subscriber takes (limits.eventSize)')
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    expect((await send(url, 'POST', '12345678')).status).toBe(200)
    await waitUntil(() => live.text().endsWith('data: 12345678\n\n'))
    live.close()
  })

  it('sends a keep-alive comment while idle, so proxies do not cut the stream', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] })
    const { url, pipe } = await start()
    const live = await subscribe(url)
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    await jest.advanceTimersByTimeAsync(15_000)
    await waitUntil(() => live.text().endsWith(': keep-alive\n\n'))
    live.close()
    await waitUntil(() => pipe.stats().waitingConsumers === 0)
    expect(jest.getTimerCount()).toBe(0)
  })

  it('is never timed out by the timeout option, which is for one-shot waits', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] })
    const { url, pipe } = await start({ timeout: 1000 })
    const live = await subscribe(url)
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    await jest.advanceTimersByTimeAsync(5000)
    expect(live.ended()).toBe(false)
    expect((await send(url, 'POST', 'still here')).status).toBe(200)
    await waitUntil(() => live.text().endsWith('data: still here\n\n'))
    live.close()
  })

  it('receives pubsub broadcasts as events with ?pubsub=true', async () => {
    const { url, pipe } = await start()
    const lives = [await subscribe(`${url}?pubsub=true`), await subscribe(`${url}?pubsub=true`)]
    await waitUntil(() => pipe.stats().waitingConsumers === 2)
    const published = await send(`${url}?pubsub=true`, 'POST', 'to all')
    expect(published.headers['x-httpipe-receivers']).toBe('2')
    await waitUntil(() => pipe.stats().waitingConsumers === 2)
    // The 200 says their sockets took it, not that it has arrived: it may come just after.
    for (const live of lives) await waitUntil(() => live.text().length >= ': subscribed to chat/room\n\ndata: to all\n\n'.length)
    for (const live of lives) {
      expect(live.text()).toBe(': subscribed to chat/room\n\ndata: to all\n\n')
      live.close()
    }
  })

  it('ends the stream with an error event when the channel is deleted', async () => {
    const { url, pipe } = await start()
    const live = await subscribe(url)
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    expect((await send(url, 'DELETE')).status).toBe(204)
    await waitUntil(() => live.ended())
    expect(live.text()).toBe(': subscribed to chat/room\n\nevent: error\ndata: channel chat/room was deleted while this request was waiting\n\n')
    expect(pipe.stats()).toMatchObject({ channels: 0, waitingConsumers: 0 })
  })

  it('withdraws a subscriber that disconnects', async () => {
    const { url, pipe } = await start()
    const live = await subscribe(url)
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    live.close()
    await waitUntil(() => pipe.stats().waitingConsumers === 0)
    expect(pipe.stats()).toMatchObject({ channels: 0 })
  })
})

describe.each(adapters)('link producers ($name)', ({ create }) => {
  const { listen } = useServer()

  it('sends the body parameter as text/plain from GET ?method=post&body=TEXT', async () => {
    const { app, pipe } = create()
    const server = await listen(app)
    const url = `${server.url}/channels/ns/ch`
    const consumer = open(url, 'GET')
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    const link = await send(`${url}?method=post&body=caf%C3%A9+au+lait`, 'GET')
    expect(link.status).toBe(200)
    const received = await consumer.done
    expect(received.headers['content-type']).toBe('text/plain; charset=utf-8')
    expect(received.headers['content-length']).toBe('13')
    expect(received.body.toString()).toBe('café au lait')
  })

  it('waits for a consumer like any producer', async () => {
    const { app, pipe } = create()
    const server = await listen(app)
    const url = `${server.url}/channels/ns/ch`
    const link = send(`${url}?method=PUT&body=later`, 'GET')
    await waitUntil(() => pipe.stats().waitingProducers === 1)
    expect((await send(url, 'GET')).body.toString()).toBe('later')
    expect((await link).status).toBe(200)
  })

  it.each([
    ['?method=delete&body=x', 'method must be post or put, got "delete"'],
    ['?pubsub=maybe', 'pubsub must be true or false, got "maybe"'],
    ['?method=post&body=%E0%A4%A', 'malformed percent-encoding in the query string']
  ])('answers 400 for %s', async (query, message) => {
    const { app } = create()
    const server = await listen(app)
    const res = await send(`${server.url}/channels/ns/ch${query}`, 'GET')
    expect(res.status).toBe(400)
    expect(res.body.toString()).toContain(message)
  })

  it.each(['?method=post&body=hi', '?method=put&body=hi&pubsub=true'])('answers 403 to %s with links: false, and neither sends nor takes a message', async (query) => {
    const { app, pipe } = create({ links: false })
    const server = await listen(app)
    const url = `${server.url}/channels/ns/ch`
    const producer = send(url, 'POST', 'still here')
    await waitUntil(() => pipe.stats().waitingProducers === 1)

    const link = await send(`${url}${query}`, 'GET')
    expect({ status: link.status, body: link.body.toString() }).toEqual({
      status: 403,
      body: expect.stringContaining('link producers are disabled (option links: false)')
    })
    expect(pipe.stats()).toMatchObject({ waitingProducers: 1, waitingConsumers: 0, runningTransfers: 0 })
    expect((await send(url, 'GET')).body.toString()).toBe('still here')
    expect((await producer).status).toBe(200)
  })

  it('applies limits.bodySize to the body parameter', async () => {
    const { app, pipe } = create({ limits: { bodySize: 3 } })
    const server = await listen(app)
    const res = await send(`${server.url}/channels/ns/ch?method=post&body=four`, 'GET')
    expect(res.status).toBe(413)
    expect(pipe.stats().channels).toBe(0)
  })
})
