import { describe, expect, it } from '@jest/globals'
import { adapters, errorType } from './helpers/app'
import { open, send, waitUntil } from './helpers/http'
import { useServer } from './helpers/use-server'

describe.each(adapters)('limits ($name)', ({ create }) => {
  const { start } = useServer(create, '/channels')

  describe('with limits.bodySize', () => {
    it('responds 413 before queueing when Content-Length exceeds limits.bodySize', async () => {
      const { url, pipe } = await start({ limits: { bodySize: 10 } })
      const res = await send(`${url}/ns/ch`, 'POST', 'x'.repeat(11))
      expect(res.status).toBe(413)
      expect(res.body.toString()).toContain('larger than 10 bytes (limits.bodySize); received 11')
      expect(errorType(res.body.toString()) ?? 'entity.too.large').toBe('entity.too.large')
      expect(pipe.stats()).toMatchObject({ channels: 0, waitingProducers: 0 })
    })

    it('relays a message of exactly limits.bodySize bytes', async () => {
      const { url, pipe } = await start({ limits: { bodySize: 10 } })
      const consumer = open(`${url}/ns/ch`, 'GET')
      await waitUntil(() => pipe.stats().waitingConsumers === 1)
      expect((await send(`${url}/ns/ch`, 'POST', '0123456789')).status).toBe(200)
      expect((await consumer.done).body.toString()).toBe('0123456789')
    })

    it('answers 413 to a chunked producer that crosses the limit mid-stream and cuts the consumer off', async () => {
      const { url, pipe } = await start({ limits: { bodySize: 10 } })
      const producer = open(`${url}/ns/ch`, 'POST', { 'Transfer-Encoding': 'chunked' })
      await producer.write('123456')
      const consumer = open(`${url}/ns/ch`, 'GET')
      await consumer.response
      await waitUntil(() => pipe.stats().bytesTransferred === 6)
      await producer.write('7890X')

      const answer = await producer.response
      expect(answer.statusCode).toBe(413)
      producer.end()
      expect((await producer.done).body.toString()).toContain('limits.bodySize')
      const received = await consumer.done
      expect(received.complete).toBe(false)
      expect(received.body.toString()).toBe('123456')
      await waitUntil(() => pipe.stats().runningTransfers === 0)
      expect(pipe.stats()).toMatchObject({ channels: 0, waitingProducers: 0, waitingConsumers: 0 })
    })
  })

  describe('with limits.waitersPerChannel', () => {
    it('responds 503 with Retry-After when a channel already has that many waiting requests', async () => {
      const { url, pipe } = await start({ limits: { waitersPerChannel: 2 } })
      const waiting = [open(`${url}/ns/ch`, 'GET'), open(`${url}/ns/ch`, 'GET')]
      await waitUntil(() => pipe.stats().waitingConsumers === 2)

      const refused = await send(`${url}/ns/ch`, 'GET')
      expect(refused.status).toBe(503)
      expect(refused.headers['retry-after']).toBe('1')
      expect(refused.body.toString()).toContain('channel ns/ch already has 2 waiting requests (limits.waitersPerChannel)')

      // Other channels have their own allowance, and a producer that matches at once is admitted.
      const elsewhere = open(`${url}/ns/other`, 'GET')
      await waitUntil(() => pipe.stats().waitingConsumers === 3)
      expect((await send(`${url}/ns/ch`, 'POST', 'a')).status).toBe(200)
      expect((await send(`${url}/ns/ch`, 'POST', 'b')).status).toBe(200)
      expect((await send(`${url}/ns/other`, 'POST', 'c')).status).toBe(200)
      expect(await Promise.all([...waiting, elsewhere].map(async w => (await w.done).body.toString()))).toEqual(['a', 'b', 'c'])
    })
  })

  describe('with limits.waiters', () => {
    it('responds 503 with Retry-After when the router already has that many waiting requests', async () => {
      const { url, pipe } = await start({ limits: { waiters: 2 } })
      const producer = open(`${url}/one/ch`, 'POST', { 'Content-Length': 1 })
      producer.end('1')
      const consumer = open(`${url}/two/ch`, 'GET')
      await waitUntil(() => pipe.stats().waitingConsumers === 1 && pipe.stats().waitingProducers === 1)

      const refused = await send(`${url}/three/ch`, 'POST', 'x')
      expect(refused.status).toBe(503)
      expect(refused.headers['retry-after']).toBe('1')
      expect(refused.body.toString()).toContain('the router already has 2 waiting requests (limits.waiters)')

      expect((await send(`${url}/one/ch`, 'GET')).body.toString()).toBe('1')
      expect((await send(`${url}/two/ch`, 'POST', '2')).status).toBe(200)
      expect((await consumer.done).body.toString()).toBe('2')
      expect((await producer.done).status).toBe(200)
    })
  })
})
