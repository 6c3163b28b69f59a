import { createHash, randomBytes } from 'node:crypto'
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeAll, afterAll, describe, expect, it } from '@jest/globals'
import { createStandaloneServer } from '../lib/server'
import { open, send, waitUntil } from './helpers/http'
import { CLI, run, startStandalone, type Standalone } from './helpers/standalone'

let server: Standalone | undefined
afterEach(async () => { await server?.stop(); server = undefined })

let dir = ''
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'httpipe-')) })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

/** Polls a listing until it shows `channel` waiting in `namespace` (the process is out of reach of stats()). */
async function waitForChannel (base: string, namespace: string, channel: string): Promise<void> {
  await waitUntil(async () => {
    const res = await send(`${base}/channels/${namespace}`, 'GET')
    return res.status === 200 && (JSON.parse(res.body.toString()) as string[]).includes(channel)
  }, 5000, `channel ${namespace}/${channel} to appear`)
}

describe('standalone server with curl', () => {
  it('runs the seed example: curl -d "hello" in one process, curl -XGET printing hello in another', async () => {
    server = await startStandalone()
    const producer = run('curl', ['-s', '-XPOST', `${server.url}/channels/v1/do_work`, '-d', 'hello', '-w', '%{http_code}'])
    await waitForChannel(server.url, 'v1', 'do_work')
    const consumer = await run('curl', ['-s', '-XGET', `${server.url}/channels/v1/do_work`])
    expect(consumer.code).toBe(0)
    expect(consumer.stdout).toBe('hello')
    expect((await producer).stdout).toBe('200')
  })

  it('works the other way round: the consumer waits for the producer', async () => {
    server = await startStandalone()
    const consumer = run('curl', ['-s', '-D', '-', `${server.url}/channels/v1/do_work`])
    await waitForChannel(server.url, 'v1', 'do_work')
    const producer = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'Content-Type: text/plain', '--data-binary', 'line one\nline two\n', `${server.url}/channels/v1/do_work`])
    expect(producer.stdout).toBe('200')
    const { stdout } = await consumer
    expect(stdout).toMatch(/^HTTP\/1.1 200 OK\r\n/)
    expect(stdout).toMatch(/\r\nContent-Type: text\/plain\r\n/i)
    expect(stdout).toMatch(/\r\nX-Content-Type-Options: nosniff\r\n/i)
    expect(stdout.endsWith('\r\n\r\nline one\nline two\n')).toBe(true)
  })

  it('hands a binary file over byte for byte, with its name and length', async () => {
    server = await startStandalone()
    const file = join(dir, 'archive.bin')
    const received = join(dir, 'received.bin')
    const payload = randomBytes(5 * 1024 * 1024 + 17)
    await writeFile(file, payload)
    const producer = run('curl', ['-s', '--fail', '-T', file, '-H', 'Content-Disposition: attachment; filename="archive.bin"', '-w', '%{http_code}', `${server.url}/channels/files/handoff`])
    await waitForChannel(server.url, 'files', 'handoff')
    const consumer = await run('curl', ['-s', '--fail', '-D', '-', '-o', received, `${server.url}/channels/files/handoff`])
    expect(consumer.code).toBe(0)
    expect(consumer.stdout).toMatch(/\r\ncontent-disposition: attachment; filename="archive.bin"\r\n/i)
    expect(consumer.stdout).toMatch(new RegExp(`\\r\\ncontent-length: ${payload.length}\\r\\n`, 'i'))
    const digest = (data: Buffer): string => createHash('sha256').update(data).digest('hex')
    expect(digest(await readFile(received))).toBe(digest(payload))
    expect((await producer).stdout).toBe('200')
  })

  it('answers errors as text/plain with the message and a newline', async () => {
    server = await startStandalone()
    const res = await send(`${server.url}/channels/a%2Fb/ch`, 'GET')
    expect(res.status).toBe(400)
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8')
    expect(res.body.toString()).toBe('invalid namespace name: "a/b" contains "/" (%2F)\n')
    const outside = await send(`${server.url}/elsewhere`, 'GET')
    expect(outside.status).toBe(404)
    expect(outside.body.toString()).toBe('no route for "/elsewhere": use /channels/{namespace}/{channel}, /channels/{namespace} or /channels/namespaces\n')
  })

  it('tells a curl producer 413 while it is still uploading past --max-body-size', async () => {
    server = await startStandalone(['--max-body-size', '1000000'])
    const consumer = open(`${server.url}/channels/big/ch`, 'GET')
    await waitForChannel(server.url, 'big', 'ch')
    // Chunked from stdin, so the limit is crossed mid-stream rather than announced up front.
    const producer = await run('curl', ['-s', '-T', '-', '-w', '\n%{http_code}', `${server.url}/channels/big/ch`], Buffer.alloc(8 * 1024 * 1024, 'x'))
    expect(producer.stdout).toMatch(/^message is larger than 1000000 bytes \(limits\.bodySize\); received \d+\n\n413$/)
    expect((await consumer.done).complete).toBe(false)
  })

  it('answers 413 at once to a declared Content-Length over --max-body-size', async () => {
    server = await startStandalone(['--max-body-size', '10'])
    const producer = await run('curl', ['-s', '-w', '\n%{http_code}', '--data-binary', 'x'.repeat(11), `${server.url}/channels/ns/ch`])
    expect(producer.stdout).toBe('message is larger than 10 bytes (limits.bodySize); received 11\n\n413')
  })

  it('refuses link producers with --no-links', async () => {
    server = await startStandalone(['--no-links'])
    const link = await send(`${server.url}/channels/ns/ch?method=post&body=hi`, 'GET')
    expect({ status: link.status, body: link.body.toString() }).toEqual({
      status: 403,
      body: 'link producers are disabled (option links: false): send with POST or PUT\n'
    })
  })

  it('serves no listings with --no-listing', async () => {
    server = await startStandalone(['--no-listing'])
    expect((await send(`${server.url}/channels/namespaces`, 'GET')).status).toBe(404)
  })
})

describe('standalone server shutdown', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('on %s answers 503 to waiting requests, finishes the running transfer, and exits 0', async signal => {
    server = await startStandalone()
    const producer = open(`${server.url}/channels/ns/running`, 'POST', { 'Transfer-Encoding': 'chunked' })
    await producer.write('half ')
    const consumer = open(`${server.url}/channels/ns/running`, 'GET')
    await consumer.response
    const waiting = open(`${server.url}/channels/ns/idle`, 'GET')
    await waitForChannel(server.url, 'ns', 'idle')

    server.process.kill(signal)
    const refused = await waiting.done
    expect(refused.status).toBe(503)
    expect(refused.body.toString()).toBe('httpipe is shutting down and accepts no more requests\n')
    producer.end('done')
    expect((await consumer.done).body.toString()).toBe('half done')
    expect((await producer.done).status).toBe(200)
    expect(await server.exited).toBe(0)
  })
})

describe('httpipe CLI', () => {
  it('prints the address it listens on', async () => {
    server = await startStandalone()
    // The first log line (pino, JSON): the address, in `msg` and in `url`.
    const first = JSON.parse(server.output().split('\n')[0] ?? '') as { msg: string, url: string, level: number }
    expect(first.msg).toMatch(/^httpipe listening on http:\/\/127\.0\.0\.1:\d+\/channels$/)
    expect(first.url).toBe(`${server.url}/channels`)
    expect(first.level).toBe(30)
  })

  it('takes the port from PORT', async () => {
    const probe = createStandaloneServer()
    await new Promise<void>(resolve => probe.server.listen(0, '127.0.0.1', resolve))
    const { port } = probe.server.address() as { port: number }
    await new Promise(resolve => probe.server.close(resolve))
    server = await startStandalone([], { PORT: String(port) })
    expect(server.url).toBe(`http://127.0.0.1:${port}`)
  })

  it('prints usage with --help and the version with --version', async () => {
    const help = await run(process.execPath, [CLI, '--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('Usage: httpipe [options]')
    expect(help.stdout).toContain('--request-timeout SECONDS')
    const version = await run(process.execPath, [CLI, '--version'])
    expect(version.code).toBe(0)
    expect(version.stdout).toBe(`${(JSON.parse(await readFile(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version}\n`)
  })

  it('exits 2 with a message naming a bad flag', async () => {
    const bad = await run(process.execPath, [CLI, '--port', 'eighty'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('--port (or PORT) must be an integer from 0 to 65535, got "eighty"')
    const unknown = await run(process.execPath, [CLI, '--prot', '80'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain("Unknown option '--prot'")
  })

  it('does not cut waits short: Node\'s requestTimeout is 0 whatever the options', () => {
    expect(createStandaloneServer().server.requestTimeout).toBe(0)
    expect(createStandaloneServer({ timeout: 1000 }).server.requestTimeout).toBe(0)
  })

  it('lists the short flags and usage examples in --help', async () => {
    const help = await run(process.execPath, [CLI, '-h'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('\n  -h, --help ')
    expect(help.stdout).toContain('\n  -v, --version ')
    for (const flag of ['--concurrency N', '--max-body-size BYTES', '--max-waiters N', '--max-waiters-per-channel N', '--max-event-size BYTES']) {
      expect(help.stdout).toContain(`\n  ${flag} `)
    }
    expect(help.stdout).toContain('\nExamples:\n  httpipe --port 8080 --request-timeout 600\n')
  })

  it.each([
    [['--port', '-1'], '--port (or PORT) must be an integer from 0 to 65535, got "-1"'],
    [['--max-waiters', '-3'], '--max-waiters must be an integer from 1 to 9007199254740991, got "-3"'],
    [['--request-timeout', '-1'], '--request-timeout (or REQUEST_TIMEOUT) must be a number of seconds from 0 to 2147483 (0 for none), got "-1"'],
    [['--cors-origin', 'nope'], '--cors-origin must be a boolean or an origin such as "https://app.example", got "nope"']
  ])('exits 2 for %j with the range message naming the flag, then the usage', async (args, message) => {
    const bad = await run(process.execPath, [CLI, ...args])
    expect(bad.code).toBe(2)
    expect(bad.stdout).toBe('')
    expect(bad.stderr).toBe(`httpipe: ${message}\n\n${(await run(process.execPath, [CLI, '--help'])).stdout}`)
  })
})

describe('--request-timeout SECONDS (the wait timeout, as in the seed)', () => {
  // Real time: the CLI runs in its own process, out of reach of fake timers. 0.3 s keeps it short.
  it.each(['GET', 'POST'])('answers a lone %s 408 channel.timeout as text/plain after that long', async method => {
    server = await startStandalone(['--request-timeout', '0.3'])
    const started = Date.now()
    const res = await send(`${server.url}/channels/ns/lonely`, method, method === 'POST' ? 'unsent' : undefined)
    expect(Date.now() - started).toBeGreaterThanOrEqual(290)
    expect(res.status).toBe(408)
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8')
    expect(res.body.toString()).toBe('no counterpart arrived on channel ns/lonely within 300 ms (option timeout)\n')
  })

  it('reads REQUEST_TIMEOUT from the environment the same way', async () => {
    server = await startStandalone([], { REQUEST_TIMEOUT: '0.2' })
    const res = await send(`${server.url}/channels/ns/lonely`, 'GET')
    expect({ status: res.status, body: res.body.toString() }).toEqual({ status: 408, body: 'no counterpart arrived on channel ns/lonely within 200 ms (option timeout)\n' })
  })

  it('never cuts a matched transfer, however long it runs', async () => {
    server = await startStandalone(['--request-timeout', '0.2'])
    const producer = open(`${server.url}/channels/ns/slow`, 'POST', { 'Transfer-Encoding': 'chunked' })
    await producer.write('first ')
    const consumer = open(`${server.url}/channels/ns/slow`, 'GET')
    await consumer.response
    // Longer than the timeout, mid-transfer: the one fixed wait here is the thing under test.
    await new Promise(resolve => setTimeout(resolve, 500))
    producer.end('last')
    const got = await consumer.done
    expect({ status: got.status, body: got.body.toString(), complete: got.complete }).toEqual({ status: 200, body: 'first last', complete: true })
    expect((await producer.done).status).toBe(200)
  })
})

describe('router option flags', () => {
  it('--max-waiters-per-channel turns away the next waiter with 503 channel.full', async () => {
    server = await startStandalone(['--max-waiters-per-channel', '1'])
    const first = open(`${server.url}/channels/ns/ch`, 'GET')
    await waitForChannel(server.url, 'ns', 'ch')
    const second = await send(`${server.url}/channels/ns/ch`, 'GET')
    expect(second.status).toBe(503)
    expect(second.headers['retry-after']).toBe('1')
    expect(second.body.toString()).toBe('channel ns/ch already has 1 waiting requests (limits.waitersPerChannel)\n')
    first.destroy()
  })

  it('--max-waiters turns away a waiter beyond it on any channel with 503 router.full', async () => {
    server = await startStandalone(['--max-waiters', '1'])
    const first = open(`${server.url}/channels/ns/a`, 'GET')
    await waitForChannel(server.url, 'ns', 'a')
    const second = await send(`${server.url}/channels/ns/b`, 'GET')
    expect({ status: second.status, body: second.body.toString() }).toEqual({ status: 503, body: 'the router already has 1 waiting requests (limits.waiters)\n' })
    first.destroy()
  })

  it('--concurrency lets that many transfers run at once on one channel', async () => {
    server = await startStandalone(['--concurrency', '2'])
    const producers = [open(`${server.url}/channels/ns/ch`, 'POST', { 'Transfer-Encoding': 'chunked' }), open(`${server.url}/channels/ns/ch`, 'POST', { 'Transfer-Encoding': 'chunked' })]
    await producers[0]?.write('a')
    await producers[1]?.write('b')
    const consumers = [open(`${server.url}/channels/ns/ch`, 'GET'), open(`${server.url}/channels/ns/ch`, 'GET')]
    // Both consumers get their headers while both transfers are still open: two run at once.
    await Promise.all(consumers.map(async c => await c.response))
    producers.forEach(p => { p.end() })
    expect((await Promise.all(consumers.map(async c => await c.done))).map(r => r.body.toString()).sort()).toEqual(['a', 'b'])
  })

  it('--max-event-size bounds what a live subscriber takes', async () => {
    server = await startStandalone(['--max-event-size', '4'])
    const live = open(`${server.url}/channels/ns/live`, 'GET', { Accept: 'text/event-stream' })
    await live.response
    const res = await send(`${server.url}/channels/ns/live`, 'POST', 'too long')
    expect({ status: res.status, body: res.body.toString() }).toEqual({ status: 413, body: 'message is larger than 4 bytes a live (text/event-stream) subscriber takes (limits.eventSize); received 8\n' })
    live.destroy()
  })
})

describe('outside the mount path', () => {
  let local: { url: string, port: number, close: () => Promise<void> } | undefined
  afterEach(async () => { await local?.close(); local = undefined })

  async function start (options: Parameters<typeof createStandaloneServer>[0] = { ui: true }): Promise<{ url: string, port: number }> {
    const { server: http } = createStandaloneServer(options)
    await new Promise<void>(resolve => http.listen(0, '127.0.0.1', resolve))
    const { port } = http.address() as { port: number }
    local = {
      url: `http://127.0.0.1:${port}`,
      port,
      close: async () => { http.closeAllConnections(); await new Promise(resolve => http.close(resolve)) }
    }
    return local
  }

  function helpFor (base: string): string {
    return [
      'httpipe: patchbay-style HTTP pipes. A producer POSTs (or PUTs) a message to',
      `  ${base}/{namespace}/{channel}`,
      'and a consumer GETs the same URL: each waits for the other, then the body streams straight',
      'through. Nothing is stored.',
      '',
      'Send a message (curl returns once it has been received):',
      `  curl -d 'hello' ${base}/my-namespace/my-channel`,
      'Receive it:',
      `  curl ${base}/my-namespace/my-channel`,
      '',
      'Hand over a file (use a long random channel name: whoever knows it can take the file):',
      `  curl -T file.tar.gz ${base}/files/8f3a9c0d27e4b615`,
      `  curl --fail -o file.tar.gz ${base}/files/8f3a9c0d27e4b615`,
      'Stream:',
      `  tar cz dir | curl -T - ${base}/files/8f3a9c0d27e4b615`,
      '',
      'Broadcast to every waiting subscriber:',
      `  curl '${base}/chat/lobby?pubsub=true'`,
      `  curl -d 'hi all' '${base}/chat/lobby?pubsub=true'`,
      '',
      'Namespaces in use:',
      `  curl ${base}/namespaces`,
      '',
      `In a browser: ${base}/`,
      ''
    ].join('\n')
  }

  it.each(['/', '/help', '/?x=1'])('redirects a browser asking for GET %s to /channels/', async path => {
    const { url } = await start()
    const res = await send(`${url}${path}`, 'GET', undefined, { Accept: 'text/html,application/xhtml+xml,*/*;q=0.8' })
    expect(res.status).toBe(302)
    expect(res.headers.location).toBe('/channels/')
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8')
    expect(res.headers['x-content-type-options']).toBe('nosniff')
    expect(res.body.toString()).toBe('See /channels/\n')
  })

  it.each(['/', '/help'])('answers GET %s from curl with text/plain help using the request\'s own host', async path => {
    const { url, port } = await start()
    const res = await run('curl', ['-s', '-i', `${url}${path}`])
    const [head, body] = res.stdout.split('\r\n\r\n') as [string, string]
    expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
    expect(head).toMatch(/\r\ncontent-type: text\/plain; charset=utf-8(\r\n|$)/i)
    expect(head).toMatch(/\r\ncache-control: no-store, no-transform(\r\n|$)/i)
    expect(body).toBe(helpFor(`http://127.0.0.1:${port}/channels`))
  })

  it('uses the Host header and X-Forwarded-Proto of a proxy in front', async () => {
    const { url } = await start()
    const res = await send(`${url}/help`, 'GET', undefined, { Host: 'pipes.example.org', 'X-Forwarded-Proto': 'https, http' })
    expect(res.status).toBe(200)
    expect(res.body.toString()).toBe(helpFor('https://pipes.example.org/channels'))
  })

  it.each([
    ['a shell metacharacter', "evil.example;rm -rf ~'"],
    ['a path', 'evil.example/x'],
    ['a user part', 'user@evil.example'],
    ['a space', 'evil example']
  ])('does not echo a Host header with %s: it uses the socket address instead', async (_, hostHeader) => {
    const { url, port } = await start()
    const res = await send(`${url}/help`, 'GET', undefined, { Host: hostHeader, 'X-Forwarded-Proto': 'javascript' })
    expect(res.status).toBe(200)
    expect(res.body.toString()).toBe(helpFor(`http://127.0.0.1:${port}/channels`))
  })

  it('answers HEAD /help with the headers and no body', async () => {
    const { url } = await start()
    const res = await send(`${url}/help`, 'HEAD')
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8')
    expect(res.body.length).toBe(0)
  })

  it('mentions neither the page nor the listing when they are off, and does not redirect a browser to a page it does not serve', async () => {
    const { url, port } = await start({ ui: false, listing: false })
    const res = await send(`${url}/`, 'GET', undefined, { Accept: 'text/html' })
    expect(res.status).toBe(200)
    const text = helpFor(`http://127.0.0.1:${port}/channels`)
    expect(res.body.toString()).toBe(text.slice(0, text.indexOf('\nNamespaces in use:')))
  })

  it('answers other methods on / and /help with 405 and Allow', async () => {
    const { url } = await start()
    const res = await send(`${url}/help`, 'POST', 'x')
    expect(res.status).toBe(405)
    expect(res.headers.allow).toBe('GET, HEAD')
  })

  it.each(['/elsewhere', '/help/more', '/channelsx', '/index.html'])('keeps 404 for %s, with a hint that names /channels', async path => {
    const { url } = await start()
    const res = await send(`${url}${path}`, 'GET')
    expect(res.status).toBe(404)
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8')
    expect(res.body.toString()).toBe(`no route for ${JSON.stringify(path)}: use /channels/{namespace}/{channel}, /channels/{namespace} or /channels/namespaces\n`)
  })

  it('serves the same from the CLI, whose page is on by default', async () => {
    server = await startStandalone()
    const browser = await send(`${server.url}/`, 'GET', undefined, { Accept: 'text/html' })
    expect({ status: browser.status, location: browser.headers.location }).toEqual({ status: 302, location: '/channels/' })
    const page = await send(`${server.url}/channels/`, 'GET', undefined, { Accept: 'text/html' })
    expect(page.status).toBe(200)
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8')
    expect((await send(`${server.url}/help`, 'GET')).body.toString()).toBe(helpFor(`${server.url}/channels`))
  })
})
