import { createHash, randomBytes } from 'node:crypto'
import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs'
import type { IncomingMessage } from 'node:http'
import type { HttpipeAccess, HttpipeAction, HttpipeAuthorize, HttpipeVerdict } from './authorize'
import { consumeQueryParameter } from './query-credentials'
import { PERMISSIONS, type AnonymousLevel, type Permission } from './token-names'

export { ANONYMOUS_LEVELS, PERMISSIONS, type AnonymousLevel, type Permission } from './token-names'

const ANONYMOUS: Readonly<Record<AnonymousLevel, ReadonlySet<Permission>>> = {
  none: new Set(),
  read: new Set(['read']),
  write: new Set(['read', 'write']),
  all: new Set(PERMISSIONS)
}

// Each action needs every permission listed. The request/response mode: a requester asks and
// reads the answer, as a browser reads a site (`--anonymous read` may browse a site served through
// httpipe expose); a responder takes the requesters' requests (which may be as private as any
// message) and chooses what they receive, so serving a channel needs both.
const PERMISSIONS_OF: Readonly<Record<HttpipeAction, readonly Permission[]>> = {
  produce: ['write'],
  publish: ['write'],
  consume: ['read'],
  subscribe: ['read'],
  delete: ['delete'],
  list: ['list'],
  request: ['read'],
  respond: ['read', 'write']
}

interface Grant {
  readonly namespace: RegExp
  /** `undefined`: every channel of the namespace (and the namespace itself: listing, deleting it). */
  readonly channel: RegExp | undefined
  readonly allow: ReadonlySet<Permission>
}

/** The tokens of one version of the file, by the SHA-256 (hex) of each token. */
export type Tokens = ReadonlyMap<string, readonly Grant[]>

/** SHA-256 of a token, lowercase hex: all the file ever holds of it. */
export function hashToken (token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

/**
 * Parses a token file: `{ "tokens": [{ "name"?, "sha256", "grants": [{ "namespace", "channel"?,
 * "allow": [...] }] }] }`. Names in grants may be glob patterns (`*` any run of characters, `?`
 * one). Throws an `Error` naming the first bad entry (never a token: the file holds none).
 */
export function parseTokens (text: string): Tokens {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (err) {
    throw new Error(`it is not JSON: ${(err as Error).message}`)
  }
  const root = object('the file', data, ['tokens'])
  const entries = array('tokens', root.tokens, true)
  const tokens = new Map<string, Grant[]>()
  entries.forEach((raw, i) => {
    const path = `tokens[${i}]`
    const entry = object(path, raw, ['name', 'sha256', 'grants'])
    if (entry.name !== undefined && typeof entry.name !== 'string') throw new Error(`${path}.name must be a string`)
    const hash = entry.sha256
    if (typeof hash !== 'string' || !/^[0-9a-f]{64}$/i.test(hash)) {
      throw new Error(`${path}.sha256 must be the SHA-256 of the token as 64 hex digits (httpipe token create prints it)`)
    }
    const grants = array(`${path}.grants`, entry.grants, false).map((grant, j) => parseGrant(`${path}.grants[${j}]`, grant))
    const key = hash.toLowerCase()
    if (tokens.has(key)) throw new Error(`${path}.sha256 is the same as an earlier token's`)
    tokens.set(key, grants)
  })
  return tokens
}

function parseGrant (path: string, raw: unknown): Grant {
  const grant = object(path, raw, ['namespace', 'channel', 'allow'])
  if (typeof grant.namespace !== 'string' || grant.namespace === '') throw new Error(`${path}.namespace must be a name or a glob pattern such as "builds-*"`)
  if (grant.channel !== undefined && (typeof grant.channel !== 'string' || grant.channel === '')) {
    throw new Error(`${path}.channel must be a name or a glob pattern, or absent for every channel`)
  }
  const allow = array(`${path}.allow`, grant.allow, false).map((permission, k) => {
    if (!PERMISSIONS.includes(permission as Permission)) {
      throw new Error(`${path}.allow[${k}] must be one of ${PERMISSIONS.join(', ')}, got ${JSON.stringify(permission)}`)
    }
    return permission as Permission
  })
  return {
    namespace: glob(grant.namespace),
    channel: grant.channel === undefined || grant.channel === '*' ? undefined : glob(grant.channel as string),
    allow: new Set(allow)
  }
}

function object (path: string, value: unknown, keys: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${path} must be an object`)
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) throw new Error(`${path} has an unknown key ${JSON.stringify(key)}; known: ${keys.join(', ')}`)
  }
  return value as Record<string, unknown>
}

function array (path: string, value: unknown, mayBeEmpty: boolean): unknown[] {
  if (!Array.isArray(value)) throw new Error(`${path} must be an array`)
  if (!mayBeEmpty && value.length === 0) throw new Error(`${path} must not be empty`)
  return value
}

/** `*` any run of characters, `?` one; everything else literal. Names hold no `/`, so `*` needs no bound. */
function glob (pattern: string): RegExp {
  const source = [...pattern].map(char => char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[\\^$.|+()[\]{}]/g, '\\$&')).join('')
  return new RegExp(`^${source}$`, 'su')
}

function allows (grants: readonly Grant[], permission: Permission, access: HttpipeAccess | undefined): boolean {
  for (const grant of grants) {
    if (!grant.allow.has(permission)) continue
    // `metrics` is about the server, not a channel.
    if (access === undefined) return true
    if (!grant.namespace.test(access.namespace)) continue
    // Listing or deleting a namespace reaches all its channels: only a grant for all of them may.
    if (grant.channel === undefined) return true
    if (access.channel !== undefined && grant.channel.test(access.channel)) return true
  }
  return false
}

/** The token a request carries: `Authorization: Bearer …`, else a `token` query parameter (EventSource, links). */
export function tokenOf (req: IncomingMessage): string | undefined {
  const header = req.headers.authorization
  if (header !== undefined) {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)
    if (match !== null) return match[1]
  }
  const url = req.url ?? ''
  const queryAt = url.indexOf('?')
  if (queryAt === -1 || !url.includes('token=', queryAt)) return undefined
  const token = new URLSearchParams(url.slice(queryAt + 1)).get('token') ?? undefined
  // A requester's token is this server's: kept out of the Pb-Uri its responder sees.
  if (token !== undefined) consumeQueryParameter(req, 'token')
  return token
}

const CHALLENGE = 'Bearer realm="httpipe"'

/** The token file's current version and the anonymous level: what the standalone server's hook and `/metrics` ask. */
export class TokenAccess {
  #tokens: Tokens
  readonly #anonymous: ReadonlySet<Permission>

  constructor (tokens: Tokens, anonymous: AnonymousLevel) {
    this.#tokens = tokens
    this.#anonymous = ANONYMOUS[anonymous]
  }

  /** Replaces the tokens (a reload); requests already allowed go on. */
  replace (tokens: Tokens): void {
    this.#tokens = tokens
  }

  get size (): number {
    return this.#tokens.size
  }

  /** The verdict for a channel request, or for `GET /metrics` when `access` is undefined. */
  verdict (req: IncomingMessage, access: HttpipeAccess | undefined): HttpipeVerdict {
    const needed = access === undefined ? ['metrics' as const] : PERMISSIONS_OF[access.action]
    if (needed.every(permission => this.#anonymous.has(permission))) {
      // Read all the same, so that a requester's `?token=` never reaches its responder (tokenOf).
      if (access?.action === 'request') tokenOf(req)
      return true
    }
    const token = tokenOf(req)
    if (token === undefined) {
      return { status: 401, message: `a token is needed for this (Authorization: Bearer TOKEN, or ?token=TOKEN); ${this.#describeAnonymous()}`, headers: { 'WWW-Authenticate': CHALLENGE } }
    }
    const grants = this.#tokens.get(hashToken(token))
    // The message never repeats the token: it is a secret, and error messages reach logs.
    if (grants === undefined) return { status: 401, message: 'the token is not valid (unknown, or removed from the token file)', headers: { 'WWW-Authenticate': `${CHALLENGE}, error="invalid_token"` } }
    // What anonymous requests may do, a token need not grant again.
    const missing = needed.filter(permission => !this.#anonymous.has(permission) && !allows(grants, permission, access))
    if (missing.length === 0) return true
    return { status: 403, message: `the token does not allow ${missing.join(' and ')} here` }
  }

  /** The `authorize` option of the standalone server. */
  readonly authorize: HttpipeAuthorize = (req, access) => this.verdict(req, access)

  #describeAnonymous (): string {
    return this.#anonymous.size === 0 ? 'this server takes no anonymous requests' : `anonymous requests may only ${[...this.#anonymous].join(', ')}`
  }
}

/** Reads and parses the token file; the message says which file and why. */
export function readTokens (file: string): Tokens {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new Error(`cannot read the token file ${file}: ${(err as Error).message}`)
  }
  try {
    return parseTokens(text)
  } catch (err) {
    throw new Error(`the token file ${file} is not valid: ${(err as Error).message}`)
  }
}

// As for certificates (tls-files.ts): editors and deploy tools replace files by renaming, which
// inotify-based fs.watch loses track of, and a second is soon enough.
const POLL_MS = 1000

/** Calls `onChange` when the file changes (polled). Returns a function that stops watching. */
export function watchTokenFile (file: string, onChange: () => void): () => void {
  const listener = (current: Stats, previous: Stats): void => {
    if (current.mtimeMs !== previous.mtimeMs || current.size !== previous.size || current.ino !== previous.ino) onChange()
  }
  watchFile(file, { interval: POLL_MS, persistent: false }, listener)
  return () => { unwatchFile(file, listener) }
}

/** A new random token (256 bits, base64url) and the entry for the token file. */
export function createToken (grant: { namespace: string, channel?: string | undefined, allow: readonly Permission[] }, name?: string): { token: string, entry: object } {
  const token = randomBytes(32).toString('base64url')
  const entry = {
    ...(name === undefined ? {} : { name }),
    sha256: hashToken(token),
    grants: [{ namespace: grant.namespace, ...(grant.channel === undefined ? {} : { channel: grant.channel }), allow: [...grant.allow] }]
  }
  return { token, entry }
}
