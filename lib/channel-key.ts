import { invalidName, quote, routeNotFound } from './errors'

/** What a path below the mount point addresses (SPEC §1, §4). */
export type Route =
  | { readonly kind: 'root' }
  | { readonly kind: 'namespaces' }
  | { readonly kind: 'namespace', readonly namespace: string }
  | { readonly kind: 'channel', readonly namespace: string, readonly channel: string, readonly key: string }

export const MAX_SEGMENT_LENGTH = 256

/**
 * Parses the path of a request URL relative to the mount point (query string allowed).
 * Throws a `400` naming the bad segment, or a `404` for a path with more than two segments.
 */
export function parseRoute (url: string): Route {
  const queryAt = url.indexOf('?')
  let path = queryAt === -1 ? url : url.slice(0, queryAt)
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1)
  if (path === '/' || path === '') return { kind: 'root' }

  const segments = path.slice(1).split('/')
  if (segments.length === 1) {
    const namespace = decodeSegment('namespace', segments[0] ?? '')
    return namespace === 'namespaces' ? { kind: 'namespaces' } : { kind: 'namespace', namespace }
  }
  if (segments.length === 2) {
    const namespace = decodeSegment('namespace', segments[0] ?? '')
    const channel = decodeSegment('channel', segments[1] ?? '')
    return { kind: 'channel', namespace, channel, key: channelKey(namespace, channel) }
  }
  throw routeNotFound(path)
}

/** Names never contain `/`, so joining them with one is unambiguous. */
export function channelKey (namespace: string, channel: string): string {
  return `${namespace}/${channel}`
}

function decodeSegment (segment: 'namespace' | 'channel', raw: string): string {
  let name = raw
  if (raw.includes('%')) {
    try {
      name = decodeURIComponent(raw)
    } catch {
      throw invalidName(segment, `malformed percent-encoding in ${quote(raw)}`)
    }
  }
  return validateName(segment, name)
}

// Beyond Unicode's Cc (C0, DEL, C1), what makes two names look alike or a listing lie: format
// characters (Cf: bidirectional controls such as U+202E, zero-width ones such as U+200B and
// U+FEFF, soft hyphens, tags) and the line and paragraph separators (Zl, Zp).
const FORBIDDEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u

/**
 * SPEC §1, hardened: 1 to 256 code points, no control, format (invisible, bidirectional) or
 * separator characters, no `/`. Returns the name in Unicode NFC, so that canonically equivalent
 * spellings (`café` precomposed or as `e` + U+0301) are one channel, not two that look alike.
 */
export function validateName (segment: 'namespace' | 'channel', raw: string): string {
  // Most names are ASCII: one loop over them, no normalization and no regex.
  const scan = scanAscii(raw)
  const name = scan === NON_ASCII ? raw.normalize('NFC') : raw
  // UTF-16 length bounds the code point count from above, so counting is needed only past 256.
  const length = name.length <= MAX_SEGMENT_LENGTH ? name.length : [...name].length
  if (length === 0) throw invalidName(segment, 'it is empty; names are 1 to 256 characters')
  if (length > MAX_SEGMENT_LENGTH) throw invalidName(segment, `it is ${length} characters long; the limit is ${MAX_SEGMENT_LENGTH}`)
  if (name.includes('/')) throw invalidName(segment, `${quote(name)} contains "/" (%2F)`)
  const forbidden = scan === NON_ASCII ? FORBIDDEN.exec(name)?.[0].codePointAt(0) : scan === CLEAN ? undefined : scan
  if (forbidden !== undefined) throw invalidName(segment, `${quote(name)} contains ${describeForbidden(forbidden)}`)
  return name
}

const CLEAN = -1
const NON_ASCII = -2

/** The first C0 or DEL code, `NON_ASCII` when a character past ASCII needs the full check, or `CLEAN`. */
function scanAscii (name: string): number {
  let found = CLEAN
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i)
    if (code < 0x20 || code === 0x7f) return code
    if (code >= 0x80) found = NON_ASCII
  }
  return found
}

function describeForbidden (code: number): string {
  const point = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`
  if (code < 0xa0) return `a control character (${point})`
  if (code === 0x2028 || code === 0x2029) return `${point}, a line or paragraph separator`
  return `${point}, an invisible formatting character (bidirectional control, zero-width or similar)`
}
