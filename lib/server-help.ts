import type { IncomingMessage, ServerResponse } from 'node:http'
import { SAFETY_HEADERS } from './response-headers'

/** What the help text mentions: only what this server serves. */
export interface HelpContext {
  readonly mount: string
  readonly listing: boolean
  readonly ui: boolean
}

/**
 * `GET /` and `GET /help` outside the mount path: a browser goes to the web page (when served),
 * anything else gets curl examples with this server's own address (piping-server's `/help`).
 */
export function serveHelp (req: IncomingMessage, res: ServerResponse, context: HelpContext): void {
  if (context.ui && req.headers.accept?.includes('text/html') === true) {
    const body = `See ${context.mount}/\n`
    res.writeHead(302, {
      Location: `${context.mount}/`,
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      ...SAFETY_HEADERS
    }).end(req.method === 'HEAD' ? undefined : body)
    return
  }
  const body = helpText(`${scheme(req)}://${host(req)}${context.mount}`, context)
  res.writeHead(200, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    ...SAFETY_HEADERS
  }).end(req.method === 'HEAD' ? undefined : body)
}

export function helpText (base: string, context: HelpContext): string {
  const lines = [
    'httpipe: patchbay-style HTTP pipes. A producer POSTs (or PUTs) a message to',
    `  ${base}/{namespace}/{channel}`,
    'and a consumer GETs the same URL: each waits for the other, then the body streams straight',
    'through. Nothing is stored.',
    '',
    'Send a message (curl returns once it has been received):',
    `  curl -d 'hello' ${base}/my-namespace/my-channel`,
    'Receive it:',
    `  curl ${base}/my-namespace/my-channel`,
    '',
    'Hand over a file (use a long random channel name: whoever knows it can take the file):',
    `  curl -T file.tar.gz ${base}/files/8f3a9c0d27e4b615`,
    `  curl --fail -o file.tar.gz ${base}/files/8f3a9c0d27e4b615`,
    'Stream:',
    `  tar cz dir | curl -T - ${base}/files/8f3a9c0d27e4b615`,
    '',
    'Broadcast to every waiting subscriber:',
    `  curl '${base}/chat/lobby?pubsub=true'`,
    `  curl -d 'hi all' '${base}/chat/lobby?pubsub=true'`
  ]
  if (context.listing) lines.push('', 'Namespaces in use:', `  curl ${base}/namespaces`)
  if (context.ui) lines.push('', `In a browser: ${base}/`)
  return `${lines.join('\n')}\n`
}

/** `X-Forwarded-Proto` from a proxy in front, else whether this connection is TLS. */
function scheme (req: IncomingMessage): string {
  const forwarded = req.headers['x-forwarded-proto']
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim().toLowerCase()
  if (first === 'http' || first === 'https') return first
  return (req.socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http'
}

// A host name or IPv4 address, or a bracketed IPv6 address, with an optional port: nothing that
// could break out of a URL or a shell command line when echoed back.
const SAFE_HOST = /^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/

/** The `Host` the client used when it is a plain host name, else this socket's own address. */
function host (req: IncomingMessage): string {
  const given = req.headers.host
  if (given !== undefined && given.length <= 261 && SAFE_HOST.test(given)) return given
  const address = req.socket.localAddress ?? '127.0.0.1'
  return `${address.includes(':') ? `[${address}]` : address}:${req.socket.localPort ?? 80}`
}
