'use strict'
// deploy: what TLS, HTTP/2 and nginx in front cost, each against plain HTTP/1.1 in the same run.
// Unlike the other scenarios it brings its own servers (the CLI plain and with --tls-cert, and
// nginx from examples/deploy/ in front of one and of two instances), so run.js runs it once.
// Clients: node:http, node:https (node:tls) and node:http2, one agent with keep-alive per target,
// so the ratios compare transports, not connection setup.

const { execFileSync, spawn } = require('node:child_process')
const { once } = require('node:events')
const fs = require('node:fs')
const http = require('node:http')
const https = require('node:https')
const http2 = require('node:http2')
const { accepting, freePort } = require('../lib/listening.js')
const os = require('node:os')
const path = require('node:path')

const ROOT = path.join(__dirname, '..', '..')
const MiB = 1024 * 1024

/** Starts a process listening on `port`; returns a stop function (SIGTERM by PID, then wait). */
async function start (command, args, port) {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'] })
  await accepting(port, child)
  return async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit')
  }
}

async function startCli (config, extra = []) {
  const port = await freePort()
  const stop = await start(process.execPath, [path.join(config.dist, 'cli.js'), '--host', '127.0.0.1', '--port', String(port), ...extra], port)
  return { port, stop }
}

/** nginx on examples/deploy/<file> with only its ports changed (as __tests__/helpers/proxies.ts does). */
async function startNginx (file, upstreamPorts, dir) {
  const port = await freePort()
  const defaults = ['127.0.0.1:3000', '127.0.0.1:3001', '127.0.0.1:3002']
  const lines = fs.readFileSync(path.join(ROOT, 'examples', 'deploy', file), 'utf8').split('\n').flatMap((line) => {
    const i = defaults.findIndex((address) => line.includes(address))
    if (i === -1) return [line]
    return i < upstreamPorts.length ? [line.replace(defaults[i], `127.0.0.1:${upstreamPorts[i]}`)] : []
  })
  const prefix = fs.mkdtempSync(path.join(dir, 'nginx-'))
  const conf = lines.join('\n')
    .replace(/^(\s*)listen 8080;/m, `$1listen 127.0.0.1:${port};`)
    .replace(/^http \{$/m, ['http {', '    access_log off;', ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((k) => `    ${k}_temp_path ${path.join(prefix, k)};`)].join('\n'))
  fs.writeFileSync(path.join(prefix, 'nginx.conf'), conf)
  const user = process.getuid() === 0 ? ' user root;' : ''
  const stop = await start('nginx', ['-c', path.join(prefix, 'nginx.conf'), '-p', prefix, '-e', path.join(prefix, 'error.log'),
    '-g', `daemon off; pid ${path.join(prefix, 'nginx.pid')};${user}`], port)
  return { port, stop }
}

/** A client for one target: `send(method, path, body)` resolving with { status, bytes }, and close(). */
function client (kind, port, ca) {
  if (kind === 'h2') {
    const session = http2.connect(`https://127.0.0.1:${port}`, { ca })
    session.on('error', () => {})
    return {
      send: (method, pathname, body) => new Promise((resolve, reject) => {
        const stream = session.request({ ':method': method, ':path': pathname }, { endStream: body === undefined })
        let status = 0
        let bytes = 0
        stream.on('response', (headers) => { status = headers[':status'] })
        stream.on('data', (chunk) => { bytes += chunk.length })
        stream.once('error', reject)
        stream.once('close', () => resolve({ status, bytes }))
        if (body !== undefined) body(stream)
      }),
      close: () => session.close()
    }
  }
  const tls = kind === 'tls'
  const agent = new (tls ? https : http).Agent({ keepAlive: true, maxSockets: 256, ca })
  return {
    send: (method, pathname, body) => new Promise((resolve, reject) => {
      const req = (tls ? https : http).request({ host: '127.0.0.1', port, method, path: pathname, agent, ca }, (res) => {
        let bytes = 0
        res.on('data', (chunk) => { bytes += chunk.length })
        res.once('end', () => resolve({ status: res.statusCode, bytes }))
        res.once('error', reject)
      })
      req.once('error', reject)
      if (body === undefined) req.end(); else body(req)
    }),
    close: () => agent.destroy()
  }
}

const writeAll = (size) => (stream) => {
  const block = Buffer.alloc(MiB, 7)
  let left = size
  const more = () => {
    while (left > 0) {
      const chunk = block.subarray(0, Math.min(block.length, left))
      left -= chunk.length
      if (!stream.write(chunk)) return stream.once('drain', more)
    }
    stream.end()
  }
  more()
}

/** One transfer of `size` bytes: MB/s from the consumer's start to the end of both. */
async function bulk (c, size, id) {
  const started = process.hrtime.bigint()
  const [got] = await Promise.all([c.send('GET', `/channels/bench/bulk-${id}`), c.send('POST', `/channels/bench/bulk-${id}`, writeAll(size))])
  if (got.bytes !== size) throw new Error(`bulk: received ${got.bytes} of ${size} bytes`)
  return size / 1e6 / (Number(process.hrtime.bigint() - started) / 1e9)
}

/** `loops` GET + POST loops of 64 bytes on own channels for `ms`; pairs completed per second. */
async function pairs (c, loops, ms, tag) {
  const deadline = Date.now() + ms
  let done = 0
  const message = Buffer.alloc(64, 1)
  await Promise.all(Array.from({ length: loops }, async (_, i) => {
    const channel = `/channels/bench-${tag}-${i % 97}/pair-${i}`
    while (Date.now() < deadline) {
      const [got, sent] = await Promise.all([c.send('GET', channel), c.send('POST', channel, (s) => s.end(message))])
      if (got.status !== 200 || sent.status !== 200 || got.bytes !== 64) throw new Error(`pairs: ${got.status}/${sent.status}, ${got.bytes} bytes`)
      done++
    }
  }))
  return done / (ms / 1000)
}

const hasNginx = () => { try { execFileSync('nginx', ['-v'], { stdio: 'ignore' }); return true } catch { return false } }

module.exports = {
  id: 'deploy',
  title: 'deploy: TLS, HTTP/2 and nginx in front, against plain HTTP/1.1 in the same run',
  description: 'Bulk MB/s of one transfer and pairs/s of 64-byte GET + POST loops (c=16, own channels, keep-alive clients), ' +
    'against the httpipe CLI over plain HTTP/1.1, TLS HTTP/1.1 and HTTP/2 (one port, --tls-cert), and through nginx (examples/deploy/) ' +
    'to 1 instance and to a 2-instance fleet, each with the ratio to the direct plain run.',
  alone: true,
  async run (config, log) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'httpipe-bench-deploy-'))
    const stops = []
    const rows = []
    try {
      const [cert, key] = [path.join(dir, 'cert.pem'), path.join(dir, 'key.pem')]
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
        '-subj', '/CN=bench', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' })
      const ca = fs.readFileSync(cert)
      const plain = await startCli(config)
      const secure = await startCli(config, ['--tls-cert', cert, '--tls-key', key])
      stops.push(plain.stop, secure.stop)
      const size = config.deployBulkSize
      const ms = config.pairsDuration * 1000
      const targets = [['plain HTTP/1.1', 'http', plain.port], ['TLS HTTP/1.1', 'tls', secure.port], ['HTTP/2 (TLS)', 'h2', secure.port]]
      if (hasNginx()) {
        const second = await startCli(config)
        stops.push(second.stop)
        const one = await startNginx('nginx.conf', [plain.port], dir)
        const fleet = await startNginx('nginx-fleet.conf', [plain.port, second.port], dir)
        stops.push(one.stop, fleet.stop)
        targets.push(['nginx → 1 instance', 'http', one.port], ['nginx → 2 instances', 'http', fleet.port])
      } else {
        log('deploy: nginx is not installed; skipping the nginx rows')
      }
      for (const [label, kind, port] of targets) {
        const c = client(kind, port, ca)
        try {
          await pairs(c, 16, config.pairsWarmup * 1000, 'warm')
          const pairsPerSec = await pairs(c, 16, ms, label.replace(/\W+/g, ''))
          const mbPerSec = label.startsWith('nginx') ? null : await bulk(c, size, label.replace(/\W+/g, ''))
          rows.push({ label, mbPerSec, pairsPerSec })
          log(`deploy · ${label}: ${mbPerSec === null ? '' : `${mbPerSec.toFixed(0)} MB/s, `}${pairsPerSec.toFixed(0)} pairs/s`)
        } finally { c.close() }
      }
    } finally {
      for (const stop of stops.reverse()) await stop()
      fs.rmSync(dir, { recursive: true, force: true })
    }
    return rows
  },
  render (rows) {
    const base = rows[0]
    const ratio = (value, of) => (value === null || of === null ? '' : ` (${(value / of).toFixed(2)}×)`)
    return [
      '| target | bulk MB/s | pairs/s (c=16) |',
      '| --- | ---: | ---: |',
      ...rows.map((r) => `| ${r.label} | ${r.mbPerSec === null ? '—' : r.mbPerSec.toFixed(0) + ratio(r.mbPerSec, base.mbPerSec)} | ${r.pairsPerSec.toFixed(0)}${ratio(r.pairsPerSec, base.pairsPerSec)} |`)
    ].join('\n')
  }
}
