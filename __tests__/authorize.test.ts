import { afterEach, describe, expect, it } from '@jest/globals'
import type { IncomingMessage } from 'node:http'
import type { HttpipeAccess, HttpipeAuthorize, HttpipeOptions, HttpipeVerdict } from '../lib'
import { controlledAuthorize } from './helpers/controlled-authorize'
import { adapters, errorType } from './helpers/app'
import { listen, open, send, waitUntil, type Listening } from './helpers/http'
import { ZERO } from './helpers/faults'

let server: Listening | undefined
afterEach(async () => { await server?.close(); server = undefined })

/** A request for each action, with the access the hook must be asked about. */
const ACTIONS: ReadonlyArray<{ name: string, method: string, path: string, body?: string, access: HttpipeAccess }> = [
  { name: 'produce', method: 'POST', path: '/ns/ch', body: 'hello', access: { action: 'produce', namespace: 'ns', channel: 'ch' } },
  { name: 'produce (PUT)', method: 'PUT', path: '/ns/ch', body: 'hello', access: { action: 'produce', namespace: 'ns', channel: 'ch' } },
  { name: 'produce (link)', method: 'GET', path: '/ns/ch?method=post&body=hi', access: { action: 'produce', namespace: 'ns', channel: 'ch' } },
  { name: 'consume', method: 'GET', path: '/ns/ch', access: { action: 'consume', namespace: 'ns', channel: 'ch' } },
  { name: 'publish', method: 'POST', path: '/ns/ch?pubsub=true', body: 'hello', access: { action: 'publish', namespace: 'ns', channel: 'ch' } },
  { name: 'subscribe', method: 'GET', path: '/ns/ch?pubsub=true', access: { action: 'subscribe', namespace: 'ns', channel: 'ch' } },
  { name: 'delete a channel', method: 'DELETE', path: '/ns/ch', access: { action: 'delete', namespace: 'ns', channel: 'ch' } },
  { name: 'delete a namespace', method: 'DELETE', path: '/ns', access: { action: 'delete', namespace: 'ns' } },
  { name: 'list a namespace', method: 'GET', path: '/ns', access: { action: 'list', namespace: 'ns' } }
]

describe.each(adapters)('authorize ($name)', ({ create }) => {
  async function start (options: HttpipeOptions): Promise<{ url: string, pipe: ReturnType<typeof create>['pipe'] }> {
    const { app, pipe } = create(options)
    server = await listen(app)
    return { url: `${server.url}/channels`, pipe }
  }

  describe.each(['sync', 'async'] as const)('a %s hook', mode => {
    const hook = (verdict: () => HttpipeVerdict, seen: HttpipeAccess[] = []): HttpipeAuthorize => (_req, access) => {
      seen.push(access)
      return mode === 'sync' ? verdict() : Promise.resolve().then(verdict)
    }

    describe.each(ACTIONS)('to $name', ({ method, path, body, access }) => {
      it('is asked once, with the action, namespace and channel', async () => {
        const seen: HttpipeAccess[] = []
        const { url } = await start({ authorize: hook(() => false, seen) })
        await send(`${url}${path}`, method, body)
        expect(seen).toEqual([access])
      })

      it('answers 403 access.denied for false, before anything else happens', async () => {
        const { url, pipe } = await start({ authorize: hook(() => false) })
        const res = await send(`${url}${path}`, method, body)
        expect(res.status).toBe(403)
        const text = res.body.toString()
        expect(errorType(text) ?? 'access.denied').toBe('access.denied')
        expect(text).toContain(`not allowed to ${access.action} on`)
        expect(pipe.stats()).toMatchObject(ZERO)
      })

      it('answers 401 access.unauthenticated with the denial\'s headers and message', async () => {
        const { url } = await start({ authorize: hook(() => ({ status: 401, message: 'log in first', headers: { 'WWW-Authenticate': 'Bearer realm="test"' } })) })
        const res = await send(`${url}${path}`, method, body)
        expect(res.status).toBe(401)
        expect(res.headers['www-authenticate']).toBe('Bearer realm="test"')
        expect(res.body.toString()).toMatch(/log in first\n?$/)
      })

      it('answers 404 as if nothing were there', async () => {
        const { url } = await start({ authorize: hook(() => ({ status: 404 })) })
        const res = await send(`${url}${path}`, method, body)
        expect(res.status).toBe(404)
        const text = res.body.toString()
        if (access.channel === undefined) expect(text).toContain('namespace "ns" has no channels')
        else expect(text).toContain('channel ns/ch not found')
      })

      it('passes a throw or rejection to next(err) unchanged', async () => {
        const failure = Object.assign(new Error('the token service is down'), { status: 502, expose: true })
        const { url } = await start({ authorize: hook(() => { throw failure }) })
        const res = await send(`${url}${path}`, method, body)
        expect(res.status).toBe(502)
        expect(res.body.toString()).toContain('the token service is down')
      })

      it('answers 500 for a verdict that is none of the allowed ones', async () => {
        const { url } = await start({ authorize: hook(() => 'yes' as unknown as boolean) })
        const res = await send(`${url}${path}`, method, body)
        expect(res.status).toBe(500)
      })
    })

    it('lets allowed producers and consumers meet as usual', async () => {
      const seen: HttpipeAccess[] = []
      const { url, pipe } = await start({ authorize: hook(() => true, seen) })
      const producer = send(`${url}/ns/ch`, 'POST', 'hello')
      await waitUntil(() => pipe.stats().waitingProducers === 1)
      const consumer = await send(`${url}/ns/ch`, 'GET')
      expect(consumer.status).toBe(200)
      expect(consumer.body.toString()).toBe('hello')
      expect((await producer).status).toBe(200)
      expect(seen.map(a => a.action)).toEqual(['produce', 'consume'])
    })

    it('lets allowed publishers and subscribers, deletes and listings through', async () => {
      const { url, pipe } = await start({ authorize: hook(() => true) })
      const subscriber = send(`${url}/ns/ch?pubsub=true`, 'GET')
      await waitUntil(() => pipe.stats().waitingConsumers === 1)
      expect(JSON.parse((await send(`${url}/ns`, 'GET')).body.toString())).toEqual(['ch'])
      expect(JSON.parse((await send(`${url}/namespaces`, 'GET')).body.toString())).toEqual(['ns'])
      const published = await send(`${url}/ns/ch?pubsub=true`, 'POST', 'all')
      expect(published.headers['x-httpipe-receivers']).toBe('1')
      expect((await subscriber).body.toString()).toBe('all')
      const waiting = send(`${url}/ns/ch`, 'GET')
      await waitUntil(() => pipe.stats().waitingConsumers === 1)
      expect((await send(`${url}/ns/ch`, 'DELETE')).status).toBe(204)
      expect((await waiting).status).toBe(410)
    })

    it('lists only the namespaces it allows list for', async () => {
      const filtered = create({
        authorize: (_req, access) => {
          const verdict = access.action !== 'list' || access.namespace !== 'b'
          return mode === 'sync' ? verdict : Promise.resolve(verdict)
        }
      })
      server = await listen(filtered.app)
      const base = `${server.url}/channels`
      const waiting = ['a', 'b', 'c'].map(ns => open(`${base}/${ns}/ch`, 'GET'))
      for (const request of waiting) request.done.catch(() => {})
      await waitUntil(() => filtered.pipe.stats().waitingConsumers === 3)
      const res = await send(`${base}/namespaces`, 'GET')
      expect(res.status).toBe(200)
      expect(JSON.parse(res.body.toString())).toEqual(['a', 'c'])
      expect((await send(`${base}/b`, 'GET')).status).toBe(403)
      expect(JSON.parse((await send(`${base}/c`, 'GET')).body.toString())).toEqual(['ch'])
      for (const request of waiting) request.destroy()
    })
  })

  it('sees what earlier middleware attached to the request', async () => {
    const { app } = create({ authorize: (req: IncomingMessage & { user?: string }) => req.user === 'ada' })
    server = await listen((req, res) => {
      if (req.headers['x-user'] !== undefined) (req as IncomingMessage & { user?: string }).user = String(req.headers['x-user'])
      app(req, res)
    })
    expect((await send(`${server.url}/channels/ns/ch`, 'DELETE', undefined, { 'X-User': 'ada' })).status).toBe(204)
    expect((await send(`${server.url}/channels/ns/ch`, 'DELETE', undefined, { 'X-User': 'bob' })).status).toBe(403)
  })

  it('is never asked about a CORS preflight, a 405, a bad name or a bad query', async () => {
    const seen: HttpipeAccess[] = []
    const { url } = await start({ cors: true, authorize: (_req, access) => { seen.push(access); return false } })
    const preflight = await send(`${url}/ns/ch`, 'OPTIONS', undefined, { Origin: 'https://a.example', 'Access-Control-Request-Method': 'POST' })
    expect(preflight.status).toBe(204)
    expect((await send(`${url}/ns/ch`, 'PATCH')).status).toBe(405)
    expect((await send(`${url}/ns/%2F`, 'GET')).status).toBe(400)
    expect((await send(`${url}/ns/ch?pubsub=maybe`, 'GET')).status).toBe(400)
    expect(seen).toEqual([])
  })

  describe('while an async verdict is pending', () => {
    it('does not count the request as waiting, nor read its body', async () => {
      const hook = controlledAuthorize()
      const { url, pipe } = await start({ authorize: hook.authorize })
      const producer = open(`${url}/ns/ch`, 'POST', { 'Content-Length': 5 })
      await producer.write('hel')
      await waitUntil(() => hook.calls() === 1)
      expect(pipe.stats()).toMatchObject(ZERO)
      hook.decide(true)
      await waitUntil(() => pipe.stats().waitingProducers === 1)
      producer.end('lo')
      const consumer = send(`${url}/ns/ch`, 'GET')
      await waitUntil(() => hook.calls() === 2)
      hook.decide(true)
      expect((await consumer).body.toString()).toBe('hello')
      expect((await producer.done).status).toBe(200)
    })

    it('leaves nothing behind when the client leaves', async () => {
      const hook = controlledAuthorize()
      const { url, pipe } = await start({ authorize: hook.authorize })
      const consumer = open(`${url}/ns/ch`, 'GET')
      consumer.done.catch(() => {})
      await waitUntil(() => hook.calls() === 1)
      const gone = new Promise(resolve => { (hook.requests[0] as IncomingMessage).once('close', resolve) })
      consumer.destroy()
      await gone
      hook.decide(true)
      await new Promise(resolve => setImmediate(resolve))
      expect(pipe.stats()).toMatchObject(ZERO)
      // The next pair is not matched against a ghost.
      const producer = send(`${url}/ns/ch`, 'POST', 'for the next one')
      await waitUntil(() => hook.calls() === 2)
      hook.decide(true)
      await waitUntil(() => pipe.stats().waitingProducers === 1)
      const next = send(`${url}/ns/ch`, 'GET')
      await waitUntil(() => hook.calls() === 3)
      hook.decide(true)
      expect((await next).body.toString()).toBe('for the next one')
      expect((await producer).status).toBe(200)
    })

    it('is answered 503 by close(), and its late verdict is ignored', async () => {
      const hook = controlledAuthorize()
      const { url, pipe } = await start({ authorize: hook.authorize })
      const producer = send(`${url}/ns/ch`, 'POST', 'late')
      await waitUntil(() => hook.calls() === 1)
      await pipe.close()
      const res = await producer
      expect(res.status).toBe(503)
      expect(res.headers['retry-after']).toBe('1')
      hook.decide(true)
      await new Promise(resolve => setImmediate(resolve))
      expect(pipe.stats()).toMatchObject(ZERO)
    })

    it('is not touched by a DELETE of its channel: it joins once allowed', async () => {
      const hook = controlledAuthorize()
      const { url, pipe } = await start({ authorize: (req, access) => access.action === 'delete' ? true : hook.authorize(req, access) })
      const producer = send(`${url}/ns/ch`, 'POST', 'after the delete')
      await waitUntil(() => hook.calls() === 1)
      expect((await send(`${url}/ns/ch`, 'DELETE')).status).toBe(204)
      hook.decide(true)
      await waitUntil(() => pipe.stats().waitingProducers === 1)
      const consumer = send(`${url}/ns/ch`, 'GET')
      await waitUntil(() => hook.calls() === 2)
      hook.decide(true)
      expect((await consumer).body.toString()).toBe('after the delete')
      expect((await producer).status).toBe(200)
    })

    it('gets 408 when still undecided after timeout', async () => {
      const hook = controlledAuthorize()
      const { url, pipe } = await start({ timeout: 100, authorize: hook.authorize })
      const undecided = await send(`${url}/ns/ch`, 'GET')
      expect(undecided.status).toBe(408)
      hook.decide(true)
      await new Promise(resolve => setImmediate(resolve))
      expect(pipe.stats()).toMatchObject(ZERO)
    })
  })
})
