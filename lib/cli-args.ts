import { parseArgs } from 'node:util'
import type { LevelWithSilent } from 'pino'
import { resolveOptions, type HttpipeLimits, type HttpipeOptions } from './options'
import { LOG_LEVELS, type LogFormat } from './request-log'
import { parseTokenCommand, type TokenRequest } from './cli-token-args'
import { integer, joinNegativeValues, oneOf, optional, seconds, withoutUndefined } from './cli-values'
import type { TlsFiles } from './tls-files'
import { ANONYMOUS_LEVELS, type AnonymousLevel } from './token-names'

// The command line of the standalone server: its flags, and how they and the environment become
// options. Nothing here listens or exits (cli.ts does); the help text is cli-usage.ts.

export { USAGE } from './cli-usage'
export type { TokenRequest } from './cli-token-args'

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

/** Reads flags and environment; throws an `Error` whose message names the flag and says what was wrong. */
export function parseCli (argv: readonly string[], env: NodeJS.ProcessEnv): CliCommand {
  if (argv[0] === 'token') return { kind: 'token', request: parseTokenCommand(argv.slice(1)) }
  const { values } = parseArgs({ args: joinNegativeValues(argv, VALUE_FLAGS), options: FLAGS, strict: true, allowPositionals: false })
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
