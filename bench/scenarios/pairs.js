'use strict'
// pairs: many small transfers; each loop does GET + POST of a 64-byte message and waits for both.

const { PairSession } = require('../lib/pair-loops.js')

function variant (config, mode, concurrency) {
  const own = mode === 'own'
  return {
    id: `${mode}-c${concurrency}`,
    label: `${own ? 'own channel per loop' : 'one shared channel'}, c=${concurrency}`,
    // Measured in slices, servers in turn (run.js): see PairSession.
    warmupMs: config.pairsWarmup * 1000,
    durationMs: config.pairsDuration * 1000,
    session: (server) => new PairSession({
      port: server.port,
      concurrency,
      stallTimeoutMs: config.stallTimeoutMs,
      channelPrefix: own ? 'own-' : 'shared-',
      pickChannel: own ? (loopIndex) => loopIndex : () => 0,
      exclusiveChannels: own
    })
  }
}

module.exports = {
  id: 'pairs',
  title: 'pairs: 64-byte messages, one GET + one POST per loop iteration',
  description: 'Pairs completed per second, and p50/p99 latency of a pair (from starting both requests until both responses ended). ' +
    'Errors: any non-200, transport error, or a received body that is not exactly a message sent and not yet delivered.',
  metrics: [
    { key: 'pairsPerSec', label: 'pairs/s', better: 'higher' },
    { key: 'p50Ms', label: 'p50 ms', better: 'lower' },
    { key: 'p99Ms', label: 'p99 ms', better: 'lower' },
    { key: 'errors', label: 'errors (sum)', aggregate: 'sum' }
  ],
  variants (config) {
    const variants = []
    for (const mode of ['own', 'shared']) {
      for (const concurrency of config.concurrency) variants.push(variant(config, mode, concurrency))
    }
    return variants
  }
}
