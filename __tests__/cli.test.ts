import { describe, expect, it } from '@jest/globals'
import { parseCli, type CliCommand, type CliSettings } from '../lib/cli'

/** The settings of a `serve` command, failing the test for any other kind. */
function serve (argv: readonly string[], env: NodeJS.ProcessEnv = {}): CliSettings {
  const command: CliCommand = parseCli(argv, env)
  if (command.kind !== 'serve') throw new Error(`expected a serve command, got ${command.kind}`)
  return command.settings
}

/** The message `parseCli` throws with. */
function failure (argv: readonly string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    parseCli(argv, env)
  } catch (err) {
    return (err as Error).message
  }
  throw new Error('expected parseCli to throw')
}

const STANDALONE_DEFAULTS = { anonymous: 'all', metrics: false, log: { level: 'info', format: 'json', channelNames: false } }

describe('parseCli(argv, env)', () => {
  describe('defaults', () => {
    it('serves on 0.0.0.0:3000 with no wait timeout, listing on, and every limit at the library default', () => {
      expect(serve([])).toStrictEqual({
        port: 3000,
        host: '0.0.0.0',
        options: { listing: true, links: true, cors: false, ui: true, limits: {} },
        ...STANDALONE_DEFAULTS
      })
    })

    it('ignores environment variables it does not know', () => {
      expect(serve([], { LISTING: 'false', MAX_BODY_SIZE: '1', TIMEOUT: '5' })).toEqual(serve([]))
    })
  })

  describe('environment', () => {
    it('reads PORT', () => {
      expect(serve([], { PORT: '8080' }).port).toBe(8080)
    })

    it('accepts PORT=0 (any free port)', () => {
      expect(serve([], { PORT: '0' }).port).toBe(0)
    })

    it('accepts PORT=65535', () => {
      expect(serve([], { PORT: '65535' }).port).toBe(65535)
    })

    it('reads HOST', () => {
      expect(serve([], { HOST: '127.0.0.1' }).host).toBe('127.0.0.1')
    })

    it('reads an IPv6 HOST', () => {
      expect(serve([], { HOST: '::1' }).host).toBe('::1')
    })

    it('reads REQUEST_TIMEOUT in seconds as the wait timeout in ms, as the seed did', () => {
      expect(serve([], { REQUEST_TIMEOUT: '30' }).options.timeout).toBe(30_000)
    })

    it('accepts a fractional REQUEST_TIMEOUT', () => {
      expect(serve([], { REQUEST_TIMEOUT: '1.5' }).options.timeout).toBe(1500)
    })

    it('keeps a positive REQUEST_TIMEOUT below a millisecond a timeout (1 ms), not none', () => {
      expect(serve([], { REQUEST_TIMEOUT: '0.0001' }).options.timeout).toBe(1)
    })

    it('reads REQUEST_TIMEOUT=0 as no timeout', () => {
      expect(serve([], { REQUEST_TIMEOUT: '0' }).options).not.toHaveProperty('timeout')
    })

    it('reads an empty REQUEST_TIMEOUT as no timeout', () => {
      expect(serve([], { REQUEST_TIMEOUT: '' }).options).not.toHaveProperty('timeout')
    })

    it('throws naming PORT when it is not a number', () => {
      expect(failure([], { PORT: 'http' })).toBe('--port (or PORT) must be an integer from 0 to 65535, got "http"')
    })

    it('throws naming REQUEST_TIMEOUT when it is not a number', () => {
      expect(failure([], { REQUEST_TIMEOUT: '5m' })).toBe('--request-timeout (or REQUEST_TIMEOUT) must be a number of seconds from 0 to 2147483 (0 for none), got "5m"')
    })
  })

  describe('flags', () => {
    it('reads --port', () => {
      expect(serve(['--port', '9000']).port).toBe(9000)
    })

    it('reads --port=N', () => {
      expect(serve(['--port=9000']).port).toBe(9000)
    })

    it('reads --host', () => {
      expect(serve(['--host', 'localhost']).host).toBe('localhost')
    })

    it('reads --request-timeout in seconds as the wait timeout in ms', () => {
      expect(serve(['--request-timeout', '600']).options.timeout).toBe(600_000)
    })

    it('accepts the largest --request-timeout a timer takes', () => {
      expect(serve(['--request-timeout', '2147483']).options.timeout).toBe(2_147_483_000)
    })

    it('reads --max-body-size in bytes as limits.bodySize', () => {
      expect(serve(['--max-body-size', '1048576']).options.limits).toStrictEqual({ bodySize: 1_048_576 })
    })

    it('reads --concurrency', () => {
      expect(serve(['--concurrency', '4']).options.concurrency).toBe(4)
    })

    it('reads --max-waiters, --max-waiters-per-channel and --max-event-size as the other limits', () => {
      expect(serve(['--max-waiters', '100', '--max-waiters-per-channel', '10', '--max-event-size', '2048']).options.limits)
        .toStrictEqual({ waiters: 100, waitersPerChannel: 10, eventSize: 2048 })
    })

    it('reads --max-event-backlog, --max-event-backlog-bytes and --stall-timeout (seconds) as the live subscription limits', () => {
      expect(serve(['--max-event-backlog', '7', '--max-event-backlog-bytes', '4096', '--stall-timeout', '2.5']).options.limits)
        .toStrictEqual({ eventBacklog: 7, eventBacklogBytes: 4096, stallTimeout: 2500 })
    })

    it('reads --probe-interval in seconds, 0 for no probes', () => {
      expect(serve(['--probe-interval', '1.5']).options.probeInterval).toBe(1500)
      expect(serve(['--probe-interval', '0']).options.probeInterval).toBe(false)
      expect(serve([]).options.probeInterval).toBeUndefined()
    })

    it('reads --no-links', () => {
      expect(serve(['--no-links']).options.links).toBe(false)
    })

    it('reads --no-listing', () => {
      expect(serve(['--no-listing']).options.listing).toBe(false)
    })

    it('reads --cors as any origin and --cors-origin as one origin', () => {
      expect(serve(['--cors']).options.cors).toBe(true)
      expect(serve(['--cors-origin', 'https://app.example']).options.cors).toBe('https://app.example')
    })

    it('serves the web page unless --no-ui', () => {
      expect(serve([]).options.ui).toBe(true)
      expect(serve(['--no-ui']).options.ui).toBe(false)
    })

    it('reads --tls-cert and --tls-key as the files to serve HTTPS with, only together', () => {
      expect(serve(['--tls-cert', 'cert.pem', '--tls-key', 'key.pem']).tls).toEqual({ cert: 'cert.pem', key: 'key.pem' })
      expect(serve([]).tls).toBeUndefined()
      expect(failure(['--tls-cert', 'cert.pem'])).toBe('--tls-cert needs --tls-key (its private key)')
      expect(failure(['--tls-key', 'key.pem'])).toBe('--tls-key needs --tls-cert (the certificate it is the key of)')
      expect(failure(['--tls-cert', '', '--tls-key', 'key.pem'])).toBe('--tls-cert needs a file name')
    })

    it('combines every flag', () => {
      expect(serve(['--port', '1', '--host', '::', '--request-timeout', '2', '--concurrency', '5', '--max-body-size', '3', '--max-waiters', '7',
        '--max-waiters-per-channel', '6', '--max-event-size', '8', '--no-listing', '--no-links', '--cors', '--no-ui'])).toStrictEqual({
        port: 1,
        host: '::',
        options: { timeout: 2000, concurrency: 5, listing: false, links: false, cors: true, ui: false, limits: { bodySize: 3, waiters: 7, waitersPerChannel: 6, eventSize: 8 } },
        ...STANDALONE_DEFAULTS
      })
    })
  })

  describe('flags over environment', () => {
    const env = { PORT: '8080', HOST: '127.0.0.1', REQUEST_TIMEOUT: '30' }

    it('prefers --port to PORT', () => {
      expect(serve(['--port', '9000'], env).port).toBe(9000)
    })

    it('prefers --host to HOST', () => {
      expect(serve(['--host', '::1'], env).host).toBe('::1')
    })

    it('prefers --request-timeout to REQUEST_TIMEOUT', () => {
      expect(serve(['--request-timeout', '0'], env).options).not.toHaveProperty('timeout')
    })

    it('uses the valid --port and ignores an invalid PORT', () => {
      expect(serve(['--port', '9000'], { PORT: 'nope' }).port).toBe(9000)
    })

    it('takes the rest from the environment', () => {
      expect(serve(['--port', '9000'], env)).toStrictEqual({
        port: 9000,
        host: '127.0.0.1',
        options: { timeout: 30_000, listing: true, links: true, cors: false, ui: true, limits: {} },
        ...STANDALONE_DEFAULTS
      })
    })
  })

  describe('tokens, metrics and logs', () => {
    it('reads --auth (or HTTPIPE_AUTH_FILE), with anonymous none by default then', () => {
      expect(serve(['--auth', 'tokens.json'])).toMatchObject({ authFile: 'tokens.json', anonymous: 'none' })
      expect(serve([], { HTTPIPE_AUTH_FILE: 'env.json' })).toMatchObject({ authFile: 'env.json', anonymous: 'none' })
      expect(serve(['--auth', 'flag.json'], { HTTPIPE_AUTH_FILE: 'env.json' }).authFile).toBe('flag.json')
      expect(serve(['--auth', 'tokens.json', '--anonymous', 'read']).anonymous).toBe('read')
      expect(serve(['--anonymous', 'write'])).toMatchObject({ anonymous: 'write' })
      expect(() => parseCli(['--anonymous', 'some'], {})).toThrow('--anonymous must be one of none, read, write, all, got "some"')
      expect(() => parseCli(['--auth', ''], {})).toThrow('--auth needs a file name')
    })

    it('reads --metrics, --log-level, --log-format and --log-channel-names', () => {
      expect(serve(['--metrics', '--log-level', 'warn', '--log-format', 'pretty', '--log-channel-names'])).toMatchObject({
        metrics: true,
        log: { level: 'warn', format: 'pretty', channelNames: true }
      })
      expect(() => parseCli(['--log-level', 'loud'], {})).toThrow('--log-level must be one of fatal, error, warn, info, debug, trace, silent, got "loud"')
      expect(() => parseCli(['--log-format', 'xml'], {})).toThrow('--log-format must be one of json, pretty, got "xml"')
    })

    it('parses token create', () => {
      expect(parseCli(['token', 'create', '--namespace', 'ns', '--channel', 'c*', '--allow', 'read, write,read'], {}))
        .toStrictEqual({ kind: 'token', request: { namespace: 'ns', channel: 'c*', allow: ['read', 'write'] } })
      expect(() => parseCli(['token', 'create', '--allow', 'read'], {})).toThrow('token create needs --namespace')
      expect(() => parseCli(['token', 'make'], {})).toThrow('the token command takes "create", got "make"')
    })
  })

  describe('--help and --version', () => {
    it('returns help for --help', () => {
      expect(parseCli(['--help'], {})).toStrictEqual({ kind: 'help' })
    })

    it('returns help for -h', () => {
      expect(parseCli(['-h'], {})).toStrictEqual({ kind: 'help' })
    })

    it('returns version for --version', () => {
      expect(parseCli(['--version'], {})).toStrictEqual({ kind: 'version' })
    })

    it('returns version for -v', () => {
      expect(parseCli(['-v'], {})).toStrictEqual({ kind: 'version' })
    })

    it('returns help even when other values are bad', () => {
      expect(parseCli(['--port', 'x', '--help'], { PORT: 'y' })).toStrictEqual({ kind: 'help' })
    })
  })

  describe('bad values', () => {
    it.each([
      ['not a number', 'http'],
      ['empty', ''],
      ['above 65535', '65536'],
      ['negative', '-1'],
      ['fractional', '80.5'],
      ['in exponent form', '8e3'],
      ['hexadecimal', '0x50']
    ])('throws naming --port when it is %s', (_, value) => {
      expect(failure([`--port=${value}`])).toBe(`--port (or PORT) must be an integer from 0 to 65535, got ${JSON.stringify(value)}`)
    })

    it.each([['-1'], ['-80'], ['-0.5']])('gives the range message for a negative value written apart: --port %s', value => {
      expect(failure(['--port', value])).toBe(`--port (or PORT) must be an integer from 0 to 65535, got ${JSON.stringify(value)}`)
    })

    it('gives the range message for a negative PORT', () => {
      expect(failure([], { PORT: '-1' })).toBe('--port (or PORT) must be an integer from 0 to 65535, got "-1"')
    })

    it.each(['concurrency', 'max-waiters', 'max-waiters-per-channel', 'max-event-size', 'max-body-size', 'max-event-backlog', 'max-event-backlog-bytes'])('gives the range message naming --%s for 0, negative, fractional and unit values', flag => {
      for (const value of ['0', '-1', '1.5', '1mb', '']) {
        expect(failure([`--${flag}`, value])).toBe(`--${flag} must be an integer from 1 to 9007199254740991, got ${JSON.stringify(value)}`)
      }
    })

    it('gives the range messages naming --stall-timeout (0 refused) and --probe-interval', () => {
      expect(failure(['--stall-timeout', '0'])).toBe('--stall-timeout must be a number of seconds above 0, up to 2147483, got "0"')
      expect(failure(['--stall-timeout', '-1'])).toBe('--stall-timeout must be a number of seconds above 0, up to 2147483, got "-1"')
      expect(failure(['--probe-interval', '-1'])).toBe('--probe-interval must be a number of seconds from 0 to 2147483 (0 for none), got "-1"')
      expect(failure(['--probe-interval', '1s'])).toBe('--probe-interval must be a number of seconds from 0 to 2147483 (0 for none), got "1s"')
    })

    it('gives the range message naming --request-timeout for a negative value written apart', () => {
      expect(failure(['--request-timeout', '-5'])).toBe('--request-timeout (or REQUEST_TIMEOUT) must be a number of seconds from 0 to 2147483 (0 for none), got "-5"')
    })

    it('names --cors-origin, not the cors option, for an origin that is not scheme and host', () => {
      expect(failure(['--cors-origin', 'app.example'])).toBe('--cors-origin must be a boolean or an origin such as "https://app.example", got "app.example"')
    })

    it.each([
      ['not a number', 'soon'],
      ['negative', '-5'],
      ['Infinity', 'Infinity'],
      ['NaN', 'NaN'],
      ['blank', ' '],
      ['beyond what a timer takes', '2147484']
    ])('throws naming --request-timeout when it is %s', (_, value) => {
      expect(failure([`--request-timeout=${value}`])).toBe(`--request-timeout (or REQUEST_TIMEOUT) must be a number of seconds from 0 to 2147483 (0 for none), got ${JSON.stringify(value)}`)
    })

    it.each([
      ['a size with a unit', '1mb'],
      ['0', '0'],
      ['negative', '-1'],
      ['fractional', '1.5'],
      ['empty', ''],
      ['above Number.MAX_SAFE_INTEGER', '9007199254740992']
    ])('throws naming --max-body-size when it is %s', (_, value) => {
      expect(failure([`--max-body-size=${value}`])).toBe(`--max-body-size must be an integer from 1 to 9007199254740991, got ${JSON.stringify(value)}`)
    })

    it('throws naming --port when its value is missing', () => {
      expect(failure(['--port'])).toMatch(/--port/)
    })

    it('throws naming --port when its value looks like a flag', () => {
      expect(failure(['--port', '--no-listing'])).toMatch(/--port/)
    })

    it('throws naming --no-listing when given a value', () => {
      expect(failure(['--no-listing=true'])).toMatch(/--no-listing/)
    })
  })

  describe('unknown flags and arguments', () => {
    it('throws naming an unknown flag', () => {
      expect(failure(['--prot', '3000'])).toMatch(/Unknown option '--prot'/)
    })

    it('throws for --listing, which is not a flag', () => {
      expect(failure(['--listing'])).toMatch(/Unknown option '--listing'/)
    })

    it('throws for an unknown short flag', () => {
      expect(failure(['-p', '3000'])).toMatch(/Unknown option '-p'/)
    })

    it('throws for a positional argument', () => {
      expect(failure(['3000'])).toMatch(/Unexpected argument '3000'/)
    })
  })
})
