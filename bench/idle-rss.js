'use strict'
// Idle memory of S (servers/node-sse.js) and D (the standalone server), read as the fanout scenario
// reads it (started the same way, RSS after a full GC), split into anonymous memory (the V8 heap,
// malloc) and file pages (node's own binary: the code it has run). Also with V8's optimizing compiler
// off (--no-opt), which takes out what TurboFan costs when module loading makes path.resolve() hot at
// start: S pays that only under load, so the rest is what the code loaded at start costs.
// Reads memory only (no load), so it needs no bench lock. HTTPIPE_BASE_DIST=DIR adds D on another
// build (key D0), as in cpu-per-pair.js; RUNS (default 5) processes each, medians.
const fs = require('node:fs')
const path = require('node:path')
const root = path.join(__dirname, '..')
const { SERVER_DEFINITIONS, ServerProcess } = require(path.join(root, 'bench/lib/servers.js'))
const config = { dist: process.env.HTTPIPE_DIST || path.join(root, 'dist'), cliArgs: [], portBase: 27000, readyTimeoutMs: 10000 }
const runs = Number(process.env.RUNS || 5)

function readMemory (pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'latin1')
  const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status)?.[1]) * 1024
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') }
}

async function measure (definition, dist, flags) {
  const server = await ServerProcess.start(definition, { ...config, dist, nodeFlags: flags })
  try {
    await server.collectGarbage()
    return readMemory(server.pid)
  } finally {
    await server.stop()
  }
}

const median = (values) => values.slice().sort((a, b) => a - b)[Math.floor(values.length / 2)]
const mb = (bytes) => (bytes / 1e6).toFixed(1).padStart(6)

async function main () {
  const rows = [['S', SERVER_DEFINITIONS.find((d) => d.key === 'S'), config.dist], ['D', SERVER_DEFINITIONS.find((d) => d.key === 'D'), config.dist]]
  if (process.env.HTTPIPE_BASE_DIST) rows.push(['D0', SERVER_DEFINITIONS.find((d) => d.key === 'D'), path.resolve(process.env.HTTPIPE_BASE_DIST)])
  console.log('server, flags          RSS   anon   file (MB, after a GC; median of', runs, 'processes)')
  for (const flags of [[], ['--no-opt']]) {
    for (const [key, definition, dist] of rows) {
      const samples = []
      for (let i = 0; i < runs; i++) samples.push(await measure(definition, dist, flags))
      const pick = (field) => median(samples.map((s) => s[field]))
      console.log(`${(key + ' ' + flags.join(' ')).padEnd(20)} ${mb(pick('rss'))} ${mb(pick('anon'))} ${mb(pick('file'))}`)
    }
  }
}

main().catch((err) => { console.error(err); process.exitCode = 1 })
