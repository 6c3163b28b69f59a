import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { uiPage } from '../lib/ui'
import { makeCertificate } from './helpers/certificate'
import { HAS_CHROMIUM, launchChromium, openUi, type UiPage } from './helpers/browser'
import { send, waitUntil } from './helpers/http'
import { startStandalone, type Standalone } from './helpers/standalone'

// End-to-end: the standalone server's own page (option `ui`) in Debian's chromium, driven by
// playwright-core. Two browser contexts play two devices sharing a channel link.

const describeInBrowser = HAS_CHROMIUM ? describe : describe.skip
const title = HAS_CHROMIUM
  ? 'browser UI (chromium)'
  : 'browser UI: SKIPPED because /usr/bin/chromium does not exist (apt-get install chromium)'

// Each test runs against the plain server, and once more over HTTPS (HTTP/2 by ALPN, as chromium
// negotiates it) with a certificate made at test time.
const certificates = mkdtempSync(join(tmpdir(), 'httpipe-browser-tls-'))
afterAll(() => { rmSync(certificates, { recursive: true, force: true }) })
const SERVERS: ReadonlyArray<readonly [string, () => string[]]> = [
  ['HTTP/1.1', () => []],
  ['HTTPS and HTTP/2', () => {
    const [cert, key] = [join(certificates, 'cert.pem'), join(certificates, 'key.pem')]
    makeCertificate(cert, key)
    return ['--tls-cert', cert, '--tls-key', key]
  }]
]

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex')

describe.each(SERVERS)('%s', (_, serverArgs) => describeInBrowser(title, () => {
  let browser: Browser | undefined
  let server: Standalone | undefined
  const contexts: BrowserContext[] = []

  beforeAll(async () => {
    [browser, server] = await Promise.all([launchChromium(), startStandalone(serverArgs())])
  }, 30_000)

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map(async context => { await context.close() }))
  })

  afterAll(async () => {
    await browser?.close()
    await server?.stop()
  })

  /** The page at `/channels/` (or `/channels` with `slash: false`) opened on channel `ns/ch`. */
  async function openChannel (namespace: string, channel: string, { slash = true, width = 800 } = {}): Promise<UiPage> {
    if (browser === undefined || server === undefined) throw new Error('beforeAll did not finish')
    const hash = `#${encodeURIComponent(namespace)}/${encodeURIComponent(channel)}`
    return await openUi(browser, `${server.url}/channels${slash ? '/' : ''}${hash}`, context => { contexts.push(context) }, { width, height: 900 })
  }

  async function sendText (page: Page, text: string): Promise<void> {
    await page.locator('#text').fill(text)
    await page.locator('#send').click()
  }

  async function waitForSent (page: Page): Promise<string> {
    await page.locator('#send-status[data-state="ok"]').waitFor()
    return await page.locator('#send-status').innerText()
  }

  /** Resolves once the server lists no channel in `namespace` any more (nothing waits there). */
  async function waitUntilNamespaceEmpty (namespace: string): Promise<void> {
    const listing = `${server?.url ?? ''}/channels/${encodeURIComponent(namespace)}`
    await waitUntil(async () => (await send(listing, 'GET')).status === 404, 5000, `namespace ${namespace} to have no channels`)
  }

  it('sends a text message from one page to another, shown exactly and never as HTML', async () => {
    const namespace = 'tést'
    const channel = `text ${randomUUID().slice(0, 8)}`
    const sender = await openChannel(namespace, channel)
    // Served at /channels (no trailing slash) too: the page derives the API base from its path.
    const receiver = await openChannel(namespace, channel, { slash: false, width: 360 })
    // The hash link names the channel in both pages.
    expect(await receiver.page.locator('#namespace').inputValue()).toBe(namespace)
    expect(await receiver.page.locator('#channel').inputValue()).toBe(channel)

    const text = 'Grüße <b>not bold</b> & "quotes" 🎉\nsecond line\n'
    await sendText(sender.page, text)
    await sender.page.locator('#send-status[data-state="busy"]').waitFor()
    expect(await sender.page.locator('#send-status').innerText()).toMatch(/waiting for a receiver/i)

    await receiver.page.locator('#receive').click()
    await receiver.page.locator('#received-text').waitFor()
    expect(await receiver.page.locator('#received-text').textContent()).toBe(text)
    expect(await receiver.page.locator('#received-text b').count()).toBe(0)
    expect(await waitForSent(sender.page)).toMatch(/^Sent/)

    expect(sender.problems).toEqual([])
    expect(receiver.problems).toEqual([])
  })

  it('hands a 2 MB binary file over with identical bytes and its file name', async () => {
    const namespace = 'files'
    const channel = `file-${randomUUID().slice(0, 8)}`
    const name = 'rapport été (v2).bin'
    const payload = randomBytes(2 * 1024 * 1024 + 123)
    const sender = await openChannel(namespace, channel)
    const receiver = await openChannel(namespace, channel)

    await sender.page.locator('#file').setInputFiles({ name, mimeType: 'application/octet-stream', buffer: payload })
    expect(await sender.page.locator('#send').innerText()).toBe('Send file')
    await sender.page.locator('#send').click()

    await receiver.page.locator('#receive').click()
    const link = receiver.page.locator('#download-link[href]')
    await link.waitFor()
    expect(await link.textContent()).toBe(name)
    expect(await link.getAttribute('download')).toBe(name)
    expect(await receiver.page.locator('#receive-status').innerText()).toContain(name)
    expect(await receiver.page.locator('#received-text').isHidden()).toBe(true)

    const [download] = await Promise.all([receiver.page.waitForEvent('download'), link.click()])
    expect(download.suggestedFilename()).toBe(name)
    expect(sha256(await readFile(await download.path()))).toBe(sha256(payload))

    expect(await waitForSent(sender.page)).toContain(name)
    // Both progress bars ended full.
    for (const [page, bar] of [[sender.page, '#upload-progress'], [receiver.page, '#download-progress']] as const) {
      // A <progress> reflects its value and max properties in its attributes.
      const value = await page.locator(bar).getAttribute('value')
      expect(value).not.toBeNull()
      expect(value).toBe(await page.locator(bar).getAttribute('max'))
    }
    expect(sender.problems).toEqual([])
    expect(receiver.problems).toEqual([])
  })

  it('receives three messages in order over one live EventSource subscription', async () => {
    const namespace = 'live'
    const channel = `sse-${randomUUID().slice(0, 8)}`
    const sender = await openChannel(namespace, channel)
    const subscriber = await openChannel(namespace, channel)

    await subscriber.page.locator('#subscribe').click()
    const messages = ['first', 'second: <i>not italic</i>\nand a second line', 'third ✓']
    for (const message of messages) {
      // Each send waits for the subscription to take it, so the order is the sending order.
      await sendText(sender.page, message)
      await waitForSent(sender.page)
    }
    const items = subscriber.page.locator('#messages li')
    await items.nth(messages.length - 1).waitFor()
    expect(await items.allTextContents()).toEqual(messages)
    expect(await subscriber.page.locator('#messages i').count()).toBe(0)
    expect(await subscriber.page.locator('#subscribe-status').innerText()).toMatch(/^3 messages received/)

    await subscriber.page.locator('#unsubscribe').click()
    expect(await subscriber.page.locator('#subscribe-status').innerText()).toBe('Stopped.')
    expect(await subscriber.page.locator('#subscribe').isEnabled()).toBe(true)
    expect(sender.problems).toEqual([])
    expect(subscriber.problems).toEqual([])
  })

  it('serves the page with its strict CSP header, and runs with no CSP violation', async () => {
    const channel = `csp-${randomUUID().slice(0, 8)}`
    const { page, response, problems, violations } = await openChannel('csp', channel)
    const headers = response.headers()
    expect(response.status()).toBe(200)
    expect(headers['content-type']).toMatch(/^text\/html/)
    expect(headers['content-security-policy']).toBe(uiPage().csp)
    expect(uiPage().csp).toMatch(/^default-src 'none'; script-src 'sha256-[A-Za-z0-9+/]+=*'; style-src 'sha256-[A-Za-z0-9+/]+=*';/)
    expect(uiPage().csp).not.toMatch(/unsafe/)

    // The inline script ran (it marks the document ready) and the inline style applies.
    expect(await page.evaluate('getComputedStyle(document.querySelector("main")).maxWidth')).not.toBe('none')

    // Exercise what does not need a peer: names in the hash, a refused name, a wait and its cancel.
    await page.locator('#channel').fill(`${channel} renamed`)
    expect(await page.evaluate('location.hash')).toBe(`#csp/${encodeURIComponent(`${channel} renamed`)}`)
    await page.locator('#namespace').fill('')
    await page.locator('#receive').click()
    expect(await page.locator('#receive-status[data-state="error"]').innerText()).toBe('Enter a namespace.')
    await page.locator('#namespace').fill('csp')
    await page.locator('#receive').click()
    await page.locator('#receive-status[data-state="busy"]').waitFor()
    await page.locator('#receive-abort').click()
    expect(await page.locator('#receive-status').innerText()).toBe('Cancelled.')

    expect(await violations()).toEqual([])
    expect(problems).toEqual([])

    // The policy is really enforced: an injected inline script is blocked and reported.
    await page.evaluate(`(() => {
      const script = document.createElement('script')
      script.textContent = 'window.injected = true'
      document.body.appendChild(script)
    })()`)
    await page.waitForFunction('window.cspViolations.length > 0')
    expect(await violations()).toEqual(['script-src-elem blocked inline'])
    expect(await page.evaluate('window.injected')).toBeUndefined()
  })

  it('cancels a waiting send so that it is never delivered', async () => {
    const namespace = `cancel-${randomUUID().slice(0, 8)}`
    const sender = await openChannel(namespace, 'ch')
    const receiver = await openChannel(namespace, 'ch')
    await sendText(sender.page, 'cancelled')
    await sender.page.locator('#send-status[data-state="busy"]').waitFor()
    await sender.page.locator('#send-abort').click()
    expect(await sender.page.locator('#send-status').innerText()).toBe('Cancelled.')
    await waitUntilNamespaceEmpty(namespace)

    await receiver.page.locator('#receive').click()
    await receiver.page.locator('#receive-status[data-state="busy"]').waitFor()
    const produced = await send(`${server?.url ?? ''}/channels/${namespace}/ch`, 'POST', 'delivered', { 'Content-Type': 'text/plain; charset=utf-8' })
    expect(produced.status).toBe(200)
    await receiver.page.locator('#received-text').waitFor()
    expect(await receiver.page.locator('#received-text').textContent()).toBe('delivered')
    expect(receiver.problems).toEqual([])
  })
}))
