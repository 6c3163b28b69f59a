#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { USAGE, parseCli, type CliCommand } from './cli-args'
import { MOUNT_PATH, createSecureStandaloneServer, createStandaloneServer, type SecureStandaloneServer, type StandaloneServer } from './server'
import { SHUTDOWN_GRACE_MS, shutdown } from './shutdown'
import { readTls, watchTls } from './tls-files'

export { parseCli, type CliCommand, type CliSettings } from './cli-args'

function version (): string {
  try {
    const manifest = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { name?: string, version?: string }
    if (manifest.name === 'httpipe' && manifest.version !== undefined) return manifest.version
  } catch {}
  return 'unknown'
}

function displayUrl (host: string, port: number, secure: boolean): string {
  return `${secure ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}${MOUNT_PATH}`
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

  const { port, host, options, tls } = command.settings
  let standalone: StandaloneServer | SecureStandaloneServer
  try {
    standalone = tls === undefined ? createStandaloneServer(options) : createSecureStandaloneServer(options, readTls(tls))
  } catch (err) {
    // parseCli() has validated every option; this is a guard, reported the same way.
    process.stderr.write(`httpipe: ${(err as Error).message}\n\n${USAGE}`)
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
    process.stdout.write(`httpipe listening on ${displayUrl(host, actualPort, tls !== undefined)}\n`)
  })
  const unwatch = tls === undefined ? () => {} : watchTls(standalone.server as SecureStandaloneServer['server'], tls, message => { process.stderr.write(`${message}\n`) })
  const closers = connectionClosers(standalone)

  let stopping = false
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      process.stderr.write(`httpipe: ${signal} again, exiting without waiting for transfers\n`)
      process.exit(1)
    }
    stopping = true
    process.stdout.write(`httpipe: ${signal} received, finishing running transfers\n`)
    unwatch()
    const done = 'closeIdleConnections' in server ? shutdown(server, pipe) : shutdownSecure(server, pipe, closers)
    done.then(() => process.exit(0), () => process.exit(1))
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
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
