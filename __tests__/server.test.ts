import { createHash, randomBytes } from 'node:crypto'
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeAll, afterAll, describe, expect, it } from '@jest/globals'
import { createStandaloneServer } from '../lib/server'
import { open, send } from './helpers/http'
import { CLI, run, startStandalone, type Standalone } from './helpers/standalone'

let server: Standalone | undefined
afterEach(async () => { await server?.stop(); server = undefined })

let dir = ''
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'httpipe-')) })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

/** Polls a listing until it shows `channel` waiting in `namespace` (the process is out of reach of stats()). */
async function waitForChannel (base: string, namespace: string, channel: string): Promise<void> {
  const deadline = Date.now() + 5000
  while (Date.now() < deadline) {
    const res = await send(`${base}/channels/${namespace}`, 'GET')
    if (res.status === 200 && (JSON.parse(res.body.toString()) as string[]).includes(channel)) return
    await new Promise(resolve => setImmediate(resolve))
  }
  throw new Error(`channel ${namespace}/${channel} never appeared`)
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
    expect(outside.body.toString()).toMatch(/\/\{namespace\}\/\{channel\}.*\n$/)
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
    expect(server.output()).toMatch(/^httpipe listening on http:\/\/127\.0\.0\.1:\d+\/channels\n/)
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

  it('does not cut waits short: the server has no request timeout unless asked', () => {
    expect(createStandaloneServer().server.requestTimeout).toBe(0)
    expect(createStandaloneServer({ requestTimeout: 90_000 }).server.requestTimeout).toBe(90_000)
  })
})
