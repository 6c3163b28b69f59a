#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type { LevelWithSilent, Logger } from 'pino'
import type * as PromClient from 'prom-client'
import type * as Metrics from './metrics'
import { resolveOptions, type HttpipeLimits, type HttpipeOptions } from './options'
import { LOG_LEVELS, createLogger, requestLog, type LogFormat, type RequestLog } from './request-log'
import { MOUNT_PATH, createSecureStandaloneServer, createStandaloneServer, type MetricsEndpoint, type SecureStandaloneServer, type StandaloneFeatures, type StandaloneServer } from './server'
import { ANONYMOUS_LEVELS, PERMISSIONS, TokenAccess, createToken, readTokens, watchTokenFile, type AnonymousLevel, type Permission, type Tokens } from './token-file'
import { SHUTDOWN_GRACE_MS, shutdown } from './shutdown'
import { readTls, watchTls, type TlsFiles } from './tls-files'

const USAGE = `Usage: httpipe [options]

Patchbay-style HTTP pipes: POST to ${MOUNT_PATH}/{namespace}/{channel}, GET the same path.

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

function version (): string {
  try {
    const manifest = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { name?: string, version?: string }
    if (manifest.name === 'httpipe' && manifest.version !== undefined) return manifest.version
  } catch {}
  return 'unknown'
}

function displayUrl (host: string, port: number, secure: boolean): string {
  return `${secure ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}${MOUNT_PATH}`
}

/**
 * Runs the CLI: parses, listens, prints the address, and on SIGINT/SIGTERM closes gracefully
 * (waiting requests get 503, running transfers finish) and exits 0. A second signal exits at once.
 */
export function main (argv: readonly string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): void {
  let command: CliCommand
  try {
    command = parseCli(argv, env)
  } catch (err) {
    process.stderr.write(`httpipe: ${(err as Error).message}\n\n${USAGE}`)
    process.exitCode = 2
    return
  }
  if (command.kind === 'token') {
    const { token, entry } = createToken(command.request, command.request.name)
    process.stdout.write(`${token}\n${JSON.stringify(entry)}\n`)
    process.stderr.write('httpipe: add the second line to the "tokens" array of your --auth file; the token itself is shown only now and stored nowhere\n')
    return
  }
  if (command.kind !== 'serve') {
    process.stdout.write(command.kind === 'help' ? USAGE : `${version()}\n`)
    return
  }

  const { port, host, tls, authFile, anonymous, log } = command.settings
  const logger = createLogger(log.level, log.format)
  let access: TokenAccess | undefined
  let metrics: { endpoint: MetricsEndpoint, attach: (pipe: StandaloneServer['pipe']) => void } | undefined
  let options = command.settings.options
  try {
    if (authFile !== undefined || anonymous !== 'all') {
      access = new TokenAccess(authFile === undefined ? new Map() : readTokens(authFile), anonymous)
      options = { ...options, authorize: access.authorize }
    }
    if (command.settings.metrics) metrics = loadMetrics(access)
  } catch (err) {
    process.stderr.write(`httpipe: ${(err as Error).message}\n`)
    process.exitCode = 2
    return
  }
  // Made once the router exists (its messages name it); the server is made with the hook for it.
  const logs: { requests?: RequestLog } = {}
  const features: StandaloneFeatures = {
    onRequest: (req, res) => { logs.requests?.onRequest(req, res) },
    metrics: metrics?.endpoint
  }
  let standalone: StandaloneServer | SecureStandaloneServer
  try {
    standalone = tls === undefined ? createStandaloneServer(options, features) : createSecureStandaloneServer(options, readTls(tls), features)
  } catch (err) {
    // parseCli() has validated every option; this is a guard, reported the same way.
    process.stderr.write(`httpipe: ${(err as Error).message}\n\n${USAGE}`)
    process.exitCode = 2
    return
  }
  const { server, pipe } = standalone
  logs.requests = requestLog(logger, pipe, log.channelNames)
  metrics?.attach(pipe)
  const unwatchTokens = access === undefined || authFile === undefined ? () => {} : watchTokens(access, authFile, logger)
  server.on('error', err => {
    process.stderr.write(`httpipe: cannot listen on ${host}:${port}: ${err.message}\n`)
    process.exit(1)
  })
  server.listen(port, host, () => {
    const address = server.address()
    const actualPort = typeof address === 'object' && address !== null ? address.port : port
    const url = displayUrl(host, actualPort, tls !== undefined)
    logger.info({ url, auth: authFile !== undefined, tokens: access?.size, anonymous, metrics: metrics !== undefined }, `httpipe listening on ${url}`)
  })
  const unwatch = tls === undefined ? () => {} : watchTls(standalone.server as SecureStandaloneServer['server'], tls, message => { process.stderr.write(`${message}\n`) })
  const closers = connectionClosers(standalone)

  let stopping = false
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      process.stderr.write(`httpipe: ${signal} again, exiting without waiting for transfers\n`)
      process.exit(1)
    }
    stopping = true
    logger.info({ signal }, `httpipe: ${signal} received, finishing running transfers`)
    unwatch()
    unwatchTokens()
    const done = 'closeIdleConnections' in server ? shutdown(server, pipe) : shutdownSecure(server, pipe, closers)
    done.then(() => {
      logger.info('httpipe: shut down')
      process.exit(0)
    }, (err: unknown) => {
      logger.error({ err }, 'httpipe: shutdown failed')
      process.exit(1)
    })
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

/**
 * Reloads the token file on SIGHUP and when it changes; a file that does not parse is logged with
 * the reason and the previous tokens stay in force.
 */
function watchTokens (access: TokenAccess, file: string, logger: Logger): () => void {
  const reload = (why: string): void => {
    let tokens: Tokens
    try {
      tokens = readTokens(file)
    } catch (err) {
      logger.warn({ file, reason: why }, `httpipe: kept the previous tokens: ${(err as Error).message}`)
      return
    }
    access.replace(tokens)
    logger.info({ file, reason: why, tokens: tokens.size }, `httpipe: reloaded the tokens from ${file}`)
  }
  const onHangUp = (): void => { reload('SIGHUP') }
  process.on('SIGHUP', onHangUp)
  const unwatch = watchTokenFile(file, () => { reload('file changed') })
  return () => {
    process.off('SIGHUP', onHangUp)
    unwatch()
  }
}

/**
 * `--metrics`: prom-client is an optional peer dependency, loaded only now. The standalone
 * server's own registry also carries prom-client's process metrics (CPU, memory, event loop lag).
 */
function loadMetrics (access: TokenAccess | undefined): { endpoint: MetricsEndpoint, attach: (pipe: StandaloneServer['pipe']) => void } {
  let client: typeof PromClient
  let module: typeof Metrics
  try {
    client = require('prom-client') as typeof PromClient
    module = require('./metrics') as typeof Metrics
  } catch (err) {
    throw new Error(`--metrics needs the prom-client package (npm install prom-client): ${(err as Error).message.split('\n')[0] ?? ''}`)
  }
  const registry = new client.Registry()
  client.collectDefaultMetrics({ register: registry })
  return {
    endpoint: {
      contentType: registry.contentType,
      render: async () => await registry.metrics(),
      ...(access === undefined ? {} : { allow: req => access.verdict(req, undefined) })
    },
    attach: pipe => { module.httpipeMetrics(pipe, { registry }) }
  }
}

interface ConnectionClosers {
  /** Ends every HTTP/2 session gracefully (GOAWAY: open streams end first) and every HTTP/1.1 connection. */
  readonly closeAll: () => void
  /** Destroys every connection still open. */
  readonly destroyAll: () => void
}

/** Tracks the secure server's connections: node:http2's server has no closeIdleConnections(). */
function connectionClosers (standalone: StandaloneServer | SecureStandaloneServer): ConnectionClosers {
  const open = new Map<{ destroy: () => void }, () => void>()
  const { server } = standalone
  if (!('closeIdleConnections' in server)) {
    server.on('session', session => {
      open.set(session, () => { session.close() })
      session.once('close', () => open.delete(session))
    })
    server.on('secureConnection', socket => {
      if (socket.alpnProtocol === 'h2') return
      open.set(socket, () => { socket.end() })
      socket.once('close', () => open.delete(socket))
    })
  }
  return {
    closeAll: () => { for (const close of open.values()) close() },
    destroyAll: () => { for (const connection of open.keys()) connection.destroy() }
  }
}

/**
 * shutdown() for the secure server: once `pipe.close()` has let the transfers finish, its sessions
 * and connections are closed, and destroyed after the same grace if they have not closed by then.
 */
async function shutdownSecure (server: SecureStandaloneServer['server'], pipe: StandaloneServer['pipe'], closers: ConnectionClosers): Promise<void> {
  await pipe.close()
  const closed = new Promise<void>(resolve => { server.close(() => { resolve() }) })
  closers.closeAll()
  const deadline = setTimeout(closers.destroyAll, SHUTDOWN_GRACE_MS)
  try {
    await closed
  } finally {
    clearTimeout(deadline)
  }
}

if (require.main === module) main()
