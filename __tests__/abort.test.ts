import { afterEach, describe, expect, it } from '@jest/globals'
import { adapters } from './helpers/app'
import { listen, open, send, waitUntil, type Listening } from './helpers/http'

const ZERO = { namespaces: 0, channels: 0, waitingProducers: 0, waitingConsumers: 0, runningTransfers: 0 }

describe.each(adapters)('disconnects ($name)', ({ create }) => {
  let server: Listening | undefined
  afterEach(async () => { await server?.close(); server = undefined })

  async function start (): Promise<{ url: string, pipe: ReturnType<typeof create>['pipe'] }> {
    const { app, pipe } = create()
    server = await listen(app)
    return { url: `${server.url}/channels/ns/ch`, pipe }
  }

  describe('before a match', () => {
    it('removes a waiting consumer that disconnects, so it is never matched', async () => {
      const { url, pipe } = await start()
      const gone = open(url, 'GET')
      await waitUntil(() => pipe.stats().waitingConsumers === 1)
      const stays = open(url, 'GET')
      await waitUntil(() => pipe.stats().waitingConsumers === 2)
      gone.destroy()
      await waitUntil(() => pipe.stats().waitingConsumers === 1)

      expect((await send(url, 'POST', 'for the one still here')).status).toBe(200)
      expect((await stays.done).body.toString()).toBe('for the one still here')
      expect(pipe.stats()).toMatchObject(ZERO)
    })

    it('removes a waiting producer that disconnects, so its message is never delivered', async () => {
      const { url, pipe } = await start()
      const gone = open(url, 'POST', { 'Content-Length': 4 })
      gone.end('gone')
      await waitUntil(() => pipe.stats().waitingProducers === 1)
      gone.destroy()
      await waitUntil(() => pipe.stats().waitingProducers === 0)
      expect(pipe.stats()).toMatchObject(ZERO)

      const consumer = open(url, 'GET')
      await waitUntil(() => pipe.stats().waitingConsumers === 1)
      expect((await send(url, 'POST', 'fresh')).status).toBe(200)
      expect((await consumer.done).body.toString()).toBe('fresh')
    })
  })

  describe('mid-transfer', () => {
    it('cuts the consumer off when the producer disconnects (Content-Length)', async () => {
      const { url, pipe } = await start()
      const producer = open(url, 'POST', { 'Content-Length': 1000 })
      await producer.write('x'.repeat(100))
      const consumer = open(url, 'GET')
      const head = await consumer.response
      expect(head.headers['content-length']).toBe('1000')
      await waitUntil(() => pipe.stats().bytesTransferred === 100)
      producer.destroy()

      const received = await consumer.done
      expect(received.complete).toBe(false)
      expect(received.body.length).toBeLessThan(1000)
      await waitUntil(() => pipe.stats().runningTransfers === 0)
      expect(pipe.stats()).toMatchObject(ZERO)
    })

    it('cuts the consumer off when the producer disconnects (chunked), never ending the body cleanly', async () => {
      const { url, pipe } = await start()
      const producer = open(url, 'POST', { 'Transfer-Encoding': 'chunked' })
      await producer.write('partial')
      const consumer = open(url, 'GET')
      await consumer.response
      await waitUntil(() => pipe.stats().bytesTransferred === 7)
      producer.destroy()

      const received = await consumer.done
      expect(received.complete).toBe(false)
      expect(received.body.toString()).toBe('partial')
      await waitUntil(() => pipe.stats().runningTransfers === 0)
      expect(pipe.stats()).toMatchObject(ZERO)
    })

    it('answers the producer with an error status, never 200, when the consumer disconnects', async () => {
      const { url, pipe } = await start()
      const producer = open(url, 'POST', { 'Transfer-Encoding': 'chunked' })
      await producer.write('first part ')
      const consumer = open(url, 'GET')
      await consumer.response
      await waitUntil(() => pipe.stats().bytesTransferred === 11)
      consumer.destroy()
      await waitUntil(() => pipe.stats().runningTransfers === 0)

      // The producer is told at once, while its upload is still open.
      const answer = await producer.response
      expect(answer.statusCode).toBe(502)
      producer.end()
      const { body } = await producer.done
      expect(body.toString()).toMatch(/consumer.*disconnected/)
      expect(pipe.stats()).toMatchObject(ZERO)
    })

    it('lets the next pair on the channel through after an aborted transfer', async () => {
      const { url, pipe } = await start()
      const producer = open(url, 'POST', { 'Transfer-Encoding': 'chunked' })
      await producer.write('doomed')
      const consumer = open(url, 'GET')
      await consumer.response
      producer.destroy()
      await consumer.done
      await waitUntil(() => pipe.stats().runningTransfers === 0)

      const next = open(url, 'GET')
      await waitUntil(() => pipe.stats().waitingConsumers === 1)
      expect((await send(url, 'POST', 'next')).status).toBe(200)
      expect((await next.done).body.toString()).toBe('next')
    })
  })
})
