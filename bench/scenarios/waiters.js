'use strict'
// waiters: many consumers waiting at once, each on its own channel and connection. Measures what a
// waiting request costs the server in memory, then releases them all and checks every body.

const { performance } = require('node:perf_hooks')
const { setTimeout: sleep } = require('node:timers/promises')
const { readCpuTicks, countOpenFds, readOpenFileLimits } = require('../lib/proc-stats.js')
const { readMessageId } = require('../lib/messages.js')
const { getHead, postMessageHead, postMessageRequest, connectMany, warmUp } = require('../lib/relay-ops.js')
const { ErrorLog } = require('../lib/error-log.js')

const CONNECT_PARALLELISM = 256
const PRODUCER_CONNECTIONS = 64
const FD_HEADROOM = 512
const SETTLE_POLL_MS = 100
const SETTLE_QUIET_POLLS = 3

const WAITING = 0
const DELIVERED = 1
const FAILED = 2

/**
 * "Confirmed waiting": the server holds at least `minOpenFds` descriptors (it accepted every
 * connection) and has used no CPU for a few polls (it has read and queued every request).
 */
async function waitUntilServerSettles (server, minOpenFds, timeoutMs) {
  const deadline = Date.now() + timeoutMs
  let quietPolls = 0
  let ticks = readCpuTicks(server.pid)
  let fds = 0
  for (let poll = 0; poll < timeoutMs / SETTLE_POLL_MS && Date.now() < deadline; poll++) {
    await sleep(SETTLE_POLL_MS)
    server.assertAlive()
    const nowTicks = readCpuTicks(server.pid)
    fds = countOpenFds(server.pid)
    quietPolls = nowTicks - ticks <= 1 && fds >= minOpenFds ? quietPolls + 1 : 0
    ticks = nowTicks
    if (quietPolls >= SETTLE_QUIET_POLLS) return
  }
  throw new Error(`server did not settle within ${timeoutMs} ms: ${fds} descriptors open, ${minOpenFds} connections expected`)
}

/** Each waiter holds one descriptor in the bench and one in the server; both inherit the same limit. */
function descriptorsNeeded (waiterCount) {
  return waiterCount + PRODUCER_CONNECTIONS + FD_HEADROOM
}

async function measureWaiters (server, { waiterCount, timeoutMs }) {
  const limits = readOpenFileLimits()
  if (limits.soft < descriptorsNeeded(waiterCount)) {
    throw new Error(`ulimit -n is ${limits.soft}; ${waiterCount} waiters need about ${descriptorsNeeded(waiterCount)} ` +
      '(raise it, or pass a smaller --waiters)')
  }
  const port = server.port
  const errors = new ErrorLog()
  const state = new Uint8Array(waiterCount)
  let releasing = false
  let settled = 0
  let lastDeliveryAt = 0
  let resolveAllSettled
  // Every waiter settles exactly once: connect failure, early answer, delivery, or failure.
  const allSettled = new Promise((resolve) => { resolveAllSettled = resolve })

  function settle (index, outcome, reason) {
    state[index] = outcome
    if (reason !== undefined) errors.add(reason)
    if (++settled === waiterCount) resolveAllSettled()
  }

  const consumerHandlers = Array.from({ length: waiterCount }, (_, index) => ({
    collect: true,
    onDone (err, response) {
      if (err) settle(index, FAILED, `GET failed: ${err.message}`)
      else if (!releasing) settle(index, FAILED, `GET answered ${response.status} before any producer arrived`)
      else if (response.status !== 200) settle(index, FAILED, `GET answered ${response.status}`)
      else if (readMessageId(response.body) !== index) settle(index, FAILED, 'GET body is not the message sent to its channel')
      else {
        lastDeliveryAt = performance.now()
        settle(index, DELIVERED)
      }
    }
  }))

  await warmUp(port)
  await server.collectGarbage()
  const rssBefore = server.rssBytes()

  const consumers = await connectMany(port, waiterCount, CONNECT_PARALLELISM,
    (connection, index) => connection.send(getHead(`w${index}`), consumerHandlers[index]))
  for (const failure of consumers.failures) settle(failure.index, FAILED, `connect failed: ${failure.error.message}`)
  const waitingCount = waiterCount - consumers.failures.length

  let producers = null
  try {
    await waitUntilServerSettles(server, waitingCount, timeoutMs)
    await server.collectGarbage()
    const rssAfter = server.rssBytes()
    const waitingIndexes = []
    for (let index = 0; index < waiterCount; index++) if (state[index] === WAITING) waitingIndexes.push(index)
    if (waitingIndexes.length === 0) throw new Error(`no consumer was left waiting: ${errors.samples().join('; ')}`)

    // Release: each producer connection posts to its share of the channels, one after another.
    releasing = true
    const releaseStartedAt = performance.now()
    producers = await connectMany(port, Math.min(PRODUCER_CONNECTIONS, waitingIndexes.length), PRODUCER_CONNECTIONS)
    for (const failure of producers.failures) errors.add(`producer connect failed: ${failure.error.message}`)
    const working = producers.connections.filter((connection) => connection !== null)
    if (working.length === 0) throw new Error('no producer connection could be opened')
    working.forEach((connection, producerIndex) => postInTurn(connection, waitingIndexes, producerIndex, working.length, errors, consumers.connections))

    const finished = await Promise.race([allSettled.then(() => true), sleep(timeoutMs).then(() => false)])
    if (!finished) {
      for (const index of waitingIndexes) {
        if (state[index] === WAITING) consumers.connections[index].abort(new Error(`not released within ${timeoutMs} ms`))
      }
    }
    const delivered = waitingIndexes.filter((index) => state[index] === DELIVERED).length
    server.assertAlive()
    return {
      metrics: {
        rssPerWaiterBytes: waitingCount > 0 ? (rssAfter - rssBefore) / waitingCount : NaN,
        rssGrowthMb: (rssAfter - rssBefore) / 1e6,
        releasedPerSec: delivered > 0 ? delivered / ((lastDeliveryAt - releaseStartedAt) / 1000) : NaN,
        errors: errors.count
      },
      details: { waiting: waitingCount, delivered, rssBeforeBytes: rssBefore, rssAfterBytes: rssAfter },
      errorSamples: errors.samples()
    }
  } finally {
    for (const connection of consumers.connections) if (connection !== null) connection.close()
    if (producers !== null) for (const connection of producers.connections) if (connection !== null) connection.close()
  }
}

/** Producer `producerIndex` of `producerCount` posts message i to channel w{i} for its share of indexes. */
function postInTurn (connection, indexes, producerIndex, producerCount, errors, consumerConnections) {
  let position = producerIndex
  const handler = {
    onDone (err, response) {
      const index = indexes[position]
      if (err || response.status !== 200) {
        errors.add(err ? `POST failed: ${err.message}` : `POST answered ${response.status}`)
        // Without its producer the consumer would wait forever: end it now, as an error.
        consumerConnections[index].abort(new Error('its producer failed'))
        if (err) {
          for (position += producerCount; position < indexes.length; position += producerCount) {
            consumerConnections[indexes[position]].abort(new Error('its producer connection failed'))
          }
          return
        }
      }
      position += producerCount
      sendNext()
    }
  }
  function sendNext () {
    if (position >= indexes.length) return
    const index = indexes[position]
    connection.send(postMessageRequest(postMessageHead(`w${index}`), index), handler)
  }
  sendNext()
}

module.exports = {
  id: 'waiters',
  descriptorsNeeded,
  title: 'waiters: many consumers waiting at once, each on its own channel and connection',
  description: 'RSS growth per waiting consumer: server RSS (after a forced GC) once all are confirmed waiting, minus RSS before ' +
    '(after a GC), divided by the number of waiters. Then a producer for each channel (64 connections): releases per second, and every ' +
    'consumer must receive exactly its message.',
  metrics: [
    { key: 'rssPerWaiterBytes', label: 'RSS per waiter, bytes', better: 'lower' },
    { key: 'rssGrowthMb', label: 'RSS growth, MB', better: 'lower' },
    { key: 'releasedPerSec', label: 'released/s', better: 'higher' },
    { key: 'errors', label: 'errors (sum)', aggregate: 'sum' }
  ],
  variants (config) {
    return [{
      id: `waiters-${config.waiters}`,
      label: `${config.waiters.toLocaleString('en-US')} waiters`,
      run: (server) => measureWaiters(server, { waiterCount: config.waiters, timeoutMs: Math.max(30000, config.waiters * 5) })
    }]
  }
}
