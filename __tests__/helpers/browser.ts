import { existsSync } from 'node:fs'
import { chromium, type Browser, type BrowserContext, type Page, type Response } from 'playwright-core'

/** Debian's chromium: CI installs it with apt; the tests never download a browser. */
export const CHROMIUM_PATH = '/usr/bin/chromium'
export const HAS_CHROMIUM = existsSync(CHROMIUM_PATH)

/** Launches headless chromium once for a test file. */
export async function launchChromium (): Promise<Browser> {
  return await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
}

// Runs before any of the page's own scripts (injected through the DevTools protocol, so the page's
// CSP does not apply to it) and records every CSP violation the page reports.
const RECORD_VIOLATIONS = `
  window.cspViolations = []
  document.addEventListener('securitypolicyviolation', function (event) {
    window.cspViolations.push(event.effectiveDirective + ' blocked ' + (event.blockedURI || 'inline'))
  })
`

export interface UiPage {
  readonly context: BrowserContext
  readonly page: Page
  /** The response that served the page. */
  readonly response: Response
  /** Console errors and warnings, and uncaught page errors, so far. */
  readonly problems: string[]
  /** The CSP violations the page has reported so far. */
  readonly violations: () => Promise<string[]>
}

/**
 * Opens `url` in a fresh browser context (its own connections, like another device) and waits
 * until the page's script has run. The context is handed to `track` so the test can close it.
 */
export async function openUi (browser: Browser, url: string, track: (context: BrowserContext) => void, viewport = { width: 800, height: 900 }): Promise<UiPage> {
  // https: the standalone server with --tls-cert and a self-signed test certificate.
  const context = await browser.newContext({ viewport, acceptDownloads: true, ignoreHTTPSErrors: url.startsWith('https:') })
  track(context)
  // Fail an action well before jest's own timeout, with a message naming what was awaited.
  context.setDefaultTimeout(10_000)
  const page = await context.newPage()
  const problems: string[] = []
  page.on('console', message => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`)
  })
  page.on('pageerror', err => { problems.push(`page error: ${err.message}`) })
  await page.addInitScript({ content: RECORD_VIOLATIONS })
  const response = await page.goto(url)
  if (response === null) throw new Error(`no response for ${url}`)
  await page.locator('html[data-ready="true"]').waitFor({ state: 'attached' })
  return {
    context,
    page,
    response,
    problems,
    violations: async () => await page.evaluate('window.cspViolations') as string[]
  }
}
