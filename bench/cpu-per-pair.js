'use strict'
// observe, by server CPU time: microseconds of CPU per pair (c=16, own then shared channels) of C, O, D, P, Q
// (see scenarios/observe.js), from /proc ticks over the same measured slices. Run under the bench lock.
// HTTPIPE_BASE_DIST=DIR also runs the five on another build (keys C0, O0, …; e.g. a copy of dist/ built
// from an older commit inside this checkout, so that it finds node_modules), in the same slices;
// ROUNDS (default 8) slices of 0.4 s per server and variant.
const path = require('node:path')
const root = path.join(__dirname, '..')
const { PairSession } = require(path.join(root, 'bench/lib/pair-loops.js'))
const { SERVER_DEFINITIONS, ServerProcess } = require(path.join(root, 'bench/lib/servers.js'))
const { readCpuTicks } = require(path.join(root, 'bench/lib/proc-stats.js'))
const config = { dist: process.env.HTTPIPE_DIST || path.join(root, 'dist'), cliArgs: [], portBase: 23000, readyTimeoutMs: 10000 }
const base = process.env.HTTPIPE_BASE_DIST
const rounds = Number(process.env.ROUNDS || 8)
async function main () {
  const builds = [[config.dist, '']]
  if (base) builds.push([path.resolve(base), '0'])
  const keys = []
  const servers = []
  for (const [dist, suffix] of builds) {
    for (const key of ['C', 'O', 'D', 'P', 'Q']) {
      keys.push(key + suffix)
      servers.push(await ServerProcess.start(SERVER_DEFINITIONS.find(d => d.key === key), { ...config, dist }))
    }
  }
  const results = Object.fromEntries(keys.map(k => [k, { ticks: 0, pairs: 0 }]))
  for (const shared of [false, true]) {
    const sessions = servers.map(s => new PairSession({ port: s.port, concurrency: 16, stallTimeoutMs: 10000, channelPrefix: shared ? 'shared-' : 'own-', pickChannel: shared ? () => 0 : i => i, exclusiveChannels: !shared }))
    for (const s of sessions) await s.open()
    for (const s of sessions) await s.slice(500, 0)
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < servers.length; i++) {
        const j = (i + round) % servers.length
        const before = readCpuTicks(servers[j].pid)
        await sessions[j].slice(0, 400)
        const after = readCpuTicks(servers[j].pid)
        results[keys[j]].ticks += after - before
      }
    }
    for (let i = 0; i < servers.length; i++) { results[keys[i]].pairs += sessions[i].outcome().details.pairs; sessions[i].close() }
  }
  for (const s of servers) await s.stop()
  const us = k => results[k].ticks * 10000 / results[k].pairs
  for (const k of keys) console.log(k, 'µs CPU per pair', us(k).toFixed(1), 'pairs', results[k].pairs)
  for (const [suffix, label] of builds.map(([, s]) => [s, s === '' ? '' : ' (base)'])) {
    console.log(`CPU ratios${label}: O/C ${(us('O' + suffix) / us('C' + suffix)).toFixed(3)}, P/D ${(us('P' + suffix) / us('D' + suffix)).toFixed(3)}, Q/D ${(us('Q' + suffix) / us('D' + suffix)).toFixed(3)}`)
  }
  if (base) console.log('this build / base:', ['C', 'O', 'D', 'P', 'Q'].map(k => `${k} ${(us(k) / us(k + '0')).toFixed(3)}`).join(', '))
}
main().catch(e => { console.error(e); process.exit(1) })
