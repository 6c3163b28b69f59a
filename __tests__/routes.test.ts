import { afterEach, describe, expect, it } from '@jest/globals'
import express from 'express'
import { httpipe } from '../lib'
import { IDLE_REQRES, adapters, createExpressApp } from './helpers/app'
import { listen, open, send, waitUntil, type Listening } from './helpers/http'
import { hasFastProperties } from './helpers/v8'

let server: Listening | undefined
afterEach(async () => { await server?.close(); server = undefined })

describe.each(adapters)('routes ($name)', ({ create }) => {
  async function start (options?: Parameters<typeof create>[0]): Promise<{ url: string, pipe: ReturnType<typeof create>['pipe'] }> {
    const { app, pipe } = create(options)
    server = await listen(app)
    return { url: `${server.url}/channels`, pipe }
  }

  describe('DELETE /:namespace/:channel', () => {
    it('answers 410 to every waiting request and 204 to the caller', async () => {
      const { url, pipe } = await start()
      const consumers = [open(`${url}/ns/ch`, 'GET'), open(`${url}/ns/ch`, 'GET')]
      await waitUntil(() => pipe.stats().waitingConsumers === 2)
      const bystander = open(`${url}/ns/other`, 'GET')
      await waitUntil(() => pipe.stats().waitingConsumers === 3)

      const deleted = await send(`${url}/ns/ch`, 'DELETE')
      expect(deleted.status).toBe(204)
      for (const consumer of consumers) {
        const res = await consumer.done
        expect(res.status).toBe(410)
        expect(res.body.toString()).toContain('channel ns/ch was deleted')
      }
      expect(pipe.stats()).toMatchObject({ channels: 1, waitingConsumers: 1 })
      bystander.destroy()
    })

    it('answers 410 to waiting producers too', async () => {
      const { url, pipe } = await start()
      const producer = send(`${url}/ns/ch`, 'POST', 'never sent')
      await waitUntil(() => pipe.stats().waitingProducers === 1)
      expect((await send(`${url}/ns/ch`, 'DELETE')).status).toBe(204)
      expect((await producer).status).toBe(410)
      expect(pipe.stats()).toMatchObject({ namespaces: 0, channels: 0, waitingProducers: 0 })
    })

    it('is idempotent: 204 when nothing was there', async () => {
      const { url } = await start()
      expect((await send(`${url}/ns/ch`, 'DELETE')).status).toBe(204)
      expect((await send(`${url}/ns/ch`, 'DELETE')).status).toBe(204)
    })

    it('lets a running transfer finish', async () => {
      const { url, pipe } = await start()
      const producer = open(`${url}/ns/ch`, 'POST', { 'Transfer-Encoding': 'chunked' })
      await producer.write('still ')
      const consumer = open(`${url}/ns/ch`, 'GET')
      await consumer.response
      const queued = send(`${url}/ns/ch`, 'GET')
      await waitUntil(() => pipe.stats().waitingConsumers === 1)

      expect((await send(`${url}/ns/ch`, 'DELETE')).status).toBe(204)
      expect((await queued).status).toBe(410)
      producer.end('delivered')
      expect((await consumer.done).body.toString()).toBe('still delivered')
      expect((await producer.done).status).toBe(200)
    })
  })

  describe('DELETE /:namespace', () => {
    it('answers 410 to every waiting request of every channel of the namespace', async () => {
      const { url, pipe } = await start()
      const consumer = open(`${url}/ns/a`, 'GET')
      const producer = send(`${url}/ns/b`, 'POST', 'b')
      const elsewhere = open(`${url}/other/a`, 'GET')
      await waitUntil(() => pipe.stats().waitingConsumers === 2 && pipe.stats().waitingProducers === 1)

      expect((await send(`${url}/ns`, 'DELETE')).status).toBe(204)
      expect((await consumer.done).status).toBe(410)
      expect((await producer).status).toBe(410)
      expect(pipe.stats()).toMatchObject({ namespaces: 1, channels: 1, waitingConsumers: 1, waitingProducers: 0 })
      expect((await send(`${url}/nothing-here`, 'DELETE')).status).toBe(204)
      elsewhere.destroy()
    })
  })

  describe('listing', () => {
    it('lists namespaces and the channels of one, decoded, while they exist', async () => {
      const { url, pipe } = await start()
      expect(JSON.parse((await send(`${url}/namespaces`, 'GET')).body.toString())).toEqual([])
      const waiting = [open(`${url}/jobs/urgent`, 'GET'), open(`${url}/jobs/caf%C3%A9`, 'GET'), open(`${url}/chat/room`, 'GET')]
      await waitUntil(() => pipe.stats().waitingConsumers === 3)

      const namespaces = await send(`${url}/namespaces`, 'GET')
      expect(namespaces.status).toBe(200)
      expect(namespaces.headers['content-type']).toBe('application/json; charset=utf-8')
      expect(JSON.parse(namespaces.body.toString()).sort()).toEqual(['chat', 'jobs'])
      expect(JSON.parse((await send(`${url}/jobs`, 'GET')).body.toString()).sort()).toEqual(['café', 'urgent'])
      expect(JSON.parse((await send(`${url}/jobs/`, 'GET')).body.toString()).sort()).toEqual(['café', 'urgent'])

      waiting.forEach(w => { w.destroy() })
      await waitUntil(() => pipe.stats().waitingConsumers === 0)
      expect(JSON.parse((await send(`${url}/namespaces`, 'GET')).body.toString())).toEqual([])
    })

    it('answers 404 for a namespace with no channels', async () => {
      const { url } = await start()
      const res = await send(`${url}/empty`, 'GET')
      expect(res.status).toBe(404)
      expect(res.body.toString()).toContain('namespace "empty" has no channels')
    })

    it('keeps `namespaces` usable as a namespace name', async () => {
      const { url, pipe } = await start()
      const consumer = open(`${url}/namespaces/ch`, 'GET')
      await waitUntil(() => pipe.stats().waitingConsumers === 1)
      expect((await send(`${url}/namespaces/ch`, 'POST', 'ok')).status).toBe(200)
      expect((await consumer.done).body.toString()).toBe('ok')
    })

    it('answers 404 to both listings with listing: false', async () => {
      const { url, pipe } = await start({ listing: false })
      const waiting = open(`${url}/secret/ch`, 'GET')
      await waitUntil(() => pipe.stats().waitingConsumers === 1)
      for (const path of ['/namespaces', '/secret']) {
        const res = await send(url + path, 'GET')
        expect(res.status).toBe(404)
        expect(res.body.toString()).toContain('listing is disabled')
      }
      waiting.destroy()
    })
  })

  describe('names', () => {
    it.each([
      ['/a%2Fb/ch', 'namespace', 'contains "/"'],
      ['/ns/a%2fb', 'channel', 'contains "/"'],
      ['/ns/%E0%A4%A', 'channel', 'malformed percent-encoding'],
      ['/%ED%A0%80/ch', 'namespace', 'malformed percent-encoding'],
      ['/ns/a%00b', 'channel', 'control character'],
      ['/ns/a%7Fb', 'channel', 'control character'],
      ['/ns/' + 'x'.repeat(257), 'channel', '257 characters long; the limit is 256'],
      ['//ch', 'namespace', 'empty']
    ])('answers 400 for %s, naming the %s', async (path, segment, reason) => {
      const { url, pipe } = await start()
      for (const method of ['GET', 'POST']) {
        const res = await send(url + path, method, method === 'POST' ? 'x' : undefined)
        expect(res.status).toBe(400)
        expect(res.body.toString()).toContain(`invalid ${segment} name`)
        expect(res.body.toString()).toContain(reason)
      }
      expect(pipe.stats().channels).toBe(0)
    })

    it('accepts 256 characters (code points, after decoding) and UTF-8 names', async () => {
      const { url, pipe } = await start()
      const name = encodeURIComponent('🚀'.repeat(256))
      const consumer = open(`${url}/ns/${name}`, 'GET')
      await waitUntil(() => pipe.stats().waitingConsumers === 1)
      expect((await send(`${url}/ns/${name}`, 'POST', 'rocket')).status).toBe(200)
      expect((await consumer.done).body.toString()).toBe('rocket')
    })

    it('answers 404 for a path of more than two segments', async () => {
      const { url } = await start()
      const res = await send(`${url}/a/b/c`, 'GET')
      expect(res.status).toBe(404)
      expect(res.body.toString()).toContain('/{namespace}/{channel}')
    })
  })

  describe('methods', () => {
    it('answers HEAD with 405 and never consumes a message', async () => {
      const { url, pipe } = await start()
      const producer = send(`${url}/ns/ch`, 'POST', 'kept')
      await waitUntil(() => pipe.stats().waitingProducers === 1)
      const head = await send(`${url}/ns/ch`, 'HEAD')
      expect(head.status).toBe(405)
      expect(head.headers.allow).toBe('GET, POST, PUT, DELETE')
      expect(pipe.stats().waitingProducers).toBe(1)
      expect((await send(`${url}/ns/ch`, 'GET')).body.toString()).toBe('kept')
      expect((await producer).status).toBe(200)
    })

    it.each(['PATCH', 'OPTIONS'])('answers %s on a channel with 405 and an Allow header', async method => {
      const { url } = await start()
      const res = await send(`${url}/ns/ch`, method)
      expect(res.status).toBe(405)
      expect(res.headers.allow).toBe('GET, POST, PUT, DELETE')
      expect(res.body.toString()).toContain(`method ${method} is not allowed`)
    })

    it('answers POST on a namespace with 405 and an Allow header', async () => {
      const { url } = await start()
      const res = await send(`${url}/ns`, 'POST', 'x')
      expect(res.status).toBe(405)
      expect(res.headers.allow).toBe('GET, DELETE')
    })
  })

  describe('close()', () => {
    it('answers 503 to waiting and new requests, lets the running transfer finish, then resolves', async () => {
      const { url, pipe } = await start()
      const producer = open(`${url}/ns/ch`, 'POST', { 'Transfer-Encoding': 'chunked' })
      await producer.write('in ')
      const consumer = open(`${url}/ns/ch`, 'GET')
      await consumer.response
      const waiting = send(`${url}/ns/other`, 'GET')
      await waitUntil(() => pipe.stats().waitingConsumers === 1)

      let closed = false
      const closing = pipe.close().then(() => { closed = true })
      const refused = await waiting
      expect(refused.status).toBe(503)
      expect(refused.headers['retry-after']).toBe('1')
      expect(refused.body.toString()).toContain('shutting down')
      expect((await send(`${url}/ns/new`, 'POST', 'late')).status).toBe(503)
      expect(closed).toBe(false)

      producer.end('flight')
      expect((await consumer.done).body.toString()).toBe('in flight')
      expect((await producer.done).status).toBe(200)
      await closing
      expect(pipe.stats()).toMatchObject({ channels: 0, runningTransfers: 0 })
      await pipe.close()
    })

    it('resolves at once when nothing is running', async () => {
      const { pipe } = await start()
      await expect(pipe.close()).resolves.toBeUndefined()
    })
  })

  describe('stats()', () => {
    it('counts namespaces, channels, waiting producers and consumers, running transfers and bytes', async () => {
      const { url, pipe } = await start()
      expect(pipe.stats()).toEqual({ namespaces: 0, channels: 0, waitingProducers: 0, waitingConsumers: 0, runningTransfers: 0, bytesTransferred: 0, transfers: [], reqres: IDLE_REQRES })
      const producer = open(`${url}/a/one`, 'POST', { 'Transfer-Encoding': 'chunked' })
      await producer.write('12345')
      const consumer = open(`${url}/a/one`, 'GET')
      await consumer.response
      const waitingProducer = send(`${url}/a/two`, 'POST', 'x')
      const waitingConsumer = open(`${url}/b/one`, 'GET')
      await waitUntil(() => pipe.stats().waitingProducers === 1 && pipe.stats().waitingConsumers === 1 && pipe.stats().bytesTransferred === 5)
      const { transfers, ...counts } = pipe.stats()
      expect(counts).toEqual({ namespaces: 2, channels: 3, waitingProducers: 1, waitingConsumers: 1, runningTransfers: 1, bytesTransferred: 5, reqres: IDLE_REQRES })
      expect(transfers).toEqual([{ namespace: 'a', channel: 'one', bytes: 5, total: undefined, receivers: 1, pubsub: false, startedAt: expect.any(Number) }])

      producer.end('678')
      await consumer.done
      await waitUntil(() => pipe.stats().runningTransfers === 0)
      expect(pipe.stats().bytesTransferred).toBe(8)
      await send(`${url}/a/two`, 'DELETE')
      await send(`${url}/b/one`, 'DELETE')
      expect((await waitingProducer).status).toBe(410)
      expect((await waitingConsumer.done).status).toBe(410)
      expect(pipe.stats()).toEqual({ namespaces: 0, channels: 0, waitingProducers: 0, waitingConsumers: 0, runningTransfers: 0, bytesTransferred: 8, transfers: [], reqres: IDLE_REQRES })
    })
  })
})

describe('express router behind a body parser', () => {
  it('answers 500 telling the user to mount httpipe first, and never forwards the emptied body', async () => {
    const app = express()
    const { pipe, express: inner } = createExpressApp()
    app.use(express.text({ type: '*/*' }))
    app.use(inner)
    server = await listen(app)
    const consumer = open(`${server.url}/channels/ns/ch`, 'GET')
    await waitUntil(() => pipe.stats().waitingConsumers === 1)

    const res = await send(`${server.url}/channels/ns/ch`, 'POST', 'swallowed', { 'Content-Type': 'text/plain' })
    expect(res.status).toBe(500)
    expect(res.body.toString()).toBe('[body.consumed] the request body was already read by another middleware: mount httpipe before body parsers (express.json(), express.raw(), ...)')
    expect(pipe.stats().waitingConsumers).toBe(1)
    consumer.destroy()
  })

  it('relays bodies a parser mounted earlier did not touch (other content types)', async () => {
    const app = express()
    const { pipe, express: inner } = createExpressApp()
    app.use(express.json())
    app.use(inner)
    server = await listen(app)
    const consumer = open(`${server.url}/channels/ns/ch`, 'GET')
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    expect((await send(`${server.url}/channels/ns/ch`, 'POST', 'plain', { 'Content-Type': 'text/plain' })).status).toBe(200)
    expect((await consumer.done).body.toString()).toBe('plain')
  })
})

describe('express router dispatch', () => {
  it('works mounted below a path parameter, and hands its errors to the app', async () => {
    const app = express()
    const pipe = httpipe()
    app.use('/t/:tenant/channels', pipe)
    app.use((err: { status: number, type: string }, req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(err.status).type('text/plain').send(`${err.type} for ${req.originalUrl}`)
    })
    server = await listen(app)
    const consumer = open(`${server.url}/t/acme/channels/ns/ch`, 'GET')
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    expect((await send(`${server.url}/t/acme/channels/ns/ch`, 'POST', 'hi')).status).toBe(200)
    expect((await consumer.done).body.toString()).toBe('hi')

    const bad = await send(`${server.url}/t/acme/channels/a/b/c`, 'GET')
    expect({ status: bad.status, body: bad.body.toString() }).toEqual({ status: 404, body: 'route.not.found for /t/acme/channels/a/b/c' })
  })

  it('normalizes what Express re-prototyped: a request as it arrives, a response once its transfer starts', async () => {
    const seen: object[] = []
    const app = express()
    app.use((req, res, next) => { seen.push(req, res); next() })
    const pipe = httpipe()
    app.use('/channels', pipe)
    server = await listen(app)
    const consumer = open(`${server.url}/channels/ns/ch`, 'GET')
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    // A waiting response is left as it is: in dictionary mode it would cost more memory per waiter.
    expect(seen.map(hasFastProperties)).toEqual([false, true])

    expect((await send(`${server.url}/channels/ns/ch`, 'POST', 'hi')).status).toBe(200)
    expect((await consumer.done).body.toString()).toBe('hi')
    expect(seen).toHaveLength(4)
    expect(seen.map(hasFastProperties)).toEqual([false, false, false, false])
  })

  it('normalizes the responses of a broadcast too', async () => {
    const seen: object[] = []
    const app = express()
    app.use((_req, res, next) => { seen.push(res); next() })
    const pipe = httpipe()
    app.use('/channels', pipe)
    server = await listen(app)
    const subscriber = open(`${server.url}/channels/ns/ch?pubsub=true`, 'GET')
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    expect((await send(`${server.url}/channels/ns/ch?pubsub=true`, 'POST', 'hi')).status).toBe(200)
    expect((await subscriber.done).body.toString()).toBe('hi')
    expect(seen.map(hasFastProperties)).toEqual([false, false])
  })

  it('is a plain function: no Express Router, and an error handler of its own goes in a Router around it', async () => {
    const pipe = httpipe()
    expect(typeof pipe).toBe('function')
    expect(pipe.length).toBe(3)
    expect(Object.keys(pipe).sort()).toEqual(['close', 'reqres', 'stats'])
    expect('use' in pipe || 'stack' in pipe || 'handle' in pipe).toBe(false)
    const router = express.Router()
    router.use(pipe)
    router.use((err: { type: string }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(418).type('text/plain').send(`router saw ${err.type}`)
    })
    const app = express()
    app.use('/channels', router)
    server = await listen(app)
    const res = await send(`${server.url}/channels/a/b/c`, 'GET')
    expect({ status: res.status, body: res.body.toString() }).toEqual({ status: 418, body: 'router saw route.not.found' })

    const consumer = open(`${server.url}/channels/ns/ch`, 'GET')
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    expect((await send(`${server.url}/channels/ns/ch`, 'POST', 'still relays')).status).toBe(200)
    expect((await consumer.done).body.toString()).toBe('still relays')
  })
})
