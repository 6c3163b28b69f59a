import { createHash } from 'node:crypto'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import type { IncomingMessage, ServerResponse } from 'node:http'
import pino, { type Logger, type LevelWithSilent } from 'pino'
import { CHANNELS, type RequestErrorMessage, type RequestRoutedMessage, type TransferEndMessage, type TransferStartMessage, type WaitStartMessage } from './diagnostics'

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']
export type LogFormat = 'json' | 'pretty'

/**
 * Paths pino censors in anything logged, in case a field ever carries one: the request log itself
 * writes no header, no URL and no query (a `?token=` would be in both).
 */
const REDACT = ['authorization', 'cookie', 'token', '*.authorization', '*.cookie', '*.token', 'headers.authorization', 'headers.cookie', 'req.headers.authorization', 'req.headers.cookie']

/**
 * The standalone server's loggers, writing to one destination: JSON lines on stdout, or one
 * readable line each with `pretty`. `logger` (startup, shutdown, reloads) redacts secrets;
 * `requests` does not, because the request line is built here from fixed fields that never hold
 * one, and pino's redaction doubled the cost of each line (16-19 us against 9 in a microbenchmark),
 * which at two lines per pair was a large share of a small message's CPU.
 */
export function createLoggers (level: LevelWithSilent, format: LogFormat): { readonly logger: Logger, readonly requests: Logger } {
  const redacted = { level, redact: { paths: REDACT, censor: '[redacted]' } }
  if (format === 'json') {
    // Asynchronous, so that the lines of a busy second share write calls (a synchronous write per
    // line cost a measurable share of a small message's CPU); flushed when the process exits, so
    // the shutdown line and what precedes it are never lost.
    const destination = pino.destination({ dest: 1, sync: false })
    process.once('exit', () => {
      try {
        destination.flushSync()
      } catch {}
    })
    return { logger: pino(redacted, destination), requests: pino({ level }, destination) }
  }
  const pretty = { write: (line: string) => { process.stdout.write(prettyLine(line)) } }
  return { logger: pino(redacted, pretty), requests: pino({ level }, pretty) }
}

const LEVEL_NAMES: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' }

/** `12:00:00.000 INFO  msg key=value …` from one JSON line, for people at a terminal (no pino-pretty needed). */
export function prettyLine (line: string): string {
  let entry: Record<string, unknown>
  try {
    entry = JSON.parse(line) as Record<string, unknown>
  } catch {
    return line
  }
  const { level, time, msg, pid: _pid, hostname: _hostname, ...fields } = entry
  const clock = typeof time === 'number' ? new Date(time).toISOString().slice(11, 23) : ''
  const name = (LEVEL_NAMES[level as number] ?? String(level)).padEnd(5)
  const rest = Object.entries(fields).map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`).join(' ')
  return `${clock} ${name} ${String(msg ?? '')}${rest === '' ? '' : ' ' + rest}\n`
}

/** What one request did, gathered from the router's diagnostics_channel messages. */
class Entry {
  readonly method: string
  readonly start: number
  action: string | undefined = undefined
  namespace: string | undefined = undefined
  channel: string | undefined = undefined
  error: string | undefined = undefined
  waitStart: number | undefined = undefined
  waitMs: number | undefined = undefined
  transferStart: number | undefined = undefined
  transferMs: number | undefined = undefined
  bytes: number | undefined = undefined

  constructor (method: string, start: number) {
    this.method = method
    this.start = start
  }
}

export interface RequestLog {
  /** Call with every request as it arrives (the standalone server's `onRequest`). */
  readonly onRequest: (req: IncomingMessage, res: ServerResponse) => void
  readonly stop: () => void
}

/** Channels whose short hash is kept, so that a busy channel is hashed once, not twice a pair. */
const HASHES_KEPT = 1024

/**
 * One line per finished request: method, status, action, namespace, the channel as a short hash
 * (names are secrets) unless `channelNames`, bytes, wait and transfer ms, the error `type`.
 * Never a header, the URL or the query: a token may be in any of them.
 */
export function requestLog (logger: Logger, router: object, channelNames: boolean): RequestLog {
  const entries = new WeakMap<ServerResponse, Entry>()
  // Names stay in memory no longer than HASHES_KEPT channels more: they are never written.
  const hashes = new Map<string, string>()
  const channelOf = (namespace: string, channel: string): string => {
    if (channelNames) return channel
    const name = `${namespace}/${channel}`
    let hash = hashes.get(name)
    if (hash === undefined) {
      if (hashes.size >= HASHES_KEPT) hashes.clear()
      hashes.set(name, hash = createHash('sha256').update(name).digest('hex').slice(0, 12))
    }
    return hash
  }
  const handlers: Record<string, (message: unknown) => void> = {
    [CHANNELS.requestRouted]: message => {
      const { router: from, res, access } = message as RequestRoutedMessage
      const entry = from === router ? entries.get(res) : undefined
      if (entry === undefined) return
      entry.action = access.action
      entry.namespace = access.namespace
      if (access.channel !== undefined) entry.channel = channelOf(access.namespace, access.channel)
    },
    [CHANNELS.requestError]: message => {
      const { router: from, res, error } = message as RequestErrorMessage
      const entry = from === router ? entries.get(res) : undefined
      const type = (error as { type?: unknown } | null)?.type
      if (entry !== undefined) entry.error = typeof type === 'string' ? type : 'internal'
    },
    [CHANNELS.waitStart]: message => {
      const { router: from, res } = message as WaitStartMessage
      const entry = from === router ? entries.get(res) : undefined
      if (entry !== undefined) entry.waitStart = performance.now()
    },
    [CHANNELS.transferStart]: message => {
      const { router: from, producer, consumers } = message as TransferStartMessage
      if (from !== router) return
      const now = performance.now()
      started(entries.get(producer), now)
      for (const res of consumers) started(entries.get(res), now)
    },
    [CHANNELS.transferEnd]: message => {
      const { router: from, producer, consumers, bytes, duration } = message as TransferEndMessage
      if (from !== router) return
      ended(entries.get(producer), bytes, duration)
      for (const res of consumers) ended(entries.get(res), bytes, duration)
    }
  }
  for (const [name, handler] of Object.entries(handlers)) subscribe(name, handler)

  function onRequest (req: IncomingMessage, res: ServerResponse): void {
    entries.set(res, new Entry(req.method ?? '', performance.now()))
    res.on('close', onClose)
  }

  // One listener for every response (`this`): no closure per request.
  function onClose (this: ServerResponse): void {
    // A consumer's response closes as its transfer ends, a turn before the transfer's end message
    // carries the bytes: written once that turn has passed.
    setImmediate(write, this)
  }

  function write (res: ServerResponse): void {
    const entry = entries.get(res)
    if (entry === undefined) return
    // One line, whatever else a response emits.
    entries.delete(res)
    const line: Record<string, unknown> = {
      method: entry.method,
      status: res.headersSent ? res.statusCode : undefined,
      action: entry.action,
      namespace: entry.namespace,
      channel: entry.channel,
      bytes: entry.bytes,
      waitMs: round(entry.waitMs ?? (entry.waitStart === undefined ? undefined : performance.now() - entry.waitStart)),
      transferMs: round(entry.transferMs),
      ms: round(performance.now() - entry.start),
      error: entry.error,
      // The response did not finish: the client left, or it was cut off.
      aborted: res.writableFinished ? undefined : true
    }
    logger.info(line, 'request')
  }

  return {
    onRequest,
    stop: () => { for (const [name, handler] of Object.entries(handlers)) unsubscribe(name, handler) }
  }
}

function started (entry: Entry | undefined, now: number): void {
  if (entry === undefined) return
  entry.transferStart = now
  entry.waitMs = entry.waitStart === undefined ? 0 : now - entry.waitStart
  entry.waitStart = undefined
}

function ended (entry: Entry | undefined, bytes: number, duration: number): void {
  if (entry === undefined) return
  // A live subscription takes many messages: it logs their sum when it ends.
  entry.bytes = (entry.bytes ?? 0) + bytes
  entry.transferMs = (entry.transferMs ?? 0) + duration
}

function round (ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.round(ms * 10) / 10
}
