'use strict'
// expose: requests/s and latency of small GETs to a local server reached through the request/
// response mode (`httpipe expose --workers 16` answering on the standalone server's /res) against
// the same local server behind a minimal node:http reverse proxy, in the same run. Two hops
// (client → relay → worker → local server, and the reply back through the relay) against one.
// It brings its own servers, so run.js runs it once.

const { spawn } = require('node:child_process')
const { once } = require('node:events')
const http = require('node:http')
const { accepting, freePort } = require('../lib/listening.js')
const path = require('node:path')
const { LatencyRecorder } = require('../lib/stats.js')

const CONCURRENCY = 16
const WORKERS = 16
// Each path is warmed up for at least this many requests (and --pairs-warmup seconds): both took
// 3–5 s, some 5 000–10 000 requests, to reach their steady rate on 2 cores as V8 optimized them, the
// proxy's smaller code sooner; after the 1-second warm-up of the other scenarios, expose was still
// measured half-compiled (its rate kept rising for 4 s more).
const WARMUP_REQUESTS = 10000
// A bound on each warm-up, for a machine too slow to reach WARMUP_REQUESTS in reasonable time.
const WARMUP_MAX_MS = 30000

// stdout is read only where the scenario waits for a line (expose's "forwarding"); the relay's
// request log goes to /dev/null, as D's in the other scenarios: a pipe nobody reads fills after
// 64 KiB, and the relay then buffered its log in memory and never exited on SIGTERM (flushing it).
function spawnNode (args, env, stdout = 'ignore') {
  const child = spawn(process.execPath, args, { stdio: ['ignore', stdout, 'inherit'], env: { ...process.env, ...env } })
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const killer = setTimeout(() => child.kill('SIGKILL'), 2000)
      await once(child, 'exit')
      clearTimeout(killer)
    }
  }
  return { child, stop }
}

/**
 * `CONCURRENCY` keep-alive GET loops on `url` for `ms` (or, with `atLeast`, until that many
 * requests are done too, within `WARMUP_MAX_MS`): requests/s and latency percentiles.
 */
async function load (port, pathname, ms, atLeast = 0) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY })
  const latencies = new LatencyRecorder()
  const start = Date.now()
  const deadline = start + ms
  let done = 0
  let errors = 0
  const going = () => Date.now() < deadline || (done < atLeast && Date.now() < start + WARMUP_MAX_MS)
  const started = process.hrtime.bigint()
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (going()) {
      const t0 = process.hrtime.bigint()
      const ok = await new Promise((resolve) => {
        const req = http.request({ host: '127.0.0.1', port, path: pathname, agent }, (res) => {
          let bytes = 0
          res.on('data', (chunk) => { bytes += chunk.length })
          res.once('end', () => resolve(res.statusCode === 200 && bytes === 1024))
          res.once('error', () => resolve(false))
        })
        req.once('error', () => resolve(false))
        req.end()
      })
      if (ok) {
        done++
        latencies.record(Number(process.hrtime.bigint() - t0) / 1e6)
      } else {
        errors++
      }
    }
  }))
  agent.destroy()
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const [p50, p99] = latencies.percentiles([0.5, 0.99])
  return { requestsPerSec: done / seconds, p50, p99, errors }
}

module.exports = {
  id: 'expose',
  title: 'expose: a local server through httpipe expose (16 workers) against a node:http reverse proxy',
  description: `Requests/s and latency of 1 KiB GETs (c=${CONCURRENCY}, keep-alive) to one local node:http server, reached through ` +
    `\`httpipe expose --workers ${WORKERS}\` on the standalone server's request/response mode (two hops each way), and through a ` +
    'minimal node:http reverse proxy (bench/servers/node-proxy.js, one hop), each warmed up for at least ' + WARMUP_REQUESTS + ' requests, then measured alternately in the same run (two slices each). ' +
    'The ratio is expose / proxy.',
  alone: true,
  async run (config, log) {
    const stops = []
    const rows = []
    try {
      const [sitePort, proxyPort, relayPort] = await Promise.all([freePort(), freePort(), freePort()])
      const site = spawnNode([path.join(__dirname, '..', 'servers', 'static-site.js')], { PORT: String(sitePort) })
      stops.push(site.stop)
      await accepting(sitePort, site.child)
      const proxy = spawnNode([path.join(__dirname, '..', 'servers', 'node-proxy.js')], { PORT: String(proxyPort), TARGET_PORT: String(sitePort) })
      stops.push(proxy.stop)
      await accepting(proxyPort, proxy.child)
      const cli = path.join(config.dist, 'cli.js')
      const relay = spawnNode([cli, '--host', '127.0.0.1', '--port', String(relayPort)])
      stops.push(relay.stop)
      await accepting(relayPort, relay.child)
      const expose = spawnNode([cli, 'expose', '--workers', String(WORKERS), '--to', `http://127.0.0.1:${sitePort}`, `http://127.0.0.1:${relayPort}/res/bench/site`], {}, 'pipe')
      stops.push(expose.stop)
      await new Promise((resolve, reject) => {
        expose.child.stdout.on('data', (chunk) => { if (chunk.toString().includes('forwarding')) resolve() })
        expose.child.once('exit', (code) => reject(new Error(`httpipe expose exited with ${code}`)))
      })
      const targets = [['node:http reverse proxy', proxyPort, '/asset'], [`httpipe expose (${WORKERS} workers)`, relayPort, '/req/bench/site/asset']]
      const warm = config.pairsWarmup * 1000
      for (const [, port, pathname] of targets) await load(port, pathname, warm, WARMUP_REQUESTS)
      const slice = (config.pairsDuration * 1000) / 2
      const results = targets.map(() => [])
      for (let round = 0; round < 2; round++) {
        for (const [i, [, port, pathname]] of targets.entries()) results[i].push(await load(port, pathname, slice))
      }
      for (const [i, [label]] of targets.entries()) {
        const runs = results[i]
        const row = {
          label,
          requestsPerSec: runs.reduce((sum, r) => sum + r.requestsPerSec, 0) / runs.length,
          p50: Math.max(...runs.map((r) => r.p50)),
          p99: Math.max(...runs.map((r) => r.p99)),
          errors: runs.reduce((sum, r) => sum + r.errors, 0)
        }
        rows.push(row)
        log(`expose · ${label}: ${row.requestsPerSec.toFixed(0)} req/s, p50 ${row.p50.toFixed(2)} ms, p99 ${row.p99.toFixed(2)} ms, ${row.errors} errors`)
      }
    } finally {
      for (const stop of stops.reverse()) await stop()
    }
    return rows
  },
  render (rows) {
    const base = rows[0]
    return [
      `| target | requests/s (c=${CONCURRENCY}) | p50 ms | p99 ms | errors |`,
      '| --- | ---: | ---: | ---: | ---: |',
      ...rows.map((r) => `| ${r.label} | ${r.requestsPerSec.toFixed(0)}${r === base ? '' : ` (${(r.requestsPerSec / base.requestsPerSec).toFixed(2)}×)`} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.errors} |`)
    ].join('\n')
  }
}
