#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Logger } from 'pino'
import type * as PromClient from 'prom-client'
import { USAGE, parseCli, type CliCommand } from './cli-args'
import type * as CliExpose from './cli-expose'
import type * as Metrics from './metrics'
import { createLoggers, requestLog, type RequestLog } from './request-log'
import { MOUNT_PATH, createSecureStandaloneServer, createStandaloneServer, type MetricsEndpoint, type SecureStandaloneServer, type StandaloneFeatures, type StandaloneServer } from './server'
import type * as TokenFile from './token-file'
import type { TokenAccess, Tokens } from './token-file'
import { SHUTDOWN_GRACE_MS, shutdown } from './shutdown'
import type * as TlsFiles from './tls-files'

/** How long an exiting server waits for its last log lines to be written. */
const LOG_DRAIN_MS = 1000

export { parseCli, type CliCommand, type CliSettings } from './cli-args'

function version (): string {
  try {
    const manifest = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { name?: string, version?: string }
    if (manifest.name === 'httpipe' && manifest.version !== undefined) return manifest.version
  } catch {}
  return 'unknown'
}

/**
 * The token code (and node:crypto with it), loaded only for `--auth`, `--anonymous` below `all`
 * and `httpipe token`: a server without them never checks a token, and what a process has loaded
 * is most of its idle memory.
 */
function tokenFile (): typeof TokenFile {
  return require('./token-file') as typeof TokenFile
}

function displayUrl (host: string, port: number, secure: boolean): string {
  return `${secure ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}${MOUNT_PATH}`
}

/**
 * Runs the CLI: parses, listens, prints the address, and on SIGINT/SIGTERM closes gracefully
 * (waiting requests get 503, running transfers finish) and exits 0. A second signal exits at once.
 */
export function main (argv: readonly string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): void {
  // A command of its own (see cli-expose.ts): a client of a relay, not a server.
  // Loaded only for it (as node:tls and node:http2 only with --tls-cert): the server's idle memory
  // is what it has loaded, and a client's code (node:https and the rest) is no part of it.
  if (argv[0] === 'expose') return (require('./cli-expose') as typeof CliExpose).runExpose(argv.slice(1))
  let command: CliCommand
  try {
    command = parseCli(argv, env)
  } catch (err) {
    process.stderr.write(`httpipe: ${(err as Error).message}\n\n${USAGE}`)
    process.exitCode = 2
    return
  }
  if (command.kind === 'token') {
    const { token, entry } = tokenFile().createToken(command.request, command.request.name)
    process.stdout.write(`${token}\n${JSON.stringify(entry)}\n`)
    process.stderr.write('httpipe: add the second line to the "tokens" array of your --auth file; the token itself is shown only now and stored nowhere\n')
    return
  }
  if (command.kind !== 'serve') {
    process.stdout.write(command.kind === 'help' ? USAGE : `${version()}\n`)
    return
  }

  const { port, host, tls, authFile, anonymous, log } = command.settings
  const { logger, requests, drain } = createLoggers(log.level, log.format)
  let access: TokenAccess | undefined
  let metrics: { endpoint: MetricsEndpoint, attach: (pipe: StandaloneServer['pipe']) => void } | undefined
  let options = command.settings.options
  try {
    if (authFile !== undefined || anonymous !== 'all') {
      const { TokenAccess, readTokens } = tokenFile()
      access = new TokenAccess(authFile === undefined ? new Map() : readTokens(authFile), anonymous)
      options = { ...options, authorize: access.authorize }
    }
    if (command.settings.metrics) metrics = loadMetrics(access)
  } catch (err) {
    process.stderr.write(`httpipe: ${(err as Error).message}\n`)
    process.exitCode = 2
    return
  }
  // Made once the router exists (its messages name it); the server is made with the hook for it.
  const logs: { requests?: RequestLog } = {}
  const features: StandaloneFeatures = {
    onRequest: (req, res) => { logs.requests?.onRequest(req, res) },
    metrics: metrics?.endpoint
  }
  const tlsFiles = tls === undefined ? undefined : require('./tls-files') as typeof TlsFiles
  let standalone: StandaloneServer | SecureStandaloneServer
  try {
    standalone = tls === undefined || tlsFiles === undefined ? createStandaloneServer(options, features) : createSecureStandaloneServer(options, tlsFiles.readTls(tls), features)
  } catch (err) {
    // parseCli() has validated every option; this is a guard, reported the same way.
    process.stderr.write(`httpipe: ${(err as Error).message}\n\n${USAGE}`)
    process.exitCode = 2
    return
  }
  const { server, pipe } = standalone
  if (requests !== undefined) logs.requests = requestLog(requests, pipe, log.channelNames)
  metrics?.attach(pipe)
  const unwatchTokens = access === undefined || authFile === undefined ? () => {} : watchTokens(access, authFile, logger)
  server.on('error', err => {
    process.stderr.write(`httpipe: cannot listen on ${host}:${port}: ${err.message}\n`)
    process.exit(1)
  })
  server.listen(port, host, () => {
    const address = server.address()
    const actualPort = typeof address === 'object' && address !== null ? address.port : port
    const url = displayUrl(host, actualPort, tls !== undefined)
    logger.info({ url, auth: authFile !== undefined, tokens: access?.size, anonymous, metrics: metrics !== undefined }, `httpipe listening on ${url}`)
  })
  const unwatch = tls === undefined || tlsFiles === undefined ? () => {} : tlsFiles.watchTls(standalone.server as SecureStandaloneServer['server'], tls, message => { process.stderr.write(`${message}\n`) })
  const closers = connectionClosers(standalone)

  let stopping = false
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      process.stderr.write(`httpipe: ${signal} again, exiting without waiting for transfers\n`)
      process.exit(1)
    }
    stopping = true
    logger.info({ signal }, `httpipe: ${signal} received, finishing running transfers`)
    unwatch()
    unwatchTokens()
    const done = 'closeIdleConnections' in server ? shutdown(server, pipe) : shutdownSecure(server, pipe, closers)
    const exit = (code: number): void => {
      // Lines still being written finish first, but a log reader that stopped reading cannot
      // keep the process from exiting.
      const late = setTimeout(() => process.exit(code), LOG_DRAIN_MS)
      const drained = (): void => { clearTimeout(late); process.exit(code) }
      drain().then(drained, drained)
    }
    done.then(() => {
      logger.info('httpipe: shut down')
      exit(0)
    }, (err: unknown) => {
      logger.error({ err }, 'httpipe: shutdown failed')
      exit(1)
    })
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

/**
 * Reloads the token file on SIGHUP and when it changes; a file that does not parse is logged with
 * the reason and the previous tokens stay in force.
 */
function watchTokens (access: TokenAccess, file: string, logger: Logger): () => void {
  const { readTokens, watchTokenFile } = tokenFile()
  const reload = (why: string): void => {
    let tokens: Tokens
    try {
      tokens = readTokens(file)
    } catch (err) {
      logger.warn({ file, reason: why }, `httpipe: kept the previous tokens: ${(err as Error).message}`)
      return
    }
    access.replace(tokens)
    logger.info({ file, reason: why, tokens: tokens.size }, `httpipe: reloaded the tokens from ${file}`)
  }
  const onHangUp = (): void => { reload('SIGHUP') }
  process.on('SIGHUP', onHangUp)
  const unwatch = watchTokenFile(file, () => { reload('file changed') })
  return () => {
    process.off('SIGHUP', onHangUp)
    unwatch()
  }
}

/**
 * `--metrics`: prom-client is an optional peer dependency, loaded only now. The standalone
 * server's own registry also carries prom-client's process metrics (CPU, memory, event loop lag).
 */
function loadMetrics (access: TokenAccess | undefined): { endpoint: MetricsEndpoint, attach: (pipe: StandaloneServer['pipe']) => void } {
  let client: typeof PromClient
  let module: typeof Metrics
  try {
    client = require('prom-client') as typeof PromClient
    module = require('./metrics') as typeof Metrics
  } catch (err) {
    throw new Error(`--metrics needs the prom-client package (npm install prom-client): ${(err as Error).message.split('\n')[0] ?? ''}`)
  }
  const registry = new client.Registry()
  client.collectDefaultMetrics({ register: registry })
  return {
    endpoint: {
      contentType: registry.contentType,
      render: async () => await registry.metrics(),
      ...(access === undefined ? {} : { allow: req => access.verdict(req, undefined) })
    },
    attach: pipe => { module.httpipeMetrics(pipe, { registry }) }
  }
}

interface ConnectionClosers {
  /** Ends every HTTP/2 session gracefully (GOAWAY: open streams end first) and every HTTP/1.1 connection. */
  readonly closeAll: () => void
  /** Destroys every connection still open. */
  readonly destroyAll: () => void
}

/** Tracks the secure server's connections: node:http2's server has no closeIdleConnections(). */
function connectionClosers (standalone: StandaloneServer | SecureStandaloneServer): ConnectionClosers {
  const open = new Map<{ destroy: () => void }, () => void>()
  const { server } = standalone
  if (!('closeIdleConnections' in server)) {
    server.on('session', session => {
      open.set(session, () => { session.close() })
      session.once('close', () => open.delete(session))
    })
    server.on('secureConnection', socket => {
      if (socket.alpnProtocol === 'h2') return
      open.set(socket, () => { socket.end() })
      socket.once('close', () => open.delete(socket))
    })
  }
  return {
    closeAll: () => { for (const close of open.values()) close() },
    destroyAll: () => { for (const connection of open.keys()) connection.destroy() }
  }
}

/**
 * shutdown() for the secure server: once `pipe.close()` has let the transfers finish, its sessions
 * and connections are closed, and destroyed after the same grace if they have not closed by then.
 */
async function shutdownSecure (server: SecureStandaloneServer['server'], pipe: StandaloneServer['pipe'], closers: ConnectionClosers): Promise<void> {
  await pipe.close()
  const closed = new Promise<void>(resolve => { server.close(() => { resolve() }) })
  closers.closeAll()
  const deadline = setTimeout(closers.destroyAll, SHUTDOWN_GRACE_MS)
  try {
    await closed
  } finally {
    clearTimeout(deadline)
  }
}

if (require.main === module) main()
