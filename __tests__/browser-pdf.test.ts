import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import type { Browser } from 'playwright-core'
import { createExpressApp } from './helpers/app'
import { HAS_CHROMIUM, launchChromium } from './helpers/browser'
import { listen, send, type Listening } from './helpers/http'

// Chromium's PDF viewer ignores `Content-Security-Policy: sandbox` and runs with the origin that
// served the PDF, so a PDF message must reach a browser as a download, never as a page.

const describeInBrowser = HAS_CHROMIUM ? describe : describe.skip

// A one-page PDF with no content: enough for the viewer to open it.
const PDF = Buffer.from([
  '%PDF-1.4',
  '1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj',
  '2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj',
  '3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj',
  'trailer<</Root 1 0 R>>',
  '%%EOF',
  ''
].join('\n'))

describeInBrowser(HAS_CHROMIUM ? 'a PDF message in chromium' : 'a PDF message in chromium: SKIPPED, no /usr/bin/chromium', () => {
  let browser: Browser | undefined
  let server: Listening | undefined

  beforeAll(async () => {
    const { app } = createExpressApp()
    ;[browser, server] = await Promise.all([launchChromium(), listen(app)])
  }, 30_000)

  afterAll(async () => {
    await browser?.close()
    await server?.close()
  })

  it.each([
    ['no Content-Disposition', {}],
    ['Content-Disposition: inline', { 'Content-Disposition': 'inline; filename="doc.pdf"' }]
  ])('is downloaded, not opened on the origin, with %s', async (_, extra) => {
    if (browser === undefined || server === undefined) throw new Error('beforeAll did not finish')
    const url = `${server.url}/channels/docs/pdf`
    const producer = send(url, 'POST', PDF, { 'Content-Type': 'application/pdf', ...extra })
    const context = await browser.newContext({ acceptDownloads: true })
    try {
      const page = await context.newPage()
      const download = page.waitForEvent('download', { timeout: 10_000 })
      // A navigation that turns into a download is reported by playwright as a failed goto.
      const navigation = page.goto(url).then(() => 'rendered', () => 'not rendered')
      const file = await download
      expect(await file.failure()).toBeNull()
      expect(await navigation).toBe('not rendered')
      expect(page.url()).not.toBe(url)
    } finally {
      await context.close()
    }
    expect((await producer).status).toBe(200)
  }, 30_000)
})
