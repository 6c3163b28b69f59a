import { describe, expect, it } from '@jest/globals'
import { consumerContentType, consumerHeaders } from '../lib/consumer-headers'
import { SAFETY_HEADERS } from '../lib/response-headers'

describe('consumerHeaders(producerHeaders)', () => {
  it('sends exactly the type, the safety headers, and nothing else for a plain message', () => {
    expect(consumerHeaders({ 'content-type': 'text/plain' })).toStrictEqual({
      'Content-Type': 'text/plain',
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': 'sandbox',
      'Cache-Control': 'no-store, no-transform'
    })
  })

  it('passes Content-Length and Content-Disposition through', () => {
    expect(consumerHeaders({
      'content-type': 'application/pdf',
      'content-length': '12345',
      'content-disposition': 'attachment; filename="report 2024.pdf"'
    })).toStrictEqual({
      'Content-Type': 'application/pdf',
      'Content-Length': '12345',
      'Content-Disposition': 'attachment; filename="report 2024.pdf"',
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': 'sandbox',
      'Cache-Control': 'no-store, no-transform'
    })
  })

  it.each([
    ['application/pdf', undefined, 'attachment'],
    ['Application/PDF; x=1', undefined, 'attachment'],
    ['application/x-pdf', 'inline', 'attachment'],
    ['text/pdf', 'inline; filename="a.pdf"', 'attachment; filename="a.pdf"'],
    ['text/plain, application/pdf', undefined, 'attachment'],
    ['application/pdf', 'INLINE;filename*=UTF-8\'\'r%C3%A9sum%C3%A9.pdf', 'attachment;filename*=UTF-8\'\'r%C3%A9sum%C3%A9.pdf']
  ])('serves %j (Content-Disposition %j) as a download, %j: a PDF viewer ignores the sandbox', (type, disposition, expected) => {
    const producer = disposition === undefined ? { 'content-type': type } : { 'content-type': type, 'content-disposition': disposition }
    const headers = consumerHeaders(producer)
    expect(headers['Content-Disposition']).toBe(expected)
    expect(headers['Content-Type']).toBe(type)
  })

  it('passes a producer\'s attachment with an .html file name verbatim: a download opens from disk, not on the origin', () => {
    const headers = consumerHeaders({ 'content-type': 'text/html', 'content-disposition': 'attachment; filename="x.html"' })
    expect(headers['Content-Disposition']).toBe('attachment; filename="x.html"')
    expect(headers['Content-Type']).toBe('text/plain')
  })

  it('passes Content-Length "0" through', () => {
    expect(consumerHeaders({ 'content-length': '0' })['Content-Length']).toBe('0')
  })

  it('sets no Content-Length or Content-Disposition when the producer sent none', () => {
    const headers = consumerHeaders({ 'content-type': 'text/plain', 'transfer-encoding': 'chunked' })
    expect(Object.keys(headers).sort()).toStrictEqual(['Cache-Control', 'Content-Security-Policy', 'Content-Type', 'X-Content-Type-Options'])
  })

  it('forwards no other producer header', () => {
    const headers = consumerHeaders({
      'content-type': 'text/plain',
      cookie: 'session=secret',
      authorization: 'Bearer secret',
      'x-custom': '1',
      'content-encoding': 'gzip'
    })
    expect(Object.keys(headers).sort()).toStrictEqual(['Cache-Control', 'Content-Security-Policy', 'Content-Type', 'X-Content-Type-Options'])
  })

  it('sends the safety headers when the producer sent no headers at all', () => {
    expect(consumerHeaders({})).toStrictEqual({
      'Content-Type': 'application/octet-stream',
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': 'sandbox',
      'Cache-Control': 'no-store, no-transform'
    })
  })

  it('sends the safety headers with a rewritten text/html', () => {
    expect(consumerHeaders({ 'content-type': 'text/html', 'content-length': '5' })).toStrictEqual({
      'Content-Type': 'text/plain',
      'Content-Length': '5',
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': 'sandbox',
      'Cache-Control': 'no-store, no-transform'
    })
  })

  it('cannot be talked out of the safety headers by the producer', () => {
    const headers = consumerHeaders({
      'content-type': 'text/plain',
      'x-content-type-options': 'none',
      'content-security-policy': "default-src 'self'"
    })
    expect(headers['X-Content-Type-Options']).toBe('nosniff')
    expect(headers['Content-Security-Policy']).toBe('sandbox')
  })

  it('returns a new object each time', () => {
    const first = consumerHeaders({})
    first['Content-Security-Policy'] = 'none'
    expect(consumerHeaders({})['Content-Security-Policy']).toBe('sandbox')
  })
})

describe('SAFETY_HEADERS', () => {
  it('holds nosniff and the sandbox policy', () => {
    expect(SAFETY_HEADERS).toMatchObject({ 'X-Content-Type-Options': 'nosniff', 'Content-Security-Policy': 'sandbox' })
  })

  it('is frozen', () => {
    expect(Object.isFrozen(SAFETY_HEADERS)).toBe(true)
  })
})

describe('consumerContentType(contentType)', () => {
  describe('without a chosen type', () => {
    it('uses application/octet-stream when the type is missing', () => {
      expect(consumerContentType(undefined)).toBe('application/octet-stream')
    })

    it('uses application/octet-stream when the type is empty', () => {
      expect(consumerContentType('')).toBe('application/octet-stream')
    })

    it('uses application/octet-stream when the type is blank', () => {
      expect(consumerContentType('  \t')).toBe('application/octet-stream')
    })

    it.each([
      'application/x-www-form-urlencoded',
      'APPLICATION/X-WWW-FORM-URLENCODED',
      'Application/X-Www-Form-Urlencoded',
      'application/x-www-form-urlencoded; charset=UTF-8',
      'application/x-www-form-urlencoded;charset=utf-8',
      ' application/x-www-form-urlencoded ; charset=utf-8'
    ])('uses application/octet-stream for %j (what curl -d sends)', contentType => {
      expect(consumerContentType(contentType)).toBe('application/octet-stream')
    })
  })

  describe('byte-for-byte passthrough', () => {
    it.each([
      'text/plain',
      'application/json',
      'application/octet-stream',
      'image/png',
      'application/pdf',
      'multipart/form-data; boundary=----abc',
      'application/json;charset=utf-8',
      'application/json ;  charset = "utf-8"',
      'Text/Plain',
      'text/plain; charset=ISO-8859-1',
      'application/vnd.api+json',
      'application/x-www-form-urlencoded-not',
      'text/htmlx',
      'application/xml-dtd',
      'image/svg'
    ])('keeps %j as it is', contentType => {
      expect(consumerContentType(contentType)).toBe(contentType)
    })

    it('adds no charset to text/plain', () => {
      expect(consumerContentType('text/plain')).toBe('text/plain')
    })
  })

  describe('types a browser would execute', () => {
    it.each([
      ['text/html', 'text/plain'],
      ['TEXT/HTML', 'text/plain'],
      ['Text/Html', 'text/plain'],
      ['TEXT/HTML; charset=utf-8', 'text/plain; charset=utf-8'],
      ['text/html;charset=UTF-8', 'text/plain;charset=UTF-8'],
      ['text/html ; charset=utf-8', 'text/plain; charset=utf-8'],
      ['  text/html', 'text/plain'],
      ['application/xhtml+xml', 'text/plain'],
      ['Application/XHTML+XML; charset=utf-8', 'text/plain; charset=utf-8'],
      ['image/svg+xml', 'text/plain'],
      ['IMAGE/SVG+XML', 'text/plain'],
      ['text/xml', 'text/plain'],
      ['application/xml', 'text/plain'],
      ['application/xml; charset=utf-8', 'text/plain; charset=utf-8'],
      ['text/xsl', 'text/plain'],
      ['application/xslt+xml', 'text/plain'],
      ['application/atom+xml', 'text/plain'],
      ['application/rss+xml; charset=utf-8', 'text/plain; charset=utf-8'],
      ['application/mathml+xml', 'text/plain'],
      ['APPLICATION/VND.CUSTOM+XML', 'text/plain']
    ])('serves %j as %j', (contentType, expected) => {
      expect(consumerContentType(contentType)).toBe(expected)
    })

    // Browsers split Content-Type on commas and use the last valid type (Fetch, "extract a MIME
    // type"; web-platform-tests fetch/content-type/resources/content-types.json), so a list that
    // ends in text/html would be rendered as HTML.
    it.each([
      'text/plain, text/html',
      'text/plain;charset=gbk, text/html',
      'text/plain, text/html; charset=utf-8',
      'application/json,text/xml',
      'text/html, text/plain'
    ])('serves the list %j as text/plain, since a browser renders its last type', contentType => {
      expect(consumerContentType(contentType)).toBe('text/plain')
    })

    it('passes a list of harmless types through byte for byte', () => {
      expect(consumerContentType('text/plain, application/json')).toBe('text/plain, application/json')
    })

    // With nosniff, <script src> and workers need a JavaScript type: text/plain keeps a channel
    // from serving script to the host's own pages (a gadget around script-src 'self').
    it.each([
      ['application/javascript', 'text/plain'],
      ['text/javascript; charset=utf-8', 'text/plain; charset=utf-8'],
      ['Text/ECMAScript', 'text/plain'],
      ['application/x-javascript', 'text/plain']
    ])('serves the script type %j as %j', (contentType, expected) => {
      expect(consumerContentType(contentType)).toBe(expected)
    })

    it('keeps every parameter of a rewritten type as it was', () => {
      expect(consumerContentType('text/html; charset="utf-8"; foo=Bar')).toBe('text/plain; charset="utf-8"; foo=Bar')
    })
  })
})
