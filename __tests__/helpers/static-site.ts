import type { IncomingMessage, ServerResponse } from 'node:http'

// A 1×1 PNG.
export const PIXEL = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64')

/** Files of a small site: a page with a script, a stylesheet and an image, and a text file for Range. */
export const SITE: Readonly<Record<string, { readonly type: string, readonly body: Buffer }>> = {
  '/index.html': {
    type: 'text/html; charset=utf-8',
    body: Buffer.from('<!doctype html><html><head><link rel="stylesheet" href="style.css"><script src="app.js" defer></script></head>' +
      '<body><h1 id="title">Served through httpipe expose</h1><img id="pixel" src="pixel.png"><pre id="out"></pre></body></html>')
  },
  '/style.css': { type: 'text/css', body: Buffer.from('#title { color: rgb(1, 2, 3); }') },
  '/app.js': {
    type: 'text/javascript',
    body: Buffer.from(`
      function probe (read) { try { return String(read()) } catch (err) { return 'blocked: ' + err.name } }
      function report () {
        const img = document.getElementById('pixel')
        document.getElementById('out').textContent = JSON.stringify({
          cookie: probe(() => document.cookie),
          storage: probe(() => window.localStorage.getItem('secret')),
          origin: window.origin,
          color: getComputedStyle(document.getElementById('title')).color,
          image: img.naturalWidth
        })
        document.documentElement.dataset.ready = 'true'
      }
      const img = document.getElementById('pixel')
      if (img.complete) report(); else img.addEventListener('load', report)
    `)
  },
  '/pixel.png': { type: 'image/png', body: PIXEL },
  '/digits.txt': { type: 'text/plain', body: Buffer.from('0123456789') }
}

/**
 * A static file server for {@link SITE} with what a development server does: HEAD, single byte
 * ranges (206), 404, and `POST /echo` answering the request's method, path and body.
 */
export function staticSite (req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0] as string
  if (path === '/echo') {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const body = JSON.stringify({ method: req.method, url: req.url, body: Buffer.concat(chunks).toString(), header: req.headers['x-test'] ?? null })
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'Set-Cookie': 'local=1' }).end(body)
    })
    return
  }
  const file = SITE[path]
  if (file === undefined) {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not here\n')
    return
  }
  const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '')
  if (range !== null) {
    const start = Number(range[1])
    const end = Math.min(Number(range[2]), file.body.length - 1)
    res.writeHead(206, { 'Content-Type': file.type, 'Content-Range': `bytes ${start}-${end}/${file.body.length}`, 'Content-Length': end - start + 1 })
    res.end(req.method === 'HEAD' ? undefined : file.body.subarray(start, end + 1))
    return
  }
  res.writeHead(200, { 'Content-Type': file.type, 'Content-Length': file.body.length, 'Accept-Ranges': 'bytes' })
  res.end(req.method === 'HEAD' ? undefined : file.body)
}
