import { afterEach, describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { adapters, type TestApp } from './helpers/app'
import { listenTracked, rawExchange, ZERO, type RawExchange, type TrackedServer } from './helpers/faults'
import { send, waitUntil } from './helpers/http'

// Hostile input over raw TCP: random names (any code point, lone surrogates, control characters,
// stray `%`, very long), methods, query strings and producer headers. The server must answer
// every request as the contract says (an oracle written from the README predicts each status),
// never with a 5xx, never crash, and leave nothing behind. Requests that wait by design (GET, POST
// and PUT on a valid channel) are found through stats() and turned away with DELETE, via the
// listing, which must then show their names decoded.

const BODY_LIMIT = 1024 * 1024
/** Node's own limit on a request head (request line and headers), in bytes. */
const NODE_MAX_HEADER_SIZE = 16 * 1024
const REQUEST_TIMEOUT_MS = 3000

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

/** One code point of a name, leaning on the awkward ones. */
const codePoint: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), weight: 4 },
  { arbitrary: fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 }), weight: 4 },
  { arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map(unit => String.fromCharCode(unit)), weight: 1 },
  { arbitrary: fc.integer({ min: 0, max: 0x9f }).filter(c => c < 0x20 || c >= 0x7f).map(c => String.fromCharCode(c)), weight: 1 },
  { arbitrary: fc.constantFrom('/', '?', '#', '%', '.', '+', ' ', '&', '=', ';', '\u2028', '\ufeff', '\u{1f600}'), weight: 2 }
)

const plain = fc.stringMatching(/^[\w.~-]{1,12}$/)

const name: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: plain, weight: 8 },
  // One awkward code point in an otherwise plain name: each naming rule gets tested on its own.
  { arbitrary: fc.tuple(plain, codePoint, plain).map(parts => parts.join('')), weight: 6 },
  { arbitrary: fc.array(codePoint, { minLength: 0, maxLength: 8 }).map(points => points.join('')), weight: 4 },
  { arbitrary: fc.array(codePoint, { minLength: 250, maxLength: 270 }).map(points => points.join('')), weight: 1 },
  { arbitrary: fc.constantFrom('namespaces', 'x'.repeat(256), 'x'.repeat(257), 'é'.repeat(256), '\u{1f600}'.repeat(257), '.', '..', '%'), weight: 1 }
)

/** Percent-encodes every byte of a code point as WTF-8 (lone surrogates too, which makes them malformed). */
function percentEncode (point: string): string {
  const code = point.codePointAt(0) ?? 0
  const bytes = code < 0x80
    ? [code]
    : code < 0x800
      ? [0xc0 | code >> 6, 0x80 | code & 63]
      : code < 0x10000
        ? [0xe0 | code >> 12, 0x80 | code >> 6 & 63, 0x80 | code & 63]
        : [0xf0 | code >> 18, 0x80 | code >> 12 & 63, 0x80 | code >> 6 & 63, 0x80 | code & 63]
  return bytes.map(byte => '%' + byte.toString(16).toUpperCase().padStart(2, '0')).join('')
}

/**
 * A name as it goes into a request target, which Node only takes as printable ASCII: non-ASCII
 * and control characters are always percent-encoded; each ASCII one is sent raw or encoded as `mode`
 * picks (so `/`, `?` and `%` may go raw and split the path, start the query or break an escape).
 */
function encodeName (value: string, mode: number[]): string {
  let encoded = ''
  let i = 0
  for (const point of value) {
    const code = point.codePointAt(0) ?? 0
    const raw = code > 0x20 && code < 0x7f && (mode[i++ % mode.length] ?? 0) !== 0
    encoded += raw ? point : percentEncode(point)
  }
  return encoded
}

const segment: fc.Arbitrary<string> = fc.tuple(name, fc.array(fc.nat({ max: 3 }), { minLength: 1, maxLength: 8 }))
  .map(([value, mode]) => encodeName(value, mode))

const parameter: fc.Arbitrary<string> = fc.tuple(
  fc.constantFrom('pubsub', 'method', 'body', 'x'),
  fc.constantFrom('', '=', '=true', '=1', '=0', '=false', '=yes', '=TRUE', '=post', '=PUT', '=get', '=%70ost', '=%')
).map(([key, value]) => key + value)

const queryPart: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: parameter, weight: 3 },
  { arbitrary: segment, weight: 1 },
  fc.constantFrom('pubsub', 'pubsub=true', 'pubsub=1', 'pubsub=', 'pubsub=false', 'pubsub=0', 'pubsub=yes', 'PUBSUB=true',
    'method=post', 'method=PUT', 'method=get', 'method=', 'body=hi', 'body=%ZZ', 'body=a+b%20c', 'x=1', '=', '&', '%', '%E0%A4%A', '%F0%9F%98%80')
)

const query: fc.Arbitrary<string> = fc.option(fc.array(queryPart, { minLength: 1, maxLength: 4 }).map(parts => '?' + parts.join('&')), { nil: '', freq: 2 })

/** Methods Node's parser takes (others, `get` included, get its 400) and a few it does not. */
const method: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'), weight: 3 },
  { arbitrary: fc.constantFrom('HEAD', 'OPTIONS', 'PATCH', 'PROPFIND', 'M-SEARCH', 'TRACE', 'QUERY', 'PURGE', 'MKCOL', 'LOCK', 'SUBSCRIBE', 'CONNECT'), weight: 1 },
  { arbitrary: fc.constantFrom('get', 'Post', 'FOO', 'DESCRIBE'), weight: 1 }
)

interface TargetRequest {
  readonly method: string
  readonly target: string
  readonly serviceWorker: boolean
  readonly body: string | undefined
}

const targetRequest: fc.Arbitrary<TargetRequest> = fc.record({
  method,
  path: fc.oneof(
    { arbitrary: fc.tuple(segment, segment), weight: 10 },
    { arbitrary: fc.tuple(segment), weight: 4 },
    { arbitrary: fc.array(segment, { minLength: 0, maxLength: 4 }), weight: 3 },
    { arbitrary: fc.tuple(segment, fc.constant('y'.repeat(20_000))), weight: 1 }
  ),
  trailingSlash: fc.boolean(),
  query,
  serviceWorker: fc.boolean(),
  body: fc.option(fc.string({ unit: 'binary', maxLength: 40 }), { nil: undefined })
}).map(({ method, path, trailingSlash, query, serviceWorker, body }) => ({
  method,
  target: '/channels/' + path.join('/') + (trailingSlash ? '/' : '') + query,
  serviceWorker,
  body
}))

// ---------------------------------------------------------------------------------------------
// The oracle: what the HTTP contract (docs/http-contract.md) says the answer to a request target is
// ---------------------------------------------------------------------------------------------

type Prediction =
  /** Node's parser refuses the request itself. */
  | { readonly kind: 'node', readonly statuses: ReadonlyArray<400 | 431> }
  /** Node drops the connection unanswered (CONNECT with no 'connect' listener). */
  | { readonly kind: 'dropped' }
  | { readonly kind: 'status', readonly statuses: readonly number[] }
  /** A consumer, producer or subscriber: it waits, and a DELETE of its namespace answers it 410. */
  | { readonly kind: 'waits' }

const NODE_METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'PROPFIND', 'M-SEARCH', 'TRACE', 'QUERY', 'PURGE', 'MKCOL', 'LOCK', 'SUBSCRIBE', 'CONNECT'])

/** A segment decoded and checked as SPEC §1 says; undefined when it is refused (400). */
function decodeName (raw: string): string | undefined {
  let decoded: string
  try {
    decoded = decodeURIComponent(raw)
  } catch {
    return undefined
  }
  // README "Names": NFC, then no control, format (bidirectional, zero-width) or separator characters.
  decoded = decoded.normalize('NFC')
  const length = [...decoded].length
  if (length < 1 || length > 256 || decoded.includes('/') || /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(decoded)) return undefined
  return decoded
}

/** README "Query parameters": undefined when the query is refused (400). */
function readQuery (raw: string): { pubsub: boolean, link: boolean } | undefined {
  try {
    decodeURIComponent(raw.replace(/\+/g, ' '))
  } catch {
    return undefined
  }
  const params = new URLSearchParams(raw)
  const pubsub = params.get('pubsub')
  if (pubsub !== null && !['true', '1', '', 'false', '0'].includes(pubsub)) return undefined
  const linkMethod = params.get('method')
  if (linkMethod !== null && !['post', 'put'].includes(linkMethod.toLowerCase())) return undefined
  return { pubsub: pubsub !== null && ['true', '1', ''].includes(pubsub), link: linkMethod !== null }
}

function predict (request: TargetRequest, head: Buffer): Prediction {
  const tooLarge = head.length > NODE_MAX_HEADER_SIZE
  // llhttp knows some methods Node then refuses (RTSP's DESCRIBE): those may hit the size limit first.
  if (!NODE_METHODS.has(request.method)) return { kind: 'node', statuses: tooLarge ? [400, 431] : [400] }
  if (tooLarge) return { kind: 'node', statuses: [431] }
  if (request.method === 'CONNECT') return { kind: 'dropped' }

  const { method, target } = request
  const queryAt = target.indexOf('?')
  let path = (queryAt === -1 ? target : target.slice(0, queryAt)).slice('/channels'.length)
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1)
  if (path === '/' || path === '') return { kind: 'status', statuses: [404] }
  const segments = path.slice(1).split('/')
  if (segments.length > 2) return { kind: 'status', statuses: [404] }
  const namespace = decodeName(segments[0] ?? '')
  if (namespace === undefined) return { kind: 'status', statuses: [400] }

  if (segments.length === 1) {
    // Nothing exists between requests, so a namespace listing is always 404.
    if (method === 'GET') return { kind: 'status', statuses: [namespace === 'namespaces' ? 200 : 404] }
    if (method === 'DELETE') return { kind: 'status', statuses: [204] }
    return { kind: 'status', statuses: [405] }
  }

  if (decodeName(segments[1] ?? '') === undefined) return { kind: 'status', statuses: [400] }
  const parsed = readQuery(queryAt === -1 ? '' : target.slice(queryAt + 1))
  // The README does not rank a bad query against a method the channel does not take.
  if (parsed === undefined) return { kind: 'status', statuses: ['GET', 'POST', 'PUT', 'DELETE'].includes(method) ? [400] : [400, 405] }
  switch (method) {
    case 'GET':
      // README: any GET with Service-Worker: script is refused, a link producer's included (pinned below).
      if (request.serviceWorker) return { kind: 'status', statuses: [400] }
      // A link producer publishing to nobody is answered at once.
      if (parsed.link && parsed.pubsub) return { kind: 'status', statuses: [200] }
      return { kind: 'waits' }
    case 'POST':
    case 'PUT':
      return parsed.pubsub ? { kind: 'status', statuses: [200] } : { kind: 'waits' }
    case 'DELETE':
      return { kind: 'status', statuses: [204] }
    default:
      return { kind: 'status', statuses: [405] }
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

interface Parsed {
  readonly status: number | undefined
  /** Header values by lower-case name, in order. */
  readonly headers: ReadonlyMap<string, string[]>
  readonly body: Buffer
}

function parse (exchange: RawExchange): Parsed {
  const headers = new Map<string, string[]>()
  for (const line of exchange.head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':')
    const key = line.slice(0, colon).trim().toLowerCase()
    headers.set(key, [...(headers.get(key) ?? []), trimOws(line.slice(colon + 1))])
  }
  const chunked = headers.get('transfer-encoding')?.[0]?.toLowerCase() === 'chunked'
  return { status: exchange.status, headers, body: chunked ? dechunk(exchange.body) : exchange.body }
}

function dechunk (raw: Buffer): Buffer {
  const parts: Buffer[] = []
  let at = 0
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', at)
    if (lineEnd === -1) throw new Error('truncated chunked body')
    const size = parseInt(raw.subarray(at, lineEnd).toString('latin1'), 16)
    if (size === 0) return Buffer.concat(parts)
    parts.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size))
    at = lineEnd + 2 + size + 2
  }
}

/** A request's head and body as bytes, always with `Connection: close`. */
function http11 (method: string, target: string, headers: ReadonlyArray<readonly [string, string]>, body?: Buffer): Buffer {
  const lines = [`${method} ${target} HTTP/1.1`, 'Host: hostile.test', 'Connection: close', ...headers.map(([key, value]) => `${key}: ${value}`)]
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), body ?? Buffer.alloc(0)])
}

// Media types a browser runs as a document or script (docs/http-contract.md, "Consumer headers").
const EXECUTABLE = new Set(['text/html', 'application/xhtml+xml', 'image/svg+xml', 'text/xml', 'application/xml', 'text/xsl',
  'application/xslt+xml', 'text/javascript', 'application/javascript', 'application/ecmascript', 'text/ecmascript',
  'application/x-javascript', 'text/x-javascript', 'application/x-ecmascript', 'text/x-ecmascript', 'text/jscript',
  'text/livescript', 'text/javascript1.0', 'text/javascript1.1', 'text/javascript1.2', 'text/javascript1.3',
  'text/javascript1.4', 'text/javascript1.5', 'module'])

/** The media type as a browser reads it: up to `;`, HTTP whitespace trimmed, any case. */
function mediaType (value: string): string {
  return value.split(';')[0]?.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '').toLowerCase() ?? ''
}

function runnable (contentType: string, read = mediaType): boolean {
  return contentType.split(',').some(member => EXECUTABLE.has(read(member)) || read(member).endsWith('+xml'))
}

/** Read more loosely (any Unicode space trimmed): what a careful server may also rewrite. */
function looseMediaType (value: string): string {
  return value.split(';')[0]?.trim().toLowerCase() ?? ''
}

/** Node trims optional whitespace (spaces, tabs) around a header value. */
function trimOws (value: string): string {
  return value.replace(/^[\t ]+|[\t ]+$/g, '')
}

// ---------------------------------------------------------------------------------------------
// Producer header generators
// ---------------------------------------------------------------------------------------------

/** A header value Node accepts: tab, printable ASCII and (unless `ascii`) obs-text 0x80-0xff, as latin1. */
const headerValue = (maxLength: number, ascii = false): fc.Arbitrary<string> => fc.string({
  unit: fc.oneof(
    { arbitrary: fc.integer({ min: 0x20, max: 0x7e }).map(c => String.fromCharCode(c)), weight: 8 },
    { arbitrary: fc.integer({ min: ascii ? 0x20 : 0x80, max: ascii ? 0x7e : 0xff }).map(c => String.fromCharCode(c)), weight: 1 },
    { arbitrary: fc.constant('\t'), weight: 1 }
  ),
  maxLength
})

const contentType: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('text/html', 'TEXT/HTML; charset=utf-8', ' text/html ;x=y', 'text/html\t', 'image/svg+xml', 'application/a+XML',
    'text/plain, text/html', 'text/html, text/plain', 'text/plain;a="x,text/html"', 'module', 'text/javascript1.5', 'application/x-www-form-urlencoded',
    'application/x-www-form-urlencoded; charset=x', '', ' ', 'application/json', 'text/plain; charset=utf-8', ';', ',', '*/*', 'text/html\xa0', 'text/\xe9html'),
  headerValue(200),
  fc.tuple(fc.constantFrom('text/html', 'application/xhtml+xml', 'text/plain'), headerValue(60)).map(([type, rest]) => type + rest)
)

interface ProducerRequest {
  readonly method: 'POST' | 'PUT'
  readonly headers: Array<readonly [string, string]>
  readonly body: Buffer
  /** What the producer declares: its Content-Length as sent, or chunked. */
  readonly framing: { readonly contentLength: string } | { readonly chunks: number[] }
}

const producerRequest: fc.Arbitrary<ProducerRequest> = fc.record({
  method: fc.constantFrom('POST' as const, 'PUT' as const),
  contentTypes: fc.array(contentType, { maxLength: 2 }),
  dispositions: fc.array(fc.oneof(headerValue(100, true), headerValue(12_000, true),
    fc.constantFrom('attachment; filename="a.html"', 'inline', 'attachment; filename*=UTF-8\'\'%E2%82%AC.txt')), { maxLength: 2 }),
  extra: fc.array(fc.tuple(fc.constantFrom('X-Dup', 'Accept-Encoding', 'Origin', 'Cookie', 'Expect-Nothing'), headerValue(40)), { maxLength: 4 }),
  body: fc.uint8Array({ maxLength: 3000 }).map(bytes => Buffer.from(bytes)),
  chunked: fc.boolean(),
  zeros: fc.nat({ max: 3 }),
  splits: fc.array(fc.nat(), { maxLength: 4 })
}).filter(({ contentTypes, dispositions, extra }) => [...contentTypes, ...dispositions, ...extra.map(([, value]) => value)]
  .reduce((sum, value) => sum + value.length + 40, 0) < NODE_MAX_HEADER_SIZE - 500)
  .map(({ method, contentTypes, dispositions, extra, body, chunked, zeros, splits }) => {
    const headers: Array<readonly [string, string]> = [
      ...contentTypes.map(value => ['Content-Type', value] as const),
      ...dispositions.map(value => ['Content-Disposition', value] as const),
      ...extra
    ]
    if (chunked) {
      const chunks = [...new Set(splits.map(split => split % (body.length + 1)))].sort((a, b) => a - b)
      return { method, headers: [...headers, ['Transfer-Encoding', 'chunked'] as const], body, framing: { chunks } }
    }
    // Leading zeros are valid: Node reads "0005" as 5.
    const contentLength = '0'.repeat(zeros) + String(body.length)
    return { method, headers: [...headers, ['Content-Length', contentLength] as const], body, framing: { contentLength } }
  })

function encodeBody (request: ProducerRequest): Buffer {
  if ('contentLength' in request.framing) return request.body
  const cuts = [0, ...request.framing.chunks, request.body.length]
  const parts: Buffer[] = []
  for (let i = 1; i < cuts.length; i++) {
    const piece = request.body.subarray(cuts[i - 1], cuts[i])
    if (piece.length > 0) parts.push(Buffer.from(piece.length.toString(16) + '\r\n'), piece, Buffer.from('\r\n'))
  }
  parts.push(Buffer.from('0\r\n\r\n'))
  return Buffer.concat(parts)
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

describe.each(adapters)('hostile input ($name)', ({ name: adapter, create }) => {
  let server: TrackedServer | undefined
  afterEach(async () => { await server?.close(); server = undefined })

  async function start (): Promise<{ server: TrackedServer, pipe: TestApp['pipe'] }> {
    const { app, pipe } = create({ limits: { bodySize: BODY_LIMIT } })
    server = await listenTracked(app)
    return { server, pipe }
  }

  /**
   * Answers every waiting request 410 by deleting each listed namespace; returns the names. Over
   * raw sockets: an HTTP client would resolve a `.` or `..` namespace (even as `%2E`) away.
   */
  async function sweep (port: number): Promise<string[]> {
    const listing = parse(await rawExchange(port, http11('GET', '/channels/namespaces', []), REQUEST_TIMEOUT_MS))
    expect(listing.status).toBe(200)
    const namespaces = JSON.parse(listing.body.toString()) as string[]
    for (const namespace of namespaces) {
      const target = `/channels/${encodeURIComponent(namespace).replace(/\./g, '%2E')}`
      expect({ namespace, status: (await rawExchange(port, http11('DELETE', target, []), REQUEST_TIMEOUT_MS)).status }).toEqual({ namespace, status: 204 })
    }
    return namespaces
  }

  /** A failed run may leave requests waiting: turn them away so the next run (and shrinking) starts clean. */
  async function clearLeftovers (port: number, pipe: TestApp['pipe']): Promise<void> {
    if (pipe.stats().waitingProducers + pipe.stats().waitingConsumers > 0) await sweep(port)
    await waitUntil(() => pipe.stats().runningTransfers === 0, 2000)
  }

  async function stillServes (url: string, pipe: TestApp['pipe']): Promise<void> {
    const consumer = send(`${url}/channels/after/all`, 'GET')
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    expect((await send(`${url}/channels/after/all`, 'POST', 'still here')).status).toBe(200)
    expect((await consumer).body.toString()).toBe('still here')
  }

  it('answers random methods, names and query strings as the contract says, never 5xx', async () => {
    const { server, pipe } = await start()
    const waiting = (): number => pipe.stats().waitingProducers + pipe.stats().waitingConsumers

    await fc.assert(fc.asyncProperty(targetRequest, async request => {
      await clearLeftovers(server.port, pipe)
      const body = request.body === undefined ? undefined : Buffer.from(request.body)
      const headers: Array<readonly [string, string]> = []
      if (request.serviceWorker) headers.push(['Service-Worker', 'script'])
      if (body !== undefined) headers.push(['Content-Length', String(body.length)])
      const bytes = http11(request.method, request.target, headers, body)
      const prediction = predict(request, bytes.subarray(0, bytes.indexOf('\r\n\r\n') + 4))

      let answered = false
      const exchange = rawExchange(server.port, bytes, REQUEST_TIMEOUT_MS).finally(() => { answered = true })
      await waitUntil(() => answered || waiting() > 0, 2000)
      const waited = !answered
      const swept = waited ? await sweep(server.port) : []
      const response = parse(await exchange)
      const seen = { target: request.target.slice(0, 200), method: request.method, status: response.status, waited }

      switch (prediction.kind) {
        case 'node':
          expect({ ...seen, expected: prediction.statuses.some(status => status === response.status) }).toEqual({ ...seen, expected: true, waited: false })
          break
        case 'dropped':
          expect(seen).toEqual({ ...seen, status: undefined, waited: false })
          break
        case 'status':
          expect({ ...seen, expected: prediction.statuses.includes(response.status ?? 0) }).toEqual({ ...seen, expected: true, waited: false })
          break
        case 'waits':
          expect(seen).toEqual({ ...seen, status: 410, waited: true })
          // The listing named the namespace decoded, and exactly that one.
          expect(swept).toHaveLength(1)
          expect(decodeName(request.target.slice('/channels/'.length).split(/[/?]/)[0] ?? '')).toBe(swept[0])
          break
      }
      // Every response httpipe writes itself is nosniff; Express errors are the host handler's to write.
      if (response.status !== undefined && prediction.kind !== 'node' && (response.status < 400 || adapter !== 'express router')) {
        expect(response.headers.get('x-content-type-options')).toEqual(['nosniff'])
      }
      await waitUntil(() => pipe.stats().runningTransfers === 0)
      expect(pipe.stats()).toMatchObject(ZERO)
    }), { numRuns: 100, plugins: [fc.interruptAfterTimeLimit(15_000, { failOnInterrupt: true })] })

    await stillServes(server.url, pipe)
  })

  it('relays a producer with weird headers byte for byte, with safe consumer headers, never 5xx', async () => {
    const { server, pipe } = await start()
    let run = 0

    await fc.assert(fc.asyncProperty(producerRequest, async request => {
      await clearLeftovers(server.port, pipe)
      const target = `/channels/hostile/h${run++}`
      let answered = false
      const producer = rawExchange(server.port, http11(request.method, target, request.headers, encodeBody(request)), REQUEST_TIMEOUT_MS)
        .finally(() => { answered = true })
      await waitUntil(() => answered || pipe.stats().waitingProducers === 1, 2000)
      expect({ answeredBeforeConsumer: answered }).toEqual({ answeredBeforeConsumer: false })

      const consumer = parse(await rawExchange(server.port, http11('GET', target, []), REQUEST_TIMEOUT_MS))
      const produced = parse(await producer)
      expect({ producer: produced.status, bytes: produced.body.length }).toEqual({ producer: 200, bytes: 0 })
      expect(consumer.status).toBe(200)
      expect(consumer.body.equals(request.body)).toBe(true)

      // Consumer headers: the producer's (as Node received them), made safe.
      const sentTypes = request.headers.filter(([key]) => key === 'Content-Type').map(([, value]) => trimOws(value))
      const sentDispositions = request.headers.filter(([key]) => key === 'Content-Disposition').map(([, value]) => trimOws(value))
      const type = consumer.headers.get('content-type') ?? []
      expect(type).toHaveLength(1)
      const [gotType = ''] = type
      expect({ type: gotType, runnable: runnable(gotType) }).toEqual({ type: gotType, runnable: false })
      // Node keeps the first of duplicated Content-Types.
      const sentType = sentTypes[0]
      if (sentType !== undefined && sentType.trim() !== '' && !runnable(sentType, looseMediaType) && !sentType.includes(',') &&
        looseMediaType(sentType) !== 'application/x-www-form-urlencoded') {
        expect(gotType).toBe(sentType)
      }
      if (sentType === undefined) expect(gotType).toBe('application/octet-stream')
      // Node joins duplicated Content-Dispositions with ", ".
      expect(consumer.headers.get('content-disposition')).toEqual(sentDispositions.length === 0 ? undefined : [trimOws(sentDispositions.join(', '))])
      expect(consumer.headers.get('content-length')).toEqual('contentLength' in request.framing ? [request.framing.contentLength] : undefined)
      expect(consumer.headers.get('x-content-type-options')).toEqual(['nosniff'])
      expect(consumer.headers.get('content-security-policy')).toEqual(['sandbox'])

      await waitUntil(() => pipe.stats().runningTransfers === 0)
      expect(pipe.stats()).toMatchObject(ZERO)
    }), { numRuns: 100, plugins: [fc.interruptAfterTimeLimit(15_000, { failOnInterrupt: true })] })

    await stillServes(server.url, pipe)
  })

  // Node 20 refuses such a value once Content-Length is set (see consumer-headers.ts): the
  // consumer's headers are built so that it passes byte for byte.
  it('relays a UTF-8 Content-Disposition sent with a Content-Length byte for byte', async () => {
    const { server, pipe } = await start()
    // `attachment; filename="€.txt"` in UTF-8, as Node reads header bytes (latin1).
    const disposition = 'attachment; filename="\xe2\x82\xac.txt"'
    const headers = [['Content-Disposition', disposition], ['Content-Length', '5']] as const
    const producer = rawExchange(server.port, http11('POST', '/channels/ns/ch', headers, Buffer.from('hello')), REQUEST_TIMEOUT_MS)
    await waitUntil(() => pipe.stats().waitingProducers === 1)
    const consumer = parse(await rawExchange(server.port, http11('GET', '/channels/ns/ch', []), REQUEST_TIMEOUT_MS))
    expect({ status: consumer.status, disposition: consumer.headers.get('content-disposition'), body: consumer.body.toString() })
      .toEqual({ status: 200, disposition: [disposition], body: 'hello' })
    expect((await producer).status).toBe(200)
    await waitUntil(() => pipe.stats().runningTransfers === 0, 1000)
    expect(pipe.stats()).toMatchObject(ZERO)
  })

  // The Service-Worker rule covers every GET, a link producer's included.
  it('refuses a link producer GET carrying Service-Worker: script', async () => {
    const { server, pipe } = await start()
    let answered = false
    const answer = rawExchange(server.port, http11('GET', '/channels/ns/ch?method=post&body=hi', [['Service-Worker', 'script']]), REQUEST_TIMEOUT_MS)
      .finally(() => { answered = true })
    await waitUntil(() => answered || pipe.stats().waitingProducers === 1, 2000)
    if (!answered) await sweep(server.port)
    expect((await answer).status).toBe(400)
  })

  // Framing and header errors Node's parser answers itself: the pipe never sees them.
  it.each([
    ['duplicated Content-Length', 'Content-Length: 1\r\nContent-Length: 1', 'x', 400],
    ['conflicting Content-Lengths', 'Content-Length: 1\r\nContent-Length: 2', 'xx', 400],
    ['a Content-Length list', 'Content-Length: 1, 1', 'x', 400],
    ['a signed Content-Length', 'Content-Length: +1', 'x', 400],
    ['a negative Content-Length', 'Content-Length: -1', 'x', 400],
    ['a hexadecimal Content-Length', 'Content-Length: 0x1', 'x', 400],
    ['a Content-Length past 2^64', 'Content-Length: 99999999999999999999999', 'x', 400],
    ['Content-Length and Transfer-Encoding', 'Content-Length: 1\r\nTransfer-Encoding: chunked', '1\r\nx\r\n0\r\n\r\n', 400],
    ['chunked not last in Transfer-Encoding', 'Transfer-Encoding: chunked, gzip', '1\r\nx\r\n0\r\n\r\n', 400],
    ['a control character in Content-Type', 'Content-Type: a\x01b\r\nContent-Length: 1', 'x', 400],
    ['DEL in Content-Type', 'Content-Type: a\x7fb\r\nContent-Length: 1', 'x', 400],
    ['NUL in Content-Type', 'Content-Type: a\x00b\r\nContent-Length: 1', 'x', 400],
    ['a bare CR in a header', 'Content-Type: a\rb\r\nContent-Length: 1', 'x', 400],
    ['a folded header line', 'Content-Type: a\r\n b\r\nContent-Length: 1', 'x', 400],
    ['a space in a header name', 'Content Type: a\r\nContent-Length: 1', 'x', 400],
    ['a Content-Disposition of 17 000 bytes', `Content-Disposition: ${'a'.repeat(17_000)}\r\nContent-Length: 1`, 'x', 431]
  ])('leaves a producer with %s to Node (%#), which answers it itself', async (_label, headers, body, status) => {
    const { server, pipe } = await start()
    const request = Buffer.from(`POST /channels/ns/ch HTTP/1.1\r\nHost: hostile.test\r\nConnection: close\r\n${headers}\r\n\r\n${body}`, 'latin1')
    const response = await rawExchange(server.port, request, REQUEST_TIMEOUT_MS)
    expect(response.status).toBe(status)
    expect(server.exchanges).toHaveLength(0)
    expect(pipe.stats()).toMatchObject(ZERO)
    await stillServes(server.url, pipe)
  })
})
