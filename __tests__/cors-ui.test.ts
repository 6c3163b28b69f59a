import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from '@jest/globals'
import { uiPage } from '../lib/ui'
import { adapters } from './helpers/app'
import { open, send, waitUntil } from './helpers/http'
import { useServer } from './helpers/use-server'

describe.each(adapters)('cors ($name)', ({ create }) => {
  const { start } = useServer(create, '/channels/ns/ch')

  it('answers a preflight without touching any channel', async () => {
    const { url, pipe } = await start({ cors: true })
    const res = await send(url, 'OPTIONS', undefined, {
      Origin: 'https://app.example',
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'content-type'
    })
    expect(res.status).toBe(204)
    expect(res.headers['access-control-allow-origin']).toBe('*')
    expect(res.headers['access-control-allow-methods']).toBe('GET, POST, PUT, DELETE')
    expect(res.headers['access-control-allow-headers']).toBe('Content-Type, Content-Disposition, Last-Event-ID')
    expect(res.headers['access-control-max-age']).toBe('600')
    expect(res.headers['x-content-type-options']).toBe('nosniff')
    expect(res.headers['content-security-policy']).toBe('sandbox')
    expect(pipe.stats()).toMatchObject({ channels: 0, waitingConsumers: 0, waitingProducers: 0 })
  })

  it('lets a cross-origin consumer read the message and the headers it needs', async () => {
    const { url, pipe } = await start({ cors: true })
    const consumer = open(url, 'GET', { Origin: 'https://app.example' })
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    const producer = await send(url, 'POST', 'x', { Origin: 'https://app.example', 'Content-Disposition': 'attachment; filename="x"' })
    expect(producer.headers['access-control-allow-origin']).toBe('*')
    const { headers } = await consumer.done
    expect(headers['access-control-allow-origin']).toBe('*')
    expect(headers['access-control-expose-headers']).toBe('Content-Disposition, X-Httpipe-Receivers')
  })

  it('allows only the configured origin when cors is an origin', async () => {
    const { url } = await start({ cors: 'https://app.example' })
    const allowed = await send(url, 'OPTIONS', undefined, { Origin: 'https://app.example', 'Access-Control-Request-Method': 'GET' })
    expect(allowed.status).toBe(204)
    expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example')
    expect(allowed.headers.vary).toBe('Origin')
    const other = await send(url, 'OPTIONS', undefined, { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'GET' })
    expect(other.status).toBe(405)
    expect(other.headers['access-control-allow-origin']).toBeUndefined()
  })

  it('sends no CORS headers and answers OPTIONS with 405 by default', async () => {
    const { url } = await start()
    const res = await send(url, 'OPTIONS', undefined, { Origin: 'https://app.example', 'Access-Control-Request-Method': 'GET' })
    expect(res.status).toBe(405)
    expect(res.headers['access-control-allow-origin']).toBeUndefined()
  })
})

describe.each(adapters)('ui ($name)', ({ create }) => {
  const { start } = useServer(create)

  it.each(['/channels', '/channels/'])('serves the page at %s to a browser, under its strict CSP', async path => {
    const { url } = await start({ ui: true })
    const res = await send(url + path, 'GET', undefined, { Accept: 'text/html,application/xhtml+xml' })
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(res.headers['content-security-policy']).toBe(uiPage().csp)
    expect(uiPage().csp).toMatch(/^default-src 'none'; script-src 'sha256-[A-Za-z0-9+/=]+'; style-src 'sha256-[A-Za-z0-9+/=]+'/)
    expect(uiPage().csp).not.toContain('unsafe')
    expect(res.body.toString()).toMatch(/^<!doctype html>/i)
  })

  it('serves no page with ui off (the router default), nor to clients not asking for HTML', async () => {
    const withoutUi = await start()
    expect((await send(`${withoutUi.url}/channels/`, 'GET', undefined, { Accept: 'text/html' })).status).toBe(404)
    await withoutUi.close()
    const withUi = await start({ ui: true })
    expect((await send(`${withUi.url}/channels/`, 'GET', undefined, { Accept: 'application/json' })).status).toBe(404)
  })
})

describe('the web page files', () => {
  it('inline the script and style that page.html links, and allow exactly those by hash', () => {
    const { html, csp } = uiPage()
    const text = html.toString()
    const style = readFileSync(join(__dirname, '..', 'lib', 'ui', 'page.css'), 'utf8')
    const template = readFileSync(join(__dirname, '..', 'lib', 'ui', 'page.html'), 'utf8')
    const names = [...template.matchAll(/<script src="([\w.-]+)"><\/script>/g)].map(match => match[1] as string)
    expect(names).toStrictEqual(['page-format.js', 'page-panel.js', 'page-send.js', 'page-receive.js', 'page-subscribe.js', 'page.js'])
    // The scripts, in page.html's order, as one script inside one function.
    const script = `(function () {\n${names.map(name => readFileSync(join(__dirname, '..', 'lib', 'ui', name), 'utf8')).join('\n')}})()\n`
    expect(text).toContain(`<style>${style}</style>`)
    expect(text).toContain(`<script>${script}</script>`)
    expect(text.match(/<script/g)).toHaveLength(1)
    expect(text).not.toContain('href="page.css"')
    expect(text).not.toContain(' src=')
    const hash = (source: string): string => `'sha256-${createHash('sha256').update(source).digest('base64')}'`
    expect(csp).toContain(`script-src ${hash(script)};`)
    expect(csp).toContain(`style-src ${hash(style)};`)
  })
})
