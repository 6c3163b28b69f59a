import { channelKey, decodeSegment } from './channel-key'
import { routeNotFound } from './errors'

/** What a path below the mount point addresses (SPEC §1, §4). */
export type Route =
  | { readonly kind: 'root' }
  | { readonly kind: 'namespaces' }
  | { readonly kind: 'namespace', readonly namespace: string }
  | { readonly kind: 'channel', readonly namespace: string, readonly channel: string, readonly key: string }

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

/** A route that addresses one channel. */
export type ChannelRoute = Extract<Route, { readonly kind: 'channel' }>
