import { invalidName, routeNotFound } from './errors'

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
      throw invalidName(segment, `malformed percent-encoding in ${JSON.stringify(raw)}`)
    }
  }
  validateName(segment, name)
  return name
}

/** SPEC §1: 1 to 256 code points, no control characters, no `/`. */
export function validateName (segment: 'namespace' | 'channel', name: string): void {
  // UTF-16 length bounds the code point count from above, so counting is needed only past 256.
  const length = name.length <= MAX_SEGMENT_LENGTH ? name.length : [...name].length
  if (length === 0) throw invalidName(segment, 'it is empty; names are 1 to 256 characters')
  if (length > MAX_SEGMENT_LENGTH) throw invalidName(segment, `it is ${length} characters long; the limit is ${MAX_SEGMENT_LENGTH}`)
  if (name.includes('/')) throw invalidName(segment, `${JSON.stringify(name)} contains "/" (%2F)`)
  if (hasControlCharacter(name)) throw invalidName(segment, `${JSON.stringify(name)} contains a control character`)
}

/** Unicode's Cc category: C0, DEL and C1. A loop, as a Unicode-property regex costs more per request. */
function hasControlCharacter (name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i)
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return true
  }
  return false
}
