#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { MOUNT_PATH, createStandaloneServer, type StandaloneOptions, type StandaloneServer } from './server'
import { shutdown } from './shutdown'

const USAGE = `Usage: httpipe [options]

Patchbay-style HTTP pipes: POST to ${MOUNT_PATH}/{namespace}/{channel}, GET the same path.

Options:
  --port N                    port to listen on (env PORT; default 3000)
  --host H                    address to bind (env HOST; default 0.0.0.0)
  --request-timeout SECONDS   Node's limit on receiving a whole request, which also caps how
                              long a producer can wait (env REQUEST_TIMEOUT; default: none)
  --max-body-size BYTES       largest message (limits.bodySize; default: none)
  --no-listing                do not serve the namespace and channel listings
  --no-links                  refuse link producers (GET ?method=post&body=TEXT)
  --cors                      answer cross-origin requests from any origin
  --cors-origin ORIGIN        answer cross-origin requests from this origin only
  --no-ui                     do not serve the web page at ${MOUNT_PATH}/
  --help                      show this help
  --version                   show the version
`

export interface CliSettings {
  readonly port: number
  readonly host: string
  readonly options: StandaloneOptions
}

export type CliCommand =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | { readonly kind: 'serve', readonly settings: CliSettings }

/** Reads flags and environment; throws an `Error` whose message says what was wrong. */
export function parseCli (argv: readonly string[], env: NodeJS.ProcessEnv): CliCommand {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'request-timeout': { type: 'string' },
      'max-body-size': { type: 'string' },
      'no-listing': { type: 'boolean' },
      'no-links': { type: 'boolean' },
      cors: { type: 'boolean' },
      'cors-origin': { type: 'string' },
      'no-ui': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' }
    },
    strict: true,
    allowPositionals: false
  })
  if (values.help === true) return { kind: 'help' }
  if (values.version === true) return { kind: 'version' }

  const port = integer('--port (or PORT)', values.port ?? env.PORT ?? '3000', 0, 65535)
  const host = values.host ?? env.HOST ?? '0.0.0.0'
  const timeoutText = values['request-timeout'] ?? env.REQUEST_TIMEOUT
  const requestTimeout = timeoutText === undefined || timeoutText === '' ? 0 : seconds('--request-timeout (or REQUEST_TIMEOUT)', timeoutText)
  const bodySize = values['max-body-size'] === undefined ? undefined : integer('--max-body-size', values['max-body-size'], 1, Number.MAX_SAFE_INTEGER)
  const cors = values['cors-origin'] ?? values.cors === true
  const options: StandaloneOptions = { requestTimeout, listing: values['no-listing'] !== true, links: values['no-links'] !== true, cors, ui: values['no-ui'] !== true, limits: { bodySize } }
  return { kind: 'serve', settings: { port, host, options } }
}

function integer (name: string, text: string, min: number, max: number): number {
  const value = Number(text)
  if (!/^\d+$/.test(text.trim()) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`)
  }
  return value
}

function seconds (name: string, text: string): number {
  const value = Number(text)
  if (text.trim() === '' || !Number.isFinite(value) || value < 0) {
    throw new Error(`${name} must be a number of seconds (0 for none), got ${JSON.stringify(text)}`)
  }
  return Math.round(value * 1000)
}

function version (): string {
  // Compiled, this file sits one folder deeper (dist/lib) than in the sources (lib).
  for (const relative of ['..', '../..']) {
    try {
      const manifest = JSON.parse(readFileSync(join(__dirname, relative, 'package.json'), 'utf8')) as { name?: string, version?: string }
      if (manifest.name === 'httpipe' && manifest.version !== undefined) return manifest.version
    } catch {}
  }
  return 'unknown'
}

function displayUrl (host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}${MOUNT_PATH}`
}

/**
 * Runs the CLI: parses, listens, prints the address, and on SIGINT/SIGTERM closes gracefully
 * (waiting requests get 503, running transfers finish) and exits 0. A second signal exits at once.
 */
export function main (argv: readonly string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): void {
  let command: CliCommand
  try {
    command = parseCli(argv, env)
  } catch (err) {
    process.stderr.write(`httpipe: ${(err as Error).message}\n\n${USAGE}`)
    process.exitCode = 2
    return
  }
  if (command.kind !== 'serve') {
    process.stdout.write(command.kind === 'help' ? USAGE : `${version()}\n`)
    return
  }

  const { port, host, options } = command.settings
  let standalone: StandaloneServer
  try {
    standalone = createStandaloneServer(options)
  } catch (err) {
    // An option the flags could not check alone, such as a malformed --cors-origin.
    process.stderr.write(`${(err as Error).message}\n`)
    process.exitCode = 2
    return
  }
  const { server, pipe } = standalone
  server.on('error', err => {
    process.stderr.write(`httpipe: cannot listen on ${host}:${port}: ${err.message}\n`)
    process.exit(1)
  })
  server.listen(port, host, () => {
    const address = server.address()
    const actualPort = typeof address === 'object' && address !== null ? address.port : port
    process.stdout.write(`httpipe listening on ${displayUrl(host, actualPort)}\n`)
  })

  let stopping = false
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      process.stderr.write(`httpipe: ${signal} again, exiting without waiting for transfers\n`)
      process.exit(1)
    }
    stopping = true
    process.stdout.write(`httpipe: ${signal} received, finishing running transfers\n`)
    shutdown(server, pipe).then(() => process.exit(0), () => process.exit(1))
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

if (require.main === module) main()
