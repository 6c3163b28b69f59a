import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { connect, type AddressInfo, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import { lingerOnError, type LingerBounds } from '../lib/linger'
import { adapters } from './helpers/app'
import { listenTracked, type TrackedServer } from './helpers/faults'
import { open, waitUntil } from './helpers/http'
import { run, startStandalone, type Standalone } from './helpers/standalone'

// Real clients uploading 20 MiB while two processes burn both cores: the answer must arrive in
// every run, not only on an idle machine.
const RUNS = 20
const BATCH = 5
const SIZE = 20 * 1024 * 1024

let dir = ''
let file = ''
const burners: ChildProcess[] = []
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'httpipe-linger-'))
  file = join(dir, 'upload.bin')
  await writeFile(file, Buffer.alloc(SIZE, 'x'))
  for (let i = 0; i < 2; i++) burners.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }))
})
afterAll(async () => {
  for (const burner of burners) burner.kill('SIGKILL')
  await Promise.all(burners.map(async burner => { if (burner.exitCode === null && burner.signalCode === null) await once(burner, 'exit') }))
  await rm(dir, { recursive: true, force: true })
})

/** Runs `attempt` RUNS times, BATCH at a time, and returns what each run printed. */
async function runs (attempt: (i: number) => Promise<string>): Promise<string[]> {
  const outputs: string[] = []
  for (let start = 0; start < RUNS; start += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, RUNS - start) }, async (_, j) => await attempt(start + j))
    outputs.push(...await Promise.all(batch))
  }
  return outputs
}

/** A consumer that reads the first chunk of its message and then disconnects. */
async function consumeThenVanish (url: string): Promise<void> {
  const consumer = open(url, 'GET')
  const res = await consumer.response
  await once(res, 'data')
  consumer.destroy()
}

describe('an error answer to a producer still uploading (standalone server, curl, two CPU burners)', () => {
  let server: Standalone | undefined
  afterEach(async () => { await server?.stop(); server = undefined })

  it.each([
    ['with Expect: 100-continue (curl\'s default for a large file)', []],
    ['without Expect', ['-H', 'Expect:']]
  ])('reaches curl as 413 in 20 of 20 runs for a declared Content-Length over --max-body-size, %s', async (_, extra) => {
    server = await startStandalone(['--max-body-size', '1000000'])
    const url = `${server.url}/channels/big/ch`
    const codes = await runs(async () => (await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', ...extra, '-T', file, url])).stdout)
    expect(codes).toEqual(Array(RUNS).fill('413'))
  }, 60_000)

  it('reaches curl as 502 in 20 of 20 runs when the consumer disconnects mid-transfer', async () => {
    server = await startStandalone()
    const base = `${server.url}/channels/cut`
    const codes = await runs(async i => {
      const producer = run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-T', file, `${base}/c${i}`])
      await consumeThenVanish(`${base}/c${i}`)
      return (await producer).stdout
    })
    expect(codes).toEqual(Array(RUNS).fill('502'))
  }, 60_000)
})

describe.each(adapters)('an error answer to wget --post-file, which writes its whole body before reading ($name)', ({ create }) => {
  let server: TrackedServer | undefined
  afterEach(async () => { await server?.close(); server = undefined })

  // --tries=2 and a short read timeout: a wget that never saw its answer retries once, and its
  // second upload (a new producer nobody consumes) ends in a timeout instead of hanging the test.
  const wget = async (url: string): Promise<Awaited<ReturnType<typeof run>>> =>
    await run('wget', ['-O', '/dev/null', '--tries=2', '--waitretry=0', '--timeout=5', `--post-file=${file}`, url])
  const posts = (): number => server?.exchanges.filter(e => e.method === 'POST').length ?? 0

  it('gets its 502 when the consumer disconnects, and does not send its upload again', async () => {
    const { app, pipe } = create()
    server = await listenTracked(app)
    const url = `${server.url}/channels/w/x`
    const producer = wget(url)
    await consumeThenVanish(url)
    const { code, stderr } = await producer
    expect(stderr).toContain('ERROR 502: Bad Gateway.')
    expect(stderr).not.toContain('Retrying')
    expect(code).toBe(8)
    expect(posts()).toBe(1)
    // Nothing is left for the next consumer.
    expect(pipe.stats()).toMatchObject({ waitingProducers: 0, runningTransfers: 0 })
  }, 30_000)

  it('gets its 413 for a declared Content-Length over limits.bodySize, and does not send its upload again', async () => {
    const { app, pipe } = create({ limits: { bodySize: 1_000_000 } })
    server = await listenTracked(app)
    const { code, stderr } = await wget(`${server.url}/channels/w/x`)
    expect(stderr).toContain('ERROR 413: Payload Too Large.')
    expect(stderr).not.toContain('Retrying')
    expect(code).toBe(8)
    expect(posts()).toBe(1)
    expect(pipe.stats()).toMatchObject({ waitingProducers: 0 })
  }, 30_000)

  it('reaches curl as 413 in 20 of 20 runs without Expect', async () => {
    const { app } = create({ limits: { bodySize: 1_000_000 } })
    server = await listenTracked(app)
    const url = `${server.url}/channels/big/ch`
    const codes = await runs(async () => (await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'Expect:', '-T', file, url])).stdout)
    expect(codes).toEqual(Array(RUNS).fill('413'))
  }, 60_000)
})

describe('lingerOnError(req, res, bounds)', () => {
  let server: Server | undefined
  const sockets = new Set<Socket>()
  afterEach(async () => {
    for (const socket of sockets) socket.destroy()
    sockets.clear()
    if (server !== undefined) await new Promise(resolve => server?.close(resolve))
    server = undefined
  })

  const ANSWER = 'refused\n'

  /** A server that answers every request 413 at once, lingering within `bounds`; resolves with a connected client. */
  async function start (bounds: LingerBounds): Promise<{ client: Socket, serverSide: () => Socket | undefined, head: Buffer }> {
    let serverSide: Socket | undefined
    server = createServer((req, res) => {
      serverSide = req.socket
      lingerOnError(req, res, bounds)
      res.writeHead(413, { 'Content-Length': ANSWER.length }).end(ANSWER)
    })
    server.on('connection', socket => sockets.add(socket))
    await new Promise<void>(resolve => server?.listen(0, '127.0.0.1', resolve))
    // Half-open allowed, as curl and wget do: the server's FIN must not end the client's upload.
    const client = connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true })
    sockets.add(client)
    client.on('error', () => {})
    const head = Buffer.from('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n')
    return { client, serverSide: () => serverSide, head }
  }

  /** What the client has read once the server half-closes (its 'end'). */
  async function answerThenFin (client: Socket): Promise<string> {
    const chunks: Buffer[] = []
    client.on('data', (chunk: Buffer) => chunks.push(chunk))
    await once(client, 'end')
    return Buffer.concat(chunks).toString('latin1')
  }

  it('sends the answer with Connection: close, then a FIN, while it still reads; destroys once the body has arrived', async () => {
    const { client, serverSide, head } = await start({ time: 10_000, idle: 10_000, bytes: 1e9 })
    const shortHead = Buffer.from(head.toString().replace('100000000', '20'))
    client.write(Buffer.concat([shortHead, Buffer.from('0123456789')]))
    const answer = await answerThenFin(client)
    expect(answer).toMatch(/^HTTP\/1\.1 413 Payload Too Large\r\n/)
    expect(answer).toContain('\r\nConnection: close\r\n')
    expect(answer.endsWith(`\r\n\r\n${ANSWER}`)).toBe(true)
    // Half-closed: the server is still reading what the client sends.
    expect(serverSide()?.destroyed).toBe(false)
    client.write('0123456789')
    await waitUntil(() => serverSide()?.destroyed === true)
  })

  it('destroys the connection after `idle` ms of silence', async () => {
    const { client, serverSide, head } = await start({ time: 10_000, idle: 50, bytes: 1e9 })
    client.write(head)
    await answerThenFin(client)
    const started = Date.now()
    expect(serverSide()?.destroyed).toBe(false)
    await waitUntil(() => serverSide()?.destroyed === true)
    expect(Date.now() - started).toBeGreaterThanOrEqual(40)
  })

  it('destroys the connection after `time` ms, however steadily the client sends', async () => {
    const { client, serverSide, head } = await start({ time: 100, idle: 10_000, bytes: 1e9 })
    client.write(head)
    await answerThenFin(client)
    const started = Date.now()
    const ticker = setInterval(() => client.write('x'), 10)
    try {
      await waitUntil(() => serverSide()?.destroyed === true)
    } finally {
      clearInterval(ticker)
    }
    expect(Date.now() - started).toBeGreaterThanOrEqual(90)
  })

  it('destroys the connection once it has read `bytes` past the answer', async () => {
    const { client, serverSide, head } = await start({ time: 10_000, idle: 10_000, bytes: 64 * 1024 })
    client.write(head)
    await answerThenFin(client)
    client.write(Buffer.alloc(256 * 1024))
    await waitUntil(() => serverSide()?.destroyed === true)
  })

  it('does nothing for a request without a body', async () => {
    const { client, head } = await start({ time: 10_000, idle: 10_000, bytes: 1e9 })
    client.write(head.toString().replace('100000000', '0'))
    const chunks: Buffer[] = []
    client.on('data', (chunk: Buffer) => chunks.push(chunk))
    await waitUntil(() => Buffer.concat(chunks).toString().endsWith(ANSWER))
    expect(Buffer.concat(chunks).toString()).not.toContain('Connection: close')
  })
})
