// @ts-check
// Formatting and parsing for the web page (option `ui`): sizes, error texts, names, file names.
// page.html loads the page's scripts in order, as classic scripts sharing one scope; ui.ts inlines
// them, in that order, into one script inside one function, allowed by its hash in the page's CSP
// (so none may hold a closing script tag). What comes from the network is shown through
// textContent, never parsed as HTML, and listeners go through addEventListener (the CSP blocks
// inline handlers).
/* global hasToken */
/* exported formatBytes, errorText, contentDisposition, filenameFrom, isText, charsetOf, nameProblem, randomName */
'use strict'

/** @param {number} n */
function formatBytes (n) {
  if (n < 1024) return n + ' B'
  const units = ['KB', 'MB', 'GB', 'TB']
  let i = -1
  do {
    n /= 1024
    i++
  } while (n >= 1024 && i < units.length - 1)
  return n.toFixed(n < 10 ? 1 : 0) + ' ' + units[i]
}

/**
 * @param {number} status
 * @param {string} statusText
 * @param {string} body
 */
function errorText (status, statusText, body) {
  const message = body.trim() || statusText || 'Request failed'
  if (status === 401) return 'Access refused (401): ' + (hasToken() ? 'the access token was not accepted' : 'this server needs an access token: enter it under Channel') + '. ' + message
  if (status === 403) return 'Access refused (403): the access token does not allow this on this channel. ' + message
  return 'Error ' + status + ': ' + message
}

/**
 * attachment; filename="ascii fallback"; filename*=UTF-8''percent-encoded (RFC 6266, RFC 8187)
 * @param {string} name
 */
function contentDisposition (name) {
  const fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, '_')
  const encoded = encodeURIComponent(name).replace(/['()*]/g, c => '%' + c.charCodeAt(0).toString(16).toUpperCase())
  return 'attachment; filename="' + fallback + '"; filename*=UTF-8\'\'' + encoded
}

/** @param {string} name */
function safeFilename (name) {
  // eslint-disable-next-line no-control-regex -- control characters never belong in a file name
  return name.replace(/[/\\\u0000-\u001f\u007f]/g, '_').replace(/^[.\s]+/, '').trim().slice(0, 200)
}

/**
 * The file name of a Content-Disposition header: filename* first, then filename.
 * @param {string | null} header
 */
function filenameFrom (header) {
  if (!header) return ''
  const star = /(?:^|;)\s*filename\*\s*=\s*([^;]*)/i.exec(header)
  const parts = star && /^\s*([^']*)'[^']*'(.*?)\s*$/.exec(star[1] ?? '')
  if (parts) {
    const charset = (parts[1] ?? '').toLowerCase()
    const encoded = parts[2] ?? ''
    try {
      if (charset === 'utf-8') return safeFilename(decodeURIComponent(encoded))
      if (charset === 'iso-8859-1') {
        return safeFilename(encoded.replace(/%([0-9a-f]{2})/gi, (_all, hex) => String.fromCharCode(parseInt(hex, 16))))
      }
    } catch (err) {}
  }
  const quoted = /(?:^|;)\s*filename\s*=\s*"((?:[^"\\]|\\.)*)"/i.exec(header)
  if (quoted) return safeFilename((quoted[1] ?? '').replace(/\\(.)/g, '$1'))
  const token = /(?:^|;)\s*filename\s*=\s*([^;\s]+)/i.exec(header)
  if (token) return safeFilename(token[1] ?? '')
  return ''
}

/** @param {string} type */
function isText (type) {
  return /^text\//i.test(type) || /^application\/(json|[^;]*\+json)\s*(;|$)/i.test(type)
}

/** @param {string} type */
function charsetOf (type) {
  const match = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(type)
  return match?.[1] ?? 'utf-8'
}

/**
 * @param {string} label
 * @param {string} value
 */
function nameProblem (label, value) {
  if (value === '') return 'Enter a ' + label + '.'
  if (value === '.' || value === '..') return 'The ' + label + ' cannot be "." or ".." (a browser rewrites them in URLs).'
  if (value.indexOf('/') !== -1) return 'The ' + label + ' cannot contain "/".'
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f-\u009f]/.test(value)) return 'The ' + label + ' cannot contain control characters.'
  if (Array.from(value).length > 256) return 'The ' + label + ' is longer than 256 characters.'
  return ''
}

function randomName () {
  const alphabet = 'abcdefghijkmnpqrstuvwxyz23456789'
  const bytes = new Uint8Array(10)
  crypto.getRandomValues(bytes)
  let name = ''
  for (const byte of bytes) name += alphabet.charAt(byte % alphabet.length)
  return name
}
