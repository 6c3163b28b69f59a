import { invalidQuery, quote } from './errors'

/** What the query string of a channel request asks for (patchbay's parameters). */
export interface ChannelQuery {
  /** `?pubsub=true`: every waiting subscriber gets the message, the publisher does not wait. */
  readonly pubsub: boolean
  /** `?method=post&body=TEXT` on a GET: a producer a browser link can be. */
  readonly link: { readonly method: 'POST' | 'PUT', readonly body: string } | undefined
}

const PLAIN: ChannelQuery = Object.freeze({ pubsub: false, link: undefined })

/** Parses the query of a channel URL; unknown parameters (cache busters) are ignored. Throws 400. */
export function parseChannelQuery (url: string): ChannelQuery {
  const queryAt = url.indexOf('?')
  if (queryAt === -1) return PLAIN
  let params: URLSearchParams
  try {
    // URLSearchParams never throws on bad escapes; it keeps them. Check them ourselves.
    decodeURIComponent(url.slice(queryAt + 1).replace(/\+/g, ' '))
    params = new URLSearchParams(url.slice(queryAt + 1))
  } catch {
    throw invalidQuery('malformed percent-encoding in the query string')
  }
  const pubsub = flag('pubsub', params.get('pubsub'))
  const method = params.get('method')
  if (method === null) return { pubsub, link: undefined }
  const upper = method.toUpperCase()
  if (upper !== 'POST' && upper !== 'PUT') throw invalidQuery(`method must be post or put, got ${quote(method)}`)
  return { pubsub, link: { method: upper, body: params.get('body') ?? '' } }
}

function flag (name: string, value: string | null): boolean {
  if (value === null || value === 'false' || value === '0') return false
  if (value === 'true' || value === '1' || value === '') return true
  throw invalidQuery(`${name} must be true or false, got ${quote(value)}`)
}
