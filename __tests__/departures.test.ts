import { afterAll, afterEach, describe, expect, it } from '@jest/globals'
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { connect as connectH2, createServer as createH2Server } from 'node:http2'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHandler } from '../lib/handler'
import { createStandaloneServer } from '../lib/server'
import { shutdown } from '../lib/shutdown'
import { adapters, createRawApp } from './helpers/app'
import { ZERO } from './helpers/faults'
import { open, send, waitUntil } from './helpers/http'
import { run, startStandalone, type Standalone } from './helpers/standalone'
import { useServer } from './helpers/use-server'

// Departures the old code could not see: requests pipelined behind another response, producers
// whose body is larger than the socket buffers, HTTP/1.0 consumers of a cut message, and clients
// that hold a connection open during shutdown. Every client here is real: raw sockets, curl,
// node:http; none of them says goodbye.

const KiB = 1024
const MiB = 1024 * KiB
const SIZES = [['1 KiB', KiB], ['1 MiB', MiB], ['64 MiB', 64 * MiB]] as const

const bodies = new Map<number, Buffer>()
function body (size: number): Buffer {
  let out = bodies.get(size)
  if (out === undefined) {
    // Counting words, so a shifted or spliced copy would not pass for the original.
    const words = new Uint32Array(Math.ceil(size / 4))
    for (let i = 0; i < words.length; i++) words[i] = i
    out = Buffer.from(words.buffer, 0, size)
    bodies.set(size, out)
  }
  return out
}

function sha256 (data: Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}

/** A raw connection that sends `requests` back to back (pipelined) and collects what comes back. */
function pipeline (port: number, requests: string): { socket: Socket, received: () => string } {
  const socket = connect(port, '127.0.0.1')
  let data = ''
  socket.on('data', (chunk: Buffer) => { data += chunk.toString('latin1') })
  socket.on('error', () => {})
  socket.write(requests)
  return { socket, received: () => data }
}

const get = (path: string): string => `GET /channels/${path} HTTP/1.1\r\nHost: x\r\n\r\n`
const post = (path: string, text: string): string => `POST /channels/${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${text.length}\r\n\r\n${text}`

const children: ChildProcess[] = []
const sockets: Socket[] = []
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy()
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
})
// Declared after the hook above, so the servers close after their clients are gone, as before.
const { listen } = useServer()

describe.each(adapters)('pipelined requests ($name)', ({ create }) => {
  it('withdraws every waiter of a pipelined connection when it closes, so none is ever matched', async () => {
    const { app, pipe } = create()
    const server = await listen(app)
    const client = pipeline(server.port, get('w/w') + get('w/w'))
    sockets.push(client.socket)
    // The second GET is queued behind the first one's response, and counted as waiting.
    await waitUntil(() => pipe.stats().waitingConsumers === 2)
    client.socket.destroy()
    await waitUntil(() => pipe.stats().waitingConsumers === 0)
    expect(pipe.stats()).toMatchObject(ZERO)

    // A fresh pair on the channel goes through; the producer is not taken by a ghost.
    const consumer = open(`${server.url}/channels/w/w`, 'GET')
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    expect((await send(`${server.url}/channels/w/w`, 'POST', 'hello')).status).toBe(200)
    expect((await consumer.done).body.toString()).toBe('hello')
    expect(pipe.stats()).toMatchObject(ZERO)
    // close() resolves: nothing runs.
    await pipe.close()
  })

  it('frees the router when connections holding many pipelined waiters close', async () => {
    const { app, pipe } = create({ limits: { waiters: 1000 } })
    const server = await listen(app)
    const port = server.port
    const clients = Array.from({ length: 11 }, (_, i) => pipeline(port, get(`f/c${i % 3}`).repeat(100)))
    sockets.push(...clients.map(c => c.socket))
    await waitUntil(() => pipe.stats().waitingConsumers === 1000, 10_000)
    // Full while they are connected: limits.waiters counts pipelined requests too.
    expect((await send(`${server.url}/channels/other/x`, 'GET')).status).toBe(503)
    for (const client of clients) client.socket.destroy()
    await waitUntil(() => pipe.stats().waitingConsumers === 0, 10_000)
    expect(pipe.stats()).toMatchObject(ZERO)

    const consumer = open(`${server.url}/channels/other/x`, 'GET')
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    expect((await send(`${server.url}/channels/other/x`, 'POST', 'admitted')).status).toBe(200)
    expect((await consumer.done).body.toString()).toBe('admitted')
  })

  it('takes a GET pipelined behind a POST for the same channel up only after the POST is answered', async () => {
    const { app, pipe } = create()
    const server = await listen(app)
    const client = pipeline(server.port, post('p/q', 'first') + get('p/q'))
    sockets.push(client.socket)
    await waitUntil(() => pipe.stats().waitingProducers === 1 && pipe.stats().waitingConsumers === 1)
    // The pipelined GET is not matched with the POST ahead of it (that deadlocked): another
    // consumer takes the POST's message.
    const other = await send(`${server.url}/channels/p/q`, 'GET')
    expect(other.body.toString()).toBe('first')
    // Then the GET's turn comes: it waits on the channel like any consumer.
    await waitUntil(() => pipe.stats().waitingProducers === 0 && pipe.stats().waitingConsumers === 1)
    expect((await send(`${server.url}/channels/p/q`, 'POST', 'second')).status).toBe(200)
    await waitUntil(() => /second$/.test(client.received()))
    const responses = client.received().split('HTTP/1.1 ').slice(1)
    expect(responses.map(r => r.slice(0, 3))).toEqual(['200', '200'])
    expect(responses[0]).toMatch(/Content-Length: 0\r\n/)
    expect(responses[1]).toMatch(/\r\n\r\nsecond$/)
    expect(pipe.stats()).toMatchObject(ZERO)
  })

  it('answers a pipelined request 503 when its turn comes after close(), which resolves', async () => {
    const { app, pipe } = create()
    const server = await listen(app)
    const client = pipeline(server.port, get('c/d') + get('c/d'))
    sockets.push(client.socket)
    await waitUntil(() => pipe.stats().waitingConsumers === 2)
    await pipe.close()
    await waitUntil(() => client.received().split('HTTP/1.1 503').length === 3)
    expect(pipe.stats()).toMatchObject(ZERO)
  })
})

async function readAll (port: number, path: string): Promise<{ status: number, bytes: Buffer, complete: boolean }> {
  return await new Promise(resolve => {
    const chunks: Buffer[] = []
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false }, res => {
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, bytes: Buffer.concat(chunks), complete: res.complete }) })
      res.on('error', () => { resolve({ status: res.statusCode ?? 0, bytes: Buffer.concat(chunks), complete: false }) })
    })
    req.on('error', () => { resolve({ status: 0, bytes: Buffer.concat(chunks), complete: false }) })
    req.end()
  })
}

describe('a waiting producer that vanishes with a body larger than the socket buffers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'httpipe-depart-'))
  const files = new Map<number, string>()
  for (const [, size] of SIZES) {
    const file = join(dir, `body-${size}`)
    writeFileSync(file, body(size))
    files.set(size, file)
  }
  afterAll(() => { rmSync(dir, { recursive: true, force: true }) })

  /** The server's side of the latest request: how far Node has read it, what it wrote back. */
  let arrived: IncomingMessage | undefined
  async function start (probeInterval: number | false): Promise<{ port: number, pipe: ReturnType<typeof createRawApp>['pipe'] }> {
    const { app, pipe } = createRawApp({ probeInterval })
    arrived = undefined
    const server = await listen((req, res) => { arrived = req; app(req, res) })
    return { port: server.port, pipe }
  }

  /** Starts an upload of `size` bytes; the function returned makes its client vanish (resolving once it has). */
  function upload (client: 'curl' | 'node', port: number, size: number): () => Promise<void> {
    const url = `http://127.0.0.1:${port}/channels/z/x`
    if (client === 'curl') {
      const child = spawn('curl', ['-s', '-o', '/dev/null', '-T', files.get(size) as string, url], { stdio: 'ignore' })
      children.push(child)
      return async () => {
        const exited = once(child, 'exit')
        child.kill('SIGKILL')
        await exited
      }
    }
    const req = httpRequest(url, { method: 'PUT', headers: { 'Content-Length': size }, agent: false })
    req.on('error', () => {})
    req.end(body(size))
    return async () => { req.destroy() }
  }

  it.each([
    ['X-Forwarded-For', '203.0.113.7'], ['Forwarded', 'for=203.0.113.7'], ['Via', '1.1 nginx'], ['X-Real-IP', '203.0.113.7']
  ])('sends no probe to an upload a proxy passed on (%s): it would reach the proxy, and nginx answers it 408', async (name, value) => {
    const { port, pipe } = await start(50)
    const size = MiB
    const sockets = [true, false].map(proxied => {
      const socket = connect(port, '127.0.0.1')
      const headers = `PUT /channels/z/${proxied ? 'proxied' : 'direct'} HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n${proxied ? `${name}: ${value}\r\n` : ''}\r\n`
      socket.on('error', () => {})
      socket.write(headers)
      socket.write(body(size))
      let received = ''
      socket.on('data', (chunk: Buffer) => { received += chunk.toString('latin1') })
      return { socket, received: () => received }
    })
    try {
      await waitUntil(() => pipe.stats().waitingProducers === 2)
      // The direct upload is probed every 50 ms once Node stops reading it: wait for two probes.
      await waitUntil(() => (sockets[1]?.received().split('100 Continue').length ?? 0) > 2, 5000)
      expect(sockets[0]?.received()).toBe('')
    } finally {
      for (const { socket } of sockets) socket.destroy()
    }
  })

  describe.each(['curl', 'node'] as const)('killed %s client', client => {
    it.each(SIZES)('is withdrawn within two probe intervals (%s), never matched', async (_, size) => {
      const { port, pipe } = await start(250)
      const vanish = upload(client, port, size)
      await waitUntil(() => pipe.stats().waitingProducers === 1)
      await vanish()
      const gone = Date.now()
      await waitUntil(() => pipe.stats().waitingProducers === 0, 2000)
      expect(Date.now() - gone).toBeLessThan(2 * 250 + 500)
      expect(pipe.stats()).toMatchObject(ZERO)
    })

    it.each(SIZES)('is cut off, never delivered, when a consumer arrives before any probe (%s)', async (_, size) => {
      // No periodic probe within the test: only the probe at the match can reveal the departure.
      const { port, pipe } = await start(60_000)
      const vanish = upload(client, port, size)
      await waitUntil(() => pipe.stats().waitingProducers === 1)
      // Node reads the upload until its buffers fill (it pauses the socket) or the body ends: only
      // from then on can it miss the departure (the FIN queued behind unread data).
      await waitUntil(() => arrived !== undefined && (arrived.complete || arrived.socket.isPaused()))
      await vanish()
      if (size === KiB) {
        // A small body is read whole while it waits, so the FIN is seen: withdrawn at once.
        await waitUntil(() => pipe.stats().waitingProducers === 0, 1000)
        return
      }
      expect(pipe.stats().waitingProducers).toBe(1)
      const got = await readAll(port, '/channels/z/x')
      expect(got.complete).toBe(false)
      expect(got.bytes.length).toBeLessThan(size)
      expect(got.bytes.equals(body(size).subarray(0, got.bytes.length))).toBe(true)
      await waitUntil(() => pipe.stats().runningTransfers === 0 && pipe.stats().waitingProducers === 0)
    })
  })

  it('withdraws an HTTP/2 producer at once when its session goes', async () => {
    const pipe = createHandler()
    // The compatibility API's request and response are close enough to node:http's for the handler.
    const h2 = createH2Server(pipe as unknown as Parameters<typeof createH2Server>[0])
    await new Promise<void>(resolve => h2.listen(0, '127.0.0.1', resolve))
    const port = (h2.address() as { port: number }).port
    const session = connectH2(`http://127.0.0.1:${port}`)
    session.on('error', () => {})
    const stream = session.request({ ':path': '/z/x', ':method': 'POST', 'content-length': MiB })
    stream.on('error', () => {})
    stream.end(body(MiB))
    await waitUntil(() => pipe.stats().waitingProducers === 1)
    session.destroy()
    await waitUntil(() => pipe.stats().waitingProducers === 0, 1000)
    await new Promise<void>(resolve => h2.close(() => resolve()))
  })

  it.each([
    ['curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}']],
    ['python requests', []],
    ['node fetch', []]
  ] as const)('lets a %s producer that stays through many probes deliver and get 200', async (name, curlArgs) => {
    const { port, pipe } = await start(20)
    const url = `http://127.0.0.1:${port}/channels/c/${name.replace(/ /g, '-')}`
    const file = files.get(MiB) as string
    const command: [string, string[]] = name === 'curl'
      ? ['curl', [...curlArgs, '-T', file, url]]
      : name === 'python requests'
        ? ['/usr/bin/python3', ['-c', `import requests;r=requests.put(${JSON.stringify(url)},data=open(${JSON.stringify(file)},'rb'));print(r.status_code)`]]
        : [process.execPath, ['-e', `fetch(${JSON.stringify(url)},{method:'PUT',body:require('fs').readFileSync(${JSON.stringify(file)})}).then(r=>console.log(r.status),e=>console.log('error',e.cause?.message??e.message))`]]
    const producer = run(...command)
    // A client that cannot start (Python without Debian's python3-requests) says why, instead of
    // a wait that times out.
    let exited: Awaited<typeof producer> | undefined
    producer.then(result => { exited = result }, () => {})
    await waitUntil(() => exited !== undefined || pipe.stats().waitingProducers === 1, 10000, `the ${name} producer to send its head`)
    expect(exited).toBeUndefined()
    // Probed every 20 ms: ten interim responses (or their bytes: 103 is longer than 100) before the
    // match, and one at it.
    await waitUntil(() => (arrived?.socket.bytesWritten ?? 0) >= 10 * 'HTTP/1.1 100 Continue\r\n\r\n'.length)
    const got = await readAll(port, new URL(url).pathname)
    expect(got.status).toBe(200)
    expect(sha256(got.bytes)).toBe(sha256(body(MiB)))
    const result = await producer
    expect({ code: result.code, out: result.stdout.trim() }).toEqual({ code: 0, out: '200' })
  })
})

// Moved from range.test.ts (a real wget, so not in the unit project); same name as there.
describe.each(adapters)('GET /:namespace/:channel asking for part of a message ($name)', ({ create }) => {
  const dir = mkdtempSync(join(tmpdir(), 'httpipe-range-'))
  afterAll(() => { rmSync(dir, { recursive: true, force: true }) })

  async function start (): Promise<{ url: string, pipe: ReturnType<typeof create>['pipe'] }> {
    const { app, pipe } = create()
    const server = await listen(app)
    return { url: `${server.url}/channels`, pipe }
  }

  it('lets real wget fail after a cut transfer instead of splicing the next message onto it', async () => {
    const { url, pipe } = await start()
    const first = Buffer.alloc(600 * 1024, 'a')
    const second = Buffer.alloc(600 * 1024, 'b')
    // The first producer declares its length, sends half, and dies; the second waits behind it.
    const dying = open(`${url}/files/f`, 'POST', { 'Content-Length': first.length })
    await dying.write(first.subarray(0, 300 * 1024))
    await waitUntil(() => pipe.stats().waitingProducers === 1)
    const waiting = open(`${url}/files/f`, 'POST', { 'Content-Length': second.length })
    waiting.end(second)
    await waitUntil(() => pipe.stats().waitingProducers === 2)

    const saved = join(dir, 'saved.bin')
    const wget = run('wget', ['-O', saved, '--tries=3', '--waitretry=0', '--timeout=10', `${url}/files/f`])
    await waitUntil(() => pipe.stats().runningTransfers === 1 && pipe.stats().transfers[0]?.bytes === 300 * 1024)
    dying.destroy()
    const { code, stderr } = await wget

    // The cut is a connection reset (cut.ts), which wget reports as a read error before it retries.
    expect(stderr).toMatch(/Read error at byte \d+\/614400 \(Connection reset by peer\)\. Retrying\./)
    expect(stderr).toContain('ERROR 400: Bad Request.')
    expect(code).toBe(8)
    const bytes = readFileSync(saved)
    // Only a prefix of the first message: nothing of the second one.
    expect(bytes.includes('b')).toBe(false)
    expect(first.subarray(0, bytes.length).equals(bytes)).toBe(true)
    // The second message is still there for the next consumer.
    expect(pipe.stats()).toMatchObject({ waitingProducers: 1, runningTransfers: 0 })
    expect((await send(`${url}/files/f`, 'GET')).body.equals(second)).toBe(true)
    expect((await waiting.done).status).toBe(200)
  }, 30_000)
})

describe('an HTTP/1.0 consumer of a message without Content-Length', () => {
  it('sees an error when the producer vanishes mid-transfer, not a clean end (curl --http1.0 exits non-zero)', async () => {
    const { app, pipe } = createRawApp()
    const server = await listen(app)
    const url = `${server.url}/channels/old/one`
    const producer = open(url, 'POST', { 'Transfer-Encoding': 'chunked' })
    await producer.write(body(MiB))
    await waitUntil(() => pipe.stats().waitingProducers === 1)
    const curl = spawn('curl', ['-sS', '--http1.0', '-o', '/dev/null', url], { stdio: ['ignore', 'ignore', 'pipe'] })
    children.push(curl)
    await waitUntil(() => pipe.stats().runningTransfers === 1 && pipe.stats().bytesTransferred > 0)
    producer.destroy()
    const [code] = await once(curl, 'exit') as [number | null]
    expect(code).not.toBe(0)
    await waitUntil(() => pipe.stats().runningTransfers === 0)
  })
})

describe('shutdown(server, pipe)', () => {
  /**
   * Connections that send their request headers one byte at a time and never finish; `begun()`
   * holds once each one is connected and has sent some.
   */
  function slowloris (port: number, count: number): { stop: () => void, begun: () => boolean } {
    const timers: NodeJS.Timeout[] = []
    const started: Array<() => boolean> = []
    // Never ends: the blank line that would complete the headers never comes.
    const header = 'GET /channels/s/l HTTP/1.1\r\nHost: x\r\nX-Pad: ' + 'a'.repeat(4000)
    for (let i = 0; i < count; i++) {
      const socket = connect(port, '127.0.0.1')
      socket.on('error', () => {})
      sockets.push(socket)
      let at = 0
      timers.push(setInterval(() => { if (at < header.length && !socket.destroyed) socket.write(header[at++] as string) }, 20))
      started.push(() => !socket.connecting && at >= 2)
    }
    return { stop: () => { for (const timer of timers) clearInterval(timer) }, begun: () => started.every(check => check()) }
  }

  it('resolves within its grace while clients keep sending headers slowly', async () => {
    const { server: http, pipe } = createStandaloneServer()
    let accepted = 0
    http.on('connection', () => { accepted++ })
    await new Promise<void>(resolve => http.listen(0, '127.0.0.1', resolve))
    const port = (http.address() as { port: number }).port
    const { stop, begun } = slowloris(port, 10)
    try {
      await waitUntil(() => accepted === 10 && begun())
      const started = Date.now()
      await shutdown(http, pipe, { grace: 300 })
      expect(Date.now() - started).toBeLessThan(300 + 1000)
      expect(http.listening).toBe(false)
    } finally {
      stop()
    }
  })

  describe('the standalone server', () => {
    let standalone: Standalone | undefined
    afterEach(async () => { await standalone?.stop(); standalone = undefined })

    it('exits 0 within 5 s of SIGTERM while clients keep sending headers slowly', async () => {
      standalone = await startStandalone()
      const { stop, begun } = slowloris(Number(new URL(standalone.url).port), 20)
      try {
        await waitUntil(begun)
        const started = Date.now()
        standalone.process.kill('SIGTERM')
        expect(await standalone.exited).toBe(0)
        expect(Date.now() - started).toBeLessThan(5000 + 2000)
      } finally {
        stop()
      }
    }, 15_000)
  })
})
