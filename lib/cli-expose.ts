import { parseArgs } from 'node:util'
import { expose, type Serving } from './serve'

export const EXPOSE_USAGE = `Usage: httpipe expose --to LOCAL_URL RELAY_URL [--workers N] [--token TOKEN]

Makes a local HTTP server reachable through an httpipe relay with outbound connections only:
every request to RELAY/req/{namespace}/{channel}[/{path}] is forwarded to LOCAL_URL, and the
answer streams back. RELAY_URL is the responder URL, ending in /res/{namespace}/{channel}.

Options:
  --to URL        the local server to forward to (http only), e.g. http://localhost:8080
  --workers N     requests served at once (default 4)
  --token TOKEN   for a relay that requires tokens (--auth): sent as Authorization: Bearer
                  (env HTTPIPE_TOKEN, which keeps it out of the process list)
  -h, --help      show this help

Example:
  httpipe expose --to http://localhost:8080 https://relay.example/res/demo/app
  curl https://relay.example/req/demo/app/index.html

SIGINT or SIGTERM stops it: waiting workers withdraw, requests being served finish first.
`

export interface ExposeSettings {
  readonly relay: string
  readonly to: string
  readonly workers: number
  readonly token: string | undefined
}

/** Reads the `expose` arguments; throws an `Error` naming the flag. `undefined`: help. */
export function parseExpose (argv: readonly string[], env: NodeJS.ProcessEnv = {}): ExposeSettings | undefined {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: { to: { type: 'string' }, workers: { type: 'string' }, token: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
    allowPositionals: true
  })
  if (values.help === true) return undefined
  if (values.to === undefined) throw new Error('--to is required: the local server to forward to, e.g. --to http://localhost:8080')
  if (positionals.length !== 1) throw new Error(`expected one relay URL (ending in /res/{namespace}/{channel}), got ${positionals.length}`)
  const text = values.workers ?? '4'
  const workers = Number(text)
  if (!/^\d+$/.test(text) || workers < 1 || workers > 10_000) throw new Error(`--workers must be an integer from 1 to 10000, got ${JSON.stringify(text)}`)
  const token = values.token ?? (env.HTTPIPE_TOKEN === '' ? undefined : env.HTTPIPE_TOKEN)
  if (token !== undefined && !/^[\x21-\x7e]+$/.test(token)) throw new Error('--token (or HTTPIPE_TOKEN) must be a token as httpipe token create prints it: no spaces, printable ASCII')
  return { relay: positionals[0] as string, to: values.to, workers, token }
}

/** `httpipe expose …`: runs until SIGINT or SIGTERM, then stops cleanly and exits 0. */
export function runExpose (argv: readonly string[]): void {
  let settings: ExposeSettings | undefined
  let serving: Serving
  try {
    settings = parseExpose(argv, process.env)
    if (settings === undefined) {
      process.stdout.write(EXPOSE_USAGE)
      return
    }
    serving = expose(settings.relay, settings.to, {
      workers: settings.workers,
      token: settings.token,
      onError: err => { process.stderr.write(`httpipe expose: ${err.message}\n`) }
    })
  } catch (err) {
    process.stderr.write(`httpipe expose: ${(err as Error).message.replace(/^httpipe: /, '')}\n\n${EXPOSE_USAGE}`)
    process.exitCode = 2
    return
  }
  process.stdout.write(`httpipe expose: forwarding ${serving.url.replace(/\/res\/([^/]+\/[^/]+)$/, '/req/$1')} to ${settings.to} with ${settings.workers} workers\n`)
  let stopping = false
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(1)
    stopping = true
    process.stdout.write(`httpipe expose: ${signal} received, finishing requests being served\n`)
    serving.close().then(() => process.exit(0), () => process.exit(1))
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}
