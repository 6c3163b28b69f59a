import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http'

const DEFAULT_TYPE = 'application/octet-stream'

// What `curl -d` sends unasked: the producer did not choose it, so it says nothing about the bytes.
const UNCHOSEN_TYPES = new Set(['application/x-www-form-urlencoded'])

// Types a browser renders as a document that can run script. The router lives on someone else's
// origin, so such a message must never be served as what it claims to be.
const EXECUTABLE_TYPES = new Set(['text/html', 'application/xhtml+xml', 'image/svg+xml', 'text/xml', 'application/xml', 'text/xsl', 'application/xslt+xml'])

/** Headers sent to every consumer of a message, whatever the producer sent (SPEC §3). */
export const SAFETY_HEADERS: Readonly<OutgoingHttpHeaders> = Object.freeze({
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': 'sandbox',
  'Cache-Control': 'no-store'
})

/** The consumer's response headers for a message sent with `producerHeaders`. */
export function consumerHeaders (producerHeaders: IncomingHttpHeaders): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {
    'Content-Type': consumerContentType(producerHeaders['content-type']),
    ...SAFETY_HEADERS
  }
  const length = producerHeaders['content-length']
  if (length !== undefined) headers['Content-Length'] = length
  const disposition = producerHeaders['content-disposition']
  if (disposition !== undefined) headers['Content-Disposition'] = disposition
  return headers
}

/**
 * The producer's `Content-Type`, byte for byte, except: missing or form-encoded becomes
 * `application/octet-stream`; a type a browser would execute becomes `text/plain` with the
 * original parameters kept.
 */
export function consumerContentType (contentType: string | undefined): string {
  if (contentType === undefined || contentType.trim() === '') return DEFAULT_TYPE
  const semicolon = contentType.indexOf(';')
  const mediaType = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase()
  if (UNCHOSEN_TYPES.has(mediaType)) return DEFAULT_TYPE
  if (EXECUTABLE_TYPES.has(mediaType) || mediaType.endsWith('+xml')) {
    return semicolon === -1 ? 'text/plain' : 'text/plain' + contentType.slice(semicolon)
  }
  return contentType
}
