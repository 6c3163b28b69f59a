import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { open, send } from './helpers/http'
import { parseMetrics } from './helpers/metrics'
import { CLI, run, startStandalone, type Standalone } from './helpers/standalone'

let server: Standalone | undefined
afterEach(async () => { await server?.stop(); server = undefined })

let dir = ''
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'httpipe-auth-')) })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

/** `httpipe token create …` as a user runs it: the token, and the entry for the file. */
async function createToken (...args: string[]): Promise<{ token: string, entry: object }> {
  const result = await run(process.execPath, [CLI, 'token', 'create', ...args])
  expect(result.code).toBe(0)
  const [token, entry] = result.stdout.trim().split('\n')
  return { token: token as string, entry: JSON.parse(entry as string) as object }
}

async function writeTokens (file: string, ...entries: object[]): Promise<void> {
  await writeFile(file, JSON.stringify({ tokens: entries }, null, 2))
}

/** Every JSON line the server logged so far. */
function logLines (standalone: Standalone): Array<Record<string, unknown>> {
  return standalone.output().split('\n').filter(line => line.startsWith('{')).map(line => JSON.parse(line) as Record<string, unknown>)
}

/** Re-asks until `check` holds: for what the server does on its own time (reloading a file, polled once a second). */
async function eventually (check: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`)
    await new Promise(resolve => setImmediate(resolve))
  }
}

const curl = async (...args: string[]): Promise<{ status: string, body: string, stderr: string }> => {
  const result = await run('curl', ['-sS', '-w', '\n%{http_code}', ...args])
  const at = result.stdout.lastIndexOf('\n')
  return { status: result.stdout.slice(at + 1), body: result.stdout.slice(0, at), stderr: result.stderr }
}

describe('httpipe token create', () => {
  it('prints a random token of at least 128 bits and its entry, SHA-256 only', async () => {
    const { token, entry } = await createToken('--namespace', 'ns', '--channel', 'ch-*', '--allow', 'read,write', '--name', 'ci')
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(JSON.stringify(entry)).not.toContain(token)
    expect(entry).toMatchObject({ name: 'ci', grants: [{ namespace: 'ns', channel: 'ch-*', allow: ['read', 'write'] }] })
  })

  it('refuses an unknown permission with exit 2', async () => {
    const result = await run(process.execPath, [CLI, 'token', 'create', '--namespace', 'ns', '--allow', 'read,admin'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('--allow must be one of read, write, delete, list, metrics, got "admin"')
  })
})

describe('the standalone server with --auth', () => {
  it('serves curl with a token (Bearer or ?token=), refuses it without, and never logs a secret', async () => {
    const writer = await createToken('--namespace', 'team', '--allow', 'write')
    const reader = await createToken('--namespace', 'team', '--channel', 'ch', '--allow', 'read')
    const file = join(dir, 'tokens.json')
    await writeTokens(file, writer.entry, reader.entry)
    server = await startStandalone(['--auth', file])
    const url = `${server.url}/channels/team/ch`

    const anonymous = await curl('-i', url)
    expect(anonymous.status).toBe('401')
    expect(anonymous.body).toMatch(/\r\nWWW-Authenticate: Bearer realm="httpipe"\r\n/i)
    expect(anonymous.body).toContain('a token is needed for this')
    const wrong = await curl('-i', '-H', 'Authorization: Bearer nope-nope', url)
    expect(wrong.status).toBe('401')
    expect(wrong.body).toMatch(/error="invalid_token"/)
    expect((await curl('-H', `Authorization: Bearer ${reader.token}`, '-d', 'x', url)).status).toBe('403')

    const producer = curl('-H', `Authorization: Bearer ${writer.token}`, '--data-binary', 'secret message', url)
    const consumer = await curl(`${url}?token=${reader.token}`)
    expect(consumer).toMatchObject({ status: '200', body: 'secret message' })
    expect((await producer).status).toBe('200')

    await eventually(async () => await Promise.resolve(logLines(server as Standalone).filter(line => line.msg === 'request').length >= 5), 'five request lines')
    const lines = logLines(server)
    const requests = lines.filter(line => line.msg === 'request')
    expect(requests.find(line => line.method === 'POST' && line.status === 200)).toMatchObject({ action: 'produce', namespace: 'team', bytes: 14 })
    expect(requests.find(line => line.method === 'GET' && line.status === 200)).toMatchObject({ action: 'consume', namespace: 'team', bytes: 14 })
    expect(requests.find(line => line.status === 401)).toMatchObject({ error: 'access.unauthenticated' })
    expect(requests.find(line => line.status === 403)).toMatchObject({ error: 'access.denied', action: 'produce' })
    for (const line of requests) {
      expect(typeof line.ms).toBe('number')
      expect(line.channel).toMatch(/^[0-9a-f]{12}$/)
    }
    const everything = server.output()
    for (const secret of [writer.token, reader.token, 'nope-nope', 'Bearer', '"ch"', 'secret message']) expect(everything).not.toContain(secret)
  })

  it('takes anonymous requests at the --anonymous level', async () => {
    const file = join(dir, 'none.json')
    await writeTokens(file)
    server = await startStandalone(['--auth', file, '--anonymous', 'read'])
    const url = `${server.url}/channels/ns/ch`
    expect((await curl('-d', 'x', url)).status).toBe('401')
    expect((await curl('-X', 'DELETE', url)).status).toBe('401')
    expect((await curl('-m', '0.5', '-o', '/dev/null', url)).status).toBe('000') // allowed: it waits (cut by -m)
  })

  it('reloads the file when it changes and on SIGHUP; a broken file keeps the previous tokens, logged', async () => {
    const first = await createToken('--namespace', '*', '--allow', 'delete')
    const second = await createToken('--namespace', '*', '--allow', 'delete')
    const file = join(dir, 'reload.json')
    await writeTokens(file, first.entry)
    server = await startStandalone(['--auth', file])
    const url = `${server.url}/channels/ns/ch`
    const status = async (token: string): Promise<number> => (await send(url, 'DELETE', undefined, { Authorization: `Bearer ${token}` })).status
    expect(await status(first.token)).toBe(204)
    expect(await status(second.token)).toBe(401)

    await writeTokens(file, second.entry)
    await eventually(async () => await status(second.token) === 204, 'the changed file taken')
    expect(await status(first.token)).toBe(401)

    await writeFile(file, '{ "tokens": [ oops')
    server.process.kill('SIGHUP')
    await eventually(async () => await Promise.resolve(logLines(server as Standalone).some(line => String(line.msg).startsWith('httpipe: kept the previous tokens'))), 'the broken file reported')
    const kept = logLines(server).find(line => String(line.msg).startsWith('httpipe: kept the previous tokens'))
    expect(kept).toMatchObject({ level: 40, reason: 'SIGHUP' })
    expect(String(kept?.msg)).toContain(`the token file ${file} is not valid: it is not JSON`)
    expect(await status(second.token)).toBe(204)

    await writeTokens(file, first.entry)
    server.process.kill('SIGHUP')
    await eventually(async () => await status(first.token) === 204, 'SIGHUP reload')
  })

  it('exits 2 naming the problem when the file is bad at startup', async () => {
    const file = join(dir, 'bad.json')
    await writeFile(file, JSON.stringify({ tokens: [{ sha256: 'raw-token', grants: [] }] }))
    const result = await run(process.execPath, [CLI, '--port', '0', '--auth', file])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(`httpipe: the token file ${file} is not valid: tokens[0].sha256 must be the SHA-256`)
  })
})

describe('the standalone server with --metrics', () => {
  it('serves /metrics outside the mount, token-protected, with exact counts after known transfers', async () => {
    const user = await createToken('--namespace', '*', '--allow', 'read,write')
    const scraper = await createToken('--namespace', '*', '--allow', 'metrics')
    const file = join(dir, 'metrics.json')
    await writeTokens(file, user.entry, scraper.entry)
    server = await startStandalone(['--auth', file, '--metrics', '--max-body-size', '4'])
    const base = `${server.url}/channels`
    const auth = ['-H', `Authorization: Bearer ${user.token}`]

    for (let i = 0; i < 3; i++) {
      const producer = curl(...auth, '--data-binary', 'abc', `${base}/ns/ch`)
      expect((await curl(...auth, `${base}/ns/ch`)).body).toBe('abc')
      expect((await producer).status).toBe('200')
    }
    expect((await curl(...auth, '--data-binary', 'too long', `${base}/ns/ch`)).status).toBe('413')
    expect((await curl('--data-binary', 'x', `${base}/ns/ch`)).status).toBe('401')

    expect((await curl(`${server.url}/metrics`)).status).toBe('401')
    expect((await curl(...auth, `${server.url}/metrics`)).status).toBe('403')
    const scraped = await curl('-H', `Authorization: Bearer ${scraper.token}`, `${server.url}/metrics`)
    expect(scraped.status).toBe('200')
    const values = parseMetrics(scraped.body)
    expect(values['httpipe_transfers_total{mode="queue",outcome="delivered"}']).toBe(3)
    expect(values.httpipe_transferred_bytes_total).toBe(9)
    expect(values['httpipe_refusals_total{type="entity.too.large"}']).toBe(1)
    expect(values['httpipe_refusals_total{type="access.unauthenticated"}']).toBe(1)
    expect(values['httpipe_wait_duration_seconds_count{role="consumer"}']).toBe(3)
    expect(values.httpipe_channels).toBe(0)
    expect(values.process_cpu_seconds_total).toBeGreaterThan(0)
    expect(scraped.body).not.toContain('ns/ch')
  })
})

describe('/healthz and /readyz', () => {
  it('answer 200 outside the mount; /readyz 503 once shutdown began, while a transfer finishes', async () => {
    server = await startStandalone()
    expect(await curl(`${server.url}/healthz`)).toMatchObject({ status: '200', body: 'ok\n' })
    expect(await curl(`${server.url}/readyz`)).toMatchObject({ status: '200', body: 'ready\n' })
    expect((await curl('-X', 'POST', `${server.url}/readyz`)).status).toBe('405')
    // A running transfer keeps the server up after SIGTERM.
    const producer = open(`${server.url}/channels/ns/ch`, 'POST', { 'Transfer-Encoding': 'chunked' })
    await producer.write('part ')
    const consumer = open(`${server.url}/channels/ns/ch`, 'GET')
    await consumer.response
    server.process.kill('SIGTERM')
    await eventually(async () => (await send(`${server?.url ?? ''}/readyz`, 'GET')).status === 503, '/readyz turning 503')
    expect((await send(`${server.url}/healthz`, 'GET')).status).toBe(200)
    producer.end('done')
    expect((await consumer.done).body.toString()).toBe('part done')
    expect(await server.exited).toBe(0)
    expect(logLines(server).map(line => line.msg)).toEqual(expect.arrayContaining(['httpipe: SIGTERM received, finishing running transfers', 'httpipe: shut down']))
  })
})
