'use strict'
// fanout: one publisher, many live (text/event-stream) pubsub subscribers. Closed loop: each
// message is published once every subscriber has the previous one. Against S, a minimal SSE
// fan-out on plain node:http (servers/node-sse.js), and E, the same as Express routes (C's equal). Plus a stalled variant: one 1 MiB publish to
// subscribers that read nothing, text and then line feeds, for memory and event-loop cost.

const { performance } = require('node:perf_hooks')
const { setTimeout: sleep } = require('node:timers/promises')
const { HttpConnection, requestHead, request } = require('../lib/http-client.js')
const { readCpuTicks, readOpenFileLimits, RssSampler } = require('../lib/proc-stats.js')
const { openSubscribers } = require('../lib/sse-client.js')
const { LatencyRecorder } = require('../lib/stats.js')
const { ErrorLog } = require('../lib/error-log.js')
const { formatBytes } = require('../lib/units.js')

const CONNECT_PARALLELISM = 128
const FD_HEADROOM = 512
const TICKS_PER_SECOND = 100
// At least one unmeasured message, then more until --fanout-warmup has passed.
const WARMUP_MESSAGES = 1

/** `promise`, or a rejection after `ms`; the timer never outlives it (it would keep the bench alive). */
async function within (promise, ms, message) {
  let timer
  const timeout = new Promise((_resolve, reject) => { timer = setTimeout(() => reject(new Error(message)), ms) })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

// Node closes a connection idle for 5 s (keepAliveTimeout), and 1 MiB to 5 000 subscribers can take
// longer: a publisher idle for this long gets a fresh connection rather than race that close.
const PUBLISHER_IDLE_MS = 3000

async function connected (publisher, idleSince) {
  if (!publisher.closed && performance.now() - idleSince < PUBLISHER_IDLE_MS) return publisher
  publisher.close()
  return await publisher.connect()
}

function descriptorsNeeded (subscribers) {
  return subscribers + FD_HEADROOM
}

function checkDescriptors (count) {
  const { soft } = readOpenFileLimits()
  if (soft < descriptorsNeeded(count)) {
    throw new Error(`ulimit -n is ${soft}; ${count} subscribers need about ${descriptorsNeeded(count)} (raise it, or pass a smaller --fanout-subscribers)`)
  }
}

function publishRequest (path, message) {
  const head = requestHead('POST', `${path}?pubsub=true`, { contentLength: message.length, contentType: 'text/plain; charset=utf-8' })
  return Buffer.concat([head, message])
}

async function measureFanOut (server, { subscriberCount, messageBytes, warmupMs, durationMs, stallTimeoutMs }) {
  checkDescriptors(subscriberCount)
  // The process on its own, before anyone subscribes: what its code costs, not the fan-out.
  await server.collectGarbage()
  const rssIdle = server.rssBytes()
  const path = '/channels/bench/fanout'
  const errors = new ErrorLog()
  const latencies = new LatencyRecorder()
  const message = Buffer.alloc(messageBytes, 'x')
  const post = publishRequest(path, message)
  let publishedAt = 0
  let delivered = 0
  let wanted = 0
  let measuring = false
  let onAllDelivered = () => {}
  let answeredAt = performance.now()
  const onEvent = (subscriber, now) => {
    if (subscriber.events - 1 !== wanted) errors.add(`subscriber got event ${subscriber.events - 1}, expected ${wanted}`)
    if (measuring) latencies.record(now - publishedAt)
    if (++delivered === subscriberCount) onAllDelivered()
  }

  const subscribers = await openSubscribers(server.port, `${path}?pubsub=true`, subscriberCount, CONNECT_PARALLELISM, onEvent)
  const publisher = await new HttpConnection(server.port).connect()
  try {
    for (const subscriber of subscribers) if (subscriber.status !== 200) throw new Error(`a subscription answered ${subscriber.status}`)
    await server.collectGarbage()
    const rssBefore = server.rssBytes()

    async function publishOne () {
      wanted++
      delivered = 0
      const allDelivered = new Promise((resolve) => { onAllDelivered = resolve })
      publishedAt = performance.now()
      const answer = await request(await connected(publisher, answeredAt), post)
      answeredAt = performance.now()
      if (answer.status !== 200) errors.add(`publish answered ${answer.status}`)
      const receivers = Number(/x-httpipe-receivers:\s*(\d+)/i.exec(answer.head)?.[1])
      if (receivers !== subscriberCount) errors.add(`publish reached ${receivers} of ${subscriberCount} subscribers`)
      await within(allDelivered, stallTimeoutMs, `message ${wanted} reached ${delivered} of ${subscriberCount} subscribers within ${stallTimeoutMs} ms`)
    }

    // Warmed up by time, not by a count: a larger server needs more messages before its code is
    // optimized, and two were a few ms of a 1 KiB run (all of it unoptimized code).
    const warmupStart = performance.now()
    for (let i = 0; i < WARMUP_MESSAGES || performance.now() - warmupStart < warmupMs; i++) await publishOne()
    const sampler = new RssSampler(server.pid)
    const ticksBefore = readCpuTicks(server.pid)
    measuring = true
    const startedAt = performance.now()
    let messages = 0
    // At least two measured messages, however long they take (1 MiB to 5 000 is 5 GB on the wire).
    while (messages < 2 || performance.now() - startedAt < durationMs) {
      await publishOne()
      messages++
    }
    const seconds = (performance.now() - startedAt) / 1000
    const cpuSeconds = (readCpuTicks(server.pid) - ticksBefore) / TICKS_PER_SECOND
    const peak = sampler.stop()
    const [p50, p99] = latencies.percentiles([0.5, 0.99])
    server.assertAlive()
    return {
      metrics: {
        deliveredPerSec: (messages * subscriberCount) / seconds,
        p50Ms: p50,
        p99Ms: p99,
        rssPeakMb: peak / 1e6,
        rssGrowthMb: (peak - rssBefore) / 1e6,
        rssOverIdleMb: (peak - rssIdle) / 1e6,
        cpuPercent: (100 * cpuSeconds) / seconds,
        errors: errors.count
      },
      details: { messages, seconds, rssIdleBytes: rssIdle, rssBeforeBytes: rssBefore, rssPeakBytes: peak, cpuSeconds },
      errorSamples: errors.samples()
    }
  } finally {
    publisher.close()
    for (const subscriber of subscribers) subscriber.close()
  }
}

/**
 * One 1 MiB message to subscribers that read nothing (their sockets paused once subscribed): first
 * text, then (to a fresh set) line feeds, which frame 7x larger. The publish time (POST to 200) is
 * the server's event-loop time for the fan-out; RSS growth is what the message costs in memory.
 */
async function measureStalled (server, { subscriberCount, messageBytes, stallTimeoutMs }) {
  checkDescriptors(subscriberCount)
  const errors = new ErrorLog()
  const results = {}
  const cpu = {}
  let rssGrowth = 0
  await warmUpStalled(server, stallTimeoutMs)
  for (const [kind, fill] of [['text', 'x'], ['newlines', '\n']]) {
    const path = `/channels/bench/stalled-${kind}`
    const subscribers = await openSubscribers(server.port, `${path}?pubsub=true`, subscriberCount, CONNECT_PARALLELISM, () => {})
    const publisher = await new HttpConnection(server.port).connect()
    try {
      for (const subscriber of subscribers) subscriber.pause()
      await server.collectGarbage()
      const rssBefore = server.rssBytes()
      const sampler = new RssSampler(server.pid, 50)
      const ticksBefore = readCpuTicks(server.pid)
      const startedAt = performance.now()
      const answer = await within(request(publisher, publishRequest(path, Buffer.alloc(messageBytes, fill))), stallTimeoutMs,
        `publish not answered within ${stallTimeoutMs} ms`)
      results[kind] = performance.now() - startedAt
      if (answer.status !== 200) errors.add(`${kind} publish answered ${answer.status}`)
      // Let whatever the sockets took settle, then read the peak.
      await sleep(1000)
      cpu[kind] = (readCpuTicks(server.pid) - ticksBefore) / TICKS_PER_SECOND
      server.assertAlive()
      rssGrowth = Math.max(rssGrowth, (sampler.stop() - rssBefore) / 1e6)
    } finally {
      publisher.close()
      for (const subscriber of subscribers) subscriber.close()
    }
    await sleep(500)
  }
  return {
    metrics: {
      publishMsText: results.text,
      publishMsNewlines: results.newlines,
      cpuUsPerSubscriberText: (1e6 * cpu.text) / subscriberCount,
      cpuUsPerSubscriberNewlines: (1e6 * cpu.newlines) / subscriberCount,
      rssGrowthMb: rssGrowth,
      errors: errors.count
    },
    details: {},
    errorSamples: errors.samples()
  }
}

/** A few 1 MiB messages, text and line feeds, to two reading subscribers: JIT and lazy setup are not measured. */
async function warmUpStalled (server, stallTimeoutMs) {
  const path = '/channels/bench/warmup'
  let delivered = 0
  const deliveries = () => delivered
  const subscribers = await openSubscribers(server.port, `${path}?pubsub=true`, 2, 2, () => { delivered++ })
  const publisher = await new HttpConnection(server.port).connect()
  try {
    for (let i = 0; i < 6; i++) {
      const message = Buffer.alloc(1024 * 1024, i % 2 === 0 ? 'x' : '\n')
      message[message.length - 1] = 0x78 // 'x': how sse-client.js tells an event end
      await request(publisher, publishRequest(path, message))
      const expected = 2 * (i + 1)
      const deadline = performance.now() + stallTimeoutMs
      while (deliveries() < expected) {
        if (performance.now() > deadline) throw new Error('warm-up message not delivered')
        await sleep(5)
      }
    }
  } finally {
    publisher.close()
    for (const subscriber of subscribers) subscriber.close()
  }
}

const FANOUT_METRICS = [
  { key: 'deliveredPerSec', label: 'messages delivered/s', better: 'higher' },
  { key: 'p50Ms', label: 'p50 latency, ms', better: 'lower' },
  { key: 'p99Ms', label: 'p99 latency, ms', better: 'lower' },
  { key: 'rssPeakMb', label: 'server RSS peak, MB', better: 'lower' },
  { key: 'rssGrowthMb', label: 'RSS growth, MB', better: 'lower' },
  { key: 'rssOverIdleMb', label: 'RSS peak over idle, MB', better: 'lower' },
  { key: 'cpuPercent', label: 'server CPU, % of a core', better: 'lower' }
]

const ERRORS_METRIC = { key: 'errors', label: 'errors (sum)', aggregate: 'sum' }

const STALLED_METRICS = [
  { key: 'publishMsText', label: 'publish to 200, text, ms', better: 'lower' },
  { key: 'publishMsNewlines', label: 'publish to 200, line feeds, ms', better: 'lower' },
  { key: 'cpuUsPerSubscriberText', label: 'server CPU µs per subscriber, text', better: 'lower' },
  { key: 'cpuUsPerSubscriberNewlines', label: 'server CPU µs per subscriber, line feeds', better: 'lower' },
  { key: 'rssGrowthMb', label: 'RSS growth, MB', better: 'lower' }
]

module.exports = {
  id: 'fanout',
  servers: ['S', 'E', 'C', 'D', 'S7', 'D1'],
  descriptorsNeeded,
  title: 'fanout: one publisher to many live (text/event-stream) pubsub subscribers',
  description: 'Closed loop: each message is published once every subscriber has the previous one. messages delivered/s counts ' +
    'subscriber-messages; latency is from the start of the POST to a subscriber having the whole event; RSS peak sampled every ' +
    '100 ms during the measured messages, growth over RSS after a GC with all subscribed, over idle: over RSS after a GC before anyone ' +
    'subscribed (what subscribers and messages cost, without the code each server loads); CPU is the server process\'s. ' +
    'Stalled: one 1 MiB message to subscribers that read nothing (text, then line feeds to a fresh set); server CPU (user + system) ' +
    'from the POST to 1 s after its 200, per subscriber. Publish to 200: every server answers once each socket has taken the message, ' +
    'before Node flushes the corked writes (the kernel copies). S is a minimal SSE fan-out on node:http (frames once, writes to all, no bounds); ' +
    'E is the same fan-out as Express 5 routes, so C/E compares httpipe in Express with equal work. Each run is warmed up for ' +
    '--fanout-warmup seconds (at least one message) before it is measured.',
  metrics: [...FANOUT_METRICS, ...STALLED_METRICS, ERRORS_METRIC],
  variants (config) {
    const variants = []
    for (const messageBytes of config.fanoutSizes) {
      for (const subscriberCount of config.fanoutSubscribers) {
        variants.push({
          id: `fanout-${subscriberCount}-${messageBytes}`,
          label: `${subscriberCount.toLocaleString('en-US')} × ${formatBytes(messageBytes)}`,
          metrics: [...FANOUT_METRICS, ERRORS_METRIC],
          run: (server) => measureFanOut(server, {
            subscriberCount,
            messageBytes,
            warmupMs: config.fanoutWarmup * 1000,
            durationMs: config.fanoutDuration * 1000,
            stallTimeoutMs: 60000
          })
        })
      }
    }
    const stalled = Math.max(...config.fanoutSubscribers)
    variants.push({
      id: `fanout-stalled-${stalled}`,
      label: `${stalled.toLocaleString('en-US')} stalled × 1 MiB`,
      metrics: [...STALLED_METRICS, ERRORS_METRIC],
      run: (server) => measureStalled(server, { subscriberCount: stalled, messageBytes: 1024 * 1024, stallTimeoutMs: 60000 })
    })
    return variants
  }
}
