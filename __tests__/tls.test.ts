import { createHash, randomBytes, X509Certificate } from 'node:crypto'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect as tlsConnect } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { readTls } from '../lib/tls-files'
import { makeCertificate } from './helpers/certificate'
import { waitUntil } from './helpers/http'
import { run, startStandalone, type Standalone } from './helpers/standalone'

// The standalone server with --tls-cert and --tls-key: HTTP/2 by ALPN and HTTP/1.1 on one port,
// the whole contract over HTTP/2 (Node's http2 client and curl --http2), and certificate reload.
// The certificate is made here with openssl, for 127.0.0.1; nothing secret is committed.

const KiB = 1024
const dir = mkdtempSync(join(tmpdir(), 'httpipe-tls-'))
const CERT = join(dir, 'cert.pem')
const KEY = join(dir, 'key.pem')

let server: Standalone | undefined
let session: ClientHttp2Session | undefined
const url = (): string => server?.url ?? ''

beforeAll(async () => {
  makeCertificate(CERT, KEY, 'httpipe test one')
  server = await startStandalone(['--tls-cert', CERT, '--tls-key', KEY])
  session = connect(url(), { ca: readFileSync(CERT) })
  await once(session, 'connect')
}, 30_000)
afterAll(async () => {
  session?.close()
  await server?.stop()
  rmSync(dir, { recursive: true, force: true })
})

interface H2Response { readonly status: number, readonly headers: IncomingHttpHeaders, readonly body: Buffer, readonly rstCode: number }

/** A request on the shared HTTP/2 session; `done` resolves when its stream closes, however it closed. */
function h2 (method: string, path: string, headers: Record<string, string | number> = {}): { stream: ClientHttp2Stream, done: Promise<H2Response> } {
  if (session === undefined) throw new Error('no session')
  const stream = session.request({ ':method': method, ':path': `/channels/${path}`, ...headers }, { endStream: method === 'GET' || method === 'DELETE' })
  const done = new Promise<H2Response>(resolve => {
    let status = 0
    let responseHeaders: IncomingHttpHeaders = {}
    const chunks: Buffer[] = []
    stream.on('response', h => { status = Number(h[':status']); responseHeaders = h })
    stream.on('data', (chunk: Buffer) => chunks.push(chunk))
    stream.on('error', () => {})
    stream.once('close', () => { resolve({ status, headers: responseHeaders, body: Buffer.concat(chunks), rstCode: stream.rstCode ?? 0 }) })
  })
  return { stream, done }
}

async function h2send (method: string, path: string, body?: Buffer | string, headers: Record<string, string | number> = {}): Promise<H2Response> {
  const request = h2(method, path, headers)
  if (!(method === 'GET' || method === 'DELETE')) request.stream.end(body)
  return await request.done
}

/** Polls the listing of `namespace` (over HTTP/2) until `check` holds of its channels. */
async function listed (namespace: string, check: (channels: string[]) => boolean): Promise<void> {
  await waitUntil(async () => {
    const res = await h2send('GET', namespace)
    return check(res.status === 200 ? JSON.parse(res.body.toString()) as string[] : [])
  }, 5000, `the listing of ${namespace} to match`)
}
const waiting = async (ns: string, ch: string): Promise<void> => { await listed(ns, channels => channels.includes(ch)) }
const empty = async (ns: string): Promise<void> => { await listed(ns, channels => channels.length === 0) }

describe('HTTPS with HTTP/2 and HTTP/1.1 on one port (--tls-cert, --tls-key)', () => {
  it('answers curl --http2 over HTTP/2 and curl --http1.1 over HTTP/1.1, on the same port', async () => {
    const producer = run('curl', ['-s', '--cacert', CERT, '--http2', '-T', '-', '-w', '%{http_version} %{http_code}', `${url()}/channels/curl/ch`], 'over h2 to h1')
    const consumer = run('curl', ['-s', '--cacert', CERT, '--http1.1', '-w', ' %{http_version}', `${url()}/channels/curl/ch`])
    expect((await consumer).stdout).toBe('over h2 to h1 1.1')
    expect((await producer).stdout).toBe('2 200')
    const help = await run('curl', ['-s', '--cacert', CERT, '--http2', '-w', '%{http_version}', `${url()}/help`])
    expect(help.stdout).toContain(`${url()}/channels/`)
    expect(help.stdout.endsWith('2')).toBe(true)
  })

  it('keeps rendezvous over HTTP/2 in both orders, and FIFO', async () => {
    const producer = h2('POST', 'order/p', { 'content-type': 'text/plain; charset=utf-8', 'content-disposition': 'attachment; filename="note.txt"' })
    producer.stream.end('producer first')
    await waiting('order', 'p')
    const got = await h2send('GET', 'order/p')
    expect([got.status, got.body.toString(), got.rstCode]).toEqual([200, 'producer first', constants.NGHTTP2_NO_ERROR])
    // The consumer headers, as over HTTP/1.1.
    expect(got.headers).toMatchObject({
      'content-type': 'text/plain; charset=utf-8',
      'content-disposition': 'attachment; filename="note.txt"',
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-store, no-transform'
    })
    expect((await producer.done).status).toBe(200)

    const consumer = h2('GET', 'order/c')
    await waiting('order', 'c')
    expect((await h2send('POST', 'order/c', 'consumer first')).status).toBe(200)
    expect((await consumer.done).body.toString()).toBe('consumer first')

    // One session delivers streams in the order they were opened: they queue in that order.
    const producers = [1, 2, 3].map(() => h2('POST', 'order/fifo'))
    producers.forEach((p, i) => p.stream.end(`message ${i + 1}`))
    await waiting('order', 'fifo')
    const received: string[] = []
    for (let i = 0; i < 3; i++) received.push((await h2send('GET', 'order/fifo')).body.toString())
    expect(received).toEqual(['message 1', 'message 2', 'message 3'])
  })

  it('withdraws a waiting consumer or producer whose stream is reset', async () => {
    const consumer = h2('GET', 'reset/consumer')
    await waiting('reset', 'consumer')
    consumer.stream.close(constants.NGHTTP2_CANCEL)
    await empty('reset')
    const next = h2('GET', 'reset/consumer')
    await waiting('reset', 'consumer')
    expect((await h2send('POST', 'reset/consumer', 'for the one still there')).status).toBe(200)
    expect((await next.done).body.toString()).toBe('for the one still there')

    const producer = h2('POST', 'reset/producer', { 'content-length': KiB })
    producer.stream.write(randomBytes(KiB / 2))
    await waiting('reset', 'producer')
    producer.stream.close(constants.NGHTTP2_CANCEL)
    await empty('reset')
    const taker = h2('GET', 'reset/producer')
    await waiting('reset', 'producer')
    expect((await h2send('POST', 'reset/producer', 'the real one')).status).toBe(200)
    expect((await taker.done).body.toString()).toBe('the real one')
  })

  it('keeps a truncated transfer visible: the consumer\'s stream is reset, not ended', async () => {
    const consumer = h2('GET', 'cut/ch')
    await waiting('cut', 'ch')
    const producer = h2('POST', 'cut/ch', { 'content-length': 64 * KiB })
    producer.stream.write(randomBytes(16 * KiB))
    const first = await new Promise<number>(resolve => consumer.stream.once('data', (chunk: Buffer) => { resolve(chunk.length) }))
    expect(first).toBeGreaterThan(0)
    producer.stream.close(constants.NGHTTP2_CANCEL)
    const got = await consumer.done
    expect(got.status).toBe(200)
    expect(got.body.length).toBeLessThan(64 * KiB)
    expect(got.rstCode).not.toBe(constants.NGHTTP2_NO_ERROR)
  })

  it('serves pubsub, a live subscription and the page over HTTP/2', async () => {
    const subscriber = h2('GET', 'fan/room?pubsub=true')
    await waiting('fan', 'room')
    const published = await h2send('POST', 'fan/room?pubsub=true', 'to all')
    expect([published.status, published.headers['x-httpipe-receivers']]).toEqual([200, '1'])
    const delivered = await subscriber.done
    expect([delivered.body.toString(), delivered.headers['content-type'], delivered.headers['x-content-type-options']]).toEqual(['to all', 'application/octet-stream', 'nosniff'])

    const live = h2('GET', 'fan/feed', { accept: 'text/event-stream' })
    let text = ''
    const two = new Promise<void>(resolve => {
      live.stream.on('data', (chunk: Buffer) => { text += chunk.toString(); if (text.includes('data: second\n\n')) resolve() })
    })
    await waiting('fan', 'feed')
    expect((await h2send('POST', 'fan/feed', 'first')).status).toBe(200)
    await waiting('fan', 'feed')
    expect((await h2send('POST', 'fan/feed', 'second')).status).toBe(200)
    await two
    expect(text.match(/^data: .*$/gm)).toEqual(['data: first', 'data: second'])
    live.stream.close(constants.NGHTTP2_CANCEL)

    const page = await h2send('GET', '', undefined, { accept: 'text/html' })
    expect([page.status, page.headers['content-type']]).toEqual([200, 'text/html; charset=utf-8'])
    expect(page.body.toString()).toContain('<html')
  })

  it('carries 8 MiB intact over HTTP/2 with backpressure', async () => {
    const body = randomBytes(8 * 1024 * KiB)
    const consumer = h2('GET', 'bulk/ch')
    await waiting('bulk', 'ch')
    const producer = await h2send('POST', 'bulk/ch', body)
    const got = await consumer.done
    expect(producer.status).toBe(200)
    expect(createHash('sha256').update(got.body).digest('hex')).toBe(createHash('sha256').update(body).digest('hex'))
  })

  it('reloads the certificate when its files change: new connections get the new one', async () => {
    const fingerprint = async (): Promise<string> => {
      const socket = tlsConnect({ host: '127.0.0.1', port: Number(new URL(url()).port), rejectUnauthorized: false, ALPNProtocols: ['h2'] })
      await once(socket, 'secureConnect')
      const print = socket.getPeerX509Certificate()?.fingerprint256 ?? ''
      socket.destroy()
      return print
    }
    const before = await fingerprint()
    expect(before).toBe(new X509Certificate(readFileSync(CERT)).fingerprint256)
    // Written aside and renamed into place, as certbot and most renewals do.
    makeCertificate(join(dir, 'new-cert.pem'), join(dir, 'new-key.pem'), 'httpipe test two')
    renameSync(join(dir, 'new-key.pem'), KEY)
    renameSync(join(dir, 'new-cert.pem'), CERT)
    const after = new X509Certificate(readFileSync(CERT)).fingerprint256
    // The files are polled once a second; the server says when it has loaded the new pair (a poll
    // between the two renames finds a mismatched pair, keeps the old one and says so instead).
    await waitUntil(() => server?.errors().includes('httpipe: reloaded the certificate from') === true, 10_000, 'the certificate to be reloaded')
    expect(await fingerprint()).toBe(after)
    expect(server?.process.exitCode).toBeNull()
  })

  it('refuses to start on a key that is not the certificate\'s, naming both flags', () => {
    const other = join(dir, 'other')
    makeCertificate(`${other}-cert.pem`, `${other}-key.pem`, 'other')
    expect(() => readTls({ cert: CERT, key: `${other}-key.pem` })).toThrow(/^--tls-cert .* and --tls-key .* do not make a certificate and its key/)
    expect(() => readTls({ cert: join(dir, 'missing.pem'), key: KEY })).toThrow(/^--tls-cert cannot read .*missing\.pem/)
  })
})
