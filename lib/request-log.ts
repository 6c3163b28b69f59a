import type * as Crypto from 'node:crypto'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import type { IncomingMessage, ServerResponse } from 'node:http'
import pino, { type Logger, type LevelWithSilent } from 'pino'
import { CHANNELS, type RequestErrorMessage, type RequestRoutedMessage, type TransferEndMessage, type TransferStartMessage, type WaitStartMessage } from './diagnostics'
import { LogSink } from './log-sink'

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']
export type LogFormat = 'json' | 'pretty'

/**
 * Paths pino censors in anything logged, in case a field ever carries one: the request log itself
 * writes no header, no URL and no query (a `?token=` would be in both).
 */
const REDACT = ['authorization', 'cookie', 'token', '*.authorization', '*.cookie', '*.token', 'headers.authorization', 'headers.cookie', 'req.headers.authorization', 'req.headers.cookie']

export interface Loggers {
  /** Startup, shutdown and reloads; redacts secrets. */
  readonly logger: Logger
  /** The request log's, or undefined when the level leaves its lines out (above `info`). */
  readonly requests: Logger | undefined
  /** Resolves once every line so far has been written (the process may exit then). */
  readonly drain: () => Promise<void>
}

/**
 * The standalone server's loggers, writing to one destination: JSON lines on stdout, or one
 * readable line each with `pretty`. `logger` (startup, shutdown, reloads) redacts secrets;
 * `requests` does not, because the request line is built here from fixed fields that never hold
 * one, and pino's redaction doubled the cost of each line (16-19 us against 9 in a microbenchmark),
 * which at one line per request was a large share of a small message's CPU.
 */
export function createLoggers (level: LevelWithSilent, format: LogFormat): Loggers {
  const redacted = { level, redact: { paths: REDACT, censor: '[redacted]' } }
  let destination: { write: (line: string) => void }
  let drain = async (): Promise<void> => {}
  if (format === 'json') {
    // Batched (a write per line was about 45 us of the main thread's time per small message) and
    // outside the heap until written: see LogSink. Flushed when the process exits, so the shutdown
    // line and what precedes it are never lost.
    const sink = new LogSink(1)
    process.once('exit', () => { sink.flushSync() })
    destination = sink
    drain = () => sink.drain()
  } else {
    destination = { write: (line: string) => { process.stdout.write(prettyLine(line)) } }
  }
  const logger = pino(redacted, destination)
  return { logger, requests: logger.isLevelEnabled('info') ? pino({ level }, destination) : undefined, drain }
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
  // On the response itself, under a key of this log's own, not in a WeakMap: V8's young-generation
  // GC keeps a WeakMap's short-lived keys alive until a full GC, so every request since then (its
  // response, request and socket state) was copied and promoted. In a fan-out loop of 1 KiB messages
  // that tripled the heap (RSS 56 -> 97 MB) and cost the standalone server 2x the CPU per message.
  const ENTRY = Symbol('httpipe request log entry')
  const entries = {
    get: (res: ServerResponse): Entry | undefined => (res as Partial<Record<typeof ENTRY, Entry>>)[ENTRY],
    set: (res: ServerResponse, entry: Entry | undefined): void => { (res as Partial<Record<typeof ENTRY, Entry | undefined>>)[ENTRY] = entry }
  }
  // Names stay in memory no longer than HASHES_KEPT channels more: they are never written.
  const hashes = new Map<string, string>()
  // node:crypto (about 0.7 MB of memory once loaded) with the first channel, not at start.
  let createHash: typeof Crypto.createHash | undefined
  const channelOf = (namespace: string, channel: string): string => {
    if (channelNames) return channel
    const name = `${namespace}/${channel}`
    let hash = hashes.get(name)
    if (hash === undefined) {
      if (hashes.size >= HASHES_KEPT) hashes.clear()
      createHash ??= (require('node:crypto') as typeof Crypto).createHash
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

  // A consumer's response closes as its transfer ends, a turn before the transfer's end message
  // carries the bytes: lines are written once that turn has passed, all of a turn's in one Immediate.
  let closed: ServerResponse[] = []
  // One listener for every response (`this`): no closure per request.
  function onClose (this: ServerResponse): void {
    if (closed.push(this) === 1) setImmediate(writeClosed)
  }

  function writeClosed (): void {
    const responses = closed
    closed = []
    for (const res of responses) write(res)
  }

  function write (res: ServerResponse): void {
    const entry = entries.get(res)
    if (entry === undefined) return
    // One line, whatever else a response emits.
    entries.set(res, undefined)
    const now = performance.now()
    const line: Record<string, unknown> = {
      method: entry.method,
      status: res.headersSent ? res.statusCode : undefined,
      action: entry.action,
      namespace: entry.namespace,
      channel: entry.channel,
      bytes: entry.bytes,
      waitMs: round(entry.waitMs ?? (entry.waitStart === undefined ? undefined : now - entry.waitStart)),
      transferMs: round(entry.transferMs),
      ms: round(now - entry.start),
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
