import { request as httpRequest, type IncomingMessage } from 'node:http'
import { describe, expect, it } from '@jest/globals'
import { adapters } from './helpers/app'
import { open, send, waitUntil } from './helpers/http'
import { useServer } from './helpers/use-server'

describe.each(adapters)('pubsub ($name)', ({ create }) => {
  const { start } = useServer(create, '/channels/news/today')

  it('delivers one message to every subscriber waiting at that moment, and tells the publisher how many', async () => {
    const { url, pipe } = await start()
    const subscribers = [0, 1, 2].map(() => open(`${url}?pubsub=true`, 'GET'))
    await waitUntil(() => pipe.stats().waitingConsumers === 3)

    const published = await send(`${url}?pubsub=true`, 'POST', 'extra, extra', { 'Content-Type': 'text/plain' })
    expect(published.status).toBe(200)
    expect(published.headers['x-httpipe-receivers']).toBe('3')
    for (const subscriber of subscribers) {
      const received = await subscriber.done
      expect(received.status).toBe(200)
      expect(received.headers['content-type']).toBe('text/plain')
      expect(received.body.toString()).toBe('extra, extra')
    }
    expect(pipe.stats()).toMatchObject({ namespaces: 0, channels: 0, waitingConsumers: 0, runningTransfers: 0 })
  })

  it('answers a publisher 200 at once with 0 receivers when nobody subscribed, and keeps nothing', async () => {
    const { url, pipe } = await start()
    const published = await send(`${url}?pubsub=true`, 'POST', 'into the void')
    expect(published.status).toBe(200)
    expect(published.headers['x-httpipe-receivers']).toBe('0')
    expect(pipe.stats()).toMatchObject({ channels: 0, waitingProducers: 0, bytesTransferred: 0 })

    // A subscriber arriving later does not get the dropped message.
    const late = open(`${url}?pubsub=true`, 'GET')
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    expect((await send(`${url}?pubsub=true`, 'POST', 'fresh')).headers['x-httpipe-receivers']).toBe('1')
    expect((await late.done).body.toString()).toBe('fresh')
  })

  it('never matches pubsub waiters with queue-mode waiters on the same channel', async () => {
    const { url, pipe } = await start()
    const queueConsumer = open(url, 'GET')
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    expect((await send(`${url}?pubsub=true`, 'POST', 'broadcast')).headers['x-httpipe-receivers']).toBe('0')

    const subscriber = open(`${url}?pubsub=true`, 'GET')
    await waitUntil(() => pipe.stats().waitingConsumers === 2)
    const queueProducer = send(url, 'POST', 'queued')
    expect((await queueConsumer.done).body.toString()).toBe('queued')
    expect((await queueProducer).status).toBe(200)
    expect(pipe.stats().waitingConsumers).toBe(1)
    subscriber.destroy()
  })

  it('works from a browser link: GET ?pubsub=true&method=post&body=TEXT', async () => {
    const { url, pipe } = await start()
    const subscriber = open(`${url}?pubsub=true`, 'GET')
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    const link = await send(`${url}?pubsub=true&method=post&body=hi%20all`, 'GET')
    expect(link.status).toBe(200)
    expect(link.headers['x-httpipe-receivers']).toBe('1')
    const received = await subscriber.done
    expect(received.headers['content-type']).toBe('text/plain; charset=utf-8')
    expect(received.body.toString()).toBe('hi all')
  })

  it('goes on for the others when one subscriber leaves mid-message, and counts only full receivers', async () => {
    const { url, pipe } = await start()
    const stays = open(`${url}?pubsub=true`, 'GET')
    const leaves = open(`${url}?pubsub=true`, 'GET')
    await waitUntil(() => pipe.stats().waitingConsumers === 2)
    const publisher = open(`${url}?pubsub=true`, 'POST', { 'Transfer-Encoding': 'chunked' })
    await publisher.write('part one, ')
    await leaves.response
    await waitUntil(() => pipe.stats().bytesTransferred === 10)
    leaves.destroy()
    await waitUntil(() => pipe.stats().transfers[0]?.receivers === 2)
    publisher.end('part two')

    const answer = await publisher.done
    expect(answer.status).toBe(200)
    expect(answer.headers['x-httpipe-receivers']).toBe('1')
    expect((await stays.done).body.toString()).toBe('part one, part two')
  })

  it('cuts every subscriber off when the publisher leaves mid-message', async () => {
    const { url, pipe } = await start()
    const subscribers = [open(`${url}?pubsub=true`, 'GET'), open(`${url}?pubsub=true`, 'GET')]
    await waitUntil(() => pipe.stats().waitingConsumers === 2)
    const publisher = open(`${url}?pubsub=true`, 'POST', { 'Transfer-Encoding': 'chunked' })
    await publisher.write('half')
    await Promise.all(subscribers.map(async s => await s.response))
    // Message bytes are counted once, however many subscribers they go to.
    await waitUntil(() => pipe.stats().bytesTransferred === 4)
    publisher.destroy()
    for (const subscriber of subscribers) {
      const received = await subscriber.done
      expect(received.complete).toBe(false)
      expect(received.body.toString()).toBe('half')
    }
    await waitUntil(() => pipe.stats().runningTransfers === 0)
    expect(pipe.stats()).toMatchObject({ channels: 0 })
  })

  it('answers 413 and cuts subscribers off when a chunked message crosses limits.bodySize', async () => {
    const { url, pipe } = await start({ limits: { bodySize: 5 } })
    const subscriber = open(`${url}?pubsub=true`, 'GET')
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    const publisher = open(`${url}?pubsub=true`, 'POST', { 'Transfer-Encoding': 'chunked' })
    await publisher.write('1234')
    await subscriber.response
    await publisher.write('56')
    expect((await publisher.response).statusCode).toBe(413)
    publisher.end()
    expect((await subscriber.done).complete).toBe(false)
  })

  it('paces the broadcast by the slowest subscriber: nothing piles up in the server', async () => {
    const { url, pipe } = await start()
    const total = 64 * 1024 * 1024
    const subscribe = async (): Promise<IncomingMessage> => await new Promise((resolve, reject) => {
      httpRequest(`${url}?pubsub=true`, { agent: false }, resolve).on('error', reject).end()
    })
    const fastResponse = subscribe()
    const slowResponse = subscribe()
    await waitUntil(() => pipe.stats().waitingConsumers === 2)

    const publisher = httpRequest(`${url}?pubsub=true`, { method: 'POST', agent: false, headers: { 'Content-Length': total } })
    const publisherFailed = new Promise<never>((_resolve, reject) => publisher.once('error', reject))
    publisherFailed.catch(() => {})
    const chunk = Buffer.alloc(1024 * 1024, 'p')
    let written = 0
    const writeMore = (): void => {
      while (written < total) {
        written += chunk.length
        if (!publisher.write(chunk)) {
          publisher.once('drain', writeMore)
          return
        }
      }
      publisher.end()
    }
    writeMore()

    // The slow subscriber reads nothing yet: its socket fills, so the publisher must be held back.
    const slow = await slowResponse
    slow.pause()
    let fastBytes = 0
    const fast = await fastResponse
    fast.on('data', (data: Buffer) => { fastBytes += data.length })
    // Stalled means: the publisher is held back and the fast subscriber has all the server read,
    // and that stays so for 500 turns of the event loop. The server runs in this process, so those
    // turns are its chances to read more; one that did not pace the publisher never stalls at all
    // and hands the fast subscriber all 64 MiB.
    const stalled = (): boolean => publisher.writableLength > 0 && pipe.stats().transfers[0]?.bytes === fastBytes && fastBytes > 0
    let settled = false
    for (let attempt = 0; attempt < 50 && !settled; attempt++) {
      await waitUntil(stalled, 10_000)
      const before = fastBytes
      for (let turn = 0; turn < 500; turn++) await new Promise(resolve => setImmediate(resolve))
      settled = stalled() && fastBytes === before
    }
    expect(settled).toBe(true)
    expect(fastBytes).toBeLessThan(16 * 1024 * 1024)

    let slowBytes = 0
    slow.on('data', (data: Buffer) => { slowBytes += data.length })
    const answer = new Promise<IncomingMessage>(resolve => publisher.once('response', resolve))
    slow.resume()
    const response = await Promise.race([answer, publisherFailed])
    expect(response.statusCode).toBe(200)
    expect(response.headers['x-httpipe-receivers']).toBe('2')
    await waitUntil(() => fastBytes === total && slowBytes === total, 10_000)
  })
})
