import { describe, expect, it } from '@jest/globals'
import { channelKey, validateName } from '../lib/channel-key'
import { parseRoute, type Route } from '../lib/route'

interface ThrownHttpError {
  readonly status: number
  readonly type: string
  readonly segment?: string
  readonly message: string
}

/** The error `fn` throws, or a failed assertion when it returns. */
function thrownBy (fn: () => unknown): ThrownHttpError {
  try {
    fn()
  } catch (err) {
    return err as ThrownHttpError
  }
  throw new Error('expected the call to throw')
}

function expectInvalid (path: string, segment: 'namespace' | 'channel'): ThrownHttpError {
  const err = thrownBy(() => parseRoute(path))
  expect(err.status).toBe(400)
  expect(err.type).toBe('channel.name.invalid')
  expect(err.segment).toBe(segment)
  expect(err.message).toMatch(new RegExp(`^invalid ${segment} name: `))
  return err
}

function channel (namespace: string, name: string): Route {
  return { kind: 'channel', namespace, channel: name, key: `${namespace}/${name}` }
}

const EMOJI = '\u{1F600}'

describe('parseRoute(url)', () => {
  describe('the root', () => {
    it('parses / as the root', () => {
      expect(parseRoute('/')).toStrictEqual({ kind: 'root' })
    })

    it('parses the empty path as the root', () => {
      expect(parseRoute('')).toStrictEqual({ kind: 'root' })
    })

    it('parses /?x=1 as the root', () => {
      expect(parseRoute('/?x=1')).toStrictEqual({ kind: 'root' })
    })
  })

  describe('/namespaces', () => {
    it('parses /namespaces as the namespace listing', () => {
      expect(parseRoute('/namespaces')).toStrictEqual({ kind: 'namespaces' })
    })

    it('parses /namespaces/ as the namespace listing', () => {
      expect(parseRoute('/namespaces/')).toStrictEqual({ kind: 'namespaces' })
    })

    it('parses /namespaces?x=1 as the namespace listing', () => {
      expect(parseRoute('/namespaces?x=1')).toStrictEqual({ kind: 'namespaces' })
    })

    it('parses /namespaces/x as channel x of namespace "namespaces"', () => {
      expect(parseRoute('/namespaces/x')).toStrictEqual(channel('namespaces', 'x'))
    })

    it('parses /Namespaces as a namespace, since names are case-sensitive', () => {
      expect(parseRoute('/Namespaces')).toStrictEqual({ kind: 'namespace', namespace: 'Namespaces' })
    })
  })

  describe('/:namespace', () => {
    it('parses /v1 as namespace v1', () => {
      expect(parseRoute('/v1')).toStrictEqual({ kind: 'namespace', namespace: 'v1' })
    })

    it('ignores a trailing slash', () => {
      expect(parseRoute('/v1/')).toStrictEqual({ kind: 'namespace', namespace: 'v1' })
    })

    it('ignores the query string', () => {
      expect(parseRoute('/v1?page=2')).toStrictEqual({ kind: 'namespace', namespace: 'v1' })
    })

    it('decodes the namespace', () => {
      expect(parseRoute('/caf%C3%A9')).toStrictEqual({ kind: 'namespace', namespace: 'café' })
    })
  })

  describe('/:namespace/:channel', () => {
    it('parses /v1/do_work with its key', () => {
      expect(parseRoute('/v1/do_work')).toStrictEqual({ kind: 'channel', namespace: 'v1', channel: 'do_work', key: 'v1/do_work' })
    })

    it('treats /v1/do_work/ as /v1/do_work', () => {
      expect(parseRoute('/v1/do_work/')).toStrictEqual(channel('v1', 'do_work'))
    })

    it('ignores the query string', () => {
      expect(parseRoute('/v1/do_work?x=1&y=%2F')).toStrictEqual(channel('v1', 'do_work'))
    })

    it('ignores the query string after a trailing slash', () => {
      expect(parseRoute('/v1/do_work/?x=1')).toStrictEqual(channel('v1', 'do_work'))
    })

    it('keeps characters that need no encoding as they are', () => {
      expect(parseRoute("/a-b_c.d~e/!$&'()*+,;=:@")).toStrictEqual(channel('a-b_c.d~e', "!$&'()*+,;=:@"))
    })

    it('does not turn + into a space', () => {
      expect(parseRoute('/ns/a+b')).toStrictEqual(channel('ns', 'a+b'))
    })

    it('decodes percent-encoded UTF-8 names', () => {
      expect(parseRoute('/%E6%97%A5%E6%9C%AC/caf%C3%A9%20au%20lait')).toStrictEqual(channel('日本', 'café au lait'))
    })

    it('decodes an encoded emoji', () => {
      expect(parseRoute('/ns/%F0%9F%98%80')).toStrictEqual(channel('ns', EMOJI))
    })

    it('accepts a name of 256 characters', () => {
      const name = 'a'.repeat(256)
      expect(parseRoute(`/ns/${name}`)).toStrictEqual(channel('ns', name))
    })

    it('counts the length after decoding: 256 characters written as %61 are accepted', () => {
      expect(parseRoute(`/${'%61'.repeat(256)}/ch`)).toStrictEqual(channel('a'.repeat(256), 'ch'))
    })

    it('counts an emoji as one character: 256 emoji are accepted', () => {
      const name = EMOJI.repeat(256)
      expect(parseRoute(`/ns/${encodeURIComponent(name)}`)).toStrictEqual(channel('ns', name))
    })
  })

  describe('invalid names', () => {
    it('refuses a channel of 257 characters', () => {
      const err = expectInvalid(`/ns/${'a'.repeat(257)}`, 'channel')
      expect(err.message).toBe('invalid channel name: it is 257 characters long; the limit is 256')
    })

    it('refuses a namespace of 257 characters', () => {
      const err = expectInvalid(`/${'a'.repeat(257)}/ch`, 'namespace')
      expect(err.message).toBe('invalid namespace name: it is 257 characters long; the limit is 256')
    })

    it('refuses a one-segment namespace of 257 characters', () => {
      expectInvalid(`/${'a'.repeat(257)}`, 'namespace')
    })

    it('refuses 257 emoji, counted as 257 characters', () => {
      const err = expectInvalid(`/ns/${encodeURIComponent(EMOJI.repeat(257))}`, 'channel')
      expect(err.message).toBe('invalid channel name: it is 257 characters long; the limit is 256')
    })

    it('refuses %2F inside a channel', () => {
      const err = expectInvalid('/ns/a%2Fb', 'channel')
      expect(err.message).toBe('invalid channel name: "a/b" contains "/" (%2F)')
    })

    it('refuses %2f (lower case) inside a namespace', () => {
      expectInvalid('/a%2fb/ch', 'namespace')
    })

    it('refuses malformed percent-encoding %E0%A4%A', () => {
      const err = expectInvalid('/ns/%E0%A4%A', 'channel')
      expect(err.message).toBe('invalid channel name: malformed percent-encoding in "%E0%A4%A"')
    })

    it('refuses a lone % in a namespace', () => {
      expectInvalid('/100%/ch', 'namespace')
    })

    it('refuses %ZZ', () => {
      expectInvalid('/ns/%ZZ', 'channel')
    })

    it('refuses an encoded lone surrogate %ED%A0%80', () => {
      expectInvalid('/ns/%ED%A0%80', 'channel')
    })

    it('refuses an overlong encoding %C0%AF', () => {
      expectInvalid('/%C0%AF/ch', 'namespace')
    })

    it('refuses an empty namespace in //ch', () => {
      const err = expectInvalid('//ch', 'namespace')
      expect(err.message).toBe('invalid namespace name: it is empty; names are 1 to 256 characters')
    })

    it('refuses an empty channel in /ns//', () => {
      const err = expectInvalid('/ns//', 'channel')
      expect(err.message).toBe('invalid channel name: it is empty; names are 1 to 256 characters')
    })

    it.each([
      ['%00', 'namespace', '/a%00b/ch'],
      ['%00', 'channel', '/ns/a%00b'],
      ['%0A', 'channel', '/ns/%0A'],
      ['%1F', 'channel', '/ns/%1F'],
      ['%7F', 'channel', '/ns/a%7F'],
      ['%7F', 'namespace', '/%7F'],
      ['%C2%80', 'channel', '/ns/%C2%80'],
      ['%C2%9F', 'namespace', '/%C2%9F/ch']
    ] as const)('refuses the control character %s in the %s', (_, segment, path) => {
      const err = expectInvalid(path, segment)
      expect(err.message).toMatch(/ contains a control character \(U\+00[0-9A-F]{2}\)$/)
    })

    it('refuses a raw tab in a channel', () => {
      expectInvalid('/ns/a\tb', 'channel')
    })

    it('names the namespace when both segments are invalid', () => {
      expectInvalid('/%00/%00', 'namespace')
    })
  })

  describe('paths of three or more segments', () => {
    it.each([
      '/a/b/c',
      '/a/b/c/',
      '/a/b/c/d',
      '/a/b/c?x=1',
      '/ns/ch//'
    ])('responds 404 route.not.found to %s', path => {
      const err = thrownBy(() => parseRoute(path))
      expect(err.status).toBe(404)
      expect(err.type).toBe('route.not.found')
    })

    it('names the path and the valid forms in the message', () => {
      expect(thrownBy(() => parseRoute('/a/b/c?x=1')).message)
        .toBe('no route for "/a/b/c": use /{namespace}/{channel}, /{namespace} or /namespaces')
    })
  })
})

describe('validateName(segment, name)', () => {
  it('accepts a name of 1 character', () => {
    expect(() => validateName('channel', 'a')).not.toThrow()
  })

  it('accepts a name of 256 characters', () => {
    expect(() => validateName('namespace', 'x'.repeat(256))).not.toThrow()
  })

  it('accepts 256 emoji (512 UTF-16 code units)', () => {
    expect(() => validateName('channel', EMOJI.repeat(256))).not.toThrow()
  })

  it('accepts non-ASCII printable characters', () => {
    expect(() => validateName('channel', 'naïve 日本 \u00A0')).not.toThrow()
  })

  it('refuses 257 emoji, naming the segment', () => {
    const err = thrownBy(() => validateName('namespace', EMOJI.repeat(257)))
    expect(err.status).toBe(400)
    expect(err.type).toBe('channel.name.invalid')
    expect(err.message).toBe('invalid namespace name: it is 257 characters long; the limit is 256')
  })

  it('refuses an empty name, naming the segment', () => {
    const err = thrownBy(() => validateName('channel', ''))
    expect(err.status).toBe(400)
    expect(err.type).toBe('channel.name.invalid')
    expect(err.segment).toBe('channel')
    expect(err.message).toBe('invalid channel name: it is empty; names are 1 to 256 characters')
  })

  it('refuses a name containing /', () => {
    const err = thrownBy(() => validateName('namespace', 'a/b'))
    expect(err.status).toBe(400)
    expect(err.message).toBe('invalid namespace name: "a/b" contains "/" (%2F)')
  })

  it.each([
    ['\u0000', '"a\\u0000b"', 'U+0000'],
    ['\u001F', '"a\\u001fb"', 'U+001F'],
    ['\u007F', '"a\\u007fb"', 'U+007F'],
    ['\u0080', '"a\\u0080b"', 'U+0080'],
    ['\u009F', '"a\\u009fb"', 'U+009F']
  ])('refuses the control character %j, escaped in the message and named by code point', (char, quoted, point) => {
    const err = thrownBy(() => validateName('channel', `a${char}b`))
    expect(err.status).toBe(400)
    expect(err.type).toBe('channel.name.invalid')
    expect(err.message).toBe(`invalid channel name: ${quoted} contains a control character (${point})`)
  })

  it.each([
    ['\u202E', 'U+202E'], // RIGHT-TO-LEFT OVERRIDE
    ['\u202A', 'U+202A'],
    ['\u2066', 'U+2066'],
    ['\u2069', 'U+2069'],
    ['\u200E', 'U+200E'],
    ['\u061C', 'U+061C'],
    ['\u200B', 'U+200B'], // ZERO WIDTH SPACE
    ['\u200D', 'U+200D'],
    ['\u2060', 'U+2060'],
    ['\uFEFF', 'U+FEFF'],
    ['\u00AD', 'U+00AD'],
    ['\u{E0041}', 'U+E0041']
  ])('refuses the invisible formatting character %j, escaped in the message and named by code point', (char, point) => {
    const err = thrownBy(() => validateName('namespace', `pay${char}ment`))
    expect(err.status).toBe(400)
    expect(err.type).toBe('channel.name.invalid')
    expect(err.segment).toBe('namespace')
    const units = Array.from({ length: char.length }, (_, i) => '\\u' + char.charCodeAt(i).toString(16).padStart(4, '0')).join('')
    expect(err.message).toBe(`invalid namespace name: "pay${units}ment" contains ${point}, an invisible formatting character (bidirectional control, zero-width or similar)`)
  })

  it.each(['\u2028', '\u2029'])('refuses the separator %j', char => {
    const err = thrownBy(() => validateName('channel', `a${char}b`))
    expect(err.message).toMatch(/ contains U\+202[89], a line or paragraph separator$/)
  })

  it('returns the name in NFC: café spelled with U+0301 is café with U+00E9', () => {
    expect(validateName('channel', 'cafe\u0301')).toBe('caf\u00e9')
    expect(validateName('channel', 'caf\u00e9')).toBe('caf\u00e9')
    expect(validateName('channel', 'plain-ascii')).toBe('plain-ascii')
  })

  it('counts the 256 code points after normalization', () => {
    expect(validateName('channel', 'e\u0301'.repeat(256))).toBe('\u00e9'.repeat(256))
    const err = thrownBy(() => validateName('channel', '\u0958'.repeat(129)))
    expect(err.message).toBe('invalid channel name: it is 258 characters long; the limit is 256')
  })
})

describe('channelKey(namespace, channel)', () => {
  it('joins the names with /', () => {
    expect(channelKey('v1', 'do_work')).toBe('v1/do_work')
  })
})
