import type { HttpipeAuthorize } from './authorize'
import { resolveReqResOptions, type ReqResOptions, type ResolvedReqResOptions } from './reqres-options'

/** Options of `httpipe()` and `createHandler()`. `undefined` anywhere means "the default". */
export interface HttpipeOptions {
  /**
   * Longest time a request waits for its counterpart, in ms, including time queued behind a
   * running transfer. A matched transfer is never cut by it. Default: none (wait forever).
   * Breach: `408` to the waiting request.
   */
  timeout?: number | undefined
  /**
   * How often a waiting request whose connection Node has stopped reading (a producer whose body
   * is larger than the socket buffers) is probed with an interim response (`100 Continue`, or
   * `103 Early Hints` to Fetch clients), in ms. A client that has gone answers the probe with a
   * reset, so it is withdrawn within two intervals. Never sent to HTTP/1.0 clients. `false`: no
   * interim responses at all (then only `timeout` ends such a wait). Default: `10000` (withdrawn
   * within 20 s).
   */
  probeInterval?: number | false | undefined
  /** Transfers that may run at once on one channel. Default: `1`. */
  concurrency?: number | undefined
  limits?: HttpipeLimits | undefined
  /** Serve `GET /namespaces` and `GET /{namespace}`. Default: `true`. When `false`: `404`. */
  listing?: boolean | undefined
  /**
   * Accept link producers (`GET …?method=post&body=TEXT`), which let a plain link send a message,
   * as in patchbay. Default: `true`. When `false`: `403`, and nothing is sent.
   */
  links?: boolean | undefined
  /**
   * Answer cross-origin requests: `true` allows any origin (`*`), a string allows that one origin
   * (e.g. `'https://app.example'`). Preflight `OPTIONS` is answered without touching any channel.
   * Default: `false`.
   */
  cors?: boolean | string | undefined
  /** Serve the web page at the mount path (`GET /` asking for `text/html`). Default: `false`. */
  ui?: boolean | undefined
  /**
   * Called once per request, after its route and query are validated and before it joins a queue
   * or has its body read: `(req, access)` returns `true`, `false` (`403`), a denial
   * `{ status: 401 | 403 | 404, message?, headers? }`, or a Promise of one. Never called for a CORS
   * preflight. `GET /namespaces` lists only the namespaces it allows `list` for. Default: none
   * (every request is allowed).
   */
  authorize?: HttpipeAuthorize | undefined
  /** The request/response mode (`router.reqres`); it shares `timeout` and `limits`. */
  reqres?: ReqResOptions | undefined
}

export interface HttpipeLimits {
  /**
   * Largest message, in bytes. Default: none. Breach: `413`; before queueing when the declared
   * `Content-Length` is larger, mid-stream (consumer aborted) for a chunked body.
   */
  bodySize?: number | undefined
  /** Requests waiting on one channel. Default: `5000`. Breach: `503` with `Retry-After`. */
  waitersPerChannel?: number | undefined
  /** Requests waiting in the whole router. Default: `50000`. Breach: `503` with `Retry-After`. */
  waiters?: number | undefined
  /**
   * Largest message a live (`text/event-stream`) subscriber takes, in bytes: each message is held
   * whole to be framed as one event. Default: `1048576` (1 MiB). Breach: `413` to the producer.
   */
  eventSize?: number | undefined
  /**
   * Events a live subscription may have queued behind a full socket. Default: `100`. Breach: the
   * subscription is ended with an `error` event (`subscriber.lagging`).
   */
  eventBacklog?: number | undefined
  /**
   * Bytes of framed events a live subscription may have queued behind a full socket (references to
   * events shared by all subscribers, not copies). Default: `16777216` (16 MiB). Breach: as
   * `eventBacklog`.
   */
  eventBacklogBytes?: number | undefined
  /**
   * Longest time, in ms, a subscriber's socket may take no data while a message waits on it: a
   * pubsub subscriber is then cut off (the broadcast goes on for the rest), a live subscription
   * ended with an `error` event (`subscriber.stalled`). Default: `30000`.
   */
  stallTimeout?: number | undefined
}

export interface ResolvedOptions {
  readonly timeout: number
  /** `false`: never probe. */
  readonly probeInterval: number | false
  readonly concurrency: number
  readonly bodySize: number
  readonly waitersPerChannel: number
  readonly waiters: number
  readonly listing: boolean
  readonly links: boolean
  readonly eventSize: number
  readonly eventBacklog: number
  readonly eventBacklogBytes: number
  readonly stallTimeout: number
  /** `false`, `'*'`, or the one allowed origin. */
  readonly cors: false | string
  readonly ui: boolean
  readonly authorize: HttpipeAuthorize | undefined
  readonly reqres: ResolvedReqResOptions
}

const OPTION_NAMES = ['timeout', 'probeInterval', 'concurrency', 'limits', 'listing', 'links', 'cors', 'ui', 'authorize', 'reqres'] as const
const LIMIT_NAMES = ['bodySize', 'waitersPerChannel', 'waiters', 'eventSize', 'eventBacklog', 'eventBacklogBytes', 'stallTimeout'] as const

/** The two levels options live at, for "did you mean" hints that cross from one to the other. */
interface OptionLevel {
  readonly prefix: string
  readonly names: readonly string[]
}
const TOP_LEVEL: OptionLevel = { prefix: '', names: OPTION_NAMES }
const LIMITS_LEVEL: OptionLevel = { prefix: 'limits.', names: LIMIT_NAMES }

// setTimeout() silently fires after 1 ms for anything above this, so a larger timeout is a bug.
const MAX_TIMER_MS = 2 ** 31 - 1

/** Applies defaults and validates; throws a `TypeError` naming the bad option. */
export function resolveOptions (options: HttpipeOptions = {}): ResolvedOptions {
  expectPlainObject('options', options)
  expectKnownKeys(TOP_LEVEL, options, LIMITS_LEVEL)
  const { timeout, probeInterval = 10_000, concurrency = 1, limits = {}, listing = true, links = true, cors = false, ui = false, authorize } = options
  expectPlainObject('limits', limits)
  expectKnownKeys(LIMITS_LEVEL, limits, TOP_LEVEL)
  const { bodySize, waitersPerChannel = 5000, waiters = 50_000, eventSize = 1024 * 1024 } = limits
  const { eventBacklog = 100, eventBacklogBytes = 16 * 1024 * 1024, stallTimeout = 30_000 } = limits

  if (timeout !== undefined) expectPositiveInteger('timeout', timeout, 'ms', MAX_TIMER_MS)
  if (probeInterval !== false && !isPositiveInteger(probeInterval, MAX_TIMER_MS)) {
    throw optionError('probeInterval', `must be a positive integer up to ${MAX_TIMER_MS} (ms) or false`, probeInterval)
  }
  expectPositiveInteger('concurrency', concurrency, 'transfers per channel')
  if (bodySize !== undefined) expectPositiveInteger('limits.bodySize', bodySize, 'bytes')
  expectPositiveInteger('limits.waitersPerChannel', waitersPerChannel, 'requests')
  expectPositiveInteger('limits.waiters', waiters, 'requests')
  expectPositiveInteger('limits.eventSize', eventSize, 'bytes')
  expectPositiveInteger('limits.eventBacklog', eventBacklog, 'events')
  expectPositiveInteger('limits.eventBacklogBytes', eventBacklogBytes, 'bytes')
  expectPositiveInteger('limits.stallTimeout', stallTimeout, 'ms', MAX_TIMER_MS)
  expectBoolean('listing', listing)
  expectBoolean('links', links)
  expectBoolean('ui', ui)
  if (typeof cors !== 'boolean') expectOrigin('cors', cors)
  if (authorize !== undefined && typeof authorize !== 'function') {
    throw optionError('authorize', 'must be a function (req, access) returning true, false, a denial or a Promise of one', authorize)
  }

  return Object.freeze({
    timeout: timeout ?? Infinity,
    probeInterval,
    concurrency,
    bodySize: bodySize ?? Infinity,
    waitersPerChannel,
    waiters,
    listing,
    links,
    eventSize,
    eventBacklog,
    eventBacklogBytes,
    stallTimeout,
    cors: cors === true ? '*' : cors,
    ui,
    authorize,
    reqres: resolveReqResOptions(options.reqres)
  })
}

function optionError (name: string, rule: string, value: unknown): TypeError {
  return new TypeError(`httpipe: option ${name} ${rule}, got ${describe(value)}`)
}

function describe (value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'symbol') return String(value)
  if (typeof value === 'function') return 'a function'
  return JSON.stringify(value) ?? String(value)
}

function isPositiveInteger (value: unknown, max: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= max
}

function expectPositiveInteger (name: string, value: unknown, unit: string, max = Number.MAX_SAFE_INTEGER): void {
  if (!isPositiveInteger(value, max)) {
    const range = max === Number.MAX_SAFE_INTEGER ? '' : ` up to ${max}`
    throw optionError(name, `must be a positive integer${range} (${unit})`, value)
  }
}

function expectBoolean (name: string, value: unknown): void {
  if (typeof value !== 'boolean') throw optionError(name, 'must be a boolean', value)
}

/**
 * An origin exactly as browsers send it in `Origin` (scheme, host and port as the URL standard
 * serializes them), since the check per request is a string comparison: `https://A.example`,
 * `https://a.example:443` or `https://a.example/` would never match and silently refuse every page.
 */
function expectOrigin (name: string, value: unknown): void {
  const rule = 'must be a boolean or an origin such as "https://app.example"'
  if (typeof value !== 'string' || !/^https?:\/\/[^/\s]/i.test(value)) throw optionError(name, rule, value)
  let serialized: string | undefined
  try {
    serialized = new URL(value).origin
  } catch {}
  if (serialized === value) return
  const hint = serialized === undefined || serialized === 'null' ? '' : `; did you mean ${JSON.stringify(serialized)}?`
  throw new TypeError(`httpipe: option ${name} ${rule}, as browsers send it (lower-case scheme and host, no default port, no path or trailing slash), got ${describe(value)}${hint}`)
}

function expectPlainObject (name: string, value: unknown): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`httpipe: ${name === 'options' ? 'options' : `option ${name}`} must be an object, got ${describe(value)}`)
  }
}

/** Throws for a key `level` does not know; the hint may name the other level (`waiters` → `limits.waiters`). */
function expectKnownKeys (level: OptionLevel, value: object, other: OptionLevel): void {
  for (const key of Object.keys(value)) {
    if (level.names.includes(key)) continue
    const guess = other.names.includes(key) ? other.prefix + key : suggest(level, key) ?? suggest(other, key)
    const hint = guess === undefined ? `known options: ${level.names.map(k => level.prefix + k).join(', ')}` : `did you mean ${guess}?`
    throw new TypeError(`httpipe: unknown option ${level.prefix}${key}; ${hint}`)
  }
}

function suggest (level: OptionLevel, key: string): string | undefined {
  const guess = closest(key, level.names)
  return guess === undefined ? undefined : level.prefix + guess
}

function closest (word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase())
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance]
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined
}

function editDistance (a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution)
    }
    previous = current
  }
  return previous[b.length] ?? 0
}
