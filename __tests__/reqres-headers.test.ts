import type { IncomingMessage } from 'node:http'
import { describe, expect, it } from '@jest/globals'
import { isAtLeastAsStrict, parseReply, replyHead, requestHead } from '../lib/reqres-headers'
import { isExchangePath, parseExchangeRoute } from '../lib/reqres-route'

const NO_FORWARD = { cookie: false, authorization: false }

/** Just what the header functions read of a request. */
function fakeRequest (rawHeaders: string[], method = 'GET'): IncomingMessage {
  const headers: Record<string, string> = {}
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase()
    headers[name] = headers[name] === undefined ? rawHeaders[i + 1] as string : `${headers[name]}, ${rawHeaders[i + 1] as string}`
  }
  return { method, rawHeaders, headers } as unknown as IncomingMessage
}

function thrown (run: () => unknown): unknown {
  try {
    run()
  } catch (err) {
    return err
  }
  throw new Error('expected it to throw')
}

describe('requestHead()', () => {
  it('drops HTTP/2 pseudo-headers and headers named by Connection, keeps duplicates and spelling', () => {
    const head = requestHead(fakeRequest([':authority', 'x', 'Connection', 'X-Hop', 'X-Hop', '1', 'x-a', '1', 'X-A', '2', 'Accept', '*/*']), '/p', NO_FORWARD)
    expect(head['Pb-H-x-a']).toEqual(['1', '2'])
    expect(head['Pb-H-Accept']).toBe('*/*')
    expect(Object.keys(head).some(name => /hop|authority|connection/i.test(name))).toBe(false)
    expect(head['Pb-Uri']).toBe('/p')
    // The responder's own response may be read by a browser on the host's origin: never as a page.
    expect(requestHead(fakeRequest(['Content-Type', 'text/html']), '/', NO_FORWARD)['Content-Type']).toBe('text/plain')
  })
})

describe('parseReply() and replyHead()', () => {
  it('defaults Pb-Status to 200 and reads the prefix in any letter case', () => {
    const reply = parseReply(fakeRequest(['pb-h-x-one', '1', 'PB-H-X-Two', '2']), NO_FORWARD)
    expect(reply.status).toBe(200)
    expect(reply.headers).toEqual({ 'x-one': '1', 'X-Two': '2' })
  })

  it('refuses a Pb-Status that is not an integer from 200 to 599 (status.invalid)', () => {
    for (const status of ['100', '1', '600', '20x', '-200', '2e2', '200, 201']) {
      expect(thrown(() => parseReply(fakeRequest(['Pb-Status', status]), NO_FORWARD))).toMatchObject({ status: 400, type: 'status.invalid' })
    }
  })

  it('keeps a strict responder CSP next to ours whatever its spelling, and duplicates under the first spelling', () => {
    const reply = parseReply(fakeRequest(['pb-h-content-security-policy', 'sandbox', 'Pb-H-X-A', '1', 'pb-h-x-a', '2', 'PB-H-CONTENT-SECURITY-POLICY', 'sandbox allow-forms']), NO_FORWARD)
    expect(reply.headers['X-A']).toEqual(['1', '2'])
    const head = replyHead(reply, 'GET')
    expect(head['Content-Security-Policy']).toEqual(['sandbox allow-scripts allow-forms allow-popups allow-downloads', 'sandbox', 'sandbox allow-forms'])
    expect(Object.keys(head).filter(name => name.toLowerCase() === 'content-security-policy')).toEqual(['Content-Security-Policy'])
  })

  it('takes Content-Length from the reply body, and Pb-H-Content-Length only where no body is sent', () => {
    const reply = parseReply(fakeRequest(['Pb-H-Content-Length', '99', 'Content-Length', '5']), NO_FORWARD)
    expect(replyHead(reply, 'GET')['Content-Length']).toBe('5')
    expect(replyHead(reply, 'HEAD')['Content-Length']).toBe('99')
    const noContent = parseReply(fakeRequest(['Pb-Status', '204', 'Pb-H-Content-Length', '99']), NO_FORWARD)
    expect(replyHead(noContent, 'GET')['Content-Length']).toBeUndefined()
  })
})

describe('isAtLeastAsStrict()', () => {
  it.each([
    ['sandbox', true],
    ['sandbox allow-scripts', true],
    ["default-src 'self'; sandbox allow-forms allow-popups", true],
    ['SANDBOX ALLOW-SCRIPTS', true],
    ['sandbox allow-same-origin', false],
    ['sandbox allow-scripts allow-top-navigation', false],
    ["default-src 'self'", false],
    ['sandbox, default-src *', false]
  ])('%j: %p', (policy, strict) => {
    expect(isAtLeastAsStrict(policy)).toBe(strict)
  })
})

describe('parseExchangeRoute()', () => {
  it('reads requester, responder and reply paths', () => {
    expect(parseExchangeRoute('/req/ns/ch')).toEqual({ kind: 'requester', namespace: 'ns', channel: 'ch', key: 'ns/ch', uri: '/' })
    expect(parseExchangeRoute('/req/ns/ch/?a')).toMatchObject({ uri: '/?a' })
    expect(parseExchangeRoute('/req/n%C3%A9/ch/a//b')).toMatchObject({ namespace: 'né', uri: '/a//b' })
    expect(parseExchangeRoute('/res/ns/ch/')).toEqual({ kind: 'responder', namespace: 'ns', channel: 'ch', key: 'ns/ch', twoStep: false })
    expect(parseExchangeRoute('/res/ns/ch?switch=true')).toMatchObject({ kind: 'responder', twoStep: true })
    expect(parseExchangeRoute('/res/ns/ch/abc?switch=1')).toMatchObject({ kind: 'reply', job: 'abc', twoStep: true })
  })

  it('refuses bad names (400) and other shapes (404)', () => {
    expect(thrown(() => parseExchangeRoute('/req/ns'))).toMatchObject({ status: 404 })
    expect(thrown(() => parseExchangeRoute('/res/ns/ch/a/b'))).toMatchObject({ status: 404 })
    expect(thrown(() => parseExchangeRoute('/req/ns/a%2Fb'))).toMatchObject({ status: 400, segment: 'channel' })
    expect(thrown(() => parseExchangeRoute('/req/%E0/ch'))).toMatchObject({ status: 400, segment: 'namespace' })
  })

  it('tells its paths from others', () => {
    expect(['/req/a/b', '/res/a/b', '/req', '/res?x'].every(isExchangePath)).toBe(true)
    expect(['/request/a/b', '/channels/req/a', '/', '/resx'].some(isExchangePath)).toBe(false)
  })
})
