#!/usr/bin/env node
'use strict'
// Entry point: runs every selected scenario against every server, interleaved round by round,
// and writes bench/results/latest.md and latest.json. See bench/README.md.

const os = require('node:os')
const { parseArgs, HELP } = require('./lib/config.js')
const { resolveServers, ServerProcess, killAllServersNow } = require('./lib/servers.js')
const { readOpenFileLimits } = require('./lib/proc-stats.js')
const { describeMachine, renderMarkdown, writeReport, formatNumber } = require('./lib/report.js')

const SCENARIOS = {
  bulk: require('./scenarios/bulk.js'),
  pairs: require('./scenarios/pairs.js'),
  waiters: require('./scenarios/waiters.js'),
  'slow-consumer': require('./scenarios/slow-consumer.js'),
  scale: require('./scenarios/scale.js'),
  fanout: require('./scenarios/fanout.js'),
  observe: require('./scenarios/observe.js'),
  deploy: require('./scenarios/deploy.js'),
  expose: require('./scenarios/expose.js')
}

// Relay scenarios run on A B C D; a scenario with its own baselines lists its servers (fanout: S E C D).
const RELAY_SERVERS = ['A', 'B', 'C', 'D']

function serversOf (scenario, servers) {
  const keys = scenario.servers ?? RELAY_SERVERS
  return servers.filter((server) => keys.includes(server.key))
}

function log (message) {
  process.stderr.write(message + '\n')
}

/**
 * Node raises its soft descriptor limit to the hard limit at startup (and server processes inherit
 * it), so only a low hard limit can starve the waiters scenario: say so up front.
 */
function warnIfFdLimitTooLow (config) {
  const { soft } = readOpenFileLimits()
  if (config.scenarios.includes('waiters') && soft < SCENARIOS.waiters.descriptorsNeeded(config.waiters)) {
    log(`warning: ulimit -n is ${soft}; ${config.waiters} waiters need about ${SCENARIOS.waiters.descriptorsNeeded(config.waiters)}. ` +
      'The waiters scenario will fail; raise the hard limit (ulimit -Hn, as root) or pass a smaller --waiters.')
  }
  const subscribers = Math.max(...config.fanoutSubscribers)
  if (config.scenarios.includes('fanout') && soft < SCENARIOS.fanout.descriptorsNeeded(subscribers)) {
    log(`warning: ulimit -n is ${soft}; ${subscribers} subscribers need about ${SCENARIOS.fanout.descriptorsNeeded(subscribers)}. ` +
      'The fanout scenario will fail; raise the hard limit or pass a smaller --fanout-subscribers.')
  }
}

function installCleanupHandlers () {
  process.on('exit', killAllServersNow)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      log(`\n${signal}: stopping servers`)
      killAllServersNow()
      process.exit(128 + os.constants.signals[signal])
    })
  }
  const crash = (err) => {
    log(`bench crashed: ${err && err.stack ? err.stack : err}`)
    killAllServersNow()
    process.exit(1)
  }
  process.on('uncaughtException', crash)
  process.on('unhandledRejection', crash)
}

function newRecord (scenario, variant, server, round) {
  return {
    scenario: scenario.id,
    variant: variant.id,
    server: server.key,
    round,
    metrics: {},
    details: {},
    errorSamples: [],
    failure: null,
    seconds: 0
  }
}

/** One measurement: a fresh server process, one variant, then the process is stopped. */
async function measure (scenario, variant, server, round, config) {
  const record = newRecord(scenario, variant, server, round)
  const startedAt = Date.now()
  let serverProcess = null
  try {
    serverProcess = await ServerProcess.start(server, config)
    const outcome = await variant.run(serverProcess)
    record.metrics = outcome.metrics
    record.details = outcome.details
    record.errorSamples = outcome.errorSamples
  } catch (err) {
    record.failure = err.message
  } finally {
    if (serverProcess !== null) await serverProcess.stop()
    record.seconds = (Date.now() - startedAt) / 1000
  }
  return record
}

/**
 * One round of a variant measured in slices (pairs, scale): a fresh process per server, all
 * running at once, and each server's warm-up and measured time taken in short slices, servers in
 * turn. Speed on a shared 2-core VM drifts within seconds; back-to-back runs of several seconds
 * each turned that drift into ±10 % between identical servers.
 */
async function measureInSlices (scenario, variant, servers, round, config) {
  const startedAt = Date.now()
  const entries = servers.map((server) => ({ server, record: newRecord(scenario, variant, server, round), process: null, session: null }))
  const live = () => entries.filter((entry) => entry.record.failure === null)
  async function inTurns (totalMs, counted) {
    const slices = Math.max(1, Math.round(totalMs / config.sliceMs))
    for (let slice = 0; slice < slices; slice++) {
      // Rotated, so that no server runs two slices in a row (warm caches) and each takes every place.
      const running = live()
      const order = running.map((_, index) => running[(index + slice) % running.length])
      for (const entry of order) {
        try {
          entry.process.assertAlive()
          await (counted ? entry.session.slice(0, totalMs / slices) : entry.session.slice(totalMs / slices, 0))
          entry.process.assertAlive()
        } catch (err) {
          entry.record.failure = err.message
        }
      }
    }
  }
  try {
    for (const entry of entries) {
      try {
        entry.process = await ServerProcess.start(entry.server, config)
        entry.session = variant.session(entry.process)
        await entry.session.open()
      } catch (err) {
        entry.record.failure = err.message
      }
    }
    if (variant.warmupMs > 0) await inTurns(variant.warmupMs, false)
    await inTurns(variant.durationMs, true)
    for (const { record, session } of live()) Object.assign(record, session.outcome())
  } finally {
    for (const entry of entries) {
      if (entry.session !== null) entry.session.close()
      if (entry.process !== null) await entry.process.stop()
      entry.record.seconds = (Date.now() - startedAt) / 1000
    }
  }
  return entries.map((entry) => entry.record)
}

/** One round of a variant on every server: records in server order. */
async function measureRound (scenario, variant, servers, round, config) {
  if (variant.session !== undefined) return measureInSlices(scenario, variant, servers, round, config)
  // The order rotates by round, so that no server is always the one measured after the others (in
  // one bulk run the server always measured last came out 20 % behind, and first 5 % ahead).
  const records = []
  for (let index = 0; index < servers.length; index++) {
    records.push(await measure(scenario, variant, servers[(index + round - 1) % servers.length], round, config))
  }
  return records
}

function summarizeRecord (scenario, record) {
  if (record.failure !== null) return `FAILED: ${record.failure}`
  const parts = scenario.metrics.filter((metric) => metric.key in record.metrics).map((metric) => `${metric.label} ${formatNumber(record.metrics[metric.key])}`)
  return parts.join(', ') + (record.errorSamples.length > 0 ? ` [${record.errorSamples.slice(0, 3).join('; ')}]` : '')
}

async function main () {
  const config = parseArgs(process.argv.slice(2))
  if (config.help) {
    console.log(HELP)
    return
  }
  warnIfFdLimitTooLow(config)
  installCleanupHandlers()

  const servers = resolveServers(config)
  // A scenario that brings its own servers (deploy) runs once, not per server; its table follows.
  const alone = config.scenarios.map((id) => SCENARIOS[id]).filter((scenario) => scenario.alone === true)
  const scenarios = config.scenarios.map((id) => SCENARIOS[id]).filter((scenario) => scenario.alone !== true)
  const runnable = servers.filter((server) => server.missing === null)
  const machine = describeMachine()
  log(`machine: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, ulimit -n ${machine.openFileLimit}`)
  for (const server of servers) if (server.missing !== null) log(`skipping ${server.key} ${server.id}: ${server.missing}`)
  if (runnable.length === 0 && scenarios.length > 0) throw new Error('no server to run')

  const total = scenarios.reduce((sum, scenario) => sum + scenario.variants(config).length * serversOf(scenario, runnable).length, 0) * config.rounds
  const startedAt = Date.now()
  const results = []
  for (const scenario of scenarios) {
    for (let round = 1; round <= config.rounds; round++) {
      for (const variant of scenario.variants(config)) {
        for (const record of await measureRound(scenario, variant, serversOf(scenario, runnable), round, config)) {
          const server = runnable.find((candidate) => candidate.key === record.server)
          results.push(record)
          log(`[${results.length}/${total}] ${scenario.id} · ${variant.label} · round ${round}/${config.rounds} · ` +
            `${server.key} ${server.id} (${record.seconds.toFixed(1)} s): ${summarizeRecord(scenario, record)}`)
        }
      }
    }
  }

  const aloneResults = []
  for (const scenario of alone) aloneResults.push({ scenario, rows: await scenario.run(config, log) })

  const report = { machine, config, servers, scenarios, results, startedAt, finishedAt: Date.now(), serversOf }
  const markdown = [renderMarkdown(report), ...aloneResults.map(({ scenario, rows }) =>
    `## ${scenario.title}\n\n${scenario.description}\n\n${scenario.render(rows)}\n`)].join('\n')
  const paths = writeReport({ ...report, alone: aloneResults.map(({ scenario, rows }) => ({ scenario: scenario.id, rows })) }, markdown)
  console.log(markdown)
  log(`wrote ${paths.markdownPath} and ${paths.jsonPath}`)
  const failures = results.filter((record) => record.failure !== null).length
  const errors = results.reduce((sum, record) => sum + (record.metrics.errors || 0), 0)
  if (failures > 0 || errors > 0) {
    log(`${failures} measurement(s) failed and ${errors} request error(s) were counted; see the notes under the tables`)
    process.exitCode = 1
  }
}

main().catch((err) => {
  log(`bench failed: ${err.message}`)
  killAllServersNow()
  process.exit(1)
})
