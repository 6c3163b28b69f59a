import { parseArgs } from 'node:util'
import type { LevelWithSilent } from 'pino'
import { resolveOptions, type HttpipeLimits, type HttpipeOptions } from './options'
import { LOG_LEVELS, type LogFormat } from './request-log'
import { MOUNT_PATH } from './server'
import type { TlsFiles } from './tls-files'
import { ANONYMOUS_LEVELS, PERMISSIONS, type AnonymousLevel, type Permission } from './token-file'

// The command line of the standalone server: its flags, their help text, and how they and the
// environment become options. Nothing here listens or exits (cli.ts does).

export const USAGE = `Usage: httpipe [options]

Patchbay-style HTTP pipes: POST to ${MOUNT_PATH}/{namespace}/{channel}, GET the same path.

Also: httpipe expose --to LOCAL_URL RELAY_URL/res/{namespace}/{channel} (httpipe expose --help)

Options:
  --port N                      port to listen on, 0 for any free port (env PORT; default 3000)
  --host H                      address to bind (env HOST; default 0.0.0.0)
  --request-timeout SECONDS     longest wait for a counterpart, then 408; a running transfer is
                                never cut (env REQUEST_TIMEOUT; default: wait forever)
  --concurrency N               transfers at once on one channel (default 1)
  --max-body-size BYTES         largest message (default: none)
  --max-waiters N               waiting requests in all, then 503 (default 50000)
  --max-waiters-per-channel N   waiting requests on one channel, then 503 (default 5000)
  --max-event-size BYTES        largest message a live subscriber takes (default 1048576)
  --max-event-backlog N         events a busy live subscriber may have queued (default 100)
  --max-event-backlog-bytes BYTES
                                bytes a busy live subscriber may have queued (default 16777216)
  --stall-timeout SECONDS       a subscriber whose socket takes nothing this long is dropped
                                (default 30)
  --probe-interval SECONDS      how often waiting uploads are probed for a vanished client,
                                0 for never (default 10)
  --job-timeout SECONDS         request/response mode (/req, /res): longest wait for a two-step
                                reply, then 504 to the requester (default 60)
  --no-listing                  do not serve the namespace and channel listings
  --no-links                    refuse link producers (GET ?method=post&body=TEXT)
  --cors                        answer cross-origin requests from any origin
  --cors-origin ORIGIN          answer cross-origin requests from this origin only
  --no-ui                       do not serve the web page at ${MOUNT_PATH}/
  --tls-cert FILE               serve HTTPS (HTTP/2, and HTTP/1.1 on the same port) with this
                                certificate chain (PEM); reloaded when the file changes
  --tls-key FILE                the certificate's private key (PEM); both flags or neither
  --auth FILE                   require tokens: a JSON file of SHA-256 hashes and their grants,
                                reloaded on SIGHUP and when it changes (env HTTPIPE_AUTH_FILE)
  --anonymous LEVEL             what requests without a token may do: none, read, write (and
                                read) or all (default: all without --auth, none with it)
  --metrics                     serve Prometheus metrics at /metrics (needs prom-client installed;
                                with --auth, a token allowing metrics)
  --log-level LEVEL             fatal, error, warn, info, debug, trace or silent (default info)
  --log-format FORMAT           json (default) or pretty, one readable line per entry
  --log-channel-names           log channel names instead of a short hash of each
  -h, --help                    show this help
  -v, --version                 show the version

Tokens:
  httpipe token create --namespace NS [--channel CH] --allow read,write [--name NAME]
                                prints a new token, then its entry for the --auth file; names
                                may be glob patterns (*, ?); allow: ${PERMISSIONS.join(', ')}

Examples:
  httpipe --port 8080 --request-timeout 600
  PORT=8080 REQUEST_TIMEOUT=600 httpipe
  httpipe --max-body-size 1073741824 --max-waiters 1000 --no-listing
  httpipe --port 8443 --tls-cert fullchain.pem --tls-key privkey.pem
  curl -T file.tar.gz http://localhost:3000${MOUNT_PATH}/files/8f3a9c   # send: waits for a receiver
  curl -o file.tar.gz http://localhost:3000${MOUNT_PATH}/files/8f3a9c   # receive
`

export interface CliSettings {
  readonly port: number
  readonly host: string
  readonly options: HttpipeOptions
  /** With --tls-cert and --tls-key: the files to serve HTTPS with. */
  readonly tls?: TlsFiles
  /** --auth (or HTTPIPE_AUTH_FILE). */
  readonly authFile?: string
  readonly anonymous: AnonymousLevel
  readonly metrics: boolean
  readonly log: { readonly level: LevelWithSilent, readonly format: LogFormat, readonly channelNames: boolean }
}

export interface TokenRequest {
  readonly namespace: string
  readonly channel?: string
  readonly allow: readonly Permission[]
  readonly name?: string
}

export type CliCommand =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | { readonly kind: 'serve', readonly settings: CliSettings }
  | { readonly kind: 'token', readonly request: TokenRequest }

const VALUE = { type: 'string' } as const
const SWITCH = { type: 'boolean' } as const
const FLAGS = {
  port: VALUE,
  host: VALUE,
  'request-timeout': VALUE,
  concurrency: VALUE,
  'max-body-size': VALUE,
  'max-waiters': VALUE,
  'max-waiters-per-channel': VALUE,
  'max-event-size': VALUE,
  'max-event-backlog': VALUE,
  'max-event-backlog-bytes': VALUE,
  'stall-timeout': VALUE,
  'probe-interval': VALUE,
  'job-timeout': VALUE,
  'no-listing': SWITCH,
  'no-links': SWITCH,
  cors: SWITCH,
  'cors-origin': VALUE,
  'no-ui': SWITCH,
  'tls-cert': VALUE,
  'tls-key': VALUE,
  auth: VALUE,
  anonymous: VALUE,
  metrics: SWITCH,
  'log-level': VALUE,
  'log-format': VALUE,
  'log-channel-names': SWITCH,
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' }
} as const
type CountFlag = 'concurrency' | 'max-body-size' | 'max-waiters' | 'max-waiters-per-channel' | 'max-event-size' | 'max-event-backlog' | 'max-event-backlog-bytes'

/** Flags that take a value. */
const VALUE_FLAGS = Object.entries(FLAGS).filter(([, flag]) => flag.type === 'string').map(([name]) => `--${name}`)

/** The flag that sets each option, so that a message from option validation names the flag. */
const FLAG_OF_OPTION: Readonly<Record<string, string>> = {
  timeout: '--request-timeout (or REQUEST_TIMEOUT)',
  concurrency: '--concurrency',
  'limits.bodySize': '--max-body-size',
  'limits.waiters': '--max-waiters',
  'limits.waitersPerChannel': '--max-waiters-per-channel',
  'limits.eventSize': '--max-event-size',
  'limits.eventBacklog': '--max-event-backlog',
  'limits.eventBacklogBytes': '--max-event-backlog-bytes',
  'limits.stallTimeout': '--stall-timeout',
  probeInterval: '--probe-interval',
  'reqres.jobTimeout': '--job-timeout',
  cors: '--cors-origin'
}

// setTimeout()'s limit (options.ts), in whole seconds.
const MAX_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000)

/** Reads flags and environment; throws an `Error` whose message names the flag and says what was wrong. */
export function parseCli (argv: readonly string[], env: NodeJS.ProcessEnv): CliCommand {
  if (argv[0] === 'token') return parseTokenCommand(argv.slice(1))
  const { values } = parseArgs({ args: joinNegativeValues(argv), options: FLAGS, strict: true, allowPositionals: false })
  if (values.help === true) return { kind: 'help' }
  if (values.version === true) return { kind: 'version' }

  const port = integer('--port (or PORT)', values.port ?? env.PORT ?? '3000', 0, 65535)
  const host = values.host ?? env.HOST ?? '0.0.0.0'
  const timeoutText = values['request-timeout'] ?? env.REQUEST_TIMEOUT
  const count = (flag: CountFlag): number | undefined => {
    const text = values[flag]
    return text === undefined ? undefined : integer(`--${flag}`, text, 1, Number.MAX_SAFE_INTEGER)
  }
  const limits: HttpipeLimits = withoutUndefined({
    bodySize: count('max-body-size'),
    waiters: count('max-waiters'),
    waitersPerChannel: count('max-waiters-per-channel'),
    eventSize: count('max-event-size'),
    eventBacklog: count('max-event-backlog'),
    eventBacklogBytes: count('max-event-backlog-bytes'),
    stallTimeout: optional(values['stall-timeout'], text => seconds('--stall-timeout', text, { zero: 'refused' }))
  })
  const probeText = values['probe-interval']
  const options: HttpipeOptions = withoutUndefined({
    timeout: timeoutText === undefined || timeoutText === '' ? undefined : seconds('--request-timeout (or REQUEST_TIMEOUT)', timeoutText),
    probeInterval: optional(probeText, text => seconds('--probe-interval', text) ?? false),
    concurrency: count('concurrency'),
    listing: values['no-listing'] !== true,
    links: values['no-links'] !== true,
    cors: values['cors-origin'] ?? values.cors === true,
    ui: values['no-ui'] !== true,
    reqres: optional(values['job-timeout'], text => ({ jobTimeout: seconds('--job-timeout', text, { zero: 'refused' }) })),
    limits
  })
  checkOptions(options)
  const cert = values['tls-cert']
  const key = values['tls-key']
  if ((cert === undefined) !== (key === undefined)) {
    throw new Error(cert === undefined ? '--tls-key needs --tls-cert (the certificate it is the key of)' : '--tls-cert needs --tls-key (its private key)')
  }
  if (cert === '' || key === '') throw new Error(`${cert === '' ? '--tls-cert' : '--tls-key'} needs a file name`)
  const tls = cert === undefined || key === undefined ? undefined : { cert, key }
  const authText = values.auth ?? env.HTTPIPE_AUTH_FILE
  if (authText === '' && values.auth !== undefined) throw new Error('--auth needs a file name')
  const authFile = authText === undefined || authText === '' ? undefined : authText
  const anonymous = oneOf('--anonymous', values.anonymous ?? (authFile === undefined ? 'all' : 'none'), ANONYMOUS_LEVELS)
  const log = {
    level: oneOf('--log-level', values['log-level'] ?? 'info', LOG_LEVELS),
    format: oneOf('--log-format', values['log-format'] ?? 'json', ['json', 'pretty'] as const),
    channelNames: values['log-channel-names'] === true
  }
  const settings: CliSettings = { port, host, options, anonymous, metrics: values.metrics === true, log }
  return {
    kind: 'serve',
    settings: { ...settings, ...(tls === undefined ? {} : { tls }), ...(authFile === undefined ? {} : { authFile }) }
  }
}

function oneOf<T extends string> (flag: string, value: string, allowed: readonly T[]): T {
  if (allowed.includes(value as T)) return value as T
  throw new Error(`${flag} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`)
}

const TOKEN_FLAGS = { namespace: VALUE, channel: VALUE, allow: VALUE, name: VALUE } as const

/** `httpipe token create --namespace N [--channel C] --allow read,write [--name NAME]`. */
function parseTokenCommand (argv: readonly string[]): CliCommand {
  if (argv[0] !== 'create') throw new Error(`the token command takes "create", got ${JSON.stringify(argv[0] ?? '')}`)
  const { values } = parseArgs({ args: [...argv.slice(1)], options: TOKEN_FLAGS, strict: true, allowPositionals: false })
  const { namespace, channel, allow, name } = values
  if (namespace === undefined || namespace === '') throw new Error('token create needs --namespace (a name or a glob pattern such as "builds-*")')
  if (channel === '') throw new Error('--channel needs a name or a glob pattern (leave it out for every channel)')
  if (allow === undefined || allow.trim() === '') throw new Error(`token create needs --allow, a comma-separated list of ${PERMISSIONS.join(', ')}`)
  const permissions = [...new Set(allow.split(',').map(permission => oneOf('--allow', permission.trim(), PERMISSIONS)))]
  return {
    kind: 'token',
    request: { namespace, allow: permissions, ...(channel === undefined ? {} : { channel }), ...(name === undefined ? {} : { name }) }
  }
}

/**
 * parseArgs reads the `-1` of `--port -1` as a short flag ("argument is ambiguous"); joined into
 * `--port=-1`, a negative value reaches the range check and its message names the flag.
 */
function joinNegativeValues (argv: readonly string[]): string[] {
  const args: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    const value = argv[i + 1]
    if (VALUE_FLAGS.includes(arg) && value !== undefined && /^-[\d.]/.test(value)) {
      args.push(`${arg}=${value}`)
      i++
    } else {
      args.push(arg)
    }
  }
  return args
}

/** Runs the library's own validation, so a rule checked only there is reported with its flag. */
function checkOptions (options: HttpipeOptions): void {
  try {
    resolveOptions(options)
  } catch (err) {
    const match = /^httpipe: option (\S+) (.*)$/s.exec((err as Error).message)
    const flag = match?.[1] === undefined ? undefined : FLAG_OF_OPTION[match[1]]
    throw new Error(flag === undefined ? (err as Error).message : `${flag} ${match?.[2] ?? ''}`)
  }
}

function withoutUndefined<T extends object> (object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as T
}

function integer (name: string, text: string, min: number, max: number): number {
  const value = Number(text)
  if (!/^\d+$/.test(text.trim()) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`)
  }
  return value
}

function optional<T> (text: string | undefined, parse: (text: string) => T): T | undefined {
  return text === undefined ? undefined : parse(text)
}

/** Seconds, fractions allowed, to ms; `0` means none (undefined), unless refused. */
function seconds (name: string, text: string, { zero = 'none' }: { zero?: 'none' | 'refused' } = {}): number | undefined {
  const value = Number(text)
  const min = zero === 'none' ? 0 : Number.MIN_VALUE
  if (text.trim() === '' || !Number.isFinite(value) || value < min || value > MAX_TIMEOUT_SECONDS) {
    const range = zero === 'none' ? `from 0 to ${MAX_TIMEOUT_SECONDS} (0 for none)` : `above 0, up to ${MAX_TIMEOUT_SECONDS}`
    throw new Error(`${name} must be a number of seconds ${range}, got ${JSON.stringify(text)}`)
  }
  // A positive value below a millisecond still means "a timeout", not "none".
  return value === 0 ? undefined : Math.max(1, Math.round(value * 1000))
}
