'use strict'
// slow consumer: a fast producer and a consumer reading at a fixed rate. A relay that honours
// backpressure keeps its memory flat; one that buffers grows by up to the whole body.

const { performance } = require('node:perf_hooks')
const { RssSampler } = require('../lib/proc-stats.js')
const { warmUp } = require('../lib/relay-ops.js')
const { RepeatingSource, streamTransfer } = require('../lib/stream-transfer.js')
const { formatBytes } = require('../lib/units.js')

const THROTTLE_GRANULARITY_MS = 2 // pausing for less than this is not worth a timer

/** Pauses the consumer's socket whenever it is ahead of `bytesPerSecond`; the kernel then stops the sender. */
function throttle (bytesPerSecond) {
  let startedAt = -1
  let received = 0
  return (chunk, connection) => {
    const now = performance.now()
    if (startedAt === -1) startedAt = now
    received += chunk.length
    const aheadMs = startedAt + (received / bytesPerSecond) * 1000 - now
    if (aheadMs >= THROTTLE_GRANULARITY_MS) {
      connection.pause()
      setTimeout(() => connection.resume(), aheadMs)
    }
  }
}

async function measureSlowConsumer (server, { totalBytes, bytesPerSecond }) {
  await warmUp(server.port)
  await server.collectGarbage()
  const rssBefore = server.rssBytes()
  const sampler = new RssSampler(server.pid, 100)
  let outcome
  try {
    outcome = await streamTransfer({
      port: server.port,
      channel: 'slow',
      source: new RepeatingSource(totalBytes),
      totalBytes,
      consumerOnData: throttle(bytesPerSecond),
      timeoutMs: 30000 + (totalBytes / bytesPerSecond) * 2000
    })
  } finally {
    sampler.stop()
  }
  server.assertAlive()
  const seconds = (outcome.consumer.at - outcome.startedAt) / 1000
  return {
    metrics: {
      peakRssGrowthMb: (sampler.peak - rssBefore) / 1e6,
      consumerMbPerSec: outcome.errors.length === 0 ? totalBytes / 1e6 / seconds : NaN,
      errors: outcome.errors.length
    },
    details: { seconds, rssBeforeBytes: rssBefore, peakRssBytes: sampler.peak, rssSamples: sampler.samples },
    errorSamples: outcome.errors
  }
}

module.exports = {
  id: 'slow-consumer',
  title: 'slow consumer: fast producer, consumer throttled by pausing its socket',
  description: 'Peak growth of the server\'s RSS (sampled every 100 ms from /proc/PID/status) over its RSS before the transfer. ' +
    'The consumer rate is reported as a check that the throttle held.',
  metrics: [
    { key: 'peakRssGrowthMb', label: 'peak RSS growth, MB', better: 'lower' },
    { key: 'consumerMbPerSec', label: 'consumer MB/s (check)', better: 'higher' },
    { key: 'errors', label: 'errors (sum)', aggregate: 'sum' }
  ],
  variants (config) {
    return [{
      id: 'throttled',
      label: `${formatBytes(config.slowSize)} at ${config.slowRate / 1e6} MB/s`,
      run: (server) => measureSlowConsumer(server, { totalBytes: config.slowSize, bytesPerSecond: config.slowRate })
    }]
  }
}
