import { describe, expect, it } from '@jest/globals'
import { namespaceNotFound, quote, routeNotFound } from '../lib/errors'

describe('quote(value)', () => {
  it('is JSON.stringify() for printable text, non-ASCII included', () => {
    expect(quote('a "b" \\ café 日本 😀')).toBe(JSON.stringify('a "b" \\ café 日本 😀'))
  })

  it.each([
    ['DEL', '\u007f', '\\u007f'],
    ['C1 NEL', '\u0085', '\\u0085'],
    ['C1 CSI', '\u009b', '\\u009b'],
    ['RIGHT-TO-LEFT OVERRIDE', '\u202e', '\\u202e'],
    ['FIRST STRONG ISOLATE', '\u2068', '\\u2068'],
    ['ZERO WIDTH SPACE', '\u200b', '\\u200b'],
    ['BYTE ORDER MARK', '\ufeff', '\\ufeff'],
    ['LINE SEPARATOR', '\u2028', '\\u2028'],
    ['a TAG character (astral)', '\u{e0041}', '\\udb40\\udc41']
  ])('escapes %s, which JSON.stringify() leaves raw', (_, char, escaped) => {
    expect(quote(`a${char}b`)).toBe(`"a${escaped}b"`)
  })

  it('keeps JSON.stringify()\'s escapes of C0 and lone surrogates', () => {
    expect(quote('\u0000\n\u001b\ud800')).toBe('"\\u0000\\n\\u001b\\ud800"')
  })
})

describe('messages that echo what a client sent', () => {
  it('escape DEL, C1 and bidirectional controls in a path', () => {
    expect(routeNotFound('/a/b/\u007f\u0085\u202e').message)
      .toBe('no route for "/a/b/\\u007f\\u0085\\u202e": use /{namespace}/{channel}, /{namespace} or /namespaces')
  })

  it('escape them in a namespace name', () => {
    expect(namespaceNotFound('x\u009by').message).toBe('namespace "x\\u009by" has no channels')
  })
})
