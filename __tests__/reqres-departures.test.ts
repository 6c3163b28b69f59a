import { afterEach, describe, expect, it } from '@jest/globals'
import type { IncomingMessage } from 'node:http'
import { connect, type Socket } from 'node:net'
import type { HttpipeControls, HttpipeOptions, ReqResStats } from '../lib'
import { IDLE_REQRES, adapters } from './helpers/app'
import { open, send, waitUntil } from './helpers/http'
import { useServer } from './helpers/use-server'

// Requesters and responders that wait are watched as channel waiters are (issue 14): a client
// that vanishes while its upload is larger than the socket buffers is found by the departure
// probe, and a request pipelined behind another one on its connection waits for its turn. Every
// client here is a raw node:net socket that never says goodbye.

const MiB = 1024 * 1024
const BIG = 64 * MiB
// Counting words, so that a shifted or spliced copy would not pass for the original.
const bigBody = ((): Buffer => {
  const words = new Uint32Array(BIG / 4)
  for (let i = 0; i < words.length; i++) words[i] = i
  return Buffer.from(words.buffer)
})()

/** A raw connection that sends `requests` back to back (pipelined) and collects what comes back. */
interface RawClient {
  readonly socket: Socket
  readonly received: () => string
}

const sockets: Socket[] = []
afterEach(() => { for (const socket of sockets.splice(0)) socket.destroy() })

function rawClient (port: number, ...chunks: Array<string | Buffer>): RawClient {
  const socket = connect(port, '127.0.0.1')
  sockets.push(socket)
  let data = ''
  socket.on('data', (chunk: Buffer) => { data += chunk.toString('latin1') })
  socket.on('error', () => {})
  for (const chunk of chunks) socket.write(chunk)
  return { socket, received: () => data }
}

/** The final responses (interim ones, the probes, left out) a raw client has received so far, as `status body`. */
function finals (client: RawClient): string[] {
  return client.received().split('HTTP/1.1 ').slice(1).filter(response => !/^1\d\d /.test(response))
}

const request = (method: string, path: string, body = ''): string =>
  `${method} ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`

describe.each(adapters)('request/response mode: departures and pipelining ($name)', ({ create }) => {
  // Declared after the hook above, so the servers close after their clients are gone.
  const { listen } = useServer(create)

  /** The server's side of each request, in arrival order: how far Node has read it. */
  let arrived: IncomingMessage[] = []
  async function start (options?: HttpipeOptions): Promise<{ port: number, url: string, pipe: HttpipeControls }> {
    const { app, pipe } = create(options)
    arrived = []
    const server = await listen((req, res) => { arrived.push(req); app(req, res) })
    return { port: server.port, url: server.url, pipe }
  }

  const reqres = (pipe: HttpipeControls): ReqResStats => pipe.stats().reqres

  /**
   * Starts a 64 MiB upload from a raw socket, waits until it waits on its channel and Node has
   * stopped reading it (the buffers are full: its FIN would go unseen), and destroys its client.
   */
  async function vanishWhileWaiting (port: number, pipe: HttpipeControls, head: string, waiting: 'waitingRequesters' | 'waitingResponders'): Promise<void> {
    const client = rawClient(port, head, bigBody)
    await waitUntil(() => reqres(pipe)[waiting] === 1)
    const req = arrived[arrived.length - 1] as IncomingMessage
    await waitUntil(() => req.socket.isPaused(), 10_000, 'Node to stop reading the upload')
    client.socket.destroy()
  }

  describe.each([
    ['requester', `POST /req/ns/ch/upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${BIG}\r\n\r\n`, 'waitingRequesters'],
    ['direct-mode responder', `POST /res/ns/ch HTTP/1.1\r\nHost: x\r\nContent-Length: ${BIG}\r\n\r\n`, 'waitingResponders']
  ] as const)('a waiting %s that vanishes with a 64 MiB body', (_, head, waiting) => {
    it('is withdrawn by the departure probe; a fresh pair then meets, nothing delivered to the wrong party', async () => {
      const { port, url, pipe } = await start({ probeInterval: 100 })
      await vanishWhileWaiting(port, pipe, head, waiting)
      // Probed every 100 ms: seen within two intervals, however loaded the machine (bounded at 10 s).
      await waitUntil(() => reqres(pipe)[waiting] === 0, 10_000, `the vanished client's ${waiting} to be withdrawn`)
      expect(pipe.stats().reqres).toMatchObject({ ...IDLE_REQRES, bytesTransferred: 0 })

      const responder = open(`${url}/res/ns/ch`, 'POST', { 'Pb-H-Content-Type': 'text/plain' })
      responder.end('fresh reply')
      await waitUntil(() => reqres(pipe).waitingResponders === 1)
      const answered = await send(`${url}/req/ns/ch/fresh?x=1`, 'PUT', 'fresh request')
      expect(answered.status).toBe(200)
      expect(answered.body.toString()).toBe('fresh reply')
      const delivered = await responder.done
      expect(delivered.status).toBe(200)
      expect(delivered.complete).toBe(true)
      expect(delivered.headers['pb-method']).toBe('PUT')
      expect(delivered.headers['pb-uri']).toBe('/fresh?x=1')
      expect(delivered.body.toString()).toBe('fresh request')
      expect(pipe.stats().reqres).toEqual({ ...IDLE_REQRES, bytesTransferred: 'fresh reply'.length + 'fresh request'.length })
    })
  })

  it('cuts off a responder matched with a vanished requester before any probe, and serves the next pair', async () => {
    // No periodic probe within the test: only the probe at the match can reveal the departure.
    const { port, url, pipe } = await start({ probeInterval: 60_000 })
    await vanishWhileWaiting(port, pipe, `POST /req/ns/ch HTTP/1.1\r\nHost: x\r\nContent-Length: ${BIG}\r\n\r\n`, 'waitingRequesters')
    const cut = open(`${url}/res/ns/ch`, 'POST')
    cut.end('for a ghost')
    const ghost = await cut.done
    // The responder never takes part of a departed client's request for a whole one.
    expect(ghost.complete).toBe(false)
    expect(ghost.body.length).toBeLessThan(BIG)
    expect(ghost.body.equals(bigBody.subarray(0, ghost.body.length))).toBe(true)
    await waitUntil(() => reqres(pipe).exchanges === 0 && reqres(pipe).waitingRequesters === 0)

    const responder = open(`${url}/res/ns/ch`, 'POST')
    responder.end('next')
    await waitUntil(() => reqres(pipe).waitingResponders === 1)
    expect((await send(`${url}/req/ns/ch`, 'GET')).body.toString()).toBe('next')
    expect((await responder.done).complete).toBe(true)
  })

  it('takes a requester pipelined behind a responder on one connection up only after the responder\'s response', async () => {
    const { port, url, pipe } = await start()
    const client = rawClient(port, request('POST', '/res/p/q', 'first'), request('GET', '/req/p/q/pipelined'))
    // The pipelined requester is held, counted as waiting, not matched with the responder ahead of
    // it on its own connection (whose response could then never finish: a deadlock).
    await waitUntil(() => reqres(pipe).waitingResponders === 1 && reqres(pipe).waitingRequesters === 1)
    const other = await send(`${url}/req/p/q/other`, 'GET')
    expect(other.status).toBe(200)
    expect(other.body.toString()).toBe('first')
    // Then its turn comes: it waits on the channel like any requester.
    await waitUntil(() => reqres(pipe).waitingResponders === 0 && reqres(pipe).waitingRequesters === 1)
    const responder = await send(`${url}/res/p/q`, 'POST', 'second')
    expect(responder.headers['pb-uri']).toBe('/pipelined')
    await waitUntil(() => finals(client).length === 2 && /second$/.test(client.received()))
    const [toResponder, toRequester] = finals(client)
    expect(toResponder).toMatch(/^200 /)
    expect(toResponder).toMatch(/\r\nPb-Uri: \/other\r\n/i)
    expect(toRequester).toMatch(/^200 [^]*\r\n\r\nsecond$/)
    expect(pipe.stats().reqres).toMatchObject({ waitingRequesters: 0, waitingResponders: 0, exchanges: 0 })
  })

  it('withdraws every requester and responder of a pipelined connection when it closes, so none is ever matched', async () => {
    const { port, url, pipe } = await start()
    const client = rawClient(port, request('GET', '/req/w/w'), request('GET', '/req/w/w'), request('POST', '/res/v/v', 'x'), request('POST', '/res/v/v', 'y'))
    // Only the first is on its channel; the three behind it are held, counted as waiting.
    await waitUntil(() => reqres(pipe).waitingRequesters === 2 && reqres(pipe).waitingResponders === 2)
    client.socket.destroy()
    await waitUntil(() => reqres(pipe).waitingRequesters === 0 && reqres(pipe).waitingResponders === 0)
    expect(pipe.stats().reqres).toEqual(IDLE_REQRES)

    // Fresh pairs on both channels go through; no ghost takes them.
    const requester = open(`${url}/req/v/v`, 'GET')
    await waitUntil(() => reqres(pipe).waitingRequesters === 1)
    const responder = await send(`${url}/res/v/v`, 'POST', 'v')
    expect(responder.headers['pb-method']).toBe('GET')
    expect((await requester.done).body.toString()).toBe('v')
    const second = open(`${url}/res/w/w`, 'POST')
    second.end('w')
    await waitUntil(() => reqres(pipe).waitingResponders === 1)
    expect((await send(`${url}/req/w/w`, 'GET')).body.toString()).toBe('w')
  })

  it('answers a pipelined requester 503 when its turn comes after close(), which resolves', async () => {
    const { port, pipe } = await start()
    const client = rawClient(port, request('GET', '/req/c/d'), request('GET', '/req/c/d'))
    await waitUntil(() => reqres(pipe).waitingRequesters === 2)
    await pipe.close()
    await waitUntil(() => finals(client).length === 2)
    expect(finals(client).map(response => response.slice(0, 3))).toEqual(['503', '503'])
    expect(pipe.stats().reqres).toEqual(IDLE_REQRES)
  })
})
