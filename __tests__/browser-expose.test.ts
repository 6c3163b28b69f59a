import { spawn } from 'node:child_process'
import { once } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import express from 'express'
import type { Browser } from 'playwright-core'
import { httpipe } from '../lib'
import { HAS_CHROMIUM, launchChromium } from './helpers/browser'
import { listen, type Listening } from './helpers/http'
import { CLI } from './helpers/standalone'
import { staticSite } from './helpers/static-site'

// A page served through `httpipe expose` runs on the host's origin only in name: its sandbox
// (Content-Security-Policy: sandbox without allow-same-origin) gives it an opaque origin, so its
// script can read neither the host's cookies nor its localStorage, while the page, its script,
// stylesheet and image load as from any web server.

const describeInBrowser = HAS_CHROMIUM ? describe : describe.skip
const title = HAS_CHROMIUM
  ? 'a page through httpipe expose (chromium)'
  : 'a page through httpipe expose: SKIPPED because /usr/bin/chromium does not exist (apt-get install chromium)'

const HOST_PAGE = '<!doctype html><title>host</title><script>localStorage.setItem("secret", "host-storage"); document.cookie = "hostcookie=host-cookie; path=/"; document.documentElement.dataset.ready = "true"</script>'

describeInBrowser(title, () => {
  let browser: Browser | undefined
  let relay: Listening | undefined
  let site: Listening | undefined
  let stopExpose: (() => Promise<void>) | undefined
  const cookiesSeen: Array<string | undefined> = []

  beforeAll(async () => {
    // The host: an Express app with a page of its own, the mode mounted at the root.
    const pipe = httpipe()
    const app = express()
    app.get('/host', (_req, res) => { res.type('html').send(HOST_PAGE) })
    app.use(pipe.reqres)
    ;[browser, relay, site] = await Promise.all([
      launchChromium(),
      listen(app),
      listen((req: IncomingMessage, res: ServerResponse) => {
        cookiesSeen.push(req.headers.cookie)
        staticSite(req, res)
      })
    ])
    const child = spawn(process.execPath, [CLI, 'expose', '--to', site.url, '--workers', '4', `${relay.url}/res/dev/site`], { stdio: ['ignore', 'pipe', 'inherit'] })
    const exited = once(child, 'exit')
    stopExpose = async () => {
      if (child.exitCode === null) child.kill('SIGTERM')
      await exited
    }
    await new Promise<void>(resolve => { child.stdout.on('data', (chunk: Buffer) => { if (chunk.toString().includes('forwarding')) resolve() }) })
    await new Promise<void>(resolve => { const poll = (): void => { if (pipe.stats().reqres.waitingResponders === 4) resolve(); else setImmediate(poll) }; poll() })
  }, 30_000)

  afterAll(async () => {
    await stopExpose?.()
    await browser?.close()
    await relay?.close()
    await site?.close()
  })

  it('loads the page, its script, stylesheet and image; the script reads neither the host\'s cookies nor its localStorage', async () => {
    if (browser === undefined || relay === undefined) throw new Error('beforeAll did not finish')
    const context = await browser.newContext()
    try {
      context.setDefaultTimeout(10_000)
      const page = await context.newPage()
      await page.goto(`${relay.url}/host`)
      await page.locator('html[data-ready="true"]').waitFor({ state: 'attached' })
      expect(await page.evaluate('[document.cookie, localStorage.getItem("secret")]')).toEqual(['hostcookie=host-cookie', 'host-storage'])

      const response = await page.goto(`${relay.url}/req/dev/site/index.html`)
      expect(response?.status()).toBe(200)
      expect(response?.headers()['content-security-policy']).toBe('sandbox allow-scripts allow-forms allow-popups allow-downloads')
      await page.locator('html[data-ready="true"]').waitFor({ state: 'attached' })
      const report = JSON.parse(await page.locator('#out').textContent() ?? '{}') as Record<string, unknown>
      expect(report).toEqual({
        cookie: 'blocked: SecurityError',
        storage: 'blocked: SecurityError',
        origin: 'null',
        color: 'rgb(1, 2, 3)',
        image: 1
      })
      // Nor does the host's cookie reach the local server: the relay never passes Cookie on.
      expect(cookiesSeen.length).toBeGreaterThanOrEqual(4)
      expect(cookiesSeen.every(cookie => cookie === undefined)).toBe(true)
    } finally {
      await context.close()
    }
  })
})
