import { describe, expect, it } from '@jest/globals'
import { resolveOptions, type HttpipeOptions } from '../lib/options'

/** Calls resolveOptions with a value the types would refuse, as a JavaScript caller could. */
function resolveUntyped (options: unknown): ReturnType<typeof resolveOptions> {
  return resolveOptions(options as HttpipeOptions)
}

/** Asserts that `fn` throws a TypeError with exactly `message`. */
function expectTypeError (fn: () => unknown, message: string): void {
  let thrown: unknown
  try {
    fn()
  } catch (err) {
    thrown = err
  }
  expect(thrown).toBeInstanceOf(TypeError)
  expect((thrown as TypeError).message).toBe(message)
}

const allowAll = (): boolean => true

const DEFAULTS = {
  timeout: Infinity,
  probeInterval: 10_000,
  concurrency: 1,
  bodySize: Infinity,
  waitersPerChannel: 5000,
  waiters: 50_000,
  listing: true,
  links: true,
  eventSize: 1024 * 1024,
  eventBacklog: 100,
  eventBacklogBytes: 16 * 1024 * 1024,
  stallTimeout: 30_000,
  cors: false,
  ui: false,
  authorize: undefined,
  reqres: { jobTimeout: 60_000, forward: { cookie: false, authorization: false } }
}

// Values that are never a positive integer, with how the message shows them.
const NOT_POSITIVE_INTEGERS: ReadonlyArray<readonly [string, unknown, string]> = [
  ['a non-integer', 1.5, '1.5'],
  ['0', 0, '0'],
  ['negative', -1, '-1'],
  ['NaN', NaN, 'NaN'],
  ['Infinity', Infinity, 'Infinity'],
  ['-Infinity', -Infinity, '-Infinity'],
  ['a string', '1mb', '"1mb"'],
  ['a numeric string', '10', '"10"'],
  ['null', null, 'null'],
  ['a boolean', true, 'true'],
  ['an object', { bytes: 1 }, '{"bytes":1}'],
  ['an array', [1], '[1]'],
  ['beyond Number.MAX_SAFE_INTEGER', 2 ** 53, '9007199254740992']
]

describe('resolveOptions(options)', () => {
  describe('defaults', () => {
    it('resolves no argument to the documented defaults', () => {
      expect(resolveOptions()).toStrictEqual(DEFAULTS)
    })

    it('resolves {} to the documented defaults', () => {
      expect(resolveOptions({})).toStrictEqual(DEFAULTS)
    })

    it('resolves limits: {} to the documented defaults', () => {
      expect(resolveOptions({ limits: {} })).toStrictEqual(DEFAULTS)
    })

    it('treats every option set to undefined as its default', () => {
      const options: HttpipeOptions = {
        timeout: undefined,
        probeInterval: undefined,
        concurrency: undefined,
        listing: undefined,
        limits: { bodySize: undefined, waitersPerChannel: undefined, waiters: undefined }
      }
      expect(resolveOptions(options)).toStrictEqual(DEFAULTS)
    })

    it('treats limits: undefined as the default limits', () => {
      expect(resolveOptions({ limits: undefined })).toStrictEqual(DEFAULTS)
    })

    it('returns a frozen object', () => {
      const resolved = resolveOptions({ timeout: 10, limits: { bodySize: 10 } })
      expect(Object.isFrozen(resolved)).toBe(true)
      expect(() => { (resolved as { timeout: number }).timeout = 1 }).toThrow(TypeError)
      expect(resolved.timeout).toBe(10)
    })

    it('does not modify the options object it is given', () => {
      const options = { timeout: 10, limits: { bodySize: 20 } }
      resolveOptions(options)
      expect(options).toStrictEqual({ timeout: 10, limits: { bodySize: 20 } })
    })

    it('carries every valid value through', () => {
      const resolved = resolveOptions({
        timeout: 30_000,
        probeInterval: 5000,
        concurrency: 4,
        listing: false,
        links: false,
        cors: 'https://app.example',
        ui: true,
        authorize: allowAll,
        reqres: { jobTimeout: 500, forwardCookies: true, forwardAuthorization: true },
        limits: { bodySize: 1024, waitersPerChannel: 10, waiters: 100, eventSize: 4096, eventBacklog: 5, eventBacklogBytes: 8192, stallTimeout: 1000 }
      })
      expect(resolved).toStrictEqual({
        timeout: 30_000,
        probeInterval: 5000,
        concurrency: 4,
        bodySize: 1024,
        waitersPerChannel: 10,
        waiters: 100,
        listing: false,
        links: false,
        eventSize: 4096,
        eventBacklog: 5,
        eventBacklogBytes: 8192,
        stallTimeout: 1000,
        cors: 'https://app.example',
        ui: true,
        authorize: allowAll,
        reqres: { jobTimeout: 500, forward: { cookie: true, authorization: true } }
      })
    })

    it('throws for an authorize that is not a function', () => {
      expectTypeError(() => resolveUntyped({ authorize: true }), 'httpipe: option authorize must be a function (req, access) returning true, false, a denial or a Promise of one, got true')
    })
  })

  describe('the options argument', () => {
    it('throws a TypeError when it is null', () => {
      expectTypeError(() => resolveUntyped(null), 'httpipe: options must be an object, got null')
    })

    it('throws a TypeError when it is a number', () => {
      expectTypeError(() => resolveUntyped(5), 'httpipe: options must be an object, got 5')
    })

    it('throws a TypeError when it is an array', () => {
      expectTypeError(() => resolveUntyped([]), 'httpipe: options must be an object, got []')
    })

    it('throws a TypeError when it is a string', () => {
      expectTypeError(() => resolveUntyped('fast'), 'httpipe: options must be an object, got "fast"')
    })
  })

  describe('with timeout', () => {
    it('accepts 1 ms', () => {
      expect(resolveOptions({ timeout: 1 }).timeout).toBe(1)
    })

    it('accepts 2^31-1 ms, the largest delay setTimeout honours', () => {
      expect(resolveOptions({ timeout: 2 ** 31 - 1 }).timeout).toBe(2147483647)
    })

    it('throws a TypeError naming timeout when it is 2^31', () => {
      expectTypeError(() => resolveOptions({ timeout: 2 ** 31 }), 'httpipe: option timeout must be a positive integer up to 2147483647 (ms), got 2147483648')
    })

    it('throws a TypeError naming timeout when it is 1e12', () => {
      expectTypeError(() => resolveOptions({ timeout: 1e12 }), 'httpipe: option timeout must be a positive integer up to 2147483647 (ms), got 1000000000000')
    })

    it.each(NOT_POSITIVE_INTEGERS)('throws a TypeError naming timeout when it is %s', (_, value, shown) => {
      expectTypeError(() => resolveUntyped({ timeout: value }), `httpipe: option timeout must be a positive integer up to 2147483647 (ms), got ${shown}`)
    })
  })

  describe('with probeInterval', () => {
    it('accepts 1 ms', () => {
      expect(resolveOptions({ probeInterval: 1 }).probeInterval).toBe(1)
    })

    it('accepts false (no probes)', () => {
      expect(resolveOptions({ probeInterval: false }).probeInterval).toBe(false)
    })

    it('throws a TypeError naming probeInterval when it is 2^31', () => {
      expectTypeError(() => resolveOptions({ probeInterval: 2 ** 31 }), 'httpipe: option probeInterval must be a positive integer up to 2147483647 (ms) or false, got 2147483648')
    })

    it.each(NOT_POSITIVE_INTEGERS.filter(([, value]) => value !== true))('throws a TypeError naming probeInterval when it is %s', (_, value, shown) => {
      expectTypeError(() => resolveUntyped({ probeInterval: value }), `httpipe: option probeInterval must be a positive integer up to 2147483647 (ms) or false, got ${shown}`)
    })

    it('throws a TypeError naming probeInterval when it is true', () => {
      expectTypeError(() => resolveUntyped({ probeInterval: true }), 'httpipe: option probeInterval must be a positive integer up to 2147483647 (ms) or false, got true')
    })

    it('throws a TypeError suggesting probeInterval for probeIntervall', () => {
      expectTypeError(() => resolveUntyped({ probeIntervall: 1000 }), 'httpipe: unknown option probeIntervall; did you mean probeInterval?')
    })
  })

  describe('with concurrency', () => {
    it('accepts 1', () => {
      expect(resolveOptions({ concurrency: 1 }).concurrency).toBe(1)
    })

    it('accepts 1000', () => {
      expect(resolveOptions({ concurrency: 1000 }).concurrency).toBe(1000)
    })

    it.each(NOT_POSITIVE_INTEGERS)('throws a TypeError naming concurrency when it is %s', (_, value, shown) => {
      expectTypeError(() => resolveUntyped({ concurrency: value }), `httpipe: option concurrency must be a positive integer (transfers per channel), got ${shown}`)
    })
  })

  describe('with limits.bodySize', () => {
    it('accepts 1 byte', () => {
      expect(resolveOptions({ limits: { bodySize: 1 } }).bodySize).toBe(1)
    })

    it('accepts Number.MAX_SAFE_INTEGER bytes', () => {
      expect(resolveOptions({ limits: { bodySize: Number.MAX_SAFE_INTEGER } }).bodySize).toBe(Number.MAX_SAFE_INTEGER)
    })

    it('throws a TypeError naming limits.bodySize when it is "1mb"', () => {
      expectTypeError(() => resolveUntyped({ limits: { bodySize: '1mb' } }), 'httpipe: option limits.bodySize must be a positive integer (bytes), got "1mb"')
    })

    it.each(NOT_POSITIVE_INTEGERS)('throws a TypeError naming limits.bodySize when it is %s', (_, value, shown) => {
      expectTypeError(() => resolveUntyped({ limits: { bodySize: value } }), `httpipe: option limits.bodySize must be a positive integer (bytes), got ${shown}`)
    })
  })

  describe('with limits.waitersPerChannel', () => {
    it('accepts 1', () => {
      expect(resolveOptions({ limits: { waitersPerChannel: 1 } }).waitersPerChannel).toBe(1)
    })

    it.each(NOT_POSITIVE_INTEGERS)('throws a TypeError naming limits.waitersPerChannel when it is %s', (_, value, shown) => {
      expectTypeError(() => resolveUntyped({ limits: { waitersPerChannel: value } }), `httpipe: option limits.waitersPerChannel must be a positive integer (requests), got ${shown}`)
    })
  })

  describe('with limits.waiters', () => {
    it('accepts 1', () => {
      expect(resolveOptions({ limits: { waiters: 1 } }).waiters).toBe(1)
    })

    it.each(NOT_POSITIVE_INTEGERS)('throws a TypeError naming limits.waiters when it is %s', (_, value, shown) => {
      expectTypeError(() => resolveUntyped({ limits: { waiters: value } }), `httpipe: option limits.waiters must be a positive integer (requests), got ${shown}`)
    })
  })

  describe.each([
    ['limits.eventBacklog', 'eventBacklog', 'events'],
    ['limits.eventBacklogBytes', 'eventBacklogBytes', 'bytes'],
    ['limits.stallTimeout', 'stallTimeout', 'ms']
  ] as const)('with %s', (name, key, unit) => {
    it('accepts 1', () => {
      expect(resolveOptions({ limits: { [key]: 1 } })[key]).toBe(1)
    })

    it.each(NOT_POSITIVE_INTEGERS)(`throws a TypeError naming ${name} when it is %s`, (_, value, shown) => {
      const range = key === 'stallTimeout' ? ' up to 2147483647' : ''
      expectTypeError(() => resolveUntyped({ limits: { [key]: value } }), `httpipe: option ${name} must be a positive integer${range} (${unit}), got ${shown}`)
    })
  })

  describe('with listing', () => {
    it('accepts false', () => {
      expect(resolveOptions({ listing: false }).listing).toBe(false)
    })

    it('accepts true', () => {
      expect(resolveOptions({ listing: true }).listing).toBe(true)
    })

    it.each([
      ['the string "false"', 'false', '"false"'],
      ['0', 0, '0'],
      ['1', 1, '1'],
      ['null', null, 'null'],
      ['an object', {}, '{}']
    ])('throws a TypeError naming listing when it is %s', (_, value, shown) => {
      expectTypeError(() => resolveUntyped({ listing: value }), `httpipe: option listing must be a boolean, got ${shown}`)
    })
  })

  describe('with links', () => {
    it('accepts false', () => {
      expect(resolveOptions({ links: false }).links).toBe(false)
    })

    it.each([
      ['the string "no"', 'no', '"no"'],
      ['0', 0, '0'],
      ['null', null, 'null']
    ])('throws a TypeError naming links when it is %s', (_, value, shown) => {
      expectTypeError(() => resolveUntyped({ links: value }), `httpipe: option links must be a boolean, got ${shown}`)
    })

    it('suggests links for link', () => {
      expectTypeError(() => resolveUntyped({ link: false }), 'httpipe: unknown option link; did you mean links?')
    })
  })

  describe('with limits', () => {
    it('throws a TypeError naming limits when it is null', () => {
      expectTypeError(() => resolveUntyped({ limits: null }), 'httpipe: option limits must be an object, got null')
    })

    it('throws a TypeError naming limits when it is a number', () => {
      expectTypeError(() => resolveUntyped({ limits: 1024 }), 'httpipe: option limits must be an object, got 1024')
    })

    it('throws a TypeError naming limits when it is an array', () => {
      expectTypeError(() => resolveUntyped({ limits: [1024] }), 'httpipe: option limits must be an object, got [1024]')
    })

    it('throws a TypeError naming limits when it is a string', () => {
      expectTypeError(() => resolveUntyped({ limits: '1mb' }), 'httpipe: option limits must be an object, got "1mb"')
    })
  })

  describe('with unknown keys', () => {
    it('throws a TypeError suggesting timeout for timeot', () => {
      expectTypeError(() => resolveUntyped({ timeot: 1000 }), 'httpipe: unknown option timeot; did you mean timeout?')
    })

    it('throws a TypeError suggesting limits.bodySize for limits.bodysize', () => {
      expectTypeError(() => resolveUntyped({ limits: { bodysize: 1024 } }), 'httpipe: unknown option limits.bodysize; did you mean limits.bodySize?')
    })

    it('throws a TypeError suggesting limits.waiters for limits.waiter', () => {
      expectTypeError(() => resolveUntyped({ limits: { waiter: 10 } }), 'httpipe: unknown option limits.waiter; did you mean limits.waiters?')
    })

    it('throws a TypeError suggesting limits.waitersPerChannel for limits.waitersPerChanel', () => {
      expectTypeError(() => resolveUntyped({ limits: { waitersPerChanel: 10 } }), 'httpipe: unknown option limits.waitersPerChanel; did you mean limits.waitersPerChannel?')
    })

    it('throws a TypeError suggesting concurrency for Concurrency', () => {
      expectTypeError(() => resolveUntyped({ Concurrency: 2 }), 'httpipe: unknown option Concurrency; did you mean concurrency?')
    })

    it('throws a TypeError suggesting listing for LISTING, ignoring letter case', () => {
      expectTypeError(() => resolveUntyped({ LISTING: false }), 'httpipe: unknown option LISTING; did you mean listing?')
    })

    it('throws a TypeError listing the known options when nothing is close', () => {
      expectTypeError(() => resolveUntyped({ flavour: 'vanilla' }), 'httpipe: unknown option flavour; known options: timeout, probeInterval, concurrency, limits, listing, links, cors, ui, authorize, reqres')
    })

    it('suggests the limit when a limit is given at the top level', () => {
      expectTypeError(() => resolveUntyped({ bodySize: 1024 }), 'httpipe: unknown option bodySize; did you mean limits.bodySize?')
      expectTypeError(() => resolveUntyped({ waiters: 10 }), 'httpipe: unknown option waiters; did you mean limits.waiters?')
      expectTypeError(() => resolveUntyped({ eventsize: 10 }), 'httpipe: unknown option eventsize; did you mean limits.eventSize?')
    })

    it('suggests the top-level option when it is given inside limits', () => {
      expectTypeError(() => resolveUntyped({ limits: { timeout: 1000 } }), 'httpipe: unknown option limits.timeout; did you mean timeout?')
      expectTypeError(() => resolveUntyped({ limits: { concurency: 2 } }), 'httpipe: unknown option limits.concurency; did you mean concurrency?')
    })

    it('prefers a close name at the same level over one at the other', () => {
      expectTypeError(() => resolveUntyped({ limits: { waiter: 10 } }), 'httpipe: unknown option limits.waiter; did you mean limits.waiters?')
    })

    it('throws a TypeError listing the known limits when nothing is close', () => {
      expectTypeError(() => resolveUntyped({ limits: { size: 1024 } }), 'httpipe: unknown option limits.size; known options: limits.bodySize, limits.waitersPerChannel, limits.waiters, limits.eventSize, limits.eventBacklog, limits.eventBacklogBytes, limits.stallTimeout')
    })

    it('throws for an unknown key even when its value is undefined', () => {
      expectTypeError(() => resolveUntyped({ timeot: undefined }), 'httpipe: unknown option timeot; did you mean timeout?')
    })
  })
})

describe('resolveOptions(options) for the browser-facing options', () => {
  it('turns cors: true into the wildcard origin and keeps one origin as given', () => {
    expect(resolveOptions({ cors: true }).cors).toBe('*')
    expect(resolveOptions({ cors: 'https://app.example:8443' }).cors).toBe('https://app.example:8443')
  })

  it.each([
    ['app.example', '"app.example"'],
    ['*', '"*"'],
    [1, '1']
  ])('throws a TypeError naming cors when it is %j', (value, shown) => {
    expectTypeError(() => resolveUntyped({ cors: value }), `httpipe: option cors must be a boolean or an origin such as "https://app.example", got ${shown}`)
  })

  it.each([
    ['https://app.example/', 'https://app.example'],
    ['https://app.example:443', 'https://app.example'],
    ['http://app.example:80', 'http://app.example'],
    ['https://App.Example', 'https://app.example'],
    ['HTTPS://app.example', 'https://app.example'],
    ['https://app.example/path', 'https://app.example'],
    ['https://app.example?x', 'https://app.example'],
    ['https://user@app.example', 'https://app.example'],
    ['https://b\u00fccher.example', 'https://xn--bcher-kva.example']
  ])('refuses the origin %j, which browsers never send, suggesting %j', (value, origin) => {
    expectTypeError(() => resolveUntyped({ cors: value }),
      `httpipe: option cors must be a boolean or an origin such as "https://app.example", as browsers send it (lower-case scheme and host, no default port, no path or trailing slash), got ${JSON.stringify(value)}; did you mean ${JSON.stringify(origin)}?`)
  })

  it('refuses an origin that is not a URL at all, without a suggestion', () => {
    expectTypeError(() => resolveUntyped({ cors: 'https://a b' }),
      'httpipe: option cors must be a boolean or an origin such as "https://app.example", as browsers send it (lower-case scheme and host, no default port, no path or trailing slash), got "https://a b"')
  })

  it('accepts origins as browsers serialize them: a non-default port, an IP, localhost', () => {
    for (const origin of ['https://app.example:8443', 'http://127.0.0.1:3000', 'http://localhost:5173', 'http://[::1]:8080']) {
      expect(resolveOptions({ cors: origin }).cors).toBe(origin)
    }
  })

  it('throws a TypeError naming ui when it is not a boolean', () => {
    expectTypeError(() => resolveUntyped({ ui: 'yes' }), 'httpipe: option ui must be a boolean, got "yes"')
  })

  it('throws a TypeError naming limits.eventSize when it is not a positive integer', () => {
    expectTypeError(() => resolveUntyped({ limits: { eventSize: 0 } }), 'httpipe: option limits.eventSize must be a positive integer (bytes), got 0')
  })
})
