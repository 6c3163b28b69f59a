import type { IncomingMessage, ServerResponse } from 'node:http'
import { UI_PAGE_CSP, UI_PAGE_HTML } from './ui-page'

let page: Buffer | undefined

/** A browser navigating to the mount path (option `ui`): it asks for HTML. */
export function wantsPage (req: IncomingMessage): boolean {
  return (req.method === 'GET' || req.method === 'HEAD') && req.headers.accept?.includes('text/html') === true
}

/** Serves the web page, under its own strict CSP (inline code allowed only by hash). */
export function servePage (req: IncomingMessage, res: ServerResponse): void {
  page ??= Buffer.from(UI_PAGE_HTML)
  res.writeHead(200, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': page.length,
    'Content-Security-Policy': UI_PAGE_CSP,
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-cache'
  }).end(req.method === 'HEAD' ? undefined : page)
}
