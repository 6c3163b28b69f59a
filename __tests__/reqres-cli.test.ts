import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from '@jest/globals'
import express from 'express'
import { createHandler, serve, type Serving } from '../lib'
import { listen, open, send, waitUntil, type Listening } from './helpers/http'
import { CLI, run, startStandalone, type Standalone } from './helpers/standalone'
import { SITE, staticSite } from './helpers/static-site'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function standalone (args: string[] = []): Promise<Standalone> {
  const started = await startStandalone(args)
  cleanups.push(started.stop)
  return started
}

async function local (): Promise<Listening> {
  const site = await listen(staticSite)
  cleanups.push(site.close)
  return site
}

interface Exposing {
  readonly child: ChildProcess
  readonly stderr: () => string
  readonly exited: Promise<number | null>
}

/** `httpipe expose`, built (dist/), resolved once it says it is forwarding. */
async function startExpose (args: string[]): Promise<Exposing> {
  const child = spawn(process.execPath, [CLI, 'expose', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const exited = once(child, 'exit').then(([code]) => code as number | null)
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  })
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      if (stdout.includes('forwarding')) resolve()
    })
    exited.then(code => { reject(new Error(`expose exited with ${String(code)}: ${stderr}`)) })
  })
  return { child, stderr: () => stderr, exited }
}

describe('standalone server: /req and /res with curl', () => {
  it('runs the patchbay docs\' direct-mode example: curl -X POST …/res/ns/ch -d hi, then curl …/req/ns/ch', async () => {
    const { url } = await standalone()
    const responder = run('curl', ['-s', '-i', '-X', 'POST', `${url}/res/ns/ch`, '-d', 'hi'])
    const requester = run('curl', ['-s', `${url}/req/ns/ch`])
    const [answered, served] = await Promise.all([requester, responder])
    expect(answered).toMatchObject({ code: 0, stdout: 'hi' })
    expect(served.code).toBe(0)
    expect(served.stdout).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
    expect(served.stdout).toMatch(/\r\nPb-Method: GET\r\n/)
    expect(served.stdout).toMatch(/\r\nPb-Uri: \/\r\n/)
    expect(served.stdout).toMatch(/\r\nPb-H-User-Agent: curl\//)
  })

  it('gives curl the responder\'s status and headers with the sandbox, and 400 for a bad Pb-Status', async () => {
    const { url } = await standalone()
    const responder = run('curl', ['-s', '-X', 'POST', `${url}/res/ns/ch`, '-H', 'Pb-Status: 418', '-H', 'Pb-H-Content-Type: text/html', '-H', 'Pb-H-Set-Cookie: a=b', '--data-binary', '<h1>tea</h1>'])
    const answered = await run('curl', ['-s', '-i', `${url}/req/ns/ch/pot`])
    await responder
    expect(answered.stdout).toMatch(/^HTTP\/1\.1 418 I'm a Teapot\r\n/)
    expect(answered.stdout).toContain('\r\nContent-Type: text/html\r\n')
    expect(answered.stdout).toContain('\r\nContent-Security-Policy: sandbox allow-scripts allow-forms allow-popups allow-downloads\r\n')
    expect(answered.stdout).toContain('\r\nX-Content-Type-Options: nosniff\r\n')
    expect(answered.stdout).toContain('\r\nReferrer-Policy: no-referrer\r\n')
    expect(answered.stdout).not.toMatch(/set-cookie/i)
    expect(answered.stdout.endsWith('\r\n\r\n<h1>tea</h1>')).toBe(true)
    const bad = await run('curl', ['-s', '-w', '\n%{http_code}', '-X', 'POST', `${url}/res/ns/ch`, '-H', 'Pb-Status: 700', '-d', 'x'])
    expect(bad.stdout).toBe('Pb-Status must be an integer from 200 to 599, got "700"\n\n400')
  })

  it('makes curl fail when the responder is cut mid-body (never a clean short body)', async () => {
    const { url } = await standalone()
    const responder = open(`${url}/res/ns/ch`, 'POST', { 'Content-Length': 100 })
    await responder.write('partial')
    const requester = run('curl', ['-s', '-S', `${url}/req/ns/ch`])
    await responder.response
    responder.destroy()
    const answered = await requester
    expect(answered.code).not.toBe(0)
    expect(answered.stdout).toBe('partial')
  })

  it('serves two-step mode to curl: ?switch=true gives Pb-Job, the reply goes to /res/ns/ch/{job}', async () => {
    const { url } = await standalone()
    const requester = run('curl', ['-s', '-i', '-X', 'PUT', `${url}/req/ns/ch/q?x=1`, '-d', 'question'])
    const taken = await run('curl', ['-s', '-i', '-X', 'POST', `${url}/res/ns/ch?switch=true`])
    expect(taken.stdout).toMatch(/\r\nPb-Method: PUT\r\n/)
    expect(taken.stdout).toMatch(/\r\nPb-Uri: \/q\?x=1\r\n/)
    expect(taken.stdout.endsWith('\r\n\r\nquestion')).toBe(true)
    const job = /\r\nPb-Job: ([\w-]+)\r\n/.exec(taken.stdout)?.[1]
    expect(job).toMatch(/^[\w-]{22}$/)
    const reply = await run('curl', ['-s', '-w', '%{http_code}', '-X', 'POST', `${url}/res/ns/ch/${String(job)}`, '-H', 'Pb-Status: 201', '-d', 'answer'])
    expect(reply.stdout).toBe('200')
    const answered = await requester
    expect(answered.stdout).toMatch(/^HTTP\/1\.1 201 Created\r\n/)
    expect(answered.stdout.endsWith('\r\n\r\nanswer')).toBe(true)
    const again = await run('curl', ['-s', '-w', '%{http_code}', '-o', '/dev/null', '-X', 'POST', `${url}/res/ns/ch/${String(job)}`, '-d', 'again'])
    expect(again.stdout).toBe('409')
  })
})

describe('standalone server --job-timeout', () => {
  it('answers a two-step requester 504 when no reply starts in time, and a late reply 410', async () => {
    const { url } = await standalone(['--job-timeout', '0.05'])
    const requester = run('curl', ['-s', '-w', '\n%{http_code}', `${url}/req/ns/ch`])
    const taken = await run('curl', ['-s', '-i', '-X', 'POST', `${url}/res/ns/ch?switch=true`])
    const job = /\r\nPb-Job: ([\w-]+)\r\n/.exec(taken.stdout)?.[1] ?? ''
    expect((await requester).stdout).toBe('the responder on ns/ch took the request but sent no reply within 50 ms (reqres.jobTimeout)\n\n504')
    const late = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'POST', `${url}/res/ns/ch/${job}`, '-d', 'late'])
    expect(late.stdout).toBe('410')
    const bad = await run(process.execPath, [CLI, '--job-timeout', '0'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/^httpipe: --job-timeout must be a number of seconds above 0/)
  })
})

describe('httpipe expose', () => {
  it('serves a local server through the relay: GET, HEAD, Range, 404, a POST body, headers both ways; SIGTERM exits 0', async () => {
    const { url } = await standalone()
    const site = await local()
    const exposing = await startExpose(['--to', site.url, '--workers', '2', `${url}/res/dev/site`])
    const page = await send(`${url}/req/dev/site/index.html?v=1`, 'GET')
    expect(page.status).toBe(200)
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(page.headers['content-security-policy']).toBe('sandbox allow-scripts allow-forms allow-popups allow-downloads')
    expect(page.body.equals(SITE['/index.html']?.body as Buffer)).toBe(true)
    const head = await send(`${url}/req/dev/site/pixel.png`, 'HEAD')
    expect(head.headers['content-length']).toBe(String(SITE['/pixel.png']?.body.length))
    expect(head.body.length).toBe(0)
    const part = await send(`${url}/req/dev/site/digits.txt`, 'GET', undefined, { Range: 'bytes=2-4' })
    expect(part.status).toBe(206)
    expect(part.headers['content-range']).toBe('bytes 2-4/10')
    expect(part.body.toString()).toBe('234')
    expect((await send(`${url}/req/dev/site/nope`, 'GET')).status).toBe(404)
    const echo = await send(`${url}/req/dev/site/echo?a=b`, 'POST', 'payload', { 'X-Test': 'yes' })
    expect(JSON.parse(echo.body.toString())).toEqual({ method: 'POST', url: '/echo?a=b', body: 'payload', header: 'yes' })
    // The local server's cookie is for the host's origin: never relayed.
    expect(echo.headers['set-cookie']).toBeUndefined()
    const curl = await run('curl', ['-s', `${url}/req/dev/site/digits.txt`])
    expect(curl.stdout).toBe('0123456789')

    exposing.child.kill('SIGTERM')
    expect(await exposing.exited).toBe(0)
  })

  it('answers 502 through the relay when the local server is down, and says why on stderr', async () => {
    const { url } = await standalone()
    const exposing = await startExpose(['--to', 'http://127.0.0.1:9', `${url}/res/dev/down`])
    const answered = await send(`${url}/req/dev/down/`, 'GET')
    expect(answered.status).toBe(502)
    expect(answered.body.toString()).toMatch(/^the local server behind this channel did not answer: connect ECONNREFUSED/)
    await waitUntil(() => exposing.stderr().includes('ECONNREFUSED'))
  })

  it('refuses bad arguments with exit code 2 and usage', async () => {
    const missing = await run(process.execPath, [CLI, 'expose', 'http://127.0.0.1:1/res/a/b'])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/^httpipe expose: --to is required/)
    const badUrl = await run(process.execPath, [CLI, 'expose', '--to', 'http://127.0.0.1:1', 'http://127.0.0.1:1/req/a/b'])
    expect(badUrl.code).toBe(2)
    expect(badUrl.stderr).toContain('ending in /res/{namespace}/{channel}')
    const workers = await run(process.execPath, [CLI, 'expose', '--to', 'http://127.0.0.1:1', '--workers', '0', 'http://127.0.0.1:1/res/a/b'])
    expect(workers.stderr).toMatch(/^httpipe expose: --workers must be an integer from 1 to 10000, got "0"/)
    const help = await run(process.execPath, [CLI, 'expose', '--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/^Usage: httpipe expose --to LOCAL_URL RELAY_URL/)
  })
})

describe('serve(url, handler, { workers })', () => {
  async function relayOn (port = 0): Promise<{ server: Server, pipe: ReturnType<typeof createHandler>, port: number }> {
    const pipe = createHandler()
    const server = createServer(pipe.reqres)
    await new Promise<void>(resolve => server.listen(port, '127.0.0.1', resolve))
    return { server, pipe, port: (server.address() as AddressInfo).port }
  }
  async function stop (server: Server): Promise<void> {
    server.closeAllConnections()
    await new Promise<void>(resolve => server.close(() => { resolve() }))
  }

  it('turns an Express app into responders: concurrent requests, all answered; close() withdraws the workers', async () => {
    const relay = await relayOn()
    cleanups.push(async () => { await stop(relay.server) })
    const app = express()
    app.get('/hello/:name', (req, res) => { res.type('text/plain').send(`hello ${req.params.name}`) })
    const serving: Serving = serve(`http://127.0.0.1:${relay.port}/res/app/main`, app, { workers: 3 })
    await waitUntil(() => relay.pipe.stats().reqres.waitingResponders === 3)
    const answers = await Promise.all(Array.from({ length: 12 }, async (_, i) => await send(`http://127.0.0.1:${relay.port}/req/app/main/hello/n${i}`, 'GET')))
    expect(answers.map(answer => answer.body.toString())).toEqual(Array.from({ length: 12 }, (_, i) => `hello n${i}`))
    expect(answers.every(answer => answer.headers['x-powered-by'] === 'Express')).toBe(true)
    await serving.close()
    await waitUntil(() => relay.pipe.stats().reqres.waitingResponders === 0)
  })

  it('answers 502 for a small local answer cut before its end, and cuts the requester for a large one cut mid-body', async () => {
    const relay = await relayOn()
    cleanups.push(async () => { await stop(relay.server) })
    const errors: string[] = []
    // Small answers are read whole before the reply starts (serve-forward.ts), large ones stream.
    const serving = serve(`http://127.0.0.1:${relay.port}/res/app/main`, (req, res) => {
      const large = req.url === '/large'
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': large ? 1024 * 1024 : 100 })
      res.write(Buffer.alloc(large ? 256 * 1024 : 10, 'x'), () => { res.socket?.destroy() })
    }, { workers: 1, onError: err => { errors.push(err.message) } })
    cleanups.push(async () => { await serving.close() })
    await waitUntil(() => relay.pipe.stats().reqres.waitingResponders === 1)
    const small = await send(`http://127.0.0.1:${relay.port}/req/app/main/small`, 'GET')
    expect(small.status).toBe(502)
    expect(small.body.toString()).toMatch(/^the local server behind this channel did not answer: /)
    await waitUntil(() => relay.pipe.stats().reqres.waitingResponders === 1)
    // The reply head went out before the cut, so the requester has a 200 and a body cut short.
    const large = await send(`http://127.0.0.1:${relay.port}/req/app/main/large`, 'GET')
    expect(large.status).toBe(200)
    expect(large.complete).toBe(false)
    expect(large.body.length).toBeLessThan(1024 * 1024)
    expect(errors.some(message => /failed on GET \/small/.test(message))).toBe(true)
    await waitUntil(() => relay.pipe.stats().reqres.waitingResponders === 1)
  })

  it('close() while a request is served lets its answer through, then resolves without waiting for another request', async () => {
    const relay = await relayOn()
    cleanups.push(async () => { await stop(relay.server) })
    let release = (): void => {}
    const gate = new Promise<void>(resolve => { release = resolve })
    let entered = (): void => {}
    const inHandler = new Promise<void>(resolve => { entered = resolve })
    const serving = serve(`http://127.0.0.1:${relay.port}/res/app/main`, (_req, res) => {
      entered()
      gate.then(() => { res.end('done') }, () => {})
    }, { workers: 1 })
    await waitUntil(() => relay.pipe.stats().reqres.waitingResponders === 1)
    const answered = send(`http://127.0.0.1:${relay.port}/req/app/main/slow`, 'GET')
    await inHandler
    // close() begins while the handler still holds the request: its answer must get through, and the
    // wait for that next request is withdrawn like any other.
    const closed = serving.close()
    release()
    const got = await answered
    expect(got.status).toBe(200)
    expect(got.body.toString()).toBe('done')
    await closed
    await waitUntil(() => relay.pipe.stats().reqres.waitingResponders === 0)
  })

  it('close() while a 64 MiB answer is streaming to the requester lets it through whole', async () => {
    const relay = await relayOn()
    cleanups.push(async () => { await stop(relay.server) })
    const body = Buffer.alloc(64 * 1024 * 1024, 'y')
    const serving = serve(`http://127.0.0.1:${relay.port}/res/app/main`, (_req, res) => {
      res.writeHead(200, { 'Content-Length': body.length })
      res.end(body)
    }, { workers: 1 })
    await waitUntil(() => relay.pipe.stats().reqres.waitingResponders === 1)
    const requester = open(`http://127.0.0.1:${relay.port}/req/app/main/large`, 'GET')
    const response = await requester.response
    // The first bytes have reached the requester, so the reply is mid-stream when close() begins.
    await once(response, 'data')
    const closed = serving.close()
    const got = await requester.done
    expect(got.status).toBe(200)
    expect(got.complete).toBe(true)
    expect(got.body.equals(body)).toBe(true)
    await closed
    await waitUntil(() => relay.pipe.stats().reqres.waitingResponders === 0)
  })

  it('reconnects with backoff when the relay restarts', async () => {
    let relay = await relayOn()
    const port = relay.port
    const errors: string[] = []
    const serving = serve(`http://127.0.0.1:${port}/res/app/main`, (_req, res) => { res.end('up') }, { workers: 2, onError: err => { errors.push(err.message) } })
    cleanups.push(async () => { await serving.close() })
    await waitUntil(() => relay.pipe.stats().reqres.waitingResponders === 2)
    await stop(relay.server)
    await waitUntil(() => errors.some(message => /ECONNREFUSED|socket hang up|ECONNRESET/.test(message)))
    relay = await relayOn(port)
    const restarted = relay
    cleanups.push(async () => { await stop(restarted.server) })
    await waitUntil(() => restarted.pipe.stats().reqres.waitingResponders === 2, 15_000)
    expect((await send(`http://127.0.0.1:${port}/req/app/main/`, 'GET')).body.toString()).toBe('up')
  }, 30_000)

  it('throws a TypeError for a URL that is not a responder URL, and for a bad workers count', () => {
    expect(() => serve('http://relay.example/req/a/b', () => {})).toThrow(TypeError)
    expect(() => serve('ftp://relay.example/res/a/b', () => {})).toThrow('ending in /res/{namespace}/{channel}')
    expect(() => serve('http://relay.example/res/a/b', () => {}, { workers: 0 })).toThrow('httpipe: option workers must be an integer from 1 to 10000, got 0')
  })
})
