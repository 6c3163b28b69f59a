import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { accessSync, constants } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { connect, createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'

/** The deployment examples the tests run, as users copy them. */
export const DEPLOY = join(__dirname, '..', '..', 'examples', 'deploy')

/** The absolute path of `name` on PATH (plus the sbin directories Debian puts nginx and haproxy in), if any. */
export function which (name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin']
  for (const dir of dirs) {
    const path = join(dir, name)
    try {
      accessSync(path, constants.X_OK)
      return path
    } catch {}
  }
  return undefined
}

export const NGINX = which('nginx')
export const HAPROXY = which('haproxy')

/** A port free now on 127.0.0.1 (for a child process that cannot be told to take port 0). */
export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>(resolve => server.close(() => resolve()))
  return port
}

export interface ConfigChanges {
  /** The port the proxy listens on (instead of the file's 8080), on 127.0.0.1. */
  readonly port: number
  /** `host:port` of each instance, in the file's order (instead of 127.0.0.1:3000, :3001, :3002). */
  readonly upstreams: readonly string[]
  /** Directive (nginx) or `timeout NAME` (HAProxy) to a new value, e.g. `{ send_timeout: '2s' }`. */
  readonly set?: Readonly<Record<string, string>>
  /** Whole lines to remove (compared without indentation), e.g. `option abortonclose`. */
  readonly drop?: readonly string[]
}

/**
 * The example configuration with its ports replaced, as a user would edit it; any other change
 * (`set`) must find the line it changes, so a test cannot silently run the file unchanged.
 */
export function generate (text: string, changes: ConfigChanges): string {
  let out = text
    .replace(/^(\s*)listen 8080;/m, `$1listen 127.0.0.1:${changes.port};`)
    .replace(/^(\s*)bind :8080$/m, `$1bind 127.0.0.1:${changes.port}`)
  if (out === text) throw new Error('no listen 8080 / bind :8080 line to replace')
  const defaults = ['127.0.0.1:3000', '127.0.0.1:3001', '127.0.0.1:3002']
  const lines = out.split('\n')
  const kept: string[] = []
  for (const line of lines) {
    const i = defaults.findIndex(address => line.includes(address))
    if (i === -1) {
      kept.push(line)
    } else if (i < changes.upstreams.length) {
      kept.push(line.replace(defaults[i] as string, changes.upstreams[i] as string))
    } // else: an instance the test does not run; its line goes, as a user would remove it
  }
  out = kept.join('\n')
  for (const line of changes.drop ?? []) {
    const pattern = new RegExp(`^\\s*${line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/ /g, '\\s+')}\\s*$\\n`, 'm')
    if (!pattern.test(out)) throw new Error(`no ${line} line to drop`)
    out = out.replace(pattern, '')
  }
  for (const [directive, value] of Object.entries(changes.set ?? {})) {
    const pattern = new RegExp(`^(\\s*${directive.replace(/ /g, '\\s+')}\\s+)\\S+?(;?)(\\s*(?:#.*)?)$`, 'm')
    if (!pattern.test(out)) throw new Error(`no ${directive} line to change`)
    out = out.replace(pattern, `$1${value}$2$3`)
  }
  return out
}

export interface Proxy {
  readonly url: string
  readonly process: ChildProcess
  /** What the proxy logged (nginx: its error log; HAProxy: stderr). */
  readonly log: () => Promise<string>
  readonly stop: () => Promise<void>
}

/** Resolves once something accepts connections on 127.0.0.1:`port`, or rejects when `exited` does first. */
async function accepting (port: number, exited: Promise<unknown>, describe: () => Promise<string>): Promise<void> {
  let gone = false
  exited.then(() => { gone = true }, () => { gone = true })
  const deadline = Date.now() + 10_000
  for (;;) {
    if (gone) throw new Error(`proxy exited before listening: ${await describe()}`)
    const ok = await new Promise<boolean>(resolve => {
      const socket = connect(port, '127.0.0.1')
      socket.once('connect', () => { socket.destroy(); resolve(true) })
      socket.once('error', () => { resolve(false) })
    })
    if (ok) return
    if (Date.now() > deadline) throw new Error(`proxy not listening on ${port} after 10 s: ${await describe()}`)
    // The proxy is starting: retry shortly rather than spin on refused connections.
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

function track (child: ChildProcess): { exited: Promise<void>, stderr: () => string } {
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  child.stdout?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const exited = once(child, 'exit').then(() => {})
  return { exited, stderr: () => stderr }
}

async function stopper (child: ChildProcess, exited: Promise<void>, dir: string): Promise<void> {
  // SIGTERM: nginx's and HAProxy's fast shutdown (their graceful ones would wait for the waiters).
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
  await exited
  await rm(dir, { recursive: true, force: true })
}

/**
 * Runs nginx in the foreground on `file` (a name under examples/deploy/) with `changes`: its own
 * prefix, error log, pid and temp files in a temporary directory, so it needs nothing of the
 * machine's nginx setup. Under root (CI) the workers run as root too, so they can use that directory.
 */
export async function startNginx (file: string, changes: ConfigChanges): Promise<Proxy> {
  if (NGINX === undefined) throw new Error('nginx is not installed')
  const dir = await mkdtemp(join(tmpdir(), 'httpipe-nginx-'))
  const config = generate(await readFile(join(DEPLOY, file), 'utf8'), changes)
    .replace(/^http \{$/m, [
      'http {',
      '    access_log off;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(kind => `    ${kind}_temp_path ${join(dir, kind)};`)
    ].join('\n'))
  const conf = join(dir, 'nginx.conf')
  await writeFile(conf, config)
  const globals = `daemon off; pid ${join(dir, 'nginx.pid')};${process.getuid?.() === 0 ? ' user root;' : ''}`
  const errorLog = join(dir, 'error.log')
  const child = spawn(NGINX, ['-c', conf, '-p', dir, '-e', errorLog, '-g', globals], { stdio: ['ignore', 'pipe', 'pipe'] })
  return await listening(child, changes.port, dir, async () => await readFile(errorLog, 'utf8').catch(() => ''))
}

/** Runs HAProxy in the foreground (`-db`) on `file` with `changes`. */
export async function startHaproxy (file: string, changes: ConfigChanges): Promise<Proxy> {
  if (HAPROXY === undefined) throw new Error('haproxy is not installed')
  const dir = await mkdtemp(join(tmpdir(), 'httpipe-haproxy-'))
  const conf = join(dir, 'haproxy.cfg')
  // One test-only line: each request on its own server connection, so that connectionsTo() sees
  // every request reach an instance (HAProxy may otherwise send it over an idle connection).
  const config = generate(await readFile(join(DEPLOY, file), 'utf8'), changes).replace(/^(backend \S+)$/m, '$1\n    http-reuse never')
  await writeFile(conf, config)
  const child = spawn(HAPROXY, ['-f', conf, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] })
  return await listening(child, changes.port, dir, async () => '')
}

/** The proxy once it accepts connections on `port`; stopped (and `dir` removed) if it never does. */
async function listening (child: ChildProcess, port: number, dir: string, logFile: () => Promise<string>): Promise<Proxy> {
  const { exited, stderr } = track(child)
  const log = async (): Promise<string> => `${stderr()}${await logFile()}`
  try {
    await accepting(port, exited, log)
  } catch (err) {
    await stopper(child, exited, dir)
    throw err
  }
  return { url: `http://127.0.0.1:${port}`, process: child, log, stop: async () => { await stopper(child, exited, dir) } }
}

/**
 * The established TCP connections whose local port is one of `ports` (the instances' side of each
 * proxied request), as `remote-address:port` strings, from /proc/net/tcp. nginx (without
 * `keepalive` upstream) and HAProxy (with the `http-reuse never` startHaproxy adds) open one per request.
 */
export async function connectionsTo (ports: readonly number[]): Promise<Set<string>> {
  const text = await readFile('/proc/net/tcp', 'utf8')
  const found = new Set<string>()
  for (const line of text.split('\n').slice(1)) {
    const [, local, remote, state] = line.trim().split(/\s+/)
    if (local === undefined || remote === undefined || state !== '01') continue
    const port = parseInt(local.split(':')[1] ?? '', 16)
    if (ports.includes(port)) found.add(remote)
  }
  return found
}
