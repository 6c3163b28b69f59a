import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals'
import { adapters } from './helpers/app'
import { open, send, waitUntil } from './helpers/http'
import { useServer, type Started } from './helpers/use-server'

describe.each(adapters)('with timeout ($name)', ({ create }) => {
  beforeEach(() => {
    // Sockets and supertest need the real nextTick/setImmediate; only our wait timers are faked.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] })
  })
  // Before the servers close (hooks run in the order declared), as it was.
  afterEach(() => { jest.useRealTimers() })
  const servers = useServer(create, '/channels/ns/ch')
  const start = async (timeout: number, concurrency?: number): Promise<Started> => await servers.start({ timeout, concurrency })

  it('responds 408 to a consumer nobody produced for', async () => {
    const { url, pipe } = await start(1000)
    const consumer = send(url, 'GET')
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    await jest.advanceTimersByTimeAsync(999)
    expect(pipe.stats().waitingConsumers).toBe(1)
    await jest.advanceTimersByTimeAsync(1)

    const res = await consumer
    expect(res.status).toBe(408)
    expect(res.body.toString()).toContain('no counterpart arrived on channel ns/ch within 1000 ms (option timeout)')
    expect(pipe.stats()).toMatchObject({ channels: 0, waitingConsumers: 0 })
  })

  it('responds 408 to a producer nobody consumed', async () => {
    const { url, pipe } = await start(500)
    const producer = send(url, 'POST', 'unwanted')
    await waitUntil(() => pipe.stats().waitingProducers === 1)
    await jest.advanceTimersByTimeAsync(500)
    expect((await producer).status).toBe(408)
    expect(pipe.stats()).toMatchObject({ channels: 0, waitingProducers: 0 })
  })

  it('never cuts a matched transfer that outlasts the timeout', async () => {
    const { url } = await start(100)
    const producer = open(url, 'POST', { 'Transfer-Encoding': 'chunked' })
    await producer.write('slow ')
    const consumer = open(url, 'GET')
    await consumer.response
    await jest.advanceTimersByTimeAsync(10_000)
    producer.end('but complete')
    expect((await consumer.done).body.toString()).toBe('slow but complete')
    expect((await producer.done).status).toBe(200)
  })

  it('times out a request queued behind a running transfer on the same channel', async () => {
    const { url, pipe } = await start(100)
    const producer = open(url, 'POST', { 'Transfer-Encoding': 'chunked' })
    await producer.write('running')
    const consumer = open(url, 'GET')
    await consumer.response

    const queuedProducer = send(url, 'POST', 'queued')
    const queuedConsumer = send(url, 'GET')
    await waitUntil(() => pipe.stats().waitingProducers === 1 && pipe.stats().waitingConsumers === 1)
    await jest.advanceTimersByTimeAsync(100)
    expect((await queuedProducer).status).toBe(408)
    expect((await queuedConsumer).status).toBe(408)

    producer.end()
    expect((await consumer.done).body.toString()).toBe('running')
    expect((await producer.done).status).toBe(200)
  })

  it('leaves no timer behind once a waiter is matched', async () => {
    const { url, pipe } = await start(60_000)
    const consumer = send(url, 'GET')
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    // Its wait timer, and the departure probe's interval (one per router, while anything waits).
    expect(jest.getTimerCount()).toBe(2)
    expect((await send(url, 'POST', 'x')).status).toBe(200)
    expect((await consumer).status).toBe(200)
    expect(jest.getTimerCount()).toBe(0)
  })
})
