import { describe, expect, it } from '@jest/globals'
import type { IncomingMessage } from 'node:http'
import type { HttpipeAccess } from '../lib'
import { TokenAccess, createToken, hashToken, parseTokens, tokenOf, type AnonymousLevel } from '../lib/token-file'

function request (headers: Record<string, string> = {}, url = '/ns/ch'): IncomingMessage {
  return { headers, url } as unknown as IncomingMessage
}

const bearer = (token: string): IncomingMessage => request({ authorization: `Bearer ${token}` })

function file (...entries: object[]): string {
  return JSON.stringify({ tokens: entries })
}

const READER = 'reader-token'
const ADMIN = 'admin-token'
const TOKENS = parseTokens(file(
  { name: 'reader', sha256: hashToken(READER), grants: [{ namespace: 'builds-*', channel: 'log-??', allow: ['read'] }] },
  { sha256: hashToken(ADMIN).toUpperCase(), grants: [{ namespace: '*', allow: ['read', 'write', 'delete', 'list', 'metrics'] }] }
))

const access = (action: HttpipeAccess['action'], namespace: string, channel?: string): HttpipeAccess =>
  channel === undefined ? { action, namespace } : { action, namespace, channel }

describe('parseTokens(text)', () => {
  it.each([
    ['not JSON', '{', /^it is not JSON: /],
    ['no tokens array', '{}', /^tokens must be an array$/],
    ['an unknown key', file({ sha256: hashToken('x'), grants: [{ namespace: 'a', allow: ['read'] }], secret: 'x' }), /^tokens\[0\] has an unknown key "secret"; known: name, sha256, grants$/],
    ['a raw token instead of a hash', file({ sha256: 'hunter2', grants: [{ namespace: 'a', allow: ['read'] }] }), /^tokens\[0\]\.sha256 must be the SHA-256 of the token as 64 hex digits/],
    ['no grants', file({ sha256: hashToken('x'), grants: [] }), /^tokens\[0\]\.grants must not be empty$/],
    ['an unknown permission', file({ sha256: hashToken('x'), grants: [{ namespace: 'a', allow: ['read', 'writ'] }] }), /^tokens\[0\]\.grants\[0\]\.allow\[1\] must be one of read, write, delete, list, metrics, got "writ"$/],
    ['an empty namespace', file({ sha256: hashToken('x'), grants: [{ namespace: '', allow: ['read'] }] }), /^tokens\[0\]\.grants\[0\]\.namespace must be a name or a glob pattern/],
    ['a duplicate', file({ sha256: hashToken('x'), grants: [{ namespace: 'a', allow: ['read'] }] }, { sha256: hashToken('x'), grants: [{ namespace: 'b', allow: ['read'] }] }), /^tokens\[1\]\.sha256 is the same as an earlier token's$/]
  ])('refuses %s, naming the entry', (_name, text, message) => {
    expect(() => parseTokens(text)).toThrow(message)
  })
})

describe('TokenAccess', () => {
  it('matches grants with globs: * any run, ? one character, everything else literally', () => {
    const tokens = new TokenAccess(TOKENS, 'none')
    expect(tokens.verdict(bearer(READER), access('consume', 'builds-main', 'log-01'))).toBe(true)
    expect(tokens.verdict(bearer(READER), access('subscribe', 'builds-', 'log-ab'))).toBe(true)
    expect(tokens.verdict(bearer(READER), access('consume', 'builds-main', 'log-001'))).toMatchObject({ status: 403 })
    expect(tokens.verdict(bearer(READER), access('consume', 'Builds-main', 'log-01'))).toMatchObject({ status: 403 })
    expect(tokens.verdict(bearer(READER), access('produce', 'builds-main', 'log-01'))).toMatchObject({ status: 403, message: 'the token does not allow write here' })
    // A grant for some channels does not reach the namespace as a whole.
    expect(tokens.verdict(bearer(READER), access('list', 'builds-main'))).toMatchObject({ status: 403 })
    expect(tokens.verdict(bearer(ADMIN), access('list', 'anything'))).toBe(true)
    expect(tokens.verdict(bearer(ADMIN), access('delete', 'anything'))).toBe(true)
    expect(tokens.verdict(bearer(ADMIN), undefined)).toBe(true)
    expect(tokens.verdict(bearer(READER), undefined)).toMatchObject({ status: 403 })
  })

  it('treats regex characters in patterns literally', () => {
    const tokens = new TokenAccess(parseTokens(file({ sha256: hashToken('t'), grants: [{ namespace: 'a.b', allow: ['read'] }] })), 'none')
    expect(tokens.verdict(bearer('t'), access('consume', 'a.b', 'c'))).toBe(true)
    expect(tokens.verdict(bearer('t'), access('consume', 'axb', 'c'))).toMatchObject({ status: 403 })
  })

  it('answers 401 with a Bearer challenge without a token, and invalid_token for an unknown one', () => {
    const tokens = new TokenAccess(TOKENS, 'none')
    expect(tokens.verdict(request(), access('consume', 'a', 'b'))).toMatchObject({ status: 401, headers: { 'WWW-Authenticate': 'Bearer realm="httpipe"' } })
    const unknown = tokens.verdict(bearer('not-a-token'), access('consume', 'a', 'b'))
    expect(unknown).toMatchObject({ status: 401, headers: { 'WWW-Authenticate': 'Bearer realm="httpipe", error="invalid_token"' } })
    expect(JSON.stringify(unknown)).not.toContain('not-a-token')
  })

  it.each<[AnonymousLevel, string[]]>([
    ['none', []],
    ['read', ['consume', 'subscribe']],
    ['write', ['consume', 'subscribe', 'produce', 'publish']],
    ['all', ['consume', 'subscribe', 'produce', 'publish', 'delete', 'list']]
  ])('lets anonymous requests at level %s do %j', (level, allowed) => {
    const tokens = new TokenAccess(new Map(), level)
    for (const action of ['consume', 'subscribe', 'produce', 'publish', 'delete', 'list'] as const) {
      const verdict = tokens.verdict(request(), access(action, 'ns', action === 'list' ? undefined : 'ch'))
      expect([action, verdict === true]).toEqual([action, allowed.includes(action)])
    }
  })

  it('lets read request in the request/response mode, and asks read and write to respond', () => {
    const server = 'server-token'
    const writer = 'writer-token'
    const tokens = new TokenAccess(parseTokens(file(
      { sha256: hashToken(READER), grants: [{ namespace: 'site', allow: ['read'] }] },
      { sha256: hashToken(writer), grants: [{ namespace: 'site', allow: ['write'] }] },
      { sha256: hashToken(server), grants: [{ namespace: 'site', allow: ['read'] }, { namespace: 'site', channel: 'www', allow: ['write'] }] }
    )), 'none')
    expect(tokens.verdict(bearer(READER), access('request', 'site', 'www'))).toBe(true)
    expect(tokens.verdict(bearer(READER), access('respond', 'site', 'www'))).toMatchObject({ status: 403, message: 'the token does not allow write here' })
    expect(tokens.verdict(bearer(writer), access('request', 'site', 'www'))).toMatchObject({ status: 403, message: 'the token does not allow read here' })
    expect(tokens.verdict(bearer(writer), access('respond', 'site', 'www'))).toMatchObject({ status: 403, message: 'the token does not allow read here' })
    // Both permissions, from one grant or two.
    expect(tokens.verdict(bearer(server), access('respond', 'site', 'www'))).toBe(true)
    expect(tokens.verdict(bearer(server), access('respond', 'site', 'api'))).toMatchObject({ status: 403, message: 'the token does not allow write here' })
    // --anonymous read: anyone may browse; serving still needs a token with write (read is given).
    const browsing = new TokenAccess(parseTokens(file({ sha256: hashToken(writer), grants: [{ namespace: 'site', allow: ['write'] }] })), 'read')
    expect(browsing.verdict(request(), access('request', 'site', 'www'))).toBe(true)
    expect(browsing.verdict(request(), access('respond', 'site', 'www'))).toMatchObject({ status: 401 })
    expect(browsing.verdict(bearer(writer), access('respond', 'site', 'www'))).toBe(true)
    expect(new TokenAccess(new Map(), 'write').verdict(request(), access('respond', 'site', 'www'))).toBe(true)
  })

  it('takes the new tokens on replace()', () => {
    const tokens = new TokenAccess(TOKENS, 'none')
    tokens.replace(parseTokens(file({ sha256: hashToken('new'), grants: [{ namespace: '*', allow: ['read'] }] })))
    expect(tokens.verdict(bearer('new'), access('consume', 'a', 'b'))).toBe(true)
    expect(tokens.verdict(bearer(ADMIN), access('consume', 'a', 'b'))).toMatchObject({ status: 401 })
  })
})

describe('tokenOf(req)', () => {
  it('reads Authorization: Bearer (any case), else ?token=', () => {
    expect(tokenOf(request({ authorization: 'bearer abc' }))).toBe('abc')
    expect(tokenOf(request({}, '/ns/ch?pubsub=true&token=x%2By'))).toBe('x+y')
    expect(tokenOf(request({ authorization: 'Basic dXNlcjpwYXNz' }, '/ns/ch'))).toBeUndefined()
    expect(tokenOf(request({}, '/ns/ch?tokens=1'))).toBeUndefined()
  })
})

describe('createToken()', () => {
  it('makes a 256-bit token and an entry that parses and grants what was asked', () => {
    const { token, entry } = createToken({ namespace: 'ns', channel: 'ch-*', allow: ['read', 'write'] }, 'ci')
    expect(Buffer.from(token, 'base64url')).toHaveLength(32)
    expect(entry).toEqual({ name: 'ci', sha256: hashToken(token), grants: [{ namespace: 'ns', channel: 'ch-*', allow: ['read', 'write'] }] })
    const tokens = new TokenAccess(parseTokens(file(entry)), 'none')
    expect(tokens.verdict(bearer(token), access('produce', 'ns', 'ch-1'))).toBe(true)
    expect(createToken({ namespace: 'ns', allow: ['read'] }).token).not.toBe(token)
  })
})
