import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from '@jest/globals'
import { sendError } from '../lib/error-response'
import { accessDeniedForTest } from './helpers/reqres-access'
import { resolveOptions } from '../lib/options'
import { serve } from '../lib/serve'
import { createReqResMode, type AccessCheck, type ReqResAccess, type ReqResMode } from '../lib/reqres-mode'
import { TransferTracker } from '../lib/transfer-tracker'
import { consumeQueryParameter, type HttpipeAccess, type HttpipeAuthorize, type HttpipeVerdict } from '../lib'
import { createStandaloneServer } from '../lib/server'
import { TokenAccess, hashToken, parseTokens } from '../lib/token-file'
import { controlledAuthorize } from './helpers/controlled-authorize'
import { IDLE_REQRES, adapters, createRawApp, errorType } from './helpers/app'
import { received } from './helpers/faults'
import { open, send, waitUntil } from './helpers/http'
import { useServer } from './helpers/use-server'

// The mode's access seam, which the router wires to its `authorize` option (issue 13): asked once
// per request with `request` or `respond`, before the request queues or any body byte is read.

let server: Server | undefined
afterEach(async () => {
  server?.closeAllConnections()
  await new Promise<void>(resolve => { if (server === undefined) resolve(); else server.close(() => { resolve() }) })
  server = undefined
})

async function start (authorize: AccessCheck): Promise<{ url: string, mode: ReqResMode, close: () => Promise<void> }> {
  const tracker = new TransferTracker()
  const mode = createReqResMode(resolveOptions(), tracker, { waitingElsewhere: () => 0, authorize })
  // What the router's close() does for the mode.
  const close = async (): Promise<void> => {
    mode.turnAwayAll()
    await tracker.close()
  }
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const answer = (err?: unknown): void => { sendError(req, res, err ?? new Error('not found')) }
    mode.handle(req, res, answer, answer)
  })
  await new Promise<void>(resolve => server?.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, mode, close }
}

describe('request/response mode with an access check', () => {
  it('asks request for requesters and respond for responders and replies, with the names', async () => {
    const asked: ReqResAccess[] = []
    const { url, mode } = await start((_req, access) => { asked.push(access); return undefined })
    const responder = open(`${url}/res/n%C3%A9/ch?switch=true`, 'POST')
    responder.end()
    await waitUntil(() => mode.stats().waitingResponders === 1)
    const requester = open(`${url}/req/n%C3%A9/ch/x`, 'GET')
    const job = String((await responder.done).headers['pb-job'])
    await send(`${url}/res/n%C3%A9/ch/${job}`, 'POST', 'ok')
    expect((await requester.done).body.toString()).toBe('ok')
    expect(asked).toEqual([
      { action: 'respond', namespace: 'né', channel: 'ch' },
      { action: 'request', namespace: 'né', channel: 'ch' },
      { action: 'respond', namespace: 'né', channel: 'ch' }
    ])
  })

  it('turns away a denied request before it queues, synchronously or not', async () => {
    const { url, mode } = await start((_req, access) => access.action === 'request' ? accessDeniedForTest() : Promise.resolve(accessDeniedForTest()))
    expect((await send(`${url}/req/ns/ch`, 'GET')).status).toBe(403)
    expect((await send(`${url}/res/ns/ch`, 'POST', 'x'.repeat(100_000))).status).toBe(403)
    expect(mode.stats()).toMatchObject({ waitingRequesters: 0, waitingResponders: 0 })
  })

  it('leaves nothing behind when a client leaves while its check is pending, and answers 503 after close()', async () => {
    let release: (verdict: undefined) => void = () => {}
    let asked = 0
    const { url, mode, close } = await start(async () => { asked++; return await new Promise<undefined>(resolve => { release = resolve }) })
    const gone = open(`${url}/req/ns/ch`, 'GET')
    await waitUntil(() => asked === 1)
    gone.destroy()
    await gone.done.catch(() => {})
    const closedMeanwhile = open(`${url}/req/ns/ch`, 'GET')
    await waitUntil(() => asked === 2)
    const closing = close()
    release(undefined)
    expect((await closedMeanwhile.done).status).toBe(503)
    await closing
    expect(mode.stats()).toMatchObject({ waitingRequesters: 0, waitingResponders: 0, exchanges: 0 })
  })
})

// The router's `authorize` option (issue 13) on the mode, through both adapters: its verdicts as
// the channel routes turn them into errors (authorize.ts's denialError), asked before queueing.
describe.each(adapters)('request/response mode with the authorize option ($name)', ({ create }) => {
  const { start: startApp } = useServer(create)

  describe.each(['sync', 'async'] as const)('a %s hook', mode => {
    const hook = (verdict: (access: HttpipeAccess) => HttpipeVerdict, seen: HttpipeAccess[] = []): HttpipeAuthorize => (_req, access) => {
      seen.push(access)
      return mode === 'sync' ? verdict(access) : Promise.resolve().then(() => verdict(access))
    }

    it('turns a denied requester away before it queues: a waiting responder stays unmatched', async () => {
      const seen: HttpipeAccess[] = []
      const { url, pipe } = await startApp({ authorize: hook(access => access.action !== 'request', seen) })
      const responder = open(`${url}/res/ns/ch`, 'POST')
      responder.end('reply')
      await waitUntil(() => pipe.stats().reqres.waitingResponders === 1)
      const denied = await send(`${url}/req/ns/ch/page?q=1`, 'GET')
      expect(denied.status).toBe(403)
      const text = denied.body.toString()
      expect(errorType(text) ?? 'access.denied').toBe('access.denied')
      expect(text).toContain('not allowed to request on channel ns/ch')
      expect(pipe.stats().reqres).toEqual({ ...IDLE_REQRES, waitingResponders: 1 })
      expect(seen).toEqual([{ action: 'respond', namespace: 'ns', channel: 'ch' }, { action: 'request', namespace: 'ns', channel: 'ch' }])
      responder.destroy()
      await responder.done.catch(() => {})
    })

    it('turns a denied responder away before it queues, its body unread: a waiting requester stays unmatched', async () => {
      const { url, pipe } = await startApp({ authorize: hook(access => access.action === 'respond' ? { status: 401, message: 'log in to serve', headers: { 'WWW-Authenticate': 'Bearer realm="test"' } } : true) })
      const requester = open(`${url}/req/ns/ch`, 'GET')
      requester.end()
      await waitUntil(() => pipe.stats().reqres.waitingRequesters === 1)
      for (const path of ['/res/ns/ch', '/res/ns/ch?switch=true']) {
        const denied = await send(`${url}${path}`, 'POST', 'x'.repeat(100_000))
        expect(denied.status).toBe(401)
        expect(denied.headers['www-authenticate']).toBe('Bearer realm="test"')
        expect(denied.body.toString()).toMatch(/log in to serve\n?$/)
      }
      expect(pipe.stats().reqres).toEqual({ ...IDLE_REQRES, waitingRequesters: 1 })
      requester.destroy()
      await requester.done.catch(() => {})
    })

    it('asks respond for a two-step reply, and answers a 404 denial as channel.not.found', async () => {
      let denyReplies = false
      const { url, pipe } = await startApp({ authorize: hook(access => access.action === 'respond' && denyReplies ? { status: 404 } : true) })
      const responder = open(`${url}/res/ns/ch?switch=true`, 'POST')
      responder.end()
      await waitUntil(() => pipe.stats().reqres.waitingResponders === 1)
      const requester = open(`${url}/req/ns/ch`, 'GET')
      requester.end()
      const job = String((await responder.done).headers['pb-job'])
      denyReplies = true
      const refused = await send(`${url}/res/ns/ch/${job}`, 'POST', 'no')
      expect(refused.status).toBe(404)
      expect(refused.body.toString()).toContain('channel ns/ch not found')
      denyReplies = false
      expect((await send(`${url}/res/ns/ch/${job}`, 'POST', 'yes')).status).toBe(200)
      expect((await requester.done).body.toString()).toBe('yes')
    })
  })
})

// As the channel routes hold theirs (authorize.test.ts): a request whose verdict is pending is no
// waiter, is answered 408 once still undecided after `timeout`, 503 by close() at once, and leaves
// nothing behind when its client goes.
describe.each(adapters)('request/response mode while an async verdict is pending ($name)', ({ create }) => {
  const { start: startApp } = useServer(create)

  it.each([
    ['a requester', 'GET', '/req/ns/ch'],
    ['a responder', 'POST', '/res/ns/ch'],
    ['a two-step responder', 'POST', '/res/ns/ch?switch=true']
  ])('gets 408 channel.timeout when %s is still undecided after timeout', async (_, method, path) => {
    const hook = controlledAuthorize()
    const { url, pipe } = await startApp({ timeout: 100, authorize: hook.authorize })
    const pending = open(`${url}${path}`, method, method === 'POST' ? { 'Content-Length': 2 } : {})
    // Half a body: its headers go out, the rest waits for the verdict.
    if (method === 'POST') await pending.write('x')
    const undecided = await received(pending, path, 10_000)
    expect(undecided.status).toBe(408)
    expect(errorType(undecided.body.toString()) ?? 'channel.timeout').toBe('channel.timeout')
    expect(undecided.body.toString()).toContain('ns/ch')
    hook.decide(true)
    await new Promise(resolve => setImmediate(resolve))
    expect(pipe.stats().reqres).toEqual(IDLE_REQRES)
  })

  it('is answered 503 by close() at once, and its late verdict is ignored', async () => {
    const hook = controlledAuthorize()
    const { url, pipe } = await startApp({ authorize: hook.authorize })
    const requester = open(`${url}/req/ns/ch`, 'GET')
    const responder = open(`${url}/res/ns/ch`, 'POST', { 'Content-Length': 5 })
    await responder.write('re')
    await waitUntil(() => hook.calls() === 2)
    await pipe.close()
    for (const pending of [requester, responder]) {
      const answer = await received(pending, 'a pending request after close()')
      expect(answer.status).toBe(503)
      expect(errorType(answer.body.toString()) ?? 'router.closed').toBe('router.closed')
    }
    expect((await requester.response).headers['retry-after']).toBe('1')
    hook.decide(true)
    hook.decide(true)
    await new Promise(resolve => setImmediate(resolve))
    expect(pipe.stats().reqres).toEqual(IDLE_REQRES)
  })

  it('leaves nothing behind when the client leaves: the next pair meets as usual', async () => {
    const hook = controlledAuthorize()
    const { url, pipe } = await startApp({ authorize: hook.authorize })
    const gone = open(`${url}/res/ns/ch`, 'POST', { 'Content-Length': 5 })
    gone.done.catch(() => {})
    await gone.write('go')
    await waitUntil(() => hook.calls() === 1)
    const closed = new Promise(resolve => { (hook.requests[0] as IncomingMessage).once('close', resolve) })
    gone.destroy()
    await closed
    hook.decide(true)
    await new Promise(resolve => setImmediate(resolve))
    expect(pipe.stats().reqres).toEqual(IDLE_REQRES)
    // The next pair is not matched against a ghost.
    const responder = open(`${url}/res/ns/ch`, 'POST')
    responder.end('for the next one')
    await waitUntil(() => hook.calls() === 2)
    hook.decide(true)
    await waitUntil(() => pipe.stats().reqres.waitingResponders === 1)
    const requester = send(`${url}/req/ns/ch`, 'GET')
    await waitUntil(() => hook.calls() === 3)
    hook.decide(true)
    expect((await requester).body.toString()).toBe('for the next one')
    expect((await responder.done).status).toBe(200)
  })
})

describe('serve() against a relay that requires a token', () => {
  const { start: startApp } = useServer(createRawApp)

  it('sends its token as Authorization: Bearer on polls and replies, never to the handler', async () => {
    const seen: Array<{ action: string, authorization: string | undefined }> = []
    const { url, pipe } = await startApp({
      authorize: (req, access) => {
        seen.push({ action: access.action, authorization: req.headers.authorization })
        return access.action === 'request' || req.headers.authorization === 'Bearer s3cret' ? true : { status: 401 }
      }
    })
    const handlerSaw: Array<string | undefined> = []
    const serving = serve(`${url}/res/ns/site`, (req, res) => { handlerSaw.push(req.headers.authorization); res.end(`hello ${req.url ?? ''}`) }, { workers: 1, token: 's3cret' })
    try {
      await waitUntil(() => pipe.stats().reqres.waitingResponders === 1)
      const answer = await send(`${url}/req/ns/site/page`, 'GET')
      expect(answer.status).toBe(200)
      expect(answer.body.toString()).toBe('hello /page')
      expect(handlerSaw).toEqual([undefined])
      await waitUntil(() => seen.filter(({ action }) => action === 'respond').length >= 2)
      expect(seen.filter(({ action }) => action === 'respond').every(({ authorization }) => authorization === 'Bearer s3cret')).toBe(true)
    } finally {
      await serving.close()
    }
  })

  it('refuses a token that cannot be a header value', () => {
    expect(() => serve('http://127.0.0.1:1/res/ns/ch', () => {}, { token: 'two words' })).toThrow('httpipe: option token must be a non-empty string of printable ASCII without spaces')
  })
})

// A requester's `?token=` (the standalone server's `--auth` reads tokens there, for clients that
// cannot set a header) is the relay's credential: the responder never sees it in Pb-Uri.
describe('a requester\'s ?token= in the standalone server with a token file', () => {
  const TOKEN = 'requester-secret-token'
  const SERVER_TOKEN = 'responder-token'

  async function startStandalone (anonymous: 'none' | 'read'): Promise<string> {
    const tokens = parseTokens(JSON.stringify({
      tokens: [
        { sha256: hashToken(TOKEN), grants: [{ namespace: 'ns', allow: ['read'] }] },
        { sha256: hashToken(SERVER_TOKEN), grants: [{ namespace: 'ns', allow: ['read', 'write'] }] }
      ]
    }))
    server = createStandaloneServer({ authorize: new TokenAccess(tokens, anonymous).authorize }).server
    await new Promise<void>(resolve => server?.listen(0, '127.0.0.1', resolve))
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  }

  /** The Pb-Uri a responder gets for a requester of `path` (below the channel) with `headers`. */
  async function uriSeen (url: string, path: string, headers: Record<string, string> = {}): Promise<string | string[] | undefined> {
    const responder = open(`${url}/res/ns/ch`, 'POST', { Authorization: `Bearer ${SERVER_TOKEN}` })
    responder.end('ok')
    const requester = await send(`${url}/req/ns/ch${path}`, 'GET', undefined, headers)
    expect(requester.status).toBe(200)
    expect(requester.body.toString()).toBe('ok')
    const delivered = await responder.done
    expect(delivered.status).toBe(200)
    return delivered.headers['pb-uri']
  }

  it('strips the token it was authorized by, every other parameter kept as sent, in order', async () => {
    const url = await startStandalone('none')
    expect(await uriSeen(url, `/page?a=1&token=${TOKEN}&b=%20x+y&c&token=again&d=%E2%9C%93`)).toBe('/page?a=1&b=%20x+y&c&d=%E2%9C%93')
    expect(await uriSeen(url, `/page?token=${TOKEN}`)).toBe('/page')
    expect(await uriSeen(url, `?token=${TOKEN}&tokens=1`)).toBe('/?tokens=1')
  })

  it('strips it when anonymous requests may request too (the token is read all the same)', async () => {
    const url = await startStandalone('read')
    expect(await uriSeen(url, `/p?token=${TOKEN}&q=2`)).toBe('/p?q=2')
  })

  it('keeps a token parameter it did not take as the token: the request carried Authorization: Bearer', async () => {
    const url = await startStandalone('none')
    expect(await uriSeen(url, '/p?token=the-app-s-own&q=2', { Authorization: `Bearer ${TOKEN}` })).toBe('/p?token=the-app-s-own&q=2')
  })
})

describe.each(adapters)('consumeQueryParameter() in an authorize hook ($name)', ({ create }) => {
  const { start: startApp } = useServer(create)

  it('keeps every parameter of that name (however encoded) out of Pb-Uri, and nothing else', async () => {
    const { url } = await startApp({ authorize: (req, access) => { if (access.action === 'request') consumeQueryParameter(req, 'api key'); return true } })
    const responder = open(`${url}/res/ns/ch`, 'POST')
    responder.end('ok')
    const requester = await send(`${url}/req/ns/ch/x?api+key=1&keys=2&api%20key=3&token=4&api%2Bkey=5`, 'GET')
    expect(requester.body.toString()).toBe('ok')
    expect((await responder.done).headers['pb-uri']).toBe('/x?keys=2&token=4&api%2Bkey=5')
  })
})
