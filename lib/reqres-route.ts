import { channelKey, decodeSegment } from './channel-key'
import { exchangeRouteNotFound, invalidQuery, quote } from './errors'

/** What a path below the request/response mount addresses. */
export type ExchangeRoute =
  | { readonly kind: 'requester', readonly namespace: string, readonly channel: string, readonly key: string, readonly uri: string }
  | { readonly kind: 'responder', readonly namespace: string, readonly channel: string, readonly key: string, readonly twoStep: boolean }
  | {
    readonly kind: 'reply',
    readonly namespace: string,
    readonly channel: string,
    readonly key: string,
    readonly job: string
    /** `?switch=true` on a reply: once it is delivered, wait for the next request as a two-step responder. */
    readonly twoStep: boolean
  }

/** Whether a URL is one the mode serves (`/req/…` or `/res/…`); others pass to the next handler. */
export function isExchangePath (url: string): boolean {
  return /^\/re[qs](?:[/?]|$)/.test(url)
}

/**
 * Parses `/req/{ns}/{ch}[/{path…}]`, `/res/{ns}/{ch}[?switch=true]` and `/res/{ns}/{ch}/{job}`.
 * Throws `400` for a bad name or query, `404` for any other shape.
 */
export function parseExchangeRoute (url: string): ExchangeRoute {
  const queryAt = url.indexOf('?')
  const path = queryAt === -1 ? url : url.slice(0, queryAt)
  const query = queryAt === -1 ? '' : url.slice(queryAt)
  const segments = path.split('/')
  const side = segments[1]
  if (segments.length < 4 || (side !== 'req' && side !== 'res')) throw exchangeRouteNotFound(path)
  const namespace = decodeSegment('namespace', segments[2] as string)
  const channel = decodeSegment('channel', segments[3] as string)
  const key = channelKey(namespace, channel)
  if (side === 'req') {
    // Everything below the channel is the requester's own: `/req/ns/ch/` is `/`, as is `/req/ns/ch`.
    const below = path.slice(6 + (segments[2] as string).length + (segments[3] as string).length)
    return { kind: 'requester', namespace, channel, key, uri: `${below === '' ? '/' : below}${query}` }
  }
  const rest = segments.slice(4)
  if (rest.length > 0 && rest[rest.length - 1] === '') rest.pop()
  if (rest.length === 0) return { kind: 'responder', namespace, channel, key, twoStep: switchFlag(query) }
  if (rest.length === 1) return { kind: 'reply', namespace, channel, key, job: rest[0] as string, twoStep: switchFlag(query) }
  throw exchangeRouteNotFound(path)
}

function switchFlag (query: string): boolean {
  if (query === '') return false
  // What every worker of serve() and `httpipe expose` sends, twice a request: no parser needed.
  if (query === '?switch=true') return true
  const value = new URLSearchParams(query.slice(1)).get('switch')
  if (value === null || value === 'false' || value === '0') return false
  if (value === 'true' || value === '1' || value === '') return true
  throw invalidQuery(`switch must be true or false, got ${quote(value)}`)
}
