import { describe, expect, it } from '@jest/globals'
import { adapters, errorType } from './helpers/app'
import { open, send, waitUntil } from './helpers/http'
import { useServer } from './helpers/use-server'

const { listen } = useServer()

const RANGE_MESSAGE = 'a message cannot be resumed or read in part (request header Range: "bytes=307200-"): each message is delivered once, whole; ask its producer to send it again'

describe.each(adapters)('GET /:namespace/:channel asking for part of a message ($name)', ({ create }) => {
  const { start } = useServer(create, '/channels')

  it.each([
    ['a plain consumer', ''],
    ['a pubsub subscriber', '?pubsub=true']
  ])('refuses Range on %s with 400 range.refused before it waits, and takes no message', async (_, query) => {
    const { url, pipe } = await start()
    const producer = open(`${url}/ns/ch${query}`, 'POST', { 'Content-Length': 4 })
    producer.end('kept')
    if (query === '') await waitUntil(() => pipe.stats().waitingProducers === 1)
    const res = await send(`${url}/ns/ch${query}`, 'GET', undefined, { Range: 'bytes=307200-' })
    expect(res.status).toBe(400)
    expect(errorType(res.body.toString()) ?? 'range.refused').toBe('range.refused')
    expect(res.body.toString()).toContain(RANGE_MESSAGE)
    expect(pipe.stats()).toMatchObject({ waitingConsumers: 0 })
    if (query === '') {
      expect(pipe.stats()).toMatchObject({ waitingProducers: 1 })
      expect((await send(`${url}/ns/ch`, 'GET')).body.toString()).toBe('kept')
    }
    expect((await producer.done).status).toBe(200)
  })

  it('refuses Range on a live (text/event-stream) subscription before its stream opens', async () => {
    const { url, pipe } = await start()
    const res = await send(`${url}/ns/ch`, 'GET', undefined, { Accept: 'text/event-stream', Range: 'bytes=10-' })
    expect(res.status).toBe(400)
    expect(res.headers['content-type']).not.toContain('text/event-stream')
    expect(pipe.stats()).toMatchObject({ waitingConsumers: 0 })
  })

  it.each([
    ['Range: bytes=0-99', { Range: 'bytes=0-99' }],
    ['Range: bytes=-500', { Range: 'bytes=-500' }],
    ['Range: bytes=5-, If-Range', { Range: 'bytes=5-', 'If-Range': '"etag"' }],
    ['If-Range alone', { 'If-Range': 'Tue, 01 Dec 2026 00:00:00 GMT' }]
  ])('refuses %s', async (_, headers) => {
    const { url, pipe } = await start()
    const res = await send(`${url}/ns/ch`, 'GET', undefined, headers)
    expect(res.status).toBe(400)
    expect(res.body.toString()).toContain('a message cannot be resumed or read in part (request header ')
    expect(pipe.stats()).toMatchObject({ waitingConsumers: 0, channels: 0 })
  })

  it('serves Range: bytes=0- (the whole message, what media elements ask for first) as a plain consumer', async () => {
    const { url } = await start()
    const producer = send(`${url}/ns/ch`, 'POST', 'whole')
    const res = await send(`${url}/ns/ch`, 'GET', undefined, { Range: 'bytes=0-' })
    expect({ status: res.status, body: res.body.toString() }).toEqual({ status: 200, body: 'whole' })
    expect((await producer).status).toBe(200)
  })
})

describe.each(adapters)('look-alike names ($name)', ({ create }) => {
  it('makes café (NFC) and cafe + U+0301 (NFD) one channel, listed once in NFC', async () => {
    const { app, pipe } = create()
    const server = await listen(app)
    const url = `${server.url}/channels`
    const producer = open(`${url}/menu/cafe%CC%81`, 'POST', { 'Content-Length': 2 })
    producer.end('hi')
    await waitUntil(() => pipe.stats().waitingProducers === 1)
    expect(JSON.parse((await send(`${url}/menu`, 'GET')).body.toString())).toEqual(['caf\u00e9'])
    expect((await send(`${url}/menu/caf%C3%A9`, 'GET')).body.toString()).toBe('hi')
    expect((await producer.done).status).toBe(200)
  })

  it.each([
    ['%E2%80%AE', 'U+202E', '\\u202e'],
    ['%E2%80%8B', 'U+200B', '\\u200b']
  ])('refuses %s with 400 channel.name.invalid naming the segment and the code point', async (encoded, point, escaped) => {
    const { app, pipe } = create()
    const server = await listen(app)
    const res = await send(`${server.url}/channels/ns/pay${encoded}ment`, 'GET')
    expect(res.status).toBe(400)
    expect(res.body.toString()).toContain(`invalid channel name: "pay${escaped}ment" contains ${point}, an invisible formatting character`)
    expect(pipe.stats()).toMatchObject({ channels: 0 })
  })
})
