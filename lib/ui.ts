import type * as Crypto from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { join } from 'node:path'

/** The web page (option `ui`) as served: one self-contained document and its policy. */
export interface UiPage {
  readonly html: Buffer
  /** Strict: the inline script and style are allowed only by their sha256 hashes. */
  readonly csp: string
}

// lib/ui/ in the sources, dist/ui/ once built: the build copies the folder next to this module.
const UI_FOLDER = join(__dirname, 'ui')
const STYLESHEET_TAG = '<link rel="stylesheet" href="page.css">'
// The page's scripts, in the order page.html loads them (each a classic script; they share one scope).
const SCRIPTS = ['page-format.js', 'page-panel.js', 'page-send.js', 'page-receive.js', 'page-subscribe.js', 'page.js']
const SCRIPT_TAGS = SCRIPTS.map(name => `<script src="${name}"></script>\n`).join('')

let page: UiPage | undefined

/**
 * Builds the page on first use from the real files under `ui/`: page.html links page.css and the
 * scripts (so the folder opens as is in a browser), and the served page inlines them, because the
 * mount path's other names are namespaces and channels, not assets: the scripts as one script, in
 * their order, inside one function (so nothing lands on `window`), allowed by one hash. Hashing
 * happens here, not at import, so an app with `ui: false` never reads or hashes anything.
 */
export function uiPage (): UiPage {
  if (page !== undefined) return page
  const read = (name: string): string => readFileSync(join(UI_FOLDER, name), 'utf8')
  const template = read('page.html')
  const style = read('page.css')
  const script = `(function () {\n${SCRIPTS.map(read).join('\n')}})()\n`
  if (!template.includes(STYLESHEET_TAG) || !template.includes(SCRIPT_TAGS)) {
    throw new Error(`httpipe: ${join(UI_FOLDER, 'page.html')} must contain ${STYLESHEET_TAG} and, in this order, ${SCRIPT_TAGS}`)
  }
  if (/<\/script/i.test(script) || /<\/style/i.test(style)) {
    throw new Error('httpipe: the page script or style would end its inline element early')
  }
  // Functions as replacements, so `$&` and friends in the code are not taken as patterns.
  const html = template.replace(STYLESHEET_TAG, () => `<style>${style}</style>`).replace(SCRIPT_TAGS, () => `<script>${script}</script>\n`)
  const csp = [
    "default-src 'none'",
    `script-src ${hashSource(script)}`,
    `style-src ${hashSource(style)}`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "form-action 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'"
  ].join('; ')
  page = { html: Buffer.from(html), csp }
  return page
}

/** A CSP hash source for an inline element's exact text. */
function hashSource (text: string): string {
  // node:crypto loaded here, with the page, not at import: a server nobody browses never needs it.
  const { createHash } = require('node:crypto') as typeof Crypto
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`
}

/** A browser navigating to the mount path (option `ui`): it asks for HTML. */
export function wantsPage (req: IncomingMessage): boolean {
  return (req.method === 'GET' || req.method === 'HEAD') && req.headers.accept?.includes('text/html') === true
}

/** Serves the web page, under its own strict CSP. */
export function servePage (req: IncomingMessage, res: ServerResponse): void {
  const { html, csp } = uiPage()
  res.writeHead(200, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': html.length,
    'Content-Security-Policy': csp,
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-cache'
  }).end(req.method === 'HEAD' ? undefined : html)
}
