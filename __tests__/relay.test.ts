import { createHash, randomBytes } from 'node:crypto'
import { describe, expect, it } from '@jest/globals'
import request from 'supertest'
import { IDLE_REQRES, adapters } from './helpers/app'
import { open, send, waitUntil } from './helpers/http'
import { useServer } from './helpers/use-server'

/** A consumer's whole body as text, whatever its Content-Type. */
async function text (url: string, path: string): Promise<string> {
  const res = await send(url + path, 'GET')
  expect(res.status).toBe(200)
  return res.body.toString()
}

describe.each(adapters)('relay ($name)', ({ create }) => {
  const { start } = useServer(create)

  describe('POST then GET', () => {
    it('streams the body to the consumer and answers the producer 200 afterwards', async () => {
      const { url, pipe } = await start()
      const producer = request(url).post('/channels/v1/do_work').type('text/plain').send('hello').then(r => r)
      await waitUntil(() => pipe.stats().waitingProducers === 1)

      const consumer = await request(url).get('/channels/v1/do_work').expect(200)
      expect(consumer.text).toBe('hello')
      expect(consumer.headers['content-type']).toBe('text/plain')
      expect(consumer.headers['content-length']).toBe('5')
      const produced = await producer
      expect(produced.status).toBe(200)
      expect(produced.text).toBe('')
    })

    it('accepts PUT as a producer', async () => {
      const { url, pipe } = await start()
      const producer = request(url).put('/channels/ns/ch').send(Buffer.from('put body')).then(r => r)
      await waitUntil(() => pipe.stats().waitingProducers === 1)
      const consumer = await request(url).get('/channels/ns/ch').buffer(true).expect(200)
      expect(Buffer.from(consumer.body as Buffer).toString()).toBe('put body')
      expect((await producer).status).toBe(200)
    })
  })

  describe('GET then POST', () => {
    it('holds the consumer until a producer arrives', async () => {
      const { url, pipe } = await start()
      const consumer = send(`${url}/channels/v1/do_work`, 'GET')
      await waitUntil(() => pipe.stats().waitingConsumers === 1)
      expect(pipe.stats()).toMatchObject({ namespaces: 1, channels: 1, waitingProducers: 0, runningTransfers: 0 })

      // supertest, like curl -d, labels a string body application/x-www-form-urlencoded.
      await request(url).post('/channels/v1/do_work').send('hello').expect(200)
      const received = await consumer
      expect(received.status).toBe(200)
      expect(received.body.toString()).toBe('hello')
      expect(received.headers['content-type']).toBe('application/octet-stream')
    })
  })

  describe('queues', () => {
    it('matches producers in arrival order', async () => {
      const { url, pipe } = await start()
      const first = request(url).post('/channels/ns/ch').send('one').then(r => r)
      await waitUntil(() => pipe.stats().waitingProducers === 1)
      const second = request(url).post('/channels/ns/ch').send('two').then(r => r)
      await waitUntil(() => pipe.stats().waitingProducers === 2)

      expect((await text(url, '/channels/ns/ch'))).toBe('one')
      expect((await text(url, '/channels/ns/ch'))).toBe('two')
      expect((await first).status).toBe(200)
      expect((await second).status).toBe(200)
    })

    it('matches consumers in arrival order', async () => {
      const { url, pipe } = await start()
      const consumers = []
      for (let i = 0; i < 3; i++) {
        consumers.push(text(url, '/channels/ns/ch'))
        await waitUntil(() => pipe.stats().waitingConsumers === i + 1)
      }
      for (const body of ['a', 'b', 'c']) await request(url).post('/channels/ns/ch').send(body).expect(200)
      expect(await Promise.all(consumers)).toEqual(['a', 'b', 'c'])
    })

    it('keeps namespaces apart: the same channel name in two namespaces never matches', async () => {
      const { url, pipe } = await start()
      const consumerA = text(url, '/channels/a/jobs')
      await waitUntil(() => pipe.stats().waitingConsumers === 1)
      const producerB = request(url).post('/channels/b/jobs').send('for b').then(r => r.status)
      await waitUntil(() => pipe.stats().waitingProducers === 1)
      expect(pipe.stats()).toMatchObject({ namespaces: 2, channels: 2, runningTransfers: 0 })

      await request(url).post('/channels/a/jobs').send('for a').expect(200)
      expect(await text(url, '/channels/b/jobs')).toBe('for b')
      expect(await consumerA).toBe('for a')
      expect(await producerB).toBe(200)
    })

    it('treats a trailing slash as the same channel', async () => {
      const { url, pipe } = await start()
      const consumer = text(url, '/channels/v1/do_work/')
      await waitUntil(() => pipe.stats().waitingConsumers === 1)
      await request(url).post('/channels/v1/do_work').send('slash').expect(200)
      expect(await consumer).toBe('slash')
    })
  })

  describe('concurrency', () => {
    it('matches the next pair on a channel only when the running transfer ends (default 1)', async () => {
      const { url, pipe } = await start()
      const slow = open(`${url}/channels/ns/ch`, 'POST', { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' })
      await slow.write('first ')
      const firstConsumer = open(`${url}/channels/ns/ch`, 'GET')
      await firstConsumer.response
      expect(pipe.stats().runningTransfers).toBe(1)

      const secondProducer = send(`${url}/channels/ns/ch`, 'POST', 'second')
      const secondConsumer = open(`${url}/channels/ns/ch`, 'GET')
      await waitUntil(() => pipe.stats().waitingProducers === 1 && pipe.stats().waitingConsumers === 1)
      expect(pipe.stats().runningTransfers).toBe(1)

      // Another channel is not held up by this one.
      const other = send(`${url}/channels/ns/other`, 'POST', 'other')
      expect((await text(url, '/channels/ns/other'))).toBe('other')
      expect((await other).status).toBe(200)

      slow.end('half')
      expect((await firstConsumer.done).body.toString()).toBe('first half')
      expect((await slow.done).status).toBe(200)
      expect((await secondConsumer.done).body.toString()).toBe('second')
      expect((await secondProducer).status).toBe(200)
    })

    it('runs up to `concurrency` transfers at once on one channel', async () => {
      const { url, pipe } = await start({ concurrency: 2 })
      const producers = [0, 1].map(() => open(`${url}/channels/ns/ch`, 'POST', { 'Transfer-Encoding': 'chunked' }))
      await Promise.all(producers.map(async p => { await p.write('x') }))
      const consumers = [0, 1].map(() => open(`${url}/channels/ns/ch`, 'GET'))
      await Promise.all(consumers.map(async c => await c.response))
      expect(pipe.stats().runningTransfers).toBe(2)

      const third = open(`${url}/channels/ns/ch`, 'GET')
      await waitUntil(() => pipe.stats().waitingConsumers === 1)
      const thirdProducer = send(`${url}/channels/ns/ch`, 'POST', 'z')
      await waitUntil(() => pipe.stats().waitingProducers === 1)
      expect(pipe.stats().runningTransfers).toBe(2)

      producers.forEach(p => { p.end('y') })
      expect((await consumers[0]?.done)?.body.toString()).toBe('xy')
      expect((await consumers[1]?.done)?.body.toString()).toBe('xy')
      expect((await third.done).body.toString()).toBe('z')
      expect((await thirdProducer).status).toBe(200)
    })
  })

  describe('consumer headers', () => {
    it.each([
      ['text/plain; charset=utf-8', 'text/plain; charset=utf-8'],
      ['application/json', 'application/json'],
      ['image/png', 'image/png'],
      ['application/x-www-form-urlencoded', 'application/octet-stream'],
      ['text/html', 'text/plain'],
      ['TEXT/HTML; charset=UTF-8', 'text/plain; charset=UTF-8'],
      ['application/xhtml+xml', 'text/plain'],
      ['Image/SVG+XML;foo=bar', 'text/plain;foo=bar']
    ])('delivers Content-Type %s as %s, with nosniff and a sandbox CSP', async (sent, expected) => {
      const { url, pipe } = await start()
      const consumer = open(`${url}/channels/ns/ch`, 'GET')
      await waitUntil(() => pipe.stats().waitingConsumers === 1)
      await send(`${url}/channels/ns/ch`, 'POST', '<p>hi</p>', { 'Content-Type': sent })
      const { headers, body } = await consumer.done
      expect(headers['content-type']).toBe(expected)
      expect(headers['x-content-type-options']).toBe('nosniff')
      expect(headers['content-security-policy']).toBe('sandbox')
      expect(body.toString()).toBe('<p>hi</p>')
    })

    it('sends application/octet-stream when the producer sent no Content-Type', async () => {
      const { url, pipe } = await start()
      const consumer = open(`${url}/channels/ns/ch`, 'GET')
      await waitUntil(() => pipe.stats().waitingConsumers === 1)
      await send(`${url}/channels/ns/ch`, 'POST', 'raw')
      expect((await consumer.done).headers['content-type']).toBe('application/octet-stream')
    })

    it('passes Content-Disposition and Content-Length through', async () => {
      const { url, pipe } = await start()
      const consumer = open(`${url}/channels/ns/ch`, 'GET')
      await waitUntil(() => pipe.stats().waitingConsumers === 1)
      await send(`${url}/channels/ns/ch`, 'POST', 'file contents', { 'Content-Disposition': 'attachment; filename="report.txt"' })
      const { headers } = await consumer.done
      expect(headers['content-disposition']).toBe('attachment; filename="report.txt"')
      expect(headers['content-length']).toBe('13')
    })

    it('sends no Content-Length for a chunked message', async () => {
      const { url, pipe } = await start()
      const consumer = open(`${url}/channels/ns/ch`, 'GET')
      await waitUntil(() => pipe.stats().waitingConsumers === 1)
      const producer = open(`${url}/channels/ns/ch`, 'POST', { 'Transfer-Encoding': 'chunked' })
      producer.end('chunked')
      const { headers, body, complete } = await consumer.done
      expect(headers['content-length']).toBeUndefined()
      expect(headers['transfer-encoding']).toBe('chunked')
      expect(body.toString()).toBe('chunked')
      expect(complete).toBe(true)
    })

    it('refuses a GET sent to register a service worker', async () => {
      const { url, pipe } = await start()
      const res = await send(`${url}/channels/ns/ch`, 'GET', undefined, { 'Service-Worker': 'script' })
      expect(res.status).toBe(400)
      expect(res.body.toString()).toMatch(/service worker/)
      expect(pipe.stats().waitingConsumers).toBe(0)
    })
  })

  describe('binary integrity', () => {
    const size = 8 * 1024 * 1024 + 123
    const payload = randomBytes(size)
    const digest = createHash('sha256').update(payload).digest('hex')

    it('delivers a large random body with Content-Length byte for byte', async () => {
      const { url, pipe } = await start()
      const consumer = open(`${url}/channels/bin/ch`, 'GET')
      await waitUntil(() => pipe.stats().waitingConsumers === 1)
      const producer = await send(`${url}/channels/bin/ch`, 'POST', payload, { 'Content-Type': 'application/octet-stream', 'Content-Length': size })
      const received = await consumer.done
      expect(producer.status).toBe(200)
      expect(received.headers['content-length']).toBe(String(size))
      expect(received.body.length).toBe(size)
      expect(createHash('sha256').update(received.body).digest('hex')).toBe(digest)
      expect(pipe.stats().bytesTransferred).toBe(size)
    })

    it('delivers a large random chunked body byte for byte', async () => {
      const { url } = await start()
      const producer = open(`${url}/channels/bin/ch`, 'POST', { 'Transfer-Encoding': 'chunked' })
      const consumer = open(`${url}/channels/bin/ch`, 'GET')
      for (let offset = 0; offset < size; offset += 1024 * 1024 - 7) {
        await producer.write(payload.subarray(offset, offset + 1024 * 1024 - 7))
      }
      producer.end()
      const received = await consumer.done
      expect(received.complete).toBe(true)
      expect(createHash('sha256').update(received.body).digest('hex')).toBe(digest)
      expect((await producer.done).status).toBe(200)
    })

    it('delivers an empty message', async () => {
      const { url, pipe } = await start()
      const consumer = open(`${url}/channels/ns/empty`, 'GET')
      await waitUntil(() => pipe.stats().waitingConsumers === 1)
      expect((await send(`${url}/channels/ns/empty`, 'POST', '')).status).toBe(200)
      const received = await consumer.done
      expect(received.status).toBe(200)
      expect(received.headers['content-length']).toBe('0')
      expect(received.body.length).toBe(0)
    })
  })

  describe('cleanup', () => {
    it('leaves nothing behind after many distinct channels are used once each', async () => {
      const { url, pipe } = await start()
      for (let i = 0; i < 200; i++) {
        const consumer = open(`${url}/channels/ns${i % 7}/ch${i}`, 'GET')
        await waitUntil(() => pipe.stats().waitingConsumers === 1)
        await send(`${url}/channels/ns${i % 7}/ch${i}`, 'POST', `m${i}`)
        expect((await consumer.done).body.toString()).toBe(`m${i}`)
      }
      expect(pipe.stats()).toEqual({ namespaces: 0, channels: 0, waitingProducers: 0, waitingConsumers: 0, runningTransfers: 0, bytesTransferred: 690, transfers: [], reqres: IDLE_REQRES })
      expect((await request(url).get('/channels/namespaces').expect(200)).body).toEqual([])
    })
  })
})
