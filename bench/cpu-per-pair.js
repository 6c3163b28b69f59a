'use strict'
// observe, by server CPU time: microseconds of CPU per pair (c=16, own then shared channels) of C, O, D, P, Q
// (see scenarios/observe.js), from /proc ticks over the same measured slices. Run under the bench lock.
// HTTPIPE_BASE_DIST=DIR also runs the five on another build (keys C0, O0, …; e.g. a copy of dist/ built
// from an older commit inside this checkout, so that it finds node_modules), in the same slices;
// ROUNDS (default 8) slices of 0.4 s per server and variant. SERVERS (default C,O,D,P,Q) picks the
// servers; PROCS (default 1) runs that many processes of each and pools them: processes of the
// same Express server differed by 5 to 30 % in CPU per pair on the loaded 2-core VM, far more than
// what authorize and metrics cost, so O/C from one process each is mostly that difference. Keep the
// servers few (SERVERS=C,O PROCS=3): each idles while the others take their slices, and with 16 the
// first pairs after each idle gap cost far more.
const path = require('node:path')
const root = path.join(__dirname, '..')
const { PairSession } = require(path.join(root, 'bench/lib/pair-loops.js'))
const { SERVER_DEFINITIONS, ServerProcess } = require(path.join(root, 'bench/lib/servers.js'))
const { readCpuTicks } = require(path.join(root, 'bench/lib/proc-stats.js'))
const config = { dist: process.env.HTTPIPE_DIST || path.join(root, 'dist'), cliArgs: [], portBase: 23000, readyTimeoutMs: 10000 }
const base = process.env.HTTPIPE_BASE_DIST
const rounds = Number(process.env.ROUNDS || 8)
const kinds = (process.env.SERVERS || 'C,O,D,P,Q').split(',')
const procs = Number(process.env.PROCS || 1)
async function main () {
  const builds = [[config.dist, '']]
  if (base) builds.push([path.resolve(base), '0'])
  // One entry per process: `key` pools the processes of one server and build.
  const servers = []
  for (const [dist, suffix] of builds) {
    for (const kind of kinds) {
      for (let p = 0; p < procs; p++) {
        const definition = SERVER_DEFINITIONS.find(d => d.key === kind)
        servers.push({ key: kind + suffix, process: await ServerProcess.start(definition, { ...config, dist }), ticks: 0, pairs: 0 })
      }
    }
  }
  for (const shared of [false, true]) {
    const sessions = servers.map(s => new PairSession({ port: s.process.port, concurrency: 16, stallTimeoutMs: 10000, channelPrefix: shared ? 'shared-' : 'own-', pickChannel: shared ? () => 0 : i => i, exclusiveChannels: !shared }))
    for (const s of sessions) await s.open()
    for (const s of sessions) await s.slice(500, 0)
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < servers.length; i++) {
        const j = (i + round) % servers.length
        const before = readCpuTicks(servers[j].process.pid)
        await sessions[j].slice(0, 400)
        const after = readCpuTicks(servers[j].process.pid)
        servers[j].ticks += after - before
      }
    }
    for (let i = 0; i < servers.length; i++) { servers[i].pairs += sessions[i].outcome().details.pairs; sessions[i].close() }
  }
  for (const s of servers) await s.process.stop()
  const pooled = {}
  for (const s of servers) {
    const entry = pooled[s.key] ??= { ticks: 0, pairs: 0, each: [] }
    entry.ticks += s.ticks
    entry.pairs += s.pairs
    entry.each.push(s.ticks * 10000 / s.pairs)
  }
  const keys = Object.keys(pooled)
  const us = k => pooled[k].ticks * 10000 / pooled[k].pairs
  for (const k of keys) console.log(k, 'µs CPU per pair', us(k).toFixed(1), 'pairs', pooled[k].pairs, procs > 1 ? `(processes: ${pooled[k].each.map(v => v.toFixed(0)).join(', ')})` : '')
  const ratio = (a, b) => keys.includes(a) && keys.includes(b) ? `${a.slice(0, 1)}/${b.slice(0, 1)} ${(us(a) / us(b)).toFixed(3)}` : undefined
  for (const [suffix, label] of builds.map(([, s]) => [s, s === '' ? '' : ' (base)'])) {
    const ratios = [ratio('O' + suffix, 'C' + suffix), ratio('P' + suffix, 'D' + suffix), ratio('Q' + suffix, 'D' + suffix)].filter(Boolean)
    if (ratios.length > 0) console.log(`CPU ratios${label}: ${ratios.join(', ')}`)
  }
  if (base) console.log('this build / base:', kinds.map(k => `${k} ${(us(k) / us(k + '0')).toFixed(3)}`).join(', '))
}
main().catch(e => { console.error(e); process.exit(1) })
