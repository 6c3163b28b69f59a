import { afterEach, describe, expect, it } from '@jest/globals'
import { connect, type Socket } from 'node:net'
import { adapters } from './helpers/app'
import { open, send, waitUntil } from './helpers/http'
import { useServer, type Started } from './helpers/use-server'

const ZERO = { namespaces: 0, channels: 0, waitingProducers: 0, waitingConsumers: 0, runningTransfers: 0 }

describe.each(adapters)('disconnects ($name)', ({ create }) => {
  const { start } = useServer(create, '/channels/ns/ch')

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

// Every disconnect above again with bodies of 1 KiB, 1 MiB and 64 MiB (beyond the socket buffers a
// waiting producer's departure is seen only by probing: probeInterval is short here), and with the
// waiting request pipelined behind another one on its connection.
const SIZES = [['1 KiB', 1024], ['1 MiB', 1024 * 1024], ['64 MiB', 64 * 1024 * 1024]] as const
const MESSAGES = new Map(SIZES.map(([, size]) => [size, Buffer.alloc(size, 'abcdefghijklmnopqrstuvwxyz')]))
const message = (size: number): Buffer => MESSAGES.get(size) as Buffer

describe.each(adapters)('disconnects with large bodies ($name)', ({ create }) => {
  const sockets: Socket[] = []
  // Before the servers close (hooks run in the order declared), as it was.
  afterEach(() => { for (const socket of sockets.splice(0)) socket.destroy() })
  const servers = useServer(create, '/channels/ns/ch')
  const start = async (): Promise<Started> => await servers.start({ probeInterval: 50 })

  describe.each(SIZES)('with a %s body', (_, size) => {
    it('removes a waiting producer that disconnects, so its message is never delivered', async () => {
      const { url, pipe } = await start()
      const gone = open(url, 'POST', { 'Content-Length': size })
      gone.write(message(size)).catch(() => {})
      await waitUntil(() => pipe.stats().waitingProducers === 1)
      gone.destroy()
      await waitUntil(() => pipe.stats().waitingProducers === 0)
      expect(pipe.stats()).toMatchObject(ZERO)
    })

    it('cuts the consumer off when the producer disconnects mid-transfer', async () => {
      const { url, pipe } = await start()
      const producer = open(url, 'POST', { 'Content-Length': size })
      const half = message(size).subarray(0, size / 2)
      const written = producer.write(half)
      const consumer = open(url, 'GET')
      await written
      await waitUntil(() => pipe.stats().bytesTransferred >= half.length)
      producer.destroy()
      const received = await consumer.done
      expect(received.complete).toBe(false)
      expect(received.body.length).toBeLessThan(size)
      expect(received.body.equals(message(size).subarray(0, received.body.length))).toBe(true)
      await waitUntil(() => pipe.stats().runningTransfers === 0)
      expect(pipe.stats()).toMatchObject(ZERO)
    })

    it('answers the producer 502, never 200, when the consumer disconnects mid-transfer', async () => {
      const { url, pipe } = await start()
      const producer = open(url, 'POST', { 'Content-Length': size })
      // Half the message: the transfer cannot finish before the consumer leaves.
      producer.write(message(size).subarray(0, size / 2)).catch(() => {})
      const consumer = open(url, 'GET')
      await consumer.response
      await waitUntil(() => pipe.stats().bytesTransferred > 0)
      consumer.destroy()
      await waitUntil(() => pipe.stats().runningTransfers === 0)
      expect((await producer.response).statusCode).toBe(502)
      expect(pipe.stats()).toMatchObject(ZERO)
    })

    it('removes a producer pipelined behind a waiting consumer when their connection goes', async () => {
      const { port, pipe } = await start()
      const socket = connect(port, '127.0.0.1')
      socket.on('error', () => {})
      sockets.push(socket)
      socket.write(`GET /channels/ns/other HTTP/1.1\r\nHost: x\r\n\r\nPOST /channels/ns/ch HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`)
      socket.write(message(size))
      await waitUntil(() => pipe.stats().waitingConsumers === 1 && pipe.stats().waitingProducers === 1)
      socket.destroy()
      await waitUntil(() => pipe.stats().waitingConsumers === 0 && pipe.stats().waitingProducers === 0)
      expect(pipe.stats()).toMatchObject(ZERO)
      // The channel works: the pipelined producer's message went nowhere.
      const consumer = open(url(port), 'GET')
      await waitUntil(() => pipe.stats().waitingConsumers === 1)
      expect((await send(url(port), 'POST', 'fresh')).status).toBe(200)
      expect((await consumer.done).body.toString()).toBe('fresh')
    })
  })
})

function url (port: number): string {
  return `http://127.0.0.1:${port}/channels/ns/ch`
}
