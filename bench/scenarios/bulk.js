'use strict'
// bulk: one producer streams a large generated body to one consumer on one channel.

const crypto = require('node:crypto')
const { RssSampler } = require('../lib/proc-stats.js')
const { warmUp } = require('../lib/relay-ops.js')
const { RepeatingSource, HashedRandomSource, streamTransfer } = require('../lib/stream-transfer.js')
const { formatBytes } = require('../lib/units.js')

const MIN_RATE_FOR_TIMEOUT = 10e6 // bytes/s; slower than this counts as a hung transfer

async function measureBulk (server, { totalBytes, verify }) {
  await warmUp(server.port)
  await server.collectGarbage()
  const rssBefore = server.rssBytes()
  const sampler = new RssSampler(server.pid)
  const source = verify ? new HashedRandomSource(totalBytes) : new RepeatingSource(totalBytes)
  const receivedHash = verify ? crypto.createHash('sha256') : null
  let outcome
  try {
    outcome = await streamTransfer({
      port: server.port,
      channel: verify ? 'verified' : 'bulk',
      source,
      totalBytes,
      consumerOnData: verify ? (chunk) => receivedHash.update(chunk) : undefined,
      timeoutMs: 30000 + (totalBytes / MIN_RATE_FOR_TIMEOUT) * 1000
    })
  } finally {
    sampler.stop()
  }
  server.assertAlive()
  const errors = outcome.errors
  if (verify && errors.length === 0 && receivedHash.digest('hex') !== source.hash.digest('hex')) {
    errors.push('sha256 of the received bytes differs from what was sent')
  }
  const seconds = (outcome.consumer.at - outcome.startedAt) / 1000
  return {
    metrics: {
      mbPerSec: errors.length === 0 ? totalBytes / 1e6 / seconds : NaN,
      peakRssGrowthMb: (sampler.peak - rssBefore) / 1e6,
      errors: errors.length
    },
    details: { seconds, rssBeforeBytes: rssBefore, peakRssBytes: sampler.peak, rssSamples: sampler.samples },
    errorSamples: errors
  }
}

module.exports = {
  id: 'bulk',
  title: 'bulk: one large transfer, one producer to one consumer',
  description: 'MB/s of one generated body streamed through one channel (MB = 10^6 bytes), and the server\'s ' +
    'peak RSS growth meanwhile. The verified run sends random chunks with chunked encoding and compares sha256 of sent and received bytes.',
  metrics: [
    { key: 'mbPerSec', label: 'MB/s', better: 'higher' },
    { key: 'peakRssGrowthMb', label: 'peak RSS growth, MB', better: 'lower' },
    { key: 'errors', label: 'errors (sum)', aggregate: 'sum' }
  ],
  variants (config) {
    return [
      {
        id: 'content-length',
        label: `${formatBytes(config.bulkSize)}, Content-Length`,
        run: (server) => measureBulk(server, { totalBytes: config.bulkSize, verify: false })
      },
      {
        id: 'verified',
        label: `${formatBytes(config.verifySize)}, chunked, sha256-verified`,
        run: (server) => measureBulk(server, { totalBytes: config.verifySize, verify: true })
      }
    ]
  }
}
