'use strict'
// expose, by CPU time: microseconds of CPU per request (1 KiB GETs, c=16, keep-alive) of each process
// on the paths of scenarios/expose.js: the local site behind node-proxy.js, and the same site behind
// `httpipe expose --workers 16` on the standalone server's /req. From /proc ticks over the same
// alternating slices, so it holds on a loaded machine where requests/s does not. Run under the bench
// lock, after `npm run build`:
//
//   flock /tmp/httpipe-bench.lock node bench/cpu-per-expose.js
//
// VARIANTS="old=DIR,new=dist" measures several builds in the same run, each with its own relay and
// expose process (DIR:DIR2 for a relay from DIR and expose from DIR2; DIR+--log-level=silent adds
// relay arguments), slices rotated among them.
// WARMUP=N: requests per path before measuring (default 10 000, as the scenario).
// RELAY_ARGS="--log-level silent": extra arguments for every relay. SLICES=N and SLICE_MS=N: the
// measured time (default 8 slices of 500 ms per path). CPU_PROF=DIR writes --cpu-prof profiles of
// the relays and exposes there; PERF=DIR records them with `perf record` (CPU time, kernel included);
// STRACE=DIR counts their system calls (strace -c) over the measured slices.
const path = require('node:path')
const http = require('node:http')
const fs = require('node:fs')
const { spawn } = require('node:child_process')
const { once } = require('node:events')
const { accepting, freePort } = require('./lib/listening.js')
const { readCpuTicks } = require('./lib/proc-stats.js')
const { LatencyRecorder } = require('./lib/stats.js')

const root = path.join(__dirname, '..')
const variants = (process.env.VARIANTS || `expose=${process.env.HTTPIPE_DIST || 'dist'}`).split(',').map((spec) => {
  const [name, rest] = [spec.slice(0, spec.indexOf('=')), spec.slice(spec.indexOf('=') + 1)]
  const [dirs, ...args] = rest.split('+')
  const [relayDist, exposeDist = relayDist] = dirs.split(':').map((dir) => path.resolve(root, dir))
  return { name, relayDist, exposeDist, args }
})
const relayArgs = (process.env.RELAY_ARGS || '').split(' ').filter(Boolean)
const slices = Number(process.env.SLICES || 8)
const sliceMs = Number(process.env.SLICE_MS || 500)
const profile = process.env.CPU_PROF
const perfed = process.env.PERF
const straced = process.env.STRACE
const warmup = Number(process.env.WARMUP || 10000)
const CONCURRENCY = 16
const WORKERS = 16

/** Kernel-mode ticks (stime) alone: how much of the CPU the system calls took. */
function readSystemTicks (pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1')
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[12])
}

function start (args, env, observed, stdout = 'ignore') {
  const flags = observed && profile ? ['--cpu-prof', '--cpu-prof-interval', '250', '--cpu-prof-dir', profile] : observed && perfed ? ['--perf-basic-prof-only-functions'] : []
  // The relay's request log goes to /dev/null, as the standalone server's (D) in the other scenarios.
  return spawn(process.execPath, [...flags, ...args], { stdio: ['ignore', stdout, 'inherit'], env: { ...process.env, ...env } })
}

async function stop (child) {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  // The relay's shutdown grace is 5 s; a profile is written only on a clean exit.
  const killer = setTimeout(() => child.kill('SIGKILL'), 8000)
  const [, signal] = await once(child, 'exit')
  clearTimeout(killer)
  if (signal === 'SIGKILL') console.error(`${child.spawnargs.slice(1).join(' ')}: killed after 8 s`)
}

function loop (agent, port, pathname, deadline, latencies, counts, atLeast = 0) {
  return new Promise((resolve) => {
    const next = () => {
      if (Date.now() >= deadline && counts.done + counts.errors >= atLeast) return resolve()
      const t0 = process.hrtime.bigint()
      const req = http.request({ host: '127.0.0.1', port, path: pathname, agent }, (res) => {
        let bytes = 0
        res.on('data', (chunk) => { bytes += chunk.length })
        res.once('end', () => {
          if (res.statusCode === 200 && bytes === 1024) {
            counts.done++
            latencies.record(Number(process.hrtime.bigint() - t0) / 1e6)
          } else counts.errors++
          next()
        })
      })
      req.once('error', () => { counts.errors++; next() })
      req.end()
    }
    next()
  })
}

async function main () {
  const children = []
  const sitePort = await freePort()
  const site = start([path.join(root, 'bench/servers/static-site.js')], { PORT: String(sitePort) })
  children.push(site)
  const proxyPort = await freePort()
  const proxy = start([path.join(root, 'bench/servers/node-proxy.js')], { PORT: String(proxyPort), TARGET_PORT: String(sitePort) })
  children.push(proxy)
  await Promise.all([accepting(sitePort, site), accepting(proxyPort, proxy)])
  const paths = [{ label: 'proxy', port: proxyPort, pathname: '/asset', procs: { site, proxy } }]
  const observed = {}
  for (const variant of variants) {
    const relayPort = await freePort()
    const relay = start([path.join(variant.relayDist, 'cli.js'), '--host', '127.0.0.1', '--port', String(relayPort), ...relayArgs, ...variant.args], {}, true)
    children.push(relay)
    await accepting(relayPort, relay)
    const expose = start([path.join(variant.exposeDist, 'cli.js'), 'expose', '--workers', String(WORKERS), '--to', `http://127.0.0.1:${sitePort}`, `http://127.0.0.1:${relayPort}/res/bench/site`], {}, true, 'pipe')
    children.push(expose)
    await new Promise((resolve, reject) => {
      expose.stdout.on('data', (chunk) => { if (chunk.toString().includes('forwarding')) resolve() })
      expose.once('exit', (code) => reject(new Error(`httpipe expose exited with ${code}`)))
    })
    paths.push({ label: variant.name, port: relayPort, pathname: '/req/bench/site/asset', procs: { site, relay, expose } })
    observed[`${variant.name}-relay`] = relay
    observed[`${variant.name}-expose`] = expose
  }
  for (const p of paths) {
    p.agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY })
    p.ticks = Object.fromEntries(Object.keys(p.procs).map(k => [k, 0]))
    p.systemTicks = Object.fromEntries(Object.keys(p.procs).map(k => [k, 0]))
    p.clientMicros = 0
    p.ms = 0
    p.counts = { done: 0, errors: 0 }
    p.latencies = new LatencyRecorder()
    // Warm-up: JIT (as in scenarios/expose.js, at least WARMUP requests), connections, not counted.
    const deadline = Date.now() + 1000
    const warm = { done: 0, errors: 0 }
    await Promise.all(Array.from({ length: CONCURRENCY }, () => loop(p.agent, p.port, p.pathname, deadline, new LatencyRecorder(), warm, warmup)))
  }
  const tracers = []
  if (straced || perfed) {
    for (const [name, child] of Object.entries(straced ? { site, proxy, ...observed } : observed)) {
      const args = straced ? ['strace', '-c', '-f', '-p', String(child.pid), '-o', path.join(straced, `${name}.txt`)] : ['perf', 'record', '-F', '2000', '-g', '-p', String(child.pid), '-o', path.join(perfed, `${name}.data`)]
      tracers.push(spawn(args[0], args.slice(1), { stdio: 'ignore' }))
    }
    await new Promise((resolve) => setTimeout(resolve, 1000))
  }
  for (let i = 0; i < slices; i++) {
    // Rotated, so that no path always follows the same one.
    for (let j = 0; j < paths.length; j++) {
      const p = paths[(i + j) % paths.length]
      const before = Object.fromEntries(Object.entries(p.procs).map(([k, c]) => [k, [readCpuTicks(c.pid), readSystemTicks(c.pid)]]))
      const client = process.cpuUsage()
      const t0 = Date.now()
      const deadline = t0 + sliceMs
      await Promise.all(Array.from({ length: CONCURRENCY }, () => loop(p.agent, p.port, p.pathname, deadline, p.latencies, p.counts)))
      p.ms += Date.now() - t0
      const used = process.cpuUsage(client)
      p.clientMicros += used.user + used.system
      for (const [k, c] of Object.entries(p.procs)) {
        p.ticks[k] += readCpuTicks(c.pid) - before[k][0]
        p.systemTicks[k] += readSystemTicks(c.pid) - before[k][1]
      }
    }
  }
  for (const p of paths) p.agent.destroy()
  for (const tracer of tracers) {
    tracer.kill('SIGINT')
    await once(tracer, 'exit')
  }
  // Workers first, so that no relay waits for their polls.
  await Promise.all(Object.entries(observed).filter(([k]) => k.endsWith('-expose')).map(([, c]) => stop(c)))
  await Promise.all(children.map(stop))
  const out = {}
  for (const p of paths) {
    const n = p.counts.done
    const perRequest = (ticks) => Object.fromEntries(Object.entries(ticks).map(([k, t]) => [k, +(t * 10000 / n).toFixed(1)]))
    const cpu = perRequest(p.ticks)
    const system = perRequest(p.systemTicks)
    const servers = Object.values(p.ticks).reduce((a, b) => a + b, 0) * 10000 / n
    const [p50, p99] = p.latencies.percentiles([0.5, 0.99])
    out[p.label] = { requests: n, errors: p.counts.errors, perSec: Math.round(n * 1000 / p.ms), p50: +p50.toFixed(2), p99: +p99.toFixed(2), cpu: { ...cpu, servers: +servers.toFixed(1), client: +(p.clientMicros / n).toFixed(1) }, system }
    console.log(`${p.label}: ${out[p.label].perSec} req/s, p50 ${out[p.label].p50} ms, p99 ${out[p.label].p99} ms, ${p.counts.errors} errors; µs CPU per request: ${Object.entries(out[p.label].cpu).map(([k, v]) => `${k} ${v}${system[k] === undefined ? '' : ` (system ${system[k]})`}`).join(', ')}`)
  }
  for (const { name } of variants) {
    console.log(`${name}/proxy: requests/s ${(out[name].perSec / out.proxy.perSec).toFixed(2)}, server CPU per request ${(out[name].cpu.servers / out.proxy.cpu.servers).toFixed(2)}, with the client's ${((out[name].cpu.servers + out[name].cpu.client) / (out.proxy.cpu.servers + out.proxy.cpu.client)).toFixed(2)}`)
  }
  if (process.env.JSON_OUT) fs.writeFileSync(process.env.JSON_OUT, JSON.stringify(out, null, 2))
}
main().catch((err) => { console.error(err); process.exit(1) })
