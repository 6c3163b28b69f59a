import { request as httpRequest, type IncomingMessage } from 'node:http'
import { describe, expect, it } from '@jest/globals'
import compression from 'compression'
import express from 'express'
import { httpipe } from '../lib'
import { open, send, waitUntil } from './helpers/http'
import { useServer } from './helpers/use-server'

// Every response httpipe streams says `Cache-Control: no-transform`, which compression() honours:
// it leaves the bytes, Content-Length and the pace of events alone.
describe('httpipe mounted behind compression()', () => {
  const { listen } = useServer()

  const GZIP = { 'Accept-Encoding': 'gzip, deflate, br' }

  async function start (): Promise<{ url: string, pipe: ReturnType<typeof httpipe> }> {
    const pipe = httpipe()
    const app = express()
    app.use(compression({ threshold: 0 }))
    app.use('/channels', pipe)
    const server = await listen(app)
    return { url: `${server.url}/channels/zip/ch`, pipe }
  }

  async function subscribe (url: string): Promise<{ response: IncomingMessage, text: () => string, close: () => void }> {
    return await new Promise((resolve, reject) => {
      const req = httpRequest(url, { agent: false, headers: { ...GZIP, Accept: 'text/event-stream' } }, response => {
        let text = ''
        response.setEncoding('latin1')
        response.on('data', (chunk: string) => { text += chunk })
        response.on('error', () => {})
        resolve({ response, text: () => text, close: () => { req.destroy() } })
      })
      req.on('error', reject).end()
    })
  }

  it('streams live events at once, uncompressed, and answers a queue-mode producer', async () => {
    const { url, pipe } = await start()
    const live = await subscribe(url)
    expect(live.response.headers['content-encoding']).toBeUndefined()
    expect(live.response.headers['cache-control']).toBe('no-store, no-transform')
    await waitUntil(() => live.text() === ': subscribed to zip/ch\n\n' && pipe.stats().waitingConsumers === 1)
    const produced = await send(url, 'POST', 'hello', GZIP)
    expect(produced.status).toBe(200)
    await waitUntil(() => live.text() === ': subscribed to zip/ch\n\ndata: hello\n\n')
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    expect((await send(url, 'POST', 'again', GZIP)).status).toBe(200)
    await waitUntil(() => live.text().endsWith('data: again\n\n'))
    live.close()
  })

  it('relays a queue-mode message byte for byte and keeps its Content-Length', async () => {
    const { url, pipe } = await start()
    const body = 'compressible text '.repeat(1000)
    const consumer = open(url, 'GET', GZIP)
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    const producer = await send(url, 'POST', body, { 'Content-Type': 'text/plain', 'Content-Length': body.length })
    expect(producer.status).toBe(200)
    const received = await consumer.done
    expect(received.headers['content-encoding']).toBeUndefined()
    expect(received.headers['content-length']).toBe(String(body.length))
    expect(received.headers['cache-control']).toBe('no-store, no-transform')
    expect(received.body.toString()).toBe(body)
  })

  it('delivers pubsub messages to raw and live subscribers unchanged', async () => {
    const { url, pipe } = await start()
    const live = await subscribe(`${url}?pubsub=true`)
    const raw = open(`${url}?pubsub=true`, 'GET', GZIP)
    await waitUntil(() => pipe.stats().waitingConsumers === 2)
    const published = await send(`${url}?pubsub=true`, 'POST', 'to all', { ...GZIP, 'Content-Type': 'text/plain' })
    expect(published.headers['x-httpipe-receivers']).toBe('2')
    const received = await raw.done
    expect(received.headers['content-encoding']).toBeUndefined()
    expect(received.body.toString()).toBe('to all')
    await waitUntil(() => live.text().endsWith('data: to all\n\n'))
    live.close()
  })

  it('answers a producer matched to a live subscriber behind middleware whose res.write drops the callback', async () => {
    // What compression() does to a response it compresses: events must go by return value and 'drain'.
    const pipe = httpipe()
    const app = express()
    app.use((_req, res, next) => {
      const write = res.write.bind(res) as (chunk: unknown) => boolean
      res.write = ((chunk: unknown) => write(chunk)) as typeof res.write
      next()
    })
    app.use('/channels', pipe)
    const server = await listen(app)
    const url = `${server.url}/channels/zip/ch`
    const live = await subscribe(url)
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    expect((await send(url, 'POST', 'hello')).status).toBe(200)
    await waitUntil(() => live.text().endsWith('data: hello\n\n') && pipe.stats().waitingConsumers === 1)
    expect((await send(url, 'POST', 'again')).status).toBe(200)
    live.close()
  })
})
