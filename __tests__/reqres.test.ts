import { createHash, randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from '@jest/globals'
import { connect } from 'node:net'
import express from 'express'
import { httpipe, type HttpipeControls, type HttpipeOptions } from '../lib'
import { adapters, errorType } from './helpers/app'
import { listen, open, send, waitUntil, type Listening, type RawResponse } from './helpers/http'

const SANDBOX = 'sandbox allow-scripts allow-forms allow-popups allow-downloads'

for (const adapter of adapters) {
  describe(`request/response mode (${adapter.name})`, () => {
    let server: Listening | undefined
    let pipe: HttpipeControls
    afterEach(async () => {
      await server?.close()
      server = undefined
    })

    async function start (options?: HttpipeOptions): Promise<string> {
      const created = adapter.create(options)
      pipe = created.pipe
      server = await listen(created.app)
      return server.url
    }

    const waiting = (): { requesters: number, responders: number } => {
      const { waitingRequesters, waitingResponders } = pipe.stats().reqres
      return { requesters: waitingRequesters, responders: waitingResponders }
    }

    function expectError (res: RawResponse, status: number, type: string): void {
      expect(res.status).toBe(status)
      // The Express test app echoes `[type] message`; the plain handler answers the message alone.
      if (adapter.name === 'express router') expect(errorType(res.body.toString())).toBe(type)
    }

    describe('direct mode: POST /res/:namespace/:channel', () => {
      it('gives a waiting responder the request and the requester the responder\'s body (patchbay\'s example)', async () => {
        const url = await start()
        const responder = open(`${url}/res/ns/ch`, 'POST', { 'Pb-Status': '201', 'Pb-H-Content-Type': 'text/plain', 'Pb-H-X-Reply': 'r' })
        responder.end('pong')
        await waitUntil(() => waiting().responders === 1)
        const requester = await send(`${url}/req/ns/ch/a/b%20c?q=1&r`, 'PUT', 'ping', { 'X-Req': 'x', 'Content-Type': 'application/json' })
        expect(requester.status).toBe(201)
        expect(requester.body.toString()).toBe('pong')
        expect(requester.headers['content-type']).toBe('text/plain')
        expect(requester.headers['x-reply']).toBe('r')
        expect(requester.headers['content-length']).toBe('4')
        expect(requester.headers['content-security-policy']).toBe(SANDBOX)
        expect(requester.headers['x-content-type-options']).toBe('nosniff')
        expect(requester.headers['referrer-policy']).toBe('no-referrer')

        const delivered = await responder.done
        expect(delivered.status).toBe(200)
        expect(delivered.complete).toBe(true)
        expect(delivered.headers['pb-method']).toBe('PUT')
        expect(delivered.headers['pb-uri']).toBe('/a/b%20c?q=1&r')
        expect(delivered.headers['pb-h-x-req']).toBe('x')
        expect(delivered.headers['pb-h-content-type']).toBe('application/json')
        expect(delivered.headers['pb-h-content-length']).toBe('4')
        expect(delivered.body.toString()).toBe('ping')
        expect(pipe.stats().reqres).toEqual({ waitingRequesters: 0, waitingResponders: 0, exchanges: 0, jobs: 0, bytesTransferred: 8 })
      })

      it('makes a requester that comes first wait for a responder, and gives Pb-Uri "/" for the channel itself', async () => {
        const url = await start()
        const requester = open(`${url}/req/ns/ch`, 'GET')
        await waitUntil(() => waiting().requesters === 1)
        const responder = await send(`${url}/res/ns/ch`, 'POST', 'hello')
        expect(responder.headers['pb-method']).toBe('GET')
        expect(responder.headers['pb-uri']).toBe('/')
        expect(responder.body.length).toBe(0)
        const answered = await requester.done
        expect(answered.status).toBe(200)
        expect(answered.body.toString()).toBe('hello')
      })

      it('matches responders and requesters in arrival order', async () => {
        const url = await start()
        const first = open(`${url}/res/ns/ch`, 'POST')
        first.end('one')
        await waitUntil(() => waiting().responders === 1)
        const second = open(`${url}/res/ns/ch`, 'PUT')
        second.end('two')
        await waitUntil(() => waiting().responders === 2)
        expect((await send(`${url}/req/ns/ch`, 'GET')).body.toString()).toBe('one')
        expect((await send(`${url}/req/ns/ch`, 'GET')).body.toString()).toBe('two')
        expect((await first.done).status).toBe(200)
        expect((await second.done).status).toBe(200)
      })

      // Multi-MiB bodies both ways: a reply that ends before its requester's upload does must wait
      // for it (Node closes a Connection: close socket once its response finishes, and the rest of
      // the upload would never arrive: the exchange stalled with ~1 MB unmoved, run alone).
      it('streams large bodies both ways, byte for byte', async () => {
        const url = await start()
        const reply = randomBytes(6 * 1024 * 1024 + 3)
        const request = randomBytes(5 * 1024 * 1024 + 7)
        const responder = open(`${url}/res/ns/ch`, 'POST')
        responder.end(reply)
        await waitUntil(() => waiting().responders === 1)
        const answered = await send(`${url}/req/ns/ch/upload`, 'POST', request)
        const delivered = await responder.done
        expect(sha(answered.body)).toBe(sha(reply))
        expect(sha(delivered.body)).toBe(sha(request))
        expect(answered.complete && delivered.complete).toBe(true)
      })

      it('streams a large reply and a large request, each byte for byte', async () => {
        const url = await start()
        const reply = randomBytes(6 * 1024 * 1024 + 3)
        const request = randomBytes(5 * 1024 * 1024 + 7)
        const responder = open(`${url}/res/ns/ch`, 'POST')
        responder.end(reply)
        await waitUntil(() => waiting().responders === 1)
        const answered = await send(`${url}/req/ns/ch/download`, 'GET')
        expect(sha(answered.body)).toBe(sha(reply))
        expect((await responder.done).complete).toBe(true)
        const second = open(`${url}/res/ns/ch`, 'POST')
        second.end('ok')
        await waitUntil(() => waiting().responders === 1)
        const uploaded = await send(`${url}/req/ns/ch/upload`, 'POST', request)
        expect(uploaded.body.toString()).toBe('ok')
        expect(sha((await second.done).body)).toBe(sha(request))
      })

      it('keeps duplicate requester headers and never relays Host, hop-by-hop headers, Cookie or Authorization', async () => {
        const url = await start()
        const responder = open(`${url}/res/ns/ch`, 'POST')
        responder.end('')
        await waitUntil(() => waiting().responders === 1)
        await send(`${url}/req/ns/ch`, 'GET', undefined, {
          'X-Dup': ['a', 'b'] as unknown as string,
          Cookie: 'session=secret',
          Authorization: 'Bearer secret',
          Connection: 'keep-alive, X-Private',
          'X-Private': 'hop',
          'Keep-Alive': 'timeout=5',
          TE: 'trailers',
          'Proxy-Authorization': 'Basic x',
          Upgrade: 'h2c'
        })
        const { headers } = await responder.done
        expect(headers['pb-h-x-dup']).toBe('a, b')
        for (const name of ['host', 'cookie', 'authorization', 'connection', 'x-private', 'keep-alive', 'te', 'proxy-authorization', 'upgrade']) {
          expect(headers[`pb-h-${name}`]).toBeUndefined()
        }
      })

      it('relays Cookie and Authorization with reqres.forwardCookies and reqres.forwardAuthorization', async () => {
        const url = await start({ reqres: { forwardCookies: true, forwardAuthorization: true } })
        const responder = open(`${url}/res/ns/ch`, 'POST', { 'Pb-H-WWW-Authenticate': 'Basic realm="x"', 'Pb-Status': '401' })
        responder.end('')
        await waitUntil(() => waiting().responders === 1)
        const answered = await send(`${url}/req/ns/ch`, 'GET', undefined, { Cookie: 'a=1', Authorization: 'Bearer t' })
        const { headers } = await responder.done
        expect(headers['pb-h-cookie']).toBe('a=1')
        expect(headers['pb-h-authorization']).toBe('Bearer t')
        expect(answered.status).toBe(401)
        expect(answered.headers['www-authenticate']).toBe('Basic realm="x"')
      })

      it('never relays responder headers that act on the host\'s origin, nor a CSP weaker than its own', async () => {
        const url = await start()
        const responder = open(`${url}/res/ns/ch`, 'POST', {
          'Pb-H-Set-Cookie': 'host=stolen',
          'Pb-H-Access-Control-Allow-Origin': '*',
          'Pb-H-Access-Control-Allow-Credentials': 'true',
          'Pb-H-Service-Worker-Allowed': '/',
          'Pb-H-Clear-Site-Data': '"*"',
          'Pb-H-Strict-Transport-Security': 'max-age=31536000; includeSubDomains',
          'Pb-H-Alt-Svc': 'h3=":443"',
          'Pb-H-Content-Security-Policy': 'sandbox allow-scripts allow-same-origin',
          'Pb-H-X-Content-Type-Options': 'sniff',
          'Pb-H-Referrer-Policy': 'unsafe-url',
          'Pb-H-WWW-Authenticate': 'Basic realm="host"',
          'Pb-H-Connection': 'close',
          'Pb-H-Transfer-Encoding': 'chunked',
          'Pb-H-Content-Length': '999',
          'Pb-H-X-Kept': 'yes'
        })
        responder.end('ok')
        await waitUntil(() => waiting().responders === 1)
        const answered = await send(`${url}/req/ns/ch`, 'GET')
        expect(answered.status).toBe(200)
        expect(answered.body.toString()).toBe('ok')
        const h = answered.headers
        for (const name of ['set-cookie', 'access-control-allow-origin', 'access-control-allow-credentials', 'service-worker-allowed', 'clear-site-data', 'strict-transport-security', 'alt-svc', 'www-authenticate', 'transfer-encoding']) {
          expect(h[name]).toBeUndefined()
        }
        expect(h['content-security-policy']).toBe(SANDBOX)
        expect(h['x-content-type-options']).toBe('nosniff')
        expect(h['referrer-policy']).toBe('no-referrer')
        expect(h['content-length']).toBe('2')
        expect(h['x-kept']).toBe('yes')
        await responder.done
      })

      it('relays a responder CSP at least as strict as its own, next to its own', async () => {
        const url = await start()
        const responder = open(`${url}/res/ns/ch`, 'POST', { 'Pb-H-Content-Security-Policy': "sandbox allow-scripts; default-src 'self'" })
        responder.end('')
        await waitUntil(() => waiting().responders === 1)
        const answered = await send(`${url}/req/ns/ch`, 'GET')
        expect(answered.headers['content-security-policy']).toBe(`${SANDBOX}, sandbox allow-scripts; default-src 'self'`)
        await responder.done
      })

      it.each(['99', '199', '600', 'abc', '2OO', '200.5', ''])('answers a responder with Pb-Status %j 400 at once, never queueing it', async status => {
        const url = await start()
        const answered = await send(`${url}/res/ns/ch`, 'POST', 'x', { 'Pb-Status': status })
        expectError(answered, 400, 'status.invalid')
        expect(waiting()).toEqual({ requesters: 0, responders: 0 })
      })

      it('refuses a requester sending Service-Worker: script', async () => {
        const url = await start()
        const answered = await send(`${url}/req/ns/ch/sw.js`, 'GET', undefined, { 'Service-Worker': 'script' })
        expectError(answered, 400, 'service.worker.refused')
        expect(waiting().requesters).toBe(0)
      })

      it('answers 405 with Allow to a responder that is not POST or PUT, and 404 to other paths', async () => {
        const url = await start()
        const get = await send(`${url}/res/ns/ch`, 'GET')
        expectError(get, 405, 'method.not.allowed')
        expect(get.headers.allow).toBe('POST, PUT')
        expectError(await send(`${url}/req/ns`, 'GET'), 404, 'route.not.found')
        expectError(await send(`${url}/res/ns/ch/job/extra`, 'POST', ''), 404, 'route.not.found')
        expectError(await send(`${url}/req/ns/${'x'.repeat(257)}`, 'GET'), 400, 'channel.name.invalid')
        expectError(await send(`${url}/res/ns/ch?switch=maybe`, 'POST', ''), 400, 'query.invalid')
      })

      it('relays HEAD: the responder\'s Pb-H-Content-Length, no body', async () => {
        const url = await start()
        const responder = open(`${url}/res/ns/ch`, 'POST', { 'Pb-H-Content-Length': '1234', 'Pb-H-Content-Type': 'text/html' })
        responder.end('')
        await waitUntil(() => waiting().responders === 1)
        const answered = await send(`${url}/req/ns/ch/page`, 'HEAD')
        expect(answered.status).toBe(200)
        expect(answered.headers['content-length']).toBe('1234')
        expect(answered.headers['content-type']).toBe('text/html')
        expect(answered.body.length).toBe(0)
        expect((await responder.done).headers['pb-method']).toBe('HEAD')
      })

      it('relays Range and a 206 answer', async () => {
        const url = await start()
        const responder = open(`${url}/res/ns/ch`, 'POST', { 'Pb-Status': '206', 'Pb-H-Content-Range': 'bytes 2-4/10' })
        responder.end('cde')
        await waitUntil(() => waiting().responders === 1)
        const answered = await send(`${url}/req/ns/ch/file`, 'GET', undefined, { Range: 'bytes=2-4' })
        expect(answered.status).toBe(206)
        expect(answered.headers['content-range']).toBe('bytes 2-4/10')
        expect(answered.body.toString()).toBe('cde')
        expect((await responder.done).headers['pb-h-range']).toBe('bytes=2-4')
      })

      it('cuts the requester\'s connection when the responder is cut mid-body', async () => {
        const url = await start()
        const responder = open(`${url}/res/ns/ch`, 'POST', { 'Content-Length': 100 })
        await responder.write('partial')
        await waitUntil(() => waiting().responders === 1)
        const requester = open(`${url}/req/ns/ch`, 'GET')
        const head = await requester.response
        expect(head.statusCode).toBe(200)
        responder.destroy()
        const answered = await requester.done
        expect(answered.complete).toBe(false)
        expect(answered.body.toString()).toBe('partial')
        await waitUntil(() => pipe.stats().reqres.exchanges === 0)
      })

      it('answers 502 to the requester when the responder leaves before sending a byte of its reply', async () => {
        const url = await start()
        const responder = open(`${url}/res/ns/ch`, 'POST', { 'Transfer-Encoding': 'chunked' })
        await responder.write('')
        await waitUntil(() => waiting().responders === 1)
        const requester = open(`${url}/req/ns/ch`, 'GET')
        await responder.response
        responder.destroy()
        expectError(await requester.done, 502, 'responder.gone')
      })

      it('withdraws a responder or requester that leaves while waiting', async () => {
        const url = await start()
        const responder = open(`${url}/res/ns/ch`, 'POST')
        responder.end('stale')
        await waitUntil(() => waiting().responders === 1)
        responder.destroy()
        await waitUntil(() => waiting().responders === 0)
        const requester = open(`${url}/req/ns/other`, 'GET')
        await waitUntil(() => waiting().requesters === 1)
        requester.destroy()
        await waitUntil(() => waiting().requesters === 0 && pipe.stats().channels === 0)
        // The departed responder's reply is never served.
        const fresh = open(`${url}/res/ns/ch`, 'POST')
        fresh.end('fresh')
        await waitUntil(() => waiting().responders === 1)
        expect((await send(`${url}/req/ns/ch`, 'GET')).body.toString()).toBe('fresh')
      })

      it('ends the responder\'s response only once the reply reached the requester, and cuts it when the requester left', async () => {
        const url = await start()
        const responder = open(`${url}/res/ns/ch`, 'POST', { 'Transfer-Encoding': 'chunked' })
        await responder.write('first part ')
        await waitUntil(() => waiting().responders === 1)
        const requester = open(`${url}/req/ns/ch`, 'GET')
        const delivered = await responder.response
        expect(delivered.headers['pb-method']).toBe('GET')
        await requester.response
        let ended = false
        delivered.on('end', () => { ended = true })
        requester.destroy()
        const outcome = await responder.done
        expect(ended).toBe(false)
        expect(outcome.complete).toBe(false)
      })

      it('answers 413 before queueing a requester or responder whose Content-Length is over limits.bodySize', async () => {
        const url = await start({ limits: { bodySize: 10 } })
        expectError(await send(`${url}/req/ns/ch`, 'POST', 'x'.repeat(11)), 413, 'entity.too.large')
        expectError(await send(`${url}/res/ns/ch`, 'POST', 'x'.repeat(11)), 413, 'entity.too.large')
        expect(waiting()).toEqual({ requesters: 0, responders: 0 })
      })

      it('answers 413 to a requester whose chunked body passes limits.bodySize, and cuts the responder', async () => {
        const url = await start({ limits: { bodySize: 10 } })
        const responder = open(`${url}/res/ns/ch`, 'POST', { 'Transfer-Encoding': 'chunked' })
        await responder.write('')
        await waitUntil(() => waiting().responders === 1)
        const requester = open(`${url}/req/ns/ch`, 'POST', { 'Transfer-Encoding': 'chunked' })
        await requester.write('x'.repeat(11))
        requester.end()
        expectError(await requester.done, 413, 'entity.too.large')
        expect((await responder.done).complete).toBe(false)
      })

      it('answers 502 to a requester whose reply passes limits.bodySize, and cuts the responder', async () => {
        const url = await start({ limits: { bodySize: 10 } })
        const responder = open(`${url}/res/ns/ch`, 'POST', { 'Transfer-Encoding': 'chunked' })
        await responder.write('y'.repeat(11))
        await waitUntil(() => waiting().responders === 1)
        expectError(await send(`${url}/req/ns/ch`, 'GET'), 502, 'reply.too.large')
        expect((await responder.done).complete).toBe(false)
      })

      it('answers 408 to a requester or responder still waiting after timeout', async () => {
        const url = await start({ timeout: 50 })
        const [requester, responder] = await Promise.all([send(`${url}/req/ns/a`, 'GET'), send(`${url}/res/ns/b`, 'POST', 'x')])
        expectError(requester, 408, 'channel.timeout')
        expectError(responder, 408, 'channel.timeout')
      })

      it('close(): waiting and new requesters and responders get 503; a running exchange finishes', async () => {
        const url = await start()
        const running = open(`${url}/res/ns/run`, 'POST', { 'Transfer-Encoding': 'chunked' })
        await running.write('half ')
        await waitUntil(() => waiting().responders === 1)
        const requester = open(`${url}/req/ns/run`, 'GET')
        await requester.response
        const waitingOne = open(`${url}/req/ns/idle`, 'GET')
        await waitUntil(() => waiting().requesters === 1)
        let closed = false
        const closing = pipe.close().then(() => { closed = true })
        expectError(await waitingOne.done, 503, 'router.closed')
        expectError(await send(`${url}/res/ns/new`, 'POST', 'x'), 503, 'router.closed')
        expect(closed).toBe(false)
        running.end('done')
        expect((await requester.done).body.toString()).toBe('half done')
        await closing
        expect(closed).toBe(true)
      })

      it('counts its waiters against limits.waitersPerChannel', async () => {
        const url = await start({ limits: { waitersPerChannel: 1 } })
        const first = open(`${url}/req/ns/ch`, 'GET')
        await waitUntil(() => waiting().requesters === 1)
        const second = await send(`${url}/req/ns/ch`, 'GET')
        expectError(second, 503, 'channel.full')
        expect(second.headers['retry-after']).toBe('1')
        first.destroy()
      })
    })

    describe('limits.waiters, the whole router\'s', () => {
      it('turns a channel request away 503 router.full while requesters and responders fill it', async () => {
        const url = await start({ limits: { waiters: 2 } })
        const requester = open(`${url}/req/ns/ch`, 'GET')
        const responder = open(`${url}/res/ns/other`, 'POST')
        responder.end('r')
        await waitUntil(() => waiting().requesters === 1 && waiting().responders === 1)
        const consumer = await send(`${url}/channels/ns/ch`, 'GET')
        expectError(consumer, 503, 'router.full')
        expect(consumer.headers['retry-after']).toBe('1')
        expect(pipe.stats().waitingConsumers).toBe(0)
        // A channel request matched at once is admitted, as always.
        requester.destroy()
        await waitUntil(() => waiting().requesters === 0)
        const waitingConsumer = open(`${url}/channels/ns/ch`, 'GET')
        await waitUntil(() => pipe.stats().waitingConsumers === 1)
        expect((await send(`${url}/channels/ns/ch`, 'POST', 'm')).status).toBe(200)
        expect((await waitingConsumer.done).body.toString()).toBe('m')
        responder.destroy()
      })

      it('turns a pipelined channel request away 503 router.full while requesters and responders fill it', async () => {
        const url = await start({ limits: { waiters: 2 } })
        const requester = open(`${url}/req/ns/ch`, 'GET')
        await waitUntil(() => waiting().requesters === 1)
        // The second GET is pipelined behind the first on one connection: held, it would count as
        // waiting, and the router has room for one more only.
        const socket = connect(Number(new URL(url).port), '127.0.0.1')
        let received = ''
        socket.on('data', (chunk: Buffer) => { received += chunk.toString('latin1') })
        socket.write('GET /channels/p/a HTTP/1.1\r\nHost: x\r\n\r\nGET /channels/p/b HTTP/1.1\r\nHost: x\r\n\r\n')
        await waitUntil(() => pipe.stats().waitingConsumers === 1)
        expect((await send(`${url}/channels/p/a`, 'POST', 'first')).status).toBe(200)
        await waitUntil(() => received.includes('(limits.waiters)'))
        const responses = received.split('HTTP/1.1 ').slice(1)
        expect(responses.map(r => r.slice(0, 3))).toEqual(['200', '503'])
        expect(responses[0]).toMatch(/\r\n\r\nfirst$/)
        expect(pipe.stats().waitingConsumers).toBe(0)
        socket.destroy()
        requester.destroy()
      })

      it('turns a requester away 503 router.full while channel requests fill it', async () => {
        const url = await start({ limits: { waiters: 1 } })
        const consumer = open(`${url}/channels/ns/ch`, 'GET')
        await waitUntil(() => pipe.stats().waitingConsumers === 1)
        expectError(await send(`${url}/req/ns/ch`, 'GET'), 503, 'router.full')
        expect(waiting()).toEqual({ requesters: 0, responders: 0 })
        consumer.destroy()
      })
    })

    describe('two-step mode: POST /res/:namespace/:channel?switch=true', () => {
      async function takeJob (url: string, requesterBody?: string): Promise<{ job: string, delivered: RawResponse, requester: ReturnType<typeof open> }> {
        const responder = open(`${url}/res/ns/ch?switch=true`, 'POST')
        responder.end()
        await waitUntil(() => waiting().responders === 1)
        const requester = open(`${url}/req/ns/ch/path?x=1`, requesterBody === undefined ? 'GET' : 'POST')
        if (requesterBody !== undefined) requester.end(requesterBody)
        const delivered = await responder.done
        return { job: String(delivered.headers['pb-job']), delivered, requester }
      }

      it('gives the responder the request and a job id, and the reply to that job to the requester', async () => {
        const url = await start()
        const { job, delivered, requester } = await takeJob(url, 'question')
        expect(delivered.status).toBe(200)
        expect(job).toMatch(/^[A-Za-z0-9_-]{22}$/)
        expect(delivered.headers['pb-method']).toBe('POST')
        expect(delivered.headers['pb-uri']).toBe('/path?x=1')
        expect(delivered.headers['content-length']).toBe('8')
        expect(delivered.body.toString()).toBe('question')
        expect(pipe.stats().reqres.jobs).toBe(1)
        const reply = await send(`${url}/res/ns/ch/${job}`, 'POST', 'answer', { 'Pb-Status': '202', 'Pb-H-X-Answer': '42', 'Pb-H-Set-Cookie': 'x=1' })
        expect(reply.status).toBe(200)
        const answered = await requester.done
        expect(answered.status).toBe(202)
        expect(answered.body.toString()).toBe('answer')
        expect(answered.headers['x-answer']).toBe('42')
        expect(answered.headers['set-cookie']).toBeUndefined()
        expect(answered.headers['content-security-policy']).toBe(SANDBOX)
        expect(pipe.stats().reqres).toMatchObject({ jobs: 0, exchanges: 0, bytesTransferred: 14 })
      })

      it('takes one reply per job: a second gets 409; an unknown id, or one of another channel, 404', async () => {
        const url = await start()
        const { job, requester } = await takeJob(url)
        expect((await send(`${url}/res/ns/ch/${job}`, 'PUT', 'once')).status).toBe(200)
        await requester.done
        expectError(await send(`${url}/res/ns/ch/${job}`, 'POST', 'twice'), 409, 'job.used')
        expectError(await send(`${url}/res/ns/ch/AAAAAAAAAAAAAAAAAAAAAA`, 'POST', 'x'), 404, 'job.unknown')
        const other = await takeJob(url)
        expectError(await send(`${url}/res/ns/elsewhere/${other.job}`, 'POST', 'x'), 404, 'job.unknown')
        expect((await send(`${url}/res/ns/ch/${other.job}`, 'POST', 'right')).status).toBe(200)
      })

      it('answers 504 to the requester after reqres.jobTimeout, and 410 to a reply that comes later', async () => {
        const url = await start({ reqres: { jobTimeout: 50 } })
        const { job, requester } = await takeJob(url)
        expectError(await requester.done, 504, 'job.timeout')
        expectError(await send(`${url}/res/ns/ch/${job}`, 'POST', 'late'), 410, 'job.expired')
        expect(pipe.stats().reqres).toMatchObject({ jobs: 0, exchanges: 0 })
      })

      it('answers 410 to the reply when the requester has left', async () => {
        const url = await start()
        const { job, requester } = await takeJob(url)
        requester.destroy()
        await waitUntil(() => pipe.stats().reqres.jobs === 0)
        expectError(await send(`${url}/res/ns/ch/${job}`, 'POST', 'nobody'), 410, 'requester.gone')
      })

      it('answers a reply with a bad Pb-Status 400 and its requester 502', async () => {
        const url = await start()
        const { job, requester } = await takeJob(url)
        expectError(await send(`${url}/res/ns/ch/${job}`, 'POST', 'x', { 'Pb-Status': '1000' }), 400, 'status.invalid')
        expectError(await requester.done, 502, 'reply.invalid')
      })

      it('answers a reply over limits.bodySize 413 and its requester 502', async () => {
        const url = await start({ limits: { bodySize: 4 } })
        const { job, requester } = await takeJob(url)
        expectError(await send(`${url}/res/ns/ch/${job}`, 'POST', 'too long'), 413, 'entity.too.large')
        expectError(await requester.done, 502, 'reply.too.large')
      })

      it('answers the reply 410 (never 200) when the requester leaves mid-reply', async () => {
        const url = await start()
        const { job, requester } = await takeJob(url)
        const reply = open(`${url}/res/ns/ch/${job}`, 'POST', { 'Transfer-Encoding': 'chunked' })
        await reply.write('part')
        await requester.response
        requester.destroy()
        expectError(await reply.done, 410, 'requester.gone')
      })

      it('cuts the requester when the reply is cut mid-body', async () => {
        const url = await start()
        const { job, requester } = await takeJob(url)
        const reply = open(`${url}/res/ns/ch/${job}`, 'POST', { 'Content-Length': 50 })
        await reply.write('part')
        await requester.response
        reply.destroy()
        const answered = await requester.done
        expect(answered.complete).toBe(false)
        expect(answered.body.toString()).toBe('part')
      })

      it('takes the next request in the answer to a reply sent with ?switch=true, once the reply was delivered', async () => {
        const url = await start()
        const { job, requester } = await takeJob(url)
        const reply = open(`${url}/res/ns/ch/${job}?switch=true`, 'POST')
        reply.end('first answer')
        expect((await requester.done).body.toString()).toBe('first answer')
        await waitUntil(() => waiting().responders === 1)
        const second = open(`${url}/req/ns/ch/second`, 'GET')
        const taken = await reply.done
        expect(taken.status).toBe(200)
        expect(taken.headers['pb-uri']).toBe('/second')
        const next = String(taken.headers['pb-job'])
        expect(next).toMatch(/^[\w-]{22}$/)
        // After close(), a delivered reply is answered 200 and takes nothing more.
        const closing = pipe.close()
        expect((await send(`${url}/res/ns/ch/${next}?switch=true`, 'POST', 'second answer')).status).toBe(200)
        expect((await second.done).body.toString()).toBe('second answer')
        await closing
      })

      it('close(): lets an open job be replied to, and resolves once it is', async () => {
        const url = await start()
        const { job, requester } = await takeJob(url)
        let closed = false
        const closing = pipe.close().then(() => { closed = true })
        expectError(await send(`${url}/res/ns/ch?switch=true`, 'POST', ''), 503, 'router.closed')
        expect(closed).toBe(false)
        expect((await send(`${url}/res/ns/ch/${job}`, 'POST', 'after close')).status).toBe(200)
        expect((await requester.done).body.toString()).toBe('after close')
        await closing
      })
    })
  })
}

describe('router.reqres in an Express app', () => {
  let server: Listening | undefined
  afterEach(async () => { await server?.close() })

  it('serves /req and /res where it is mounted and passes every other path on', async () => {
    const pipe = httpipe()
    const app = express()
    app.use('/channels', pipe)
    app.use('/rr', pipe.reqres)
    app.get('/rr/other', (_req, res) => { res.send('the app') })
    server = await listen(app)
    expect((await send(`${server.url}/rr/other`, 'GET')).body.toString()).toBe('the app')
    const responder = open(`${server.url}/rr/res/ns/ch`, 'POST')
    responder.end('through express')
    await waitUntil(() => pipe.stats().reqres.waitingResponders === 1)
    expect((await send(`${server.url}/rr/req/ns/ch`, 'GET')).body.toString()).toBe('through express')
  })

  it('throws a TypeError naming a bad reqres option', () => {
    expect(() => httpipe({ reqres: { jobTimeout: 0 } })).toThrow('httpipe: option reqres.jobTimeout must be a positive integer up to 2147483647 (ms), got 0')
    expect(() => httpipe({ reqres: { forwardCookie: true } as never })).toThrow('httpipe: unknown option reqres.forwardCookie')
  })
})

function sha (data: Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}
