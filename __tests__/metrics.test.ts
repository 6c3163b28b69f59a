import { afterEach, describe, expect, it } from '@jest/globals'
import { Registry } from 'prom-client'
import { httpipeMetrics, type HttpipeMetrics } from '../lib/metrics'
import { adapters } from './helpers/app'
import { listen, open, send, waitUntil, type Listening } from './helpers/http'
import { parseMetrics } from './helpers/metrics'

let server: Listening | undefined
let metrics: HttpipeMetrics | undefined
afterEach(async () => {
  metrics?.stop()
  metrics = undefined
  await server?.close()
  server = undefined
})

describe.each(adapters)('httpipeMetrics(pipe) ($name)', ({ create }) => {
  it('counts a known sequence of transfers exactly, and never labels a channel name', async () => {
    const { app, pipe } = create({ limits: { bodySize: 10 } })
    const registry = new Registry()
    metrics = httpipeMetrics(pipe, { registry })
    server = await listen(app)
    const base = `${server.url}/channels`

    // Two delivered queue transfers (5 + 3 bytes), one waiting first and one matched at once.
    const first = send(`${base}/secret-ns/secret-ch`, 'POST', 'hello')
    await waitUntil(() => pipe.stats().waitingProducers === 1)
    expect((await send(`${base}/secret-ns/secret-ch`, 'GET')).status).toBe(200)
    await first
    const consumer = send(`${base}/secret-ns/secret-ch`, 'GET')
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    expect((await send(`${base}/secret-ns/secret-ch`, 'POST', 'abc')).status).toBe(200)
    await consumer
    // One failed queue transfer: a chunked body of 11 bytes over limits.bodySize (10), all 11 read.
    const taker = send(`${base}/secret-ns/big`, 'GET')
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    const big = open(`${base}/secret-ns/big`, 'POST', { 'Transfer-Encoding': 'chunked' })
    await big.write('0123456789')
    big.end('x')
    expect((await big.done).status).toBe(413)
    await taker
    // One pubsub broadcast of 2 bytes to one subscriber, one refusal before queueing.
    const subscriber = send(`${base}/secret-ns/news?pubsub=true`, 'GET')
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    expect((await send(`${base}/secret-ns/news?pubsub=true`, 'POST', 'hi')).status).toBe(200)
    await subscriber
    expect((await send(`${base}/secret-ns/ch`, 'PATCH')).status).toBe(405)
    // A live subscription open at scrape time.
    const live = open(`${base}/secret-ns/feed`, 'GET', { Accept: 'text/event-stream' })
    await live.response

    const text = await registry.metrics()
    const values = parseMetrics(text)
    expect(values['httpipe_transfers_total{mode="queue",outcome="delivered"}']).toBe(2)
    expect(values['httpipe_transfers_total{mode="queue",outcome="failed"}']).toBe(1)
    expect(values['httpipe_transfers_total{mode="pubsub",outcome="delivered"}']).toBe(1)
    expect(values['httpipe_refusals_total{type="entity.too.large"}']).toBe(1)
    expect(values['httpipe_refusals_total{type="method.not.allowed"}']).toBe(1)
    expect(values.httpipe_transferred_bytes_total).toBe(5 + 3 + 11 + 2)
    expect(values['httpipe_wait_duration_seconds_count{role="producer"}']).toBe(3)
    expect(values['httpipe_wait_duration_seconds_count{role="consumer"}']).toBe(3)
    expect(values['httpipe_wait_duration_seconds_count{role="subscriber"}']).toBe(1)
    expect(values['httpipe_transfer_duration_seconds_count{mode="queue"}']).toBe(3)
    expect(values['httpipe_wait_duration_seconds_bucket{le="3600",role="producer"}']).toBe(3)
    expect(values.httpipe_live_subscriptions).toBe(1)
    expect(values['httpipe_waiting_requests{role="consumer"}']).toBe(1)
    expect(values['httpipe_waiting_requests{role="producer"}']).toBe(0)
    expect(values.httpipe_channels).toBe(1)
    expect(values.httpipe_namespaces).toBe(1)
    expect(values.httpipe_running_transfers).toBe(0)
    expect(text).not.toContain('secret')

    live.destroy()
    await waitUntil(() => pipe.stats().waitingConsumers === 0)
    await new Promise(resolve => setImmediate(resolve))
    expect(parseMetrics(await registry.metrics()).httpipe_live_subscriptions).toBe(0)
  })

  it('times each wait from its queue join: 0 s for one matched on arrival, a live subscriber only before its first message', async () => {
    const { app, pipe } = create()
    const registry = new Registry()
    metrics = httpipeMetrics(pipe, { registry })
    server = await listen(app)
    const base = `${server.url}/channels`

    // A producer that waits, its consumer matched on arrival: the wait is bounded by what the test saw.
    const sent = performance.now()
    const producer = send(`${base}/ns/ch`, 'POST', 'hello')
    await waitUntil(() => pipe.stats().waitingProducers === 1)
    expect((await send(`${base}/ns/ch`, 'GET')).body.toString()).toBe('hello')
    const elapsed = (performance.now() - sent) / 1000
    await producer
    // A live pubsub subscription takes two messages: it waited before the first one only.
    const subscribed = performance.now()
    const live = open(`${base}/ns/feed?pubsub=true`, 'GET', { Accept: 'text/event-stream' })
    await live.response
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    let untilFirst = 0
    for (const body of ['one', 'two']) {
      const published = await send(`${base}/ns/feed?pubsub=true`, 'POST', body)
      expect(published.headers['x-httpipe-receivers']).toBe('1')
      untilFirst ||= (performance.now() - subscribed) / 1000
    }

    const values = parseMetrics(await registry.metrics())
    expect(values['httpipe_wait_duration_seconds_count{role="producer"}']).toBe(1)
    expect(values['httpipe_wait_duration_seconds_sum{role="producer"}']).toBeGreaterThan(0)
    expect(values['httpipe_wait_duration_seconds_sum{role="producer"}']).toBeLessThanOrEqual(elapsed)
    expect(values['httpipe_wait_duration_seconds_count{role="consumer"}']).toBe(1)
    expect(values['httpipe_wait_duration_seconds_sum{role="consumer"}']).toBe(0)
    expect(values['httpipe_wait_duration_seconds_bucket{le="0.001",role="consumer"}']).toBe(1)
    expect(values['httpipe_wait_duration_seconds_count{role="subscriber"}']).toBe(1)
    expect(values['httpipe_wait_duration_seconds_sum{role="subscriber"}']).toBeGreaterThan(0)
    expect(values['httpipe_wait_duration_seconds_sum{role="subscriber"}']).toBeLessThanOrEqual(untilFirst)
    expect(values['httpipe_transfer_duration_seconds_count{mode="queue"}']).toBe(1)
    expect(values['httpipe_transfer_duration_seconds_count{mode="pubsub"}']).toBe(2)
    live.destroy()
  })

  it('counts only its own router, and stop() unregisters', async () => {
    const mine = create()
    const other = create()
    const registry = new Registry()
    metrics = httpipeMetrics(mine.pipe, { registry, prefix: 'pipes_' })
    server = await listen(other.app)
    expect((await send(`${server.url}/channels/ns/ch`, 'PATCH')).status).toBe(405)
    const values = parseMetrics(await registry.metrics())
    expect(Object.keys(values).some(name => name.startsWith('pipes_refusals_total{'))).toBe(false)
    expect(values.pipes_channels).toBe(0)
    metrics.stop()
    metrics = undefined
    expect(await registry.metrics()).toBe('\n')
  })
})
