import { invalidName, quote } from './errors'

export const MAX_SEGMENT_LENGTH = 256

/** Names never contain `/`, so joining them with one is unambiguous. */
export function channelKey (namespace: string, channel: string): string {
  return `${namespace}/${channel}`
}

/** A path segment, percent-decoded and validated ({@link validateName}). */
export function decodeSegment (segment: 'namespace' | 'channel', raw: string): string {
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
