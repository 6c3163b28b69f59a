import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http'
import { SAFETY_HEADERS } from './response-headers'

const DEFAULT_TYPE = 'application/octet-stream'

// What `curl -d` sends unasked: the producer did not choose it, so it says nothing about the bytes.
const UNCHOSEN_TYPES = new Set(['application/x-www-form-urlencoded'])

// Types a browser runs on the router's origin, which is someone else's: documents that can hold
// script, and script itself (with nosniff, a `<script src>` or worker needs a JavaScript type, so
// serving those as text/plain keeps a channel from being a gadget around a `script-src 'self'`).
const EXECUTABLE_TYPES = new Set([
  'text/html', 'application/xhtml+xml', 'image/svg+xml', 'text/xml', 'application/xml', 'text/xsl', 'application/xslt+xml',
  'text/javascript', 'application/javascript', 'application/ecmascript', 'text/ecmascript', 'application/x-javascript',
  'text/x-javascript', 'application/x-ecmascript', 'text/jscript', 'text/livescript', 'text/javascript1.0', 'text/javascript1.1',
  'text/javascript1.2', 'text/javascript1.3', 'text/javascript1.4', 'text/javascript1.5', 'text/x-ecmascript', 'module'
])

// Types a browser hands to a built-in viewer instead of rendering them as a document: Chromium's
// PDF viewer ignores `Content-Security-Policy: sandbox` and runs with the host's origin (its
// `document.cookie` was readable). Served as a download, they never open on the origin.
const VIEWER_TYPES = new Set(['application/pdf', 'application/x-pdf', 'text/pdf'])

/** The consumer's response headers for a message sent with `producerHeaders`. */
export function consumerHeaders (producerHeaders: IncomingHttpHeaders): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {
    'Content-Type': consumerContentType(producerHeaders['content-type']),
    ...SAFETY_HEADERS
  }
  const disposition = producerHeaders['content-disposition']
  if (opensInViewer(headers['Content-Type'] as string)) headers['Content-Disposition'] = asAttachment(disposition)
  else if (disposition !== undefined) headers['Content-Disposition'] = disposition
  // Last: Node 20 refuses a header value with bytes 0x80-0x9f (UTF-8 text read as latin1, as
  // in a filename) once Content-Length is set, yet passes it byte for byte when set before.
  const length = producerHeaders['content-length']
  if (length !== undefined) headers['Content-Length'] = length
  return headers
}

/**
 * The producer's `Content-Type`, byte for byte, except: missing or form-encoded becomes
 * `application/octet-stream`; a type a browser would execute becomes `text/plain` with the
 * original parameters kept.
 */
export function consumerContentType (contentType: string | undefined): string {
  if (contentType === undefined || contentType.trim() === '') return DEFAULT_TYPE
  // Browsers read `a, b` as a list and use its last valid type, so every member must be safe.
  if (contentType.includes(',')) {
    return contentType.split(',').some(member => isExecutable(mediaTypeOf(member))) ? 'text/plain' : contentType
  }
  const mediaType = mediaTypeOf(contentType)
  if (UNCHOSEN_TYPES.has(mediaType)) return DEFAULT_TYPE
  if (isExecutable(mediaType)) {
    const semicolon = contentType.indexOf(';')
    return semicolon === -1 ? 'text/plain' : 'text/plain' + contentType.slice(semicolon)
  }
  return contentType
}

function mediaTypeOf (contentType: string): string {
  const semicolon = contentType.indexOf(';')
  return (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase()
}

function isExecutable (mediaType: string): boolean {
  return EXECUTABLE_TYPES.has(mediaType) || mediaType.endsWith('+xml')
}

/** True when a browser would show the type in a built-in viewer (any member of a list). */
function opensInViewer (contentType: string): boolean {
  if (!contentType.includes(',')) return VIEWER_TYPES.has(mediaTypeOf(contentType))
  return contentType.split(',').some(member => VIEWER_TYPES.has(mediaTypeOf(member)))
}

/**
 * The producer's `Content-Disposition` with its type forced to `attachment`, its parameters (the
 * file name) kept; plain `attachment` when it sent none.
 */
function asAttachment (disposition: string | undefined): string {
  if (disposition === undefined) return 'attachment'
  const semicolon = disposition.indexOf(';')
  return semicolon === -1 ? 'attachment' : 'attachment' + disposition.slice(semicolon)
}
