'use strict'
// The servers under test, and their lifecycle: each measurement gets a fresh child process,
// started with child_process.spawn and killed by its PID afterwards.

const { spawn } = require('node:child_process')
const fs = require('node:fs')
const net = require('node:net')
const path = require('node:path')
const { setTimeout: sleep } = require('node:timers/promises')
const { readRssBytes } = require('./proc-stats.js')

const BENCH_DIR = path.join(__dirname, '..')
const GC_PRELOAD = path.join(BENCH_DIR, 'servers', 'gc-on-signal.js')
const STDERR_TAIL_BYTES = 4096

const HTTPIPE_CLI = {
  key: 'D',
  id: 'httpipe-cli',
  label: 'httpipe CLI',
  script: (config) => path.join(config.dist, 'cli.js'),
  args: (port, config) => ['--port', String(port), '--host', '127.0.0.1', ...config.cliArgs],
  requires: (config) => path.join(config.dist, 'cli.js')
}

const SERVER_DEFINITIONS = [
  { key: 'A', id: 'node', label: 'node:http relay', script: () => path.join(BENCH_DIR, 'servers', 'node-relay.js') },
  { key: 'B', id: 'express', label: 'Express relay', script: () => path.join(BENCH_DIR, 'servers', 'express-relay.js') },
  {
    key: 'C',
    id: 'httpipe-express',
    label: 'httpipe in Express',
    script: () => path.join(BENCH_DIR, 'servers', 'httpipe-express.js'),
    requires: (config) => path.join(config.dist, 'index.js')
  },
  HTTPIPE_CLI,
  { key: 'S', id: 'node-sse', label: 'node:http SSE fan-out', script: () => path.join(BENCH_DIR, 'servers', 'node-sse.js') },
  // Probes for the fanout scenario's memory (run only when named): how much of D's peak over S's is
  // V8 sizing its young generation by what survives at start, not D's fan-out.
  { key: 'S7', id: 'node-sse-retaining', label: 'S + 0.7 MB held from start', script: () => path.join(BENCH_DIR, 'servers', 'node-sse-retaining.js') },
  { ...HTTPIPE_CLI, key: 'D1', id: 'httpipe-cli-semi1', label: 'D, young generation at most 1 MB', nodeFlags: ['--max-semi-space-size=1'] },
  { key: 'E', id: 'express-sse', label: 'Express SSE fan-out', script: () => path.join(BENCH_DIR, 'servers', 'express-sse.js') },
  // For the observe scenario: C and D with a synchronous allow-all authorize and metrics on, and D without its request log.
  {
    key: 'O',
    id: 'httpipe-express-observed',
    label: 'C + authorize + metrics',
    script: () => path.join(BENCH_DIR, 'servers', 'httpipe-express.js'),
    env: { HTTPIPE_OBSERVE: '1' },
    requires: (config) => path.join(config.dist, 'metrics.js')
  },
  {
    key: 'P',
    id: 'httpipe-cli-observed',
    label: 'D + --auth (anonymous all) + --metrics',
    script: (config) => path.join(config.dist, 'cli.js'),
    args: (port, config) => ['--port', String(port), '--host', '127.0.0.1', '--auth', path.join(BENCH_DIR, 'servers', 'no-tokens.json'), '--anonymous', 'all', '--metrics', ...config.cliArgs],
    requires: (config) => path.join(config.dist, 'metrics.js')
  },
  {
    key: 'Q',
    id: 'httpipe-cli-silent',
    label: 'D with --log-level silent',
    script: (config) => path.join(config.dist, 'cli.js'),
    args: (port, config) => ['--port', String(port), '--host', '127.0.0.1', '--log-level', 'silent', ...config.cliArgs],
    requires: (config) => path.join(config.dist, 'cli.js')
  }
]

/** Servers selected by --servers, each with `missing` set when its build output does not exist. */
function resolveServers (config) {
  return config.servers.map((wanted) => {
    const definition = SERVER_DEFINITIONS.find((d) => d.key === wanted.toUpperCase() || d.id === wanted)
    if (definition === undefined) {
      throw new Error(`unknown server ${JSON.stringify(wanted)}; use ${SERVER_DEFINITIONS.map((d) => `${d.key}/${d.id}`).join(', ')}`)
    }
    const required = definition.requires === undefined ? undefined : definition.requires(config)
    const missing = required !== undefined && !fs.existsSync(required) ? `${required} does not exist (run npm run build)` : null
    return { ...definition, missing }
  })
}

const liveProcesses = new Set()

/** Synchronous on purpose: also called from process 'exit', where nothing async runs. */
function killAllServersNow () {
  for (const child of liveProcesses) {
    try { process.kill(child.pid, 'SIGKILL') } catch { /* already gone */ }
  }
  liveProcesses.clear()
}

let nextPort = 0

async function isPortFree (port) {
  return new Promise((resolve) => {
    const probe = net.createServer()
    probe.once('error', () => resolve(false))
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)))
  })
}

/** A fresh port per server process, so no measurement meets sockets a previous one left in TIME_WAIT. */
async function allocatePort (config) {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = config.portBase + (nextPort++ % 5000)
    if (await isPortFree(port)) return port
  }
  throw new Error(`no free port found from ${config.portBase}`)
}

class ServerProcess {
  static async start (definition, config) {
    const port = await allocatePort(config)
    const args = [
      // node's own flags: a measurement tool's for every server (bench/idle-rss.js), and a probe's own (D1).
      ...(config.nodeFlags ?? []),
      ...(definition.nodeFlags ?? []),
      '--expose-gc', '--require', GC_PRELOAD,
      definition.script(config),
      ...(definition.args === undefined ? [] : definition.args(port, config))
    ]
    const env = { ...process.env, PORT: String(port), HOST: '127.0.0.1', HTTPIPE_DIST: config.dist }
    if (config.httpipeOptions !== undefined) env.HTTPIPE_OPTIONS = config.httpipeOptions
    Object.assign(env, definition.env)
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] })
    const server = new ServerProcess(definition, child, port)
    await server.waitUntilListening(config.readyTimeoutMs)
    return server
  }

  constructor (definition, child, port) {
    this.definition = definition
    this.child = child
    this.pid = child.pid
    this.port = port
    this.stderrTail = ''
    this.exit = null
    liveProcesses.add(child)
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (text) => { this.stderrTail = (this.stderrTail + text).slice(-STDERR_TAIL_BYTES) })
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        liveProcesses.delete(child)
        this.exit = { code, signal }
        resolve()
      })
      child.once('error', (err) => {
        liveProcesses.delete(child)
        this.exit = { code: null, signal: null, error: err.message }
        resolve()
      })
    })
  }

  async waitUntilListening (timeoutMs) {
    const deadline = Date.now() + timeoutMs
    for (let attempt = 0; attempt < 1000 && Date.now() < deadline; attempt++) {
      if (this.exit !== null) throw new Error(`${this.describe()} exited during startup: ${this.exitReason()}`)
      if (await canConnect(this.port)) return
      await sleep(50)
    }
    await this.stop()
    throw new Error(`${this.describe()} did not accept connections on port ${this.port} within ${timeoutMs} ms${this.stderrSuffix()}`)
  }

  describe () {
    return `${this.definition.key} ${this.definition.id} (pid ${this.pid})`
  }

  exitReason () {
    if (this.exit === null) return 'still running'
    return (this.exit.error || `code ${this.exit.code}, signal ${this.exit.signal}`) + this.stderrSuffix()
  }

  stderrSuffix () {
    return this.stderrTail.trim() === '' ? '' : `; stderr: ${this.stderrTail.trim()}`
  }

  /** Throws when the server died mid-measurement, so the measurement is reported as failed. */
  assertAlive () {
    if (this.exit !== null) throw new Error(`${this.describe()} exited during the measurement: ${this.exitReason()}`)
  }

  rssBytes () {
    this.assertAlive()
    return readRssBytes(this.pid)
  }

  /** Full GC in the server (see servers/gc-on-signal.js), then a pause for it to finish. */
  async collectGarbage (settleMs = 250) {
    this.assertAlive()
    process.kill(this.pid, 'SIGUSR2')
    await sleep(settleMs)
  }

  async stop (graceMs = 1000) {
    if (this.exit === null) {
      try { process.kill(this.pid, 'SIGTERM') } catch { /* already gone */ }
      const stopped = await Promise.race([this.exited.then(() => true), sleep(graceMs).then(() => false)])
      if (!stopped) {
        try { process.kill(this.pid, 'SIGKILL') } catch { /* already gone */ }
        await Promise.race([this.exited, sleep(graceMs)])
      }
    }
    liveProcesses.delete(this.child)
  }
}

function canConnect (port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.setTimeout(500)
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('timeout', () => { socket.destroy(); resolve(false) })
    socket.once('error', () => { socket.destroy(); resolve(false) })
  })
}

module.exports = { SERVER_DEFINITIONS, resolveServers, ServerProcess, killAllServersNow }
