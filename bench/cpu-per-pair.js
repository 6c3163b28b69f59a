'use strict'
// observe, by server CPU time: microseconds of CPU per pair (c=16, own then shared channels) of C, O, D, P, Q
// (see scenarios/observe.js), from /proc ticks over the same measured slices. Run under the bench lock.
const path = require('node:path')
const root = path.join(__dirname, '..')
const { PairSession } = require(path.join(root, 'bench/lib/pair-loops.js'))
const { SERVER_DEFINITIONS, ServerProcess } = require(path.join(root, 'bench/lib/servers.js'))
const { readCpuTicks } = require(path.join(root, 'bench/lib/proc-stats.js'))
const config = { dist: process.env.HTTPIPE_DIST || path.join(root, 'dist'), cliArgs: [], portBase: 23000, readyTimeoutMs: 10000 }
async function main () {
  const keys = ['C', 'O', 'D', 'P', 'Q']
  const servers = []
  for (const key of keys) servers.push(await ServerProcess.start(SERVER_DEFINITIONS.find(d => d.key === key), config))
  const results = Object.fromEntries(keys.map(k => [k, { ticks: 0, pairs: 0 }]))
  for (const shared of [false, true]) {
    const sessions = servers.map(s => new PairSession({ port: s.port, concurrency: 16, stallTimeoutMs: 10000, channelPrefix: shared ? 'shared-' : 'own-', pickChannel: shared ? () => 0 : i => i, exclusiveChannels: !shared }))
    for (const s of sessions) await s.open()
    for (const s of sessions) await s.slice(500, 0)
    for (let round = 0; round < 8; round++) {
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
  for (const k of keys) console.log(k, 'µs CPU per pair', (results[k].ticks * 10000 / results[k].pairs).toFixed(1), 'pairs', results[k].pairs)
}
main().catch(e => { console.error(e); process.exit(1) })
