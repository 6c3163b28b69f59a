import type { IncomingMessage } from 'node:http'

// The query parameters an `authorize` hook took a credential from, by request. A WeakMap: the
// mark goes with its request, and a request that is never marked costs nothing.
const consumed = new WeakMap<IncomingMessage, Set<string>>()

/**
 * Marks the query parameter `name` of `req` as a credential its `authorize` hook has read (as
 * the standalone server's `--auth` does with `?token=`): the request/response mode then keeps
 * every parameter of that name out of the `Pb-Uri` its responder sees.
 */
export function consumeQueryParameter (req: IncomingMessage, name: string): void {
  const names = consumed.get(req)
  if (names === undefined) consumed.set(req, new Set([name]))
  else names.add(name)
}

/**
 * `uri` (a path and query) without the query parameters marked on `req`: every other parameter
 * stays as it was sent, in its order and its encoding.
 */
export function withoutConsumedParameters (req: IncomingMessage, uri: string): string {
  const names = consumed.get(req)
  const queryAt = uri.indexOf('?')
  if (names === undefined || queryAt === -1) return uri
  const kept = uri.slice(queryAt + 1).split('&').filter(pair => !names.has(parameterName(pair)))
  return kept.length === 0 ? uri.slice(0, queryAt) : `${uri.slice(0, queryAt)}?${kept.join('&')}`
}

/** A query pair's name, decoded as URLSearchParams decodes it (`+` a space, `%XX` a byte). */
function parameterName (pair: string): string {
  const equals = pair.indexOf('=')
  const raw = (equals === -1 ? pair : pair.slice(0, equals)).replace(/\+/g, ' ')
  try {
    return decodeURIComponent(raw)
  } catch {
    // Not valid percent-encoding: URLSearchParams would keep such a name as it is, too.
    return raw
  }
}
