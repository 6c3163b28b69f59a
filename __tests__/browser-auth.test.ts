import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, BrowserContext } from 'playwright-core'
import { createToken } from '../lib/token-file'
import { HAS_CHROMIUM, launchChromium, openUi, type UiPage } from './helpers/browser'
import { send } from './helpers/http'
import { startStandalone, type Standalone } from './helpers/standalone'

// The page against the standalone server with --auth, in Debian's chromium: the token field,
// Bearer on requests, ?token= on EventSource, and what a refusal looks like.

const describeInBrowser = HAS_CHROMIUM ? describe : describe.skip
const title = HAS_CHROMIUM ? 'the page with tokens (chromium)' : 'the page with tokens: SKIPPED because /usr/bin/chromium does not exist'

describeInBrowser(title, () => {
  const full = createToken({ namespace: 'ui', allow: ['read', 'write'] })
  const readOnly = createToken({ namespace: 'ui', allow: ['read'] })
  let browser: Browser | undefined
  let server: Standalone | undefined
  let dir = ''
  const contexts: BrowserContext[] = []

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'httpipe-ui-auth-'))
    const file = join(dir, 'tokens.json')
    await writeFile(file, JSON.stringify({ tokens: [full.entry, readOnly.entry] }))
    ;[browser, server] = await Promise.all([launchChromium(), startStandalone(['--auth', file])])
  }, 30_000)
  afterEach(async () => { await Promise.all(contexts.splice(0).map(async context => { await context.close() })) })
  afterAll(async () => {
    await browser?.close()
    await server?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  async function openChannel (channel: string): Promise<UiPage> {
    if (browser === undefined || server === undefined) throw new Error('beforeAll did not finish')
    return await openUi(browser, `${server.url}/channels/#ui/${channel}`, context => { contexts.push(context) })
  }

  it('says a token is needed on 401, and that it does not allow this on 403', async () => {
    const { page } = await openChannel('refused')
    await page.click('#send')
    await page.locator('#send-status[data-state="error"]').waitFor()
    expect(await page.textContent('#send-status')).toMatch(/^Access refused \(401\): this server needs an access token: enter it under Channel\. a token is needed/)
    await page.fill('#token', readOnly.token)
    await page.click('#send')
    await page.locator('#send-status[data-state="error"]', { hasText: '403' }).waitFor()
    expect(await page.textContent('#send-status')).toMatch(/^Access refused \(403\): the access token does not allow this on this channel\. the token does not allow write here/)
  })

  it('sends with Bearer, keeps the token for the tab across a reload, and subscribes live with ?token=', async () => {
    const { page } = await openChannel('live')
    await page.fill('#token', full.token)
    await page.reload()
    await page.locator('html[data-ready="true"]').waitFor({ state: 'attached' })
    expect(await page.inputValue('#token')).toBe(full.token)
    expect(await page.evaluate("sessionStorage.getItem('httpipe-token')")).toBe(full.token)

    await page.check('#pubsub')
    await page.click('#subscribe')
    await page.locator('#subscribe-status[data-state="ok"]').waitFor()
    const published = await send(`${server?.url ?? ''}/channels/ui/live?pubsub=true`, 'POST', 'hello with a token', { Authorization: `Bearer ${full.token}` })
    expect(published.headers['x-httpipe-receivers']).toBe('1')
    await page.locator('#messages li', { hasText: 'hello with a token' }).waitFor()

    // And a queue-mode send from the page, taken by curl-like client with the token in the query.
    await page.uncheck('#pubsub')
    await page.fill('#text', 'from the page')
    await page.click('#send')
    const received = await send(`${server?.url ?? ''}/channels/ui/live?token=${encodeURIComponent(full.token)}`, 'GET')
    expect(received.body.toString()).toBe('from the page')
    await page.locator('#send-status[data-state="ok"]').waitFor()
  })

  it('reports a refused subscription clearly', async () => {
    const { page } = await openChannel('nosub')
    await page.check('#pubsub')
    await page.click('#subscribe')
    await page.locator('#subscribe-status[data-state="error"]').waitFor()
    expect(await page.textContent('#subscribe-status')).toContain('whether this server needs an access token')
  })
})
